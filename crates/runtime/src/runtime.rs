//! [`Runtime`], the crate's entry point: compiles a component (refusing at upload one that
//! cannot start), loads it again from disk or recompiles it when its artifact is unusable, and
//! runs each invocation under its limits, in a fresh sandbox or, for invocations that opt in, in
//! a kept instance of an earlier successful call.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tracing::Instrument;
use wasmtime::{Engine, PoolConcurrencyLimitError, Store};

use crate::artifacts::{ArtifactHash, ArtifactStore, StaleArtifact};
use wasmtime::component::ComponentExportIndex;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::cache::{DeploymentCache, Entry, IdleSweeper, PreparedDeployment};
use crate::contract::{DeploymentKind, HANDLE_FUNCTION, Request, Response};
use crate::deploy::{Backend, Deployer, Tier};
use crate::engine::{
    AllocationMode, EngineConfig, EpochTicker, FUEL_YIELD_INTERVAL, build_engine,
    build_winch_engine, ticks_for, winch_instances,
};
use crate::host::{HostState, MemoryBudget, build_linker};
use crate::limits::Limits;
use crate::observe::RuntimeObserver;
use crate::outbound::{OutboundConfig, OutboundPolicy};
use crate::outcome::{
    ExecutionStatus, Failure, InvocationOutcome, check_response, failure_response,
};
use crate::proxy::{self, RequestBody, Streamed};
use crate::validate::{CompileError, check_binary_kind};
use crate::warm::{HandleFunc, IdleBudget, WarmInstance, WarmKey};

/// Where a runtime keeps its files and how large its engine and cache are.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Where components and their compiled artifacts are kept; created if missing.
    pub artifact_dir: PathBuf,
    /// How the wasmtime engines are built.
    pub engine: EngineConfig,
    /// Deployments kept instantiation-ready in memory; the least recently used goes first.
    pub cache_capacity: usize,
    /// A cached deployment not invoked for this long is dropped from memory (its files stay;
    /// the next call loads its artifact again). `None` keeps deployments until the capacity
    /// pushes them out.
    pub cache_idle_timeout: Option<Duration>,
    /// Which non-public address ranges guests' outbound calls may reach, and how much of the
    /// network one invocation may use.
    pub outbound: OutboundConfig,
    /// Linear memory all sandboxes together may hold; a growth past it fails that execution
    /// (its own limit notwithstanding). `None` leaves only each function's limit.
    pub memory_budget_bytes: Option<u64>,
    /// Hears compiles, for metrics; `None` tells nobody.
    pub observer: Option<Arc<dyn RuntimeObserver>>,
}

impl RuntimeConfig {
    /// The defaults, keeping files in `artifact_dir`.
    pub fn new(artifact_dir: impl Into<PathBuf>) -> Self {
        Self {
            artifact_dir: artifact_dir.into(),
            engine: EngineConfig::default(),
            cache_capacity: Self::DEFAULT_CACHE_CAPACITY,
            cache_idle_timeout: Some(Self::DEFAULT_CACHE_IDLE_TIMEOUT),
            outbound: OutboundConfig::default(),
            memory_budget_bytes: None,
            observer: None,
        }
    }

    /// The default [`RuntimeConfig::cache_capacity`].
    pub const DEFAULT_CACHE_CAPACITY: usize = 1_000;

    /// The default [`RuntimeConfig::cache_idle_timeout`].
    pub const DEFAULT_CACHE_IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
}

/// Host-side reasons an invocation could not run at all (a guest's own failure is an
/// [`InvocationOutcome`] instead).
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// No component with this hash was ever compiled into this runtime's artifact directory.
    #[error("Deployment {0} is not stored in this runtime; upload it first.")]
    DeploymentNotFound(ArtifactHash),
    /// The component is stored but can be neither loaded nor compiled again.
    #[error("Deployment {artifact} cannot be loaded: {reason}")]
    Unloadable {
        /// The component that cannot be loaded.
        artifact: ArtifactHash,
        /// What went wrong.
        reason: String,
    },
    /// Every pool slot (their number given) is in use.
    #[error("All {0} sandboxes are busy; retry shortly.")]
    Overloaded(u32),
    /// Every pool slot of the Winch engine (their number given) is in use; the deployment
    /// serves from it until its Cranelift code is ready.
    #[error(
        "All {0} sandboxes of the fast first tier are busy while this deployment's optimized \
         code is being compiled; retry shortly."
    )]
    FirstTierOverloaded(u32),
    /// The request body a streamed invocation was given could not be read.
    #[error("The request body could not be read: {0}")]
    RequestBody(String),
    /// A failure of the host itself, not of the request or the component.
    #[error("The runtime failed unexpectedly: {0}")]
    Internal(String),
}

