//! `wasi:http/proxy` deployments: recognised at compile time, run buffered like any function,
//! and streamed, with the response size limit and the timeout enforced mid-stream.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use wafer_runtime::{
    DeploymentKind, ExecutionStatus, Failure, InvocationOutcome, Limits, OutboundPolicy, Request,
    RequestBody, Streamed, StreamingResponse,
};

use crate::common::{TestRuntime, body_text, get, request, runtime};

async fn deploy_bytes(rt: &TestRuntime, bytes: Vec<u8>) -> wafer_runtime::CompiledDeployment {
    rt.runtime
        .compile(bytes)
        .await
        .unwrap_or_else(|error| panic!("compiles: {error}"))
}

fn empty_body() -> RequestBody {
    http_body_util::Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

async fn stream(
    rt: &TestRuntime,
    example: &str,
    request: Request,
    limits: &Limits,
) -> StreamingResponse {
    let artifact = rt.deploy(example).await;
    let streamed = rt
        .runtime
        .invoke_streaming(
            &artifact,
            request,
            empty_body(),
            limits,
            &[],
            &OutboundPolicy::deny_all(),
            1 << 20,
        )
        .await
        .expect("the invocation runs");
    match streamed {
        Streamed::Streaming(response) => response,
        Streamed::Finished(outcome) => panic!("expected a stream, got {outcome:?}"),
    }
}

/// Reads the body to its end or its first error; returns the bytes and whether it ended cleanly.
async fn read_all(body: &mut wafer_runtime::ResponseStream) -> (Vec<u8>, bool) {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => bytes.extend_from_slice(frame.data_ref().map_or(&[][..], |d| d)),
            Err(_) => return (bytes, false),
        }
    }
    (bytes, true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_of_both_worlds_are_recognised_at_compile_time() {
    let rt = runtime();
    let function = deploy_bytes(&rt, wafer_testkit::rust_example_bytes("hello")).await;
    assert_eq!(function.kind, DeploymentKind::Function);
    for example in ["http-echo", "http-stream", "spin-hello"] {
        let proxy = deploy_bytes(&rt, wafer_testkit::rust_example_bytes(example)).await;
        assert_eq!(proxy.kind, DeploymentKind::HttpProxy, "{example}");
    }
    let bench = deploy_bytes(&rt, wafer_testkit::wasi_http_hello_bytes()).await;
    assert_eq!(bench.kind, DeploymentKind::HttpProxy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buffered_invocation_of_a_wasi_http_component_gets_its_whole_answer() {
    let rt = runtime();
    let artifact = rt.deploy("http-echo").await;
    let mut request = request("POST", "/some/path?status=201&x=1", b"the body");
    request
        .headers
        .push(("x-appwrite-trigger".into(), "http".into()));
    let env = [("APPWRITE_FUNCTION_ID".to_owned(), "echoer".to_owned())];
    let outcome = rt
        .call_with(
            &artifact,
            request,
            &Limits::default(),
            &env,
            &OutboundPolicy::deny_all(),
        )
        .await;
    assert_eq!(outcome.status, ExecutionStatus::Completed, "{outcome:?}");
    assert_eq!(outcome.response.status_code, 201);
    assert_eq!(outcome.response.header("x-example"), Some("http-echo"));
    let text = body_text(&outcome);
    assert!(
        text.starts_with("POST /some/path?status=201&x=1\n"),
        "{text}"
    );
    assert!(text.contains("authority: fn.test\n"), "{text}");
    assert!(text.contains("x-appwrite-trigger: http\n"), "{text}");
    assert!(text.contains("function: echoer\n"), "{text}");
    assert!(text.ends_with("body: the body"), "{text}");
    assert_eq!(outcome.logs, "handled POST /some/path?status=201&x=1\n");
    assert_eq!(outcome.errors, "request body of 8 bytes\n");
    assert!(outcome.fuel_consumed > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_component_and_a_spin_sdk_component_answer_unchanged() {
    let rt = runtime();
    let bench = deploy_bytes(&rt, wafer_testkit::wasi_http_hello_bytes()).await;
    let outcome = rt.call(&bench.artifact, get("/")).await;
    assert_eq!(outcome.status, ExecutionStatus::Completed, "{outcome:?}");
    assert_eq!(body_text(&outcome), "Hello, World!");

    let spin = rt.deploy("spin-hello").await;
    let outcome = rt.call(&spin, get("/greet?name=x")).await;
    assert_eq!(outcome.status, ExecutionStatus::Completed, "{outcome:?}");
    assert_eq!(
        body_text(&outcome),
        "Hello from the Spin SDK: GET /greet?name=x"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_event_arrives_while_the_guest_is_still_writing() {
    let rt = runtime();
    let mut response = stream(
        &rt,
        "http-stream",
        get("/?count=3&interval=400"),
        &Limits::default(),
    )
    .await;
    assert_eq!(response.status_code, 200);
    let first = response
        .body
        .frame()
        .await
        .expect("a first frame")
        .expect("not an error");
    let text = String::from_utf8_lossy(first.data_ref().expect("data")).into_owned();
    assert_eq!(text, "id: 1\ndata: event 1 of 3\n\n");
    // Two more events are 400 ms apart: the invocation cannot be over yet.
    let early = tokio::time::timeout(Duration::from_millis(100), &mut response.outcome).await;
    assert!(
        early.is_err(),
        "the outcome was ready after the first event"
    );
    let (rest, clean) = read_all(&mut response.body).await;
    assert!(clean);
    assert_eq!(rest.iter().filter(|b| **b == b'\n').count(), 6);
    drop(response.body);
    let outcome = response.outcome.await;
    assert_eq!(outcome.status, ExecutionStatus::Completed, "{outcome:?}");
    assert!(
        outcome.duration >= Duration::from_millis(800),
        "{outcome:?}"
    );
    assert_eq!(outcome.logs.lines().count(), 3, "{}", outcome.logs);
    assert!(body_text(&outcome).ends_with("data: event 3 of 3\n\n"));
}

async fn cut_stream(limits: Limits, query: &str) -> (Vec<u8>, bool, InvocationOutcome) {
    let rt = runtime();
    let mut response = stream(&rt, "http-stream", get(query), &limits).await;
    let (bytes, clean) = read_all(&mut response.body).await;
    drop(response.body);
    (bytes, clean, response.outcome.await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_past_the_response_limit_is_cut_and_fails_the_execution() {
    let limits = Limits {
        max_response_bytes: 256 << 10,
        ..Limits::default()
    };
    let (bytes, clean, outcome) = cut_stream(limits, "/?bytes=4194304").await;
    assert!(!clean, "the client must see the stream cut");
    assert!(bytes.len() <= 256 << 10, "{} bytes passed", bytes.len());
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert_eq!(
        outcome.failure,
        Some(Failure::StreamTooLarge { limit: 256 << 10 })
    );
    assert!(outcome.errors.contains("Response size limit exceeded"));
    // The record keeps the head and the first bytes.
    assert_eq!(outcome.response.status_code, 200);
    assert!(!outcome.response.body.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_past_the_timeout_is_cut_and_fails_the_execution() {
    let limits = Limits {
        timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let started = Instant::now();
    let (bytes, clean, outcome) = cut_stream(limits, "/?count=100&interval=200").await;
    assert!(!clean);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(String::from_utf8_lossy(&bytes).starts_with("id: 1\n"));
    assert_eq!(outcome.failure, Some(Failure::Timeout), "{outcome:?}");
    assert_eq!(outcome.status, ExecutionStatus::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_that_traps_after_its_head_cuts_the_stream() {
    let rt = runtime();
    let mut response = stream(&rt, "http-echo", get("/?fail"), &Limits::default()).await;
    let (bytes, clean) = read_all(&mut response.body).await;
    assert!(!clean, "a failed execution's body must not look whole");
    assert!(String::from_utf8_lossy(&bytes).starts_with("GET /?fail"));
    drop(response.body);
    let outcome = response.outcome.await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert!(
        matches!(&outcome.failure, Some(Failure::Trap(_))),
        "{outcome:?}"
    );
    assert!(outcome.errors.contains("failing after the response head"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_stops_the_guest_without_failing_it() {
    let rt = runtime();
    let mut response = stream(
        &rt,
        "http-stream",
        get("/?count=1000&interval=100"),
        &Limits::default(),
    )
    .await;
    response.body.frame().await.expect("a first frame").ok();
    drop(response.body);
    let outcome = tokio::time::timeout(Duration::from_secs(10), response.outcome)
        .await
        .expect("the guest stops when nobody reads");
    assert_eq!(outcome.status, ExecutionStatus::Completed, "{outcome:?}");
    assert!(
        outcome.errors.contains("The client closed the connection"),
        "{}",
        outcome.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_informational_status_fails_the_execution() {
    let rt = runtime();
    let artifact = rt.deploy("http-echo").await;
    let outcome = rt.call(&artifact, get("/?status=101")).await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert_eq!(outcome.failure, Some(Failure::InvalidStatusCode(101)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wafer_function_streamed_answers_finished() {
    let rt = runtime();
    let artifact = rt.deploy("echo").await;
    let body = http_body_util::Full::new(Bytes::from_static(b"{\"a\":1}"))
        .map_err(|never| match never {})
        .boxed_unsync();
    let streamed = rt
        .runtime
        .invoke_streaming(
            &artifact,
            request("POST", "/", b""),
            body,
            &Limits::default(),
            &[],
            &OutboundPolicy::deny_all(),
            1024,
        )
        .await
        .expect("the invocation runs");
    let Streamed::Finished(outcome) = streamed else {
        panic!("a wafer function does not stream");
    };
    assert_eq!(outcome.status, ExecutionStatus::Completed, "{outcome:?}");
    assert!(
        body_text(&outcome).contains(r#""body":"{\"a\":1}""#),
        "{}",
        body_text(&outcome)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_with_a_malformed_scheme_host_or_path_still_reaches_the_guest() {
    let rt = runtime();
    let artifact = rt.deploy("http-echo").await;
    let mut hostile = get("/a b\"#x");
    hostile.scheme = "javascript:".into();
    hostile.host = "bad host/".into();
    hostile.query_string = "q=<1>".into();
    let outcome = rt.call(&artifact, hostile).await;
    assert_eq!(outcome.status, ExecutionStatus::Completed, "{outcome:?}");
    let text = body_text(&outcome);
    assert!(text.starts_with("GET /a%20b%22%23x?q=%3C1%3E\n"), "{text}");
    assert!(text.contains("authority: localhost\n"), "{text}");
}
