//! [`MetadataStore`] for [`SqliteStore`]: each method copies its arguments, picks a reader or the writer
//! connection and runs the blocking function of the entity module.

use std::collections::HashSet;

use async_trait::async_trait;

use super::executions::SqliteExecutionSink;
use super::projects::NewKey;
use super::{SqliteStore, deployments, executions, functions, maintenance, projects, variables};
use crate::error::Result;
use crate::models::{
    ApiKey, ChunkProgress, Deployment, DueQueue, Execution, Function, ListParams, Page, Project,
    QueuedCounts, Variable,
};
use crate::store::MetadataStore;
use crate::time::Timestamp;
use crate::writer::{ExecutionWriter, WriterConfig};

#[async_trait]
impl MetadataStore for SqliteStore {
    async fn ensure_project(&self, id: &str, name: &str) -> Result<Project> {
        let (id, name) = (id.to_owned(), name.to_owned());
        self.write(move |c| projects::ensure_project(c, &id, &name))
            .await
    }

    async fn get_project(&self, id: &str) -> Result<Project> {
        let id = id.to_owned();
        self.read(move |c| projects::get_project(c, &id)).await
    }

    async fn create_api_key(
        &self,
        project_id: &str,
        name: &str,
        scopes: &[String],
        secret: &str,
        expire: Option<Timestamp>,
    ) -> Result<ApiKey> {
        let key = NewKey {
            project_id: project_id.to_owned(),
            name: name.to_owned(),
            scopes: scopes.to_vec(),
            secret: secret.to_owned(),
            expire,
        };
        self.write(move |c| projects::create_api_key(c, key)).await
    }

    async fn find_api_key_by_secret(&self, secret: &str) -> Result<Option<ApiKey>> {
        let secret = secret.to_owned();
        self.read(move |c| projects::find_api_key_by_secret(c, &secret))
            .await
    }

    async fn list_api_keys(&self, project_id: &str) -> Result<Vec<ApiKey>> {
        let project_id = project_id.to_owned();
        self.read(move |c| projects::list_api_keys(c, &project_id))
            .await
    }

    async fn delete_api_key(&self, project_id: &str, id: &str) -> Result<()> {
        let (project_id, id) = (project_id.to_owned(), id.to_owned());
        self.write(move |c| projects::delete_api_key(c, &project_id, &id))
            .await
    }

    async fn count_api_keys(&self, project_id: &str) -> Result<u64> {
        let project_id = project_id.to_owned();
        self.read(move |c| projects::count_api_keys(c, &project_id))
            .await
    }

    async fn touch_api_key(&self, project_id: &str, id: &str, at: Timestamp) -> Result<()> {
        let (project_id, id) = (project_id.to_owned(), id.to_owned());
        self.write(move |c| projects::touch_api_key(c, &project_id, &id, at))
            .await
    }

    async fn create_function(&self, project_id: &str, mut function: Function) -> Result<Function> {
        function.project_id = project_id.to_owned();
        self.write(move |c| functions::create(c, function)).await
    }

    async fn get_function(&self, project_id: &str, id: &str) -> Result<Function> {
        let (project_id, id) = (project_id.to_owned(), id.to_owned());
        self.read(move |c| functions::get(c, &project_id, &id))
            .await
    }

    async fn update_function(&self, project_id: &str, mut function: Function) -> Result<Function> {
        function.project_id = project_id.to_owned();
        self.write(move |c| functions::update(c, function)).await
    }

    async fn delete_function(&self, project_id: &str, id: &str) -> Result<Vec<Deployment>> {
        let (project_id, id) = (project_id.to_owned(), id.to_owned());
        self.write(move |c| functions::delete(c, &project_id, &id))
            .await
    }

    async fn list_functions(
        &self,
        project_id: &str,
        params: &ListParams,
    ) -> Result<Page<Function>> {
        let plan = functions::list_plan(project_id, params)?;
        let count = params.total;
        self.read(move |c| functions::list(c, &plan, count)).await
    }

