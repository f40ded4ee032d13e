//! Secret variables sealed at rest, in one place for every backend.
//!
//! [`SealedStore`] wraps a backend: it seals the value of each secret variable before the backend
//! stores it and opens it when read, so the rest of wafer (the gateway, the cache above it) sees
//! plaintext while the database holds only ciphertext. The key (a [`MasterKey`]) lives outside
//! the database; a check record sealed under it lets a start with the wrong key be refused
//! before any secret is read or written.
//!
//! At open, secret values stored in plaintext (written before sealing existed) are sealed, and
//! values sealed under a previous key (rotation) are sealed again under the current one, all in
//! one transaction.

mod key;

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;

pub use key::{MasterKey, MasterKeyError};

use crate::error::{Result, StoreError};
use crate::models::{
    ApiKey, ChunkProgress, Deployment, DueQueue, Execution, Function, ListParams, Page, Project,
    QueuedCounts, Variable,
};
use crate::store::MetadataStore;
use crate::time::Timestamp;
use crate::writer::{ExecutionWriter, WriterConfig};
use key::{KEY_CHECK_IDENTITY, KEY_CHECK_TEXT, is_sealed, variable_identity};

/// What [`SealedStore::open`] did to the stored secrets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SealingReport {
    /// Secret values found in plaintext and sealed now.
    pub sealed_plaintext: usize,
    /// Secret values moved from a previous key to the current one.
    pub resealed: usize,
    /// The check record was sealed under one of the previous keys: this open rotated the key.
    pub rotated: bool,
}

/// A backend whose secret variables are sealed under a master key. See the module docs.
pub struct SealedStore {
    inner: Arc<dyn MetadataStore>,
    key: MasterKey,
}

impl SealedStore {
    /// Opens `inner`'s secrets with `key`, or with one of `previous` (then every secret is sealed
    /// again under `key`). Fails with [`StoreError::Sealing`] when no given key opens them.
    pub async fn open(
        inner: Arc<dyn MetadataStore>,
        key: MasterKey,
        previous: &[MasterKey],
    ) -> Result<(Self, SealingReport)> {
        let check = inner.master_key_check().await?;
        let opener = match &check {
            None => key.clone(),
            Some(check) => opening_key(check, &key, previous)?.clone(),
        };
        let rotated = opener != key;
        let mut report = SealingReport {
            rotated,
            ..SealingReport::default()
        };
        let mut changed = Vec::new();
        for mut variable in inner.secret_variables().await? {
            let identity = identity_of(&variable.project_id, &variable);
            if !is_sealed(&variable.value) {
                report.sealed_plaintext += 1;
            } else if rotated {
                variable.value = opener
                    .open(&variable.value, &identity)
                    .ok_or_else(|| unopenable(&variable))?;
                report.resealed += 1;
            } else {
                continue;
            }
            variable.value = seal(&key, &variable.value, &identity)?;
            changed.push(variable);
        }
        if check.is_none() || !changed.is_empty() || rotated {
            let key_check = seal(&key, KEY_CHECK_TEXT, KEY_CHECK_IDENTITY)?;
            inner.reseal_variables(changed, key_check).await?;
        }
        Ok((Self { inner, key }, report))
    }

    fn seal_variable(&self, project_id: &str, mut variable: Variable) -> Result<Variable> {
        if variable.secret {
            let identity = identity_of(project_id, &variable);
            variable.value = seal(&self.key, &variable.value, &identity)?;
        }
        Ok(variable)
    }

    fn open_variable(&self, mut variable: Variable) -> Result<Variable> {
        if variable.secret {
            let identity = identity_of(&variable.project_id, &variable);
            variable.value = self
                .key
                .open(&variable.value, &identity)
                .ok_or_else(|| unopenable(&variable))?;
        }
        Ok(variable)
    }

    fn open_all(&self, variables: Vec<Variable>) -> Result<Vec<Variable>> {
        variables
            .into_iter()
            .map(|variable| self.open_variable(variable))
            .collect()
    }
}

/// The key among `current` and `previous` that opens the check record.
fn opening_key<'k>(
    check: &str,
    current: &'k MasterKey,
    previous: &'k [MasterKey],
) -> Result<&'k MasterKey> {
    std::iter::once(current)
        .chain(previous)
        .find(|key| key.open(check, KEY_CHECK_IDENTITY).as_deref() == Some(KEY_CHECK_TEXT))
        .ok_or_else(|| {
            StoreError::Sealing(
                "the master key does not open this database's secret variables \
                 (they were sealed under another key)"
                    .to_owned(),
            )
        })
}

fn identity_of(project_id: &str, variable: &Variable) -> Vec<u8> {
    variable_identity(project_id, &variable.function_id, &variable.key)
}

fn seal(key: &MasterKey, plaintext: &str, identity: &[u8]) -> Result<String> {
    key.seal(plaintext, identity)
        .map_err(|error| StoreError::Sealing(format!("cannot seal a secret value: {error}")))
}

/// A stored secret that no key opens: altered, moved from another variable, or left in
/// plaintext by a writer that does not seal.
fn unopenable(variable: &Variable) -> StoreError {
    StoreError::Sealing(format!(
        "the secret variable '{}' of function '{}' cannot be opened with the master key \
         (its stored value was altered or does not belong to it)",
        variable.key, variable.function_id
    ))
}

