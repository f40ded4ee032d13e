//! The runtime: compiles deployments once, keeps them ready, and runs each invocation in a
//! fresh sandbox under its limits.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tracing::Instrument;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, PoolConcurrencyLimitError, Store};

use crate::artifacts::{ArtifactStore, DeploymentId, StaleArtifact};
use crate::cache::{DeploymentCache, IdleSweeper, PreparedDeployment};
use crate::contract::{HANDLE_FUNCTION, HANDLER_INTERFACE, Request, Response, is_handler_export};
use crate::engine::{
    AllocationMode, EngineConfig, EpochTicker, FUEL_YIELD_INTERVAL, build_engine, ticks_for,
};
use crate::host::{HostState, build_linker};
use crate::limits::Limits;
use crate::outbound::OutboundPolicy;
use crate::outcome::{
    ExecutionStatus, Failure, InvocationOutcome, check_response, failure_response,
};
use crate::validate::{CompileError, check_binary_kind, check_world};
use crate::warm::{HandleFunc, IdleBudget, WarmInstance, WarmKey, WarmPool};

/// Where a runtime keeps its files and how large its engine and cache are.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    pub artifact_dir: PathBuf,
    pub engine: EngineConfig,
    /// Deployments kept instantiation-ready in memory; the least recently used goes first.
    pub cache_capacity: usize,
    /// A cached deployment not invoked for this long is dropped from memory (its files stay;
    /// the next call loads its artifact again). `None` keeps deployments until the capacity
    /// pushes them out.
    pub cache_idle_timeout: Option<Duration>,
}

impl RuntimeConfig {
    pub fn new(artifact_dir: impl Into<PathBuf>) -> Self {
        Self {
            artifact_dir: artifact_dir.into(),
            engine: EngineConfig::default(),
            cache_capacity: 1_000,
            cache_idle_timeout: Some(Self::DEFAULT_CACHE_IDLE_TIMEOUT),
        }
    }

    pub const DEFAULT_CACHE_IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
}

/// Host-side reasons an invocation could not run at all (a guest's own failure is an
/// [`InvocationOutcome`] instead).
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("Deployment {0} is not stored in this runtime; upload it first.")]
    DeploymentNotFound(DeploymentId),
    #[error("Deployment {id} cannot be loaded: {reason}")]
    Unloadable { id: DeploymentId, reason: String },
    #[error("All {0} sandboxes are busy; retry shortly.")]
    Overloaded(u32),
    #[error("The runtime failed unexpectedly: {0}")]
    Internal(String),
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("The wasmtime engine could not be created: {0}")]
    Engine(String),
    #[error("The artifact directory {path} cannot be used: {source}")]
    ArtifactDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The result of compiling a deployment.
#[derive(Clone, Debug)]
pub struct CompiledDeployment {
    pub id: DeploymentId,
    /// False when a compiled artifact from an earlier compile was reused.
    pub compiled: bool,
    pub duration: Duration,
}

/// Counters for observing the runtime from outside.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    pub compilations: u64,
    pub artifact_loads: u64,
    pub cached_deployments: usize,
}

pub struct Runtime {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
    artifacts: ArtifactStore,
    cache: Arc<DeploymentCache>,
    allocation: AllocationMode,
    max_instances: u32,
    max_memory_bytes: u64,
    compilations: AtomicU64,
    artifact_loads: AtomicU64,
    idle_budget: IdleBudget,
    _ticker: EpochTicker,
    _sweeper: Option<IdleSweeper>,
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Self, RuntimeError> {
        let engine_error = |error: &dyn std::fmt::Display| RuntimeError::Engine(error.to_string());
        let (engine, allocation) = build_engine(&config.engine).map_err(|e| engine_error(&e))?;
        let linker = build_linker(&engine).map_err(|e| engine_error(&e))?;
        let artifacts = ArtifactStore::open(&config.artifact_dir, &engine).map_err(|source| {
            RuntimeError::ArtifactDir {
                path: config.artifact_dir.clone(),
                source,
            }
        })?;
        let ticker = EpochTicker::start(&engine).map_err(|e| engine_error(&e))?;
        let capacity = NonZeroUsize::new(config.cache_capacity).unwrap_or(NonZeroUsize::MIN);
        let cache = Arc::new(DeploymentCache::new(capacity));
        let sweeper = config
            .cache_idle_timeout
            .map(|idle| IdleSweeper::start(&cache, idle))
            .transpose()
            .map_err(|e| engine_error(&e))?;
        // Idle instances hold pool slots; never let them take more than a quarter of the pool.
        let max_idle = (config.engine.max_idle_instances)
            .min(config.engine.max_concurrent_instances as usize / 4);
        Ok(Self {
            engine,
            linker: Arc::new(linker),
            artifacts,
            cache,
            allocation,
            max_instances: config.engine.max_concurrent_instances,
            max_memory_bytes: config.engine.max_memory_bytes,
            compilations: AtomicU64::new(0),
            artifact_loads: AtomicU64::new(0),
            idle_budget: IdleBudget::new(max_idle, config.engine.max_idle_instances_per_deployment),
            _ticker: ticker,
            _sweeper: sweeper,
        })
    }

