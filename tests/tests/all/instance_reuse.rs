//! `reuseInstances`: a function may opt in to a warm instance kept between its calls. By
//! default every call gets a fresh sandbox. Driven with the Rust `counter` example, which counts
//! its calls in a global: a fresh instance always answers 1.

use reqwest::{Method, StatusCode};
use serde_json::json;
use wafer_e2e::TestServer;

async fn call_count(server: &TestServer, path: &str) -> String {
    let reply = server
        .send(server.http.request(Method::GET, server.url(path)))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.text()
}

async fn set_reuse(server: &TestServer, function_id: &str, reuse: bool) {
    let reply = server
        .admin_json(
            Method::PUT,
            &format!("/v1/functions/{function_id}"),
            json!({"name": function_id, "reuseInstances": reuse}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["reuseInstances"], reuse);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_get_a_fresh_instance_unless_the_function_opts_in_to_reuse() {
    let server = TestServer::start().await;
    server.deploy_example("counter", "counter", &["any"]).await;
    let function = server
        .send(server.admin(Method::GET, "/v1/functions/counter"))
        .await
        .json();
    assert_eq!(function["reuseInstances"], false);

    for _ in 0..3 {
        assert_eq!(call_count(&server, "/fn/counter/").await, "1");
    }

    set_reuse(&server, "counter", true).await;
    let counts: Vec<u64> = {
        let mut counts = Vec::new();
        for _ in 0..4 {
            counts.push(
                call_count(&server, "/fn/counter/")
                    .await
                    .parse()
                    .expect("n"),
            );
        }
        counts
    };
    assert_eq!(counts, [1, 2, 3, 4], "one warm instance served every call");

    set_reuse(&server, "counter", false).await;
    assert_eq!(call_count(&server, "/fn/counter/").await, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_instance_that_fails_is_replaced_and_limits_still_hold() {
    let server = TestServer::start().await;
    server.deploy_example("counter", "counter", &["any"]).await;
    let reply = server
        .admin_json(
            Method::PUT,
            "/v1/functions/counter",
            json!({"name": "counter", "reuseInstances": true, "timeout": 1}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    call_count(&server, "/fn/counter/").await;
    call_count(&server, "/fn/counter/").await;

    // A trap fails the execution and discards the instance: the next call starts over.
    let trap = server
        .send(
            server
                .http
                .request(Method::GET, server.url("/fn/counter/?trap")),
        )
        .await;
    assert_eq!(trap.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(call_count(&server, "/fn/counter/").await, "1");

    // An endless loop still ends at the function's timeout.
    let spin = server
        .execute("counter", json!({"path": "/?spin"}))
        .await
        .json();
    assert_eq!(spin["status"], "failed", "{spin}");
    assert_eq!(call_count(&server, "/fn/counter/").await, "1");
}