#[async_trait]
impl MetadataStore for SealedStore {
    async fn create_variable(&self, project_id: &str, variable: Variable) -> Result<Variable> {
        let sealed = self.seal_variable(project_id, variable)?;
        let stored = self.inner.create_variable(project_id, sealed).await?;
        self.open_variable(stored)
    }

    async fn get_variable(
        &self,
        project_id: &str,
        function_id: &str,
        id: &str,
    ) -> Result<Variable> {
        let stored = self.inner.get_variable(project_id, function_id, id).await?;
        self.open_variable(stored)
    }

    async fn update_variable(&self, project_id: &str, variable: Variable) -> Result<Variable> {
        let sealed = self.seal_variable(project_id, variable)?;
        let stored = self.inner.update_variable(project_id, sealed).await?;
        self.open_variable(stored)
    }

    async fn list_variables(
        &self,
        project_id: &str,
        function_id: &str,
        params: &ListParams,
    ) -> Result<Page<Variable>> {
        let page = self
            .inner
            .list_variables(project_id, function_id, params)
            .await?;
        Ok(Page {
            total: page.total,
            items: self.open_all(page.items)?,
        })
    }

    async fn function_variables(
        &self,
        project_id: &str,
        function_id: &str,
    ) -> Result<Vec<Variable>> {
        let stored = self
            .inner
            .function_variables(project_id, function_id)
            .await?;
        self.open_all(stored)
    }

    // ----- everything else passes through -----

    async fn ensure_project(&self, id: &str, name: &str) -> Result<Project> {
        self.inner.ensure_project(id, name).await
    }

    async fn get_project(&self, id: &str) -> Result<Project> {
        self.inner.get_project(id).await
    }

    async fn create_api_key(
        &self,
        project_id: &str,
        name: &str,
        scopes: &[String],
        secret: &str,
        expire: Option<Timestamp>,
    ) -> Result<ApiKey> {
        self.inner
            .create_api_key(project_id, name, scopes, secret, expire)
            .await
    }

    async fn find_api_key_by_secret(&self, secret: &str) -> Result<Option<ApiKey>> {
        self.inner.find_api_key_by_secret(secret).await
    }

    async fn list_api_keys(&self, project_id: &str) -> Result<Vec<ApiKey>> {
        self.inner.list_api_keys(project_id).await
    }

    async fn delete_api_key(&self, project_id: &str, id: &str) -> Result<()> {
        self.inner.delete_api_key(project_id, id).await
    }

    async fn count_api_keys(&self, project_id: &str) -> Result<u64> {
        self.inner.count_api_keys(project_id).await
    }

    async fn touch_api_key(&self, project_id: &str, id: &str, at: Timestamp) -> Result<()> {
        self.inner.touch_api_key(project_id, id, at).await
    }

    async fn create_function(&self, project_id: &str, function: Function) -> Result<Function> {
        self.inner.create_function(project_id, function).await
    }

    async fn get_function(&self, project_id: &str, id: &str) -> Result<Function> {
        self.inner.get_function(project_id, id).await
    }

    async fn update_function(&self, project_id: &str, function: Function) -> Result<Function> {
        self.inner.update_function(project_id, function).await
    }

    async fn delete_function(&self, project_id: &str, id: &str) -> Result<Vec<Deployment>> {
        self.inner.delete_function(project_id, id).await
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
        self.inner.set_next_schedule(project_id, id, next).await
    }

    async fn create_deployment(
        &self,
        project_id: &str,
        deployment: Deployment,
    ) -> Result<Deployment> {
        self.inner.create_deployment(project_id, deployment).await
    }

    async fn get_deployment(
        &self,
        project_id: &str,
        function_id: &str,
        id: &str,
    ) -> Result<Deployment> {
        self.inner.get_deployment(project_id, function_id, id).await
    }

    async fn update_deployment(
        &self,
        project_id: &str,
        deployment: Deployment,
    ) -> Result<Deployment> {
        self.inner.update_deployment(project_id, deployment).await
    }

    async fn delete_deployment(
        &self,
        project_id: &str,
        function_id: &str,
        id: &str,
    ) -> Result<Deployment> {
        self.inner
            .delete_deployment(project_id, function_id, id)
            .await
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
        self.inner
            .activate_deployment(project_id, function_id, deployment_id)
            .await
    }

    async fn record_chunk(
        &self,
        project_id: &str,
        deployment_id: &str,
        index: u32,
        total: u32,
    ) -> Result<ChunkProgress> {
        self.inner
            .record_chunk(project_id, deployment_id, index, total)
            .await
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

    async fn requeue_processing(&self) -> Result<u64> {
        self.inner.requeue_processing().await
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

    async fn delete_variable(&self, project_id: &str, function_id: &str, id: &str) -> Result<()> {
        self.inner
            .delete_variable(project_id, function_id, id)
            .await
    }

    async fn secret_variables(&self) -> Result<Vec<Variable>> {
        self.inner.secret_variables().await
    }

    async fn master_key_check(&self) -> Result<Option<String>> {
        self.inner.master_key_check().await
    }

    async fn reseal_variables(&self, variables: Vec<Variable>, key_check: String) -> Result<()> {
        self.inner.reseal_variables(variables, key_check).await
    }
}
