//! Schema-only types for the OpenAPI document: the JSON models that [`crate::models`] (and a few
//! route modules) render with `json!`, the error body, the reusable error responses and the
//! parameters shared by many operations.
//!
//! The types are never built: they only describe. Their fields follow the `json!` field lists
//! one to one and in the same order, and the tests in [`super`] render each model and compare
//! its keys with the schema's properties, so the two cannot drift apart unnoticed.

// Schema-only types: read by the `ToSchema`/`IntoParams` derives, never constructed.
#![allow(dead_code)]

use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{KnownFormat, SchemaFormat};
use utoipa::{IntoParams, ToResponse, ToSchema};

// ----- shapes shared by several models -----

fn null() -> Schema {
    ObjectBuilder::new().schema_type(Type::Null).into()
}

/// `schema` or `null`. (`schema_with` replaces a field's doc comment, so the description
/// comes along.)
fn or_null(schema: ObjectBuilder, description: &str) -> Schema {
    OneOfBuilder::new()
        .item(schema)
        .item(null())
        .description(Some(description))
        .into()
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

/// A file's bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(Vec<u8>);

/// The life cycle of a deployment.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum DeploymentStatus {
    Waiting,
    Processing,
    Building,
    Ready,
    Canceled,
    Failed,
}

/// The life cycle of an execution.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ExecutionStatus {
    Waiting,
    Processing,
    Completed,
    Failed,
    Scheduled,
}

/// What started an execution.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ExecutionTrigger {
    Http,
    Schedule,
    Event,
}

/// One HTTP header of an execution's request or response.
#[derive(ToSchema)]
pub struct Header {
    /// Header name, lower case.
    pub name: String,
    pub value: String,
}

// ----- models (field lists as in `crate::models`) -----

/// A function: Appwrite's Function model plus wafer's limits (`fuel`, `memory`,
/// `outboundHosts`, `reuseInstances`, `runtimeVersion`).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Function {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(rename = "$createdAt")]
    #[schema(format = DateTime)]
    pub created_at: String,
    #[serde(rename = "$updatedAt")]
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Roles allowed to execute: `any`, `guests`, `users`, `user:ID`, `team:ID`, `label:NAME`.
    pub execute: Vec<String>,
    pub name: String,
    /// Always empty: wafer keeps no descriptions.
    pub description: String,
    pub enabled: bool,
    /// Whether a deployment is active.
    pub live: bool,
    pub logging: bool,
    pub runtime: String,
    /// Always 0.
    pub deployment_retention: u32,
    /// The active deployment; empty when none is.
    pub deployment_id: String,
    /// ISO 8601 date, empty when no deployment is active.
    pub deployment_created_at: String,
    pub latest_deployment_id: String,
    /// ISO 8601 date, empty when there is no deployment.
    pub latest_deployment_created_at: String,
    /// A deployment status (`waiting`, `processing`, `building`, `ready`, `canceled`, `failed`),
    /// empty when there is no deployment.
    pub latest_deployment_status: String,
    pub scopes: Vec<String>,
    pub vars: Vec<Variable>,
    pub events: Vec<String>,
    /// Five-field cron expression; empty for none.
    pub schedule: String,
    /// Seconds.
    pub timeout: u32,
    pub entrypoint: String,
    pub commands: String,
    /// Always `v5`.
    pub version: String,
    pub installation_id: String,
    pub provider_repository_id: String,
    pub provider_branch: String,
    pub provider_root_directory: String,
    pub provider_silent_mode: bool,
    pub provider_branches: Vec<String>,
    pub provider_paths: Vec<String>,
    pub specification: String,
    pub build_specification: String,
    pub runtime_specification: String,
    pub email_enabled: bool,
    #[schema(schema_with = fuel)]
    pub fuel: u64,
    #[schema(schema_with = memory)]
    pub memory: u32,
    /// wafer: hosts the function may call over HTTP.
    pub outbound_hosts: Vec<String>,
    /// wafer: whether calls share a warm instance (guest state survives between calls).
    pub reuse_instances: bool,
    /// wafer: the WASI version the runtime runs; empty for an unknown runtime.
    pub runtime_version: String,
}