    async fn list_due_schedules(&self, now: Timestamp) -> Result<Vec<(String, Function)>> {
        self.read(move |c| functions::list_due_schedules(c, now))
            .await
    }

    async fn set_next_schedule(
        &self,
        project_id: &str,
        id: &str,
        next: Option<Timestamp>,
    ) -> Result<()> {
        let (project_id, id) = (project_id.to_owned(), id.to_owned());
        self.write(move |c| functions::set_next_schedule(c, &project_id, &id, next))
            .await
    }

    async fn create_deployment(
        &self,
        project_id: &str,
        mut deployment: Deployment,
    ) -> Result<Deployment> {
        deployment.project_id = project_id.to_owned();
        self.write(move |c| deployments::create(c, deployment))
            .await
    }

    async fn get_deployment(
        &self,
        project_id: &str,
        function_id: &str,
        id: &str,
    ) -> Result<Deployment> {
        let ids = owned3(project_id, function_id, id);
        self.read(move |c| deployments::get(c, &ids.0, &ids.1, &ids.2))
            .await
    }

    async fn update_deployment(
        &self,
        project_id: &str,
        mut deployment: Deployment,
    ) -> Result<Deployment> {
        deployment.project_id = project_id.to_owned();
        self.write(move |c| deployments::update(c, deployment))
            .await
    }

    async fn delete_deployment(
        &self,
        project_id: &str,
        function_id: &str,
        id: &str,
    ) -> Result<Deployment> {
        let ids = owned3(project_id, function_id, id);
        self.write(move |c| deployments::delete(c, &ids.0, &ids.1, &ids.2))
            .await
    }

    async fn list_deployments(
        &self,
        project_id: &str,
        function_id: &str,
        params: &ListParams,
    ) -> Result<Page<Deployment>> {
        let plan = deployments::list_plan(project_id, function_id, params)?;
        let count = params.total;
        self.read(move |c| deployments::list(c, &plan, count)).await
    }

    async fn activate_deployment(
        &self,
        project_id: &str,
        function_id: &str,
        deployment_id: &str,
    ) -> Result<Function> {
        let ids = owned3(project_id, function_id, deployment_id);
        self.write(move |c| deployments::activate(c, &ids.0, &ids.1, &ids.2))
            .await
    }

    async fn record_chunk(
        &self,
        project_id: &str,
        deployment_id: &str,
        index: u32,
        total: u32,
    ) -> Result<ChunkProgress> {
        let (project_id, id) = (project_id.to_owned(), deployment_id.to_owned());
        self.write(move |c| deployments::record_chunk(c, &project_id, &id, index, total))
            .await
    }

    async fn insert_execution(
        &self,
        project_id: &str,
        mut execution: Execution,
    ) -> Result<Execution> {
        execution.project_id = project_id.to_owned();
        self.write(move |c| executions::insert(c, execution)).await
    }

    async fn get_execution(
        &self,
        project_id: &str,
        function_id: &str,
        id: &str,
    ) -> Result<Execution> {
        let ids = owned3(project_id, function_id, id);
        self.read(move |c| executions::get(c, &ids.0, &ids.1, &ids.2))
            .await
    }

    async fn update_execution(
        &self,
        project_id: &str,
        mut execution: Execution,
    ) -> Result<Execution> {
        execution.project_id = project_id.to_owned();
        self.write(move |c| executions::update(c, execution)).await
    }

    async fn delete_execution(&self, project_id: &str, function_id: &str, id: &str) -> Result<()> {
        let ids = owned3(project_id, function_id, id);
        self.write(move |c| executions::delete(c, &ids.0, &ids.1, &ids.2))
            .await
    }

    async fn list_executions(
        &self,
        project_id: &str,
        function_id: &str,
        params: &ListParams,
    ) -> Result<Page<Execution>> {
        let plan = executions::list_plan(project_id, function_id, None, params)?;
        let count = params.total;
        self.read(move |c| executions::list(c, &plan, count)).await
    }

    async fn list_user_executions(
        &self,
        project_id: &str,
        function_id: &str,
        user_id: &str,
        params: &ListParams,
    ) -> Result<Page<Execution>> {
        let plan = executions::list_plan(project_id, function_id, Some(user_id), params)?;
        let count = params.total;
        self.read(move |c| executions::list(c, &plan, count)).await
    }