/// Why a [`Runtime`] could not be created.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// wasmtime refused the engine configuration, or the epoch ticker thread could not start.
    #[error("The wasmtime engine could not be created: {0}")]
    Engine(String),
    /// The artifact directory cannot be created.
    #[error("The artifact directory {path} cannot be used: {source}")]
    ArtifactDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error creating it.
        source: std::io::Error,
    },
}

/// The result of compiling a deployment.
#[derive(Clone, Debug)]
pub struct CompiledDeployment {
    /// The component's content hash: what [`Runtime::invoke`] runs it by.
    pub artifact: ArtifactHash,
    /// False when a compiled artifact from an earlier compile was reused.
    pub compiled: bool,
    /// The compiler whose code serves it now (Winch until Cranelift's takes over).
    pub tier: Tier,
    /// Which world the component implements.
    pub kind: DeploymentKind,
    /// How long validating, compiling (or loading) and the trial instantiation took.
    pub duration: Duration,
}

/// Counters for observing the runtime from outside.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// Compiles from a component's bytes, at upload or to replace an unusable artifact
    /// (background Cranelift recompiles are counted in `optimizations`).
    pub compilations: u64,
    /// Compiled artifacts loaded from disk.
    pub artifact_loads: u64,
    /// Cranelift recompiles of deployments first compiled with Winch, finished.
    pub optimizations: u64,
    /// Deployments ready to instantiate in memory now.
    pub cached_deployments: usize,
    /// Invocations whose deployment was ready in memory.
    pub cache_hits: u64,
    /// Invocations whose deployment had to be loaded from disk (or compiled again) first.
    pub cache_misses: u64,
    /// Sandboxes (component instances) that hold a pool slot now, running or kept warm.
    pub sandboxes_in_use: u64,
    /// Pool slots for sandboxes, in all.
    pub sandbox_slots: u64,
    /// Instances kept warm for functions that reuse instances.
    pub warm_instances: usize,
}

/// Compiles components and runs invocations of them. It owns the engines, their instance
/// pools and the epoch ticker thread, so a server needs only one.
pub struct Runtime {
    deployer: Deployer,
    allocation: AllocationMode,
    max_instances: u32,
    /// Pool slots of the Winch engine, which serves deployments until Cranelift's code is ready.
    winch_instances: u32,
    max_memory_bytes: u64,
    idle_budget: IdleBudget,
    outbound: Arc<OutboundConfig>,
    memory_budget: Option<Arc<MemoryBudget>>,
    _ticker: EpochTicker,
    _sweeper: Option<IdleSweeper>,
}

impl Runtime {
    /// Builds the engines, opens the artifact directory and starts the epoch ticker (and the
    /// idle sweeper when `cache_idle_timeout` is set).
    pub fn new(config: RuntimeConfig) -> Result<Self, RuntimeError> {
        let engine_error = |error: &dyn std::fmt::Display| RuntimeError::Engine(error.to_string());
        let (engine, allocation) = build_engine(&config.engine).map_err(|e| engine_error(&e))?;
        let linker = build_linker(&engine).map_err(|e| engine_error(&e))?;
        let winch_threshold = config.engine.winch_threshold_bytes;
        let winch = match winch_threshold {
            Some(_) => build_winch_engine(&config.engine)
                .map(|winch| {
                    let linker = build_linker(&winch).map_err(|e| engine_error(&e))?;
                    Ok::<_, RuntimeError>(Backend::new(winch, linker))
                })
                .transpose()?,
            None => None,
        };
        let winch_engine = winch.as_ref().map(|winch| &winch.engine);
        let artifacts =
            ArtifactStore::open(&config.artifact_dir, &engine, winch_engine).map_err(|source| {
                RuntimeError::ArtifactDir {
                    path: config.artifact_dir.clone(),
                    source,
                }
            })?;
        let capacity = NonZeroUsize::new(config.cache_capacity).unwrap_or(NonZeroUsize::MIN);
        let cache = Arc::new(DeploymentCache::new(capacity));
        let sweeper = config
            .cache_idle_timeout
            .map(|idle| IdleSweeper::start(&cache, idle))
            .transpose()
            .map_err(|e| engine_error(&e))?;
        let backend = Backend::new(engine, linker);
        let deployer = Deployer::new(backend, winch, winch_threshold, artifacts, cache)
            .observed_by(config.observer);
        let ticker = EpochTicker::start(&deployer.engines()).map_err(|e| engine_error(&e))?;
        // Idle instances hold pool slots; never let them take more than a quarter of the pool.
        let max_idle = (config.engine.max_idle_instances)
            .min(config.engine.max_concurrent_instances as usize / 4);
        Ok(Self {
            deployer,
            allocation,
            max_instances: config.engine.max_concurrent_instances,
            winch_instances: winch_instances(&config.engine),
            max_memory_bytes: config.engine.max_memory_bytes,
            idle_budget: IdleBudget::new(max_idle, config.engine.max_idle_instances_per_deployment),
            outbound: Arc::new(config.outbound),
            memory_budget: config
                .memory_budget_bytes
                .map(|budget| Arc::new(MemoryBudget::new(budget))),
            _ticker: ticker,
            _sweeper: sweeper,
        })
    }

