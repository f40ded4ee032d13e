//! `/v1/functions`: create, list, read, update and delete functions; activate a deployment;
//! the runtime and specification catalogues.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;
use wafer_store::{DeploymentStatus, Function as StoredFunction, MetadataStore, Timestamp};

use crate::auth::Caller;
use crate::config::{FunctionCaps, GatewayConfig};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::models::{Function, FunctionList, RuntimeList, SpecificationList};
use crate::openapi::schemas::{
    BadRequest, Conflict, FunctionIdParam, ListParams, NotFound, Unauthorized,
};
use crate::outbound_hosts::check_outbound_hosts;
use crate::params::{JsonBody, ListQuery, MissingId, checked_name, new_id};
use crate::routes::deployments::remove_upload_dir;
use crate::routes::no_content;
use crate::runtimes::{DEFAULT_SPECIFICATION, check_runtime, requested_memory_mb, specification};
use crate::schedule;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/functions", get(list).post(create))
        .route("/v1/functions/runtimes", get(runtimes))
        .route("/v1/functions/specifications", get(specifications))
        .route(
            "/v1/functions/{function_id}",
            get(read).put(update).delete(remove),
        )
        .route(
            "/v1/functions/{function_id}/deployment",
            patch(set_active_deployment),
        )
}

/// A function's settings. Creating needs `functionId`, `name` and `runtime`; updating needs
/// `name`. Absent fields keep their current (or default) values.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct FunctionBody {
    /// Create only: the new function's ID, or `unique()` for a generated one.
    #[schema(nullable = false, examples("unique()"))]
    function_id: Option<String>,
    /// 1 to 128 characters.
    #[schema(nullable = false, required = true, max_length = 128)]
    name: Option<String>,
    /// One of `GET /v1/functions/runtimes`; required on create.
    #[schema(nullable = false, examples("rust-wasi-0.2"))]
    runtime: Option<String>,
    /// Roles that may execute: `any`, `guests`, `users`, `user:ID`, `team:ID`, `label:NAME`.
    #[schema(nullable = false)]
    execute: Option<Vec<String>>,
    #[schema(nullable = false)]
    events: Option<Vec<String>>,
    /// Five-field cron expression; empty for none.
    #[schema(nullable = false)]
    schedule: Option<String>,
    /// Seconds, 1 to 900 (default 15).
    #[schema(nullable = false, minimum = 1, maximum = 900)]
    timeout: Option<u32>,
    #[schema(nullable = false)]
    enabled: Option<bool>,
    #[schema(nullable = false)]
    logging: Option<bool>,
    #[schema(nullable = false)]
    entrypoint: Option<String>,
    #[schema(nullable = false)]
    commands: Option<String>,
    #[schema(nullable = false)]
    scopes: Option<Vec<String>>,
    /// One of `GET /v1/functions/specifications` (default `s-1vcpu-512mb`).
    #[schema(nullable = false)]
    specification: Option<String>,
    /// wafer: CPU budget in fuel units.
    #[schema(nullable = false)]
    fuel: Option<u64>,
    /// wafer: memory limit in MiB (overrides the specification's).
    #[schema(nullable = false)]
    memory: Option<u32>,
    /// wafer: hosts the function may call over HTTP.
    #[schema(nullable = false)]
    outbound_hosts: Option<Vec<String>>,
    /// wafer: keep a warm instance between calls instead of a fresh sandbox per call. Faster
    /// (JavaScript and Python most of all), but the guest's global state survives from one
    /// call of this function to the next; limits still hold per call and an instance that
    /// fails in any way is discarded.
    #[schema(nullable = false)]
    reuse_instances: Option<bool>,
}

const DEFAULT_TIMEOUT_SECONDS: u32 = 15;

