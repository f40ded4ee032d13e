//! The Execution model and its list.

use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{KnownFormat, SchemaFormat};
use wafer_store as store;

use super::{date, or_null};

/// One run of a function. `logs` and `errors` are only filled for API keys.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    #[serde(rename = "$id")]
    id: String,
    #[serde(rename = "$createdAt")]
    #[schema(format = DateTime)]
    created_at: String,
    #[serde(rename = "$updatedAt")]
    #[schema(format = DateTime)]
    updated_at: String,
    /// E.g. `read("user:ID")` for an execution a user started.
    #[serde(rename = "$permissions")]
    permissions: Vec<String>,
    function_id: String,
    /// The function's ID.
    resource_id: String,
    /// Always `functions`.
    resource_type: &'static str,
    deployment_id: String,
    trigger: ExecutionTrigger,
    status: ExecutionStatus,
    request_method: String,
    /// Path with query string.
    request_path: String,
    request_headers: Vec<Header>,
    response_status_code: u16,
    response_body: String,
    response_headers: Vec<Header>,
    /// Empty unless the caller uses an API key.
    logs: String,
    /// Empty unless the caller uses an API key.
    errors: String,
    /// Seconds.
    duration: f64,
    #[schema(schema_with = scheduled_at, required = true)]
    scheduled_at: Option<String>,
    /// wafer: fuel the run consumed.
    fuel_consumed: u64,
    /// wafer: the guest's peak linear memory in bytes.
    peak_memory_bytes: u64,
}

impl Execution {
    /// The execution as a caller sees it: logs and errors only for API keys (`show_logs`).
    pub fn new(execution: store::Execution, show_logs: bool) -> Self {
        let (logs, errors) = if show_logs {
            (execution.logs, execution.errors)
        } else {
            (String::new(), String::new())
        };
        Self {
            id: execution.id,
            created_at: date(execution.created_at),
            updated_at: date(execution.updated_at),
            permissions: execution.permissions,
            resource_id: execution.function_id.clone(),
            function_id: execution.function_id,
            resource_type: "functions",
            deployment_id: execution.deployment_id,
            trigger: execution.trigger.into(),
            status: execution.status.into(),
            request_method: execution.request_method,
            request_path: execution.request_path,
            request_headers: Header::list(execution.request_headers),
            response_status_code: execution.response_status_code,
            response_body: execution.response_body,
            response_headers: Header::list(execution.response_headers),
            logs,
            errors,
            duration: execution.duration,
            scheduled_at: execution.scheduled_at.map(date),
            fuel_consumed: execution.fuel_consumed,
            peak_memory_bytes: execution.peak_memory_bytes,
        }
    }
}

fn scheduled_at() -> Schema {
    let date = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)));
    or_null(
        date,
        "When a `scheduled` execution is due (ISO 8601); `null` for other executions.",
    )
}

/// One HTTP header of an execution's request or response.
#[derive(Serialize, ToSchema)]
pub struct Header {
    /// Header name, lower case.
    name: String,
    value: String,
}

impl Header {
    fn list(headers: Vec<(String, String)>) -> Vec<Self> {
        headers
            .into_iter()
            .map(|(name, value)| Self { name, value })
            .collect()
    }
}

/// The life cycle of an execution.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionStatus {
    Waiting,
    Processing,
    Completed,
    Failed,
    Scheduled,
}

impl From<store::ExecutionStatus> for ExecutionStatus {
    fn from(status: store::ExecutionStatus) -> Self {
        match status {
            store::ExecutionStatus::Waiting => Self::Waiting,
            store::ExecutionStatus::Processing => Self::Processing,
            store::ExecutionStatus::Completed => Self::Completed,
            store::ExecutionStatus::Failed => Self::Failed,
            store::ExecutionStatus::Scheduled => Self::Scheduled,
        }
    }
}

/// What started an execution.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionTrigger {
    Http,
    Schedule,
    Event,
}

impl From<store::ExecutionTrigger> for ExecutionTrigger {
    fn from(trigger: store::ExecutionTrigger) -> Self {
        match trigger {
            store::ExecutionTrigger::Http => Self::Http,
            store::ExecutionTrigger::Schedule => Self::Schedule,
            store::ExecutionTrigger::Event => Self::Event,
        }
    }
}

/// A page of executions.
#[derive(Serialize, ToSchema)]
pub struct ExecutionList {
    /// Matching executions, ignoring limit and offset; 0 when `total=false`.
    pub total: u64,
    pub executions: Vec<Execution>,
}

impl ExecutionList {
    /// The page as a caller sees it; see [`Execution::new`].
    pub fn new(page: store::Page<store::Execution>, show_logs: bool) -> Self {
        Self {
            total: page.total,
            executions: page
                .items
                .into_iter()
                .map(|execution| Execution::new(execution, show_logs))
                .collect(),
        }
    }
}
