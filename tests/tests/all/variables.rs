//! Function variables over HTTP: CRUD in Appwrite's shapes, secrets that never come back, and
//! variables reaching the function's environment.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wafer_e2e::{Reply, TestServer};

/// Percent-encodes a query value, as the SDKs do for `queries[0]=…`.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn variables_path(function_id: &str) -> String {
    format!("/v1/functions/{function_id}/variables")
}

fn variable_path(function_id: &str, variable_id: &str) -> String {
    format!("/v1/functions/{function_id}/variables/{variable_id}")
}

async fn create_variable(server: &TestServer, function_id: &str, body: Value) -> Reply {
    server
        .admin_json(Method::POST, &variables_path(function_id), body)
        .await
}

async fn get(server: &TestServer, path: &str) -> Reply {
    server.send(server.admin(Method::GET, path)).await
}

/// Creates a variable that must succeed and returns its model.
async fn created(server: &TestServer, function_id: &str, body: Value) -> Value {
    let reply = create_variable(server, function_id, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_are_created_read_listed_updated_and_deleted() {
    let server = TestServer::start().await;
    server.create_function("crud", &[]).await;

    let variable = created(
        &server,
        "crud",
        json!({"variableId": "greeting", "key": "GREETING", "value": "hello", "secret": false}),
    )
    .await;
    assert_eq!(variable["$id"], "greeting");
    assert_eq!(variable["key"], "GREETING");
    assert_eq!(variable["value"], "hello");
    assert_eq!(variable["secret"], false);
    assert_eq!(variable["resourceType"], "function");
    assert_eq!(variable["resourceId"], "crud");
    for field in ["$createdAt", "$updatedAt"] {
        assert!(
            variable[field].as_str().is_some_and(|d| !d.is_empty()),
            "{variable}"
        );
    }

    let read = get(&server, &variable_path("crud", "greeting")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json(), variable);

    let list = get(&server, &variables_path("crud")).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json(), json!({"total": 1, "variables": [variable]}));

    // A PUT without `value` renames the variable and keeps its value.
    let renamed = server
        .admin_json(
            Method::PUT,
            &variable_path("crud", "greeting"),
            json!({"key": "SALUTATION"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text());
    assert_eq!(renamed.json()["key"], "SALUTATION");
    assert_eq!(renamed.json()["value"], "hello");
    let changed = server
        .admin_json(
            Method::PUT,
            &variable_path("crud", "greeting"),
            json!({"key": "SALUTATION", "value": "bonjour"}),
        )
        .await;
    assert_eq!(changed.json()["value"], "bonjour");

    let deleted = server
        .send(server.admin(Method::DELETE, &variable_path("crud", "greeting")))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(
        deleted
            .header("content-type")
            .is_some_and(|t| !t.contains("json")),
        "a 204 needs a non-JSON content type: {:?}",
        deleted.headers
    );
    let gone = get(&server, &variable_path("crud", "greeting")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.error_type(), "variable_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_id_is_used_when_none_or_unique_is_asked_for() {
    let server = TestServer::start().await;
    server.create_function("ids", &[]).await;
    let first = created(&server, "ids", json!({"key": "A", "value": "1"})).await;
    let second = created(
        &server,
        "ids",
        json!({"variableId": "unique()", "key": "B", "value": "2"}),
    )
    .await;
    for variable in [&first, &second] {
        assert_eq!(
            variable["$id"].as_str().map(str::len),
            Some(20),
            "{variable}"
        );
    }
    assert_ne!(first["$id"], second["$id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_value_is_never_returned() {
    let server = TestServer::start().await;
    server.create_function("secrets", &[]).await;

    // `secret` defaults to true.
    let variable = created(
        &server,
        "secrets",
        json!({"variableId": "token", "key": "TOKEN", "value": "s3cr3t"}),
    )
    .await;
    assert_eq!(variable["secret"], true);
    assert_eq!(variable["value"], "");

    let read = get(&server, &variable_path("secrets", "token"))
        .await
        .json();
    assert_eq!(read["value"], "");
    let list = get(&server, &variables_path("secrets")).await.json();
    assert_eq!(list["variables"][0]["value"], "");
    let function = get(&server, "/v1/functions/secrets").await.json();
    assert_eq!(function["vars"][0]["key"], "TOKEN");
    assert_eq!(function["vars"][0]["value"], "");
    assert_eq!(function["vars"][0]["secret"], true);

    let updated = server
        .admin_json(
            Method::PUT,
            &variable_path("secrets", "token"),
            json!({"key": "TOKEN", "value": "rotated"}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.json()["value"], "");
    assert!(!updated.text().contains("rotated") && !updated.text().contains("s3cr3t"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_cannot_be_made_plain_again() {
    let server = TestServer::start().await;
    server.create_function("unset", &[]).await;
    created(
        &server,
        "unset",
        json!({"variableId": "plain", "key": "PLAIN", "value": "v", "secret": false}),
    )
    .await;

    let path = variable_path("unset", "plain");
    let made_secret = server
        .admin_json(Method::PUT, &path, json!({"key": "PLAIN", "secret": true}))
        .await;
    assert_eq!(made_secret.status, StatusCode::OK);
    assert_eq!(made_secret.json()["secret"], true);
    assert_eq!(made_secret.json()["value"], "");

    let unset = server
        .admin_json(Method::PUT, &path, json!({"key": "PLAIN", "secret": false}))
        .await;
    assert_eq!(unset.status, StatusCode::BAD_REQUEST);
    assert_eq!(unset.error_type(), "variable_cannot_unset_secret");
    assert_eq!(get(&server, &path).await.json()["secret"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_key_is_a_conflict() {
    let server = TestServer::start().await;
    server.create_function("dupes", &[]).await;
    created(&server, "dupes", json!({"key": "SAME", "value": "1"})).await;
    let other = created(
        &server,
        "dupes",
        json!({"variableId": "other", "key": "OTHER", "value": "2"}),
    )
    .await;

    let again = create_variable(&server, "dupes", json!({"key": "SAME", "value": "3"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.error_type(), "variable_already_exists");

    let renamed = server
        .admin_json(
            Method::PUT,
            &variable_path("dupes", "other"),
            json!({"key": "SAME"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::CONFLICT);
    assert_eq!(renamed.error_type(), "variable_already_exists");
    assert_eq!(
        get(&server, &variable_path("dupes", "other")).await.json(),
        other
    );

    // Keys are per function: another function may use the same one.
    server.create_function("dupes-too", &[]).await;
    created(&server, "dupes-too", json!({"key": "SAME", "value": "4"})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_variables_and_functions_are_not_found() {
    let server = TestServer::start().await;
    server.create_function("known", &[]).await;

    for (method, body) in [
        (Method::GET, None),
        (Method::PUT, Some(json!({"key": "K"}))),
        (Method::DELETE, None),
    ] {
        let mut request = server.admin(method.clone(), &variable_path("known", "missing"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = server.send(request).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method}");
        assert_eq!(reply.error_type(), "variable_not_found", "{method}");
    }

    let list = get(&server, &variables_path("nowhere")).await;
    assert_eq!(list.status, StatusCode::NOT_FOUND);
    assert_eq!(list.error_type(), "function_not_found");
    let create = create_variable(&server, "nowhere", json!({"key": "K", "value": "v"})).await;
    assert_eq!(create.status, StatusCode::NOT_FOUND);
    assert_eq!(create.error_type(), "function_not_found");

    // A variable is only found under its own function.
    created(
        &server,
        "known",
        json!({"variableId": "mine", "key": "K", "value": "v"}),
    )
    .await;
    server.create_function("stranger", &[]).await;
    let elsewhere = get(&server, &variable_path("stranger", "mine")).await;
    assert_eq!(elsewhere.error_type(), "variable_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_variables_are_refused() {
    let server = TestServer::start().await;
    server.create_function("invalid", &[]).await;
    let long_key = "K".repeat(256);
    let long_value = "v".repeat(8193);
    for body in [
        json!({"value": "no key"}),
        json!({"key": "", "value": "empty key"}),
        json!({"key": long_key, "value": "v"}),
        json!({"key": "NO_VALUE"}),
        json!({"key": "LONG", "value": long_value}),
        json!({"variableId": "-bad", "key": "ID", "value": "v"}),
        json!({"key": "TYPE", "value": "v", "secret": "yes"}),
    ] {
        let reply = create_variable(&server, "invalid", body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.error_type(), "general_argument_invalid", "{body}");
    }
    // The limits themselves are allowed, and so is an empty value.
    created(
        &server,
        "invalid",
        json!({"key": "K".repeat(255), "value": "v".repeat(8192)}),
    )
    .await;
    created(&server, "invalid", json!({"key": "EMPTY", "value": ""})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_can_be_filtered_with_queries() {
    let server = TestServer::start().await;
    server.create_function("queried", &[]).await;
    created(&server, "queried", json!({"key": "HIDDEN", "value": "1"})).await;
    created(
        &server,
        "queried",
        json!({"key": "SHOWN_A", "value": "2", "secret": false}),
    )
    .await;
    created(
        &server,
        "queried",
        json!({"key": "SHOWN_B", "value": "3", "secret": false}),
    )
    .await;

    let plain = json!({"method": "equal", "attribute": "secret", "values": [false]}).to_string();
    let path = format!(
        "{}?queries%5B0%5D={}",
        variables_path("queried"),
        url_encode(&plain)
    );
    let reply = get(&server, &path).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let list = reply.json();
    assert_eq!(list["total"], 2);
    let keys: Vec<&str> = list["variables"]
        .as_array()
        .expect("variables array")
        .iter()
        .filter_map(|v| v["key"].as_str())
        .collect();
    assert_eq!(keys, ["SHOWN_A", "SHOWN_B"]);

    let by_key = json!({"method": "equal", "attribute": "key", "values": ["HIDDEN"]}).to_string();
    let limit = json!({"method": "limit", "values": [1]}).to_string();
    let path = format!(
        "{}?queries[0]={}&queries[1]={}",
        variables_path("queried"),
        url_encode(&by_key),
        url_encode(&limit)
    );
    let list = get(&server, &path).await.json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["variables"][0]["key"], "HIDDEN");

    let bad = json!({"method": "equal", "attribute": "value", "values": ["1"]}).to_string();
    let path = format!(
        "{}?queries[0]={}",
        variables_path("queried"),
        url_encode(&bad)
    );
    let reply = get(&server, &path).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_type(), "general_query_invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_sees_its_variables_in_its_environment() {
    let server = TestServer::start().await;
    server.deploy_example("envy", "env", &[]).await;
    created(
        &server,
        "envy",
        json!({"key": "PLAIN", "value": "visible", "secret": false}),
    )
    .await;
    created(
        &server,
        "envy",
        json!({"key": "SECRET", "value": "hidden-from-the-api"}),
    )
    .await;
    created(
        &server,
        "envy",
        json!({"key": "APPWRITE_FUNCTION_ID", "value": "spoofed"}),
    )
    .await;

    let reply = server.execute("envy", json!({})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let execution = reply.json();
    assert_eq!(execution["status"], "completed", "{execution}");
    let body: Value = serde_json::from_str(execution["responseBody"].as_str().unwrap_or_default())
        .unwrap_or_else(|error| panic!("responseBody is not JSON ({error}): {execution}"));
    let env = &body["env"];
    assert_eq!(env["PLAIN"], "visible", "{body}");
    // Secret values are hidden from the API, not from the function.
    assert_eq!(env["SECRET"], "hidden-from-the-api", "{body}");
    // The platform's own variables win over a user variable of the same name.
    assert_eq!(env["APPWRITE_FUNCTION_ID"], "envy", "{body}");
    assert_eq!(body["functionId"], "envy");
    assert_eq!(env["APPWRITE_FUNCTION_PROJECT_ID"], "default", "{body}");

    // A changed value reaches the next run.
    let list = get(&server, &variables_path("envy")).await.json();
    let plain_id = list["variables"]
        .as_array()
        .and_then(|all| all.iter().find(|v| v["key"] == "PLAIN"))
        .and_then(|v| v["$id"].as_str())
        .expect("the PLAIN variable is listed")
        .to_owned();
    server
        .admin_json(
            Method::PUT,
            &variable_path("envy", &plain_id),
            json!({"key": "PLAIN", "value": "changed"}),
        )
        .await;
    let execution = server.execute("envy", json!({})).await.json();
    let body: Value = serde_json::from_str(execution["responseBody"].as_str().unwrap_or_default())
        .expect("responseBody is JSON");
    assert_eq!(body["env"]["PLAIN"], "changed", "{body}");
}
