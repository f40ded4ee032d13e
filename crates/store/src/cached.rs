//! A read-through cache in front of any [`MetadataStore`], for the records every request and
//! every execution reads: the caller's API key and project, the function, its active deployment
//! and its variables. Without it each invocation costs several database reads, each a hop to a
//! blocking thread and back, which measured as the largest share of the gateway's own time.
//!
//! Consistency:
//! - Writes made through this wrapper invalidate what they touch before they return, so a
//!   process always reads its own writes (a new variable is in the next execution's environment).
//! - Writes made elsewhere (another gateway process sharing a PostgreSQL database) become
//!   visible when the entry expires: [`CacheConfig::ttl`] bounds that staleness.
//! - Execution records are never cached.

use std::collections::HashSet;

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use moka::sync::Cache;

use crate::error::Result;
use crate::models::{
    ApiKey, ChunkProgress, Deployment, DueQueue, Execution, Function, ListParams, Page, Project,
    QueuedCounts, Variable,
};
use crate::store::MetadataStore;
use crate::time::Timestamp;
use crate::writer::{ExecutionWriter, WriterConfig};

/// Bounds of the metadata cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// Most entries kept per kind of record (functions, deployments, variable sets, keys).
    pub capacity: u64,
    /// How long an entry may be served before it is read again: the longest a change made by
    /// another process sharing the database can go unseen here.
    pub ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            capacity: 20_000,
            ttl: Self::DEFAULT_TTL,
        }
    }
}

impl CacheConfig {
    /// The default [`CacheConfig::ttl`].
    pub const DEFAULT_TTL: Duration = Duration::from_secs(5);
}

/// `(project, function)`.
type FunctionKey = (String, String);
/// `(project, function, deployment)`.
type DeploymentKey = (String, String, String);

/// A [`MetadataStore`] that answers hot reads from memory and passes everything else through.
pub struct CachedStore {
    inner: Arc<dyn MetadataStore>,
    /// Bumped after every write, before its invalidation: a read that overlapped a write does
    /// not keep what it read (see [`CachedStore::fill`]).
    writes: AtomicU64,
    projects: Cache<String, Project>,
    keys: Cache<String, Option<ApiKey>>,
    functions: Cache<FunctionKey, Function>,
    deployments: Cache<DeploymentKey, Deployment>,
    variables: Cache<FunctionKey, Arc<Vec<Variable>>>,
}

fn cache<K, V>(config: CacheConfig) -> Cache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(config.capacity)
        .time_to_live(config.ttl)
        .support_invalidation_closures()
        .build()
}

fn function_key(project_id: &str, function_id: &str) -> FunctionKey {
    (project_id.to_owned(), function_id.to_owned())
}

fn deployment_key(project_id: &str, function_id: &str, id: &str) -> DeploymentKey {
    (project_id.to_owned(), function_id.to_owned(), id.to_owned())
}

impl CachedStore {
    /// Wraps `inner`; the cache starts empty.
    pub fn new(inner: Arc<dyn MetadataStore>, config: CacheConfig) -> Self {
        Self {
            inner,
            writes: AtomicU64::new(0),
            projects: cache(config),
            keys: cache(config),
            functions: cache(config),
            deployments: cache(config),
            variables: cache(config),
        }
    }

