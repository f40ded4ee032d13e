//! JavaScript functions: the examples in `guest-examples/js`, built with the SDK in
//! `guest-sdks/js` (componentize-js) by `scripts/build-guests.sh`, deployed to a real server and
//! driven through the API and the function route by the suite in `wafer_e2e::guest_suite`.
//!
//! Compiling a 12 MiB JavaScript component takes Cranelift 10–40 s, so every example is deployed
//! once and the checks share that server. Figures (build, deploy-to-ready, per-invocation time)
//! are printed to stderr; see them with `--nocapture`.

use wafer_e2e::guest_suite::Guests;

pub(crate) static JAVASCRIPT: Guests = Guests {
    language: "js",
    runtime: "javascript-wasi-0.2",
    function_prefix: "js",
    examples: &["hello", "echo", "responses", "env", "outbound", "throw"],
    build_needs: "Node.js 20+ and npm (it runs `npm ci` in guest-sdks/js)",
    // `log({ method, path })` JSON-encodes the object, without spaces.
    echo_logs_the_object_as: r#"{"method":"POST","path":"/some/path"}"#,
    // With `console.error`, before it throws.
    throw_first_writes_to_stderr: "about to throw",
    // The error's message and its stack.
    an_uncaught_error_leaves_in_the_errors: &[
        "Error: Something went wrong on GET /boom",
        "fn/index.js",
    ],
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_examples_run_through_the_api_and_function_routes() {
    JAVASCRIPT.deploy_and_check_every_example().await;
}
