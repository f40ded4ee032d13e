//! The backend-neutral interface the gateway holds as `Arc<dyn MetadataStore>`.
//!
//! Conventions for every method:
//! - The `project_id` argument scopes the call; records of other projects are invisible (`NotFound`).
//!   Where a struct is passed in, its `project_id` field is overwritten by the argument.
//! - Nested records (deployments, executions, variables) are also scoped by their function: asking for
//!   a deployment under the wrong function is `NotFound`.
//! - `create_*` sets `created_at`/`updated_at` to now (executions excepted: see [`Execution`]);
//!   `update_*` sets `updated_at` to now and returns the stored record.
//! - List methods take the raw query strings and report bad ones as
//!   [`StoreError::Query`](crate::StoreError::Query) (checked before any database work) and a missing
//!   cursor document as [`StoreError::CursorNotFound`](crate::StoreError::CursorNotFound). Listing the
//!   children of a function that does not exist gives an empty page, not an error.

use std::collections::HashSet;

use async_trait::async_trait;

use crate::error::Result;
use crate::models::{
    ApiKey, ChunkProgress, Deployment, DueQueue, Execution, Function, ListParams, Page, Project,
    QueuedCounts, Variable,
};
use crate::time::Timestamp;
use crate::writer::{ExecutionWriter, WriterConfig};

