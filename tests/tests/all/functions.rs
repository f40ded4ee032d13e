//! `/v1/functions`: the Function model, validation and its errors.

use reqwest::{Method, StatusCode};
use serde_json::json;
use wafer_e2e::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_function_has_every_field_the_sdks_require() {
    let server = TestServer::start().await;
    let reply = server
        .admin_json(
            Method::POST,
            "/v1/functions",
            json!({"functionId": "unique()", "name": "Hello", "runtime": "rust-wasi-0.2",
                   "execute": ["any"], "timeout": 30, "schedule": "*/5 * * * *"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let function = reply.json();
    for field in [
        "$id",
        "$createdAt",
        "$updatedAt",
        "execute",
        "name",
        "description",
        "enabled",
        "live",
        "logging",
        "runtime",
        "deploymentRetention",
        "deploymentId",
        "deploymentCreatedAt",
        "latestDeploymentId",
        "latestDeploymentCreatedAt",
        "latestDeploymentStatus",
        "scopes",
        "vars",
        "events",
        "schedule",
        "timeout",
        "entrypoint",
        "commands",
        "version",
        "installationId",
        "providerRepositoryId",
        "providerBranch",
        "providerRootDirectory",
        "providerSilentMode",
        "providerBranches",
        "providerPaths",
        "buildSpecification",
        "runtimeSpecification",
        "emailEnabled",
    ] {
        assert!(function.get(field).is_some(), "missing {field}: {function}");
    }
    assert_eq!(function["$id"].as_str().map(str::len), Some(20));
    assert_eq!(function["timeout"], 30);
    assert_eq!(function["live"], false);
    let created = function["$createdAt"].as_str().expect("date");
    assert!(
        created.ends_with("+00:00") && created.contains('.'),
        "{created}"
    );
    assert_eq!(function["deploymentCreatedAt"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_are_listed_with_queries_search_and_cursors() {
    let server = TestServer::start().await;
    for name in ["alpha", "beta", "gamma"] {
        server.create_function(name, &[]).await;
    }
    let all = server
        .send(server.admin(Method::GET, "/v1/functions"))
        .await
        .json();
    assert_eq!(all["total"], 3);

    let query = r#"{"method":"equal","attribute":"name","values":["beta"]}"#;
    let filtered = server
        .send(
            server
                .admin(Method::GET, "/v1/functions")
                .query(&[("queries[0]", query)]),
        )
        .await
        .json();
    assert_eq!(filtered["total"], 1);
    assert_eq!(filtered["functions"][0]["$id"], "beta");

    let searched = server
        .send(
            server
                .admin(Method::GET, "/v1/functions")
                .query(&[("search", "gam")]),
        )
        .await
        .json();
    assert_eq!(searched["functions"][0]["$id"], "gamma");

    let page = server
        .send(server.admin(Method::GET, "/v1/functions").query(&[
            ("queries[0]", r#"{"method":"limit","values":[1]}"#),
            (
                "queries[1]",
                r#"{"method":"cursorAfter","values":["alpha"]}"#,
            ),
        ]))
        .await
        .json();
    assert_eq!(page["functions"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["functions"][0]["$id"], "beta");
    assert_eq!(page["total"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_and_cursors_are_refused_with_their_types() {
    let server = TestServer::start().await;
    let bad = server
        .send(server.admin(Method::GET, "/v1/functions").query(&[(
            "queries[0]",
            r#"{"method":"equal","attribute":"password","values":["x"]}"#,
        )]))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_type(), "general_query_invalid");
    let not_json = server
        .send(
            server
                .admin(Method::GET, "/v1/functions")
                .query(&[("queries[0]", "nope")]),
        )
        .await;
    assert_eq!(not_json.error_type(), "general_query_invalid");
    let cursor = server
        .send(server.admin(Method::GET, "/v1/functions").query(&[(
            "queries[0]",
            r#"{"method":"cursorAfter","values":["missing"]}"#,
        )]))
        .await;
    assert_eq!(cursor.error_type(), "general_cursor_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_function_input_gets_argument_errors() {
    let server = TestServer::start().await;
    let cases = [
        json!({"functionId": "ok", "name": "x", "runtime": "cobol-1"}),
        json!({"functionId": "-bad", "name": "x", "runtime": "wasi-0.2"}),
        json!({"functionId": "ok", "name": "", "runtime": "wasi-0.2"}),
        json!({"functionId": "ok", "name": "x", "runtime": "wasi-0.2", "timeout": 0}),
        json!({"functionId": "ok", "name": "x", "runtime": "wasi-0.2", "schedule": "whenever"}),
        json!({"functionId": "ok", "name": "x", "runtime": "wasi-0.2", "execute": ["root"]}),
    ];
    for body in cases {
        let reply = server
            .admin_json(Method::POST, "/v1/functions", body.clone())
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text()
        );
        assert_eq!(reply.error_type(), "general_argument_invalid", "{body}");
    }
    let unknown_runtime = server
        .admin_json(
            Method::POST,
            "/v1/functions",
            json!({"functionId": "ok", "name": "x", "runtime": "cobol-1"}),
        )
        .await;
    assert!(
        unknown_runtime.text().contains("rust-wasi-0.2"),
        "lists the accepted runtimes"
    );
    let broken_json = server
        .send(
            server
                .admin(Method::POST, "/v1/functions")
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
    assert_eq!(broken_json.error_type(), "general_argument_invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_are_read_updated_and_deleted() {
    let server = TestServer::start().await;
    server.create_function("crud", &[]).await;
    let duplicate = server
        .admin_json(
            Method::POST,
            "/v1/functions",
            json!({"functionId": "crud", "name": "x", "runtime": "wasi-0.2"}),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    assert_eq!(duplicate.error_type(), "function_already_exists");

    let updated = server
        .admin_json(
            Method::PUT,
            "/v1/functions/crud",
            json!({"name": "Renamed", "timeout": 5, "enabled": false}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text());
    assert_eq!(updated.json()["name"], "Renamed");
    assert_eq!(updated.json()["enabled"], false);
    assert_eq!(updated.json()["runtime"], "rust-wasi-0.2");

    let deleted = server
        .send(server.admin(Method::DELETE, "/v1/functions/crud"))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let content_type = deleted.header("content-type").unwrap_or_default();
    assert!(
        !content_type.is_empty() && !content_type.contains("json"),
        "{content_type}"
    );

    let gone = server
        .send(server.admin(Method::GET, "/v1/functions/crud"))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.error_type(), "function_not_found");
    let body = gone.json();
    assert_eq!(body["code"], 404);
    assert!(body["version"].is_string() && body["message"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtimes_and_specifications_are_listed() {
    let server = TestServer::start().await;
    let runtimes = server
        .send(server.admin(Method::GET, "/v1/functions/runtimes"))
        .await
        .json();
    let keys: Vec<&str> = runtimes["runtimes"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["key"].as_str())
        .collect();
    assert!(
        keys.contains(&"wasi-0.2") && keys.contains(&"javascript-wasi-0.2"),
        "{keys:?}"
    );
    let specs = server
        .send(server.admin(Method::GET, "/v1/functions/specifications"))
        .await
        .json();
    assert!(specs["total"].as_u64().unwrap_or_default() >= 1);
    assert!(specs["specifications"][0]["slug"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_answer_in_the_error_format() {
    let server = TestServer::start().await;
    let reply = server
        .send(server.admin(Method::GET, "/v1/nothing-here"))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_type(), "general_route_not_found");
}
