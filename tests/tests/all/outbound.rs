//! A function's outbound calls never reach the inside: with every host allowed it still cannot
//! call the gateway it runs in, and malformed allow-list entries are refused on write.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wafer_e2e::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_allowed_every_host_cannot_call_the_gateway_it_runs_in() {
    let server = TestServer::start().await;
    server.deploy_example("fetcher", "outbound", &["any"]).await;
    let reply = server
        .admin_json(
            Method::PUT,
            "/v1/functions/fetcher",
            json!({"name": "fetcher", "outboundHosts": ["*"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());

    let gateway = server.server.local_addr;
    let targets = [
        format!("http://127.0.0.1:{}/v1/health", gateway.port()),
        format!("http://localhost:{}/v1/health", gateway.port()),
        format!("http://2130706433:{}/v1/health", gateway.port()),
    ];
    for target in targets {
        let path = format!("/?url={target}");
        let reply = server
            .execute("fetcher", json!({"method": "GET", "path": path}))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        let record = reply.json();
        assert_eq!(record["responseStatusCode"], 502, "{target}: {record}");
        let errors = record["errors"].as_str().unwrap_or_default();
        assert!(
            errors.contains("is a loopback address; outbound calls may not reach"),
            "{target}: {errors:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_outbound_hosts_are_refused_on_create_and_update_naming_the_entry() {
    let server = TestServer::start().await;
    let reply = server
        .admin_json(
            Method::POST,
            "/v1/functions",
            json!({"functionId": "f", "name": "f", "runtime": "rust-wasi-0.2",
                   "outboundHosts": ["api.example.com", "http://evil.test/path"]}),
        )
        .await;
    assert_invalid_naming(&reply.json(), reply.status, "http://evil.test/path");

    server.create_function("g", &["any"]).await;
    for entry in [
        "api example.com",
        "example.com:70000",
        "a..b",
        "*.",
        "2130706433",
    ] {
        let reply = server
            .admin_json(
                Method::PUT,
                "/v1/functions/g",
                json!({"name": "g", "outboundHosts": [entry]}),
            )
            .await;
        assert_invalid_naming(&reply.json(), reply.status, entry);
    }

    let reply = server
        .admin_json(
            Method::PUT,
            "/v1/functions/g",
            json!({"name": "g", "outboundHosts": ["*.example.com", "api.test:8443", "[::1]:80"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

fn assert_invalid_naming(body: &Value, status: StatusCode, entry: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{entry}: {body}");
    assert_eq!(body["type"], "general_argument_invalid", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("{entry:?}")) && message.contains("outboundHosts"),
        "{message}"
    );
}