/// Lists the runtimes a function may name.
#[utoipa::path(
    get,
    path = "/v1/functions/runtimes",
    operation_id = "functionsListRuntimes",
    tag = "functions",
    security(("Project" = [], "Key" = ["functions.read"])),
    responses(
        (status = 200, description = "The runtimes.", body = RuntimeList),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn runtimes(caller: Caller) -> ApiResult<Json<RuntimeList>> {
    caller.require("functions.read")?;
    Ok(Json(RuntimeList::all()))
}

/// Lists the execution specifications a function may name.
#[utoipa::path(
    get,
    path = "/v1/functions/specifications",
    operation_id = "functionsListSpecifications",
    tag = "functions",
    security(("Project" = [], "Key" = ["functions.read"])),
    responses(
        (status = 200, description = "The specifications.", body = SpecificationList),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn specifications(caller: Caller) -> ApiResult<Json<SpecificationList>> {
    caller.require("functions.read")?;
    Ok(Json(SpecificationList::all()))
}

/// Creates a function.
#[utoipa::path(
    post,
    path = "/v1/functions",
    operation_id = "functionsCreate",
    tag = "functions",
    security(("Project" = [], "Key" = ["functions.write"])),
    request_body = FunctionBody,
    responses(
        (status = 201, description = "The new function.", body = Function),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<FunctionBody>,
) -> ApiResult<(StatusCode, Json<Function>)> {
    caller.require("functions.write")?;
    let id = new_id("functionId", body.function_id.as_deref(), MissingId::Refuse)?;
    let mut function = StoredFunction {
        id,
        timeout: DEFAULT_TIMEOUT_SECONDS,
        enabled: true,
        logging: true,
        specification: DEFAULT_SPECIFICATION.to_owned(),
        ..StoredFunction::default()
    };
    apply(&mut function, body, true)?;
    check_caps(&function, &state.config)?;
    let created = state
        .store
        .create_function(&caller.project_id, function)
        .await?;
    Ok((StatusCode::CREATED, Json(render(&state, created).await?)))
}

/// Copies the fields present in `body` onto `function`, validating each.
fn apply(function: &mut StoredFunction, body: FunctionBody, creating: bool) -> ApiResult<()> {
    function.name = checked_name(body.name)?;
    match body.runtime {
        Some(runtime) => {
            check_runtime(&runtime)?;
            function.runtime = runtime;
        }
        None if creating => return Err(ApiError::invalid_argument("Param `runtime` is required.")),
        None => {}
    }
    if let Some(execute) = body.execute {
        for role in &execute {
            check_role(role)?;
        }
        function.execute = execute;
    }
    if let Some(timeout) = body.timeout {
        function.timeout = timeout;
    }
    if let Some(expression) = body.schedule {
        function.next_schedule_at = schedule::next_run(&expression, Timestamp::now())?;
        function.schedule = expression;
    }
    if let Some(slug) = body.specification {
        specification(&slug)?;
        function.specification = slug;
    }
    apply_optional(
        function,
        body.events,
        body.enabled,
        body.logging,
        body.entrypoint,
        body.commands,
        body.scopes,
    );
    function.fuel = body.fuel.or(function.fuel);
    function.memory_mb = body.memory.or(function.memory_mb);
    if let Some(hosts) = body.outbound_hosts {
        check_outbound_hosts(&hosts)?;
        function.outbound_hosts = hosts;
    }
    function.reuse_instances = body.reuse_instances.unwrap_or(function.reuse_instances);
    Ok(())
}

fn apply_optional(
    function: &mut StoredFunction,
    events: Option<Vec<String>>,
    enabled: Option<bool>,
    logging: Option<bool>,
    entrypoint: Option<String>,
    commands: Option<String>,
    scopes: Option<Vec<String>>,
) {
    function.events = events.unwrap_or(std::mem::take(&mut function.events));
    function.enabled = enabled.unwrap_or(function.enabled);
    function.logging = logging.unwrap_or(function.logging);
    function.entrypoint = entrypoint.unwrap_or(std::mem::take(&mut function.entrypoint));
    function.commands = commands.unwrap_or(std::mem::take(&mut function.commands));
    function.scopes = scopes.unwrap_or(std::mem::take(&mut function.scopes));
}

/// Refuses settings above the server's caps, naming the cap: a function cannot claim more of
/// the machine than the operator allows, and nothing is silently lowered.
fn check_caps(function: &StoredFunction, config: &GatewayConfig) -> ApiResult<()> {
    let caps = &config.function_caps;
    if !(1..=caps.max_timeout_secs).contains(&function.timeout) {
        return Err(ApiError::invalid_argument(format!(
            "Invalid `timeout` param: {} is not between 1 and {} seconds (the server's \
             max_timeout_secs).",
            function.timeout, caps.max_timeout_secs
        )));
    }
    if let Some(fuel) = function.fuel
        && !(1..=caps.max_fuel).contains(&fuel)
    {
        return Err(ApiError::invalid_argument(format!(
            "Invalid `fuel` param: {fuel} is not between 1 and {} (the server's max_fuel).",
            caps.max_fuel
        )));
    }
    let max_memory_mb = config.engine.max_memory_bytes >> 20;
    if let Some(memory_mb) = requested_memory_mb(function)
        && !(1..=max_memory_mb).contains(&u64::from(memory_mb))
    {
        return Err(ApiError::invalid_argument(format!(
            "Invalid `memory` param: {memory_mb} MiB is not between 1 and {max_memory_mb} MiB \
             (the server's max_function_memory_mb)."
        )));
    }
    let lists = [
        ("execute", &function.execute),
        ("events", &function.events),
        ("scopes", &function.scopes),
        ("outboundHosts", &function.outbound_hosts),
    ];
    for (param, entries) in lists {
        check_list(param, entries, caps)?;
    }
    for (param, text) in [
        ("entrypoint", &function.entrypoint),
        ("commands", &function.commands),
    ] {
        check_text(param, text, caps.max_text_chars)?;
    }
    Ok(())
}

fn check_list(param: &str, entries: &[String], caps: &FunctionCaps) -> ApiResult<()> {
    if entries.len() > caps.max_list_entries {
        return Err(ApiError::invalid_argument(format!(
            "Invalid `{param}` param: {} entries; at most {} are allowed (the server's \
             max_list_entries).",
            entries.len(),
            caps.max_list_entries
        )));
    }
    entries
        .iter()
        .try_for_each(|entry| check_text(param, entry, caps.max_text_chars))
}

fn check_text(param: &str, text: &str, max_chars: usize) -> ApiResult<()> {
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(ApiError::invalid_argument(format!(
            "Invalid `{param}` param: {chars} characters; at most {max_chars} are allowed (the \
             server's max_text_chars)."
        )));
    }
    Ok(())
}

/// Roles Appwrite accepts in `execute`.
fn check_role(role: &str) -> ApiResult<()> {
    let valid = matches!(role, "any" | "guests" | "users")
        || ["user:", "team:", "label:", "member:"]
            .iter()
            .any(|prefix| {
                role.strip_prefix(prefix)
                    .is_some_and(|rest| !rest.is_empty())
            });
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid_argument(format!(
            "Invalid `execute` param: '{role}' is not a role (any, guests, users, user:ID, \
             team:ID, label:NAME)."
        )))
    }
}

