//! A guest's status and headers are data, never HTTP framing: hop-by-hop and length headers are
//! the gateway's, and a 1xx status fails the execution.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wafer_e2e::TestServer;

const FRAMING: &[&str] = &[
    "content-length:0",
    "transfer-encoding:chunked",
    "connection:close",
    "upgrade:websocket",
    "keep-alive:timeout=1",
    "te:trailers",
    "trailer:x-checksum",
    "proxy-authenticate:Basic",
];

fn header_name(header: &str) -> &str {
    header.split_once(':').map_or(header, |(name, _)| name)
}

/// Two requests written back to back on one connection, read until the server closes it.
async fn two_requests_on_one_connection(server: &TestServer, first_path: &str) -> String {
    let mut stream = TcpStream::connect(server.server.local_addr)
        .await
        .expect("connect");
    let requests = format!(
        "GET {first_path} HTTP/1.1\r\nhost: localhost\r\n\r\n\
         GET /fn/responses/?type=json HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(requests.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server answers both requests and closes")
    .expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guests_framing_headers_never_reach_the_client_or_desynchronise_the_connection() {
    let server = TestServer::start().await;
    server
        .deploy_example("responses", "responses", &["any"])
        .await;
    for header in FRAMING {
        let name = header_name(header);
        let answer =
            two_requests_on_one_connection(&server, &format!("/fn/responses/?header={header}"))
                .await;
        let (first, second) = answer
            .split_once("\r\n\r\nHello, text!")
            .unwrap_or_else(|| panic!("{header}: the first body is intact:\n{answer}"));
        assert!(
            first.starts_with("HTTP/1.1 200"),
            "{header}: first status:\n{answer}"
        );
        let first_headers = first.to_ascii_lowercase();
        let expected = header.to_ascii_lowercase().replace(':', ": ");
        assert!(
            !first_headers.contains(&format!("\r\n{expected}")),
            "{header}: the guest's {name} header reached the client:\n{answer}"
        );
        assert!(
            first_headers.contains("\r\ncontent-length: 12"),
            "{header}: the length is the body's:\n{answer}"
        );
        assert!(
            second.contains("HTTP/1.1 200") && second.contains(r#""type":"json""#),
            "{header}: the second response on the connection is whole:\n{answer}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guests_framing_headers_are_not_in_the_executions_response_headers() {
    let server = TestServer::start().await;
    server
        .deploy_example("responses", "responses", &["any"])
        .await;
    for header in FRAMING {
        let reply = server
            .execute(
                "responses",
                json!({"method": "GET", "path": format!("/?header={header}")}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        let record = reply.json();
        assert_eq!(record["status"], "completed", "{header}: {record}");
        let names: Vec<String> = record["responseHeaders"]
            .as_array()
            .expect("responseHeaders")
            .iter()
            .map(|pair| {
                pair["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_lowercase()
            })
            .collect();
        assert!(
            !names.iter().any(|recorded| recorded == header_name(header)),
            "{header}: recorded {names:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_informational_status_fails_the_execution_and_names_the_reason() {
    let server = TestServer::start().await;
    server
        .deploy_example("responses", "responses", &["any"])
        .await;
    for status in ["101", "100", "199"] {
        let reply = server
            .send(server.http.request(
                Method::GET,
                server.url(&format!("/fn/responses/?status={status}")),
            ))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{status}: {}",
            reply.text()
        );
        let record = server.execution_behind("responses", &reply).await;
        assert_eq!(record["status"], "failed");
        let errors = record["errors"].as_str().unwrap_or_default();
        assert!(
            errors.contains(&format!("invalid HTTP status code {status}"))
                && errors.contains("1xx"),
            "{status}: {errors}"
        );
    }
}
