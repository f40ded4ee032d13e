//! Outbound calls never reach the inside: whatever the allow-list says, the address a request
//! resolves to is checked when it connects (loopback, private, link-local and reserved
//! addresses are refused however they are written, and each redirect hop is a new request
//! checked the same way), unless the operator allows a range; and one invocation's use of the
//! network is capped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::{self, TestRuntime, body_json, body_text, get};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wafer_runtime::{AddressRange, InvocationOutcome, Limits, OutboundConfig, OutboundPolicy};

/// An HTTP server on a loopback address that answers every request with one fixed answer and
/// counts the requests that reached it.
struct Upstream {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Upstream {
    async fn start(ip: &str, answer: String) -> Self {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind loopback");
        let port = listener.local_addr().expect("address").port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let answer = answer.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = socket.write_all(answer.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { port, hits }
    }

    async fn answering(ip: &str, body: &str) -> Self {
        Self::start(
            ip,
            format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
        .await
    }

    async fn redirecting(ip: &str, location: &str) -> Self {
        Self::start(
            ip,
            format!(
                "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\n\
                 connection: close\r\n\r\n"
            ),
        )
        .await
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn runtime_with(outbound: OutboundConfig) -> TestRuntime {
    common::runtime_configured(|config| config.outbound = outbound)
}

fn loopback_allowed() -> OutboundConfig {
    OutboundConfig {
        allow_private: vec!["127.0.0.1/32".parse::<AddressRange>().expect("range")],
        ..OutboundConfig::default()
    }
}

async fn fetch(rt: &TestRuntime, query: &str) -> InvocationOutcome {
    let outbound = rt.deploy("outbound").await;
    let limits = Limits {
        timeout: Duration::from_secs(10),
        ..Limits::default()
    };
    let path = format!("/?{query}");
    rt.call_with(
        &outbound,
        get(&path),
        &limits,
        &[],
        &OutboundPolicy::allow(["*"]),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_host_allowed_loopback_is_refused_however_it_is_written() {
    let rt = common::runtime();
    let upstream = Upstream::answering("127.0.0.1", "inside").await;
    let port = upstream.port;
    let hosts = [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("localhost", "is a loopback address"),
        ("127.1", "127.0.0.1 is a loopback address"),
        ("2130706433", "127.0.0.1 is a loopback address"),
        ("0x7f.0.0.1", "127.0.0.1 is a loopback address"),
        ("0177.0.0.1", "127.0.0.1 is a loopback address"),
        ("[::ffff:127.0.0.1]", "127.0.0.1 is a loopback address"),
        ("[::1]", "::1 is a loopback address"),
        ("0.0.0.0", "0.0.0.0 is the unspecified address"),
        ("[::]", ":: is the unspecified address"),
    ];
    for (host, reason) in hosts {
        let outcome = fetch(&rt, &format!("url=http://{host}:{port}/secret")).await;
        assert_eq!(
            outcome.response.status_code,
            502,
            "{host}: {}",
            body_text(&outcome)
        );
        assert!(
            outcome.errors.contains(reason)
                && outcome
                    .errors
                    .contains("outbound calls may not reach loopback"),
            "{host}: {}",
            outcome.errors
        );
    }
    assert_eq!(
        upstream.hits(),
        0,
        "a request reached the loopback upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cloud_metadata_address_is_refused_before_connecting() {
    let rt = common::runtime();
    for host in ["169.254.169.254", "[::ffff:169.254.169.254]", "2852039166"] {
        let outcome = fetch(&rt, &format!("url=http://{host}/latest/meta-data/")).await;
        assert_eq!(outcome.response.status_code, 502, "{host}");
        assert!(
            outcome
                .errors
                .contains("169.254.169.254 is a link-local address"),
            "{host}: {}",
            outcome.errors
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_private_range_reaches_the_loopback_upstream_and_nothing_outside_it() {
    let rt = runtime_with(loopback_allowed());
    let allowed = Upstream::answering("127.0.0.1", "upstream").await;
    let outside = Upstream::answering("127.0.0.2", "outside").await;

    let outcome = fetch(&rt, &format!("url=http://127.0.0.1:{}/", allowed.port)).await;
    assert_eq!(
        body_json(&outcome)["body"],
        "upstream",
        "{}",
        outcome.errors
    );

    let outcome = fetch(&rt, &format!("url=http://127.0.0.2:{}/", outside.port)).await;
    assert_eq!(outcome.response.status_code, 502, "{}", body_text(&outcome));
    assert!(
        outcome.errors.contains("127.0.0.2 is a loopback address"),
        "{}",
        outcome.errors
    );
    assert_eq!((allowed.hits(), outside.hits()), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_an_inside_address_is_refused_on_the_hop_that_follows_it() {
    let rt = runtime_with(loopback_allowed());
    let inside = Upstream::answering("127.0.0.2", "must not be reached").await;
    let location = format!("http://127.0.0.2:{}/secret", inside.port);
    let redirect = Upstream::redirecting("127.0.0.1", &location).await;

    let query = format!("url=http://127.0.0.1:{}/&follow=1", redirect.port);
    let outcome = fetch(&rt, &query).await;
    assert_eq!(outcome.response.status_code, 502, "{}", body_text(&outcome));
    assert!(
        outcome.errors.contains(&format!(
            "Outbound request to {location} refused: 127.0.0.2 is a loopback address"
        )),
        "{}",
        outcome.errors
    );
    assert_eq!((redirect.hits(), inside.hits()), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invocation_makes_at_most_max_requests_outbound_requests() {
    let rt = runtime_with(OutboundConfig {
        max_requests: 3,
        ..loopback_allowed()
    });
    let upstream = Upstream::answering("127.0.0.1", "ok").await;
    let url = format!("url=http://127.0.0.1:{}/", upstream.port);

    let outcome = fetch(&rt, &format!("{url}&repeat=3")).await;
    assert_eq!(body_json(&outcome)["body"], "ok", "{}", outcome.errors);

    let outcome = fetch(&rt, &format!("{url}&repeat=4")).await;
    assert_eq!(outcome.response.status_code, 502, "{}", body_text(&outcome));
    assert!(
        outcome
            .errors
            .contains("the execution already made 3 outbound requests (max_requests)"),
        "{}",
        outcome.errors
    );
    assert_eq!(upstream.hits(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invocation_holds_at_most_max_connections_open_at_once() {
    let rt = runtime_with(OutboundConfig {
        max_connections: 2,
        ..loopback_allowed()
    });
    let upstream = Upstream::answering("127.0.0.1", "ok").await;
    let url = format!("url=http://127.0.0.1:{}/", upstream.port);

    // Two at a time, three times over: connections are given back once read.
    let outcome = fetch(&rt, &format!("{url}&together=2&repeat=3")).await;
    assert_eq!(body_json(&outcome)["body"], "ok", "{}", outcome.errors);

    let outcome = fetch(&rt, &format!("{url}&together=3")).await;
    assert_eq!(outcome.response.status_code, 502, "{}", body_text(&outcome));
    assert!(
        outcome
            .errors
            .contains("already holds 2 outbound connections open (max_connections)"),
        "{}",
        outcome.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_response_bytes_past_the_cap_fail_the_guests_read() {
    let rt = runtime_with(OutboundConfig {
        max_response_bytes: 1_000,
        ..loopback_allowed()
    });
    let small = Upstream::answering("127.0.0.1", &"a".repeat(600)).await;
    let large = Upstream::answering("127.0.0.1", &"b".repeat(5_000)).await;

    let outcome = fetch(&rt, &format!("url=http://127.0.0.1:{}/", small.port)).await;
    assert_eq!(body_json(&outcome)["status"], 200, "{}", outcome.errors);

    let outcome = fetch(&rt, &format!("url=http://127.0.0.1:{}/", large.port)).await;
    assert_eq!(outcome.response.status_code, 502, "{}", body_text(&outcome));
    assert!(!body_text(&outcome).contains("bbbb"));
    assert!(
        outcome
            .errors
            .contains("exceeded the limit of 1000 bytes (max_response_bytes)"),
        "{}",
        outcome.errors
    );

    // The cap is on the invocation's total, not on each response.
    let outcome = fetch(
        &rt,
        &format!("url=http://127.0.0.1:{}/&repeat=2", small.port),
    )
    .await;
    assert_eq!(outcome.response.status_code, 502, "{}", body_text(&outcome));
}
