//! Projects, API keys and their scopes over HTTP: which key reaches which project and route.

use crate::auth_support::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use wafer_e2e::{ADMIN_KEY, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_project_header_is_project_not_found() {
    let server = TestServer::start().await;
    let reply = server
        .send(with_key(
            &server,
            "nowhere",
            ADMIN_KEY,
            Method::GET,
            "/v1/functions",
        ))
        .await;
    assert_error(&reply, StatusCode::NOT_FOUND, "project_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_of_one_project_is_refused_for_another_project() {
    let server = TestServer::start().await;
    create_project(&server, "tenant").await;
    let tenant_key = key_secret(&server, "tenant", &["functions.read"]).await;

    let tenant_key_on_default = server
        .send(with_key(
            &server,
            "default",
            &tenant_key,
            Method::GET,
            "/v1/functions",
        ))
        .await;
    assert_error(
        &tenant_key_on_default,
        StatusCode::UNAUTHORIZED,
        "user_unauthorized",
    );
    let admin_key_on_tenant = server
        .send(with_key(
            &server,
            "tenant",
            ADMIN_KEY,
            Method::GET,
            "/v1/functions",
        ))
        .await;
    assert_error(
        &admin_key_on_tenant,
        StatusCode::UNAUTHORIZED,
        "user_unauthorized",
    );
    let tenant_key_on_tenant = server
        .send(with_key(
            &server,
            "tenant",
            &tenant_key,
            Method::GET,
            "/v1/functions",
        ))
        .await;
    assert_eq!(tenant_key_on_tenant.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_needs_functions_write_to_create_and_functions_read_to_list() {
    let server = TestServer::start().await;
    let reader = key_secret(&server, "default", &["functions.read"]).await;
    let function = json!({"functionId": "f", "name": "f", "runtime": "rust-wasi-0.2"});

    let create = server
        .send(with_key(&server, "default", &reader, Method::POST, "/v1/functions").json(&function))
        .await;
    assert_error(
        &create,
        StatusCode::UNAUTHORIZED,
        "general_unauthorized_scope",
    );
    let list = server
        .send(with_key(
            &server,
            "default",
            &reader,
            Method::GET,
            "/v1/functions",
        ))
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());

    let executor = key_secret(&server, "default", &["execution.write"]).await;
    let list = server
        .send(with_key(
            &server,
            "default",
            &executor,
            Method::GET,
            "/v1/functions",
        ))
        .await;
    assert_error(
        &list,
        StatusCode::UNAUTHORIZED,
        "general_unauthorized_scope",
    );
    let variables = server
        .send(
            with_key(
                &server,
                "default",
                &reader,
                Method::POST,
                "/v1/functions/f/variables",
            )
            .json(&json!({"key": "K", "value": "v"})),
        )
        .await;
    assert_error(
        &variables,
        StatusCode::UNAUTHORIZED,
        "general_unauthorized_scope",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cannot_list_functions() {
    let server = TestServer::start().await;
    let reply = server
        .send(server.guest(Method::GET, "/v1/functions"))
        .await;
    assert_error(
        &reply,
        StatusCode::UNAUTHORIZED,
        "general_unauthorized_scope",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_of_another_project_never_sees_this_projects_functions() {
    let server = TestServer::start().await;
    server.create_function("private", &["any"]).await;
    create_project(&server, "project-b").await;
    let b_key = key_secret(&server, "project-b", &["functions.read", "functions.write"]).await;

    let list = server
        .send(with_key(
            &server,
            "project-b",
            &b_key,
            Method::GET,
            "/v1/functions",
        ))
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json()["total"], 0);
    assert_eq!(list.json()["functions"], json!([]));
    let read = server
        .send(with_key(
            &server,
            "project-b",
            &b_key,
            Method::GET,
            "/v1/functions/private",
        ))
        .await;
    assert_error(&read, StatusCode::NOT_FOUND, "function_not_found");

    // The same id is free in project B, and A's function is untouched by B's.
    let create = server
        .send(
            with_key(&server, "project-b", &b_key, Method::POST, "/v1/functions").json(&json!({
                "functionId": "private", "name": "b's own", "runtime": "rust-wasi-0.2"
            })),
        )
        .await;
    assert_eq!(create.status, StatusCode::CREATED, "{}", create.text());
    let a_view = server
        .send(server.admin(Method::GET, "/v1/functions/private"))
        .await;
    assert_eq!(a_view.json()["name"], "private");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standard_prefixed_key_works() {
    let server = TestServer::start().await;
    let secret = key_secret(&server, "default", &["functions.read"]).await;
    for key in [
        format!("standard_{secret}"),
        format!("standard_{ADMIN_KEY}"),
    ] {
        let reply = server
            .send(with_key(
                &server,
                "default",
                &key,
                Method::GET,
                "/v1/functions",
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_shows_its_secret_once_and_stops_working_when_deleted() {
    let server = TestServer::start().await;
    let key = create_key(&server, "default", &["functions.read", "execution.read"]).await;
    let secret = key["secret"].as_str().expect("secret").to_owned();
    assert_eq!(secret.len(), 64, "{key}");
    assert_eq!(key["name"], "test key");
    assert_eq!(key["scopes"], json!(["functions.read", "executions.read"]));
    assert_eq!(key["expire"], "");
    assert_eq!(key["accessedAt"], "");
    assert_eq!(key["sdks"], json!([]));
    let key_id = key["$id"].as_str().expect("key id").to_owned();

    let list = server
        .send(server.admin(Method::GET, "/v1/projects/default/keys"))
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.json();
    assert_eq!(list["total"], 2, "the admin key and the new one: {list}");
    assert!(
        !list.to_string().contains(&secret),
        "a listed key hides its secret"
    );
    assert!(
        list["keys"]
            .as_array()
            .is_some_and(|keys| keys.iter().any(|k| k["$id"] == key_id))
    );

    let works = server
        .send(with_key(
            &server,
            "default",
            &secret,
            Method::GET,
            "/v1/functions",
        ))
        .await;
    assert_eq!(works.status, StatusCode::OK);
    let deleted = server
        .send(server.admin(
            Method::DELETE,
            &format!("/v1/projects/default/keys/{key_id}"),
        ))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let refused = server
        .send(with_key(
            &server,
            "default",
            &secret,
            Method::GET,
            "/v1/functions",
        ))
        .await;
    assert_error(&refused, StatusCode::UNAUTHORIZED, "user_unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_scopes_and_bad_expiry_dates_are_refused() {
    let server = TestServer::start().await;
    let unknown = server
        .admin_json(
            Method::POST,
            "/v1/projects/default/keys",
            json!({"name": "k", "scopes": ["functions.read", "databases.write"]}),
        )
        .await;
    assert_error(
        &unknown,
        StatusCode::BAD_REQUEST,
        "general_argument_invalid",
    );
    assert!(
        unknown.text().contains("functions.write"),
        "lists the valid scopes: {}",
        unknown.text()
    );
    let bad_date = server
        .admin_json(
            Method::POST,
            "/v1/projects/default/keys",
            json!({"name": "k", "scopes": [], "expire": "next tuesday"}),
        )
        .await;
    assert_error(
        &bad_date,
        StatusCode::BAD_REQUEST,
        "general_argument_invalid",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_key_is_refused() {
    let server = TestServer::start().await;
    let expired = server
        .admin_json(
            Method::POST,
            "/v1/projects/default/keys",
            json!({"name": "old", "scopes": ["functions.read"], "expire": "2000-01-01T00:00:00.000+00:00"}),
        )
        .await;
    assert_eq!(expired.status, StatusCode::CREATED, "{}", expired.text());
    assert_eq!(expired.json()["expire"], "2000-01-01T00:00:00.000+00:00");
    let secret = expired.json()["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let reply = server
        .send(with_key(
            &server,
            "default",
            &secret,
            Method::GET,
            "/v1/functions",
        ))
        .await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, "user_unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_operator_creates_projects_and_a_tenant_manages_only_its_own_keys() {
    let server = TestServer::start().await;
    let project = create_project(&server, "acme").await;
    assert_eq!(project["$id"], "acme");
    assert_eq!(project["name"], "acme");
    let read = server
        .send(server.admin(Method::GET, "/v1/projects/acme"))
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json()["$id"], "acme");
    let again = server
        .admin_json(
            Method::POST,
            "/v1/projects",
            json!({"projectId": "acme", "name": "x"}),
        )
        .await;
    assert_error(&again, StatusCode::CONFLICT, "project_already_exists");
    let missing = server
        .admin_json(
            Method::POST,
            "/v1/projects/ghost/keys",
            json!({"name": "k", "scopes": []}),
        )
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "project_not_found");

    let tenant = key_secret(
        &server,
        "acme",
        &["keys.read", "keys.write", "functions.read"],
    )
    .await;
    let as_tenant = |method: Method, path: &str| with_key(&server, "acme", &tenant, method, path);
    let new_project = server
        .send(
            as_tenant(Method::POST, "/v1/projects").json(&json!({"projectId": "p2", "name": "p2"})),
        )
        .await;
    assert_error(
        &new_project,
        StatusCode::UNAUTHORIZED,
        "general_unauthorized_scope",
    );
    let operator_keys = server
        .send(
            as_tenant(Method::POST, "/v1/projects/default/keys")
                .json(&json!({"name": "steal", "scopes": ["functions.write"]})),
        )
        .await;
    assert_error(
        &operator_keys,
        StatusCode::UNAUTHORIZED,
        "general_unauthorized_scope",
    );
    let operator_list = server
        .send(as_tenant(Method::GET, "/v1/projects/default/keys"))
        .await;
    assert_error(
        &operator_list,
        StatusCode::UNAUTHORIZED,
        "general_unauthorized_scope",
    );
    let own = server
        .send(
            as_tenant(Method::POST, "/v1/projects/acme/keys")
                .json(&json!({"name": "own", "scopes": ["functions.read"]})),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.text());
    let escalation = server
        .send(
            as_tenant(Method::POST, "/v1/projects/acme/keys")
                .json(&json!({"name": "more", "scopes": ["functions.write"]})),
        )
        .await;
    assert_error(
        &escalation,
        StatusCode::UNAUTHORIZED,
        "general_unauthorized_scope",
    );
    let own_list = server
        .send(as_tenant(Method::GET, "/v1/projects/acme/keys"))
        .await;
    assert_eq!(own_list.json()["total"], 2);
}

// ----- user JWTs and execute roles -----
