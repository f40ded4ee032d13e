//! The example guests run through the runtime behave as written, and what they say is captured.

use crate::common::{body_json, body_text, get, request, runtime};
use wafer_runtime::{ExecutionStatus, Limits, OutboundPolicy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_answers_get_with_text_and_logs_and_errors() {
    let rt = runtime();
    let hello = rt.deploy("hello").await;
    let outcome = rt.call(&hello, get("/")).await;
    assert_eq!(outcome.status, ExecutionStatus::Completed);
    assert_eq!(outcome.response.status_code, 200);
    assert_eq!(body_text(&outcome), "Hello, World!");
    assert_eq!(outcome.logs, "Hello, Logs!\n");
    assert_eq!(outcome.errors, "Hello, Errors!\n");
    assert!(outcome.fuel_consumed > 0);
    assert!(outcome.peak_memory_bytes > 0);
    assert!(outcome.duration.as_nanos() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_answers_other_methods_with_the_json_motto() {
    let rt = runtime();
    let hello = rt.deploy("hello").await;
    let outcome = rt.call(&hello, request("POST", "/", b"{}")).await;
    assert_eq!(outcome.status, ExecutionStatus::Completed);
    assert_eq!(
        outcome.response.header("content-type"),
        Some("application/json")
    );
    assert_eq!(
        body_json(&outcome)["motto"],
        "Build like a team of hundreds_"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_sees_every_field_of_the_request() {
    let rt = runtime();
    let echo = rt.deploy("echo").await;
    let mut req = request("PUT", "/items/7?color=red&size=x+l", b"{\"a\":1}");
    req.headers
        .push(("x-custom".to_owned(), "Value".to_owned()));
    req.port = 8080;
    let outcome = rt.call(&echo, req).await;
    let body = body_json(&outcome);
    assert_eq!(body["method"], "PUT");
    assert_eq!(body["scheme"], "http");
    assert_eq!(body["host"], "fn.test");
    assert_eq!(body["port"], 8080);
    assert_eq!(body["path"], "/items/7");
    assert_eq!(body["queryString"], "color=red&size=x+l");
    assert_eq!(body["query"]["color"], "red");
    assert_eq!(body["query"]["size"], "x l");
    assert_eq!(
        body["url"],
        "http://fn.test:8080/items/7?color=red&size=x+l"
    );
    assert_eq!(body["headers"]["x-custom"], "Value");
    assert_eq!(body["body"], "{\"a\":1}");
    assert_eq!(outcome.logs, "echo PUT /items/7\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_sees_only_the_environment_it_was_given() {
    let rt = runtime();
    let env_reader = rt.deploy("env").await;
    let env = vec![
        ("APPWRITE_FUNCTION_ID".to_owned(), "fn-123".to_owned()),
        ("GREETING".to_owned(), "hi".to_owned()),
    ];
    let outcome = rt
        .call_with(
            &env_reader,
            get("/"),
            &Limits::default(),
            &env,
            &OutboundPolicy::deny_all(),
        )
        .await;
    let body = body_json(&outcome);
    assert_eq!(body["functionId"], "fn-123");
    let vars = body["env"].as_object().expect("env is an object");
    assert_eq!(vars.len(), 2, "no host variable leaks in: {vars:?}");
    assert_eq!(vars["GREETING"], "hi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_types_are_chosen_by_the_query() {
    let rt = runtime();
    let responses = rt.deploy("responses").await;

    let empty = rt.call(&responses, get("/?type=empty")).await;
    assert_eq!(empty.response.status_code, 204);
    assert!(empty.response.body.is_empty());

    let json = rt.call(&responses, get("/?type=json")).await;
    assert_eq!(
        json.response.header("content-type"),
        Some("application/json")
    );
    assert_eq!(body_json(&json)["ok"], true);

    let redirect = rt.call(&responses, get("/?type=redirect")).await;
    assert_eq!(redirect.response.status_code, 301);
    assert_eq!(
        redirect.response.header("location"),
        Some("https://appwrite.io/")
    );

    let html = rt.call(&responses, get("/?type=html")).await;
    assert!(
        html.response
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/html")
    );
    assert_eq!(body_text(&html), "<h1>Hello from wafer</h1>");

    let text = rt
        .call(&responses, get("/?type=text&status=201&header=x-extra:yes"))
        .await;
    assert_eq!(text.response.status_code, 201);
    assert_eq!(text.response.header("x-extra"), Some("yes"));
    assert_eq!(body_text(&text), "Hello, text!");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_error_result_is_a_failed_execution_with_its_message() {
    let rt = runtime();
    let responses = rt.deploy("responses").await;
    let outcome = rt.call(&responses, get("/?type=error")).await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert_eq!(outcome.response.status_code, 500);
    assert!(
        outcome.errors.contains("requested failure"),
        "{}",
        outcome.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_response_is_kept_but_marks_the_execution_failed() {
    let rt = runtime();
    let responses = rt.deploy("responses").await;
    let outcome = rt.call(&responses, get("/?type=text&status=503")).await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert_eq!(outcome.response.status_code, 503);
    assert_eq!(body_text(&outcome), "Hello, text!");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_goes_to_logs_and_stderr_to_errors() {
    let rt = runtime();
    let stdio = rt.deploy("stdio").await;
    let outcome = rt.call(&stdio, get("/")).await;
    assert_eq!(outcome.status, ExecutionStatus::Completed);
    assert_eq!(outcome.logs, "to stdout\n");
    assert_eq!(outcome.errors, "to stderr\n");
}
