//! A client cannot hold the server's connections: idle, silent and slow connections are closed
//! after their timeouts, and connections beyond the cap are refused while the server serves on.
//! The misbehaving clients here are raw TCP sockets on loopback.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wafer_e2e::{ADMIN_KEY, TestServer};

/// The client half of the HTTP/2 connection preface, then an empty SETTINGS frame.
const HTTP2_PREFACE: &[u8] =
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
const HTTP2_PING: u8 = 0x6;
const HTTP2_GOAWAY: u8 = 0x7;

/// Small limits, so that every test ends in a few seconds; the ones a test is not about stay
/// long enough not to interfere.
async fn server_with(configure: impl FnOnce(&mut wafer_gateway::ConnectionLimits)) -> TestServer {
    TestServer::start_with(|config| {
        let limits = &mut config.connections;
        limits.idle_timeout = Duration::from_secs(30);
        limits.header_read_timeout = Duration::from_secs(30);
        limits.body_read_timeout = Duration::from_secs(30);
        limits.http2_keep_alive_interval = Duration::from_secs(30);
        limits.http2_keep_alive_timeout = Duration::from_secs(30);
        configure(limits);
    })
    .await
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.server.local_addr)
        .await
        .expect("connect to the server")
}

/// Reads until the server closes the connection or `within` passes; returns what arrived and
/// whether the connection was closed.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (Vec<u8>, bool) {
    let deadline = tokio::time::Instant::now() + within;
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return (received, false),
            Ok(Ok(0) | Err(_)) => return (received, true),
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
        }
    }
}

/// Reads one HTTP/1 response (headers and a `Content-Length` body); `None` if the connection
/// closed first or nothing came within two seconds.
async fn read_response(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..end]).into_owned();
            let length = content_length(&head);
            if received.len() >= end + 4 + length {
                return Some((head, received[end + 4..end + 4 + length].to_vec()));
            }
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(read)) if read > 0 => received.extend_from_slice(&buffer[..read]),
            _ => return None,
        }
    }
}

fn content_length(head: &str) -> usize {
    head.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}

/// A keep-alive request that any server answers quickly (an unknown route: 404).
async fn send_small_request(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /v1/no-such-route HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .expect("send a request");
}

