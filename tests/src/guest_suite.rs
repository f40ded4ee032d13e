//! The suite that the JavaScript and the Python guest tests share. Each language builds the same
//! examples (`guest-examples/{language}/{example}`) with its own SDK, and they must behave alike:
//! this module builds them with `scripts/build-guests.sh`, deploys them to one real server and
//! drives them through the API (`POST /v1/functions/{id}/executions`) and the function route
//! (`/fn/{id}/...`). A [`Guests`] says what differs between languages.
//!
//! Compiling a JavaScript or Python component takes Cranelift tens of seconds, so every example
//! is deployed once, and the checks share that server: they run concurrently, and each failure
//! is reported with its check's name. Figures (build, deploy-to-ready, per-invocation time) are
//! printed to stderr; see them with `--nocapture`.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::{TestServer, upstream};

/// The longest a deployment may take to compile: six large components share two build slots
/// on a machine that may be busy with other builds.
pub const BUILD_DEADLINE: Duration = Duration::from_secs(15 * 60);

/// One language's suite at a time in a test process. Each deploys six large components whose
/// compiles use every core: two suites at once would double the compile memory and make every
/// other test in the process wait for a core. The suites ran one after another when each was
/// its own test binary; this keeps that now that they share one.
static ONE_SUITE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `limit 50` and `orderDesc $createdAt`, as Appwrite JSON queries.
const LATEST_50: &str = "queries[0]=%7B%22method%22%3A%22limit%22%2C%22values%22%3A%5B50%5D%7D\
    &queries[1]=%7B%22method%22%3A%22orderDesc%22%2C%22attribute%22%3A%22%24createdAt%22%7D";

/// One guest language: where its examples are built, the runtime they run in, and what they
/// leave behind that is particular to the language.
pub struct Guests {
    /// The argument of `scripts/build-guests.sh` and the directory under `guest-examples`.
    pub language: &'static str,
    /// The runtime key the functions are created with.
    pub runtime: &'static str,
    /// Function ids are `{function_prefix}-{example}`.
    pub function_prefix: &'static str,
    /// The examples to deploy and check; the suite has a check for each name it knows.
    pub examples: &'static [&'static str],
    /// What building the examples needs, said when the build fails.
    pub build_needs: &'static str,
    /// What the echo example's `log({method, path})` leaves in the logs.
    pub echo_logs_the_object_as: &'static str,
    /// What the throw example writes to stderr before it fails.
    pub throw_first_writes_to_stderr: &'static str,
    /// What the throw example's uncaught error leaves in the execution's errors.
    pub an_uncaught_error_leaves_in_the_errors: &'static [&'static str],
}

impl Guests {
    /// Builds the examples, deploys them all to one server, and runs every example's check
    /// against it; fails naming each check that failed.
    pub async fn deploy_and_check_every_example(&'static self) {
        let _one_suite = ONE_SUITE_AT_A_TIME.lock().await;
        let dir = self.built_examples();
        // The outbound check calls upstreams on 127.0.0.1, which functions may not reach
        // unless the operator allows it.
        let server = TestServer::start_with(|config| {
            config.outbound.allow_private = vec!["127.0.0.1/32".parse().expect("address range")];
        })
        .await;
        self.deploy_all(&server, &dir).await;
        let suite = Arc::new(Suite {
            server,
            guests: self,
        });

        let checks: Vec<_> = self
            .examples
            .iter()
            .map(|example| check_of(example, suite.clone()))
            .collect();
        let mut failed = Vec::new();
        for (name, check) in checks {
            if let Err(error) = check.await {
                failed.push(name);
                eprintln!("[{}] check {name:?} failed: {error}", self.language);
            }
        }
        assert!(
            failed.is_empty(),
            "failed checks: {failed:?} (their panics are printed above)"
        );
    }