    /// The allocation strategy the Cranelift engine ended up with.
    pub fn allocation_mode(&self) -> &AllocationMode {
        &self.allocation
    }

    /// The counters as they are now.
    pub fn stats(&self) -> RuntimeStats {
        let counters = &self.deployer.counters;
        RuntimeStats {
            compilations: counters.compilations.load(Ordering::Relaxed),
            artifact_loads: counters.artifact_loads.load(Ordering::Relaxed),
            optimizations: counters.optimizations.load(Ordering::Relaxed),
            cached_deployments: self.deployer.cache.len(),
            cache_hits: self.deployer.cache.hits(),
            cache_misses: self.deployer.cache.misses(),
            sandboxes_in_use: self.deployer.sandboxes_in_use(),
            sandbox_slots: u64::from(self.max_instances)
                + if self.deployer.engines().len() > 1 {
                    u64::from(self.winch_instances)
                } else {
                    0
                },
            warm_instances: self.idle_budget.idle(),
        }
    }

    /// Which compiler's code serves a deployment kept in memory; `None` when it is not cached
    /// (its next call loads the best artifact on disk).
    pub fn tier(&self, artifact: &ArtifactHash) -> Option<Tier> {
        self.deployer.cache.tier(artifact)
    }

    fn artifacts(&self) -> &ArtifactStore {
        &self.deployer.artifacts
    }

    /// Validates and compiles a deployment, keeping the `.wasm` and the compiled artifact on
    /// disk. Compiling the same bytes again reuses the artifact.
    pub async fn compile(&self, bytes: Vec<u8>) -> Result<CompiledDeployment, CompileError> {
        self.compile_in("", bytes).await
    }

    /// Like [`compile`](Self::compile), sharing compiled artifacts only with uploads of the same
    /// `scope` ([`ArtifactHash::scoped`]).
    pub async fn compile_in(
        &self,
        scope: &str,
        bytes: Vec<u8>,
    ) -> Result<CompiledDeployment, CompileError> {
        check_binary_kind(&bytes)?;
        let started = Instant::now();
        let artifact = ArtifactHash::scoped(scope, &bytes);
        let (prepared, compiled) = match self.deployer.load(&artifact).await {
            Ok(prepared) => (prepared, false),
            Err(_) => (self.deployer.compile(artifact.clone(), bytes).await?, true),
        };
        self.trial_instantiate(&prepared).await?;
        let tier = prepared.tier;
        let kind = prepared.kind();
        self.deployer.keep(&artifact, prepared);
        Ok(CompiledDeployment {
            artifact,
            compiled,
            tier,
            kind,
            duration: started.elapsed(),
        })
    }

    /// Every stored artifact, with when its source was written.
    pub fn stored_artifacts(&self) -> std::io::Result<Vec<(ArtifactHash, std::time::SystemTime)>> {
        self.deployer.artifacts.list()
    }

    /// Deletes an artifact's files and forgets its in-memory copy. Invocations already running
    /// finish; later ones are refused as not stored.
    pub fn remove_artifact(&self, artifact: &ArtifactHash) -> std::io::Result<()> {
        self.evict(artifact);
        self.deployer.artifacts.remove(artifact)
    }

