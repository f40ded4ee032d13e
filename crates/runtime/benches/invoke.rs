//! Instantiate+call cost of the Rust hello component through `Runtime::invoke`, serial and
//! concurrent, against a straightforward wasmtime embedding measured in the same run.
//!
//! Run with `cargo bench -p wafer-runtime --bench invoke`. Set `WAFER_BENCH_ITERATIONS` to
//! change the number of invocations per measurement, `WAFER_BENCH_PROFILE=1` to run only
//! the serial wafer measurement (for a profiler), and `WAFER_BENCH_COMPONENT=<path.wasm>` to
//! measure another hello component (e.g. `guest-examples/js/build/hello.wasm`; compiling a
//! 12–18 MB one takes a while, twice). The opt-in instance reuse is measured alongside.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wafer_runtime::{Limits, OutboundPolicy, Request, Runtime, RuntimeConfig};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

fn hello_request() -> Request {
    Request {
        method: "GET".into(),
        scheme: "http".into(),
        host: "bench.test".into(),
        port: 80,
        path: "/".into(),
        query_string: String::new(),
        headers: vec![("user-agent".into(), "bench".into())],
        body: Vec::new(),
    }
}

fn env() -> Vec<(String, String)> {
    (0..12)
        .map(|i| (format!("APPWRITE_FUNCTION_VAR_{i}"), format!("value-{i}")))
        .collect()
}

fn iterations() -> usize {
    std::env::var("WAFER_BENCH_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000)
}

/// The baseline: what a first embedding usually looks like. Default (on-demand) engine with
/// fuel and epochs, a WASI context built per call, the handler looked up by name.
struct Baseline {
    engine: Engine,
    linker: Linker<BaselineState>,
    component: Component,
}

struct BaselineState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
}

/// JavaScript and Python components import `wasi:http` types even when they make no request.
impl WasiHttpView for BaselineState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: wasmtime_wasi_http::default_hooks(),
        }
    }
}

impl WasiView for BaselineState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl Baseline {
    fn new(bytes: &[u8]) -> Self {
        let mut config = Config::new();
        config.consume_fuel(true).epoch_interruption(true);
        let engine = Engine::new(&config).expect("engine");
        let component = Component::new(&engine, bytes).expect("component");
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("wasi");
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).expect("http");
        wasmtime_wasi_http_free_context(&mut linker);
        Self {
            engine,
            linker,
            component,
        }
    }

    async fn call(&self, env: &[(String, String)]) {
        let wasi = WasiCtxBuilder::new().envs(env).build();
        let state = BaselineState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
        };
        let mut store = Store::new(&self.engine, state);
        store.set_fuel(u64::MAX / 2).expect("fuel");
        store.set_epoch_deadline(1_000_000);
        let instance = self
            .linker
            .instantiate_async(&mut store, &self.component)
            .await
            .expect("instantiate");
        let handler = instance
            .get_export_index(&mut store, None, "wafer:function/handler@0.1.0")
            .expect("handler");
        let handle = instance
            .get_export_index(&mut store, Some(&handler), "handle")
            .expect("handle");
        let func = instance
            .get_typed_func::<(Request,), (Result<wafer_runtime::Response, String>,)>(
                &mut store, &handle,
            )
            .expect("typed");
        let (result,) = func
            .call_async(&mut store, (hello_request(),))
            .await
            .expect("call");
        assert_eq!(result.expect("ok").status_code, 200);
    }
}

/// The baseline links the wafer context with functions that discard their input.
fn wasmtime_wasi_http_free_context(linker: &mut Linker<BaselineState>) {
    let mut context = linker
        .instance("wafer:function/context@0.1.0")
        .expect("context");
    context
        .func_wrap("log", |_, (_message,): (String,)| Ok(()))
        .expect("log");
    context
        .func_wrap("error", |_, (_message,): (String,)| Ok(()))
        .expect("error");
}

fn per_call(elapsed: Duration, calls: usize) -> f64 {
    elapsed.as_secs_f64() * 1e6 / calls as f64
}

