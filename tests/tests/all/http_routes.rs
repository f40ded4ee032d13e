//! Plain HTTP to a function's own route, by path and by host.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use wafer_e2e::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_function_answers_raw_http_by_path() {
    let server = TestServer::start().await;
    server.deploy_example("echo", "echo", &["any"]).await;
    let reply = server
        .send(
            server
                .http
                .request(Method::PUT, server.url("/fn/echo/items/7?color=red"))
                .header("x-custom", "abc")
                .body("payload"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let echoed: Value = reply.json();
    assert_eq!(echoed["method"], "PUT");
    assert_eq!(echoed["path"], "/items/7");
    assert_eq!(echoed["query"]["color"], "red");
    assert_eq!(echoed["headers"]["x-custom"], "abc");
    assert_eq!(echoed["body"], "payload");
    assert_eq!(echoed["headers"]["x-appwrite-trigger"], "http");

    let record = server.execution_behind("echo", &reply).await;
    assert_eq!(record["trigger"], "http");
    assert_eq!(record["requestPath"], "/items/7?color=red");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_function_answers_on_its_own_host() {
    let server = TestServer::start().await;
    server
        .deploy_example("responses", "responses", &["any"])
        .await;
    let port = server.server.local_addr.port();
    let reply = server
        .send(
            server
                .http
                .get(server.url("/anything?type=redirect"))
                .header("host", format!("responses.functions.localhost:{port}")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(reply.header("location"), Some("https://appwrite.io/"));
    let text = server
        .send(
            server
                .http
                .get(server.url("/?type=text&status=202"))
                .header("host", "responses.functions.localhost"),
        )
        .await;
    assert_eq!(text.status, StatusCode::ACCEPTED);
    assert_eq!(text.text(), "Hello, text!");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_type_defaults_to_text_plain() {
    let server = TestServer::start().await;
    server.deploy_example("stdio", "stdio", &["any"]).await;
    let reply = server.send(server.http.get(server.url("/fn/stdio"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_function_is_not_reachable_over_plain_http() {
    let server = TestServer::start().await;
    server.deploy_example("private", "hello", &["users"]).await;
    let reply = server
        .send(server.http.get(server.url("/fn/private/")))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_type(), "user_unauthorized");
    let missing = server
        .send(server.http.get(server.url("/fn/nothing/")))
        .await;
    assert_eq!(missing.error_type(), "function_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_and_bodies_are_refused_before_reaching_a_function() {
    let server = TestServer::start_with(|config| config.max_request_body_bytes = 1 << 20).await;
    server.deploy_example("echo", "echo", &["any"]).await;
    let mut many_headers = server.http.get(server.url("/fn/echo/"));
    for n in 0..150 {
        many_headers = many_headers.header(format!("x-h-{n}"), "v");
    }
    let reply = server.send(many_headers).await;
    assert_eq!(reply.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);

    let big_body = vec![b'x'; 2 << 20];
    let reply = server
        .send(server.http.post(server.url("/fn/echo/")).body(big_body))
        .await;
    assert!(reply.status.is_client_error(), "{}", reply.status);
    assert_eq!(reply.error_type(), "general_argument_invalid");

    let fine = server
        .send(server.http.post(server.url("/fn/echo/")).body("ok"))
        .await;
    assert_eq!(fine.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_requests_reach_the_function_not_the_api_cors_layer() {
    let server = TestServer::start().await;
    server.deploy_example("echo", "echo", &["any"]).await;
    let reply = server
        .send(
            server
                .http
                .request(Method::OPTIONS, server.url("/fn/echo/"))
                .header("origin", "http://localhost:3000")
                .header("access-control-request-method", "POST"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["method"], "OPTIONS");
    assert!(reply.header("x-appwrite-execution-id").is_some());
}
