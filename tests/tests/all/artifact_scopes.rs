//! A tenant learns nothing of what other tenants uploaded: compiled artifacts are shared only
//! within a project.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wafer_e2e::TestServer;

use crate::auth_support::{create_project, key_secret, with_key};

/// Creates `project` with a key that manages its functions; returns the key's secret.
async fn tenant(server: &TestServer, project: &str) -> String {
    create_project(server, project).await;
    key_secret(server, project, &["functions.read", "functions.write"]).await
}

/// A request with the key `secret` of `project`.
fn as_tenant(
    server: &TestServer,
    (project, secret): (&str, &str),
    method: Method,
    path: &str,
) -> reqwest::RequestBuilder {
    with_key(server, project, secret, method, path)
}

async fn upload_in(server: &TestServer, tenant: (&str, &str), bytes: Vec<u8>) -> Value {
    let create = server
        .send(
            as_tenant(server, tenant, Method::POST, "/v1/functions")
                .json(&json!({"functionId": "same", "name": "same", "runtime": "rust-wasi-0.2"})),
        )
        .await;
    assert_eq!(create.status, StatusCode::CREATED, "{}", create.text());
    let form = reqwest::multipart::Form::new().part(
        "code",
        reqwest::multipart::Part::bytes(bytes).file_name("code.wasm"),
    );
    let upload = server
        .send(
            as_tenant(
                server,
                tenant,
                Method::POST,
                "/v1/functions/same/deployments",
            )
            .multipart(form),
        )
        .await;
    assert_eq!(upload.status, StatusCode::ACCEPTED, "{}", upload.text());
    let id = upload.json()["$id"].as_str().expect("id").to_owned();
    let path = format!("/v1/functions/same/deployments/{id}");
    for _ in 0..600 {
        let deployment = server
            .send(as_tenant(server, tenant, Method::GET, &path))
            .await
            .json();
        if deployment["status"] == "ready" || deployment["status"] == "failed" {
            return deployment;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the build in {} did not finish", tenant.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_uploads_in_two_projects_share_no_artifact_and_say_nothing_of_each_other() {
    let server = TestServer::start().await;
    let first_key = tenant(&server, "first").await;
    let second_key = tenant(&server, "second").await;
    let bytes = wafer_testkit::rust_example_bytes("hello");
    let first = upload_in(&server, ("first", &first_key), bytes.clone()).await;
    let second = upload_in(&server, ("second", &second_key), bytes).await;
    assert_eq!(first["status"], "ready", "{first}");
    assert_eq!(second["status"], "ready", "{second}");
    let log = second["buildLogs"].as_str().unwrap_or_default();
    assert!(
        !log.contains("Reused"),
        "the second tenant's build log reveals the first tenant's upload: {log}"
    );
    let artifact = |deployment: &Value| {
        deployment["buildLogs"]
            .as_str()
            .and_then(|log| log.rsplit("artifact ").next())
            .map(|tail| tail.trim_end_matches('.').to_owned())
            .unwrap_or_default()
    };
    assert_ne!(artifact(&first), artifact(&second));
}
