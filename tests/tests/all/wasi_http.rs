//! `wasi:http/proxy` components as functions (runtime `wasi-http-0.2`): deployed unchanged from
//! the Rust `wasip2` bindings, the Spin SDK, componentize-js's fetch-event mode and the
//! benchmark's `wasmtime serve` component; run on the function route, where the response
//! streams, and through the executions API, with the same records and limits as any function.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wafer_e2e::{Reply, TestServer, eventually};

use crate::js_guests::JAVASCRIPT;

const WASI_HTTP: &str = "wasi-http-0.2";

/// Creates a public `wasi-http-0.2` function with `bytes` deployed and active; returns the
/// deployment.
async fn deploy(server: &TestServer, function_id: &str, bytes: Vec<u8>) -> Value {
    server
        .create_function_in(function_id, WASI_HTTP, &["any"])
        .await;
    let deployment_id = server.upload_to_activate(function_id, bytes).await;
    let deployment = server
        .wait_for_build_within(function_id, &deployment_id, Duration::from_secs(600))
        .await;
    assert_eq!(deployment["status"], "ready", "{deployment}");
    server.wait_until_active(function_id, &deployment_id).await;
    deployment
}

async fn route(server: &TestServer, function_id: &str, path: &str) -> Reply {
    let url = server.url(&format!("/fn/{function_id}{path}"));
    server.send(server.http.get(url)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wasi_http_component_answers_on_its_route_with_a_full_record() {
    let server = TestServer::start().await;
    let deployment = deploy(
        &server,
        "echo-http",
        wafer_testkit::rust_example_bytes("http-echo"),
    )
    .await;
    let logs = deployment["buildLogs"].as_str().unwrap_or_default();
    assert!(logs.contains("a wasi:http/proxy component"), "{logs}");

    let url = server.url("/fn/echo-http/some/path?x=1");
    let reply = server.send(server.http.post(url).body("hello body")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("x-example"), Some("http-echo"));
    let text = reply.text();
    assert!(text.starts_with("POST /some/path?x=1\n"), "{text}");
    assert!(text.contains("x-appwrite-trigger: http\n"), "{text}");
    assert!(text.contains("function: echo-http\n"), "{text}");
    assert!(text.ends_with("body: hello body"), "{text}");
    let execution_id = reply.header("x-appwrite-execution-id").expect("an id");
    assert!(text.contains(&format!("x-appwrite-execution-id: {execution_id}\n")));

    let record = server.execution_behind("echo-http", &reply).await;
    assert_eq!(record["status"], "completed", "{record}");
    assert_eq!(record["trigger"], "http");
    assert_eq!(record["responseStatusCode"], 200);
    assert_eq!(record["logs"], "handled POST /some/path?x=1\n");
    assert_eq!(record["errors"], "request body of 10 bytes\n");
    let body = record["responseBody"].as_str().unwrap_or_default();
    assert!(body.starts_with("POST /some/path?x=1\n"), "{record}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wasi_http_component_runs_through_the_executions_api_sync_and_async() {
    let server = TestServer::start().await;
    deploy(
        &server,
        "echo-api",
        wafer_testkit::rust_example_bytes("http-echo"),
    )
    .await;
    let reply = server
        .execute(
            "echo-api",
            json!({"method": "PUT", "path": "/p?status=202", "body": "abc"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let record = reply.json();
    assert_eq!(record["status"], "completed", "{record}");
    assert_eq!(record["responseStatusCode"], 202);
    let body = record["responseBody"].as_str().unwrap_or_default();
    assert!(body.starts_with("PUT /p?status=202\n"), "{body}");
    assert!(body.ends_with("body: abc"), "{body}");

    let reply = server
        .execute(
            "echo-api",
            json!({"async": true, "method": "POST", "path": "/later"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text());
    let id = reply.json()["$id"].as_str().expect("an id").to_owned();
    eventually("the async execution completes", || async {
        server.get_execution("echo-api", &id).await.json()["status"] == "completed"
    })
    .await;
    let record = server.get_execution("echo-api", &id).await.json();
    assert_eq!(record["logs"], "handled POST /later\n", "{record}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_and_spin_sdk_components_deploy_unchanged() {
    let server = TestServer::start().await;
    deploy(
        &server,
        "bench-hello",
        wafer_testkit::wasi_http_hello_bytes(),
    )
    .await;
    let reply = route(&server, "bench-hello", "/").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "Hello, World!");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );

    deploy(
        &server,
        "spin-hello",
        wafer_testkit::rust_example_bytes("spin-hello"),
    )
    .await;
    let reply = route(&server, "spin-hello", "/greet?who=wafer").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.text(),
        "Hello from the Spin SDK: GET /greet?who=wafer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_javascript_fetch_event_handler_runs_as_a_wasi_http_function() {
    let server = TestServer::start().await;
    deploy(
        &server,
        "js-fetch",
        JAVASCRIPT.component_bytes("http-hello"),
    )
    .await;
    let url = server.url("/fn/js-fetch/hi?there=1");
    let reply = server.send(server.http.post(url).body("ping")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let json = reply.json();
    assert_eq!(json["hello"], "from a fetch-event handler");
    assert_eq!(json["method"], "POST");
    assert_eq!(json["path"], "/hi");
    assert_eq!(json["query"], "?there=1");
    assert_eq!(json["trigger"], "http");
    assert_eq!(json["body"], "ping");
    let record = server.execution_behind("js-fetch", &reply).await;
    assert_eq!(record["status"], "completed", "{record}");
    assert_eq!(record["logs"], "handled POST /hi\n", "{record}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_of_the_other_world_than_the_runtime_fails_its_build_saying_how_to_fix_it() {
    let server = TestServer::start().await;
    server
        .create_function_in("proxy", WASI_HTTP, &["any"])
        .await;
    let id = server
        .upload_to_activate("proxy", wafer_testkit::rust_example_bytes("hello"))
        .await;
    let deployment = server.wait_for_build("proxy", &id).await;
    assert_eq!(deployment["status"], "failed");
    let logs = deployment["buildLogs"].as_str().unwrap_or_default();
    assert!(
        logs.contains("The component is a wafer:function component")
            && logs.contains("runtime `wasi-http-0.2`"),
        "{logs}"
    );

    server.create_function("classic", &["any"]).await;
    let id = server
        .upload_to_activate("classic", wafer_testkit::rust_example_bytes("http-echo"))
        .await;
    let deployment = server.wait_for_build("classic", &id).await;
    assert_eq!(deployment["status"], "failed");
    let logs = deployment["buildLogs"].as_str().unwrap_or_default();
    assert!(
        logs.contains("The component is a wasi:http/proxy component")
            && logs.contains("set the function's runtime to `wasi-http-0.2`"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_route_sends_the_first_event_before_the_guest_finishes() {
    let server = TestServer::start().await;
    deploy(
        &server,
        "events",
        wafer_testkit::rust_example_bytes("http-stream"),
    )
    .await;
    let url = server.url("/fn/events/?count=3&interval=700");
    let mut response = server.http.get(url).send().await.expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().ok(),
        Some("text/event-stream")
    );
    let execution_id = response.headers()["x-appwrite-execution-id"]
        .to_str()
        .expect("an id")
        .to_owned();
    let first = response
        .chunk()
        .await
        .expect("a chunk")
        .expect("not the end");
    assert_eq!(&first[..], b"id: 1\ndata: event 1 of 3\n\n");
    // The record is written when the guest has finished; it has not yet.
    let record = server.get_execution("events", &execution_id).await;
    assert_eq!(record.status, StatusCode::NOT_FOUND, "{}", record.text());

    let mut rest = Vec::new();
    while let Some(chunk) = response.chunk().await.expect("the stream ends cleanly") {
        rest.extend_from_slice(&chunk);
    }
    let rest = String::from_utf8_lossy(&rest);
    assert!(rest.ends_with("data: event 3 of 3\n\n"), "{rest}");
    eventually("the streamed execution is recorded", || async {
        server.get_execution("events", &execution_id).await.status == StatusCode::OK
    })
    .await;
    let record = server.get_execution("events", &execution_id).await.json();
    assert_eq!(record["status"], "completed", "{record}");
    assert!(
        record["duration"].as_f64().unwrap_or_default() >= 1.4,
        "{record}"
    );
    assert_eq!(
        record["logs"].as_str().unwrap_or_default().lines().count(),
        3
    );
    assert!(
        record["responseBody"]
            .as_str()
            .unwrap_or_default()
            .starts_with("id: 1\n")
    );
}

/// Reads a streamed route's body until its end or its first error; says whether it ended cleanly.
async fn read_stream(server: &TestServer, path: &str) -> (String, bool, String) {
    let url = server.url(path);
    let mut response = server.http.get(url).send().await.expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    let execution_id = response.headers()["x-appwrite-execution-id"]
        .to_str()
        .expect("an id")
        .to_owned();
    let mut bytes = 0;
    let clean = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes += chunk.len(),
            Ok(None) => break true,
            Err(_) => break false,
        }
    };
    (execution_id, clean, format!("{bytes} bytes"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hit_mid_stream_cut_the_stream_and_fail_the_execution() {
    let server = TestServer::start_with(|config| {
        config.function_defaults.max_response_bytes = 256 << 10;
    })
    .await;
    deploy(
        &server,
        "big",
        wafer_testkit::rust_example_bytes("http-stream"),
    )
    .await;
    let (id, clean, read) = read_stream(&server, "/fn/big/?bytes=8388608").await;
    assert!(!clean, "the client must see the stream cut after {read}");
    eventually("the cut execution is recorded", || async {
        server.get_execution("big", &id).await.status == StatusCode::OK
    })
    .await;
    let record = server.get_execution("big", &id).await.json();
    assert_eq!(record["status"], "failed", "{record}");
    let errors = record["errors"].as_str().unwrap_or_default();
    assert!(errors.contains("Response size limit exceeded"), "{errors}");

    let update = json!({"name": "big", "runtime": WASI_HTTP, "execute": ["any"], "timeout": 1});
    let reply = server
        .admin_json(Method::PUT, "/v1/functions/big", update)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let (id, clean, read) = read_stream(&server, "/fn/big/?count=100&interval=200").await;
    assert!(!clean, "the client must see the stream cut after {read}");
    eventually("the timed-out execution is recorded", || async {
        server.get_execution("big", &id).await.status == StatusCode::OK
    })
    .await;
    let record = server.get_execution("big", &id).await.json();
    assert_eq!(record["status"], "failed", "{record}");
    let errors = record["errors"].as_str().unwrap_or_default();
    assert!(errors.contains("Execution timed out."), "{errors}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_in_flight_at_shutdown_finishes_and_is_recorded() {
    let server = TestServer::start().await;
    deploy(
        &server,
        "events",
        wafer_testkit::rust_example_bytes("http-stream"),
    )
    .await;
    let url = server.url("/fn/events/?count=4&interval=300");
    let mut response = server.http.get(url).send().await.expect("an answer");
    let execution_id = response.headers()["x-appwrite-execution-id"]
        .to_str()
        .expect("an id")
        .to_owned();
    response
        .chunk()
        .await
        .expect("a chunk")
        .expect("not the end");
    let reading = tokio::spawn(async move {
        let mut rest = Vec::new();
        while let Some(chunk) = response.chunk().await.expect("the stream ends cleanly") {
            rest.extend_from_slice(&chunk);
        }
        rest
    });
    // The stop waits for the stream, then for its record, then commits it.
    let server = server.restart().await;
    let rest = String::from_utf8_lossy(&reading.await.expect("read")).into_owned();
    assert!(rest.ends_with("data: event 4 of 4\n\n"), "{rest}");
    let record = server.get_execution("events", &execution_id).await;
    assert_eq!(record.status, StatusCode::OK, "{}", record.text());
    assert_eq!(record.json()["status"], "completed");
}
