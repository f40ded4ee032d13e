//! The wasmtime engines of a runtime and their configuration: the Cranelift engine, and the
//! Winch engine of the fast first tier when the platform has one, each with its own pooling
//! allocator (falling back to on-demand allocation when the address space cannot be reserved);
//! how freed pool slots are reset; and the one epoch ticker thread that drives both engines'
//! wall-clock deadlines.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Strategy,
};

/// How the engine is built. Defaults suit one machine serving many functions.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Instances that may run at the same time (pool slots). Beyond it, invocations are refused
    /// as overload.
    pub max_concurrent_instances: u32,
    /// The largest memory limit any function may be given.
    pub max_memory_bytes: u64,
    /// Use the pooling allocator (falls back to on-demand allocation when it cannot reserve
    /// its address space).
    pub pooling: bool,
    /// Dirty bytes of a linear memory reset in place (rather than released to the kernel) when
    /// its pool slot is freed. Only used with the `PAGEMAP_SCAN` ioctl (Linux 6.7+), which finds
    /// exactly the pages a guest dirtied.
    pub memory_keep_resident_bytes: usize,
    /// Instances kept idle for reuse across all deployments, for invocations that opt into
    /// reuse ([`Limits::reuse_instance`](crate::Limits::reuse_instance)). Each holds a pool
    /// slot, so this is also how many slots reuse may take from fresh invocations.
    pub max_idle_instances: usize,
    /// Idle instances kept per deployment (and per environment and policy).
    pub max_idle_instances_per_deployment: usize,
    /// Components at least this large are first compiled with Winch, wasmtime's fast baseline
    /// compiler (about 10x faster to compile, slower code), and serve from that at once while
    /// Cranelift recompiles them in the background. `None` compiles everything with Cranelift
    /// only, as does a platform Winch does not support.
    pub winch_threshold_bytes: Option<usize>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_concurrent_instances: 1_000,
            max_memory_bytes: 4 << 30,
            pooling: true,
            memory_keep_resident_bytes: DEFAULT_MEMORY_KEEP_RESIDENT,
            max_idle_instances: DEFAULT_MAX_IDLE_INSTANCES,
            max_idle_instances_per_deployment: DEFAULT_MAX_IDLE_INSTANCES_PER_DEPLOYMENT,
            winch_threshold_bytes: Some(DEFAULT_WINCH_THRESHOLD_BYTES),
        }
    }
}

/// Warm instances kept in all for invocations that opt into reuse.
pub const DEFAULT_MAX_IDLE_INSTANCES: usize = 128;

/// Warm instances kept per deployment. Under 32 concurrent requests, 4 left most calls of the
/// JavaScript and Python hello on fresh instances (827 and 552 requests/s); 32 served 1,411
/// and 4,410 (wrk -c32, same machine, minutes apart).
pub const DEFAULT_MAX_IDLE_INSTANCES_PER_DEPLOYMENT: usize = 32;

/// A Rust hello (~100 KB) compiles with Cranelift in ~0.3 s; JavaScript and Python components
/// (12-18 MB) take 12-17 s. Everything above 1 MiB gets the fast tier first.
pub const DEFAULT_WINCH_THRESHOLD_BYTES: usize = 1 << 20;

/// How often the epoch advances; wall-clock timeouts are measured in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Fuel between yields to the async executor, so a CPU-bound guest shares its tokio worker.
pub const FUEL_YIELD_INTERVAL: u64 = 200_000;

/// Per-component pool shares: components hold several core instances (the module and its
/// adapters and shims), and language runtimes bring large tables.
const CORE_INSTANCES_PER_COMPONENT: u32 = 20;
const MEMORIES_PER_COMPONENT: u32 = 2;
const TABLES_PER_COMPONENT: u32 = 4;
const TABLE_ELEMENTS: usize = 100_000;
const COMPONENT_INSTANCE_BYTES: usize = 4 << 20;
/// The default [`EngineConfig::memory_keep_resident_bytes`]: dirty bytes per linear memory
/// reset in place rather than released to the kernel when a slot is freed.
pub const DEFAULT_MEMORY_KEEP_RESIDENT: usize = 1 << 20;
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// Which allocation strategy the engine ended up with, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllocationMode {
    /// Instances live in the pooling allocator's preallocated slots.
    Pooling,
    /// Pooling was asked for but could not be set up; the reason is kept for diagnostics.
    OnDemandFallback(String),
    /// Pooling was not asked for ([`EngineConfig::pooling`] is off): each instance is
    /// allocated when it is created.
    OnDemand,
}

pub(crate) fn build_engine(config: &EngineConfig) -> wasmtime::Result<(Engine, AllocationMode)> {
    build_engine_with(config, Strategy::Cranelift)
}

/// Pool slots of the Winch engine.
pub(crate) fn winch_instances(config: &EngineConfig) -> u32 {
    (config.max_concurrent_instances / 4).max(1)
}

