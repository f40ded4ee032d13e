//! The async queue is bounded for every caller: caps on waiting executions per function and
//! per project, a horizon for `scheduledAt`, and a worker that claims only what it can run.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wafer_e2e::{TestServer, rfc3339, unix_now};

const FAR_AHEAD: &str = "2999-01-01T00:00:00.000+00:00";

fn in_days(days: u64) -> String {
    rfc3339(unix_now() + days * 86_400)
}

async fn schedule(server: &TestServer, function_id: &str, at: &str) -> wafer_e2e::Reply {
    server
        .execute(function_id, json!({"async": true, "scheduledAt": at}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_past_its_queue_cap_is_refused_with_429_and_retry_after() {
    let server = TestServer::start_with(|config| {
        config.max_queued_per_function = 2;
        config.max_schedule_ahead = Duration::from_secs(1000 * 365 * 86_400);
    })
    .await;
    server.deploy_example("hello", "hello", &[]).await;
    for _ in 0..2 {
        let reply = schedule(&server, "hello", FAR_AHEAD).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text());
    }
    let refused = schedule(&server, "hello", FAR_AHEAD).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.error_type(), "general_rate_limit_exceeded");
    assert!(refused.header("retry-after").is_some());
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap_or_default()
            .contains("max_queued_per_function"),
        "{}",
        refused.text()
    );
    // The refused call wrote nothing.
    let listed = server
        .send(server.admin(Method::GET, "/v1/functions/hello/executions"))
        .await
        .json();
    assert_eq!(listed["total"], 2, "{listed}");
    // A synchronous run does not queue, so it still works.
    let sync = server.execute("hello", json!({"method": "GET"})).await;
    assert_eq!(sync.status, StatusCode::CREATED, "{}", sync.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_past_its_queue_cap_is_refused_across_its_functions() {
    let server = TestServer::start_with(|config| {
        config.max_queued_per_project = 3;
        config.max_schedule_ahead = Duration::from_secs(1000 * 365 * 86_400);
    })
    .await;
    server.deploy_example("first", "hello", &[]).await;
    server.deploy_example("second", "hello", &[]).await;
    for function_id in ["first", "first", "second"] {
        let reply = schedule(&server, function_id, FAR_AHEAD).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text());
    }
    let refused = schedule(&server, "second", FAR_AHEAD).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.text().contains("max_queued_per_project"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_at_beyond_the_horizon_is_a_clear_400() {
    let server = TestServer::start().await;
    server.deploy_example("hello", "hello", &[]).await;
    let too_far = schedule(&server, "hello", &in_days(45)).await;
    assert_eq!(
        too_far.status,
        StatusCode::BAD_REQUEST,
        "{}",
        too_far.text()
    );
    assert_eq!(too_far.error_type(), "general_argument_invalid");
    assert!(
        too_far.text().contains("at most 30 days ahead"),
        "{}",
        too_far.text()
    );
    let within = schedule(&server, "hello", &in_days(29)).await;
    assert_eq!(within.status, StatusCode::ACCEPTED, "{}", within.text());
}

fn count_with_status(page: &Value, status: &str) -> usize {
    page["executions"]
        .as_array()
        .map(|items| items.iter().filter(|e| e["status"] == status).count())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_claims_no_more_than_it_can_run_at_once() {
    let server = TestServer::start_with(|config| {
        config.max_concurrent_executions = 2;
    })
    .await;
    server.deploy_example("spin", "endless-loop", &[]).await;
    let update = server
        .admin_json(
            Method::PUT,
            "/v1/functions/spin",
            json!({"name": "spin", "timeout": 1}),
        )
        .await;
    assert_eq!(update.status, StatusCode::OK, "{}", update.text());
    for _ in 0..8 {
        let reply = server.execute("spin", json!({"async": true})).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text());
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let page = server
            .send(server.admin(Method::GET, "/v1/functions/spin/executions?queries[]=%7B%22method%22%3A%22limit%22%2C%22values%22%3A%5B100%5D%7D"))
            .await
            .json();
        let processing = count_with_status(&page, "processing");
        assert!(
            processing <= 2,
            "{processing} executions were claimed at once with room for 2: {page}"
        );
        if count_with_status(&page, "failed") == 8 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the backlog did not drain: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
