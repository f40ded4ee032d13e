//! Python functions: the examples in `guest-examples/python`, built with the SDK in
//! `guest-sdks/python` (componentize-py) by `scripts/build-guests.sh`, deployed to a real server
//! and driven through the API and the function route by the suite in `wafer_e2e::guest_suite`.
//!
//! Compiling an 18 MiB Python component takes Cranelift 15–60 s, so every example is deployed
//! once and the checks share that server. Figures (build, deploy-to-ready, per-invocation time)
//! are printed to stderr; see them with `--nocapture`.

use wafer_e2e::guest_suite::Guests;

static PYTHON: Guests = Guests {
    language: "python",
    runtime: "python-wasi-0.2",
    function_prefix: "py",
    examples: &["hello", "echo", "responses", "env", "outbound", "throw"],
    build_needs: "Python 3.9+ with venv and pip (it installs guest-sdks/python/requirements.txt \
                  into guest-sdks/python/.venv)",
    // `context.log({...})` JSON-encodes the dict with `json.dumps`, which puts in spaces.
    echo_logs_the_object_as: r#"{"method": "POST", "path": "/some/path"}"#,
    // With `print(..., file=sys.stderr)`, before it raises.
    throw_first_writes_to_stderr: "about to raise",
    // The traceback.
    an_uncaught_error_leaves_in_the_errors: &[
        "Traceback (most recent call last)",
        "main.py\", line",
        "RuntimeError: Something went wrong on GET /boom",
    ],
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_examples_run_through_the_api_and_function_routes() {
    PYTHON.deploy_and_check_every_example().await;
}