    /// Forgets the in-memory copy of a deployment (its files stay).
    pub fn evict(&self, artifact: &ArtifactHash) {
        self.deployer.cache.remove(artifact);
    }

    /// Instantiates a freshly compiled deployment once, so that a component which cannot start
    /// (a trapping start function, a handler of the wrong type) is refused at upload.
    async fn trial_instantiate(&self, prepared: &PreparedDeployment) -> Result<(), CompileError> {
        let limits = Limits::default();
        let engine = prepared.pre.component().engine();
        let mut store = self.new_store(engine, &limits, &[], &OutboundPolicy::deny_all());
        let cannot_start =
            |error| CompileError::Incompatible(Failure::from_wasm_error(error, &limits).message());
        let handle = match &prepared.entry {
            Entry::HttpProxy(proxy) => {
                return proxy
                    .instantiate_async(&mut store)
                    .await
                    .map(drop)
                    .map_err(cannot_start);
            }
            Entry::Function(handle) => handle,
        };
        let instance = prepared
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(cannot_start)?;
        instance
            .get_typed_func::<(Request,), (Result<Response, String>,)>(&mut store, handle)
            .map(drop)
            .map_err(|error| {
                CompileError::Incompatible(format!(
                    "the exported `{HANDLE_FUNCTION}` does not have the type of the wafer \
                     handler ({error:#})"
                ))
            })
    }

    /// The deployment ready to instantiate: from memory, else from its compiled artifact, else
    /// compiled again from its `.wasm` (when the artifact is missing, damaged or stale).
    async fn prepared(
        &self,
        artifact: &ArtifactHash,
    ) -> Result<Arc<PreparedDeployment>, InvokeError> {
        if let Some(prepared) = self.deployer.cache.get(artifact) {
            return Ok(prepared);
        }
        let prepared = match self.deployer.load(artifact).await {
            Ok(prepared) => prepared,
            Err(stale) => self.recompile(artifact, stale).await?,
        };
        self.deployer.keep(artifact, prepared.clone());
        Ok(prepared)
    }

    async fn recompile(
        &self,
        artifact: &ArtifactHash,
        stale: StaleArtifact,
    ) -> Result<Arc<PreparedDeployment>, InvokeError> {
        if !self.artifacts().has_source(artifact) {
            return Err(InvokeError::DeploymentNotFound(artifact.clone()));
        }
        tracing::warn!(deployment = %artifact, reason = %stale, "compiled artifact unusable; recompiling");
        let bytes = self
            .artifacts()
            .read_source(artifact)
            .map_err(|error| unloadable(artifact, error))?;
        self.deployer
            .compile(artifact.clone(), bytes)
            .await
            .map_err(|error| unloadable(artifact, error))
    }

    /// A store on `engine`, which must be the engine of the deployment it will instantiate.
    fn new_store(
        &self,
        engine: &Engine,
        limits: &Limits,
        env: &[(String, String)],
        outbound: &OutboundPolicy,
    ) -> Store<HostState> {
        let limits = Limits {
            memory_bytes: limits.memory_bytes.min(self.max_memory_bytes),
            ..limits.clone()
        };
        let state = HostState::new(
            &limits,
            env,
            outbound,
            &self.outbound,
            self.memory_budget.as_ref(),
        );
        let mut store = Store::new(engine, state);
        store.limiter(|state| &mut state.memory);
        // Fuel is enabled in every engine this runtime builds, so this cannot fail.
        let _ = store.fuel_async_yield_interval(Some(FUEL_YIELD_INTERVAL));
        arm(&mut store, &limits);
        store
    }

