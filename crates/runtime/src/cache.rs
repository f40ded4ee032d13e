//! A bounded cache of deployments ready to instantiate: the least recently used goes first
//! when it is full, and any deployment idle past the time-to-idle goes too.
//!
//! A cached deployment holds a mapping of its compiled artifact and the artifact's open file
//! (plus any warm instances), so an idle one costs a descriptor and page-table entries even when
//! its pages are reclaimed. Dropping it after a quiet spell makes idle functions cost disk only;
//! the next call loads the artifact again (about a millisecond for a Rust hello).

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lru::LruCache;
use wasmtime::component::{ComponentExportIndex, InstancePre};

use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::artifacts::ArtifactHash;
use crate::contract::DeploymentKind;
use crate::deploy::Tier;
use crate::host::HostState;
use crate::warm::WarmPool;

/// A deployment linked against the host and resolved to its handler: instantiating it is
/// the only per-invocation work left.
pub(crate) struct PreparedDeployment {
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) entry: Entry,
    pub(crate) tier: Tier,
    /// Instances kept for invocations that opt into reuse; dropped with the deployment.
    pub(crate) warm: WarmPool,
}

/// What a deployment is called through, by the world it implements.
pub(crate) enum Entry {
    /// The `handle` function of the wafer handler.
    Function(ComponentExportIndex),
    /// The `wasi:http/incoming-handler` export.
    HttpProxy(ProxyPre<HostState>),
}

impl PreparedDeployment {
    pub(crate) fn kind(&self) -> DeploymentKind {
        match self.entry {
            Entry::Function(_) => DeploymentKind::Function,
            Entry::HttpProxy(_) => DeploymentKind::HttpProxy,
        }
    }
}

struct Cached {
    prepared: Arc<PreparedDeployment>,
    last_used: Instant,
}