/// The function with its variables.
async fn render(state: &AppState, function: StoredFunction) -> ApiResult<Function> {
    let vars = state
        .store
        .function_variables(&function.project_id, &function.id)
        .await?;
    Ok(Function::new(function, vars))
}

/// Lists the project's functions.
#[utoipa::path(
    get,
    path = "/v1/functions",
    operation_id = "functionsList",
    tag = "functions",
    security(("Project" = [], "Key" = ["functions.read"])),
    params(ListParams),
    responses(
        (status = 200, description = "A page of functions.", body = FunctionList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ListQuery(params): ListQuery,
) -> ApiResult<Json<FunctionList>> {
    caller.require("functions.read")?;
    let page = state
        .store
        .list_functions(&caller.project_id, &params)
        .await?;
    let mut functions = Vec::with_capacity(page.items.len());
    for function in page.items {
        functions.push(render(&state, function).await?);
    }
    Ok(Json(FunctionList {
        total: page.total,
        functions,
    }))
}

pub async fn find(
    store: &dyn MetadataStore,
    project_id: &str,
    id: &str,
) -> ApiResult<StoredFunction> {
    store
        .get_function(project_id, id)
        .await
        .map_err(ApiError::from)
}

/// Reads a function.
#[utoipa::path(
    get,
    path = "/v1/functions/{functionId}",
    operation_id = "functionsGet",
    tag = "functions",
    security(("Project" = [], "Key" = ["functions.read"])),
    params(FunctionIdParam),
    responses(
        (status = 200, description = "The function.", body = Function),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(function_id): Path<String>,
) -> ApiResult<Json<Function>> {
    caller.require("functions.read")?;
    let function = find(state.store.as_ref(), &caller.project_id, &function_id).await?;
    Ok(Json(render(&state, function).await?))
}

/// Updates a function's settings.
#[utoipa::path(
    put,
    path = "/v1/functions/{functionId}",
    operation_id = "functionsUpdate",
    tag = "functions",
    security(("Project" = [], "Key" = ["functions.write"])),
    params(FunctionIdParam),
    request_body = FunctionBody,
    responses(
        (status = 200, description = "The updated function.", body = Function),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(function_id): Path<String>,
    JsonBody(body): JsonBody<FunctionBody>,
) -> ApiResult<Json<Function>> {
    caller.require("functions.write")?;
    let mut function = find(state.store.as_ref(), &caller.project_id, &function_id).await?;
    apply(&mut function, body, false)?;
    check_caps(&function, &state.config)?;
    let updated = state
        .store
        .update_function(&caller.project_id, function)
        .await?;
    Ok(Json(render(&state, updated).await?))
}

/// Deletes a function with its deployments, executions and variables.
#[utoipa::path(
    delete,
    path = "/v1/functions/{functionId}",
    operation_id = "functionsDelete",
    tag = "functions",
    security(("Project" = [], "Key" = ["functions.write"])),
    params(FunctionIdParam),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(function_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require("functions.write")?;
    find(state.store.as_ref(), &caller.project_id, &function_id).await?;
    let deployments = state
        .store
        .delete_function(&caller.project_id, &function_id)
        .await?;
    // Their compiled artifacts may be shared within the project: housekeeping removes those
    // no deployment refers to any more.
    for deployment in deployments {
        remove_upload_dir(&state, &deployment.id).await;
    }
    Ok(no_content())
}

/// The deployment to activate.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ActivateBody {
    /// A ready deployment of the function.
    #[schema(nullable = false, required = true)]
    deployment_id: Option<String>,
}

