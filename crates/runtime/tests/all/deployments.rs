//! Compiling deployments: refused with reasons, compiled once, reloaded after a restart, and
//! recompiled when the artifact on disk is damaged.

use crate::common::{body_text, get, runtime};
use wafer_runtime::{CompileError, Runtime, RuntimeConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_core_module_is_refused_as_not_a_component() {
    let rt = runtime();
    let empty_core_module = b"\0asm\x01\0\0\0".to_vec();
    let error = rt.runtime.compile(empty_core_module).await.unwrap_err();
    assert!(matches!(error, CompileError::CoreModule));
    assert!(
        error
            .to_string()
            .contains("core WebAssembly module, not a component")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_wasm_is_refused() {
    let rt = runtime();
    let error = rt
        .runtime
        .compile(b"#!/bin/sh\necho hi\n".to_vec())
        .await
        .unwrap_err();
    assert!(matches!(error, CompileError::NotWasm));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_component_is_refused_as_invalid() {
    let rt = runtime();
    let mut bytes = wafer_testkit::rust_example_bytes("hello");
    bytes.truncate(bytes.len() / 2);
    let error = rt.runtime.compile(bytes).await.unwrap_err();
    assert!(matches!(error, CompileError::Invalid(_)), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_of_another_world_is_refused_naming_what_it_exports() {
    let rt = runtime();
    let bytes = wafer_testkit::rust_example_bytes("wrong-world");
    let error = rt.runtime.compile(bytes).await.unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, CompileError::MissingHandler { .. }),
        "{message}"
    );
    assert!(
        message.contains("exports neither the wafer handler")
            && message.contains("wasi:http/incoming-handler"),
        "{message}"
    );
    assert!(message.contains("`greet`"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiling_the_same_bytes_twice_compiles_once() {
    let rt = runtime();
    let bytes = wafer_testkit::rust_example_bytes("hello");
    let first = rt.runtime.compile(bytes.clone()).await.expect("compiles");
    let second = rt.runtime.compile(bytes).await.expect("compiles");
    assert!(first.compiled);
    assert!(!second.compiled);
    assert_eq!(first.artifact, second.artifact);
    assert_eq!(rt.runtime.stats().compilations, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_runtime_loads_the_artifact_without_recompiling() {
    let rt = runtime();
    let hello = rt.deploy("hello").await;
    let dir = rt.dir.path().to_owned();
    drop(rt.runtime);

    let restarted = Runtime::new(RuntimeConfig::new(&dir)).expect("runtime restarts");
    let outcome = restarted
        .invoke(
            &hello,
            get("/"),
            &Default::default(),
            &[],
            &Default::default(),
        )
        .await
        .expect("invocation runs");
    assert_eq!(body_text(&outcome), "Hello, World!");
    let stats = restarted.stats();
    assert_eq!(stats.compilations, 0);
    assert_eq!(stats.artifact_loads, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_artifact_is_recompiled_instead_of_loaded() {
    let rt = runtime();
    let hello = rt.deploy("hello").await;
    let dir = rt.dir.path().to_owned();
    drop(rt.runtime);
    for entry in std::fs::read_dir(&dir).expect("artifact dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|ext| ext == "cwasm") {
            let mut bytes = std::fs::read(&path).expect("artifact");
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0xff;
            std::fs::write(&path, bytes).expect("corrupting the artifact");
        }
    }

    let restarted = Runtime::new(RuntimeConfig::new(&dir)).expect("runtime restarts");
    let outcome = restarted
        .invoke(
            &hello,
            get("/"),
            &Default::default(),
            &[],
            &Default::default(),
        )
        .await
        .expect("invocation runs");
    assert_eq!(body_text(&outcome), "Hello, World!");
    assert_eq!(restarted.stats().compilations, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_deployment_is_reported_as_not_found() {
    let rt = runtime();
    let unknown = wafer_runtime::ArtifactHash::of(b"never uploaded");
    let error = rt
        .runtime
        .invoke(
            &unknown,
            get("/"),
            &Default::default(),
            &[],
            &Default::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        wafer_runtime::InvokeError::DeploymentNotFound(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_deployment_leaves_memory_without_traffic_and_its_next_call_loads_it_from_disk() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = RuntimeConfig {
        cache_idle_timeout: Some(std::time::Duration::from_millis(20)),
        ..RuntimeConfig::new(dir.path())
    };
    let runtime = Runtime::new(config).expect("runtime starts");
    let hello = runtime
        .compile(wafer_testkit::rust_example_bytes("hello"))
        .await
        .expect("hello compiles")
        .artifact;
    assert_eq!(runtime.stats().artifact_loads, 0);

    // The sweeper runs on its own thread; give it a generous deadline, this is not a timing test.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while runtime.stats().cached_deployments > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the idle deployment was never evicted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    let outcome = runtime
        .invoke(
            &hello,
            get("/"),
            &Default::default(),
            &[],
            &Default::default(),
        )
        .await
        .expect("invocation runs");
    assert_eq!(body_text(&outcome), "Hello, World!");
    let stats = runtime.stats();
    assert_eq!((stats.compilations, stats.artifact_loads), (1, 1));
}
