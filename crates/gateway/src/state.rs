//! What every request handler shares.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;
use wafer_runtime::Runtime;
use wafer_store::{ExecutionWriter, MetadataStore};

use crate::build::Builds;
use crate::config::GatewayConfig;
use crate::observe::Rejection;
use crate::observe::metrics::Metrics;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub config: GatewayConfig,
    /// The `/v1` URL functions are told to call back on.
    pub api_endpoint: String,
    pub store: Arc<dyn MetadataStore>,
    pub writer: ExecutionWriter,
    pub runtime: Arc<Runtime>,
    pub jwt_secret: Vec<u8>,
    pub concurrency: Concurrency,
    /// Wakes the queue worker when an async execution is enqueued.
    pub queue: Notify,
    pub uploads_dir: PathBuf,
    /// This server's deployment builds in progress.
    pub builds: Builds,
    /// Tasks that record an execution after its request has been answered (a streamed route
    /// response): shutdown waits for them before the last flush of the record writer.
    pub recorders: TaskTracker,
    pub metrics: Arc<Metrics>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

/// Admission control: a global and a per-function bound on executions running at once.
/// Callers over a bound are refused at once (429), never queued without bound.
///
/// A function's semaphore exists only while some execution of it runs or waits: the last
/// permit to go removes it, so ten thousand idle functions cost nothing here.
pub struct Concurrency {
    global: Arc<Semaphore>,
    global_limit: usize,
    per_function_limit: usize,
    per_function: Arc<Mutex<FunctionSemaphores>>,
}

type FunctionSemaphores = HashMap<String, Arc<Semaphore>>;

fn lock(map: &Mutex<FunctionSemaphores>) -> std::sync::MutexGuard<'_, FunctionSemaphores> {
    // The map holds no invariant a panic elsewhere could break.
    map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Held while an execution runs; dropping it frees both slots.
pub struct ExecutionPermit {
    _global: OwnedSemaphorePermit,
    _function: FunctionPermit,
}

/// A per-function slot that removes its function's semaphore when it is the last user.
struct FunctionPermit {
    permit: Option<OwnedSemaphorePermit>,
    key: String,
    map: Arc<Mutex<FunctionSemaphores>>,
}

impl Drop for FunctionPermit {
    fn drop(&mut self) {
        let mut map = lock(&self.map);
        drop(self.permit.take());
        // Under the lock nobody can take a new handle, so a count of one means only the map
        // holds it: no execution runs and none waits.
        if map
            .get(&self.key)
            .is_some_and(|semaphore| Arc::strong_count(semaphore) == 1)
        {
            map.remove(&self.key);
        }
    }
}

/// Seconds a refused caller is told to wait.
const RETRY_AFTER_SECONDS: u64 = 1;

/// An execution refused because a concurrency limit is reached.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AdmissionRefused {
    pub message: String,
    /// Which limit refused it.
    pub reason: Rejection,
    /// Seconds after which a retry may be admitted.
    pub retry_after: u64,
}

impl AdmissionRefused {
    fn new(reason: Rejection, message: String) -> Self {
        Self {
            message,
            reason,
            retry_after: RETRY_AFTER_SECONDS,
        }
    }
}

impl Concurrency {
    pub fn new(global: usize, per_function: usize) -> Self {
        Self {
            global: Arc::new(Semaphore::new(global.max(1))),
            global_limit: global.max(1),
            per_function_limit: per_function.max(1),
            per_function: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn function_semaphore(&self, key: &str) -> Arc<Semaphore> {
        lock(&self.per_function)
            .entry(key.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_function_limit)))
            .clone()
    }

    /// Functions with an execution running or waiting right now.
    #[cfg(test)]
    fn busy_functions(&self) -> usize {
        lock(&self.per_function).len()
    }

    fn function_permit(&self, key: String, permit: OwnedSemaphorePermit) -> FunctionPermit {
        FunctionPermit {
            permit: Some(permit),
            key,
            map: self.per_function.clone(),
        }
    }

    /// A handle was taken but no permit came of it: let the map forget an unused semaphore.
    fn release_unused(&self, key: String) {
        drop(FunctionPermit {
            permit: None,
            key,
            map: self.per_function.clone(),
        });
    }

    pub fn try_admit(
        &self,
        project_id: &str,
        function_id: &str,
    ) -> Result<ExecutionPermit, AdmissionRefused> {
        let key = format!("{project_id}/{function_id}");
        let acquired = self.function_semaphore(&key).try_acquire_owned();
        let Ok(permit) = acquired else {
            self.release_unused(key);
            return Err(AdmissionRefused::new(
                Rejection::FunctionConcurrency,
                format!(
                    "Function '{function_id}' already runs {} executions at once (its \
                 concurrency limit); retry shortly.",
                    self.per_function_limit
                ),
            ));
        };
        let function = self.function_permit(key, permit);
        let global = self.global.clone().try_acquire_owned().map_err(|_| {
            AdmissionRefused::new(
                Rejection::GlobalConcurrency,
                "The server is running as many executions as it allows (global concurrency \
                 limit); retry shortly."
                    .to_owned(),
            )
        })?;
        Ok(ExecutionPermit {
            _global: global,
            _function: function,
        })
    }

    /// Executions admitted and running (or about to) now.
    pub fn running(&self) -> usize {
        self.global_limit - self.global.available_permits()
    }

    /// Waits for a slot instead of refusing: for background work (async queue, schedules).
    pub async fn admit_waiting(
        &self,
        project_id: &str,
        function_id: &str,
    ) -> Option<ExecutionPermit> {
        let key = format!("{project_id}/{function_id}");
        let acquired = self.function_semaphore(&key).acquire_owned().await;
        let Ok(permit) = acquired else {
            self.release_unused(key);
            return None;
        };
        let function = self.function_permit(key, permit);
        let global = self.global.clone().acquire_owned().await.ok()?;
        Some(ExecutionPermit {
            _global: global,
            _function: function,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_semaphore_lives_only_while_its_executions_run() {
        let concurrency = Concurrency::new(8, 2);
        let first = concurrency.try_admit("p", "f").expect("first");
        let second = concurrency.try_admit("p", "f").expect("second");
        assert!(concurrency.try_admit("p", "f").is_err(), "over the limit");
        assert_eq!(concurrency.busy_functions(), 1);
        drop(first);
        assert_eq!(concurrency.busy_functions(), 1, "one still runs");
        drop(second);
        assert_eq!(concurrency.busy_functions(), 0);
    }

    #[test]
    fn a_refusal_leaves_no_semaphore_behind() {
        let concurrency = Concurrency::new(1, 4);
        let held = concurrency.try_admit("p", "f").expect("first");
        assert!(concurrency.try_admit("p", "g").is_err(), "global limit");
        assert_eq!(concurrency.busy_functions(), 1);
        drop(held);
        assert_eq!(concurrency.busy_functions(), 0);
    }

    #[tokio::test]
    async fn a_waiting_admission_keeps_the_semaphore_until_it_finishes() {
        let concurrency = Arc::new(Concurrency::new(8, 1));
        let held = concurrency.try_admit("p", "f").expect("first");
        let waiter = {
            let concurrency = concurrency.clone();
            tokio::spawn(async move { concurrency.admit_waiting("p", "f").await.is_some() })
        };
        tokio::task::yield_now().await;
        drop(held);
        assert!(waiter.await.expect("join"), "the waiter got the slot");
        assert_eq!(concurrency.busy_functions(), 0);
    }
}
