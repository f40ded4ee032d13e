//! A function cannot ask for more of the machine than the operator allows: settings above the
//! server's caps are refused with a 400 that names the cap, never silently lowered.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wafer_e2e::TestServer;

async fn update(server: &TestServer, settings: Value) -> wafer_e2e::Reply {
    let mut body = json!({"name": "capped"});
    body.as_object_mut()
        .expect("object")
        .extend(settings.as_object().expect("object").clone());
    server
        .admin_json(Method::PUT, "/v1/functions/capped", body)
        .await
}

fn assert_refused_naming(reply: &wafer_e2e::Reply, cap: &str) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    assert_eq!(reply.error_type(), "general_argument_invalid");
    assert!(reply.text().contains(cap), "{cap}: {}", reply.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_above_the_servers_caps_are_refused_naming_the_cap() {
    let server = TestServer::start_with(|config| {
        config.function_caps.max_fuel = 1_000_000;
        config.function_caps.max_timeout_secs = 60;
        config.function_caps.max_list_entries = 3;
        config.function_caps.max_text_chars = 64;
    })
    .await;
    server.create_function("capped", &["any"]).await;

    assert_refused_naming(
        &update(&server, json!({"memory": 1 << 20})).await,
        "max_function_memory_mb",
    );
    assert_refused_naming(
        &update(&server, json!({"memory": 0})).await,
        "max_function_memory_mb",
    );
    assert_refused_naming(
        &update(&server, json!({"fuel": 1_000_001})).await,
        "max_fuel",
    );
    assert_refused_naming(
        &update(&server, json!({"timeout": 61})).await,
        "max_timeout_secs",
    );
    assert_refused_naming(
        &update(
            &server,
            json!({"execute": ["any", "users", "guests", "user:a"]}),
        )
        .await,
        "max_list_entries",
    );
    assert_refused_naming(
        &update(&server, json!({"events": ["x".repeat(65)]})).await,
        "max_text_chars",
    );
    assert_refused_naming(
        &update(&server, json!({"commands": "y".repeat(65)})).await,
        "max_text_chars",
    );
    let refused_create = server
        .admin_json(
            Method::POST,
            "/v1/functions",
            json!({"functionId": "big", "name": "big", "runtime": "rust-wasi-0.2", "timeout": 600}),
        )
        .await;
    assert_refused_naming(&refused_create, "max_timeout_secs");

    // Nothing was changed by the refused updates; values within the caps are kept as given.
    let within = update(
        &server,
        json!({"memory": 128, "fuel": 1_000_000, "timeout": 60}),
    )
    .await;
    assert_eq!(within.status, StatusCode::OK, "{}", within.text());
    let function = within.json();
    assert_eq!(function["timeout"], 60);
    assert_eq!(function["fuel"], 1_000_000);
    assert_eq!(function["memory"], 128);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_has_at_most_the_servers_number_of_variables() {
    let server = TestServer::start_with(|config| config.function_caps.max_variables = 2).await;
    server.create_function("capped", &["any"]).await;
    for key in ["A", "B"] {
        let reply = server
            .admin_json(
                Method::POST,
                "/v1/functions/capped/variables",
                json!({"key": key, "value": "v"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    }
    let third = server
        .admin_json(
            Method::POST,
            "/v1/functions/capped/variables",
            json!({"key": "C", "value": "v"}),
        )
        .await;
    assert_refused_naming(&third, "max_variables");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_memory_budget_fails_the_execution_that_would_exceed_it() {
    let server =
        TestServer::start_with(|config| config.sandbox_memory_budget_bytes = Some(48 << 20)).await;
    server.deploy_example("bomb", "memory-bomb", &[]).await;
    server.deploy_example("hello", "hello", &[]).await;
    let bomb = server
        .execute("bomb", json!({"method": "GET"}))
        .await
        .json();
    assert_eq!(bomb["status"], "failed", "{bomb}");
    assert!(
        bomb["errors"]
            .as_str()
            .unwrap_or_default()
            .contains("Server memory budget exceeded"),
        "{bomb}"
    );
    let hello = server
        .execute("hello", json!({"method": "GET"}))
        .await
        .json();
    assert_eq!(hello["status"], "completed", "{hello}");
}
