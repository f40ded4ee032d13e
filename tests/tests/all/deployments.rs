//! Deployments over HTTP: uploads in one request and in out-of-order concurrent chunks, builds
//! to `ready` or `failed` with a log the user can act on, listing, downloading and deleting.

use std::io::Write;

use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::json;
use wafer_e2e::{Reply, TestServer};

/// The chunk size the SDKs cut uploads into.
const CHUNK: usize = 5 * 1024 * 1024;

fn deployments_path(function_id: &str) -> String {
    format!("/v1/functions/{function_id}/deployments")
}

fn id_of(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text());
    reply.json()["$id"]
        .as_str()
        .expect("a deployment id")
        .to_owned()
}

/// A .tar.gz holding `files` (path, bytes).
fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gzip);
    for (path, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, *bytes)
            .expect("a tar entry");
    }
    let mut gzip = tar.into_inner().expect("the tar stream");
    gzip.flush().expect("flushed");
    gzip.finish().expect("the gzip stream")
}

/// Bytes gzip cannot shrink (xorshift64), so an archive of them spans several chunks.
fn incompressible(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// Sends chunk `index` of `file` as the SDKs do: fixed 5 MiB chunks, the form repeated.
async fn send_chunk(
    server: &TestServer,
    function_id: &str,
    file: &[u8],
    index: usize,
    upload_id: Option<&str>,
) -> Reply {
    let start = index * CHUNK;
    let end = (start + CHUNK).min(file.len());
    let form = Form::new()
        .part(
            "code",
            Part::bytes(file[start..end].to_vec()).file_name("code.tar.gz"),
        )
        .text("activate", "true")
        .text("entrypoint", "dist/hello.wasm");
    let range = format!("bytes {start}-{}/{}", end - 1, file.len());
    let mut request = server
        .admin(Method::POST, &deployments_path(function_id))
        .header("content-range", range)
        .multipart(form);
    if let Some(id) = upload_id {
        request = request.header("x-appwrite-id", id);
    }
    server.send(request).await
}

async fn function_json(server: &TestServer, function_id: &str) -> serde_json::Value {
    let path = format!("/v1/functions/{function_id}");
    server.send(server.admin(Method::GET, &path)).await.json()
}

async fn download(server: &TestServer, function_id: &str, id: &str, kind: &str) -> Reply {
    let path = format!(
        "{}/{id}/download?type={kind}",
        deployments_path(function_id)
    );
    server.send(server.admin(Method::GET, &path)).await
}

/// Percent-encodes a query-string value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_upload_builds_to_ready_and_becomes_the_active_deployment() {
    let server = TestServer::start().await;
    server.create_function("single", &["any"]).await;
    let wasm = wafer_testkit::rust_example_bytes("hello");
    let reply = server.upload("single", wasm.clone(), true).await;
    let id = id_of(&reply);
    assert!(
        ["processing", "building"].contains(&reply.json()["status"].as_str().unwrap_or_default()),
        "{}",
        reply.text()
    );

    let deployment = server.wait_for_build("single", &id).await;
    assert_eq!(deployment["status"], "ready", "{deployment}");
    assert_eq!(deployment["buildSize"], wasm.len());
    assert_eq!(deployment["sourceSize"], wasm.len());
    assert_eq!(deployment["totalSize"], 2 * wasm.len());
    assert!(
        deployment["buildLogs"]
            .as_str()
            .unwrap_or_default()
            .contains("component")
    );
    assert_eq!(function_json(&server, "single").await["deploymentId"], id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_not_activated_leaves_the_function_without_deployment_until_patched() {
    let server = TestServer::start().await;
    server.create_function("later", &["any"]).await;
    let reply = server
        .upload("later", wafer_testkit::rust_example_bytes("hello"), false)
        .await;
    let id = id_of(&reply);
    assert_eq!(server.wait_for_build("later", &id).await["status"], "ready");
    assert_eq!(function_json(&server, "later").await["deploymentId"], "");

    let body = json!({"deploymentId": id});
    let reply = server
        .admin_json(Method::PATCH, "/v1/functions/later/deployment", body)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["deploymentId"], id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_core_module_fails_with_a_log_saying_it_is_a_core_webassembly_module() {
    let server = TestServer::start().await;
    server.create_function("core", &["any"]).await;
    let id = id_of(
        &server
            .upload("core", b"\0asm\x01\0\0\0".to_vec(), true)
            .await,
    );
    let deployment = server.wait_for_build("core", &id).await;
    assert_eq!(deployment["status"], "failed");
    let logs = deployment["buildLogs"].as_str().unwrap_or_default();
    assert!(logs.contains("core WebAssembly module"), "{logs}");
    assert_eq!(function_json(&server, "core").await["deploymentId"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_of_another_world_fails_saying_it_exports_neither_handler() {
    let server = TestServer::start().await;
    server.create_function("wrong", &["any"]).await;
    let bytes = wafer_testkit::rust_example_bytes("wrong-world");
    let id = id_of(&server.upload("wrong", bytes, true).await);
    let deployment = server.wait_for_build("wrong", &id).await;
    assert_eq!(deployment["status"], "failed");
    let logs = deployment["buildLogs"].as_str().unwrap_or_default();
    assert!(logs.contains("exports neither the wafer handler"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tar_gz_with_the_component_at_its_entrypoint_builds() {
    let server = TestServer::start().await;
    server.create_function("archive", &["any"]).await;
    let wasm = wafer_testkit::rust_example_bytes("hello");
    let other = wafer_testkit::rust_example_bytes("echo");
    let archive = tar_gz(&[
        ("README.md", b"a readme"),
        ("dist/echo.wasm", &other),
        ("dist/hello.wasm", &wasm),
    ]);
    let form = Form::new()
        .part(
            "code",
            Part::bytes(archive.clone()).file_name("code.tar.gz"),
        )
        .text("activate", "true")
        .text("entrypoint", "dist/hello.wasm");
    let reply = server
        .send(
            server
                .admin(Method::POST, &deployments_path("archive"))
                .multipart(form),
        )
        .await;
    let id = id_of(&reply);
    let deployment = server.wait_for_build("archive", &id).await;
    assert_eq!(deployment["status"], "ready", "{deployment}");
    assert_eq!(deployment["entrypoint"], "dist/hello.wasm");
    assert_eq!(deployment["sourceSize"], archive.len());
    assert_eq!(deployment["buildSize"], wasm.len());
    assert_eq!(download(&server, "archive", &id, "output").await.body, wasm);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_of_several_components_without_entrypoint_fails_naming_them() {
    let server = TestServer::start().await;
    server.create_function("several", &["any"]).await;
    let wasm = wafer_testkit::rust_example_bytes("hello");
    let archive = tar_gz(&[("a.wasm", &wasm), ("b.wasm", &wasm)]);
    let id = id_of(&server.upload("several", archive, true).await);
    let deployment = server.wait_for_build("several", &id).await;
    assert_eq!(deployment["status"], "failed");
    let logs = deployment["buildLogs"].as_str().unwrap_or_default();
    assert!(
        logs.contains("`a.wasm`, `b.wasm`") && logs.contains("entrypoint"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_upload_sent_out_of_order_and_concurrently_builds_and_downloads_back_identical() {
    let server = TestServer::start().await;
    server.create_function("chunked", &["any"]).await;
    let wasm = wafer_testkit::rust_example_bytes("hello");
    let padding = incompressible(11 * 1024 * 1024);
    let archive = tar_gz(&[("padding.bin", &padding), ("dist/hello.wasm", &wasm)]);
    assert_eq!(
        archive.len().div_ceil(CHUNK),
        3,
        "the archive spans three chunks"
    );

    let first = send_chunk(&server, "chunked", &archive, 0, None).await;
    let id = id_of(&first);
    assert_eq!(first.json()["status"], "waiting", "{}", first.text());
    assert_eq!(first.json()["chunksUploaded"], 1);
    let (last, middle) = tokio::join!(
        send_chunk(&server, "chunked", &archive, 2, Some(&id)),
        send_chunk(&server, "chunked", &archive, 1, Some(&id)),
    );
    for reply in [&last, &middle] {
        assert_eq!(id_of(reply), id);
    }

    let deployment = server.wait_for_build("chunked", &id).await;
    assert_eq!(deployment["status"], "ready", "{deployment}");
    assert_eq!(deployment["sourceSize"], archive.len());
    assert_eq!(function_json(&server, "chunked").await["deploymentId"], id);
    let source = download(&server, "chunked", &id, "source").await;
    assert_eq!(source.status, StatusCode::OK);
    assert_eq!(
        source.header("content-type"),
        Some("application/octet-stream")
    );
    assert!(
        source
            .header("content-disposition")
            .unwrap_or_default()
            .starts_with("attachment")
    );
    assert!(
        source.body == archive,
        "the source comes back byte for byte"
    );
    assert!(download(&server, "chunked", &id, "output").await.body == wasm);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_are_listed_with_queries_and_search() {
    let server = TestServer::start().await;
    server.create_function("listed", &["any"]).await;
    let good = id_of(
        &server
            .upload("listed", wafer_testkit::rust_example_bytes("hello"), true)
            .await,
    );
    let bad = id_of(
        &server
            .upload("listed", b"\0asm\x01\0\0\0".to_vec(), false)
            .await,
    );
    server.wait_for_build("listed", &good).await;
    server.wait_for_build("listed", &bad).await;

    let all = server
        .send(server.admin(Method::GET, &deployments_path("listed")))
        .await
        .json();
    assert_eq!(all["total"], 2, "{all}");
    let query = encode(r#"{"method":"equal","attribute":"status","values":["ready"]}"#);
    let path = format!("{}?queries[0]={query}", deployments_path("listed"));
    let ready = server.send(server.admin(Method::GET, &path)).await.json();
    assert_eq!(ready["total"], 1, "{ready}");
    assert_eq!(ready["deployments"][0]["$id"], good);
    let path = format!("{}?search={bad}", deployments_path("listed"));
    let found = server.send(server.admin(Method::GET, &path)).await.json();
    assert_eq!(found["deployments"][0]["$id"], bad, "{found}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_deployment_answers_204_that_does_not_claim_json() {
    let server = TestServer::start().await;
    server.create_function("deleted", &["any"]).await;
    let id = id_of(
        &server
            .upload("deleted", wafer_testkit::rust_example_bytes("hello"), true)
            .await,
    );
    server.wait_for_build("deleted", &id).await;
    let path = format!("{}/{id}", deployments_path("deleted"));
    let reply = server.send(server.admin(Method::DELETE, &path)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let content_type = reply.header("content-type").expect("a Content-Type");
    assert!(!content_type.contains("json"), "{content_type}");
    let gone = server.send(server.admin(Method::GET, &path)).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.error_type(), "deployment_not_found");
    assert!(!server.data_dir().join("uploads").join(&id).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_function_or_deployment_is_not_found() {
    let server = TestServer::start().await;
    let reply = server
        .upload("nowhere", wafer_testkit::rust_example_bytes("hello"), true)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_type(), "function_not_found");

    server.create_function("known", &["any"]).await;
    for path in ["/nope", "/nope/download?type=source"] {
        let path = format!("{}{path}", deployments_path("known"));
        let reply = server.send(server.admin(Method::GET, &path)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.error_type(), "deployment_not_found", "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_without_code_is_an_invalid_argument() {
    let server = TestServer::start().await;
    server.create_function("nocode", &["any"]).await;
    let form = Form::new().text("activate", "true");
    let reply = server
        .send(
            server
                .admin(Method::POST, &deployments_path("nocode"))
                .multipart(form),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_type(), "general_argument_invalid");

    let reply = server.upload("nocode", Vec::new(), true).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_type(), "general_argument_invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_range_not_on_a_chunk_boundary_is_refused() {
    let server = TestServer::start().await;
    server.create_function("ranges", &["any"]).await;
    let form = Form::new()
        .part("code", Part::bytes(vec![0u8; 100]).file_name("code.wasm"))
        .text("activate", "true");
    let request = server
        .admin(Method::POST, &deployments_path("ranges"))
        .header("content-range", "bytes 100-199/20000000")
        .multipart(form);
    let reply = server.send(request).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_type(), "storage_invalid_content_range");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_without_a_key_lacks_the_scope_to_deploy_or_list() {
    let server = TestServer::start().await;
    server.create_function("guarded", &["any"]).await;
    // A full chunk: refused before it is read, yet the client must get the answer and be
    // able to reuse its connection.
    let form = Form::new()
        .part("code", Part::bytes(vec![7u8; CHUNK]).file_name("code.wasm"))
        .text("activate", "true");
    let reply = server
        .send(
            server
                .guest(Method::POST, &deployments_path("guarded"))
                .multipart(form),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_type(), "general_unauthorized_scope");
    let reply = server
        .send(server.guest(Method::GET, &deployments_path("guarded")))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_type(), "general_unauthorized_scope");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_past_the_servers_time_limit_fails_naming_the_limit() {
    let server = TestServer::start_with(|config| {
        config.build_timeout = std::time::Duration::from_millis(1);
    })
    .await;
    server.create_function("slow", &[]).await;
    let id = server
        .upload_to_activate("slow", wafer_testkit::rust_example_bytes("hello"))
        .await;
    let deployment = server.wait_for_build("slow", &id).await;
    assert_eq!(deployment["status"], "failed", "{deployment}");
    assert!(
        deployment["buildLogs"]
            .as_str()
            .unwrap_or_default()
            .contains("build_timeout"),
        "{deployment}"
    );
}
