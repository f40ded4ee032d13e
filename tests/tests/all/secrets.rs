//! Secrets at rest: the server refuses weak or damaged secrets at start, keeps its data directory
//! private (0700, files 0600), and keeps secret variables encrypted in the database under a
//! master key that lives outside it.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use wafer_e2e::{TestServer, config};
use wafer_gateway::GatewayConfig;

/// A value no part of the server writes by itself, so finding it on disk means it leaked.
const SECRET_VALUE: &str = "plaintext-that-must-never-reach-the-disk-7f3a9c";

/// Starts a gateway over `dir` and returns why it refused to, or panics if it started.
async fn refusal(config: GatewayConfig) -> String {
    match wafer_gateway::start(config).await {
        Ok(server) => {
            server.shutdown().await;
            panic!("the gateway started");
        }
        Err(error) => format!("{error:#}"),
    }
}

fn assert_explains_a_strong_secret(reason: &str) {
    assert!(reason.contains("32"), "names the minimum length: {reason}");
    assert!(
        reason.contains("openssl rand -hex 32"),
        "says how to make a good one: {reason}"
    );
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Every file and directory under `dir`, the directory itself first.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = vec![dir.to_owned()];
    let mut index = 0;
    while index < found.len() {
        let path = found[index].clone();
        index += 1;
        if path.is_dir() {
            let entries = std::fs::read_dir(&path).expect("a readable directory");
            found.extend(entries.map(|entry| entry.expect("a directory entry").path()));
        }
    }
    found
}

/// Files under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|path| path.is_file())
        .filter(|path| {
            let bytes = std::fs::read(path).unwrap_or_default();
            bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        })
        .collect()
}

