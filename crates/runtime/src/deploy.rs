//! Compiling and loading deployments, in two tiers.
//!
//! Cranelift makes fast code but takes 12-17 s for a 12-18 MB JavaScript or Python component;
//! Winch, wasmtime's baseline compiler, compiles the same in a fraction of that with slower
//! code. A component at least [`EngineConfig::winch_threshold_bytes`] large is compiled with
//! Winch first and serves at once, while Cranelift recompiles it on a background thread; the
//! optimized deployment then replaces the Winch one in the cache and its artifact replaces the
//! Winch artifact on disk. Both engines enforce the same limits: Winch emits fuel and epoch
//! checks as Cranelift does, and the engines share memory and stack settings.
//!
//! [`EngineConfig::winch_threshold_bytes`]: crate::EngineConfig::winch_threshold_bytes

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use crate::artifacts::{ArtifactHash, ArtifactStore, StaleArtifact};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::cache::{DeploymentCache, Entry, PreparedDeployment};
use crate::contract::{
    HANDLE_FUNCTION, HANDLER_INTERFACE, INCOMING_HANDLER_INTERFACE, is_handler_export,
    is_incoming_handler_export,
};
use crate::host::HostState;
use crate::observe::RuntimeObserver;
use crate::validate::{CompileError, check_world};
use crate::warm::WarmPool;

/// Which compiler made the code a deployment runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tier {
    /// Winch, the fast baseline compiler: serving while Cranelift works.
    Winch,
    /// Cranelift, the optimizing compiler: where every deployment ends up.
    Cranelift,
}

/// An engine and the linker built for it (a linker only links components of its own engine).
#[derive(Clone)]
pub(crate) struct Backend {
    pub(crate) engine: Engine,
    linker: Arc<Linker<HostState>>,
}

impl Backend {
    pub(crate) fn new(engine: Engine, linker: Linker<HostState>) -> Self {
        Self {
            engine,
            linker: Arc::new(linker),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) compilations: AtomicU64,
    pub(crate) artifact_loads: AtomicU64,
    pub(crate) optimizations: AtomicU64,
}

/// Compiles, loads and caches deployments, and moves Winch ones up to Cranelift. Cheap to
/// clone; a background optimization holds a clone.
#[derive(Clone)]
pub(crate) struct Deployer {
    cranelift: Backend,
    winch: Option<Backend>,
    winch_threshold: usize,
    pub(crate) artifacts: ArtifactStore,
    pub(crate) cache: Arc<DeploymentCache>,
    pub(crate) counters: Arc<Counters>,
    /// Deployments with a Cranelift compile under way, so none is started twice.
    optimizing: Arc<Mutex<HashSet<ArtifactHash>>>,
    /// Held by the one background compile running at a time: several at once would only add
    /// their memory peaks.
    optimizer: Arc<Mutex<()>>,
    /// One thread for background compiles. wasmtime compiles functions in parallel on rayon's
    /// pool; on the global pool a background Cranelift job queued its work ahead of the next
    /// upload's Winch compile, which then took 11 s instead of 2 s. Inside this pool the
    /// background job keeps to one core and leaves the global pool to uploads.
    background: Option<Arc<rayon::ThreadPool>>,
    observer: Option<Arc<dyn RuntimeObserver>>,
}

impl Deployer {
    pub(crate) fn new(
        cranelift: Backend,
        winch: Option<Backend>,
        winch_threshold: Option<usize>,
        artifacts: ArtifactStore,
        cache: Arc<DeploymentCache>,
    ) -> Self {
        let winch = winch.filter(|_| winch_threshold.is_some());
        Self {
            cranelift,
            winch,
            winch_threshold: winch_threshold.unwrap_or(usize::MAX),
            artifacts,
            cache,
            counters: Arc::default(),
            optimizing: Arc::default(),
            optimizer: Arc::default(),
            background: background_pool(),
            observer: None,
        }
    }

    /// Tells `observer` of every compile.
    pub(crate) fn observed_by(self, observer: Option<Arc<dyn RuntimeObserver>>) -> Self {
        Self { observer, ..self }
    }

    /// Component instances holding a pool slot of either engine now.
    pub(crate) fn sandboxes_in_use(&self) -> u64 {
        self.engines()
            .into_iter()
            .filter_map(Engine::pooling_allocator_metrics)
            .map(|pool| pool.component_instances())
            .sum()
    }

