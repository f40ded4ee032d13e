//! `wafer init`, `wafer build` and `wafer deploy DIR` as a person runs them: the real binary
//! (`CARGO_BIN_EXE_wafer`) on fresh template directories, with the real toolchains (cargo,
//! componentize-js, componentize-py). The Rust builds share a target directory under the
//! workspace's `target/`, so that the SDK's dependencies compile once; the JavaScript and Python
//! templates are built once each (10-40 s apiece).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;
use tempfile::TempDir;
use wafer_e2e::{ADMIN_KEY, TestServer};

const WAFER: &str = env!("CARGO_BIN_EXE_wafer");
/// Shared by the Rust builds of every run of these tests.
const CARGO_TARGET_DIR: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/wafer-init-tests");
const RUST_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest-sdks/rust");
/// A WebAssembly component's first bytes: the magic, version 0x0d, layer 1.
const COMPONENT_MAGIC: &[u8] = b"\0asm\x0d\0\x01\0";

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(self) -> Self {
        assert_eq!(self.code, 0, "{self:#?}");
        self
    }

    #[track_caller]
    fn fails_with(self, code: i32) -> Self {
        assert_eq!(self.code, code, "{self:#?}");
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {self:#?}"))
    }
}

/// A user's shell: no saved configuration, no wafer variables but those given.
struct Shell {
    config_home: TempDir,
    env: Vec<(&'static str, String)>,
}

impl Shell {
    fn new() -> Self {
        Self {
            config_home: tempfile::tempdir().expect("configuration directory"),
            env: Vec::new(),
        }
    }

    fn with_server(server: &TestServer) -> Self {
        let mut shell = Self::new();
        shell.env = vec![
            ("WAFER_ENDPOINT", server.server.api_endpoint.clone()),
            ("WAFER_KEY", ADMIN_KEY.to_owned()),
        ];
        shell
    }

