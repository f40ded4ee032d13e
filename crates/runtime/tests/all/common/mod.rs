//! Helpers shared by the runtime's test suites.

use tempfile::TempDir;
use wafer_runtime::{
    ArtifactHash, InvocationOutcome, Limits, OutboundPolicy, Request, Runtime, RuntimeConfig,
};

/// A runtime over a temporary artifact directory that lives as long as it does.
pub struct TestRuntime {
    pub runtime: Runtime,
    pub dir: TempDir,
}

pub fn runtime() -> TestRuntime {
    runtime_configured(|_| {})
}

/// A runtime whose configuration `configure` adjusts.
pub fn runtime_configured(configure: impl FnOnce(&mut RuntimeConfig)) -> TestRuntime {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = RuntimeConfig::new(dir.path());
    configure(&mut config);
    let runtime = Runtime::new(config).expect("runtime starts");
    TestRuntime { runtime, dir }
}

/// A runtime whose guests may call the test's upstream servers on 127.0.0.1, which outbound
/// calls may not reach by default.
pub fn runtime_reaching_loopback() -> TestRuntime {
    runtime_configured(|config| {
        config.outbound.allow_private = vec!["127.0.0.1/32".parse().expect("address range")];
    })
}

impl TestRuntime {
    pub async fn deploy(&self, example: &str) -> ArtifactHash {
        let bytes = wafer_testkit::rust_example_bytes(example);
        self.runtime
            .compile(bytes)
            .await
            .unwrap_or_else(|error| panic!("{example} compiles: {error}"))
            .artifact
    }

    pub async fn call(&self, id: &ArtifactHash, request: Request) -> InvocationOutcome {
        self.call_with(
            id,
            request,
            &Limits::default(),
            &[],
            &OutboundPolicy::deny_all(),
        )
        .await
    }

    pub async fn call_with(
        &self,
        id: &ArtifactHash,
        request: Request,
        limits: &Limits,
        env: &[(String, String)],
        outbound: &OutboundPolicy,
    ) -> InvocationOutcome {
        self.runtime
            .invoke(id, request, limits, env, outbound)
            .await
            .expect("the invocation runs")
    }
}

pub fn get(path_and_query: &str) -> Request {
    request("GET", path_and_query, b"")
}

pub fn request(method: &str, path_and_query: &str, body: &[u8]) -> Request {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    Request {
        method: method.to_owned(),
        scheme: "http".to_owned(),
        host: "fn.test".to_owned(),
        port: 80,
        path: path.to_owned(),
        query_string: query.to_owned(),
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: body.to_vec(),
    }
}

pub fn body_text(outcome: &InvocationOutcome) -> String {
    String::from_utf8_lossy(&outcome.response.body).into_owned()
}

pub fn body_json(outcome: &InvocationOutcome) -> serde_json::Value {
    serde_json::from_slice(&outcome.response.body)
        .unwrap_or_else(|error| panic!("body is JSON ({error}): {}", body_text(outcome)))
}