    /// Compiles with `backend`, telling the observer how long it took.
    fn compile_with(
        &self,
        backend: &Backend,
        id: &ArtifactHash,
        bytes: &[u8],
        tier: Tier,
    ) -> Result<PreparedDeployment, CompileError> {
        let started = Instant::now();
        let prepared = compile_blocking(backend, &self.artifacts, id, bytes, tier)?;
        if let Some(observer) = &self.observer {
            observer.compiled(tier, started.elapsed());
        }
        Ok(prepared)
    }

    pub(crate) fn engines(&self) -> Vec<&Engine> {
        std::iter::once(&self.cranelift.engine)
            .chain(self.winch.as_ref().map(|winch| &winch.engine))
            .collect()
    }

    /// Loads the best compiled artifact on disk (Cranelift's, else Winch's), without compiling.
    pub(crate) async fn load(
        &self,
        id: &ArtifactHash,
    ) -> Result<Arc<PreparedDeployment>, StaleArtifact> {
        let this = self.clone();
        let id = id.clone();
        let prepared = tokio::task::spawn_blocking(move || this.load_blocking(&id))
            .await
            .map_err(|error| StaleArtifact::Unloadable(error.to_string()))??;
        self.counters.artifact_loads.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(prepared))
    }

    fn load_blocking(&self, id: &ArtifactHash) -> Result<PreparedDeployment, StaleArtifact> {
        let optimized = load_tier(&self.artifacts, &self.cranelift, id, Tier::Cranelift);
        match (optimized, &self.winch) {
            (Ok(prepared), _) => Ok(prepared),
            // The Winch artifact only matters while no Cranelift one exists; if it is unusable
            // too, the caller recompiles and the reason worth reporting is Cranelift's.
            (Err(stale), Some(winch)) => {
                load_tier(&self.artifacts, winch, id, Tier::Winch).map_err(|_| stale)
            }
            (Err(stale), None) => Err(stale),
        }
    }

    /// Compiles a deployment with the tier its size calls for, keeping the `.wasm` and the
    /// compiled artifact on disk.
    pub(crate) async fn compile(
        &self,
        id: ArtifactHash,
        bytes: Vec<u8>,
    ) -> Result<Arc<PreparedDeployment>, CompileError> {
        let (backend, tier) = match &self.winch {
            Some(winch) if bytes.len() >= self.winch_threshold => (winch.clone(), Tier::Winch),
            _ => (self.cranelift.clone(), Tier::Cranelift),
        };
        let this = self.clone();
        let span = tracing::info_span!("compile", deployment = %id, bytes = bytes.len(), ?tier);
        let prepared = tokio::task::spawn_blocking(move || {
            let _span = span.entered();
            this.compile_with(&backend, &id, &bytes, tier)
        })
        .await
        .map_err(|error| CompileError::Internal(error.to_string()))??;
        self.counters.compilations.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(prepared))
    }

    /// Caches a deployment and, if it runs Winch code, starts its Cranelift compile. In this
    /// order, so the optimized deployment always replaces a cached Winch one, never the reverse.
    pub(crate) fn keep(&self, id: &ArtifactHash, prepared: Arc<PreparedDeployment>) {
        let tier = prepared.tier;
        self.cache.insert(id.clone(), prepared);
        if tier == Tier::Winch {
            self.optimize_in_background(id);
        }
    }

    /// A plain thread rather than tokio's blocking pool: a runtime shutting down waits for its
    /// blocking tasks, and a shutdown should not wait seconds for a compile nobody needs.
    fn optimize_in_background(&self, id: &ArtifactHash) {
        if !lock(&self.optimizing).insert(id.clone()) {
            return;
        }
        let this = self.clone();
        let thread_id = id.clone();
        let span = tracing::info_span!("optimize", deployment = %id);
        let spawned = std::thread::Builder::new()
            .name("wafer-optimize".into())
            .spawn(move || {
                let _span = span.entered();
                let id = thread_id;
                let result = {
                    let _turn = lock(&this.optimizer);
                    this.optimize(&id)
                };
                lock(&this.optimizing).remove(&id);
                match result {
                    Ok(()) => tracing::info!("Cranelift code now serves the deployment"),
                    Err(error) => {
                        tracing::warn!(%error, "Cranelift recompile failed; Winch code keeps serving");
                    }
                }
            });
        if let Err(error) = spawned {
            lock(&self.optimizing).remove(id);
            tracing::warn!(deployment = %id, %error, "cannot start the Cranelift recompile");
        }
    }

    fn optimize(&self, id: &ArtifactHash) -> Result<(), CompileError> {
        let bytes = self.artifacts.read_source(id)?;
        let compile = || self.compile_with(&self.cranelift, id, &bytes, Tier::Cranelift);
        let prepared = match &self.background {
            Some(pool) => pool.install(compile),
            None => compile(),
        }?;
        self.counters.optimizations.fetch_add(1, Ordering::Relaxed);
        self.cache.upgrade(id, Arc::new(prepared));
        // The Cranelift artifact is what every later load picks, so the Winch one is dead
        // weight (40 MB for a JavaScript component).
        if let Err(error) = self.artifacts.remove_compiled(id, Tier::Winch) {
            tracing::warn!(%error, "the Winch artifact could not be removed");
        }
        Ok(())
    }
}