    /// The built component of one of the language's examples (built with the rest on first use).
    pub fn component_bytes(&self, example: &str) -> Vec<u8> {
        let path = self.built_examples().join(format!("{example}.wasm"));
        std::fs::read(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
    }

    fn function_id(&self, example: &str) -> String {
        format!("{}-{example}", self.function_prefix)
    }

    /// Runs `scripts/build-guests.sh {language}` once per test binary and language; returns the
    /// directory of the components.
    fn built_examples(&self) -> PathBuf {
        static BUILT: Mutex<BTreeMap<&str, Result<PathBuf, String>>> = Mutex::new(BTreeMap::new());
        let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
        let built = built
            .entry(self.language)
            .or_insert_with(|| self.build_examples());
        match built {
            Ok(dir) => dir.clone(),
            Err(message) => panic!("{message}"),
        }
    }

    fn build_examples(&self) -> Result<PathBuf, String> {
        let language = self.language;
        let root = wafer_testkit::repo_root();
        let script = root.join("scripts").join("build-guests.sh");
        let started = Instant::now();
        let output = Command::new("bash")
            .arg(&script)
            .arg(language)
            .current_dir(&root)
            .output()
            .map_err(|error| format!("cannot run {}: {error}", script.display()))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "building the {language} examples failed: `{} {language}` exited with {}.\n\
                 It needs {}.\n\
                 --- stderr ---\n{stderr}\n--- stdout ---\n{stdout}",
                script.display(),
                output.status,
                self.build_needs,
            ));
        }
        eprintln!(
            "{stderr}[{language}] build-guests.sh took {:.1?}",
            started.elapsed()
        );
        Ok(root.join("guest-examples").join(language).join("build"))
    }

    /// Creates a public function for every example, uploads all components at once (the server
    /// compiles them in the background), then waits until each is ready and active.
    async fn deploy_all(&self, server: &TestServer, dir: &Path) {
        let started = Instant::now();
        let mut pending = Vec::new();
        for example in self.examples {
            let id = self.function_id(example);
            server.create_function_in(&id, self.runtime, &["any"]).await;
            let path = dir.join(format!("{example}.wasm"));
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
            let size = bytes.len();
            let deployment_id = server.upload_to_activate(&id, bytes).await;
            pending.push((id, deployment_id, size));
        }
        for (id, deployment_id, size) in pending {
            let deployment = server
                .wait_for_build_within(&id, &deployment_id, BUILD_DEADLINE)
                .await;
            assert_eq!(
                deployment["status"], "ready",
                "{id} did not build; the runtime said: {}",
                deployment["buildLogs"]
            );
            server.wait_until_active(&id, &deployment_id).await;
            eprintln!(
                "[{}] {id}: {:.1} MiB, compiled in {} s, ready {:.1?} after the first upload",
                self.language,
                size as f64 / (1024.0 * 1024.0),
                deployment["buildDuration"],
                started.elapsed(),
            );
        }
    }
}

/// The server with every example deployed, shared by the checks.
struct Suite {
    server: TestServer,
    guests: &'static Guests,
}

impl std::ops::Deref for Suite {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl Suite {
    fn function_id(&self, example: &str) -> String {
        self.guests.function_id(example)
    }

    /// A synchronous execution of `example` through the API; returns the execution record.
    async fn execution(&self, example: &str, body: Value) -> Value {
        let reply = self.execute(&self.function_id(example), body).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "execute {example}: {}",
            reply.text()
        );
        reply.json()
    }

    /// A request to the function's own route, `/fn/{id}{path}`. The harness's client does not
    /// follow redirects, so a redirect is seen as it is.
    fn route(&self, method: Method, example: &str, path: &str) -> reqwest::RequestBuilder {
        let id = self.function_id(example);
        self.http
            .request(method, self.url(&format!("/fn/{id}{path}")))
    }
}

/// Starts the check of `example` on its own task; returns what it checks, and the task.
fn check_of(example: &str, suite: Arc<Suite>) -> (&'static str, JoinHandle<()>) {
    fn spawn<F: Future<Output = ()> + Send + 'static>(
        name: &'static str,
        check: F,
    ) -> (&'static str, JoinHandle<()>) {
        (name, tokio::spawn(check))
    }
    match example {
        "hello" => spawn(
            "hello answers in text and JSON, and writes to the logs and the errors",
            hello_answers_in_text_and_json_and_writes_to_both_logs(suite),
        ),
        "echo" => spawn(
            "echo sees the whole request, and its log lines are recorded",
            echo_sees_the_whole_request_and_its_log_lines_are_recorded(suite),
        ),
        "responses" => spawn(
            "responses answers with every kind of body, status and redirect",
            responses_answers_with_every_kind_of_body_status_and_redirect(suite),
        ),
        "env" => spawn(
            "env sees its own variables and none of the host's",
            env_sees_its_own_variables_and_none_of_the_hosts(suite),
        ),
        "outbound" => spawn(
            "outbound reaches the allowed host and is refused any other",
            outbound_reaches_the_allowed_host_and_is_refused_any_other(suite),
        ),
        "throw" => spawn(
            "throw fails the execution and leaves its stderr and the error in the errors",
            throw_fails_the_execution_and_leaves_the_error_in_the_errors(suite),
        ),
        other => panic!("the guest suite has no check for the example {other:?}"),
    }
}

