//! No oracles: a caller without rights in a project learns nothing from the API about whether
//! that project exists.

use crate::auth_support::*;
use reqwest::{Method, RequestBuilder};
use serde_json::json;
use wafer_e2e::{Reply, TestServer};

/// Status, error type and message of a reply: what a caller could compare.
fn observable(reply: &Reply) -> (u16, String, String) {
    let body = reply.json();
    (
        reply.status.as_u16(),
        reply.error_type(),
        body["message"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn same_answer_for_both_projects(
    server: &TestServer,
    request: impl Fn(&str) -> RequestBuilder,
    what: &str,
) {
    let known = server.send(request("tenant")).await;
    let unknown = server.send(request("no-such-project")).await;
    assert!(known.status.is_client_error(), "{what}: {}", known.text());
    assert_eq!(
        observable(&known),
        observable(&unknown),
        "{what}: a known and an unknown project answer differently"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_project_looks_like_a_known_one_to_guests_and_foreign_keys() {
    let server = TestServer::start().await;
    create_project(&server, "tenant").await;
    create_project(&server, "other").await;
    let foreign_key = key_secret(&server, "other", &["functions.read"]).await;
    let guest = |project: &str, method: Method, path: &str| {
        server
            .guest(method, path)
            .header("x-appwrite-project", project.to_owned())
    };

    same_answer_for_both_projects(
        &server,
        |project| guest(project, Method::GET, "/v1/functions"),
        "a guest listing functions",
    )
    .await;
    same_answer_for_both_projects(
        &server,
        |project| guest(project, Method::POST, "/v1/functions/probe/executions").json(&json!({})),
        "a guest executing a function",
    )
    .await;
    same_answer_for_both_projects(
        &server,
        |project| with_key(&server, project, &foreign_key, Method::GET, "/v1/functions"),
        "another project's key",
    )
    .await;
    same_answer_for_both_projects(
        &server,
        |project| with_key(&server, project, "not-a-key", Method::GET, "/v1/functions"),
        "an invalid key",
    )
    .await;
    same_answer_for_both_projects(
        &server,
        |project| guest(project, Method::GET, "/fn/probe/"),
        "a function route",
    )
    .await;
}
