//! The end-to-end test harness: starts a real wafer gateway on a loopback port over a real
//! data directory, and talks to it over HTTP as the SDKs do.

pub mod guest_suite;
pub mod otlp;
pub mod upstream;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use wafer_gateway::{GatewayConfig, RunningServer};

pub const ADMIN_KEY: &str = "e2e-admin-key-0123456789abcdef0123456789";

/// The runtime of the functions `create_function` makes: the Rust examples'.
pub const RUST_RUNTIME: &str = "rust-wasi-0.2";

/// How long [`TestServer::wait_for_build`] waits for a deployment to compile.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(60);

pub struct TestServer {
    pub server: RunningServer,
    pub dir: TempDir,
    pub http: reqwest::Client,
}

/// A response as the tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "body is not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The Appwrite error `type` of an error reply.
    pub fn error_type(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_owned()
    }
}

pub fn config(dir: &Path) -> GatewayConfig {
    let mut config = GatewayConfig::new(dir);
    config.listen = "127.0.0.1:0".parse().expect("loopback address");
    config.admin_key = Some(ADMIN_KEY.to_owned());
    config.secret = Some("e2e-jwt-secret-0123456789abcdef0123456789".to_owned());
    config.engine.max_concurrent_instances = 64;
    config
}

impl TestServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary data directory");
        Self::start_in(dir, config).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut GatewayConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temporary data directory");
        Self::start_in(dir, |path| {
            let mut config = config(path);
            configure(&mut config);
            config
        })
        .await
    }

    async fn start_in(dir: TempDir, make: impl FnOnce(&Path) -> GatewayConfig) -> Self {
        let server = wafer_gateway::start(make(dir.path()))
            .await
            .expect("the gateway starts");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Self { server, dir, http }
    }

    /// Stops the server and starts a new one over the same data directory.
    pub async fn restart(self) -> Self {
        let Self { server, dir, .. } = self;
        server.shutdown().await;
        Self::start_in(dir, config).await
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.local_addr)
    }

    /// A request with the admin key of the default project.
    pub fn admin(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("x-appwrite-project", "default")
            .header("x-appwrite-key", ADMIN_KEY)
    }

    /// A request without credentials (a guest of the default project).
    pub fn guest(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("x-appwrite-project", "default")
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("a readable body").to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn admin_json(&self, method: Method, path: &str, body: Value) -> Reply {
        self.send(self.admin(method, path).json(&body)).await
    }

    pub async fn create_function(&self, id: &str, execute: &[&str]) -> Value {
        self.create_function_in(id, RUST_RUNTIME, execute).await
    }

    /// Creates the function `id` in `runtime` (a runtime key such as `python-wasi-0.2`).
    pub async fn create_function_in(&self, id: &str, runtime: &str, execute: &[&str]) -> Value {
        let reply = self
            .admin_json(
                Method::POST,
                "/v1/functions",
                json!({"functionId": id, "name": id, "runtime": runtime, "execute": execute}),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "create {id}: {}",
            reply.text()
        );
        reply.json()
    }

    /// Uploads `bytes` as a deployment of `function_id` in one request.
    pub async fn upload(&self, function_id: &str, bytes: Vec<u8>, activate: bool) -> Reply {
        let form = Form::new()
            .part("code", Part::bytes(bytes).file_name("code.wasm"))
            .text("activate", activate.to_string());
        let path = format!("/v1/functions/{function_id}/deployments");
        self.send(self.admin(Method::POST, &path).multipart(form))
            .await
    }

    /// Uploads `bytes` as a deployment of `function_id` to be activated once built, checks that
    /// the server accepted it, and returns the deployment's id.
    pub async fn upload_to_activate(&self, function_id: &str, bytes: Vec<u8>) -> String {
        let reply = self.upload(function_id, bytes, true).await;
        assert_eq!(
            reply.status,
            StatusCode::ACCEPTED,
            "upload {function_id}: {}",
            reply.text()
        );
        reply.json()["$id"]
            .as_str()
            .expect("deployment id")
            .to_owned()
    }

    /// Polls a deployment until it leaves the build states, and returns it; gives up after
    /// [`BUILD_TIMEOUT`], which is plenty for the Rust examples.
    pub async fn wait_for_build(&self, function_id: &str, deployment_id: &str) -> Value {
        self.wait_for_build_within(function_id, deployment_id, BUILD_TIMEOUT)
            .await
    }

    /// Polls a deployment until it leaves the build states, and returns it; gives up after
    /// `within`. Large components (the JavaScript and Python guests) need minutes.
    pub async fn wait_for_build_within(
        &self,
        function_id: &str,
        deployment_id: &str,
        within: Duration,
    ) -> Value {
        let path = format!("/v1/functions/{function_id}/deployments/{deployment_id}");
        let deadline = Instant::now() + within;
        loop {
            let deployment = self.send(self.admin(Method::GET, &path)).await.json();
            let status = deployment["status"].as_str().unwrap_or_default();
            if status == "ready" || status == "failed" {
                return deployment;
            }
            assert!(
                Instant::now() < deadline,
                "deployment {deployment_id} of {function_id} still {status} after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `deployment_id` is the active deployment of `function_id`.
    pub async fn wait_until_active(&self, function_id: &str, deployment_id: &str) {
        let path = format!("/v1/functions/{function_id}");
        for _ in 0..200 {
            let function = self.send(self.admin(Method::GET, &path)).await.json();
            if function["deploymentId"] == deployment_id {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("deployment {deployment_id} of {function_id} was not activated");
    }

    /// Creates a function that the roles in `execute` may run, with the Rust example `example`
    /// deployed and active.
    pub async fn deploy_example(
        &self,
        function_id: &str,
        example: &str,
        execute: &[&str],
    ) -> Value {
        self.create_function(function_id, execute).await;
        let bytes = wafer_testkit::rust_example_bytes(example);
        let deployment_id = self.upload_to_activate(function_id, bytes).await;
        let deployment = self.wait_for_build(function_id, &deployment_id).await;
        assert_eq!(deployment["status"], "ready", "{deployment}");
        self.wait_until_active(function_id, &deployment_id).await;
        deployment
    }

    /// The execution record behind a reply of the function route (`/fn/{function_id}/...`),
    /// found by its `x-appwrite-execution-id` header; waits for it to be written.
    pub async fn execution_behind(&self, function_id: &str, reply: &Reply) -> Value {
        let execution_id = reply
            .header("x-appwrite-execution-id")
            .expect("x-appwrite-execution-id");
        for _ in 0..100 {
            let record = self.get_execution(function_id, execution_id).await;
            if record.status == StatusCode::OK {
                return record.json();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("execution {execution_id} of {function_id} was not recorded");
    }

    /// Reads one execution record with the admin key.
    pub async fn get_execution(&self, function_id: &str, execution_id: &str) -> Reply {
        let path = format!("/v1/functions/{function_id}/executions/{execution_id}");
        self.send(self.admin(Method::GET, &path)).await
    }

    /// Runs a synchronous execution through the API.
    pub async fn execute(&self, function_id: &str, body: Value) -> Reply {
        let path = format!("/v1/functions/{function_id}/executions");
        self.admin_json(Method::POST, &path, body).await
    }
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// A Unix time as the ISO 8601 date the API takes (`2030-01-02T03:04:05.000+00:00`, UTC).
pub fn rfc3339(unix_seconds: u64) -> String {
    // Civil date from days since the epoch, proleptic Gregorian (Howard Hinnant's algorithm).
    let days = i64::try_from(unix_seconds / 86_400).expect("a date before year 2^63");
    let seconds = unix_seconds % 86_400;
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000+00:00",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

/// Polls `check` every 100 ms until it holds; fails the test naming `what` after 20 seconds.
/// For waiting on state the server reaches in the background, instead of a guessed sleep.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