    fn generation(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    /// Keeps `value`, read when the write counter stood at `generation`, unless a write
    /// happened since: that write's invalidation may already have run, and the value may
    /// predate it. Checking after inserting closes the gap where a write lands between the
    /// check and the insert (its invalidation then comes after the insert).
    fn fill<K, V>(&self, cache: &Cache<K, V>, key: K, value: V, generation: u64)
    where
        K: Hash + Eq + Send + Sync + Clone + 'static,
        V: Clone + Send + Sync + 'static,
    {
        cache.insert(key.clone(), value);
        if self.generation() != generation {
            cache.invalidate(&key);
        }
    }

    /// Marks that a write happened; called after the write, before invalidating.
    fn written(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }

    /// Forgets the function and everything cached under it.
    fn forget_function(&self, project_id: &str, function_id: &str) {
        self.written();
        let key = function_key(project_id, function_id);
        self.functions.invalidate(&key);
        self.variables.invalidate(&key);
        let (project, function) = key;
        // Only fails when closures are not enabled, which `cache` always does.
        let _ = self
            .deployments
            .invalidate_entries_if(move |(p, f, _), _| *p == project && *f == function);
    }

    fn forget_deployment(&self, project_id: &str, function_id: &str, id: &str) {
        self.written();
        self.deployments
            .invalidate(&deployment_key(project_id, function_id, id));
        // A deployment's status and activation show in the function's fields.
        self.functions
            .invalidate(&function_key(project_id, function_id));
    }

    fn forget_variables(&self, project_id: &str, function_id: &str) {
        self.written();
        self.variables
            .invalidate(&function_key(project_id, function_id));
    }
}

#[async_trait]
impl MetadataStore for CachedStore {
    async fn ensure_project(&self, id: &str, name: &str) -> Result<Project> {
        let result = self.inner.ensure_project(id, name).await;
        self.written();
        self.projects.invalidate(id);
        result
    }

    async fn get_project(&self, id: &str) -> Result<Project> {
        if let Some(project) = self.projects.get(id) {
            return Ok(project);
        }
        let generation = self.generation();
        let project = self.inner.get_project(id).await?;
        self.fill(&self.projects, id.to_owned(), project.clone(), generation);
        Ok(project)
    }

    async fn create_api_key(
        &self,
        project_id: &str,
        name: &str,
        scopes: &[String],
        secret: &str,
        expire: Option<Timestamp>,
    ) -> Result<ApiKey> {
        let key = self
            .inner
            .create_api_key(project_id, name, scopes, secret, expire)
            .await;
        // An earlier lookup of this secret may have cached "no such key".
        self.written();
        self.keys.invalidate(secret);
        key
    }

    async fn find_api_key_by_secret(&self, secret: &str) -> Result<Option<ApiKey>> {
        if let Some(key) = self.keys.get(secret) {
            return Ok(key);
        }
        let generation = self.generation();
        let key = self.inner.find_api_key_by_secret(secret).await?;
        self.fill(&self.keys, secret.to_owned(), key.clone(), generation);
        Ok(key)
    }

    async fn list_api_keys(&self, project_id: &str) -> Result<Vec<ApiKey>> {
        self.inner.list_api_keys(project_id).await
    }

    async fn delete_api_key(&self, project_id: &str, id: &str) -> Result<()> {
        let result = self.inner.delete_api_key(project_id, id).await;
        // Entries are keyed by secret, which a deletion does not name; deletions are rare.
        self.written();
        self.keys.invalidate_all();
        result
    }

    async fn count_api_keys(&self, project_id: &str) -> Result<u64> {
        self.inner.count_api_keys(project_id).await
    }

    async fn touch_api_key(&self, project_id: &str, id: &str, at: Timestamp) -> Result<()> {
        // Only `accessed_at` changes, which authentication does not read.
        self.inner.touch_api_key(project_id, id, at).await
    }

    async fn create_function(&self, project_id: &str, function: Function) -> Result<Function> {
        let id = function.id.clone();
        let result = self.inner.create_function(project_id, function).await;
        self.forget_function(project_id, &id);
        result
    }

    async fn get_function(&self, project_id: &str, id: &str) -> Result<Function> {
        let key = function_key(project_id, id);
        if let Some(function) = self.functions.get(&key) {
            return Ok(function);
        }
        let generation = self.generation();
        let function = self.inner.get_function(project_id, id).await?;
        self.fill(&self.functions, key, function.clone(), generation);
        Ok(function)
    }

    async fn update_function(&self, project_id: &str, function: Function) -> Result<Function> {
        let id = function.id.clone();
        let result = self.inner.update_function(project_id, function).await;
        self.forget_function(project_id, &id);
        result
    }

    async fn delete_function(&self, project_id: &str, id: &str) -> Result<Vec<Deployment>> {
        let result = self.inner.delete_function(project_id, id).await;
        self.forget_function(project_id, id);
        result
    }

