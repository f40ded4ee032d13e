//! Helpers shared by the auth test suites: keys, projects and JWTs over the API.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use wafer_e2e::{Reply, TestServer};

/// A request carrying `secret` as the key of `project`.
pub fn with_key(
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
pub fn with_jwt(server: &TestServer, jwt: &str, method: Method, path: &str) -> RequestBuilder {
    server.guest(method, path).header("x-appwrite-jwt", jwt)
}

/// Creates project `id` with the operator's admin key.
pub async fn create_project(server: &TestServer, id: &str) -> Value {
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
pub async fn create_key(server: &TestServer, project: &str, scopes: &[&str]) -> Value {
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

pub async fn key_secret(server: &TestServer, project: &str, scopes: &[&str]) -> String {
    let key = create_key(server, project, scopes).await;
    key["secret"]
        .as_str()
        .expect("a new key shows its secret")
        .to_owned()
}

/// Mints a JWT for `user` of the default project with the admin key.
pub async fn mint_jwt(server: &TestServer, user: &str) -> String {
    mint_jwt_for(server, user, 900).await
}

/// Mints a JWT for `user` of the default project, valid for `seconds`.
pub async fn mint_jwt_for(server: &TestServer, user: &str, seconds: u64) -> String {
    let path = format!("/v1/users/{user}/jwts");
    let reply = server
        .admin_json(Method::POST, &path, json!({"duration": seconds}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()["jwt"].as_str().expect("a jwt").to_owned()
}

pub fn assert_error(reply: &Reply, status: StatusCode, kind: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(reply.error_type(), kind, "{}", reply.text());
}

pub fn executions_path(function_id: &str) -> String {
    format!("/v1/functions/{function_id}/executions")
}

// ----- projects and keys -----
