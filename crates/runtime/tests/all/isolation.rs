//! Invocations are isolated from each other, and outbound HTTP leaves the sandbox only for
//! hosts on the function's allow-list.

use std::sync::Arc;

use crate::common::{body_json, request, runtime, runtime_reaching_loopback};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wafer_runtime::{ExecutionStatus, Limits, OutboundPolicy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_invocations_each_get_their_own_answer() {
    let rt = Arc::new(runtime());
    let echo = rt.deploy("echo").await;
    let calls: Vec<_> = (0..100)
        .map(|n| {
            let rt = rt.clone();
            let echo = echo.clone();
            tokio::spawn(async move {
                let body = format!("payload-{n}");
                let path = format!("/call/{n}?n={n}");
                let outcome = rt
                    .call(&echo, request("POST", &path, body.as_bytes()))
                    .await;
                (n, outcome)
            })
        })
        .collect();
    for call in calls {
        let (n, outcome) = call.await.expect("task");
        assert_eq!(outcome.status, ExecutionStatus::Completed);
        let body = body_json(&outcome);
        assert_eq!(body["body"], format!("payload-{n}"));
        assert_eq!(body["path"], format!("/call/{n}"));
        assert_eq!(body["query"]["n"], n.to_string());
        assert_eq!(outcome.logs, format!("echo POST /call/{n}\n"));
    }
}

/// Serves one fixed answer to every connection on a loopback port.
async fn upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let answer =
                    "HTTP/1.1 200 OK\r\ncontent-length: 8\r\nconnection: close\r\n\r\nupstream";
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_requests_reach_allowed_hosts() {
    let rt = runtime_reaching_loopback();
    let outbound = rt.deploy("outbound").await;
    let port = upstream().await;
    let policy = OutboundPolicy::allow([format!("127.0.0.1:{port}")]);
    let path = format!("/?url=http://127.0.0.1:{port}/data");
    let outcome = rt
        .call_with(
            &outbound,
            request("GET", &path, b""),
            &Limits::default(),
            &[],
            &policy,
        )
        .await;
    assert_eq!(
        outcome.status,
        ExecutionStatus::Completed,
        "{}",
        outcome.errors
    );
    let body = body_json(&outcome);
    assert_eq!(body["status"], 200);
    assert_eq!(body["body"], "upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_requests_to_other_hosts_are_denied_and_noted() {
    let rt = runtime_reaching_loopback();
    let outbound = rt.deploy("outbound").await;
    let port = upstream().await;
    let policy = OutboundPolicy::allow(["api.example.com"]);
    let path = format!("/?url=http://127.0.0.1:{port}/data");
    let outcome = rt
        .call_with(
            &outbound,
            request("GET", &path, b""),
            &Limits::default(),
            &[],
            &policy,
        )
        .await;
    assert_eq!(outcome.response.status_code, 502);
    let body = body_json(&outcome);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
            .contains("denied"),
        "{body}"
    );
    assert!(outcome.errors.contains("denied"), "{}", outcome.errors);
    assert!(outcome.errors.contains(&format!("127.0.0.1:{port}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_requests_are_denied_by_default() {
    let rt = runtime_reaching_loopback();
    let outbound = rt.deploy("outbound").await;
    let port = upstream().await;
    let path = format!("/?url=http://127.0.0.1:{port}/data");
    let outcome = rt.call(&outbound, request("GET", &path, b"")).await;
    assert_eq!(outcome.response.status_code, 502);
    assert!(outcome.errors.contains("denied"), "{}", outcome.errors);
}
