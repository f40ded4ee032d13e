//! The end-to-end test harness: starts a real wafer gateway on a loopback port over a real
//! data directory, and talks to it over HTTP as the SDKs do.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use wafer_gateway::{GatewayConfig, RunningServer};

pub const ADMIN_KEY: &str = "e2e-admin-key-0123456789abcdef";

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
    config.secret = Some("e2e-jwt-secret".to_owned());
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
        let reply = self
            .admin_json(
                Method::POST,
                "/v1/functions",
                json!({"functionId": id, "name": id, "runtime": "rust-wasi-0.2", "execute": execute}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
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

    /// Polls a deployment until it leaves the build states, and returns it.
    pub async fn wait_for_build(&self, function_id: &str, deployment_id: &str) -> Value {
        let path = format!("/v1/functions/{function_id}/deployments/{deployment_id}");
        for _ in 0..600 {
            let deployment = self.send(self.admin(Method::GET, &path)).await.json();
            let status = deployment["status"].as_str().unwrap_or_default().to_owned();
            if status == "ready" || status == "failed" {
                return deployment;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("deployment {deployment_id} did not finish building within a minute");
    }

    /// Creates a function (public when `public`) with the Rust example `example` deployed and
    /// active.
    pub async fn deploy_example(
        &self,
        function_id: &str,
        example: &str,
        execute: &[&str],
    ) -> Value {
        self.create_function(function_id, execute).await;
        let bytes = wafer_testkit::rust_example_bytes(example);
        let reply = self.upload(function_id, bytes, true).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text());
        let deployment_id = reply.json()["$id"]
            .as_str()
            .expect("deployment id")
            .to_owned();
        let deployment = self.wait_for_build(function_id, &deployment_id).await;
        assert_eq!(deployment["status"], "ready", "{deployment}");
        for _ in 0..100 {
            let function = self
                .send(self.admin(Method::GET, &format!("/v1/functions/{function_id}")))
                .await
                .json();
            if function["deploymentId"] == deployment_id {
                return deployment;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("deployment {deployment_id} was not activated");
    }

    /// Runs a synchronous execution through the API.
    pub async fn execute(&self, function_id: &str, body: Value) -> Reply {
        let path = format!("/v1/functions/{function_id}/executions");
        self.admin_json(Method::POST, &path, body).await
    }
}