    fn set(mut self, name: &'static str, value: &str) -> Self {
        self.env.push((name, value.to_owned()));
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(WAFER);
        command
            .args(args)
            .env_remove("WAFER_ENDPOINT")
            .env_remove("WAFER_PROJECT")
            .env_remove("WAFER_KEY")
            .env_remove("WAFER_SDK_DIR")
            .env("XDG_CONFIG_HOME", self.config_home.path())
            .env("CARGO_TARGET_DIR", CARGO_TARGET_DIR)
            .envs(self.env.iter().map(|(name, value)| (*name, value)))
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().expect("the wafer binary runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// [`Shell::run`] off the async runtime that serves the test server.
    async fn run_async(&self, args: &[&str]) -> Run {
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
}

fn text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

/// Asserts that `path` is a component and returns its size.
#[track_caller]
fn assert_component(path: &Path) -> usize {
    let bytes = std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    assert!(
        bytes.starts_with(COMPONENT_MAGIC),
        "{} starts with {:?}",
        path.display(),
        &bytes[..bytes.len().min(8)]
    );
    bytes.len()
}

/// `wafer init LANGUAGE DIR`, checked, with the files it must write.
fn init(shell: &Shell, language: &str, dir: &Path, files: &[&str]) {
    let run = shell.run(&["init", language, text(dir)]).ok();
    assert!(run.stdout.contains("Created a"), "{run:#?}");
    assert!(run.stdout.contains("wafer build"), "{run:#?}");
    for file in files.iter().chain(&[".gitignore", "wafer.json"]) {
        assert!(dir.join(file).is_file(), "{file} missing: {run:#?}");
    }
}

/// `wafer build DIR`, checked; returns the component's path from what it printed.
fn build(shell: &Shell, dir: &Path, expected: &Path) -> PathBuf {
    let started = Instant::now();
    let run = shell.run(&["build", text(dir)]).ok();
    eprintln!(
        "wafer build {}: {:.1} s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        run.stdout
            .starts_with(&format!("Built {} (", expected.display())),
        "{run:#?}"
    );
    assert!(run.stdout.contains("iB"), "the size: {run:#?}");
    assert_component(expected);
    expected.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_function_is_written_built_deployed_and_says_hello() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = tmp.path().join("hello-rust");
    let shell = Shell::new();
    init(&shell, "rust", &dir, &["Cargo.toml", "src/lib.rs"]);
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
    let sdk = Path::new(RUST_SDK).canonicalize().expect("the Rust SDK");
    assert!(
        manifest.contains(&format!("wafer-guest = {{ path = \"{}\" }}", sdk.display())),
        "{manifest}"
    );
    assert!(manifest.contains("name = \"hello-rust\""), "{manifest}");

    let wasm = dir.join("build/hello_rust.wasm");
    tokio::task::block_in_place(|| build(&shell, &dir, &wasm));

    let server = TestServer::start().await;
    let shell = Shell::with_server(&server);
    let deployed = shell
        .run_async(&["deploy", "myfn", text(&dir), "--activate", "--public"])
        .await
        .ok();
    assert!(deployed.stderr.contains("Built "), "{deployed:#?}");
    assert!(deployed.stdout.contains("is ready"), "{deployed:#?}");
    let function = shell
        .run_async(&["functions", "get", "myfn", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(function["runtime"], "rust-wasi-0.2");

    let hello = shell.run_async(&["invoke", "myfn"]).await.ok();
    assert_eq!(hello.stdout.trim_end(), "Hello, World!");
    let execution = shell
        .run_async(&["invoke", "myfn", "-X", "POST", "--json"])
        .await
        .ok()
        .json();
    let motto: Value =
        serde_json::from_str(execution["responseBody"].as_str().expect("a response body"))
            .expect("a JSON body");
    assert_eq!(motto["motto"], "Build like a team of hundreds_");
    assert_eq!(motto["getInspired"], "https://builtwith.appwrite.io");
    let logs = execution["logs"].as_str().expect("logs");
    assert!(logs.contains("Hello, Logs!"), "{execution}");
}

#[test]
fn a_rust_compile_error_fails_the_build_with_cargos_message() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = tmp.path().join("broken-rust");
    let shell = Shell::new();
    init(&shell, "rust", &dir, &["Cargo.toml", "src/lib.rs"]);
    let lib = dir.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).expect("lib.rs");
    let broken = source.replace(
        "ctx.log(\"Hello, Logs!\");",
        "let count: u32 = \"many\";\n    ctx.log(count);",
    );
    assert_ne!(broken, source, "the template logs Hello, Logs!");
    std::fs::write(&lib, broken).expect("writes lib.rs");

    let run = shell.run(&["build", text(&dir)]).fails_with(1);
    assert!(
        run.stderr.contains("error[E0308]: mismatched types"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("src/lib.rs:"), "{run:#?}");
    assert!(
        run.stderr
            .contains("`cargo build --release --target wasm32-wasip2` exited with status"),
        "{run:#?}"
    );
    assert!(run.stdout.is_empty(), "{run:#?}");
    assert!(!dir.join("build").exists());

    // `deploy DIR` builds first: it fails the same way before it reaches any server.
    let shell = shell
        .set("WAFER_ENDPOINT", "http://127.0.0.1:9/v1")
        .set("WAFER_KEY", "unused");
    let run = shell
        .run(&["deploy", "broken", text(&dir), "--activate"])
        .fails_with(1);
    assert!(run.stderr.contains("mismatched types"), "{run:#?}");
}

#[test]
fn a_javascript_function_is_written_and_built() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = tmp.path().join("hello-js");
    let shell = Shell::new();
    init(&shell, "js", &dir, &["index.js", "package.json"]);
    let manifest = std::fs::read_to_string(dir.join("wafer.json")).expect("wafer.json");
    let manifest: Value = serde_json::from_str(&manifest).expect("JSON");
    assert_eq!(
        manifest,
        serde_json::json!({"language": "js", "entrypoint": "index.js"})
    );
    let wasm = build(&shell, &dir, &dir.join("build/hello-js.wasm"));
    assert!(assert_component(&wasm) > 1024 * 1024);
}

#[test]
fn a_python_function_is_written_and_built() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = tmp.path().join("hello-py");
    let shell = Shell::new();
    init(&shell, "python", &dir, &["main.py"]);
    let wasm = build(&shell, &dir, &dir.join("build/hello-py.wasm"));
    assert!(assert_component(&wasm) > 1024 * 1024);
}

#[test]
fn init_refuses_a_directory_that_is_not_empty_unless_forced() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = tmp.path().join("taken");
    std::fs::create_dir(&dir).expect("creates");
    std::fs::write(dir.join("notes.txt"), "mine").expect("writes");
    let shell = Shell::new();

    let refused = shell.run(&["init", "python", text(&dir)]).fails_with(2);
    assert!(refused.stderr.contains("is not empty"), "{refused:#?}");
    assert!(refused.stderr.contains("notes.txt"), "{refused:#?}");
    assert!(refused.stderr.contains("--force"), "{refused:#?}");
    assert!(!dir.join("main.py").exists());

    shell.run(&["init", "python", text(&dir), "--force"]).ok();
    assert!(dir.join("main.py").is_file());
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).expect("kept"),
        "mine"
    );

    let file = shell
        .run(&["init", "js", text(&dir.join("notes.txt")), "--force"])
        .fails_with(2);
    assert!(file.stderr.contains("not a directory"), "{file:#?}");
}

#[test]
fn an_unknown_language_is_a_usage_error() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = tmp.path().join("fn");
    let run = Shell::new()
        .run(&["init", "cobol", text(&dir)])
        .fails_with(2);
    assert!(run.stderr.contains("invalid value 'cobol'"), "{run:#?}");
    assert!(run.stderr.contains("rust, js, python"), "{run:#?}");
    assert!(!dir.exists());
}

#[test]
fn a_missing_sdk_is_reported_before_anything_is_written() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = tmp.path().join("fn");
    let missing = tmp.path().join("no-sdks");
    let run = Shell::new()
        .set("WAFER_SDK_DIR", text(&missing))
        .run(&["init", "rust", text(&dir)])
        .fails_with(1);
    assert!(run.stderr.contains("WAFER_SDK_DIR"), "{run:#?}");
    assert!(run.stderr.contains("no-sdks"), "{run:#?}");
    assert!(!dir.exists());
}

#[test]
fn build_says_what_it_expects_of_a_directory() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    std::fs::write(tmp.path().join("README.md"), "# notes").expect("writes");
    let shell = Shell::new();
    let unknown = shell.run(&["build", text(tmp.path())]).fails_with(2);
    assert!(
        unknown.stderr.contains("Cannot tell which language"),
        "{unknown:#?}"
    );
    assert!(unknown.stderr.contains("wafer.json"), "{unknown:#?}");
    let missing = shell
        .run(&["build", text(&tmp.path().join("nowhere"))])
        .fails_with(2);
    assert!(
        missing.stderr.contains("is not a directory"),
        "{missing:#?}"
    );
}