fn text_of(record: &Value, field: &str) -> String {
    record[field].as_str().unwrap_or_default().to_owned()
}

async fn hello_answers_in_text_and_json_and_writes_to_both_logs(suite: Arc<Suite>) {
    let record = suite
        .execution("hello", json!({"method": "GET", "path": "/"}))
        .await;
    assert_eq!(record["status"], "completed", "{record}");
    assert_eq!(record["responseStatusCode"], 200, "{record}");
    assert_eq!(record["responseBody"], "Hello, World!", "{record}");
    assert_eq!(
        text_of(&record, "logs").trim_end(),
        "Hello, Logs!",
        "{record}"
    );
    assert_eq!(
        text_of(&record, "errors").trim_end(),
        "Hello, Errors!",
        "{record}"
    );

    let record = suite
        .execution("hello", json!({"method": "POST", "path": "/"}))
        .await;
    let motto: Value = serde_json::from_str(&text_of(&record, "responseBody")).expect("JSON motto");
    assert_eq!(
        motto,
        json!({
            "motto": "Build like a team of hundreds_",
            "learn": "https://appwrite.io/docs",
            "connect": "https://appwrite.io/discord",
            "getInspired": "https://builtwith.appwrite.io",
        })
    );

    let reply = suite.send(suite.route(Method::GET, "hello", "/")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), "Hello, World!");
    assert!(
        reply
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain")
    );

    // Per-invocation time over the function route, warm: every call is a fresh instance.
    const CALLS: u32 = 50;
    let started = Instant::now();
    for _ in 0..CALLS {
        let reply = suite.send(suite.route(Method::GET, "hello", "/")).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    let per_call = started.elapsed() / CALLS;
    let path = format!(
        "/v1/functions/{}/executions?{LATEST_50}",
        suite.function_id("hello")
    );
    let durations = suite.send(suite.admin(Method::GET, &path)).await.json();
    let durations: Vec<f64> = durations["executions"]
        .as_array()
        .map(|list| list.iter().filter_map(|e| e["duration"].as_f64()).collect())
        .unwrap_or_default();
    let mean = durations.iter().sum::<f64>() / durations.len().max(1) as f64;
    eprintln!(
        "[{}] hello: {CALLS} sequential /fn/ calls, {per_call:.2?} each end to end; \
         mean execution duration {:.2} ms over {} records",
        suite.guests.language,
        mean * 1000.0,
        durations.len()
    );
}

