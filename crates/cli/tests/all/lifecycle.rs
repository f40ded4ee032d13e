//! `wafer serve` stopping and starting as a process does in production: SIGTERM lets requests in
//! flight finish and commits their records before a clean exit; a restart serves deployments from
//! their compiled artifacts without compiling again; and a `kill -9` loses no execution the API
//! acknowledged, nor leaves a queued one stuck.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime};

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use tempfile::TempDir;
use wafer_e2e::{ADMIN_KEY, RUST_RUNTIME};

const WAFER: &str = env!("CARGO_BIN_EXE_wafer");
/// How long a server may take to start listening, or to stop.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a deployment of a Rust example may take to build.
const BUILD_TIMEOUT: Duration = Duration::from_secs(60);

/// A `wafer serve` child process on a loopback port over `data_dir`.
pub(crate) struct ServeProcess {
    child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) http: reqwest::Client,
    /// Everything the server printed, for assertions and failure messages.
    log: Arc<Mutex<Vec<String>>>,
    /// The thread reading the server's output; it ends with the process.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl ServeProcess {
    fn start(data_dir: &Path, extra_args: &[&str]) -> Self {
        Self::start_with(data_dir, extra_args, &[])
    }

    /// Like [`start`](Self::start), with `env` set for the process too.
    pub(crate) fn start_with(data_dir: &Path, extra_args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(WAFER)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra_args)
            .env("WAFER_DATA_DIR", data_dir)
            .env("WAFER_ADMIN_KEY", ADMIN_KEY)
            .env("WAFER_LOG", "info")
            .env_remove("WAFER_SECRET")
            .env_remove("WAFER_MASTER_KEY")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("wafer serve runs");
        let stdout = child.stdout.take().expect("piped stdout");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (endpoint_tx, endpoint_rx) = mpsc::channel();
        let thread_log = Arc::clone(&log);
        // Reads the output until the process ends, so the pipe never fills and blocks it.
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(endpoint) = line.trim().strip_prefix("API:") {
                    let _ = endpoint_tx.send(endpoint.trim().to_owned());
                }
                thread_log.lock().expect("log lock").push(line);
            }
        });
        let endpoint = endpoint_rx
            .recv_timeout(START_TIMEOUT)
            .expect("wafer serve prints its API endpoint");
        let addr = endpoint
            .trim_start_matches("http://")
            .trim_end_matches("/v1")
            .parse()
            .expect("the endpoint is an address");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        Self {
            child,
            addr,
            http,
            log,
            reader: Some(reader),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("x-appwrite-project", "default")
            .header("x-appwrite-key", ADMIN_KEY)
    }

    pub(crate) fn log(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .admin(reqwest::Method::GET, path)
            .send()
            .await
            .expect("the server answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Creates a public function with `settings` and deploys the Rust example `example` to it.
    pub(crate) async fn deploy_example(
        &self,
        function_id: &str,
        example: &str,
        settings: Value,
    ) -> Value {
        let mut body = json!({"functionId": function_id, "name": function_id,
                              "runtime": RUST_RUNTIME, "execute": ["any"]});
        merge(&mut body, settings);
        let created = self
            .admin(reqwest::Method::POST, "/v1/functions")
            .json(&body)
            .send()
            .await
            .expect("create answers");
        assert_eq!(
            created.status(),
            StatusCode::CREATED,
            "create {function_id}"
        );
        let bytes = tokio::task::spawn_blocking({
            let example = example.to_owned();
            move || wafer_testkit::rust_example_bytes(&example)
        })
        .await
        .expect("building the examples");
        let form = Form::new()
            .part("code", Part::bytes(bytes).file_name("code.wasm"))
            .text("activate", "true");
        let uploaded = self
            .admin(
                reqwest::Method::POST,
                &format!("/v1/functions/{function_id}/deployments"),
            )
            .multipart(form)
            .send()
            .await
            .expect("upload answers");
        assert_eq!(uploaded.status(), StatusCode::ACCEPTED, "upload {example}");
        let deployment: Value = uploaded.json().await.expect("deployment JSON");
        let deployment_id = deployment["$id"].as_str().expect("deployment id");
        let deadline = Instant::now() + BUILD_TIMEOUT;
        loop {
            let (_, function) = self.get(&format!("/v1/functions/{function_id}")).await;
            let path = format!("/v1/functions/{function_id}/deployments/{deployment_id}");
            let (_, deployment) = self.get(&path).await;
            assert_ne!(deployment["status"], "failed", "{deployment}");
            if function["deploymentId"] == deployment_id && deployment["status"] == "ready" {
                return deployment;
            }
            assert!(Instant::now() < deadline, "{example} did not build");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn execute(&self, function_id: &str, body: Value) -> reqwest::Result<reqwest::Response> {
        self.admin(
            reqwest::Method::POST,
            &format!("/v1/functions/{function_id}/executions"),
        )
        .json(&body)
        .send()
        .await
    }

    async fn execution(&self, function_id: &str, execution_id: &str) -> (StatusCode, Value) {
        self.get(&format!(
            "/v1/functions/{function_id}/executions/{execution_id}"
        ))
        .await
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "SIGTERM sent");
    }

    /// Waits for the process to exit, at most `within`.
    fn exit_within(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("waits for wafer") {
                // Everything the process printed is read once its output closes.
                if let Some(reader) = self.reader.take() {
                    reader.join().expect("the output reader");
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "wafer serve still runs {within:?} later:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9`: the process gets no chance to clean up.
    fn kill_hard(&mut self) {
        self.child.kill().expect("SIGKILL sent");
        self.child.wait().expect("the process is reaped");
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn merge(target: &mut Value, extra: Value) {
    if let (Some(target), Value::Object(extra)) = (target.as_object_mut(), extra) {
        target.extend(extra);
    }
}

/// Each file under `dir` (recursively) with its modification time.
fn files_with_mtimes(dir: &Path) -> BTreeMap<PathBuf, SystemTime> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable directory") {
            let entry = entry.expect("directory entry");
            let metadata = entry.metadata().expect("file metadata");
            if metadata.is_dir() {
                pending.push(entry.path());
            } else {
                files.insert(entry.path(), metadata.modified().expect("mtime"));
            }
        }
    }
    files
}

/// Polls `probe` until it says yes, at most `within`.
async fn wait_until<F, Fut>(within: Duration, what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !probe().await {
        assert!(Instant::now() < deadline, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn id_of(record: &Value) -> String {
    record["$id"].as_str().expect("execution id").to_owned()
}

/// Starts a synchronous execution of `spinning` on a server that runs one execution at a time,
/// and returns once it runs: when an execution of `quick` is refused with 429.
async fn start_spinning(
    server: &ServeProcess,
    spinning: &str,
    quick: &str,
) -> tokio::task::JoinHandle<reqwest::Result<reqwest::Response>> {
    // Retried while a probe below holds the only slot; once a probe is refused, this one runs.
    let in_flight = tokio::spawn({
        let request = server
            .admin(
                reqwest::Method::POST,
                &format!("/v1/functions/{spinning}/executions"),
            )
            .json(&json!({}));
        async move {
            loop {
                let attempt = request.try_clone().expect("a plain JSON request").send();
                match attempt.await {
                    Ok(reply) if reply.status() == StatusCode::TOO_MANY_REQUESTS => continue,
                    answered => return answered,
                }
            }
        }
    });
    wait_until(
        Duration::from_secs(10),
        "the slow execution runs",
        || async {
            let probe = server.execute(quick, json!({})).await;
            probe.is_ok_and(|reply| reply.status() == StatusCode::TOO_MANY_REQUESTS)
        },
    )
    .await;
    in_flight
}

/// Fuel for far more than a timeout's seconds of spinning: the timeout ends the execution.
const PLENTY_OF_FUEL: &str = "1000000000000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_execution_in_flight_finish_then_exits_cleanly_and_a_restart_does_not_compile()
 {
    let data = TempDir::new().expect("data directory");
    // One execution at a time, so a second one answering 429 shows the first is running.
    let mut server = ServeProcess::start(
        data.path(),
        &[
            "--max-concurrency",
            "1",
            "--shutdown-grace-secs",
            "20",
            "--fuel",
            PLENTY_OF_FUEL,
        ],
    );
    // Spins until its 3 s timeout: an execution long enough to be in flight at the SIGTERM.
    let slow = json!({"timeout": 3});
    server.deploy_example("spin", "endless-loop", slow).await;
    let hello_deployment = server.deploy_example("hello", "hello", json!({})).await;
    let artifacts = files_with_mtimes(&data.path().join("artifacts"));
    assert!(!artifacts.is_empty(), "compiled artifacts are on disk");

    let in_flight = start_spinning(&server, "spin", "hello").await;
    let terminated_at = Instant::now();
    server.terminate();

    // The listener closes at once, while the execution still runs.
    wait_until(
        Duration::from_secs(2),
        "new connections are refused",
        || {
            let refused = TcpStream::connect_timeout(&server.addr, Duration::from_millis(200))
                .is_err_and(|error| error.kind() == std::io::ErrorKind::ConnectionRefused);
            async move { refused }
        },
    )
    .await;
    assert!(
        !in_flight.is_finished(),
        "refused before the execution ended"
    );

    let answer = in_flight
        .await
        .expect("the request task")
        .expect("the request in flight is answered");
    assert_eq!(answer.status(), StatusCode::CREATED);
    let finished: Value = answer.json().await.expect("the execution record");
    assert_eq!(finished["status"], "failed", "{finished}");
    assert_eq!(finished["errors"], "Execution timed out.", "{finished}");
    let status = server.exit_within(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "exit status:\n{}", server.log());
    assert!(terminated_at.elapsed() < Duration::from_secs(20));

    let restarted = ServeProcess::start(data.path(), &[]);
    let (found, record) = restarted.execution("spin", &id_of(&finished)).await;
    assert_eq!(found, StatusCode::OK, "{record}");
    assert_eq!(record["status"], "failed", "{record}");
    assert_eq!(record["errors"], finished["errors"]);

    let invoked = restarted
        .execute("hello", json!({"method": "GET"}))
        .await
        .expect("hello answers");
    assert_eq!(invoked.status(), StatusCode::CREATED);
    let invoked: Value = invoked.json().await.expect("the execution record");
    assert_eq!(invoked["status"], "completed", "{invoked}");
    assert_eq!(invoked["responseBody"], "Hello, World!");
    // Served from the artifacts compiled before: none was written again, none added.
    assert_eq!(
        files_with_mtimes(&data.path().join("artifacts")),
        artifacts,
        "the restart compiled nothing"
    );
    let deployment_id = hello_deployment["$id"].as_str().expect("deployment id");
    let (_, deployment) = restarted
        .get(&format!("/v1/functions/hello/deployments/{deployment_id}"))
        .await;
    assert_eq!(deployment, hello_deployment, "the deployment is as built");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_cuts_off_an_execution_that_outlasts_the_grace_period_and_still_exits_cleanly() {
    let data = TempDir::new().expect("data directory");
    let mut server = ServeProcess::start(
        data.path(),
        &[
            "--max-concurrency",
            "1",
            "--shutdown-grace-secs",
            "1",
            "--fuel",
            PLENTY_OF_FUEL,
        ],
    );
    server
        .deploy_example("spin", "endless-loop", json!({"timeout": 20}))
        .await;
    server.deploy_example("hello", "hello", json!({})).await;
    let in_flight = start_spinning(&server, "spin", "hello").await;
    let terminated_at = Instant::now();
    server.terminate();

    let status = server.exit_within(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "exit status:\n{}", server.log());
    let stopped_after = terminated_at.elapsed();
    assert!(
        stopped_after < Duration::from_secs(5),
        "stopped {stopped_after:?} after SIGTERM, with a 1 s grace period"
    );
    let cut_off = in_flight.await.expect("the request task");
    assert!(
        cut_off.is_err(),
        "no answer for a cut-off request: {cut_off:?}"
    );
    assert!(
        server.log().contains("shutdown grace period"),
        "the cut is logged:\n{}",
        server.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_running_async_execution_finish_and_record_it_before_exiting() {
    let data = TempDir::new().expect("data directory");
    let mut server = ServeProcess::start(data.path(), &["--fuel", PLENTY_OF_FUEL]);
    server
        .deploy_example("spin", "endless-loop", json!({"timeout": 3}))
        .await;
    let queued = server
        .execute("spin", json!({"async": true}))
        .await
        .expect("enqueue answers");
    assert_eq!(queued.status(), StatusCode::ACCEPTED);
    let id = id_of(&queued.json().await.expect("the queued record"));
    wait_until(Duration::from_secs(10), "the worker runs it", || async {
        let (_, record) = server.execution("spin", &id).await;
        record["status"] == "processing"
    })
    .await;
    server.terminate();
    let status = server.exit_within(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "exit status:\n{}", server.log());

    // Finished and recorded before the exit: not queued again to run a second time.
    let restarted = ServeProcess::start(data.path(), &[]);
    let (_, record) = restarted.execution("spin", &id).await;
    assert_eq!(record["status"], "failed", "{record}");
    assert_eq!(record["errors"], "Execution timed out.", "{record}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_long_compile_exits_within_the_grace_period_and_the_next_start_resumes_the_build()
 {
    let data = TempDir::new().expect("data directory");
    // Cranelift only: the JavaScript component then compiles for many seconds.
    let mut server = ServeProcess::start(
        data.path(),
        &["--winch-threshold-bytes", "0", "--shutdown-grace-secs", "1"],
    );
    let js = wafer_testkit::repo_root().join("guest-examples/js/build/hello.wasm");
    let bytes =
        std::fs::read(&js).expect("guest-examples/js/build/hello.wasm (scripts/build-guests.sh)");
    let created = server
        .admin(reqwest::Method::POST, "/v1/functions")
        .json(&json!({"functionId": "js", "name": "js", "runtime": "javascript-wasi-0.2"}))
        .send()
        .await
        .expect("create answers");
    assert_eq!(created.status(), StatusCode::CREATED);
    let form = Form::new()
        .part("code", Part::bytes(bytes).file_name("code.wasm"))
        .text("activate", "true");
    let uploaded = server
        .admin(reqwest::Method::POST, "/v1/functions/js/deployments")
        .multipart(form)
        .send()
        .await
        .expect("upload answers");
    assert_eq!(uploaded.status(), StatusCode::ACCEPTED);
    let deployment: Value = uploaded.json().await.expect("deployment JSON");
    let path = format!(
        "/v1/functions/js/deployments/{}",
        deployment["$id"].as_str().expect("deployment id")
    );
    wait_until(Duration::from_secs(10), "the build runs", || async {
        server.get(&path).await.1["status"] == "building"
    })
    .await;
    let terminated_at = Instant::now();
    server.terminate();

    let status = server.exit_within(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "exit status:\n{}", server.log());
    let stopped_after = terminated_at.elapsed();
    assert!(
        stopped_after < Duration::from_secs(5),
        "stopped {stopped_after:?} after SIGTERM, with a 1 s grace period"
    );

    // The next start resumes the build (Winch first, by default: seconds).
    let restarted = ServeProcess::start(data.path(), &[]);
    wait_until(
        BUILD_TIMEOUT,
        "the interrupted build is resumed",
        || async {
            let (_, deployment) = restarted.get(&path).await;
            assert_ne!(deployment["status"], "failed", "{deployment}");
            deployment["status"] == "ready"
        },
    )
    .await;
}

/// How long queued executions may take to finish after a restart.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_burst_of_async_executions_leaves_none_missing_or_stuck() {
    let data = TempDir::new().expect("data directory");
    let mut server = ServeProcess::start(data.path(), &["--max-concurrency", "2"]);
    server.deploy_example("hello", "hello", json!({})).await;
    let mut queued = Vec::new();
    for _ in 0..50 {
        let reply = server
            .execute("hello", json!({"async": true}))
            .await
            .expect("enqueue answers");
        assert_eq!(reply.status(), StatusCode::ACCEPTED);
        let record: Value = reply.json().await.expect("the queued record");
        queued.push(id_of(&record));
    }
    wait_until(
        Duration::from_secs(10),
        "the worker has started",
        || async {
            let (_, first) = server.execution("hello", &queued[0]).await;
            first["status"] != "waiting"
        },
    )
    .await;
    server.kill_hard();

    let restarted = ServeProcess::start(data.path(), &[]);
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    for id in &queued {
        let ended = ended_execution(&restarted, "hello", id, deadline).await;
        if ended["status"] == "failed" {
            assert_ne!(ended["errors"], "", "a failure says why: {ended}");
        }
    }
}

/// Polls an execution, which must exist, until it is `completed` or `failed`, before `deadline`.
async fn ended_execution(
    server: &ServeProcess,
    function_id: &str,
    execution_id: &str,
    deadline: Instant,
) -> Value {
    loop {
        let (found, record) = server.execution(function_id, execution_id).await;
        assert_eq!(found, StatusCode::OK, "execution {execution_id}: {record}");
        if matches!(record["status"].as_str(), Some("completed" | "failed")) {
            return record;
        }
        assert!(Instant::now() < deadline, "still unfinished: {record}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_sync_executions_loses_none_the_api_acknowledged() {
    let data = TempDir::new().expect("data directory");
    let mut server = ServeProcess::start(data.path(), &[]);
    server.deploy_example("hello", "hello", json!({})).await;
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, Value)>::new()));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let request = server
                .admin(reqwest::Method::POST, "/v1/functions/hello/executions")
                .json(&json!({}));
            let acknowledged = Arc::clone(&acknowledged);
            tokio::spawn(async move {
                // Runs executions until the server is gone.
                loop {
                    let attempt = request.try_clone().expect("a plain JSON request").send();
                    let Ok(reply) = attempt.await else { break };
                    assert_eq!(reply.status(), StatusCode::CREATED);
                    let Ok(record) = reply.json::<Value>().await else {
                        break;
                    };
                    let status = record["status"].clone();
                    acknowledged
                        .lock()
                        .expect("lock")
                        .push((id_of(&record), status));
                }
            })
        })
        .collect();
    wait_until(
        Duration::from_secs(20),
        "executions are acknowledged",
        || {
            let count = acknowledged.lock().expect("lock").len();
            async move { count >= 40 }
        },
    )
    .await;
    server.kill_hard();
    for client in clients {
        client.await.expect("a client ends when the server is gone");
    }

    let restarted = ServeProcess::start(data.path(), &[]);
    let acknowledged = acknowledged.lock().expect("lock").clone();
    for (id, status) in &acknowledged {
        let (found, record) = restarted.execution("hello", id).await;
        assert_eq!(
            found,
            StatusCode::OK,
            "acknowledged {id} survives: {record}"
        );
        assert_eq!(&record["status"], status, "{record}");
    }
}