    async fn list_functions(
        &self,
        project_id: &str,
        params: &ListParams,
    ) -> Result<Page<Function>> {
        self.inner.list_functions(project_id, params).await
    }

    async fn list_due_schedules(&self, now: Timestamp) -> Result<Vec<(String, Function)>> {
        self.inner.list_due_schedules(now).await
    }

    async fn set_next_schedule(
        &self,
        project_id: &str,
        id: &str,
        next: Option<Timestamp>,
    ) -> Result<()> {
        let result = self.inner.set_next_schedule(project_id, id, next).await;
        self.written();
        self.functions.invalidate(&function_key(project_id, id));
        result
    }

    async fn create_deployment(
        &self,
        project_id: &str,
        deployment: Deployment,
    ) -> Result<Deployment> {
        let function_id = deployment.function_id.clone();
        let result = self.inner.create_deployment(project_id, deployment).await;
        if let Ok(created) = &result {
            self.forget_deployment(project_id, &function_id, &created.id);
        }
        result
    }

    async fn get_deployment(
        &self,
        project_id: &str,
        function_id: &str,
        id: &str,
    ) -> Result<Deployment> {
        let key = deployment_key(project_id, function_id, id);
        if let Some(deployment) = self.deployments.get(&key) {
            return Ok(deployment);
        }
        let generation = self.generation();
        let deployment = self
            .inner
            .get_deployment(project_id, function_id, id)
            .await?;
        self.fill(&self.deployments, key, deployment.clone(), generation);
        Ok(deployment)
    }

    async fn update_deployment(
        &self,
        project_id: &str,
        deployment: Deployment,
    ) -> Result<Deployment> {
        let (function_id, id) = (deployment.function_id.clone(), deployment.id.clone());
        let result = self.inner.update_deployment(project_id, deployment).await;
        self.forget_deployment(project_id, &function_id, &id);
        result
    }

    async fn delete_deployment(
        &self,
        project_id: &str,
        function_id: &str,
        id: &str,
    ) -> Result<Deployment> {
        let result = self
            .inner
            .delete_deployment(project_id, function_id, id)
            .await;
        self.forget_deployment(project_id, function_id, id);
        result
    }

    async fn list_deployments(
        &self,
        project_id: &str,
        function_id: &str,
        params: &ListParams,
    ) -> Result<Page<Deployment>> {
        self.inner
            .list_deployments(project_id, function_id, params)
            .await
    }

    async fn activate_deployment(
        &self,
        project_id: &str,
        function_id: &str,
        deployment_id: &str,
    ) -> Result<Function> {
        let result = self
            .inner
            .activate_deployment(project_id, function_id, deployment_id)
            .await;
        self.forget_deployment(project_id, function_id, deployment_id);
        result
    }

    async fn record_chunk(
        &self,
        project_id: &str,
        deployment_id: &str,
        index: u32,
        total: u32,
    ) -> Result<ChunkProgress> {
        let result = self
            .inner
            .record_chunk(project_id, deployment_id, index, total)
            .await;
        // The call names no function; uploads are rare next to reads.
        self.written();
        let (project, id) = (project_id.to_owned(), deployment_id.to_owned());
        let _ = self
            .deployments
            .invalidate_entries_if(move |(p, _, d), _| *p == project && *d == id);
        result
    }

    async fn insert_execution(&self, project_id: &str, execution: Execution) -> Result<Execution> {
        self.inner.insert_execution(project_id, execution).await
    }

    async fn get_execution(
        &self,
        project_id: &str,
        function_id: &str,
        id: &str,
    ) -> Result<Execution> {
        self.inner.get_execution(project_id, function_id, id).await
    }

    async fn update_execution(&self, project_id: &str, execution: Execution) -> Result<Execution> {
        self.inner.update_execution(project_id, execution).await
    }

    async fn delete_execution(&self, project_id: &str, function_id: &str, id: &str) -> Result<()> {
        self.inner
            .delete_execution(project_id, function_id, id)
            .await
    }

