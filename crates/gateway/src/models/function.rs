//! The Function model and its list.

use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{KnownFormat, SchemaFormat};
use wafer_store as store;

use super::{Variable, date, optional_date, or_null};
use crate::runtimes::runtime_version;

/// A function: Appwrite's Function model plus wafer's limits (`fuel`, `memory`,
/// `outboundHosts`, `reuseInstances`, `runtimeVersion`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Function {
    #[serde(rename = "$id")]
    id: String,
    #[serde(rename = "$createdAt")]
    #[schema(format = DateTime)]
    created_at: String,
    #[serde(rename = "$updatedAt")]
    #[schema(format = DateTime)]
    updated_at: String,
    /// Roles allowed to execute: `any`, `guests`, `users`, `user:ID`, `team:ID`, `label:NAME`.
    execute: Vec<String>,
    name: String,
    /// Always empty: wafer keeps no descriptions.
    description: &'static str,
    enabled: bool,
    /// Whether a deployment is active.
    live: bool,
    logging: bool,
    runtime: String,
    /// Always 0.
    deployment_retention: u32,
    /// The active deployment; empty when none is.
    deployment_id: String,
    /// ISO 8601 date, empty when no deployment is active.
    deployment_created_at: String,
    latest_deployment_id: String,
    /// ISO 8601 date, empty when there is no deployment.
    latest_deployment_created_at: String,
    /// A deployment status (`waiting`, `processing`, `building`, `ready`, `canceled`, `failed`),
    /// empty when there is no deployment.
    latest_deployment_status: &'static str,
    scopes: Vec<String>,
    vars: Vec<Variable>,
    events: Vec<String>,
    /// Five-field cron expression; empty for none.
    schedule: String,
    /// Seconds.
    timeout: u32,
    entrypoint: String,
    commands: String,
    /// Always `v5`.
    version: &'static str,
    installation_id: &'static str,
    provider_repository_id: &'static str,
    provider_branch: &'static str,
    provider_root_directory: &'static str,
    provider_silent_mode: bool,
    provider_branches: Vec<String>,
    provider_paths: Vec<String>,
    specification: String,
    build_specification: String,
    runtime_specification: String,
    email_enabled: bool,
    #[schema(schema_with = fuel, required = true)]
    fuel: Option<u64>,
    #[schema(schema_with = memory, required = true)]
    memory: Option<u32>,
    /// wafer: hosts the function may call over HTTP.
    outbound_hosts: Vec<String>,
    /// wafer: whether calls share a warm instance (guest state survives between calls).
    reuse_instances: bool,
    /// wafer: the WASI version the runtime runs; empty for an unknown runtime.
    runtime_version: &'static str,
}

impl Function {
    /// The function with its variables (`vars`).
    pub fn new(function: store::Function, vars: Vec<store::Variable>) -> Self {
        let runtime_version = runtime_version(&function.runtime);
        let latest_deployment_status = function
            .latest_deployment_status
            .map_or("", store::DeploymentStatus::as_str);
        Self {
            id: function.id,
            created_at: date(function.created_at),
            updated_at: date(function.updated_at),
            execute: function.execute,
            name: function.name,
            description: "",
            enabled: function.enabled,
            live: !function.deployment_id.is_empty(),
            logging: function.logging,
            runtime: function.runtime,
            deployment_retention: 0,
            deployment_id: function.deployment_id,
            deployment_created_at: optional_date(function.deployment_created_at),
            latest_deployment_id: function.latest_deployment_id,
            latest_deployment_created_at: optional_date(function.latest_deployment_created_at),
            latest_deployment_status,
            scopes: function.scopes,
            vars: vars.into_iter().map(Variable::from).collect(),
            events: function.events,
            schedule: function.schedule,
            timeout: function.timeout,
            entrypoint: function.entrypoint,
            commands: function.commands,
            version: "v5",
            installation_id: "",
            provider_repository_id: "",
            provider_branch: "",
            provider_root_directory: "",
            provider_silent_mode: false,
            provider_branches: Vec::new(),
            provider_paths: Vec::new(),
            build_specification: function.specification.clone(),
            runtime_specification: function.specification.clone(),
            specification: function.specification,
            email_enabled: false,
            fuel: function.fuel,
            memory: function.memory_mb,
            outbound_hosts: function.outbound_hosts,
            reuse_instances: function.reuse_instances,
            runtime_version,
        }
    }
}

/// A page of functions.
#[derive(Serialize, ToSchema)]
pub struct FunctionList {
    /// Matching functions, ignoring limit and offset; 0 when `total=false`.
    pub total: u64,
    pub functions: Vec<Function>,
}

fn count(format: KnownFormat) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(format)))
        .minimum(Some(0))
}

fn fuel() -> Schema {
    or_null(
        count(KnownFormat::Int64),
        "wafer: CPU budget in fuel units; `null` uses the server default.",
    )
}

fn memory() -> Schema {
    or_null(
        count(KnownFormat::Int32),
        "wafer: memory limit in MiB; `null` uses the specification's.",
    )
}
