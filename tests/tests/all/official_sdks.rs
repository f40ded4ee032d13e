//! The official Appwrite SDKs drive a real wafer server through the whole Functions flow: npm
//! `node-appwrite` and PyPI `appwrite`, pinned under `tests/sdk/` and installed by
//! `scripts/install-sdk-clients.sh`. Each test starts a server and runs one language's
//! `sdk_flow` script against it: create a function, upload a deployment and wait until it is
//! ready, execute synchronously and asynchronously, list executions with queries, get one,
//! manage variables, upload a component big enough to go in chunks, list deployments, and catch
//! a typed error for a missing function.
//!
//! A missing SDK install fails the test; it never passes silently.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wafer_e2e::{ADMIN_KEY, TestServer};

/// How long one SDK script may run before it is killed and the test fails.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(300);

const INSTALL_HINT: &str = "run scripts/install-sdk-clients.sh (scripts/test.sh does) to install the \
                            pinned official SDKs";

/// One language's SDK script: the program that runs it and what must exist beforehand.
struct SdkScript {
    language: &'static str,
    program: PathBuf,
    args: Vec<PathBuf>,
    /// A file the SDK install leaves; without it the SDK is not installed.
    installed: PathBuf,
}

fn node_script(root: &Path) -> SdkScript {
    SdkScript {
        language: "node",
        program: PathBuf::from("node"),
        args: vec![root.join("tests/sdk/node/sdk_flow.mjs")],
        installed: root.join("tests/sdk/node/node_modules/node-appwrite/package.json"),
    }
}

fn python_script(root: &Path) -> SdkScript {
    let python = root.join("tests/sdk/python/.venv/bin/python");
    SdkScript {
        language: "python",
        program: python.clone(),
        args: vec![root.join("tests/sdk/python/sdk_flow.py")],
        installed: python,
    }
}

/// A function id no other run shares: `sdk-<language>-<time><pid>`, within Appwrite's 36 chars.
fn unique_function_id(language: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let id = format!(
        "sdk-{language}-{:x}{:x}",
        nanos & 0xffff_ffff_ffff,
        std::process::id()
    );
    id.chars().take(36).collect()
}

struct Finished {
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

fn read_all(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `command` to the end, or kills it at the deadline (`status` is then `None`).
fn run_with_deadline(mut command: Command, what: &str) -> Finished {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {what}: {error}; {INSTALL_HINT}"));
    let stdout = read_all(child.stdout.take().expect("piped stdout"));
    let stderr = read_all(child.stderr.take().expect("piped stderr"));
    let status = loop {
        match child.try_wait().expect("waiting for the SDK script") {
            Some(status) => break Some(status),
            None if started.elapsed() > SCRIPT_DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    Finished {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        elapsed: started.elapsed(),
    }
}

async fn run_sdk_flow(script: SdkScript) {
    assert!(
        script.installed.exists(),
        "the official {} SDK is not installed ({} is missing): {INSTALL_HINT}",
        script.language,
        script.installed.display(),
    );
    let wasm = tokio::task::spawn_blocking(|| wafer_testkit::rust_example("hello"))
        .await
        .expect("building the hello example");

    let server = TestServer::start().await;
    let function_id = unique_function_id(script.language);
    let mut command = Command::new(&script.program);
    command
        .args(&script.args)
        .current_dir(wafer_testkit::repo_root())
        .env("WAFER_ENDPOINT", &server.server.api_endpoint)
        .env("WAFER_PROJECT", "default")
        .env("WAFER_KEY", ADMIN_KEY)
        .env("WAFER_WASM", &wasm)
        .env("WAFER_FUNCTION_ID", &function_id)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NO_COLOR", "1");
    let what = format!(
        "the {} SDK script ({})",
        script.language,
        script.program.display()
    );
    let finished = {
        let what = what.clone();
        tokio::task::spawn_blocking(move || run_with_deadline(command, &what))
            .await
            .expect("the SDK script runner")
    };
    server.server.shutdown().await;

    let transcript = format!(
        "--- {what}, {:.1} s, function {function_id}\n--- stdout:\n{}\n--- stderr:\n{}",
        finished.elapsed.as_secs_f64(),
        finished.stdout.trim_end(),
        finished.stderr.trim_end(),
    );
    match finished.status {
        Some(status) if status.success() => println!("{transcript}"),
        Some(status) => panic!("{what} failed ({status})\n{transcript}"),
        None => panic!(
            "{what} did not finish within {} s and was killed\n{transcript}",
            SCRIPT_DEADLINE.as_secs()
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_sdk_drives_the_whole_functions_flow() {
    run_sdk_flow(node_script(&wafer_testkit::repo_root())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_drives_the_whole_functions_flow() {
    run_sdk_flow(python_script(&wafer_testkit::repo_root())).await;
}