/// A deployment: one uploaded component of a function.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(rename = "$createdAt")]
    #[schema(format = DateTime)]
    pub created_at: String,
    #[serde(rename = "$updatedAt")]
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// `manual` for uploads, `vcs` for repository builds.
    #[serde(rename = "type")]
    pub deployment_type: String,
    /// The function's ID.
    pub resource_id: String,
    /// Always `functions`.
    pub resource_type: String,
    pub entrypoint: String,
    /// Bytes.
    pub source_size: u64,
    /// Bytes.
    pub build_size: u64,
    /// Bytes.
    pub total_size: u64,
    pub build_id: String,
    /// Whether the deployment becomes active once built.
    pub activate: bool,
    pub screenshot_light: String,
    pub screenshot_dark: String,
    pub status: DeploymentStatus,
    pub build_logs: String,
    /// Seconds.
    pub build_duration: u64,
    pub provider_repository_name: String,
    pub provider_repository_owner: String,
    pub provider_repository_url: String,
    pub provider_commit_hash: String,
    pub provider_commit_author_url: String,
    pub provider_commit_author: String,
    pub provider_commit_message: String,
    pub provider_commit_url: String,
    pub provider_branch: String,
    pub provider_branch_url: String,
    /// Chunks expected by a chunked upload; 0 for a single-request upload.
    pub chunks_total: u32,
    /// Distinct chunks received so far.
    pub chunks_uploaded: u32,
}

/// One run of a function. `logs` and `errors` are only filled for API keys.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(rename = "$createdAt")]
    #[schema(format = DateTime)]
    pub created_at: String,
    #[serde(rename = "$updatedAt")]
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// E.g. `read("user:ID")` for an execution a user started.
    #[serde(rename = "$permissions")]
    pub permissions: Vec<String>,
    pub function_id: String,
    /// The function's ID.
    pub resource_id: String,
    /// Always `functions`.
    pub resource_type: String,
    pub deployment_id: String,
    pub trigger: ExecutionTrigger,
    pub status: ExecutionStatus,
    pub request_method: String,
    /// Path with query string.
    pub request_path: String,
    pub request_headers: Vec<Header>,
    pub response_status_code: u16,
    pub response_body: String,
    pub response_headers: Vec<Header>,
    /// Empty unless the caller uses an API key.
    pub logs: String,
    /// Empty unless the caller uses an API key.
    pub errors: String,
    /// Seconds.
    pub duration: f64,
    #[schema(schema_with = scheduled_at)]
    pub scheduled_at: String,
    /// wafer: fuel the run consumed.
    pub fuel_consumed: u64,
    /// wafer: the guest's peak linear memory in bytes.
    pub peak_memory_bytes: u64,
}

/// An environment variable of a function. A secret's `value` is always empty.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(rename = "$createdAt")]
    #[schema(format = DateTime)]
    pub created_at: String,
    #[serde(rename = "$updatedAt")]
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub key: String,
    /// Always empty.
    pub description: String,
    /// Empty for a secret variable.
    pub value: String,
    pub secret: bool,
    /// Always `function`.
    pub resource_type: String,
    /// The function's ID.
    pub resource_id: String,
}

/// A page of functions.
#[derive(ToSchema)]
pub struct FunctionList {
    /// Matching functions, ignoring limit and offset; 0 when `total=false`.
    pub total: u64,
    pub functions: Vec<Function>,
}

/// A page of deployments.
#[derive(ToSchema)]
pub struct DeploymentList {
    /// Matching deployments, ignoring limit and offset; 0 when `total=false`.
    pub total: u64,
    pub deployments: Vec<Deployment>,
}

/// A page of executions.
#[derive(ToSchema)]
pub struct ExecutionList {
    /// Matching executions, ignoring limit and offset; 0 when `total=false`.
    pub total: u64,
    pub executions: Vec<Execution>,
}

/// A page of variables.
#[derive(ToSchema)]
pub struct VariableList {
    /// Matching variables, ignoring limit and offset; 0 when `total=false`.
    pub total: u64,
    pub variables: Vec<Variable>,
}

// ----- catalogues (`crate::runtimes`) -----

/// A runtime: every one runs a WASI 0.2 component; the label names the guest SDK.
#[derive(ToSchema)]
pub struct Runtime {
    #[serde(rename = "$id")]
    pub id: String,
    pub key: String,
    pub name: String,
    pub version: String,
    pub base: String,
    pub image: String,
    pub logo: String,
    pub supports: Vec<String>,
}

#[derive(ToSchema)]
pub struct RuntimeList {
    pub total: u64,
    pub runtimes: Vec<Runtime>,
}

/// An execution specification.
#[derive(ToSchema)]
pub struct Specification {
    /// MiB.
    pub memory: u32,
    pub cpus: f64,
    pub enabled: bool,
    pub slug: String,
}

#[derive(ToSchema)]
pub struct SpecificationList {
    pub total: u64,
    pub specifications: Vec<Specification>,
}