/// Metadata and execution records of all projects.
#[async_trait]
pub trait MetadataStore: Send + Sync + 'static {
    // ----- projects -----

    /// Creates the project if it does not exist (keeping an existing one's name) and returns it.
    async fn ensure_project(&self, id: &str, name: &str) -> Result<Project>;
    /// The project; `NotFound` when there is none with this id.
    async fn get_project(&self, id: &str) -> Result<Project>;

    // ----- API keys -----

    /// Stores a new key with a generated id; only the SHA-256 of `secret` is kept. A second key with
    /// the same secret is `AlreadyExists`.
    async fn create_api_key(
        &self,
        project_id: &str,
        name: &str,
        scopes: &[String],
        secret: &str,
        expire: Option<Timestamp>,
    ) -> Result<ApiKey>;
    /// Finds a key of any project by its secret (hash lookup). Expiry is not checked here.
    async fn find_api_key_by_secret(&self, secret: &str) -> Result<Option<ApiKey>>;
    /// All of a project's keys, oldest first.
    async fn list_api_keys(&self, project_id: &str) -> Result<Vec<ApiKey>>;
    /// Deletes a key; `NotFound` when the project has no key with this id.
    async fn delete_api_key(&self, project_id: &str, id: &str) -> Result<()>;
    /// How many keys the project has.
    async fn count_api_keys(&self, project_id: &str) -> Result<u64>;
    /// Records that a key was used at `at`.
    async fn touch_api_key(&self, project_id: &str, id: &str, at: Timestamp) -> Result<()>;

    // ----- functions -----

    /// `AlreadyExists` when the id is taken in the project; `NotFound(Project)` for an unknown project.
    /// The deployment fields of `function` are ignored (a new function has none).
    async fn create_function(&self, project_id: &str, function: Function) -> Result<Function>;
    /// The function; `NotFound` when the project has none with this id.
    async fn get_function(&self, project_id: &str, id: &str) -> Result<Function>;
    /// Replaces the mutable fields: name, runtime, execute, events, schedule, timeout, enabled,
    /// logging, entrypoint, commands, scopes, specification, fuel, memory_mb, outbound_hosts,
    /// reuse_instances, next_schedule_at. The deployment fields are managed by the deployment methods.
    async fn update_function(&self, project_id: &str, function: Function) -> Result<Function>;
    /// Deletes the function with its deployments, executions and variables; returns the
    /// deployments it had, whose uploaded and compiled files the caller removes.
    async fn delete_function(&self, project_id: &str, id: &str) -> Result<Vec<Deployment>>;
    /// `search` matches id, name and runtime.
    async fn list_functions(&self, project_id: &str, params: &ListParams)
    -> Result<Page<Function>>;
    /// Enabled functions with a schedule whose `next_schedule_at <= now`, as `(project_id, function)`.
    async fn list_due_schedules(&self, now: Timestamp) -> Result<Vec<(String, Function)>>;
    /// Sets when the scheduler next runs the function (`None`: not at all).
    async fn set_next_schedule(
        &self,
        project_id: &str,
        id: &str,
        next: Option<Timestamp>,
    ) -> Result<()>;

    // ----- deployments -----

    /// `NotFound(Function)` when the function does not exist. Makes the deployment the function's
    /// latest (`latest_deployment_*`). An empty `deployment_type` is stored as `manual`.
    async fn create_deployment(
        &self,
        project_id: &str,
        deployment: Deployment,
    ) -> Result<Deployment>;
    /// The deployment; `NotFound` when the function has none with this id.
    async fn get_deployment(
        &self,
        project_id: &str,
        function_id: &str,
        id: &str,
    ) -> Result<Deployment>;
    /// Replaces the mutable fields (entrypoint, sizes, build id, activate, status, build logs, build
    /// duration, artifact id, chunks_total) and mirrors the status into the function's
    /// `latest_deployment_status` when it is the latest.
    async fn update_deployment(
        &self,
        project_id: &str,
        deployment: Deployment,
    ) -> Result<Deployment>;
    /// Deletes and returns the deployment. When it was active, the function is left without an active
    /// deployment; the function's `latest_*` fields move to the newest remaining deployment.
    async fn delete_deployment(
        &self,
        project_id: &str,
        function_id: &str,
        id: &str,
    ) -> Result<Deployment>;
    /// `search` matches id, entrypoint, status and type.
    async fn list_deployments(
        &self,
        project_id: &str,
        function_id: &str,
        params: &ListParams,
    ) -> Result<Page<Deployment>>;
    /// Makes the deployment the function's active one (`deployment_id`, `deployment_created_at`) in one
    /// transaction. Does not check the build status: refusing a non-ready build is the gateway's call.
    async fn activate_deployment(
        &self,
        project_id: &str,
        function_id: &str,
        deployment_id: &str,
    ) -> Result<Function>;
    /// Records that chunk `index` (0-based) of `total` arrived. Idempotent per index and safe under
    /// concurrent out-of-order calls. `InvalidArgument` when `index >= total` or `total` disagrees with
    /// an earlier call.
    async fn record_chunk(
        &self,
        project_id: &str,
        deployment_id: &str,
        index: u32,
        total: u32,
    ) -> Result<ChunkProgress>;

    // ----- executions -----

    /// Inserts one execution in its own transaction (`AlreadyExists` on a taken id). For the hot path
    /// prefer the batching writer.
    async fn insert_execution(&self, project_id: &str, execution: Execution) -> Result<Execution>;
    /// The execution, with its request body; `NotFound` when the function has none with this id.
    async fn get_execution(
        &self,
        project_id: &str,
        function_id: &str,
        id: &str,
    ) -> Result<Execution>;
    /// Replaces every field but `created_at` (caller-set `updated_at` is kept).
    async fn update_execution(&self, project_id: &str, execution: Execution) -> Result<Execution>;
    /// Deletes the execution; `NotFound` when the function has none with this id.
    async fn delete_execution(&self, project_id: &str, function_id: &str, id: &str) -> Result<()>;
    /// Lists a function's executions. Items carry an empty `request_body`.
    async fn list_executions(
        &self,
        project_id: &str,
        function_id: &str,
        params: &ListParams,
    ) -> Result<Page<Execution>>;
    /// Like [`list_executions`](Self::list_executions), restricted to one user's executions (for
    /// callers authenticated as a user rather than with a key).
    async fn list_user_executions(
        &self,
        project_id: &str,
        function_id: &str,
        user_id: &str,
        params: &ListParams,
    ) -> Result<Page<Execution>>;
    /// Atomically moves up to `limit` due executions (`waiting`, and `scheduled` with
    /// `scheduled_at <= now`) of all projects to `processing` and returns them, oldest due first. One
    /// transaction, so concurrent claimers never receive the same execution.
    async fn claim_due_executions(&self, now: Timestamp, limit: u32) -> Result<Vec<Execution>>;
    /// How many executions wait in the queue (`waiting` or `scheduled`) for the project, and of
    /// those for the function: what the queue caps are checked against.
    async fn count_queued_executions(
        &self,
        project_id: &str,
        function_id: &str,
    ) -> Result<QueuedCounts>;
    /// The executions due now (`waiting`, and `scheduled` with `scheduled_at <= now`) that no
    /// worker claimed yet, and since when the oldest has waited: the queue's backlog.
    async fn due_queue(&self, now: Timestamp) -> Result<DueQueue>;
    /// Run once at startup: executions left `processing` by a crash go back to `waiting` so the worker
    /// runs them again (at-least-once: a guest's side effects may repeat). Scheduled ones keep their
    /// `scheduled_at` and go back to `waiting` too, since they were already due. Returns how many.
    /// Consequently the gateway should persist `processing` only for queued (async/scheduled) work;
    /// synchronous executions are written once, when finished.
    async fn requeue_processing(&self) -> Result<u64>;

    // ----- housekeeping -----

    /// The deployments, of any project, whose ids are in `ids` (for uploads left behind);
    /// unknown ids are left out.
    async fn find_deployments(&self, ids: Vec<String>) -> Result<Vec<Deployment>>;
    /// Every artifact id a deployment of any project refers to.
    async fn artifacts_in_use(&self) -> Result<HashSet<String>>;
    /// Deletes up to `limit` finished executions created before `before`; returns how many.
    async fn delete_executions_before(&self, before: Timestamp, limit: u32) -> Result<u64>;
    /// Deletes up to `limit` finished executions beyond the newest `keep` of each function;
    /// returns how many.
    async fn trim_executions(&self, keep: u64, limit: u32) -> Result<u64>;
    /// Starts a batching writer over this store's database.
    fn spawn_execution_writer(&self, config: WriterConfig) -> Result<ExecutionWriter>;

    // ----- variables -----

    /// `AlreadyExists` when the id exists in the project or the key exists for the function.
    async fn create_variable(&self, project_id: &str, variable: Variable) -> Result<Variable>;
    /// The variable; `NotFound` when the function has none with this id.
    async fn get_variable(&self, project_id: &str, function_id: &str, id: &str)
    -> Result<Variable>;
    /// Replaces key, value and secret; `AlreadyExists` when the new key is another variable's.
    async fn update_variable(&self, project_id: &str, variable: Variable) -> Result<Variable>;
    /// Deletes the variable; `NotFound` when the function has none with this id.
    async fn delete_variable(&self, project_id: &str, function_id: &str, id: &str) -> Result<()>;
    /// `search` matches id and key.
    async fn list_variables(
        &self,
        project_id: &str,
        function_id: &str,
        params: &ListParams,
    ) -> Result<Page<Variable>>;
    /// All of a function's variables in creation order, for building a run's environment.
    async fn function_variables(
        &self,
        project_id: &str,
        function_id: &str,
    ) -> Result<Vec<Variable>>;

    // ----- sealing of secret variables (for [`SealedStore`](crate::SealedStore)) -----
    //
    // A backend stores values as it is given them; `SealedStore`, wrapped around any backend,
    // seals secret values before they get here and opens them on the way out.

    /// Every secret variable of every project, values as stored.
    async fn secret_variables(&self) -> Result<Vec<Variable>>;
    /// The master-key check record, if secrets were ever sealed in this database.
    async fn master_key_check(&self) -> Result<Option<String>>;
    /// Replaces the stored values of `variables` (found by project, function and id; nothing
    /// else changes) and the master-key check, in one transaction.
    async fn reseal_variables(&self, variables: Vec<Variable>, key_check: String) -> Result<()>;
}