    async fn list_executions(
        &self,
        project_id: &str,
        function_id: &str,
        params: &ListParams,
    ) -> Result<Page<Execution>> {
        self.inner
            .list_executions(project_id, function_id, params)
            .await
    }

    async fn list_user_executions(
        &self,
        project_id: &str,
        function_id: &str,
        user_id: &str,
        params: &ListParams,
    ) -> Result<Page<Execution>> {
        self.inner
            .list_user_executions(project_id, function_id, user_id, params)
            .await
    }

    async fn claim_due_executions(&self, now: Timestamp, limit: u32) -> Result<Vec<Execution>> {
        self.inner.claim_due_executions(now, limit).await
    }

    async fn count_queued_executions(
        &self,
        project_id: &str,
        function_id: &str,
    ) -> Result<QueuedCounts> {
        self.inner
            .count_queued_executions(project_id, function_id)
            .await
    }

    async fn due_queue(&self, now: Timestamp) -> Result<DueQueue> {
        self.inner.due_queue(now).await
    }

    async fn requeue_processing(&self) -> Result<u64> {
        self.inner.requeue_processing().await
    }

    async fn find_deployments(&self, ids: Vec<String>) -> Result<Vec<Deployment>> {
        self.inner.find_deployments(ids).await
    }

    async fn artifacts_in_use(&self) -> Result<HashSet<String>> {
        self.inner.artifacts_in_use().await
    }

    async fn delete_executions_before(&self, before: Timestamp, limit: u32) -> Result<u64> {
        self.inner.delete_executions_before(before, limit).await
    }

    async fn trim_executions(&self, keep: u64, limit: u32) -> Result<u64> {
        self.inner.trim_executions(keep, limit).await
    }

    fn spawn_execution_writer(&self, config: WriterConfig) -> Result<ExecutionWriter> {
        self.inner.spawn_execution_writer(config)
    }

    async fn create_variable(&self, project_id: &str, variable: Variable) -> Result<Variable> {
        let function_id = variable.function_id.clone();
        let result = self.inner.create_variable(project_id, variable).await;
        self.forget_variables(project_id, &function_id);
        result
    }

    async fn get_variable(
        &self,
        project_id: &str,
        function_id: &str,
        id: &str,
    ) -> Result<Variable> {
        self.inner.get_variable(project_id, function_id, id).await
    }

    async fn update_variable(&self, project_id: &str, variable: Variable) -> Result<Variable> {
        let function_id = variable.function_id.clone();
        let result = self.inner.update_variable(project_id, variable).await;
        self.forget_variables(project_id, &function_id);
        result
    }

    async fn delete_variable(&self, project_id: &str, function_id: &str, id: &str) -> Result<()> {
        let result = self
            .inner
            .delete_variable(project_id, function_id, id)
            .await;
        self.forget_variables(project_id, function_id);
        result
    }

    async fn list_variables(
        &self,
        project_id: &str,
        function_id: &str,
        params: &ListParams,
    ) -> Result<Page<Variable>> {
        self.inner
            .list_variables(project_id, function_id, params)
            .await
    }

    async fn function_variables(
        &self,
        project_id: &str,
        function_id: &str,
    ) -> Result<Vec<Variable>> {
        let key = function_key(project_id, function_id);
        if let Some(variables) = self.variables.get(&key) {
            return Ok(variables.as_ref().clone());
        }
        let generation = self.generation();
        let variables = self
            .inner
            .function_variables(project_id, function_id)
            .await?;
        self.fill(
            &self.variables,
            key,
            Arc::new(variables.clone()),
            generation,
        );
        Ok(variables)
    }

    async fn secret_variables(&self) -> Result<Vec<Variable>> {
        self.inner.secret_variables().await
    }

    async fn master_key_check(&self) -> Result<Option<String>> {
        self.inner.master_key_check().await
    }

    async fn reseal_variables(&self, variables: Vec<Variable>, key_check: String) -> Result<()> {
        let result = self.inner.reseal_variables(variables, key_check).await;
        self.written();
        self.variables.invalidate_all();
        result
    }
}
