//! `/v1/functions/{functionId}/executions`: run a function (sync, async or scheduled), and
//! list, read and delete its execution records.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use wafer_store::{Entity, Execution, ExecutionStatus, ExecutionTrigger, Function, Timestamp};

use crate::auth::{Caller, Principal};
use crate::config::GatewayConfig;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::execute::{Mode, execute};
use crate::invoke::{Invocation, TriggerInfo};
use crate::models::{self, ExecutionList};
use crate::openapi::schemas::{
    self, BadRequest, ExecutionIdParam, Forbidden, FunctionIdParam, ListParams, NotFound,
    TooManyRequests, Unauthorized,
};
use crate::params::{JsonBody, ListQuery};
use crate::routes::functions::find;
use crate::routes::no_content;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/functions/{function_id}/executions",
            get(list).post(create),
        )
        .route(
            "/v1/functions/{function_id}/executions/{execution_id}",
            get(read).delete(remove),
        )
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"];
const MAX_BODY_BYTES: usize = 10 << 20;
const MAX_HEADERS: usize = 100;
/// A scheduled execution must be at least this far in the future.
/// The request to run the function with.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ExecutionBody)]
struct CreateBody {
    /// The request body (at most 10 MiB).
    #[schema(nullable = false)]
    body: Option<String>,
    /// Queue the execution and answer at once (202) instead of waiting for it (201).
    #[serde(rename = "async")]
    #[schema(nullable = false)]
    run_async: Option<bool>,
    /// The request path, starting with `/` (default `/`).
    #[schema(nullable = false)]
    path: Option<String>,
    /// `GET`, `POST` (the default), `PUT`, `PATCH`, `DELETE`, `OPTIONS` or `HEAD`.
    #[schema(nullable = false)]
    method: Option<String>,
    /// Request headers (at most 100); `x-appwrite-*` names are reserved.
    #[schema(nullable = false, value_type = Option<std::collections::HashMap<String, String>>)]
    headers: Option<serde_json::Map<String, Value>>,
    /// Run at this ISO 8601 date, at least a minute and at most the server's horizon (30 days
    /// by default) ahead; needs `async`.
    #[schema(nullable = false, format = DateTime)]
    scheduled_at: Option<String>,
}

/// Callers without a key need a role the function's `execute` list grants.
pub fn check_execute_permission(caller: &Caller, function: &Function) -> ApiResult<()> {
    if caller.is_key() {
        return caller.require("executions.write");
    }
    let roles = caller.roles();
    if function.execute.iter().any(|role| roles.contains(role)) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorKind::UserUnauthorized,
        format!(
            "The current user is not authorized to execute function '{}' (its execute roles: {}).",
            function.id,
            if function.execute.is_empty() {
                "none".to_owned()
            } else {
                function.execute.join(", ")
            }
        ),
    ))
}

fn request_headers(
    headers: Option<serde_json::Map<String, Value>>,
) -> ApiResult<Vec<(String, String)>> {
    let headers = headers.unwrap_or_default();
    if headers.len() > MAX_HEADERS {
        return Err(ApiError::invalid_argument(format!(
            "Invalid `headers` param: at most {MAX_HEADERS} headers are allowed."
        )));
    }
    headers
        .into_iter()
        .map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            if crate::invoke::is_reserved_header(&name) {
                return Err(ApiError::invalid_argument(format!(
                    "Invalid `headers` param: '{name}' is reserved (x-appwrite-* headers are set by the server)."
                )));
            }
            let value = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            Ok((name, value))
        })
        .collect()
}