async fn serial_wafer(
    runtime: &Runtime,
    id: &wafer_runtime::ArtifactHash,
    n: usize,
    reuse_instance: bool,
) -> f64 {
    let limits = Limits {
        reuse_instance,
        ..Limits::default()
    };
    let env = env();
    let outbound = OutboundPolicy::deny_all();
    let started = Instant::now();
    for _ in 0..n {
        let outcome = runtime
            .invoke(id, hello_request(), &limits, &env, &outbound)
            .await
            .expect("invoke");
        assert_eq!(outcome.response.status_code, 200);
    }
    per_call(started.elapsed(), n)
}

async fn serial_baseline(baseline: &Baseline, n: usize) -> f64 {
    let env = env();
    let started = Instant::now();
    for _ in 0..n {
        baseline.call(&env).await;
    }
    per_call(started.elapsed(), n)
}

async fn concurrent_wafer(
    runtime: Arc<Runtime>,
    id: wafer_runtime::ArtifactHash,
    n: usize,
    in_flight: usize,
) -> f64 {
    let started = Instant::now();
    let per_task = n / in_flight;
    let tasks: Vec<_> = (0..in_flight)
        .map(|_| {
            let runtime = runtime.clone();
            let id = id.clone();
            tokio::spawn(async move {
                let limits = Limits::default();
                let env = env();
                let outbound = OutboundPolicy::deny_all();
                for _ in 0..per_task {
                    runtime
                        .invoke(&id, hello_request(), &limits, &env, &outbound)
                        .await
                        .expect("invoke");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    (per_task * in_flight) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let bytes = match std::env::var_os("WAFER_BENCH_COMPONENT") {
        Some(path) => std::fs::read(&path).expect("WAFER_BENCH_COMPONENT is readable"),
        None => wafer_testkit::rust_example_bytes("hello"),
    };
    let n = iterations();
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = Arc::new(Runtime::new(RuntimeConfig::new(dir.path())).expect("runtime"));

    let serial = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let id = serial
        .block_on(runtime.compile(bytes.clone()))
        .expect("compile")
        .artifact;
    if std::env::var_os("WAFER_BENCH_PROFILE").is_some() {
        // Only the measured path, for profilers: warm up, then invoke serially.
        serial.block_on(serial_wafer(&runtime, &id, n / 10 + 1, false));
        let wafer_us = serial.block_on(serial_wafer(&runtime, &id, n, false));
        println!("wafer, serial, one thread: {wafer_us:.1} µs/invocation");
        return;
    }
    let baseline = Baseline::new(&bytes);
    // Warm up both paths (page faults, pool slots, caches) before measuring.
    serial.block_on(serial_wafer(&runtime, &id, n / 10 + 1, false));
    serial.block_on(serial_baseline(&baseline, n / 10 + 1));
    let wafer_us = serial.block_on(serial_wafer(&runtime, &id, n, false));
    let baseline_us = serial.block_on(serial_baseline(&baseline, n));
    let reuse_us = serial.block_on(serial_wafer(&runtime, &id, n, true));

    let parallel = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    let rps = parallel.block_on(concurrent_wafer(runtime.clone(), id.clone(), n, 64));

    println!("instantiate+call of the hello component ({n} invocations each)");
    println!("| measurement | value |");
    println!("|---|---|");
    println!("| wafer, serial, one thread | {wafer_us:.1} µs/invocation |");
    println!("| baseline (plain wasmtime embedding), serial | {baseline_us:.1} µs/invocation |");
    println!("| wafer / baseline time | {:.2} |", wafer_us / baseline_us);
    println!("| wafer, opt-in instance reuse, serial | {reuse_us:.1} µs/invocation |");
    println!("| reuse / baseline time | {:.3} |", reuse_us / baseline_us);
    println!("| wafer, 64 in flight on 2 worker threads | {rps:.0} invocations/s |");
    println!("| allocation mode | {:?} |", runtime.allocation_mode());
    // Without the ioctl the pool releases guest memory with madvise: much slower.
    let pagemap_scan = PoolingAllocationConfig::is_pagemap_scan_available();
    println!("| PAGEMAP_SCAN available (Linux 6.7+) | {pagemap_scan} |");
}