/// The Winch engine for the fast first tier, if this platform has one. Same limits (fuel and
/// epoch checks are emitted by Winch too, memory and stack settings are shared), but a quarter
/// of the pool: code from this tier serves only until Cranelift's replaces it, and every pool
/// slot reserves address space and pool metadata up front. A deployment on this tier that is
/// busier than its share is refused as overload, as any deployment past the pool is.
pub(crate) fn build_winch_engine(config: &EngineConfig) -> Option<Engine> {
    let config = EngineConfig {
        max_concurrent_instances: winch_instances(config),
        ..config.clone()
    };
    match build_engine_with(&config, Strategy::Winch) {
        Ok((engine, _)) => Some(engine),
        Err(error) => {
            tracing::warn!(
                reason = %format!("{error:#}"),
                "Winch is unavailable; large components compile with Cranelift only"
            );
            None
        }
    }
}

fn build_engine_with(
    config: &EngineConfig,
    strategy: Strategy,
) -> wasmtime::Result<(Engine, AllocationMode)> {
    let base_config = |config: &EngineConfig| {
        let mut wasm = base_config(config);
        wasm.strategy(strategy);
        wasm
    };
    if !config.pooling {
        return Ok((Engine::new(&base_config(config))?, AllocationMode::OnDemand));
    }
    let mut pooled = base_config(config);
    pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(config)));
    match Engine::new(&pooled) {
        Ok(engine) => Ok((engine, AllocationMode::Pooling)),
        Err(error) => {
            let reason = format!("{error:#}");
            tracing::warn!(
                %reason,
                "pooling allocator unavailable (address space could not be reserved); \
                 falling back to on-demand instance allocation"
            );
            let engine = Engine::new(&base_config(config))?;
            Ok((engine, AllocationMode::OnDemandFallback(reason)))
        }
    }
}

fn base_config(config: &EngineConfig) -> Config {
    let mut wasm = Config::new();
    wasm.consume_fuel(true)
        .epoch_interruption(true)
        .memory_init_cow(true)
        .max_wasm_stack(1 << 20)
        .async_stack_size(2 << 20)
        .memory_reservation(config.max_memory_bytes.max(4 << 30));
    wasm
}

fn pooling_config(config: &EngineConfig) -> PoolingAllocationConfig {
    let instances = config.max_concurrent_instances;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(instances)
        .total_core_instances(instances * CORE_INSTANCES_PER_COMPONENT)
        .total_memories(instances * MEMORIES_PER_COMPONENT)
        .total_tables(instances * TABLES_PER_COMPONENT)
        .total_stacks(instances)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .table_elements(TABLE_ELEMENTS)
        .max_component_instance_size(COMPONENT_INSTANCE_BYTES)
        .max_memory_size(config.max_memory_bytes as usize);
    keep_slots_resident(&mut pool, config.memory_keep_resident_bytes);
    pool
}

/// Releasing a slot resets what the guest wrote, so nothing of one invocation reaches the next
/// either way; these settings choose *how*. By default wasmtime hands every used page back to
/// the kernel with `madvise`, which costs a TLB shootdown per release and a page fault for
/// every page the next instance touches: more than half of a small invocation's time.
///
/// With the `PAGEMAP_SCAN` ioctl (Linux 6.7+) wasmtime finds exactly the pages the guest
/// dirtied and restores those with `memcpy` from the module image (or zeroes), up to the
/// keep-resident amount; only a working set beyond it is `madvise`d away. Without the ioctl it
/// blindly `memset`s the first keep-resident bytes, touched or not: for linear memory that
/// measured slower than `madvise` (a guest's dirty pages are not all at the low end), so
/// memories keep nothing resident there. A table's used entries sit at its start, so tables
/// keep a little resident either way.
///
/// The price is resident memory: at most `memory_keep_resident` per memory slot and
/// `TABLE_KEEP_RESIDENT` per table slot that has ever been used, i.e. the pool keeps up to that
/// much of its high-water mark.
fn keep_slots_resident(pool: &mut PoolingAllocationConfig, memory_keep_resident: usize) {
    pool.table_keep_resident(TABLE_KEEP_RESIDENT);
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(Enabled::Auto)
            .linear_memory_keep_resident(memory_keep_resident);
    } else {
        tracing::info!(
            "PAGEMAP_SCAN is unavailable (Linux < 6.7?): guest memory is released with madvise \
             after every invocation, which is slower"
        );
    }
}

/// The single thread that advances the engines' epoch (one clock for both tiers). Stops when
/// dropped.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub(crate) fn start(engines: &[&Engine]) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let weak: Vec<_> = engines.iter().map(|engine| engine.weak()).collect();
        let stop_flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("wafer-epoch".into())
            .spawn(move || {
                while !stop_flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    for engine in &weak {
                        let Some(engine) = engine.upgrade() else {
                            return;
                        };
                        engine.increment_epoch();
                    }
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Epoch ticks that cover `timeout`, rounded up, plus one for the tick in progress.
pub(crate) fn ticks_for(timeout: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos();
    (timeout.as_nanos().div_ceil(tick) as u64).saturating_add(1)
}
