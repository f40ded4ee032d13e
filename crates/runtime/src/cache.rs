//! A bounded, least-recently-used cache of deployments ready to instantiate.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;
use wasmtime::component::{ComponentExportIndex, InstancePre};

use crate::artifacts::DeploymentId;
use crate::host::HostState;
use crate::warm::WarmPool;

/// A deployment linked against the host and resolved to its handler: instantiating it is
/// the only per-invocation work left.
pub(crate) struct PreparedDeployment {
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) handle: ComponentExportIndex,
    /// Instances kept for invocations that opt into reuse; dropped with the deployment.
    pub(crate) warm: WarmPool,
}

pub(crate) struct DeploymentCache {
    entries: Mutex<LruCache<DeploymentId, Arc<PreparedDeployment>>>,
}

impl DeploymentCache {
    pub(crate) fn new(capacity: NonZeroUsize) -> Self {
        Self {
            entries: Mutex::new(LruCache::new(capacity)),
        }
    }

    fn entries(
        &self,
    ) -> std::sync::MutexGuard<'_, LruCache<DeploymentId, Arc<PreparedDeployment>>> {
        // The cache holds no invariant a panic elsewhere could break.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn get(&self, id: &DeploymentId) -> Option<Arc<PreparedDeployment>> {
        self.entries().get(id).cloned()
    }

    pub(crate) fn insert(&self, id: DeploymentId, prepared: Arc<PreparedDeployment>) {
        self.entries().put(id, prepared);
    }

    pub(crate) fn remove(&self, id: &DeploymentId) {
        self.entries().pop(id);
    }

    pub(crate) fn len(&self) -> usize {
        self.entries().len()
    }
}