// ----- tenancy and credentials (`crate::routes::keys`) -----

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(rename = "$createdAt")]
    #[schema(format = DateTime)]
    pub created_at: String,
    #[serde(rename = "$updatedAt")]
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub name: String,
    /// Always empty.
    pub description: String,
    /// Always empty.
    pub team_id: String,
}

/// A project API key.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Key {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(rename = "$createdAt")]
    #[schema(format = DateTime)]
    pub created_at: String,
    #[serde(rename = "$updatedAt")]
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub name: String,
    /// ISO 8601 date; empty when the key never expires.
    pub expire: String,
    pub scopes: Vec<String>,
    /// The secret to send as `X-Appwrite-Key`: only in the answer that created the key, empty
    /// everywhere else.
    pub secret: String,
    /// ISO 8601 date of the last use; empty when never used.
    pub accessed_at: String,
    /// Always empty.
    pub sdks: Vec<String>,
}

#[derive(ToSchema)]
pub struct KeyList {
    pub total: u64,
    pub keys: Vec<Key>,
}

/// A user JWT, to send as `X-Appwrite-JWT`.
#[derive(ToSchema)]
pub struct Jwt {
    pub jwt: String,
}

// ----- uploads -----

/// The multipart form of a deployment upload; every chunk of a chunked upload repeats it.
#[derive(ToSchema)]
pub struct DeploymentUpload {
    /// The deployment file: a `.wasm` component, or a `.tar.gz` holding one. Files over 5 MiB
    /// are sent in 5 MiB chunks, each with `Content-Range`.
    #[schema(value_type = String, format = Binary)]
    pub code: Vec<u8>,
    /// Activate the deployment once built (`true` or `false`; default `false`).
    #[schema(nullable = false)]
    pub activate: Option<bool>,
    /// Overrides the function's entrypoint.
    #[schema(nullable = false)]
    pub entrypoint: Option<String>,
    /// Accepted and ignored: wafer runs the compiled component as uploaded.
    #[schema(nullable = false)]
    pub commands: Option<String>,
}

// ----- errors -----

/// Every error, in Appwrite's shape.
#[derive(ToSchema)]
pub struct Error {
    pub message: String,
    /// The HTTP status code.
    pub code: u16,
    /// A stable error type to match on, e.g. `function_not_found`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The API version.
    pub version: String,
}

/// The request is invalid: a parameter, query, header or body was refused
/// (`general_argument_invalid`, `general_query_invalid`, ...).
#[derive(ToResponse)]
pub struct BadRequest(pub Error);

/// The caller may not do this: a missing or invalid key, a missing scope or role
/// (`general_unauthorized_scope`, `user_unauthorized`, `user_jwt_invalid`).
#[derive(ToResponse)]
pub struct Unauthorized(pub Error);

/// The function is disabled (`function_disabled`).
#[derive(ToResponse)]
pub struct Forbidden(pub Error);

/// The project or a resource on the path does not exist (`project_not_found`,
/// `function_not_found`, ...).
#[derive(ToResponse)]
pub struct NotFound(pub Error);

/// A resource with this ID already exists (`*_already_exists`).
#[derive(ToResponse)]
pub struct Conflict(pub Error);

/// The concurrency limits are reached (`general_rate_limit_exceeded`); retry after
/// `Retry-After` seconds.
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds to wait before retrying.")))]
pub struct TooManyRequests(pub Error);

// ----- parameters -----

/// `?queries[]=…&search=…&total=…` of a list endpoint.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Appwrite queries as JSON strings, e.g. `{"method":"limit","values":[25]}`; the SDKs send
    /// them as `queries[0]=…&queries[1]=…`.
    #[param(rename = "queries[]")]
    pub queries: Option<Vec<String>>,
    /// A search term.
    pub search: Option<String>,
    /// Count all matches in `total` (default `true`).
    pub total: Option<bool>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FunctionIdParam {
    /// The function's ID.
    #[param(rename = "functionId")]
    pub function_id: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DeploymentIdParam {
    /// The deployment's ID.
    #[param(rename = "deploymentId")]
    pub deployment_id: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ExecutionIdParam {
    /// The execution's ID.
    #[param(rename = "executionId")]
    pub execution_id: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct VariableIdParam {
    /// The variable's ID.
    #[param(rename = "variableId")]
    pub variable_id: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProjectIdParam {
    /// The project's ID.
    #[param(rename = "projectId")]
    pub project_id: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct KeyIdParam {
    /// The key's ID.
    #[param(rename = "keyId")]
    pub key_id: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserIdParam {
    /// The user's ID: at most 36 of `a-z`, `A-Z`, `0-9`, `.`, `-`, `_`, starting with a letter
    /// or digit.
    #[param(rename = "userId")]
    pub user_id: String,
}
