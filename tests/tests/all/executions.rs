//! Executions through the API: synchronous, asynchronous, scheduled and by cron; the records
//! they leave; limits and overload.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wafer_e2e::{TestServer, rfc3339, unix_now};

async fn wait_for_status(
    server: &TestServer,
    function_id: &str,
    execution_id: &str,
    wanted: &[&str],
) -> Value {
    for _ in 0..300 {
        let execution = server.get_execution(function_id, execution_id).await.json();
        if wanted.iter().any(|status| execution["status"] == *status) {
            return execution;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("execution {execution_id} never reached {wanted:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synchronous_execution_returns_the_complete_record() {
    let server = TestServer::start().await;
    server.deploy_example("hello", "hello", &[]).await;
    let reply = server
        .execute(
            "hello",
            json!({"method": "GET", "path": "/greet?x=1", "headers": {"X-Test": "yes"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let execution = reply.json();
    assert_eq!(execution["status"], "completed");
    assert_eq!(execution["trigger"], "http");
    assert_eq!(execution["responseStatusCode"], 200);
    assert_eq!(execution["responseBody"], "Hello, World!");
    assert_eq!(execution["logs"], "Hello, Logs!\n");
    assert_eq!(execution["errors"], "Hello, Errors!\n");
    assert_eq!(execution["requestMethod"], "GET");
    assert_eq!(execution["requestPath"], "/greet?x=1");
    assert_eq!(execution["functionId"], "hello");
    assert_eq!(execution["resourceId"], "hello");
    assert!(execution["duration"].as_f64().unwrap_or_default() > 0.0);
    assert!(execution["fuelConsumed"].as_u64().unwrap_or_default() > 0);
    let headers = execution["requestHeaders"].as_array().expect("headers");
    assert!(
        headers
            .iter()
            .any(|h| h["name"] == "x-test" && h["value"] == "yes")
    );
    let id = execution["$id"].as_str().expect("id");
    let stored = server.get_execution("hello", id).await.json();
    assert_eq!(stored["responseBody"], "Hello, World!");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guest_sees_the_injected_appwrite_headers() {
    let server = TestServer::start().await;
    server.deploy_example("echo", "echo", &[]).await;
    let reply = server
        .execute("echo", json!({"method": "POST", "path": "/", "body": "hi", "headers": {"content-type": "text/plain"}}))
        .await;
    let execution = reply.json();
    let echoed: Value =
        serde_json::from_str(execution["responseBody"].as_str().expect("body")).expect("json");
    assert_eq!(echoed["headers"]["x-appwrite-trigger"], "http");
    assert_eq!(
        echoed["headers"]["x-appwrite-execution-id"],
        execution["$id"]
    );
    assert_eq!(echoed["body"], "hi");
    let forged = server
        .execute("echo", json!({"headers": {"x-appwrite-user-id": "root"}}))
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    assert_eq!(forged.error_type(), "general_argument_invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_guest_is_a_failed_execution_not_a_server_error() {
    let server = TestServer::start().await;
    server.deploy_example("boom", "panic", &[]).await;
    let execution = server.execute("boom", json!({})).await.json();
    assert_eq!(execution["status"], "failed");
    assert_eq!(execution["responseStatusCode"], 500);
    assert!(
        execution["errors"]
            .as_str()
            .unwrap_or_default()
            .contains("guest panicked on purpose")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_execution_goes_from_waiting_to_completed() {
    let server = TestServer::start().await;
    server.deploy_example("hello", "hello", &[]).await;
    let reply = server
        .execute("hello", json!({"async": true, "method": "GET"}))
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text());
    let accepted = reply.json();
    assert!(accepted["status"] == "waiting" || accepted["status"] == "processing");
    let id = accepted["$id"].as_str().expect("id");
    let done = wait_for_status(&server, "hello", id, &["completed", "failed"]).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["logs"], "Hello, Logs!\n");
    assert_eq!(
        done["responseBody"], "",
        "async executions keep no response body"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_execution_waits_for_its_time() {
    let server = TestServer::start().await;
    server.deploy_example("hello", "hello", &[]).await;
    let too_soon = server
        .execute(
            "hello",
            json!({"async": true, "scheduledAt": "2000-01-01T00:00:00.000+00:00"}),
        )
        .await;
    assert_eq!(too_soon.error_type(), "general_argument_invalid");
    let not_async = server
        .execute(
            "hello",
            json!({"scheduledAt": "2999-01-01T00:00:00.000+00:00"}),
        )
        .await;
    assert_eq!(not_async.error_type(), "general_argument_invalid");

    let tomorrow = rfc3339(unix_now() + 86_400);
    let reply = server
        .execute("hello", json!({"async": true, "scheduledAt": tomorrow}))
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text());
    let scheduled = reply.json();
    assert_eq!(scheduled["status"], "scheduled");
    assert!(
        scheduled["scheduledAt"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&tomorrow[..16]),
        "{scheduled}"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let id = scheduled["$id"].as_str().expect("id");
    let still = server.get_execution("hello", id).await.json();
    assert_eq!(still["status"], "scheduled");
    let deleted = server
        .send(server.admin(
            Method::DELETE,
            &format!("/v1/functions/hello/executions/{id}"),
        ))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cron_schedule_runs_the_function_with_the_schedule_trigger() {
    let server = TestServer::start().await;
    server.deploy_example("tick", "hello", &[]).await;
    let updated = server
        .admin_json(
            Method::PUT,
            "/v1/functions/tick",
            json!({"name": "tick", "schedule": "* * * * * *"}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text());
    let query = r#"{"method":"equal","attribute":"trigger","values":["schedule"]}"#;
    for _ in 0..100 {
        let list = server
            .send(
                server
                    .admin(Method::GET, "/v1/functions/tick/executions")
                    .query(&[("queries[0]", query)]),
            )
            .await
            .json();
        let executions = list["executions"].as_array().cloned().unwrap_or_default();
        if let Some(done) = executions.iter().find(|e| e["status"] == "completed") {
            assert_eq!(done["requestMethod"], "POST");
            assert_eq!(done["requestPath"], "/");
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no scheduled execution completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_are_listed_with_queries() {
    let server = TestServer::start().await;
    server.deploy_example("responses", "responses", &[]).await;
    for path in ["/?type=text", "/?type=json", "/?type=error"] {
        server
            .execute("responses", json!({"method": "GET", "path": path}))
            .await;
    }
    let list = |query: &'static str| {
        let request = server
            .admin(Method::GET, "/v1/functions/responses/executions")
            .query(&[("queries[0]", query)]);
        server.send(request)
    };
    let failed = list(r#"{"method":"equal","attribute":"status","values":["failed"]}"#)
        .await
        .json();
    assert_eq!(failed["total"], 1);
    let ordered = list(r#"{"method":"orderDesc","attribute":"$createdAt"}"#)
        .await
        .json();
    assert_eq!(ordered["executions"][0]["requestPath"], "/?type=error");
    let limited = list(r#"{"method":"limit","values":[2]}"#).await.json();
    assert_eq!(limited["executions"].as_array().map(Vec::len), Some(2));
    assert_eq!(limited["total"], 3);
    // A page of executions holds at most 100 records with their bodies and logs.
    let largest = list(r#"{"method":"limit","values":[100]}"#).await;
    assert_eq!(largest.status, StatusCode::OK, "{}", largest.text());
    let too_large = list(r#"{"method":"limit","values":[101]}"#).await;
    assert_eq!(
        too_large.status,
        StatusCode::BAD_REQUEST,
        "{}",
        too_large.text()
    );
    assert_eq!(too_large.error_type(), "general_query_invalid");
    let no_total = server
        .send(
            server
                .admin(Method::GET, "/v1/functions/responses/executions")
                .query(&[("total", "false")]),
        )
        .await
        .json();
    assert_eq!(no_total["total"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_disabled_keeps_no_logs() {
    let server = TestServer::start().await;
    server.deploy_example("quiet", "hello", &[]).await;
    server
        .admin_json(
            Method::PUT,
            "/v1/functions/quiet",
            json!({"name": "quiet", "logging": false}),
        )
        .await;
    let execution = server
        .execute("quiet", json!({"method": "GET"}))
        .await
        .json();
    assert_eq!(execution["status"], "completed");
    assert_eq!(execution["logs"], "");
    assert_eq!(execution["errors"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_execution_fails_with_the_timeout_message() {
    let server = TestServer::start().await;
    server.deploy_example("spin", "endless-loop", &[]).await;
    server
        .admin_json(
            Method::PUT,
            "/v1/functions/spin",
            json!({"name": "spin", "timeout": 1, "fuel": 1_000_000_000_000u64}),
        )
        .await;
    let execution = server.execute("spin", json!({})).await.json();
    assert_eq!(execution["status"], "failed");
    assert_eq!(execution["responseStatusCode"], 500);
    assert!(
        execution["errors"]
            .as_str()
            .unwrap_or_default()
            .contains("Execution timed out.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_refused_with_429_and_retry_after() {
    let server = TestServer::start_with(|config| config.max_concurrent_per_function = 1).await;
    server.deploy_example("spin", "endless-loop", &[]).await;
    server
        .admin_json(
            Method::PUT,
            "/v1/functions/spin",
            json!({"name": "spin", "timeout": 2, "fuel": 1_000_000_000_000u64}),
        )
        .await;
    let first = {
        let request = server
            .admin(Method::POST, "/v1/functions/spin/executions")
            .json(&json!({}));
        tokio::spawn(request.send())
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = server.execute("spin", json!({})).await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(second.error_type(), "general_rate_limit_exceeded");
    assert!(second.header("retry-after").is_some());
    let first = first.await.expect("task").expect("response");
    assert_eq!(first.status(), StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execution_errors_have_their_types() {
    let server = TestServer::start().await;
    server.create_function("empty", &[]).await;
    let no_deployment = server.execute("empty", json!({})).await;
    assert_eq!(no_deployment.status, StatusCode::NOT_FOUND);
    assert_eq!(no_deployment.error_type(), "deployment_not_found");
    let missing = server.execute("missing", json!({})).await;
    assert_eq!(missing.error_type(), "function_not_found");
    let unknown = server
        .send(server.admin(Method::GET, "/v1/functions/empty/executions/nope"))
        .await;
    assert_eq!(unknown.error_type(), "execution_not_found");
    let bad_method = server.execute("empty", json!({"method": "TRACE"})).await;
    assert!(
        bad_method.status == StatusCode::BAD_REQUEST || bad_method.status == StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_and_queued_work_survive_a_restart() {
    let server = TestServer::start().await;
    server.deploy_example("hello", "hello", &[]).await;
    let sync = server
        .execute("hello", json!({"method": "GET"}))
        .await
        .json();
    let server = server.restart().await;
    let id = sync["$id"].as_str().expect("id");
    let stored = server.get_execution("hello", id).await.json();
    assert_eq!(stored["responseBody"], "Hello, World!");
    let after = server
        .execute("hello", json!({"method": "GET"}))
        .await
        .json();
    assert_eq!(after["responseBody"], "Hello, World!");
    let queued = server.execute("hello", json!({"async": true})).await.json();
    let queued_id = queued["$id"].as_str().expect("id").to_owned();
    let server = server.restart().await;
    let done = wait_for_status(&server, "hello", &queued_id, &["completed", "failed"]).await;
    assert_eq!(done["status"], "completed");
}