    async fn claim_due_executions(&self, now: Timestamp, limit: u32) -> Result<Vec<Execution>> {
        self.write(move |c| executions::claim_due(c, now, limit))
            .await
    }

    async fn count_queued_executions(
        &self,
        project_id: &str,
        function_id: &str,
    ) -> Result<QueuedCounts> {
        let (project_id, function_id) = (project_id.to_owned(), function_id.to_owned());
        self.read(move |c| executions::count_queued(c, &project_id, &function_id))
            .await
    }

    async fn due_queue(&self, now: Timestamp) -> Result<DueQueue> {
        self.read(move |c| executions::due_queue(c, now)).await
    }

    async fn requeue_processing(&self) -> Result<u64> {
        self.write(executions::requeue_processing).await
    }

    async fn find_deployments(&self, ids: Vec<String>) -> Result<Vec<Deployment>> {
        self.read(move |c| maintenance::find_deployments(c, &ids))
            .await
    }

    async fn artifacts_in_use(&self) -> Result<HashSet<String>> {
        self.read(maintenance::artifacts_in_use).await
    }

    async fn delete_executions_before(&self, before: Timestamp, limit: u32) -> Result<u64> {
        self.write(move |c| maintenance::delete_executions_before(c, before, limit))
            .await
    }

    async fn trim_executions(&self, keep: u64, limit: u32) -> Result<u64> {
        self.write(move |c| maintenance::trim_executions(c, keep, limit))
            .await
    }

    fn spawn_execution_writer(&self, config: WriterConfig) -> Result<ExecutionWriter> {
        let sink = SqliteExecutionSink {
            writer: self.writer_handle(),
        };
        ExecutionWriter::spawn(Box::new(sink), config)
    }

    async fn create_variable(&self, project_id: &str, mut variable: Variable) -> Result<Variable> {
        variable.project_id = project_id.to_owned();
        self.write(move |c| variables::create(c, variable)).await
    }

    async fn get_variable(
        &self,
        project_id: &str,
        function_id: &str,
        id: &str,
    ) -> Result<Variable> {
        let ids = owned3(project_id, function_id, id);
        self.read(move |c| variables::get(c, &ids.0, &ids.1, &ids.2))
            .await
    }

    async fn update_variable(&self, project_id: &str, mut variable: Variable) -> Result<Variable> {
        variable.project_id = project_id.to_owned();
        self.write(move |c| variables::update(c, variable)).await
    }

    async fn delete_variable(&self, project_id: &str, function_id: &str, id: &str) -> Result<()> {
        let ids = owned3(project_id, function_id, id);
        self.write(move |c| variables::delete(c, &ids.0, &ids.1, &ids.2))
            .await
    }

    async fn list_variables(
        &self,
        project_id: &str,
        function_id: &str,
        params: &ListParams,
    ) -> Result<Page<Variable>> {
        let plan = variables::list_plan(project_id, function_id, params)?;
        let count = params.total;
        self.read(move |c| variables::list(c, &plan, count)).await
    }

    async fn function_variables(
        &self,
        project_id: &str,
        function_id: &str,
    ) -> Result<Vec<Variable>> {
        let (project_id, function_id) = (project_id.to_owned(), function_id.to_owned());
        self.read(move |c| variables::all(c, &project_id, &function_id))
            .await
    }

    async fn secret_variables(&self) -> Result<Vec<Variable>> {
        self.read(variables::all_secret).await
    }

    async fn master_key_check(&self) -> Result<Option<String>> {
        self.read(variables::master_key_check).await
    }

    async fn reseal_variables(&self, variables: Vec<Variable>, key_check: String) -> Result<()> {
        self.write(move |c| variables::reseal(c, &variables, &key_check))
            .await
    }
}

/// Owned copies of a `(project, function, record)` id triple, to move into a blocking task.
fn owned3(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.to_owned(), b.to_owned(), c.to_owned())
}
