//! A function's outbound calls never reach the inside: with every host allowed it still cannot
//! call the gateway it runs in.

use reqwest::{Method, StatusCode};
use serde_json::json;
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
