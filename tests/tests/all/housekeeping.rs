//! Nothing a tenant leaves behind stays for ever: execution records past their retention,
//! abandoned chunked uploads, failed builds' sources and uploads whose deployment is gone.

use std::time::Duration;

use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wafer_e2e::{TestServer, eventually};

async fn executions_total(server: &TestServer, function_id: &str) -> u64 {
    let path = format!("/v1/functions/{function_id}/executions");
    let page: Value = server.send(server.admin(Method::GET, &path)).await.json();
    page["total"].as_u64().expect("total")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_newest_executions_of_a_function_are_kept() {
    let server = TestServer::start_with(|config| {
        config.retention.executions_per_function = Some(2);
        config.retention.interval = Duration::from_millis(200);
    })
    .await;
    server.deploy_example("hello", "hello", &[]).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let reply = server.execute("hello", json!({"method": "GET"})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        ids.push(reply.json()["$id"].as_str().expect("id").to_owned());
    }
    eventually("trimming to two records", || async {
        executions_total(&server, "hello").await == 2
    })
    .await;
    let newest = server.get_execution("hello", &ids[4]).await;
    assert_eq!(newest.status, StatusCode::OK, "the newest record stays");
    let oldest = server.get_execution("hello", &ids[0]).await;
    assert_eq!(
        oldest.status,
        StatusCode::NOT_FOUND,
        "the oldest record goes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_past_their_retention_age_are_deleted() {
    let server = TestServer::start_with(|config| {
        config.retention.execution_max_age = Some(Duration::from_millis(500));
        config.retention.interval = Duration::from_millis(200);
    })
    .await;
    server.deploy_example("hello", "hello", &[]).await;
    let reply = server.execute("hello", json!({"method": "GET"})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    eventually("deleting the expired record", || async {
        executions_total(&server, "hello").await == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_uploads_failed_sources_and_orphans_are_removed() {
    let server = TestServer::start_with(|config| {
        config.retention.abandoned_upload_age = Duration::from_secs(1);
        config.retention.failed_source_age = Duration::from_secs(1);
        config.retention.interval = Duration::from_millis(200);
    })
    .await;
    server.create_function("leftovers", &[]).await;
    let uploads = server.data_dir().join("uploads");

    // The first of two chunks, and nothing more.
    const CHUNK: usize = 5 << 20;
    let form = Form::new().part("code", Part::bytes(vec![7u8; CHUNK]).file_name("code.wasm"));
    let chunk = server
        .send(
            server
                .admin(Method::POST, "/v1/functions/leftovers/deployments")
                .header(
                    "content-range",
                    format!("bytes 0-{}/{}", CHUNK - 1, CHUNK + 1024),
                )
                .multipart(form),
        )
        .await;
    assert_eq!(chunk.status, StatusCode::ACCEPTED, "{}", chunk.text());
    let abandoned = chunk.json()["$id"].as_str().expect("id").to_owned();
    assert!(uploads.join(&abandoned).is_dir());

    // A build that fails: these bytes are no component.
    let failed = server
        .upload("leftovers", b"not a component".to_vec(), false)
        .await;
    assert_eq!(failed.status, StatusCode::ACCEPTED, "{}", failed.text());
    let failed = failed.json()["$id"].as_str().expect("id").to_owned();
    let built = server.wait_for_build("leftovers", &failed).await;
    assert_eq!(built["status"], "failed", "{built}");

    // An upload directory whose deployment does not exist.
    let orphan = uploads.join("orphaned-upload");
    std::fs::create_dir_all(&orphan).expect("orphan dir");

    eventually("removing every leftover", || async {
        !uploads.join(&abandoned).exists() && !uploads.join(&failed).exists() && !orphan.exists()
    })
    .await;
    let gone = server
        .send(server.admin(
            Method::GET,
            &format!("/v1/functions/leftovers/deployments/{abandoned}"),
        ))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text());
    let kept = server
        .send(server.admin(
            Method::GET,
            &format!("/v1/functions/leftovers/deployments/{failed}"),
        ))
        .await;
    assert_eq!(
        kept.status,
        StatusCode::OK,
        "a failed build keeps its record and log"
    );
    assert_eq!(kept.json()["status"], "failed");
}

fn artifact_files(server: &TestServer, artifact: &str) -> usize {
    std::fs::read_dir(server.data_dir().join("artifacts"))
        .expect("artifacts dir")
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(artifact))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_function_removes_its_uploads_at_once_and_its_artifacts_soon_after() {
    let server = TestServer::start_with(|config| {
        config.retention.unused_artifact_age = Duration::ZERO;
        config.retention.interval = Duration::from_millis(200);
    })
    .await;
    let deployment = server.deploy_example("doomed", "hello", &["any"]).await;
    let deployment_id = deployment["$id"].as_str().expect("id").to_owned();
    let upload = server.data_dir().join("uploads").join(&deployment_id);
    assert!(
        upload.is_dir(),
        "the upload is kept while the deployment lives"
    );
    let artifact = server
        .send(server.admin(
            Method::GET,
            &format!("/v1/functions/doomed/deployments/{deployment_id}"),
        ))
        .await
        .json()["buildLogs"]
        .as_str()
        .and_then(|log| log.rsplit("artifact ").next())
        .map(|tail| tail.trim_end_matches('.').to_owned())
        .expect("the build log names the artifact");
    assert!(artifact_files(&server, &artifact) > 0, "{artifact}");

    let deleted = server
        .send(server.admin(Method::DELETE, "/v1/functions/doomed"))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text());
    assert!(!upload.exists(), "the upload goes with the function");
    eventually("removing the unused artifact", || async {
        artifact_files(&server, &artifact) == 0
    })
    .await;
}
