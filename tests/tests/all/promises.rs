//! Promises the README makes that no other topic checks: reuse never crosses functions, the
//! execution scopes and the `guests` role, expired JWTs, disabled functions, the synchronous
//! time limit and method validation.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use wafer_e2e::TestServer;

use crate::auth_support::{assert_error, key_secret, mint_jwt_for, with_jwt, with_key};

async fn reuse(server: &TestServer, function_id: &str) {
    let reply = server
        .admin_json(
            Method::PUT,
            &format!("/v1/functions/{function_id}"),
            json!({"name": function_id, "reuseInstances": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

async fn count(server: &TestServer, function_id: &str) -> u64 {
    let reply = server
        .send(server.http.get(server.url(&format!("/fn/{function_id}/"))))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.text().parse().expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_instance_never_serves_another_function_with_the_same_bytes() {
    let server = TestServer::start().await;
    server.deploy_example("first", "counter", &["any"]).await;
    server.deploy_example("second", "counter", &["any"]).await;
    reuse(&server, "first").await;
    reuse(&server, "second").await;
    assert_eq!(count(&server, "first").await, 1);
    assert_eq!(count(&server, "first").await, 2);
    assert_eq!(count(&server, "first").await, 3);
    assert_eq!(
        count(&server, "second").await,
        1,
        "the second function starts from its own instance"
    );
    assert_eq!(count(&server, "first").await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execution_scopes_decide_what_a_key_may_do_with_executions() {
    let server = TestServer::start().await;
    server.deploy_example("hello", "hello", &[]).await;
    let reader = key_secret(&server, "default", &["executions.read"]).await;
    let writer = key_secret(&server, "default", &["executions.write"]).await;
    let path = "/v1/functions/hello/executions";

    let refused = server
        .send(with_key(&server, "default", &reader, Method::POST, path).json(&json!({})))
        .await;
    assert_error(
        &refused,
        StatusCode::UNAUTHORIZED,
        "general_unauthorized_scope",
    );
    let ran = server
        .send(with_key(&server, "default", &writer, Method::POST, path).json(&json!({})))
        .await;
    assert_eq!(ran.status, StatusCode::CREATED, "{}", ran.text());
    let listed = server
        .send(with_key(&server, "default", &reader, Method::GET, path))
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    assert_eq!(listed.json()["total"], 1);
    let not_listed = server
        .send(with_key(&server, "default", &writer, Method::GET, path))
        .await;
    assert_error(
        &not_listed,
        StatusCode::UNAUTHORIZED,
        "general_unauthorized_scope",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guests_role_admits_anonymous_callers_but_not_users() {
    let server = TestServer::start().await;
    server.deploy_example("hello", "hello", &["guests"]).await;
    let guest = server
        .send(
            server
                .guest(Method::POST, "/v1/functions/hello/executions")
                .json(&json!({})),
        )
        .await;
    assert_eq!(guest.status, StatusCode::CREATED, "{}", guest.text());
    let route = server.send(server.http.get(server.url("/fn/hello/"))).await;
    assert_eq!(route.status, StatusCode::OK, "{}", route.text());
    let jwt = mint_jwt_for(&server, "alice", 900).await;
    let user = server
        .send(
            with_jwt(
                &server,
                &jwt,
                Method::POST,
                "/v1/functions/hello/executions",
            )
            .json(&json!({})),
        )
        .await;
    assert_error(&user, StatusCode::UNAUTHORIZED, "user_unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_jwt_is_refused() {
    let server = TestServer::start().await;
    server.deploy_example("hello", "hello", &["users"]).await;
    let jwt = mint_jwt_for(&server, "alice", 1).await;
    // jsonwebtoken allows 60 s of leeway by default; the server must not.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = server
        .send(
            with_jwt(
                &server,
                &jwt,
                Method::POST,
                "/v1/functions/hello/executions",
            )
            .json(&json!({})),
        )
        .await;
    assert_error(&expired, StatusCode::UNAUTHORIZED, "user_jwt_invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_function_refuses_to_run_on_every_trigger() {
    let server = TestServer::start().await;
    server.deploy_example("hello", "hello", &["any"]).await;
    let disabled = server
        .admin_json(
            Method::PUT,
            "/v1/functions/hello",
            json!({"name": "hello", "enabled": false}),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text());
    let sync = server.execute("hello", json!({})).await;
    assert_error(&sync, StatusCode::FORBIDDEN, "function_disabled");
    let queued = server.execute("hello", json!({"async": true})).await;
    assert_error(&queued, StatusCode::FORBIDDEN, "function_disabled");
    let route = server.send(server.http.get(server.url("/fn/hello/"))).await;
    assert_error(&route, StatusCode::FORBIDDEN, "function_disabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synchronous_run_past_the_servers_wait_is_a_408_and_goes_on_in_the_background() {
    let server =
        TestServer::start_with(|config| config.sync_timeout_cap = Duration::from_secs(1)).await;
    server.deploy_example("spin", "endless-loop", &[]).await;
    server
        .admin_json(
            Method::PUT,
            "/v1/functions/spin",
            json!({"name": "spin", "timeout": 3, "fuel": 1_000_000_000_000u64}),
        )
        .await;
    let reply = server.execute("spin", json!({})).await;
    assert_error(
        &reply,
        StatusCode::REQUEST_TIMEOUT,
        "function_synchronous_timeout",
    );
    // The run goes on and is recorded when it ends (here: at its own 3 s timeout).
    let path = "/v1/functions/spin/executions";
    let page = || async { server.send(server.admin(Method::GET, path)).await.json() };
    wafer_e2e::eventually("recording the run that outlasted the wait", || async {
        page().await["total"] == 1
    })
    .await;
    let page = page().await;
    assert_eq!(page["executions"][0]["status"], "failed", "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_method_is_refused_before_anything_runs() {
    let server = TestServer::start().await;
    server.deploy_example("hello", "hello", &[]).await;
    let reply = server.execute("hello", json!({"method": "BREW"})).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "general_argument_invalid");
    assert!(reply.text().contains("BREW"), "{}", reply.text());
    let page = server
        .send(server.admin(Method::GET, "/v1/functions/hello/executions"))
        .await
        .json();
    assert_eq!(page["total"], 0, "nothing was recorded: {page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_execution_runs_at_its_time() {
    let server = TestServer::start_with(|config| {
        config.min_schedule_ahead = Duration::from_secs(1);
    })
    .await;
    server.deploy_example("hello", "hello", &[]).await;
    let at = wafer_e2e::unix_now() + 3;
    let reply = server
        .execute(
            "hello",
            json!({"async": true, "method": "GET", "scheduledAt": wafer_e2e::rfc3339(at)}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text());
    let id = reply.json()["$id"].as_str().expect("id").to_owned();
    for _ in 0..200 {
        let record = server.get_execution("hello", &id).await.json();
        match record["status"].as_str() {
            Some("scheduled") => {
                assert!(
                    wafer_e2e::unix_now() <= at + 10,
                    "still scheduled after its time: {record}"
                );
            }
            Some("completed") => {
                assert!(
                    wafer_e2e::unix_now() >= at,
                    "it ran before its time: {record}"
                );
                return;
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the scheduled execution never ran");
}