fn background_pool() -> Option<Arc<rayon::ThreadPool>> {
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .thread_name(|_| "wafer-optimize-pool".into())
        .build();
    match built {
        Ok(pool) => Some(Arc::new(pool)),
        Err(error) => {
            tracing::warn!(%error, "no thread for background compiles; they share the global pool");
            None
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Neither the set nor the turn holds an invariant a panic elsewhere could break.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn load_tier(
    artifacts: &ArtifactStore,
    backend: &Backend,
    id: &ArtifactHash,
    tier: Tier,
) -> Result<PreparedDeployment, StaleArtifact> {
    let component = artifacts.load_compiled(&backend.engine, id, tier)?;
    prepare(&backend.linker, &component, tier).map_err(StaleArtifact::Unloadable)
}

fn compile_blocking(
    backend: &Backend,
    artifacts: &ArtifactStore,
    id: &ArtifactHash,
    bytes: &[u8],
    tier: Tier,
) -> Result<PreparedDeployment, CompileError> {
    let component = Component::new(&backend.engine, bytes)
        .map_err(|error| CompileError::Invalid(format!("{error:#}")))?;
    check_world(&backend.engine, &backend.linker, &component)?;
    artifacts.save_source(id, bytes)?;
    let serialized = component
        .serialize()
        .map_err(|error| CompileError::Internal(format!("{error:#}")))?;
    artifacts.save_compiled(id, tier, &serialized)?;
    // Serve from the artifact just written rather than the in-memory compilation: its code is
    // then file-backed page cache the kernel can reclaim, and wasmtime maps linear-memory
    // images straight from the file instead of copying them into a memfd, so an idle
    // deployment holds almost no anonymous memory. Should the reload fail, the in-memory
    // component still serves.
    let component = match artifacts.load_compiled(&backend.engine, id, tier) {
        Ok(mapped) => mapped,
        Err(stale) => {
            tracing::warn!(deployment = %id, reason = %stale, "serving the compiled component from memory");
            component
        }
    };
    prepare(&backend.linker, &component, tier).map_err(CompileError::Internal)
}

/// Links a component and finds its handler: the wafer handler's `handle`, else the
/// `wasi:http/incoming-handler` export.
pub(crate) fn prepare(
    linker: &Linker<HostState>,
    component: &Component,
    tier: Tier,
) -> Result<PreparedDeployment, String> {
    let pre = linker
        .instantiate_pre(component)
        .map_err(|error| format!("{error:#}"))?;
    let exported = |is_export: fn(&str) -> bool| {
        component
            .component_type()
            .exports(component.engine())
            .map(|(name, _)| name)
            .find(|name| is_export(name))
            .map(str::to_owned)
    };
    let entry = if let Some(interface) = exported(is_handler_export) {
        let handler = component
            .get_export_index(None, interface.as_str())
            .ok_or_else(|| format!("the component does not export `{interface}`"))?;
        let handle = component
            .get_export_index(Some(&handler), HANDLE_FUNCTION)
            .ok_or_else(|| format!("`{interface}` has no `{HANDLE_FUNCTION}` function"))?;
        Entry::Function(handle)
    } else if exported(is_incoming_handler_export).is_some() {
        let proxy = ProxyPre::new(pre.clone()).map_err(|error| format!("{error:#}"))?;
        Entry::HttpProxy(proxy)
    } else {
        return Err(format!(
            "the component exports neither `{HANDLER_INTERFACE}` nor \
             `{INCOMING_HANDLER_INTERFACE}`"
        ));
    };
    Ok(PreparedDeployment {
        pre,
        entry,
        tier,
        warm: WarmPool::default(),
    })
}
