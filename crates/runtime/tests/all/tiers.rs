//! The two compiler tiers: a large component serves at once on Winch code, under every limit,
//! and Cranelift's code takes over later and is what a restart loads.

use std::time::{Duration, Instant};

use crate::common::{body_text, get};
use wafer_runtime::{
    ArtifactHash, ExecutionStatus, Failure, Limits, OutboundPolicy, Runtime, RuntimeConfig, Tier,
};

/// Optimizing a JavaScript component takes 12-17 s on an idle machine; this only bounds a hang.
const OPTIMIZE_DEADLINE: Duration = Duration::from_secs(600);

fn runtime_with_winch_threshold(dir: &std::path::Path, threshold: usize) -> Runtime {
    let mut config = RuntimeConfig::new(dir);
    config.engine.winch_threshold_bytes = Some(threshold);
    Runtime::new(config).expect("runtime starts")
}

async fn call(
    runtime: &Runtime,
    id: &ArtifactHash,
    limits: &Limits,
) -> wafer_runtime::InvocationOutcome {
    runtime
        .invoke(id, get("/"), limits, &[], &OutboundPolicy::deny_all())
        .await
        .expect("the invocation runs")
}

async fn wait_for_cranelift(runtime: &Runtime, id: &ArtifactHash) {
    let deadline = Instant::now() + OPTIMIZE_DEADLINE;
    while runtime.tier(id) != Some(Tier::Cranelift) {
        assert!(Instant::now() < deadline, "Cranelift never took over");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_component_serves_on_winch_at_once_under_every_limit_and_cranelift_takes_over_later()
 {
    let dir = tempfile::tempdir().expect("temporary directory");
    let runtime = runtime_with_winch_threshold(dir.path(), 0);
    let js = wafer_testkit::repo_root().join("guest-examples/js/build/hello.wasm");
    let js =
        std::fs::read(&js).expect("guest-examples/js/build/hello.wasm (scripts/build-guests.sh)");
    let compiled = runtime.compile(js).await.expect("the JS hello compiles");
    assert_eq!(compiled.tier, Tier::Winch);
    let outcome = call(&runtime, &compiled.artifact, &Limits::default()).await;
    assert_eq!(
        outcome.status,
        ExecutionStatus::Completed,
        "{}",
        outcome.errors
    );
    assert_eq!(body_text(&outcome), "Hello, World!");

    // The endless loop is on Winch too (the threshold is 0 here, as it is 1 MiB by default), and
    // its Cranelift compile queues behind the JavaScript one, so these calls run on Winch code;
    // the tier is checked after them because a deployment only ever moves up.
    let small = wafer_testkit::rust_example_bytes("endless-loop");
    let endless = runtime.compile(small).await.expect("endless-loop compiles");
    assert_eq!(endless.tier, Tier::Winch);
    let endless = endless.artifact;
    let out_of_fuel = Limits {
        fuel: 50_000_000,
        ..Limits::default()
    };
    let outcome = call(&runtime, &endless, &out_of_fuel).await;
    assert!(
        matches!(outcome.failure, Some(Failure::FuelExhausted { .. })),
        "{:?}",
        outcome.failure
    );
    let out_of_time = Limits {
        timeout: Duration::from_millis(300),
        fuel: u64::MAX / 2,
        ..Limits::default()
    };
    let outcome = call(&runtime, &endless, &out_of_time).await;
    assert_eq!(outcome.failure, Some(Failure::Timeout));
    assert_eq!(runtime.tier(&endless), Some(Tier::Winch));

    wait_for_cranelift(&runtime, &compiled.artifact).await;
    let outcome = call(&runtime, &compiled.artifact, &Limits::default()).await;
    assert_eq!(body_text(&outcome), "Hello, World!");
    assert!(runtime.stats().optimizations >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_runtime_loads_the_optimized_artifact_without_compiling() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let runtime = runtime_with_winch_threshold(dir.path(), 0);
    let compiled = runtime
        .compile(wafer_testkit::rust_example_bytes("hello"))
        .await
        .expect("hello compiles");
    assert_eq!(compiled.tier, Tier::Winch);
    wait_for_cranelift(&runtime, &compiled.artifact).await;
    drop(runtime);

    let restarted = runtime_with_winch_threshold(dir.path(), 0);
    let outcome = call(&restarted, &compiled.artifact, &Limits::default()).await;
    assert_eq!(body_text(&outcome), "Hello, World!");
    assert_eq!(restarted.tier(&compiled.artifact), Some(Tier::Cranelift));
    let stats = restarted.stats();
    assert_eq!((stats.compilations, stats.artifact_loads), (0, 1));
    let winch_artifacts = artifact_files(dir.path(), true).len();
    assert_eq!(
        winch_artifacts, 0,
        "the Winch artifact is removed once optimized"
    );
}

/// Compiled artifacts in `dir` whose file name contains `.winch.` (`winch`) or not.
fn artifact_files(dir: &std::path::Path, winch: bool) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .expect("artifact dir")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.contains(".cwasm") && name.contains(".winch.") == winch
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_that_interrupted_an_optimization_serves_winch_code_and_optimizes_again() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let kept = tempfile::tempdir().expect("temporary directory");
    let runtime = runtime_with_winch_threshold(dir.path(), 0);
    let js = wafer_testkit::repo_root().join("guest-examples/js/build/hello.wasm");
    let js =
        std::fs::read(&js).expect("guest-examples/js/build/hello.wasm (scripts/build-guests.sh)");
    let compiled = runtime.compile(js).await.expect("the JS hello compiles");
    assert_eq!(compiled.tier, Tier::Winch);
    // Cranelift needs seconds for this component: keep the Winch artifact (and its checksum)
    // as a crash before the optimization finished would have left it.
    let winch = artifact_files(dir.path(), true);
    assert_eq!(
        winch.len(),
        2,
        "the Winch artifact and its checksum: {winch:?}"
    );
    for path in &winch {
        let name = path.file_name().expect("file name");
        std::fs::copy(path, kept.path().join(name)).expect("keeping the Winch artifact");
    }
    wait_for_cranelift(&runtime, &compiled.artifact).await;
    drop(runtime);
    for path in artifact_files(dir.path(), false) {
        std::fs::remove_file(path).expect("removing the Cranelift artifact");
    }
    for path in &winch {
        let name = path.file_name().expect("file name");
        std::fs::copy(kept.path().join(name), path).expect("restoring the Winch artifact");
    }

    let restarted = runtime_with_winch_threshold(dir.path(), 0);
    let outcome = call(&restarted, &compiled.artifact, &Limits::default()).await;
    assert_eq!(body_text(&outcome), "Hello, World!");
    let stats = restarted.stats();
    assert_eq!(
        (stats.compilations, stats.artifact_loads),
        (0, 1),
        "the Winch artifact was loaded, not compiled again"
    );
    wait_for_cranelift(&restarted, &compiled.artifact).await;
    let outcome = call(&restarted, &compiled.artifact, &Limits::default()).await;
    assert_eq!(body_text(&outcome), "Hello, World!");
    assert!(artifact_files(dir.path(), true).is_empty());
    assert!(!artifact_files(dir.path(), false).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_first_tier_pool_is_reported_as_such() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = RuntimeConfig::new(dir.path());
    config.engine.winch_threshold_bytes = Some(0);
    // Four slots: the Winch engine gets one, and one idle instance may be kept.
    config.engine.max_concurrent_instances = 4;
    let runtime = Runtime::new(config).expect("runtime starts");
    let js = wafer_testkit::repo_root().join("guest-examples/js/build/hello.wasm");
    let js =
        std::fs::read(&js).expect("guest-examples/js/build/hello.wasm (scripts/build-guests.sh)");
    let compiled = runtime.compile(js).await.expect("the JS hello compiles");
    assert_eq!(compiled.tier, Tier::Winch);

    // A reused instance stays idle in the only Winch slot after answering ...
    let reuse = Limits {
        reuse_instance: true,
        ..Limits::default()
    };
    let policy = OutboundPolicy::deny_all();
    let outcome = runtime
        .invoke(&compiled.artifact, get("/"), &reuse, &[], &policy)
        .await
        .expect("the first call runs");
    assert_eq!(body_text(&outcome), "Hello, World!");
    // ... so a call that cannot use it (another environment) finds the tier's pool full.
    let env = [("OTHER".to_owned(), "1".to_owned())];
    let refused = runtime
        .invoke(&compiled.artifact, get("/"), &reuse, &env, &policy)
        .await;
    assert_eq!(runtime.tier(&compiled.artifact), Some(Tier::Winch));
    let error = refused.expect_err("the first tier's one slot is taken");
    assert!(
        matches!(error, wafer_runtime::InvokeError::FirstTierOverloaded(1)),
        "{error}"
    );
    assert!(error.to_string().contains("fast first tier"), "{error}");
}