fn invocation(
    body: &mut CreateBody,
    caller: &Caller,
    parts: &Parts,
    state: &AppState,
) -> ApiResult<Invocation> {
    let method = body
        .method
        .take()
        .unwrap_or_else(|| "POST".to_owned())
        .to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(ApiError::invalid_argument(format!(
            "Invalid `method` param: '{method}' (accepted: {}).",
            METHODS.join(", ")
        )));
    }
    let path = body
        .path
        .take()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/".to_owned());
    if !path.starts_with('/') {
        return Err(ApiError::invalid_argument(
            "Invalid `path` param: it must start with `/`.",
        ));
    }
    let request_body = body.body.take().unwrap_or_default();
    if request_body.len() > MAX_BODY_BYTES {
        return Err(ApiError::invalid_argument(format!(
            "Invalid `body` param: at most {MAX_BODY_BYTES} bytes."
        )));
    }
    let mut headers = request_headers(body.headers.take())?;
    if !headers.iter().any(|(name, _)| name == "content-type") && !request_body.is_empty() {
        headers.push(("content-type".to_owned(), "text/plain".to_owned()));
    }
    let user_jwt = parts
        .headers
        .get("x-appwrite-jwt")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (host, port) = host_and_port(state);
    Ok(Invocation {
        method,
        path,
        headers,
        body: request_body.into_bytes(),
        scheme: "http".to_owned(),
        host,
        port,
        trigger: TriggerInfo {
            trigger: ExecutionTrigger::Http,
            user_id: caller.user_id().map(str::to_owned),
            user_jwt: caller.user_id().and(user_jwt),
            client_ip: String::new(),
        },
    })
}

/// Executions made through the API see the function's own domain as their host.
fn host_and_port(state: &AppState) -> (String, u16) {
    (state.config.base_domain.clone(), 80)
}

