//! C functions: the examples in `guest-examples/c`, built with the SDK in `guest-sdks/c` (zig cc
//! for wasm32-wasi, then jco's componentNew with the WASI preview1 adapter) by
//! `scripts/build-guests.sh c`, deployed to a real server and driven through the API and the
//! function route by the suite in `wafer_e2e::guest_suite`.
//!
//! The components are about 50 KiB and compile in well under a second. Figures (build,
//! deploy-to-ready, per-invocation time) are printed to stderr; see them with `--nocapture`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use wafer_e2e::guest_suite::Guests;

static C: Guests = Guests {
    language: "c",
    runtime: "c-wasi-0.2",
    function_prefix: "c",
    // No `outbound`: the C SDK has no HTTP client (wasi:http's bindings are there to use, raw).
    examples: &["hello", "echo", "responses", "env", "throw"],
    build_needs: "Python 3.9+ with venv and pip (it installs zig from guest-sdks/c/requirements.txt \
                  into guest-sdks/c/.venv) and Node.js 20+ with npm (jco, in guest-sdks/c)",
    // The example builds the JSON line with the SDK's buffer: no spaces.
    echo_logs_the_object_as: r#"{"method":"POST","path":"/some/path"}"#,
    // With `fprintf(stderr, ...)`, before `wafer_fail`.
    throw_first_writes_to_stderr: "about to fail",
    // `wafer_fail`'s message is the error of the failed execution.
    an_uncaught_error_leaves_in_the_errors: &["Something went wrong on GET /boom"],
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_examples_run_through_the_api_and_function_routes() {
    C.deploy_and_check_every_example().await;
}

/// How a C function fails: the example `failures` (C only, outside the shared suite) with each
/// `?mode=`, through the API; and what it answers when it does not fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_c_function_fails_with_its_message_and_answers_with_its_headers() {
    let root = wafer_testkit::repo_root();
    let output = std::process::Command::new("bash")
        .arg(root.join("scripts").join("build-guests.sh"))
        .arg("c")
        .current_dir(&root)
        .output()
        .expect("running scripts/build-guests.sh c");
    assert!(
        output.status.success(),
        "building the C examples failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bytes = std::fs::read(root.join("guest-examples/c/build/failures.wasm"))
        .expect("guest-examples/c/build/failures.wasm");

    let server = wafer_e2e::TestServer::start().await;
    let id = "c-failures";
    server.create_function_in(id, C.runtime, &["any"]).await;
    let deployment_id = server.upload_to_activate(id, bytes).await;
    let deployment = server.wait_for_build(id, &deployment_id).await;
    assert_eq!(deployment["status"], "ready", "{deployment}");
    server.wait_until_active(id, &deployment_id).await;

    let run = |mode: &'static str| {
        let server = &server;
        async move {
            let reply = server
                .execute(
                    id,
                    json!({"method": "GET", "path": format!("/?mode={mode}")}),
                )
                .await;
            assert_eq!(
                reply.status,
                StatusCode::CREATED,
                "{mode}: {}",
                reply.text()
            );
            let record = reply.json();
            let logs = record["logs"].as_str().unwrap_or_default();
            assert!(logs.contains(&format!("mode {mode}")), "{mode}: {record}");
            record
        }
    };
    let failed_with = |record: &Value, message: &str| {
        assert_eq!(record["status"], "failed", "{record}");
        assert_eq!(record["responseStatusCode"], 500, "{record}");
        let errors = record["errors"].as_str().unwrap_or_default();
        assert!(errors.contains(message), "{message:?} not in {errors:?}");
    };

    failed_with(&run("fail").await, "failed on purpose (42)");
    failed_with(&run("code").await, "wafer_main returned 7");
    failed_with(
        &run("unanswered").await,
        "wafer_main returned without answering",
    );
    failed_with(&run("status").await, "invalid status code 42");
    let trapped = run("trap").await;
    assert_eq!(trapped["status"], "failed", "{trapped}");

    let record = run("ok").await;
    assert_eq!(record["status"], "completed", "{record}");
    assert_eq!(record["responseStatusCode"], 201, "{record}");
    assert_eq!(record["responseBody"], "a,b\n1,2\n", "{record}");
    let headers = record["responseHeaders"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        headers.contains(&json!({"name": "content-type", "value": "text/csv"})),
        "{headers:?}"
    );
    let twice: Vec<&Value> = headers
        .iter()
        .filter(|header| header["name"] == "x-twice")
        .collect();
    assert_eq!(twice.len(), 2, "both x-twice headers: {headers:?}");
    assert!(
        !headers
            .iter()
            .any(|header| header["value"] == "text/plain; charset=utf-8"),
        "the default content-type is overridden: {headers:?}"
    );
}
