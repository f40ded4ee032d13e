//! The `wafer` client commands as a person runs them: the real binary (cargo builds it for this
//! test, `CARGO_BIN_EXE_wafer`) against a real server on a loopback port, with a private
//! configuration directory. Output meant for scripts is read back with serde_json; errors are
//! checked by exit code and by the hint they print.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;
use wafer_e2e::{ADMIN_KEY, TestServer};

const WAFER: &str = env!("CARGO_BIN_EXE_wafer");

/// What one run of the CLI did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {self:?}"))
    }

    #[track_caller]
    fn ok(self) -> Self {
        assert_eq!(self.code, 0, "{self:?}");
        self
    }
}

/// A user's shell: an empty configuration directory and, unless cleared, the server's endpoint
/// and admin key in the environment.
struct Shell {
    config_home: TempDir,
    env: Vec<(&'static str, String)>,
}

impl Shell {
    fn new(server: &TestServer) -> Self {
        Self {
            config_home: tempfile::tempdir().expect("configuration directory"),
            env: vec![
                ("WAFER_ENDPOINT", server.server.api_endpoint.clone()),
                ("WAFER_KEY", ADMIN_KEY.to_owned()),
            ],
        }
    }

    /// A shell with nothing set: only flags and the saved configuration count.
    fn bare() -> Self {
        Self {
            config_home: tempfile::tempdir().expect("configuration directory"),
            env: Vec::new(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(WAFER);
        command
            .args(args)
            .env_remove("WAFER_ENDPOINT")
            .env_remove("WAFER_PROJECT")
            .env_remove("WAFER_KEY")
            .env_remove("WAFER_BASE_DOMAIN")
            .env("XDG_CONFIG_HOME", self.config_home.path())
            .env("HOME", self.config_home.path())
            .envs(self.env.iter().map(|(name, value)| (*name, value)))
            .stdin(Stdio::null());
        command
    }

    /// Runs `wafer ARGS…` to completion, off the async runtime that serves the test server.
    async fn run(&self, args: &[&str]) -> Run {
        let mut command = self.command(args);
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("the CLI thread")
            .expect("the wafer binary runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn config_file(&self) -> PathBuf {
        self.config_home.path().join("wafer/config.json")
    }
}

async fn hello_wasm() -> PathBuf {
    tokio::task::spawn_blocking(|| wafer_testkit::rust_example("hello"))
        .await
        .expect("building the examples")
}

fn text(path: &Path) -> String {
    path.to_str().expect("UTF-8 path").to_owned()
}

async fn deploy_hello(shell: &Shell, function: &str) -> Run {
    let wasm = text(&hello_wasm().await);
    shell
        .run(&["deploy", function, &wasm, "--activate", "--public"])
        .await
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_invoke_and_read_the_logs() {
    let server = TestServer::start().await;
    let shell = Shell::new(&server);

    let deployed = deploy_hello(&shell, "hello").await;
    assert!(deployed.stdout.contains("is ready"), "{deployed:?}");
    assert!(
        deployed.stderr.contains("Created function hello"),
        "{deployed:?}"
    );
    let fn_url = format!("http://{}/fn/hello/", server.server.local_addr);
    assert!(deployed.stdout.contains(&fn_url), "{deployed:?}");
    let port = server.server.local_addr.port();
    let host_url = format!("http://hello.functions.localhost:{port}/");
    assert!(deployed.stdout.contains(&host_url), "{deployed:?}");
    // The printed URL answers, without a key.
    let page = server
        .http
        .get(&fn_url)
        .send()
        .await
        .expect("the URL answers");
    assert_eq!(page.text().await.expect("a body"), "Hello, World!");

    let invoked = shell.run(&["invoke", "hello"]).await.ok();
    assert_eq!(invoked.stdout, "Hello, World!");

    let posted = shell
        .run(&[
            "invoke",
            "hello",
            "--body",
            "{}",
            "--header",
            "Content-Type: application/json",
            "--json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(posted["status"], "completed", "{posted}");
    assert_eq!(posted["requestMethod"], "POST");
    assert_eq!(posted["responseStatusCode"], 200);
    let motto: Value = serde_json::from_str(posted["responseBody"].as_str().unwrap_or_default())
        .expect("the JSON motto");
    assert_eq!(motto["motto"], "Build like a team of hundreds_");
    assert!(
        posted["logs"]
            .as_str()
            .unwrap_or_default()
            .contains("Hello, Logs!")
    );

    let queued = shell.run(&["invoke", "hello", "--async"]).await.ok();
    let async_id = queued.stdout.trim().to_owned();
    assert!(
        !async_id.is_empty() && !async_id.contains(' '),
        "{queued:?}"
    );

    // Four executions: the URL fetched above, two synchronous invocations and this one.
    let listed = wait_for_execution(&shell, "hello", &async_id).await;
    assert_eq!(
        listed["executions"].as_array().map(Vec::len),
        Some(4),
        "{listed}"
    );

    let table = shell.run(&["executions", "hello"]).await.ok();
    assert!(table.stdout.starts_with("ID "), "{table:?}");
    assert!(table.stdout.contains(&async_id), "{table:?}");
    let failed_only = shell
        .run(&["executions", "hello", "--status", "failed", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(failed_only["executions"], Value::Array(Vec::new()));

    let one = shell
        .run(&["executions", "hello", &async_id, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(one["$id"], async_id.as_str());

    let logs = shell.run(&["logs", "hello"]).await.ok();
    assert_eq!(
        logs.stdout.matches("  | Hello, Logs!").count(),
        4,
        "{logs:?}"
    );
    assert_eq!(
        logs.stdout.matches("  ! Hello, Errors!").count(),
        4,
        "{logs:?}"
    );
    let last = shell.run(&["logs", "hello", "--limit", "1"]).await.ok();
    assert_eq!(last.stdout.matches("Hello, Logs!").count(), 1, "{last:?}");
    assert!(last.stdout.contains(&async_id), "{last:?}");

    let functions = shell
        .run(&["functions", "list", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(functions["functions"][0]["$id"], "hello", "{functions}");
    assert_eq!(functions["functions"][0]["runtime"], "wasi-0.2");
    assert_eq!(
        functions["functions"][0]["execute"],
        serde_json::json!(["any"])
    );
}

/// Polls `executions --json` until `id` has finished, and returns the last list.
async fn wait_for_execution(shell: &Shell, function: &str, id: &str) -> Value {
    for _ in 0..100 {
        let listed = shell
            .run(&["executions", function, "--json"])
            .await
            .ok()
            .json();
        let finished = listed["executions"].as_array().is_some_and(|executions| {
            executions
                .iter()
                .any(|e| e["$id"] == id && e["status"] == "completed")
        });
        if finished {
            return listed;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("execution {id} did not complete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_say_what_went_wrong_with_their_exit_code() {
    let server = TestServer::start().await;
    let shell = Shell::new(&server);
    let endpoint = server.server.api_endpoint.clone();

    let wrong_key = shell
        .run(&["functions", "list", "--key", "not-a-key"])
        .await;
    assert_eq!(wrong_key.code, 5, "{wrong_key:?}");
    assert!(
        wrong_key
            .stderr
            .contains("The key was refused (user_unauthorized)"),
        "{wrong_key:?}"
    );
    assert!(wrong_key.stderr.contains("wafer login"), "{wrong_key:?}");

    let missing = shell.run(&["invoke", "nope"]).await;
    assert_eq!(missing.code, 4, "{missing:?}");
    assert!(missing.stderr.contains("function_not_found"), "{missing:?}");
    let missing = shell.run(&["functions", "get", "nope", "--json"]).await;
    assert_eq!(missing.code, 4, "{missing:?}");
    assert_eq!(missing.stdout, "", "errors go to stderr only");

    let unreachable = shell
        .run(&["functions", "list", "--endpoint", "http://127.0.0.1:9/v1"])
        .await;
    assert_eq!(unreachable.code, 3, "{unreachable:?}");
    assert!(
        unreachable
            .stderr
            .contains("Cannot reach the wafer server at http://127.0.0.1:9/v1"),
        "{unreachable:?}"
    );
    assert!(
        unreachable.stderr.contains("WAFER_ENDPOINT"),
        "{unreachable:?}"
    );

    let no_key = Shell::bare()
        .run(&["functions", "list", "--endpoint", &endpoint])
        .await;
    assert_eq!(no_key.code, 5, "{no_key:?}");
    assert!(no_key.stderr.contains("No API key"), "{no_key:?}");

    let wrong_project = shell.run(&["functions", "list", "--project", "nope"]).await;
    assert_eq!(wrong_project.code, 4, "{wrong_project:?}");
    assert!(
        wrong_project.stderr.contains("project_not_found"),
        "{wrong_project:?}"
    );

    let bad_header = shell.run(&["invoke", "x", "--header", "no-colon"]).await;
    assert_eq!(bad_header.code, 2, "{bad_header:?}");
    let missing_argument = shell.run(&["deploy", "x"]).await;
    assert_eq!(missing_argument.code, 2, "{missing_argument:?}");
    let bad_endpoint = shell
        .run(&["functions", "list", "--endpoint", "localhost:1"])
        .await;
    assert_eq!(bad_endpoint.code, 2, "{bad_endpoint:?}");
    let not_a_component = shell.run(&["deploy", "x", file!()]).await;
    assert_eq!(not_a_component.code, 2, "{not_a_component:?}");

    let bad_argument = shell
        .run(&["functions", "create", "bad", "--runtime", "cobol"])
        .await;
    assert_eq!(bad_argument.code, 1, "{bad_argument:?}");
    assert!(
        bad_argument.stderr.contains("general_argument_invalid"),
        "{bad_argument:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_build_prints_its_logs_and_fails() {
    let server = TestServer::start().await;
    let shell = Shell::new(&server);
    let dir = tempfile::tempdir().expect("temporary directory");
    // Starts like gzip, so the CLI sends it, but is no archive.
    let broken = dir.path().join("broken.tar.gz");
    std::fs::write(&broken, [0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4]).expect("writes");
    let run = shell.run(&["deploy", "broken", &text(&broken)]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("Build logs:"), "{run:?}");
    assert!(run.stderr.contains("failed; its logs are above"), "{run:?}");
    let json = shell
        .run(&["deploy", "broken", &text(&broken), "--json"])
        .await;
    assert_eq!(json.code, 1, "{json:?}");
    assert_eq!(json.json()["status"], "failed");
}

/// A valid component over 5 MiB: `hello` with a custom section of padding appended.
fn padded_component(hello: &Path, padding: usize) -> Vec<u8> {
    fn leb128(mut value: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut bytes = std::fs::read(hello).expect("hello.wasm");
    let name = b"padding";
    let mut section = Vec::new();
    leb128(name.len(), &mut section);
    section.extend_from_slice(name);
    section.resize(section.len() + padding, 0);
    bytes.push(0);
    leb128(section.len(), &mut bytes);
    bytes.extend_from_slice(&section);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_component_is_uploaded_in_chunks() {
    let server = TestServer::start().await;
    let shell = Shell::new(&server);
    let dir = tempfile::tempdir().expect("temporary directory");
    let big = dir.path().join("big.wasm");
    let bytes = padded_component(&hello_wasm().await, 11 << 20);
    std::fs::write(&big, &bytes).expect("writes");

    let deployed = shell
        .run(&["deploy", "big", &text(&big), "--activate", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(deployed["status"], "ready", "{deployed}");
    assert_eq!(deployed["sourceSize"], bytes.len(), "{deployed}");
    assert_eq!(deployed["chunksTotal"], 3, "{deployed}");
    let invoked = shell.run(&["invoke", "big"]).await.ok();
    assert_eq!(invoked.stdout, "Hello, World!");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_saves_a_private_configuration_the_other_commands_use() {
    let server = TestServer::start().await;
    let endpoint = server.server.api_endpoint.clone();
    let shell = Shell::bare();

    let refused = shell
        .run(&["login", "--endpoint", &endpoint, "--key", "wrong"])
        .await;
    assert_eq!(refused.code, 5, "{refused:?}");
    assert!(
        !shell.config_file().exists(),
        "a refused login saves nothing"
    );

    // Without /v1: the CLI adds it.
    let base = endpoint.trim_end_matches("/v1");
    let login = shell
        .run(&["login", "--endpoint", base, "--key", ADMIN_KEY])
        .await
        .ok();
    assert!(login.stdout.contains("Logged in"), "{login:?}");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(shell.config_file()).expect("saved"))
            .expect("JSON");
    assert_eq!(saved["endpoint"], endpoint.as_str());
    assert_eq!(saved["project"], "default");
    assert_eq!(saved["key"], ADMIN_KEY);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(shell.config_file())
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let listed = shell
        .run(&["functions", "list", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(listed["functions"], Value::Array(Vec::new()));
    // A flag still wins over the saved key.
    let overridden = shell.run(&["functions", "list", "--key", "wrong"]).await;
    assert_eq!(overridden.code, 5, "{overridden:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_and_variables_are_managed_by_name() {
    let server = TestServer::start().await;
    let shell = Shell::new(&server);

    let created = shell
        .run(&[
            "functions",
            "create",
            "env",
            "--name",
            "Env",
            "--timeout",
            "30",
            "--json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(
        (created["name"].clone(), created["timeout"].clone()),
        ("Env".into(), 30.into())
    );
    let updated = shell
        .run(&["functions", "update", "env", "--public", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(updated["name"], "Env", "the name is kept");
    assert_eq!(updated["timeout"], 30, "other settings are kept");
    assert_eq!(updated["execute"], serde_json::json!(["any"]));
    let shown = shell.run(&["functions", "get", "env"]).await.ok();
    assert!(shown.stdout.contains("Execute:"), "{shown:?}");

    shell
        .run(&["variables", "create", "env", "GREETING", "hello", "--plain"])
        .await
        .ok();
    shell
        .run(&["variables", "create", "env", "TOKEN", "s3cret"])
        .await
        .ok();
    let listed = shell
        .run(&["variables", "list", "env", "--json"])
        .await
        .ok()
        .json();
    let variables = listed["variables"].as_array().cloned().unwrap_or_default();
    assert_eq!(variables.len(), 2, "{listed}");
    let token = variables
        .iter()
        .find(|v| v["key"] == "TOKEN")
        .expect("TOKEN");
    assert_eq!(
        (token["secret"].clone(), token["value"].clone()),
        (true.into(), "".into())
    );
    let table = shell.run(&["variables", "list", "env"]).await.ok();
    assert!(
        table.stdout.contains("(secret)") && !table.stdout.contains("s3cret"),
        "{table:?}"
    );

    let changed = shell
        .run(&[
            "variables",
            "update",
            "env",
            "GREETING",
            "--value",
            "bonjour",
            "--json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(changed["value"], "bonjour");
    shell
        .run(&["variables", "delete", "env", "GREETING"])
        .await
        .ok();
    let gone = shell.run(&["variables", "delete", "env", "GREETING"]).await;
    assert_eq!(gone.code, 4, "{gone:?}");

    shell.run(&["functions", "delete", "env"]).await.ok();
    let deleted = shell.run(&["functions", "get", "env"]).await;
    assert_eq!(deleted.code, 4, "{deleted:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_created_used_and_revoked() {
    let server = TestServer::start().await;
    let shell = Shell::new(&server);

    let created = shell
        .run(&[
            "keys",
            "create",
            "ci",
            "--scope",
            "functions.read",
            "--json",
        ])
        .await
        .ok()
        .json();
    let secret = created["secret"].as_str().unwrap_or_default().to_owned();
    let id = created["$id"].as_str().unwrap_or_default().to_owned();
    assert!(!secret.is_empty() && !id.is_empty(), "{created}");

    shell
        .run(&["functions", "list", "--key", &secret])
        .await
        .ok();
    let lacking = shell
        .run(&["functions", "create", "x", "--key", &secret])
        .await;
    assert_eq!(lacking.code, 5, "{lacking:?}");
    assert!(
        lacking.stderr.contains("general_unauthorized_scope"),
        "{lacking:?}"
    );

    let listed = shell.run(&["keys", "list"]).await.ok();
    assert!(
        listed.stdout.contains(&id) && !listed.stdout.contains(&secret),
        "{listed:?}"
    );

    shell.run(&["keys", "delete", &id]).await.ok();
    let revoked = shell.run(&["functions", "list", "--key", &secret]).await;
    assert_eq!(revoked.code, 5, "{revoked:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_prints_new_executions_until_interrupted() {
    let server = TestServer::start().await;
    let shell = Shell::new(&server);
    deploy_hello(&shell, "hello").await;

    let mut child = shell
        .command(&["logs", "hello", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("wafer logs --follow starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });

    shell.run(&["invoke", "hello"]).await.ok();
    let line = tokio::task::spawn_blocking(move || {
        loop {
            match received.recv_timeout(Duration::from_secs(20)) {
                Ok(line) if line.contains("Hello, Logs!") => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    })
    .await
    .expect("the reader");
    assert!(line.is_some(), "the new execution's logs were not printed");

    // Ctrl-C ends it cleanly.
    let pid = child.id().to_string();
    let signalled = Command::new("kill").args(["-INT", &pid]).status();
    assert!(signalled.is_ok_and(|status| status.success()));
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("the waiter")
        .expect("wafer exits");
    assert_eq!(status.code(), Some(0));
}
