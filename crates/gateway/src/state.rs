//! What every request handler shares.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use wafer_runtime::Runtime;
use wafer_store::{ExecutionWriter, MetadataStore};

use crate::config::GatewayConfig;
use crate::error::ApiError;

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
pub struct Concurrency {
    global: Arc<Semaphore>,
    per_function_limit: usize,
    per_function: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Held while an execution runs; dropping it frees both slots.
pub struct ExecutionPermit {
    _global: OwnedSemaphorePermit,
    _function: OwnedSemaphorePermit,
}

/// Seconds a refused caller is told to wait.
const RETRY_AFTER_SECONDS: u64 = 1;

impl Concurrency {
    pub fn new(global: usize, per_function: usize) -> Self {
        Self {
            global: Arc::new(Semaphore::new(global.max(1))),
            per_function_limit: per_function.max(1),
            per_function: Mutex::new(HashMap::new()),
        }
    }

    fn function_semaphore(&self, key: &str) -> Arc<Semaphore> {
        let mut map = self
            .per_function
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(key.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_function_limit)))
            .clone()
    }

    pub fn try_admit(
        &self,
        project_id: &str,
        function_id: &str,
    ) -> Result<ExecutionPermit, ApiError> {
        let function = self
            .function_semaphore(&format!("{project_id}/{function_id}"))
            .try_acquire_owned()
            .map_err(|_| {
                ApiError::rate_limited(
                    format!(
                        "Function '{function_id}' already runs {} executions at once (its \
                         concurrency limit); retry shortly.",
                        self.per_function_limit
                    ),
                    RETRY_AFTER_SECONDS,
                )
            })?;
        let global = self.global.clone().try_acquire_owned().map_err(|_| {
            ApiError::rate_limited(
                "The server is running as many executions as it allows (global concurrency \
                 limit); retry shortly.",
                RETRY_AFTER_SECONDS,
            )
        })?;
        Ok(ExecutionPermit {
            _global: global,
            _function: function,
        })
    }

    /// Waits for a slot instead of refusing: for background work (async queue, schedules).
    pub async fn admit_waiting(
        &self,
        project_id: &str,
        function_id: &str,
    ) -> Option<ExecutionPermit> {
        let function = self
            .function_semaphore(&format!("{project_id}/{function_id}"))
            .acquire_owned()
            .await
            .ok()?;
        let global = self.global.clone().acquire_owned().await.ok()?;
        Some(ExecutionPermit {
            _global: global,
            _function: function,
        })
    }
}