    /// Runs one invocation of a deployment in a fresh sandbox (or, for a `wafer:function`
    /// deployment whose limits opt in, a kept instance). A wasi:http deployment's streamed
    /// body is read to its end within the limits and kept whole in the outcome.
    pub async fn invoke(
        &self,
        artifact: &ArtifactHash,
        request: Request,
        limits: &Limits,
        env: &[(String, String)],
        outbound: &OutboundPolicy,
    ) -> Result<InvocationOutcome, InvokeError> {
        let span = tracing::info_span!("invoke", deployment = %artifact, method = %request.method, path = %request.path);
        async move {
            let prepared = self.prepared(artifact).await?;
            let outcome = match &prepared.entry {
                Entry::Function(handle) => {
                    self.invoke_function(&prepared, *handle, request, limits, env, outbound)
                        .await?
                }
                Entry::HttpProxy(proxy) => {
                    let mut request = request;
                    let body = full_body(std::mem::take(&mut request.body));
                    let keep = limits.max_response_bytes;
                    let streamed = self
                        .invoke_proxy(
                            &prepared, proxy, &request, body, limits, env, outbound, keep,
                        )
                        .await?;
                    match streamed {
                        Streamed::Finished(outcome) => outcome,
                        Streamed::Streaming(response) => response.collect().await,
                    }
                }
            };
            // Debug, not info: the caller records every outcome itself, and a line per
            // invocation at info would flood logs at high request rates.
            tracing::debug!(
                status = ?outcome.status,
                duration_us = outcome.duration.as_micros() as u64,
                fuel = outcome.fuel_consumed,
                "invocation finished"
            );
            Ok(outcome)
        }
        .instrument(span)
        .await
    }