async fn echo_sees_the_whole_request_and_its_log_lines_are_recorded(suite: Arc<Suite>) {
    let port = suite.server.server.local_addr.port();
    let reply = suite
        .send(
            suite
                .route(Method::POST, "echo", "/some/path?a=1&b=two+words&a=3")
                .header("content-type", "application/json")
                .header("X-Custom", "Yes")
                .body(r#"{"hello":"world"}"#),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let echoed = reply.json();
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["scheme"], "http");
    assert_eq!(echoed["host"], "127.0.0.1");
    assert_eq!(echoed["port"], port);
    assert_eq!(echoed["path"], "/some/path");
    assert_eq!(echoed["queryString"], "a=1&b=two+words&a=3");
    assert_eq!(echoed["query"], json!({"a": "1", "b": "two words"}));
    assert_eq!(
        echoed["url"],
        format!("http://127.0.0.1:{port}/some/path?a=1&b=two+words&a=3")
    );
    assert_eq!(
        echoed["headers"]["x-custom"], "Yes",
        "header names are lower-case"
    );
    assert_eq!(echoed["headers"]["content-type"], "application/json");
    assert_eq!(echoed["headers"]["x-appwrite-trigger"], "http");
    assert_eq!(
        echoed["body"],
        json!({"hello": "world"}),
        "a JSON body is parsed"
    );
    assert_eq!(echoed["bodyText"], r#"{"hello":"world"}"#);
    assert_eq!(echoed["bodyRaw"], r#"{"hello":"world"}"#);
    assert_eq!(echoed["bodyJson"], json!({"hello": "world"}));
    assert_eq!(echoed["bodyBinaryLength"], 17);
    assert_eq!(
        echoed["bodyBinaryHead"],
        json!([123, 34, 104, 101, 108, 108, 111, 34])
    );

    // The SDK's log() JSON-encodes objects; the language's own printing (console.log, print())
    // goes to the logs too.
    let record = suite
        .execution_behind(&suite.function_id("echo"), &reply)
        .await;
    let logs = text_of(&record, "logs");
    assert!(
        logs.contains(suite.guests.echo_logs_the_object_as),
        "logs: {logs:?}"
    );
    assert!(
        logs.contains(&format!(
            "POST http://127.0.0.1:{port}/some/path?a=1&b=two+words&a=3"
        )),
        "the console line is in the logs: {logs:?}"
    );

    // Through the API: a text body stays text, and bodyJson fails.
    let record = suite
        .execution(
            "echo",
            json!({
                "method": "PUT",
                "path": "/p?x=1&empty=",
                "body": "plain text",
                "headers": {"content-type": "text/plain", "x-custom": "abc"},
            }),
        )
        .await;
    assert_eq!(record["status"], "completed", "{record}");
    let echoed: Value = serde_json::from_str(&text_of(&record, "responseBody")).expect("JSON echo");
    assert_eq!(echoed["method"], "PUT");
    assert_eq!(echoed["path"], "/p");
    assert_eq!(echoed["queryString"], "x=1&empty=");
    assert_eq!(echoed["query"], json!({"x": "1", "empty": ""}));
    assert_eq!(echoed["headers"]["x-custom"], "abc");
    assert_eq!(echoed["body"], "plain text");
    assert_eq!(echoed["bodyText"], "plain text");
    assert_eq!(echoed["bodyJson"], Value::Null);
    assert_eq!(echoed["bodyBinaryLength"], 10);
    let url = text_of(&echoed, "url");
    assert!(url.ends_with("/p?x=1&empty="), "url: {url}");
}

async fn responses_answers_with_every_kind_of_body_status_and_redirect(suite: Arc<Suite>) {
    let get = |query: &'static str| {
        let suite = suite.clone();
        async move {
            suite
                .send(suite.route(Method::GET, "responses", query))
                .await
        }
    };

    let text = get("/?type=text").await;
    assert_eq!(text.status, StatusCode::OK);
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        text.header("x-response-type"),
        Some("text"),
        "headers passed to res.text"
    );
    assert_eq!(text.text(), "Hello, text!");

    let json_reply = get("/?type=json").await;
    assert_eq!(json_reply.status, StatusCode::OK);
    assert_eq!(json_reply.header("content-type"), Some("application/json"));
    assert_eq!(json_reply.json(), json!({"type": "json", "ok": true}));

    let created = get("/?type=json&status=201").await;
    assert_eq!(created.status, StatusCode::CREATED, "res.json(obj, status)");

    let html = get("/?type=html").await;
    assert_eq!(
        html.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(html.text(), "<h1>Hello from wafer</h1>");

    let binary = get("/?type=binary").await;
    assert_eq!(
        binary.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(binary.body, vec![0, 1, 2, 3, 255]);

    let empty = get("/?type=empty").await;
    assert_eq!(empty.status, StatusCode::NO_CONTENT);
    assert!(empty.body.is_empty());

    let redirect = get("/?type=redirect").await;
    assert_eq!(redirect.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(redirect.header("location"), Some("https://appwrite.io/"));

    let found = get("/?type=redirect&status=302").await;
    assert_eq!(found.status, StatusCode::FOUND);

    let unknown = get("/?type=nope").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);

    // The same through the API: the response comes back in the record.
    let record = suite
        .execution("responses", json!({"method": "GET", "path": "/?type=json"}))
        .await;
    assert_eq!(record["responseStatusCode"], 200);
    assert_eq!(record["responseBody"], r#"{"type":"json","ok":true}"#);
    let headers = record["responseHeaders"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        headers.contains(&json!({"name": "content-type", "value": "application/json"})),
        "{headers:?}"
    );
}

async fn env_sees_its_own_variables_and_none_of_the_hosts(suite: Arc<Suite>) {
    let id = suite.function_id("env");
    let get = |name: &'static str| {
        let suite = suite.clone();
        async move {
            let record = suite
                .execution(
                    "env",
                    json!({"method": "GET", "path": format!("/?name={name}")}),
                )
                .await;
            let body: Value = serde_json::from_str(&text_of(&record, "responseBody"))
                .unwrap_or_else(|_| panic!("env answered {record}"));
            (
                record["responseStatusCode"].as_u64().unwrap_or_default(),
                body,
            )
        }
    };

    let (status, body) = get("APPWRITE_FUNCTION_ID").await;
    assert_eq!((status, &body["value"]), (200, &json!(id)), "{body}");
    let (status, body) = get("APPWRITE_FUNCTION_RUNTIME_NAME").await;
    assert_eq!(status, 200, "{body}");

    let (status, _) = get("GREETING").await;
    assert_eq!(status, 404, "GREETING is not set yet");

    // The host's environment does not leak into the guest.
    let record = suite
        .execution("env", json!({"method": "GET", "path": "/"}))
        .await;
    let names: Value = serde_json::from_str(&text_of(&record, "responseBody")).expect("names");
    let names: Vec<&str> = names["names"]
        .as_array()
        .expect("names")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(names.contains(&"APPWRITE_FUNCTION_ID"), "{names:?}");
    for host_only in ["PATH", "HOME", "CARGO_MANIFEST_DIR"] {
        assert!(
            !names.contains(&host_only),
            "{host_only} leaked into the guest: {names:?}"
        );
    }

    let reply = suite
        .admin_json(
            Method::POST,
            &format!("/v1/functions/{id}/variables"),
            json!({"key": "GREETING", "value": "hi", "secret": false}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "creating a variable (the variables API) failed: {}",
        reply.text()
    );
    let (status, body) = get("GREETING").await;
    assert_eq!((status, &body["value"]), (200, &json!("hi")), "{body}");
}

async fn outbound_reaches_the_allowed_host_and_is_refused_any_other(suite: Arc<Suite>) {
    let id = suite.function_id("outbound");
    let allowed = upstream::answering("hello from upstream").await;
    // Serving too, so that a refusal can only come from the allow-list.
    let other = upstream::answering("must not be reached").await;

    let reply = suite
        .admin_json(
            Method::PUT,
            &format!("/v1/functions/{id}"),
            json!({"name": id, "execute": ["any"], "outboundHosts": [format!("127.0.0.1:{allowed}")]}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "setting the allow-list: {}",
        reply.text()
    );

    let path = format!("/?url=http://127.0.0.1:{allowed}/greeting");
    let reply = suite
        .send(suite.route(Method::GET, "outbound", &path))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"status": 200, "body": "hello from upstream"})
    );

    let path = format!("/?url=http://127.0.0.1:{other}/secret");
    let record = suite
        .execution("outbound", json!({"method": "GET", "path": path}))
        .await;
    assert_eq!(record["responseStatusCode"], 502, "{record}");
    let body: Value = serde_json::from_str(&text_of(&record, "responseBody")).expect("JSON error");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(!text_of(&record, "responseBody").contains("must not be reached"));
    let errors = text_of(&record, "errors");
    assert!(errors.contains("denied"), "errors: {errors:?}");
}

async fn throw_fails_the_execution_and_leaves_the_error_in_the_errors(suite: Arc<Suite>) {
    let record = suite
        .execution("throw", json!({"method": "GET", "path": "/boom"}))
        .await;
    assert_eq!(record["status"], "failed", "{record}");
    assert_eq!(record["responseStatusCode"], 500, "{record}");
    let errors = text_of(&record, "errors");
    assert!(
        errors.contains(suite.guests.throw_first_writes_to_stderr),
        "stderr is captured: {errors:?}"
    );
    for marker in suite.guests.an_uncaught_error_leaves_in_the_errors {
        assert!(
            errors.contains(marker),
            "{marker:?} not in the errors: {errors:?}"
        );
    }

    let reply = suite.send(suite.route(Method::GET, "throw", "/x")).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
}
