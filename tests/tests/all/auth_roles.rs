//! User JWTs against functions' execute roles, guests, and the browser's CORS preflight.

use crate::auth_support::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use wafer_e2e::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minting_a_jwt_needs_users_write_and_lasts_at_most_an_hour() {
    let server = TestServer::start().await;
    let reader = key_secret(&server, "default", &["functions.read"]).await;
    let refused = server
        .send(
            with_key(
                &server,
                "default",
                &reader,
                Method::POST,
                "/v1/users/u1/jwts",
            )
            .json(&json!({})),
        )
        .await;
    assert_error(
        &refused,
        StatusCode::UNAUTHORIZED,
        "general_unauthorized_scope",
    );
    let too_long = server
        .admin_json(Method::POST, "/v1/users/u1/jwts", json!({"duration": 3601}))
        .await;
    assert_error(
        &too_long,
        StatusCode::BAD_REQUEST,
        "general_argument_invalid",
    );
    let hour = server
        .admin_json(
            Method::POST,
            "/v1/users/u1/jwts",
            json!({"sessionId": "s", "duration": 3600}),
        )
        .await;
    assert_eq!(hour.status, StatusCode::CREATED, "{}", hour.text());
    assert!(
        hour.json()["jwt"]
            .as_str()
            .is_some_and(|jwt| jwt.split('.').count() == 3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_executes_functions_open_to_users_and_sees_no_logs() {
    let server = TestServer::start().await;
    server
        .deploy_example("for-users", "hello", &["users"])
        .await;
    let jwt = mint_jwt(&server, "u1").await;

    let reply = server
        .send(with_jwt(&server, &jwt, Method::POST, &executions_path("for-users")).json(&json!({})))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let execution = reply.json();
    assert_eq!(execution["status"], "completed", "{execution}");
    assert_eq!(execution["logs"], "");
    assert_eq!(execution["errors"], "");
    assert_eq!(execution["$permissions"], json!(["read(\"user:u1\")"]));

    // The admin key sees what the user may not.
    let path = format!(
        "{}/{}",
        executions_path("for-users"),
        execution["$id"].as_str().unwrap_or_default()
    );
    let as_admin = server.send(server.admin(Method::GET, &path)).await.json();
    assert!(
        as_admin["logs"]
            .as_str()
            .is_some_and(|logs| logs.contains("Hello, Logs!")),
        "{as_admin}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_is_refused_a_function_open_to_another_user() {
    let server = TestServer::start().await;
    server.create_function("for-u2", &["user:u2"]).await;
    let jwt = mint_jwt(&server, "u1").await;
    let reply = server
        .send(with_jwt(&server, &jwt, Method::POST, &executions_path("for-u2")).json(&json!({})))
        .await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, "user_unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_jwt_is_invalid() {
    let server = TestServer::start().await;
    server.create_function("for-all-users", &["users"]).await;
    let jwt = mint_jwt(&server, "u1").await;
    // Change the first character of the signature (every bit of it counts, unlike the last).
    let signature_at = jwt.rfind('.').expect("a JWT has three parts") + 1;
    let replacement = if jwt[signature_at..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    let mut tampered = jwt.clone();
    tampered.replace_range(signature_at..=signature_at, replacement);
    for token in [tampered.as_str(), "not-a-jwt"] {
        let reply = server
            .send(
                with_jwt(
                    &server,
                    token,
                    Method::POST,
                    &executions_path("for-all-users"),
                )
                .json(&json!({})),
            )
            .await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "user_jwt_invalid");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_of_another_project_is_invalid() {
    let server = TestServer::start().await;
    create_project(&server, "other").await;
    let jwt = mint_jwt(&server, "u1").await;
    let reply = server
        .send(
            server
                .http
                .get(server.url("/v1/functions/x/executions"))
                .header("x-appwrite-project", "other")
                .header("x-appwrite-jwt", &jwt),
        )
        .await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, "user_jwt_invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_execute_only_functions_open_to_any() {
    let server = TestServer::start().await;
    server.deploy_example("public", "hello", &["any"]).await;
    server.create_function("closed", &[]).await;

    let open = server
        .send(
            server
                .guest(Method::POST, &executions_path("public"))
                .json(&json!({})),
        )
        .await;
    assert_eq!(open.status, StatusCode::CREATED, "{}", open.text());
    assert_eq!(open.json()["logs"], "");
    let closed = server
        .send(
            server
                .guest(Method::POST, &executions_path("closed"))
                .json(&json!({})),
        )
        .await;
    assert_error(&closed, StatusCode::UNAUTHORIZED, "user_unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_lists_only_their_own_executions() {
    let server = TestServer::start().await;
    server.deploy_example("shared", "hello", &["users"]).await;
    let admin_run = server.execute("shared", json!({})).await;
    assert_eq!(
        admin_run.status,
        StatusCode::CREATED,
        "{}",
        admin_run.text()
    );
    let u1 = mint_jwt(&server, "u1").await;
    let u2 = mint_jwt(&server, "u2").await;
    let user_run = server
        .send(with_jwt(&server, &u1, Method::POST, &executions_path("shared")).json(&json!({})))
        .await;
    assert_eq!(user_run.status, StatusCode::CREATED, "{}", user_run.text());
    let user_run_id = user_run.json()["$id"].clone();

    let mine = server
        .send(with_jwt(
            &server,
            &u1,
            Method::GET,
            &executions_path("shared"),
        ))
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text());
    let mine = mine.json();
    assert_eq!(mine["total"], 1, "{mine}");
    assert_eq!(mine["executions"][0]["$id"], user_run_id);
    assert_eq!(
        mine["executions"][0]["$permissions"],
        json!(["read(\"user:u1\")"])
    );

    let theirs = server
        .send(with_jwt(
            &server,
            &u2,
            Method::GET,
            &executions_path("shared"),
        ))
        .await
        .json();
    assert_eq!(theirs["total"], 0, "{theirs}");
    let all = server
        .send(server.admin(Method::GET, &executions_path("shared")))
        .await
        .json();
    assert_eq!(all["total"], 2, "{all}");
}

// ----- browsers -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_preflight_from_any_origin_is_allowed_without_credentials() {
    let server = TestServer::start().await;
    let reply = server
        .send(
            server
                .http
                .request(Method::OPTIONS, server.url("/v1/functions/f/executions"))
                .header("origin", "http://localhost:3000")
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "x-appwrite-project,content-type,x-sdk-version",
                ),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.status);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        None,
        "an arbitrary origin is never allowed credentials"
    );
    let allowed = reply
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for header in ["x-appwrite-project", "content-type", "x-sdk-version"] {
        assert!(allowed.contains(header), "{header} not in {allowed:?}");
    }
    let methods = reply
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(methods.contains("POST"), "{methods:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_origins_the_operator_trusts_are_allowed_credentials() {
    let server = TestServer::start_with(|config| {
        config.cors_allowed_origins = vec![reqwest::header::HeaderValue::from_static(
            "https://app.example.com",
        )];
    })
    .await;
    let preflight = |origin: &'static str| {
        server
            .http
            .request(Method::OPTIONS, server.url("/v1/functions"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
    };
    let trusted = server.send(preflight("https://app.example.com")).await;
    assert_eq!(
        trusted.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        trusted.header("access-control-allow-credentials"),
        Some("true")
    );
    let stranger = server.send(preflight("https://evil.example")).await;
    assert_eq!(
        stranger.header("access-control-allow-origin"),
        None,
        "an origin the operator did not name is not allowed"
    );
}