async fn create_secret_variable(server: &TestServer, function_id: &str, key: &str) {
    let path = format!("/v1/functions/{function_id}/variables");
    let body = json!({"key": key, "value": SECRET_VALUE, "secret": true});
    let reply = server.admin_json(Method::POST, &path, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
}

/// The environment the `env` example saw in one synchronous execution.
async fn environment_of(server: &TestServer, function_id: &str) -> Value {
    let reply = server.execute(function_id, json!({})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let execution = reply.json();
    assert_eq!(execution["status"], "completed", "{execution}");
    let body: Value = serde_json::from_str(execution["responseBody"].as_str().unwrap_or_default())
        .unwrap_or_else(|error| panic!("responseBody is not JSON ({error}): {execution}"));
    body["env"].clone()
}

/// A second server over the data directory of a stopped one, configured by `configure`.
async fn start_over(dir: TempDir, configure: impl FnOnce(&mut GatewayConfig)) -> TestServer {
    let mut config = config(dir.path());
    configure(&mut config);
    let server = wafer_gateway::start(config)
        .await
        .expect("the gateway starts");
    TestServer {
        server,
        dir,
        http: reqwest::Client::new(),
    }
}

async fn stop(server: TestServer) -> TempDir {
    let TestServer { server, dir, .. } = server;
    server.shutdown().await;
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_or_short_jwt_secret_refuses_to_start_and_says_how_to_make_one() {
    for weak in ["", "e2e-jwt-secret", "0123456789abcdef0123456789abcde"] {
        let dir = tempfile::tempdir().expect("temporary data directory");
        let mut config = config(dir.path());
        config.secret = Some(weak.to_owned());
        let reason = refusal(config).await;
        assert!(
            reason.contains("WAFER_SECRET"),
            "names the setting: {reason}"
        );
        assert_explains_a_strong_secret(&reason);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_admin_key_refuses_to_start_and_says_how_to_make_one() {
    for weak in ["", "short", "standard_0123456789abcdef0123456789abcde"] {
        let dir = tempfile::tempdir().expect("temporary data directory");
        let mut config = config(dir.path());
        config.admin_key = Some(weak.to_owned());
        let reason = refusal(config).await;
        assert!(
            reason.contains("WAFER_ADMIN_KEY"),
            "names the setting: {reason}"
        );
        assert_explains_a_strong_secret(&reason);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_jwt_secret_file_refuses_to_start_and_is_kept() {
    let server = TestServer::start_with(|config| config.secret = None).await;
    let dir = stop(server).await;
    let secret_file = dir.path().join("jwt-secret");
    let generated = std::fs::read_to_string(&secret_file).expect("a generated JWT secret");
    assert!(generated.trim().len() >= 32, "{generated:?}");

    for damaged in ["", "\n", &generated[..20]] {
        std::fs::write(&secret_file, damaged).expect("damages the secret file");
        let mut config = config(dir.path());
        config.secret = None;
        let reason = refusal(config).await;
        assert!(reason.contains("jwt-secret"), "names the file: {reason}");
        assert_explains_a_strong_secret(&reason);
        let kept = std::fs::read_to_string(&secret_file).expect("the secret file");
        assert_eq!(kept, damaged, "the damaged file is not silently replaced");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_is_private_after_a_start_and_an_upload() {
    let dir = tempfile::tempdir().expect("temporary data directory");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("widens the data directory");
    let server = start_over(dir, |config| config.secret = None).await;
    server.deploy_example("private", "hello", &["any"]).await;
    create_secret_variable(&server, "private", "TOKEN").await;

    let data_dir = server.data_dir();
    let entries = walk(&data_dir);
    for name in [
        "wafer.db",
        "jwt-secret",
        "master-key",
        "uploads",
        "artifacts",
    ] {
        assert!(
            entries.contains(&data_dir.join(name)),
            "{name} is in {entries:#?}"
        );
    }
    assert!(
        entries
            .iter()
            .any(|path| path.extension().is_some_and(|ext| ext == "wasm")),
        "an uploaded component is among {entries:#?}"
    );
    for path in entries {
        let expected = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(
            mode_of(&path),
            expected,
            "mode of {} is {:o}",
            path.display(),
            mode_of(&path)
        );
    }
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_variable_is_not_on_disk_in_plaintext_yet_the_function_sees_it() {
    let server = TestServer::start().await;
    server.deploy_example("sealed", "env", &[]).await;
    create_secret_variable(&server, "sealed", "API_TOKEN").await;
    let data_dir = server.data_dir();
    // While running: the database file, its WAL and shared memory file.
    assert_eq!(
        files_containing(&data_dir, SECRET_VALUE),
        Vec::<PathBuf>::new()
    );
    // After a stop, which checkpoints the WAL into the database file.
    let dir = stop(server).await;
    assert_eq!(
        files_containing(dir.path(), SECRET_VALUE),
        Vec::<PathBuf>::new()
    );

    // Read back from disk, not from a cache.
    let server = start_over(dir, |_| {}).await;
    let env = environment_of(&server, "sealed").await;
    assert_eq!(env["API_TOKEN"], SECRET_VALUE, "{env}");
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_master_key_refuses_to_start() {
    let server = TestServer::start().await;
    server.create_function("guarded", &[]).await;
    create_secret_variable(&server, "guarded", "API_TOKEN").await;
    let dir = stop(server).await;

    let master_key = dir.path().join("master-key");
    std::fs::write(&master_key, format!("{}\n", "ab".repeat(32))).expect("replaces the key");
    let reason = refusal(config(dir.path())).await;
    assert!(reason.contains("master key"), "{reason}");
    assert!(reason.contains("master-key"), "names the file: {reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_master_key_refuses_to_start_once_secrets_were_sealed() {
    let server = TestServer::start().await;
    server.create_function("guarded", &[]).await;
    create_secret_variable(&server, "guarded", "API_TOKEN").await;
    let dir = stop(server).await;

    let master_key = dir.path().join("master-key");
    std::fs::remove_file(&master_key).expect("removes the master key");
    let reason = refusal(config(dir.path())).await;
    assert!(reason.contains("master-key"), "names the file: {reason}");
    assert!(
        !master_key.exists(),
        "no new key is made in place of the lost one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_master_key_file_refuses_to_start() {
    let server = TestServer::start().await;
    let dir = stop(server).await;
    let master_key = dir.path().join("master-key");
    let generated = std::fs::read_to_string(&master_key).expect("a generated master key");
    std::fs::write(&master_key, &generated[..30]).expect("truncates the key");
    let reason = refusal(config(dir.path())).await;
    assert!(reason.contains("master-key"), "names the file: {reason}");
    assert_explains_a_strong_secret(&reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_master_key_keeps_secret_variables_readable() {
    let server = TestServer::start().await;
    server.deploy_example("rotated", "env", &[]).await;
    create_secret_variable(&server, "rotated", "API_TOKEN").await;
    let dir = stop(server).await;

    // The documented rotation: move the key aside, start once naming it as the previous key.
    let keys = tempfile::tempdir().expect("a place for the old key");
    let old_key = keys.path().join("old-master-key");
    std::fs::rename(dir.path().join("master-key"), &old_key).expect("moves the key aside");
    let server = start_over(dir, |config| {
        config.previous_master_key_files = vec![old_key.clone()];
    })
    .await;
    let env = environment_of(&server, "rotated").await;
    assert_eq!(env["API_TOKEN"], SECRET_VALUE, "{env}");
    let dir = stop(server).await;
    let new_key = std::fs::read_to_string(dir.path().join("master-key")).expect("a new key");
    assert_ne!(
        new_key,
        std::fs::read_to_string(&old_key).expect("the old key")
    );

    // From now on the new key alone opens the secrets, and the old one no longer does.
    let server = start_over(dir, |_| {}).await;
    let env = environment_of(&server, "rotated").await;
    assert_eq!(env["API_TOKEN"], SECRET_VALUE, "{env}");
    let dir = stop(server).await;
    let mut with_old_key = config(dir.path());
    with_old_key.master_key_file = Some(old_key);
    let reason = refusal(with_old_key).await;
    assert!(reason.contains("master key"), "{reason}");
}