/// Makes a ready deployment the function's active one.
#[utoipa::path(
    patch,
    path = "/v1/functions/{functionId}/deployment",
    operation_id = "functionsUpdateFunctionDeployment",
    tag = "functions",
    security(("Project" = [], "Key" = ["functions.write"])),
    params(FunctionIdParam),
    request_body = ActivateBody,
    responses(
        (status = 200, description = "The function, with its new active deployment.", body = Function),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn set_active_deployment(
    State(state): State<AppState>,
    caller: Caller,
    Path(function_id): Path<String>,
    JsonBody(body): JsonBody<ActivateBody>,
) -> ApiResult<Json<Function>> {
    caller.require("functions.write")?;
    let deployment_id = body
        .deployment_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::invalid_argument("Param `deploymentId` is required."))?;
    find(state.store.as_ref(), &caller.project_id, &function_id).await?;
    let deployment = state
        .store
        .get_deployment(&caller.project_id, &function_id, &deployment_id)
        .await?;
    if deployment.status != DeploymentStatus::Ready {
        return Err(ApiError::new(
            ErrorKind::BuildNotReady,
            format!(
                "Deployment '{deployment_id}' is {}; only a ready deployment can be activated.",
                deployment.status
            ),
        ));
    }
    let function = state
        .store
        .activate_deployment(&caller.project_id, &function_id, &deployment_id)
        .await?;
    Ok(Json(render(&state, function).await?))
}