    pub fn allocation_mode(&self) -> &AllocationMode {
        &self.allocation
    }

    pub fn stats(&self) -> RuntimeStats {
        RuntimeStats {
            compilations: self.compilations.load(Ordering::Relaxed),
            artifact_loads: self.artifact_loads.load(Ordering::Relaxed),
            cached_deployments: self.cache.len(),
        }
    }

    /// Validates and compiles a deployment, keeping the `.wasm` and the compiled artifact on
    /// disk. Compiling the same bytes again reuses the artifact.
    pub async fn compile(&self, bytes: Vec<u8>) -> Result<CompiledDeployment, CompileError> {
        check_binary_kind(&bytes)?;
        let started = Instant::now();
        let id = DeploymentId::of(&bytes);
        let (prepared, compiled) = match self.load_artifact(&id).await {
            Ok(prepared) => (prepared, false),
            Err(_) => {
                let prepared = self.compile_and_store(id.clone(), bytes).await?;
                (prepared, true)
            }
        };
        self.trial_instantiate(&prepared).await?;
        self.cache.insert(id.clone(), prepared);
        Ok(CompiledDeployment {
            id,
            compiled,
            duration: started.elapsed(),
        })
    }

    /// Forgets the in-memory copy of a deployment (its files stay).
    pub fn evict(&self, id: &DeploymentId) {
        self.cache.remove(id);
    }