pub(crate) struct DeploymentCache {
    entries: Mutex<LruCache<ArtifactHash, Cached>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl DeploymentCache {
    pub(crate) fn new(capacity: NonZeroUsize) -> Self {
        Self {
            entries: Mutex::new(LruCache::new(capacity)),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, LruCache<ArtifactHash, Cached>> {
        // The cache holds no invariant a panic elsewhere could break.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The deployment, if cached; counted as a hit or a miss.
    pub(crate) fn get(&self, id: &ArtifactHash) -> Option<Arc<PreparedDeployment>> {
        let found = self.get_at(id, Instant::now());
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Lookups by [`get`](Self::get) that found their deployment.
    pub(crate) fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups by [`get`](Self::get) that did not.
    pub(crate) fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    fn get_at(&self, id: &ArtifactHash, now: Instant) -> Option<Arc<PreparedDeployment>> {
        let mut entries = self.entries();
        let entry = entries.get_mut(id)?;
        entry.last_used = now;
        Some(entry.prepared.clone())
    }

    pub(crate) fn insert(&self, id: ArtifactHash, prepared: Arc<PreparedDeployment>) {
        self.insert_at(id, prepared, Instant::now());
    }

    fn insert_at(&self, id: ArtifactHash, prepared: Arc<PreparedDeployment>, now: Instant) {
        let mut entries = self.entries();
        // A Winch deployment loaded while Cranelift's was being cached must not replace it.
        if prepared.tier == Tier::Winch
            && let Some(cached) = entries.get_mut(&id)
            && cached.prepared.tier == Tier::Cranelift
        {
            cached.last_used = now;
            return;
        }
        let entry = Cached {
            prepared,
            last_used: now,
        };
        let pushed_out = entries.push(id.clone(), entry);
        drop(entries);
        // `push` returns the replaced entry for the same id too; only another one was evicted.
        if let Some((evicted_id, evicted)) = pushed_out.filter(|(evicted_id, _)| *evicted_id != id)
        {
            tracing::debug!(deployment = %evicted_id, "least recently used deployment evicted");
            release(evicted);
        }
    }

    /// Replaces a cached deployment with its optimized build, keeping its place and idle time.
    /// One no longer cached stays out: it was evicted, and its next load finds the optimized
    /// artifact on disk anyway.
    pub(crate) fn upgrade(&self, id: &ArtifactHash, prepared: Arc<PreparedDeployment>) {
        let replaced = {
            let mut entries = self.entries();
            let Some(entry) = entries.peek_mut(id) else {
                return;
            };
            std::mem::replace(&mut entry.prepared, prepared)
        };
        // Its warm instances run the old code; later invocations start on the new.
        replaced.warm.clear();
    }

    /// Which tier serves a cached deployment (without counting as a use).
    pub(crate) fn tier(&self, id: &ArtifactHash) -> Option<Tier> {
        self.entries().peek(id).map(|entry| entry.prepared.tier)
    }

    pub(crate) fn remove(&self, id: &ArtifactHash) {
        let removed = self.entries().pop(id);
        if let Some(entry) = removed {
            release(entry);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries().len()
    }

    /// Drops every deployment not used for `idle` as of `now`; returns how many went.
    fn evict_idle(&self, now: Instant, idle: Duration) -> usize {
        let mut evicted = Vec::new();
        {
            let mut entries = self.entries();
            // The LRU order is the order of `last_used`, so the idle ones are all at the tail.
            while let Some((_, entry)) = entries.peek_lru() {
                if now.saturating_duration_since(entry.last_used) < idle {
                    break;
                }
                evicted.extend(entries.pop_lru());
            }
        }
        // Released outside the lock: dropping instances and unmapping artifacts takes time
        // that invocations looking up other deployments should not wait for.
        let count = evicted.len();
        for (id, entry) in evicted {
            tracing::debug!(deployment = %id, "idle deployment evicted");
            release(entry);
        }
        count
    }
}

/// Lets go of an evicted deployment's warm instances now, even if an invocation still running
/// holds the deployment: their pool slots and idle-budget share return at once, and the
/// artifact mapping goes with the last holder.
fn release(entry: Cached) {
    entry.prepared.warm.clear();
}

/// The thread that evicts idle deployments without needing traffic to notice them. Dropping
/// it stops the thread at once.
pub(crate) struct IdleSweeper {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl IdleSweeper {
    /// Checks a few times per `idle` period (at most every 30 s), so a deployment goes at most
    /// about a quarter period late.
    pub(crate) fn start(cache: &Arc<DeploymentCache>, idle: Duration) -> std::io::Result<Self> {
        let interval = (idle / 4).clamp(Duration::from_millis(1), Duration::from_secs(30));
        let weak: Weak<DeploymentCache> = Arc::downgrade(cache);
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("wafer-idle-sweeper".into())
            .spawn(move || {
                // Waiting on the channel rather than sleeping lets a drop end the thread now.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    let Some(cache) = weak.upgrade() else { return };
                    cache.evict_idle(Instant::now(), idle);
                }
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for IdleSweeper {
    fn drop(&mut self) {
        // Disconnecting the channel wakes the thread, which then ends.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EngineConfig, build_engine};
    use crate::host::build_linker;
    use crate::limits::Limits;
    use crate::outbound::OutboundPolicy;
    use crate::warm::{IdleBudget, WarmInstance, WarmKey};
    use wasmtime::Store;
    use wasmtime::component::Component;

    /// A real prepared Rust hello with one warm instance in its pool.
    async fn prepared_with_a_warm_instance(budget: &IdleBudget) -> Arc<PreparedDeployment> {
        let config = EngineConfig {
            pooling: false,
            ..EngineConfig::default()
        };
        let (engine, _) = build_engine(&config).expect("engine");
        let linker = build_linker(&engine).expect("linker");
        let component = Component::from_file(&engine, wafer_testkit::rust_example("hello"))
            .expect("hello compiles");
        let prepared =
            crate::deploy::prepare(&linker, &component, Tier::Cranelift).expect("hello links");
        let limits = Limits::default();
        let policy = OutboundPolicy::deny_all();
        let network = Arc::default();
        let state = HostState::new(&limits, &[], &policy, &network, None);
        let mut store = Store::new(&engine, state);
        store.set_fuel(limits.fuel).expect("fuel is enabled");
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = prepared
            .pre
            .instantiate_async(&mut store)
            .await
            .expect("hello instantiates");
        let handle = instance
            .get_typed_func(&mut store, hello_handle(&prepared))
            .expect("hello has a handler");
        let key = WarmKey::new(&limits, &[], &policy);
        let warm = WarmInstance { store, handle, key };
        prepared.warm.put(warm, budget);
        Arc::new(prepared)
    }

    fn hello_handle(prepared: &PreparedDeployment) -> ComponentExportIndex {
        match prepared.entry {
            Entry::Function(handle) => handle,
            Entry::HttpProxy(_) => panic!("hello is a wafer function"),
        }
    }

    fn id(n: u8) -> ArtifactHash {
        ArtifactHash::of(&[n])
    }

    #[tokio::test]
    async fn deployments_idle_past_the_timeout_are_evicted_and_recent_ones_stay() {
        let budget = IdleBudget::new(8, 4);
        let prepared = prepared_with_a_warm_instance(&budget).await;
        let cache = DeploymentCache::new(NonZeroUsize::new(10).expect("non-zero"));
        let start = Instant::now();
        let idle = Duration::from_secs(600);
        cache.insert_at(id(1), prepared.clone(), start);
        cache.insert_at(id(2), prepared.clone(), start);
        // Deployment 1 is called again five minutes later; 2 is not.
        assert!(cache.get_at(&id(1), start + idle / 2).is_some());

        assert_eq!(
            cache.evict_idle(start + idle - Duration::from_secs(1), idle),
            0
        );
        assert_eq!(cache.evict_idle(start + idle, idle), 1);
        assert!(cache.get_at(&id(2), start + idle).is_none());
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.evict_idle(start + idle * 2, idle), 1);
        assert_eq!(cache.len(), 0);
    }

    #[tokio::test]
    async fn an_evicted_deployment_lets_go_of_its_warm_instances_even_while_still_held() {
        let budget = IdleBudget::new(8, 4);
        let prepared = prepared_with_a_warm_instance(&budget).await;
        assert_eq!((prepared.warm.len(), budget.idle()), (1, 1));
        let cache = DeploymentCache::new(NonZeroUsize::new(10).expect("non-zero"));
        let start = Instant::now();
        cache.insert_at(id(1), prepared.clone(), start);

        cache.evict_idle(start + Duration::from_secs(1), Duration::from_secs(1));
        assert_eq!((prepared.warm.len(), budget.idle()), (0, 0));
    }

    #[tokio::test]
    async fn a_deployment_pushed_out_by_capacity_lets_go_of_its_warm_instances() {
        let budget = IdleBudget::new(8, 4);
        let prepared = prepared_with_a_warm_instance(&budget).await;
        let cache = DeploymentCache::new(NonZeroUsize::MIN);
        cache.insert(id(1), prepared.clone());
        // Replacing the same deployment keeps what it holds; another one pushes it out.
        cache.insert(id(1), prepared.clone());
        assert_eq!(prepared.warm.len(), 1);
        cache.insert(id(2), prepared_with_a_warm_instance(&budget).await);
        assert_eq!(prepared.warm.len(), 0);
    }
}
