//! Schema-only types for the OpenAPI document: what no handler builds as a value of its own —
//! a file body, the multipart upload form, the error body (rendered by [`crate::error`]), the
//! reusable error responses and the parameters shared by many operations. The response models
//! are not here: they are the types in [`crate::models`] that the handlers return.
//!
//! Each type here is never built, and says so with its own `expect(dead_code)`, so that a
//! description of something a handler does build cannot slip in unnoticed.

use utoipa::{IntoParams, ToResponse, ToSchema};

// ----- bodies -----

/// A file's bytes.
#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(Vec<u8>);

/// The multipart form of a deployment upload; every chunk of a chunked upload repeats it.
#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
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
#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
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
#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
#[derive(ToResponse)]
pub struct BadRequest(pub Error);

/// The caller may not do this: a missing or invalid key, a missing scope or role
/// (`general_unauthorized_scope`, `user_unauthorized`, `user_jwt_invalid`).
#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
#[derive(ToResponse)]
pub struct Unauthorized(pub Error);

/// The function is disabled (`function_disabled`).
#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
#[derive(ToResponse)]
pub struct Forbidden(pub Error);

/// The project or a resource on the path does not exist (`project_not_found`,
/// `function_not_found`, ...).
#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
#[derive(ToResponse)]
pub struct NotFound(pub Error);

/// A resource with this ID already exists (`*_already_exists`).
#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
#[derive(ToResponse)]
pub struct Conflict(pub Error);

/// The concurrency limits are reached (`general_rate_limit_exceeded`); retry after
/// `Retry-After` seconds.
#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds to wait before retrying.")))]
pub struct TooManyRequests(pub Error);

// ----- parameters -----

/// `?queries[]=…&search=…&total=…` of a list endpoint.
#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
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

#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FunctionIdParam {
    /// The function's ID.
    #[param(rename = "functionId")]
    pub function_id: String,
}

#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DeploymentIdParam {
    /// The deployment's ID.
    #[param(rename = "deploymentId")]
    pub deployment_id: String,
}

#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ExecutionIdParam {
    /// The execution's ID.
    #[param(rename = "executionId")]
    pub execution_id: String,
}

#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct VariableIdParam {
    /// The variable's ID.
    #[param(rename = "variableId")]
    pub variable_id: String,
}

#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProjectIdParam {
    /// The project's ID.
    #[param(rename = "projectId")]
    pub project_id: String,
}

#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct KeyIdParam {
    /// The key's ID.
    #[param(rename = "keyId")]
    pub key_id: String,
}

#[expect(
    dead_code,
    reason = "a description only: read by the OpenAPI derive, never built"
)]
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserIdParam {
    /// The user's ID: at most 36 of `a-z`, `A-Z`, `0-9`, `.`, `-`, `_`, starting with a letter
    /// or digit.
    #[param(rename = "userId")]
    pub user_id: String,
}
