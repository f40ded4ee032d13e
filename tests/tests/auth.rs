//! The auth matrix over HTTP: projects, API keys and their scopes, tenant isolation, user JWTs
//! against functions' execute roles, and the browser's CORS preflight.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use wafer_e2e::{ADMIN_KEY, Reply, TestServer};

/// A request carrying `secret` as the key of `project`.
fn with_key(
    server: &TestServer,
    project: &str,
    secret: &str,
    method: Method,
    path: &str,
) -> RequestBuilder {
    server
        .http
        .request(method, server.url(path))
        .header("x-appwrite-project", project)
        .header("x-appwrite-key", secret)
}

/// A request of the default project's user holding `jwt`.
fn with_jwt(server: &TestServer, jwt: &str, method: Method, path: &str) -> RequestBuilder {
    server.guest(method, path).header("x-appwrite-jwt", jwt)
}

/// Creates project `id` with the operator's admin key.
async fn create_project(server: &TestServer, id: &str) -> Value {
    let reply = server
        .admin_json(
            Method::POST,
            "/v1/projects",
            json!({"projectId": id, "name": id}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()
}

/// Creates a key of `project` with the operator's admin key and returns its model.
async fn create_key(server: &TestServer, project: &str, scopes: &[&str]) -> Value {
    let path = format!("/v1/projects/{project}/keys");
    let reply = server
        .admin_json(
            Method::POST,
            &path,
            json!({"name": "test key", "scopes": scopes}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()
}

async fn key_secret(server: &TestServer, project: &str, scopes: &[&str]) -> String {
    let key = create_key(server, project, scopes).await;
    key["secret"]
        .as_str()
        .expect("a new key shows its secret")
        .to_owned()
}

/// Mints a JWT for `user` of the default project with the admin key.
async fn mint_jwt(server: &TestServer, user: &str) -> String {
    let path = format!("/v1/users/{user}/jwts");
    let reply = server.admin_json(Method::POST, &path, json!({})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()["jwt"].as_str().expect("a jwt").to_owned()
}

fn assert_error(reply: &Reply, status: StatusCode, kind: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(reply.error_type(), kind, "{}", reply.text());
}

fn executions_path(function_id: &str) -> String {
    format!("/v1/functions/{function_id}/executions")
}

// ----- projects and keys -----

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
async fn a_browser_preflight_is_allowed_with_credentials() {
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
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true")
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