async fn answers_a_request(stream: &mut TcpStream) -> bool {
    if stream
        .write_all(b"GET /v1/no-such-route HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    read_response(stream).await.is_some()
}

/// The types of the HTTP/2 frames in `bytes` (after the server's part of the preface, which is
/// a frame too).
fn http2_frame_types(bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 9 {
        let length = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        types.push(rest[3]);
        rest = &rest[(9 + length).min(rest.len())..];
    }
    types
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let server = server_with(|limits| limits.idle_timeout = Duration::from_secs(1)).await;
    let mut stream = connect(&server).await;
    send_small_request(&mut stream).await;
    let (head, _) = read_response(&mut stream).await.expect("a response");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");

    let idle_since = Instant::now();
    let (extra, closed) = read_until_closed(&mut stream, Duration::from_secs(4)).await;
    assert!(closed, "an idle connection stays open past its timeout");
    assert!(extra.is_empty(), "{}", String::from_utf8_lossy(&extra));
    assert!(
        idle_since.elapsed() >= Duration::from_millis(900),
        "closed after {:?}, before the idle timeout",
        idle_since.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_client_that_sends_only_the_preface_is_disconnected() {
    let server = server_with(|limits| limits.idle_timeout = Duration::from_secs(1)).await;
    let mut stream = connect(&server).await;
    stream.write_all(HTTP2_PREFACE).await.expect("preface");

    let (received, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(closed, "a silent HTTP/2 connection stays open");
    let frames = http2_frame_types(&received);
    assert!(frames.contains(&HTTP2_GOAWAY), "no GOAWAY in {frames:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_peer_that_stops_answering_pings_is_disconnected() {
    let server = server_with(|limits| {
        limits.http2_keep_alive_interval = Duration::from_millis(500);
        limits.http2_keep_alive_timeout = Duration::from_millis(500);
    })
    .await;
    let mut stream = connect(&server).await;
    stream.write_all(HTTP2_PREFACE).await.expect("preface");

    let (received, closed) = read_until_closed(&mut stream, Duration::from_secs(4)).await;
    assert!(closed, "a dead HTTP/2 peer is not detected");
    let frames = http2_frame_types(&received);
    assert!(frames.contains(&HTTP2_PING), "no PING in {frames:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_that_never_finish_get_408_and_the_connection_closes() {
    let server = server_with(|limits| limits.header_read_timeout = Duration::from_secs(1)).await;
    let mut stream = connect(&server).await;
    stream
        .write_all(b"GET /v1/no-such-route HTTP/1.1\r\nhost: localhost\r\n")
        .await
        .expect("the start of a request");
    // A header every 200 ms: the connection is never silent, the request never complete.
    let (mut reader, mut writer) = stream.into_split();
    let dribble = tokio::spawn(async move {
        for index in 0.. {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let header = format!("x-slow-{index}: 1\r\n");
            if writer.write_all(header.as_bytes()).await.is_err() {
                return;
            }
        }
    });

    let started = Instant::now();
    let mut received = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(4), reader.read_to_end(&mut received))
        .await
        .is_ok();
    dribble.abort();
    assert!(closed, "slow headers keep the connection open");
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_arriving_gets_408_in_appwrite_format_and_the_connection_closes() {
    let server = server_with(|limits| limits.body_read_timeout = Duration::from_secs(1)).await;
    let mut stream = connect(&server).await;
    let head = format!(
        "POST /v1/functions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         x-appwrite-project: default\r\nx-appwrite-key: {ADMIN_KEY}\r\ncontent-length: 100\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("headers");
    stream
        .write_all(b"{\"functionId\":")
        .await
        .expect("a part of the body");

    let (head, body) = read_response(&mut stream)
        .await
        .expect("a response to the unfinished body");
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    let error: Value = serde_json::from_slice(&body).expect("a JSON error");
    assert_eq!(error["code"], 408, "{error}");
    assert_eq!(error["type"], "general_request_timeout", "{error}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(error["version"].is_string(), "{error}");
    let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(2)).await;
    assert!(closed, "the connection stays open after the body timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_refused_while_the_server_serves_on() {
    let server = server_with(|limits| limits.max_connections = 2).await;
    let mut first = connect(&server).await;
    let mut second = connect(&server).await;
    assert!(answers_a_request(&mut first).await);
    assert!(answers_a_request(&mut second).await);

    let mut third = connect(&server).await;
    let _ = third
        .write_all(b"GET /v1/no-such-route HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await;
    let (received, closed) = read_until_closed(&mut third, Duration::from_secs(2)).await;
    assert!(closed, "a connection beyond the cap is kept open");
    assert!(
        received.is_empty(),
        "{}",
        String::from_utf8_lossy(&received)
    );

    assert!(
        answers_a_request(&mut first).await,
        "an open connection stops being served at the cap"
    );
    drop(first);
    assert!(
        serves_a_new_connection_within(server.server.local_addr, Duration::from_secs(2)).await,
        "a freed place is not given to a new connection"
    );
}

/// The server notices a closed connection asynchronously, so a new one may be refused for a
/// moment after an old one closed.
async fn serves_a_new_connection_within(addr: SocketAddr, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(addr).await
            && answers_a_request(&mut stream).await
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The size of the response `request_big_response` asks for.
const BIG_RESPONSE_BYTES: usize = 9 << 20;

/// Deploys a function that answers with [`BIG_RESPONSE_BYTES`] and asks it for them on a
/// connection with a small receive window, so that the response cannot hide in socket buffers;
/// returns the connection and how much of the response arrived with the status line.
async fn request_big_response(server: &TestServer) -> (TcpStream, usize) {
    server
        .deploy_example("big", "oversized-response", &["any"])
        .await;
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("receive buffer");
    let mut stream = socket
        .connect(server.server.local_addr)
        .await
        .expect("connect to the server");
    let request =
        format!("GET /fn/big/?bytes={BIG_RESPONSE_BYTES} HTTP/1.1\r\nhost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("request");
    let mut first = [0_u8; 1024];
    let read = stream
        .read(&mut first)
        .await
        .expect("the start of the response");
    assert!(first[..read].starts_with(b"HTTP/1.1 200"));
    (stream, read)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_the_client_stops_reading_is_abandoned_after_the_idle_timeout() {
    let server = server_with(|limits| limits.idle_timeout = Duration::from_secs(1)).await;
    let (mut stream, read) = request_big_response(&server).await;
    let response_bytes = BIG_RESPONSE_BYTES;

    // The client stops reading for longer than the idle timeout, then reads what is left.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (rest, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(closed, "a stalled response keeps its connection");
    assert!(
        read + rest.len() < response_bytes,
        "the whole response was sent: {} bytes",
        read + rest.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_download_that_keeps_reading_is_not_cut_by_the_idle_timer() {
    let server = server_with(|limits| limits.idle_timeout = Duration::from_secs(1)).await;
    let (mut stream, mut received) = request_big_response(&server).await;
    // 4 MB/s: the socket drains (and so takes more bytes) well within the idle timeout, while
    // the download lasts longer than the timeout and its grace.
    const BYTES_PER_SECOND: f64 = 4e6;
    let started = Instant::now();
    let mut buffer = vec![0_u8; 16 << 10];
    // The whole body, with headers of a few hundred bytes before it.
    while received < BIG_RESPONSE_BYTES {
        let read = stream
            .read(&mut buffer)
            .await
            .expect("the response goes on");
        assert!(read > 0, "the download was cut after {received} bytes");
        received += read;
        while received as f64 > started.elapsed().as_secs_f64() * BYTES_PER_SECOND {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    assert!(
        started.elapsed() > Duration::from_secs(2),
        "the download took {:?}, too short to outlast the idle timeout and its grace",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_running_request_is_not_cut_by_the_idle_timer() {
    let server = server_with(|limits| {
        limits.idle_timeout = Duration::from_secs(1);
        limits.header_read_timeout = Duration::from_secs(1);
        limits.body_read_timeout = Duration::from_secs(1);
    })
    .await;
    server.deploy_example("spin", "endless-loop", &[]).await;
    server
        .admin_json(
            Method::PUT,
            "/v1/functions/spin",
            json!({"name": "spin", "timeout": 3, "fuel": 1_000_000_000_000u64}),
        )
        .await;

    let started = Instant::now();
    let reply = server.execute("spin", json!({})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let execution = reply.json();
    assert_eq!(execution["status"], "failed", "{execution}");
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "the execution ended early: {:?}",
        started.elapsed()
    );
}