    async fn compile_and_store(
        &self,
        id: DeploymentId,
        bytes: Vec<u8>,
    ) -> Result<Arc<PreparedDeployment>, CompileError> {
        let engine = self.engine.clone();
        let linker = self.linker.clone();
        let artifacts = self.artifacts.clone();
        let span = tracing::info_span!("compile", deployment = %id, bytes = bytes.len());
        let prepared = tokio::task::spawn_blocking(move || {
            let _span = span.entered();
            let component = Component::new(&engine, &bytes)
                .map_err(|error| CompileError::Invalid(format!("{error:#}")))?;
            check_world(&engine, &linker, &component)?;
            artifacts.save_source(&id, &bytes)?;
            let serialized = component
                .serialize()
                .map_err(|error| CompileError::Internal(format!("{error:#}")))?;
            artifacts.save_compiled(&id, &serialized)?;
            // Serve from the artifact just written rather than the in-memory compilation: its
            // code is then file-backed page cache the kernel can reclaim, and wasmtime maps
            // linear-memory images straight from the file instead of copying them into a
            // memfd, so an idle deployment holds almost no anonymous memory. Should the
            // reload fail, the in-memory component still serves.
            let component = match artifacts.load_compiled(&engine, &id) {
                Ok(mapped) => mapped,
                Err(stale) => {
                    tracing::warn!(deployment = %id, reason = %stale, "serving the compiled component from memory");
                    component
                }
            };
            prepare(&linker, &component).map_err(CompileError::Internal)
        })
        .await
        .map_err(|error| CompileError::Internal(error.to_string()))??;
        self.compilations.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(prepared))
    }

    /// Loads a compiled artifact from disk and prepares it, without compiling.
    async fn load_artifact(
        &self,
        id: &DeploymentId,
    ) -> Result<Arc<PreparedDeployment>, StaleArtifact> {
        let engine = self.engine.clone();
        let linker = self.linker.clone();
        let artifacts = self.artifacts.clone();
        let id = id.clone();
        let prepared = tokio::task::spawn_blocking(move || {
            let component = artifacts.load_compiled(&engine, &id)?;
            prepare(&linker, &component).map_err(StaleArtifact::Unloadable)
        })
        .await
        .map_err(|error| StaleArtifact::Unloadable(error.to_string()))??;
        self.artifact_loads.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(prepared))
    }

    /// Instantiates a freshly compiled deployment once, so that a component which cannot start
    /// (a trapping start function, a handler of the wrong type) is refused at upload.
    async fn trial_instantiate(&self, prepared: &PreparedDeployment) -> Result<(), CompileError> {
        let limits = Limits::default();
        let mut store = self.new_store(&limits, &[], &OutboundPolicy::deny_all());
        let instance = prepared
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|error| {
                CompileError::Incompatible(Failure::from_wasm_error(error, &limits).message())
            })?;
        instance
            .get_typed_func::<(Request,), (Result<Response, String>,)>(&mut store, &prepared.handle)
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
    async fn prepared(&self, id: &DeploymentId) -> Result<Arc<PreparedDeployment>, InvokeError> {
        if let Some(prepared) = self.cache.get(id) {
            return Ok(prepared);
        }
        let prepared = match self.load_artifact(id).await {
            Ok(prepared) => prepared,
            Err(stale) => self.recompile(id, stale).await?,
        };
        self.cache.insert(id.clone(), prepared.clone());
        Ok(prepared)
    }

    async fn recompile(
        &self,
        id: &DeploymentId,
        stale: StaleArtifact,
    ) -> Result<Arc<PreparedDeployment>, InvokeError> {
        if !self.artifacts.has_source(id) {
            return Err(InvokeError::DeploymentNotFound(id.clone()));
        }
        tracing::warn!(deployment = %id, reason = %stale, "compiled artifact unusable; recompiling");
        let bytes = self
            .artifacts
            .read_source(id)
            .map_err(|error| unloadable(id, error))?;
        self.compile_and_store(id.clone(), bytes)
            .await
            .map_err(|error| unloadable(id, error))
    }

    fn new_store(
        &self,
        limits: &Limits,
        env: &[(String, String)],
        outbound: &OutboundPolicy,
    ) -> Store<HostState> {
        let limits = Limits {
            memory_bytes: limits.memory_bytes.min(self.max_memory_bytes),
            ..limits.clone()
        };
        let mut store = Store::new(&self.engine, HostState::new(&limits, env, outbound));
        store.limiter(|state| &mut state.memory);
        // Fuel is enabled in every engine this runtime builds, so this cannot fail.
        let _ = store.fuel_async_yield_interval(Some(FUEL_YIELD_INTERVAL));
        arm(&mut store, &limits);
        store
    }

    /// Runs one invocation of a deployment in a fresh sandbox.
    pub async fn invoke(
        &self,
        id: &DeploymentId,
        request: Request,
        limits: &Limits,
        env: &[(String, String)],
        outbound: &OutboundPolicy,
    ) -> Result<InvocationOutcome, InvokeError> {
        let span = tracing::info_span!("invoke", deployment = %id, method = %request.method, path = %request.path);
        async move {
            let prepared = self.prepared(id).await?;
            let started = Instant::now();
            let key = limits
                .reuse_instance
                .then(|| WarmKey::new(limits, env, outbound));
            let (mut store, handle) = match key.as_ref().and_then(|key| prepared.warm.take(key)) {
                Some(mut warm) => {
                    arm(&mut warm.store, limits);
                    (warm.store, Some(warm.handle))
                }
                None => (self.new_store(limits, env, outbound), None),
            };
            let run = run_guest(&prepared, &mut store, handle, request, limits);
            // The epoch deadline stops a guest that computes; this stops one that waits on
            // the host (an outbound request, a sleep) past its time.
            let (result, handle) = match tokio::time::timeout(limits.timeout, run).await {
                Ok(Ok((response, handle))) => (Ok(response), Some(handle)),
                Ok(Err(RunError::Failed(failure))) => (Err(failure), None),
                Ok(Err(RunError::PoolExhausted)) => {
                    return Err(InvokeError::Overloaded(self.max_instances));
                }
                Err(_elapsed) => (Err(Failure::Timeout), None),
            };
            let duration = started.elapsed();
            let outcome = finish(&mut store, result, limits, duration);
            // Only an instance whose call succeeded is kept: after a trap, a timeout or a
            // failed response its state may be half-updated.
            if let (Some(key), Some(handle), None) = (key, handle, &outcome.failure) {
                let instance = WarmInstance { store, handle, key };
                prepared.warm.put(instance, &self.idle_budget);
            }
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
}

fn unloadable(id: &DeploymentId, error: impl std::fmt::Display) -> InvokeError {
    InvokeError::Unloadable {
        id: id.clone(),
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

/// Links a component and finds its handler.
pub(crate) fn prepare(
    linker: &Linker<HostState>,
    component: &Component,
) -> Result<PreparedDeployment, String> {
    let interface = component
        .component_type()
        .exports(component.engine())
        .map(|(name, _)| name)
        .find(|name| is_handler_export(name))
        .map(str::to_owned)
        .ok_or_else(|| format!("the component does not export `{HANDLER_INTERFACE}`"))?;
    let handler = component
        .get_export_index(None, interface.as_str())
        .ok_or_else(|| format!("the component does not export `{interface}`"))?;
    let handle = component
        .get_export_index(Some(&handler), HANDLE_FUNCTION)
        .ok_or_else(|| format!("`{interface}` has no `{HANDLE_FUNCTION}` function"))?;
    let pre = linker
        .instantiate_pre(component)
        .map_err(|error| format!("{error:#}"))?;
    Ok(PreparedDeployment {
        pre,
        handle,
        warm: WarmPool::default(),
    })
}

/// Gives a store this invocation's CPU budget and deadline (a reused store gets them anew).
fn arm(store: &mut Store<HostState>, limits: &Limits) {
    // Fuel is enabled in every engine this runtime builds, so this cannot fail.
    let _ = store.set_fuel(limits.fuel);
    store.set_epoch_deadline(ticks_for(limits.timeout));
    store.data_mut().memory.begin_invocation();
}

/// Instantiates the deployment unless a reused instance's handler is given, then calls it.
/// Returns the handler too, so a caller that opted into reuse can keep the instance.
async fn run_guest(
    prepared: &PreparedDeployment,
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
                .get_typed_func::<(Request,), (Result<Response, String>,)>(
                    &mut *store,
                    &prepared.handle,
                )
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