    /// Runs one invocation whose response may stream: a wasi:http deployment answers with
    /// its status and headers as soon as the guest sets them, and its body streams as the
    /// guest writes it, with `body` streaming into the guest. The outcome keeps the first
    /// `keep_bytes` of the response body. A `wafer:function` deployment reads `body` first and
    /// answers [`Streamed::Finished`].
    #[allow(clippy::too_many_arguments)]
    pub async fn invoke_streaming(
        &self,
        artifact: &ArtifactHash,
        mut request: Request,
        body: RequestBody,
        limits: &Limits,
        env: &[(String, String)],
        outbound: &OutboundPolicy,
        keep_bytes: usize,
    ) -> Result<Streamed, InvokeError> {
        let span = tracing::info_span!("invoke", deployment = %artifact, method = %request.method, path = %request.path);
        async move {
            let prepared = self.prepared(artifact).await?;
            match &prepared.entry {
                Entry::HttpProxy(proxy) => {
                    self.invoke_proxy(
                        &prepared, proxy, &request, body, limits, env, outbound, keep_bytes,
                    )
                    .await
                }
                Entry::Function(handle) => {
                    request.body = http_body_util::BodyExt::collect(body)
                        .await
                        .map_err(|error| InvokeError::RequestBody(error.to_string()))?
                        .to_bytes()
                        .to_vec();
                    self.invoke_function(&prepared, *handle, request, limits, env, outbound)
                        .await
                        .map(Streamed::Finished)
                }
            }
        }
        .instrument(span)
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn invoke_proxy(
        &self,
        prepared: &PreparedDeployment,
        proxy: &ProxyPre<HostState>,
        request: &Request,
        body: RequestBody,
        limits: &Limits,
        env: &[(String, String)],
        outbound: &OutboundPolicy,
        keep_bytes: usize,
    ) -> Result<Streamed, InvokeError> {
        let engine = prepared.pre.component().engine();
        let store = self.new_store(engine, limits, env, outbound);
        proxy::invoke(proxy, store, request, body, limits, keep_bytes)
            .await
            .map_err(|proxy::Overloaded| self.overloaded(prepared.tier))
    }

    fn overloaded(&self, tier: Tier) -> InvokeError {
        match tier {
            Tier::Winch => InvokeError::FirstTierOverloaded(self.winch_instances),
            Tier::Cranelift => InvokeError::Overloaded(self.max_instances),
        }
    }

    async fn invoke_function(
        &self,
        prepared: &PreparedDeployment,
        handle: ComponentExportIndex,
        request: Request,
        limits: &Limits,
        env: &[(String, String)],
        outbound: &OutboundPolicy,
    ) -> Result<InvocationOutcome, InvokeError> {
        let started = Instant::now();
        let key = limits
            .reuse_instance
            .then(|| WarmKey::new(limits, env, outbound));
        let (mut store, warm_handle) = match key.as_ref().and_then(|key| prepared.warm.take(key)) {
            Some(mut warm) => {
                arm(&mut warm.store, limits);
                (warm.store, Some(warm.handle))
            }
            None => {
                let engine = prepared.pre.component().engine();
                (self.new_store(engine, limits, env, outbound), None)
            }
        };
        let run = run_guest(prepared, handle, &mut store, warm_handle, request, limits);
        // The epoch deadline stops a guest that computes; this stops one that waits on
        // the host (an outbound request, a sleep) past its time.
        let (result, warm_handle) = match tokio::time::timeout(limits.timeout, run).await {
            Ok(Ok((response, handle))) => (Ok(response), Some(handle)),
            Ok(Err(RunError::Failed(failure))) => (Err(failure), None),
            Ok(Err(RunError::PoolExhausted)) => return Err(self.overloaded(prepared.tier)),
            Err(_elapsed) => (Err(Failure::Timeout), None),
        };
        let duration = started.elapsed();
        let outcome = finish(&mut store, result, limits, duration);
        // Only an instance whose call succeeded is kept: after a trap, a timeout or a
        // failed response its state may be half-updated.
        if let (Some(key), Some(handle), None) = (key, warm_handle, &outcome.failure) {
            let instance = WarmInstance { store, handle, key };
            prepared.warm.put(instance, &self.idle_budget);
        }
        Ok(outcome)
    }
}

/// A buffered request body, as a wasi:http guest reads one.
fn full_body(bytes: Vec<u8>) -> RequestBody {
    use http_body_util::BodyExt;
    http_body_util::Full::new(bytes::Bytes::from(bytes))
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn unloadable(artifact: &ArtifactHash, error: impl std::fmt::Display) -> InvokeError {
    InvokeError::Unloadable {
        artifact: artifact.clone(),
        reason: error.to_string(),
    }
}

/// Why running a guest produced no response.
enum RunError {
    Failed(Failure),
    /// Every pool slot is taken: not the guest's fault, so not an execution failure.
    PoolExhausted,
}

impl From<Failure> for RunError {
    fn from(failure: Failure) -> Self {
        Self::Failed(failure)
    }
}

/// Gives a store this invocation's CPU budget and deadline (a reused store gets them anew).
fn arm(store: &mut Store<HostState>, limits: &Limits) {
    // Fuel is enabled in every engine this runtime builds, so this cannot fail.
    let _ = store.set_fuel(limits.fuel);
    store.set_epoch_deadline(ticks_for(limits.timeout));
    store.data_mut().memory.begin_invocation();
    store.data_mut().outbound.begin_invocation();
}

/// Instantiates the deployment unless a reused instance's handler is given, then calls it.
/// Returns the handler too, so a caller that opted into reuse can keep the instance.
async fn run_guest(
    prepared: &PreparedDeployment,
    export: ComponentExportIndex,
    store: &mut Store<HostState>,
    handle: Option<HandleFunc>,
    request: Request,
    limits: &Limits,
) -> Result<(Response, HandleFunc), RunError> {
    let wasm_failure = |error| Failure::from_wasm_error(error, limits);
    let handle = match handle {
        Some(handle) => handle,
        None => {
            let instance = match prepared.pre.instantiate_async(&mut *store).await {
                Ok(instance) => instance,
                Err(error) if error.is::<PoolConcurrencyLimitError>() => {
                    return Err(RunError::PoolExhausted);
                }
                Err(error) => return Err(wasm_failure(error).into()),
            };
            instance
                .get_typed_func::<(Request,), (Result<Response, String>,)>(&mut *store, export)
                .map_err(wasm_failure)?
        }
    };
    let (result,) = handle
        .call_async(&mut *store, (request,))
        .await
        .map_err(wasm_failure)?;
    let response = result.map_err(Failure::Guest)?;
    check_response(&response, limits)?;
    Ok((response, handle))
}

/// Turns the store's captured output and the guest's result into the outcome, leaving the
/// output buffers empty for a reused instance's next call.
fn finish(
    store: &mut Store<HostState>,
    result: Result<Response, Failure>,
    limits: &Limits,
    duration: Duration,
) -> InvocationOutcome {
    let fuel_consumed = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
    let state = store.data();
    let logs = state.logs.take_text();
    let mut errors = state.errors.take_text();
    let peak_memory_bytes = state.memory.peak;
    let (response, failure) = match result {
        Ok(response) => (response, None),
        Err(failure) => {
            if !errors.is_empty() && !errors.ends_with('\n') {
                errors.push('\n');
            }
            errors.push_str(&failure.message());
            (failure_response(), Some(failure))
        }
    };
    let status = if failure.is_none() && response.status_code < 500 {
        ExecutionStatus::Completed
    } else {
        ExecutionStatus::Failed
    };
    InvocationOutcome {
        status,
        response,
        logs,
        errors,
        failure,
        duration,
        fuel_consumed,
        peak_memory_bytes,
    }
}