#[utoipa::path(
    post,
    path = "/v1/functions/{functionId}/executions",
    operation_id = "functionsCreateExecution",
    tag = "executions",
    summary = "Runs a function.",
    description = "Runs the function's active deployment. An API key needs `executions.write`; a \
        user (JWT) or guest needs a role in the function's `execute` list.",
    security(
        ("Project" = [], "Key" = ["executions.write"]),
        ("Project" = [], "JWT" = []),
        ("Project" = []),
    ),
    params(FunctionIdParam),
    request_body = CreateBody,
    responses(
        (status = 201, description = "The finished execution (synchronous run).", body = models::Execution),
        (status = 202, description = "The queued execution (`async`): `waiting`, or `scheduled` with `scheduledAt`.", body = models::Execution),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 408, description = "A synchronous run outlasted the limit; it goes on in the background (`function_synchronous_timeout`).", body = schemas::Error),
        (status = 429, response = TooManyRequests),
    ),
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(function_id): Path<String>,
    parts: Parts,
    JsonBody(mut body): JsonBody<CreateBody>,
) -> ApiResult<impl IntoResponse> {
    let function = find(state.store.as_ref(), &caller.project_id, &function_id).await?;
    check_execute_permission(&caller, &function)?;
    let invocation = invocation(&mut body, &caller, &parts, &state)?;
    let scheduled_at = parse_scheduled_at(body.scheduled_at.as_deref(), &state.config)?;
    let run_async = body.run_async.unwrap_or(false);
    if scheduled_at.is_some() && !run_async {
        return Err(ApiError::invalid_argument(
            "Param `scheduledAt` needs `async` to be true.",
        ));
    }
    let mode = if run_async {
        Mode::Enqueue { scheduled_at }
    } else {
        Mode::Sync
    };
    let status = if run_async {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    let executed = execute(&state, &function, invocation, mode).await?;
    Ok((
        status,
        Json(models::Execution::new(executed.execution, caller.is_key())),
    ))
}

fn parse_scheduled_at(raw: Option<&str>, config: &GatewayConfig) -> ApiResult<Option<Timestamp>> {
    let (min_ahead, max_ahead) = (config.min_schedule_ahead, config.max_schedule_ahead);
    let Some(raw) = raw.filter(|raw| !raw.is_empty()) else {
        return Ok(None);
    };
    let at = Timestamp::parse_rfc3339(raw).ok_or_else(|| {
        ApiError::invalid_argument(format!(
            "Invalid `scheduledAt` param: '{raw}' is not an ISO 8601 date."
        ))
    })?;
    let min_ahead_ms = i64::try_from(min_ahead.as_millis()).unwrap_or(i64::MAX);
    if at.as_millis() < Timestamp::now().as_millis().saturating_add(min_ahead_ms) {
        return Err(ApiError::invalid_argument(format!(
            "Invalid `scheduledAt` param: it must be at least {} s in the future.",
            min_ahead.as_secs()
        )));
    }
    let max_ahead_ms = i64::try_from(max_ahead.as_millis()).unwrap_or(i64::MAX);
    if at.as_millis() > Timestamp::now().as_millis().saturating_add(max_ahead_ms) {
        return Err(ApiError::invalid_argument(format!(
            "Invalid `scheduledAt` param: it may be at most {} days ahead (the server's \
             max_schedule_ahead).",
            max_ahead.as_secs() / 86_400
        )));
    }
    Ok(Some(at))
}

/// Lists a function's executions: all of them for an API key, a user's own for a JWT.
#[utoipa::path(
    get,
    path = "/v1/functions/{functionId}/executions",
    operation_id = "functionsListExecutions",
    tag = "executions",
    security(
        ("Project" = [], "Key" = ["executions.read"]),
        ("Project" = [], "JWT" = []),
    ),
    params(FunctionIdParam, ListParams),
    responses(
        (status = 200, description = "A page of executions.", body = ExecutionList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(function_id): Path<String>,
    ListQuery(params): ListQuery,
) -> ApiResult<Json<ExecutionList>> {
    let page = match &caller.principal {
        Principal::Key { .. } => {
            caller.require("executions.read")?;
            find(state.store.as_ref(), &caller.project_id, &function_id).await?;
            state
                .store
                .list_executions(&caller.project_id, &function_id, &params)
                .await?
        }
        Principal::User { id } => {
            find(state.store.as_ref(), &caller.project_id, &function_id).await?;
            state
                .store
                .list_user_executions(&caller.project_id, &function_id, id, &params)
                .await?
        }
        Principal::Guest => return Err(ApiError::unauthorized_scope("executions.read")),
    };
    let show_logs = caller.is_key();
    Ok(Json(ExecutionList::new(page, show_logs)))
}

async fn load(
    state: &AppState,
    caller: &Caller,
    function_id: &str,
    execution_id: &str,
) -> ApiResult<Execution> {
    find(state.store.as_ref(), &caller.project_id, function_id).await?;
    let execution = state
        .store
        .get_execution(&caller.project_id, function_id, execution_id)
        .await?;
    let visible = match &caller.principal {
        Principal::Key { .. } => true,
        Principal::User { id } => execution.user_id.as_deref() == Some(id),
        Principal::Guest => false,
    };
    if !visible {
        return Err(ApiError::not_found(Entity::Execution, execution_id));
    }
    Ok(execution)
}

/// Reads an execution; a user (JWT) only reads their own.
#[utoipa::path(
    get,
    path = "/v1/functions/{functionId}/executions/{executionId}",
    operation_id = "functionsGetExecution",
    tag = "executions",
    security(
        ("Project" = [], "Key" = ["executions.read"]),
        ("Project" = [], "JWT" = []),
    ),
    params(FunctionIdParam, ExecutionIdParam),
    responses(
        (status = 200, description = "The execution.", body = models::Execution),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path((function_id, execution_id)): Path<(String, String)>,
) -> ApiResult<Json<models::Execution>> {
    if caller.is_key() {
        caller.require("executions.read")?;
    }
    let execution = load(&state, &caller, &function_id, &execution_id).await?;
    Ok(Json(models::Execution::new(execution, caller.is_key())))
}

/// Deletes a finished (or scheduled) execution.
#[utoipa::path(
    delete,
    path = "/v1/functions/{functionId}/executions/{executionId}",
    operation_id = "functionsDeleteExecution",
    tag = "executions",
    security(("Project" = [], "Key" = ["executions.write"])),
    params(FunctionIdParam, ExecutionIdParam),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "The execution is still running (`execution_in_progress`).", body = schemas::Error),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path((function_id, execution_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    caller.require("executions.write")?;
    let execution = load(&state, &caller, &function_id, &execution_id).await?;
    let finished = matches!(
        execution.status,
        ExecutionStatus::Completed | ExecutionStatus::Failed | ExecutionStatus::Scheduled
    );
    if !finished {
        return Err(ApiError::new(
            ErrorKind::ExecutionInProgress,
            format!(
                "Execution '{execution_id}' is still {}; it can be deleted once it ends.",
                execution.status
            ),
        ));
    }
    state
        .store
        .delete_execution(&caller.project_id, &function_id, &execution_id)
        .await?;
    Ok(no_content())
}
