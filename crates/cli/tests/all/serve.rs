//! `wafer serve` as an operator starts it: the real binary refusing weak secrets with the
//! reason and the way to make a good one.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const WAFER: &str = env!("CARGO_BIN_EXE_wafer");

/// Runs `wafer serve` over a fresh data directory with `env`; a server that is still running
/// after a while is stopped and reported as started.
fn serve_with(env: &[(&str, &str)]) -> Output {
    let data_dir = tempfile::tempdir().expect("data directory");
    let mut child = Command::new(WAFER)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("WAFER_DATA_DIR", data_dir.path())
        .env_remove("WAFER_ADMIN_KEY")
        .env_remove("WAFER_SECRET")
        .env_remove("WAFER_MASTER_KEY")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wafer runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("waits").is_none() {
        if Instant::now() > deadline {
            child.kill().expect("stops the server");
            let output = child.wait_with_output().expect("output");
            panic!(
                "wafer serve started: {}",
                String::from_utf8_lossy(&output.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

fn assert_refused_with(output: &Output, setting: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains(setting), "names {setting}: {stderr}");
    assert!(stderr.contains("at least 32"), "says the minimum: {stderr}");
    assert!(
        stderr.contains("openssl rand -hex 32"),
        "says how to make one: {stderr}"
    );
}

#[test]
fn serve_refuses_a_short_admin_key_and_says_how_to_make_one() {
    let output = serve_with(&[("WAFER_ADMIN_KEY", "dev-admin-key-change-me")]);
    assert_refused_with(&output, "WAFER_ADMIN_KEY");
}

#[test]
fn serve_refuses_an_empty_jwt_secret_and_says_how_to_make_one() {
    let output = serve_with(&[("WAFER_SECRET", "")]);
    assert_refused_with(&output, "WAFER_SECRET");
}
