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
use wafer_store::{Execution, ExecutionStatus, ExecutionTrigger, Function, Timestamp, unique_id};

use crate::auth::{Caller, Principal};
use crate::error::{ApiError, ApiResult};
use crate::invoke::{self, Invocation, TriggerInfo};
use crate::models;
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
const MIN_SCHEDULE_AHEAD_MS: i64 = 60_000;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    body: Option<String>,
    #[serde(rename = "async")]
    run_async: Option<bool>,
    path: Option<String>,
    method: Option<String>,
    headers: Option<serde_json::Map<String, Value>>,
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
        StatusCode::UNAUTHORIZED,
        "user_unauthorized",
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
            if name.starts_with("x-appwrite-") {
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

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(function_id): Path<String>,
    parts: Parts,
    JsonBody(mut body): JsonBody<CreateBody>,
) -> ApiResult<impl IntoResponse> {
    let function = find(state.store.as_ref(), &caller.project_id, &function_id).await?;
    check_execute_permission(&caller, &function)?;
    invoke::check_runnable(&function)?;
    let invocation = invocation(&mut body, &caller, &parts, &state)?;
    let scheduled_at = parse_scheduled_at(body.scheduled_at.as_deref())?;
    let run_async = body.run_async.unwrap_or(false);
    if scheduled_at.is_some() && !run_async {
        return Err(ApiError::invalid_argument(
            "Param `scheduledAt` needs `async` to be true.",
        ));
    }
    let show_logs = caller.is_key();
    if run_async {
        let execution = enqueue(&state, &function, &invocation, scheduled_at).await?;
        let rendered = models::execution(&execution, show_logs);
        return Ok((StatusCode::ACCEPTED, Json(rendered)));
    }
    let execution = run_sync(&state, &function, invocation).await?;
    Ok((
        StatusCode::CREATED,
        Json(models::execution(&execution, show_logs)),
    ))
}

fn parse_scheduled_at(raw: Option<&str>) -> ApiResult<Option<Timestamp>> {
    let Some(raw) = raw.filter(|raw| !raw.is_empty()) else {
        return Ok(None);
    };
    let at = Timestamp::parse_rfc3339(raw).ok_or_else(|| {
        ApiError::invalid_argument(format!(
            "Invalid `scheduledAt` param: '{raw}' is not an ISO 8601 date."
        ))
    })?;
    if at.as_millis() < Timestamp::now().as_millis() + MIN_SCHEDULE_AHEAD_MS {
        return Err(ApiError::invalid_argument(
            "Invalid `scheduledAt` param: it must be at least one minute in the future.",
        ));
    }
    Ok(Some(at))
}

/// Records an async execution durably and wakes the queue worker.
pub async fn enqueue(
    state: &AppState,
    function: &Function,
    invocation: &Invocation,
    scheduled_at: Option<Timestamp>,
) -> ApiResult<Execution> {
    let status = if scheduled_at.is_some() {
        ExecutionStatus::Scheduled
    } else {
        ExecutionStatus::Waiting
    };
    let mut execution = invoke::new_execution(function, unique_id(), invocation, status);
    execution.scheduled_at = scheduled_at;
    state.writer.write(execution.clone()).await?;
    state.queue.notify_one();
    Ok(execution)
}

/// Runs now and waits, at most the function's timeout capped by the sync limit; past that the
/// execution goes on in the background and the caller gets 408.
async fn run_sync(
    state: &AppState,
    function: &Function,
    invocation: Invocation,
) -> ApiResult<Execution> {
    let permit = state
        .concurrency
        .try_admit(&function.project_id, &function.id)?;
    let mut execution = invoke::new_execution(
        function,
        unique_id(),
        &invocation,
        ExecutionStatus::Processing,
    );
    execution.request_body = Vec::new();
    let wait = state.config.sync_timeout_cap.min(
        std::time::Duration::from_secs(u64::from(function.timeout))
            + std::time::Duration::from_secs(1),
    );
    let task_state = state.clone();
    let task_function = function.clone();
    let running = tokio::spawn(async move {
        let _permit = permit;
        invoke::run(&task_state, &task_function, execution, &invocation, true).await
    });
    match tokio::time::timeout(wait, running).await {
        Ok(Ok(result)) => result.map(|(execution, _)| execution),
        Ok(Err(join)) => Err(ApiError::internal(format!(
            "The execution task failed: {join}"
        ))),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "function_synchronous_timeout",
            format!(
                "Synchronous function execution timed out after {} seconds. Use asynchronous \
                 execution (`async: true`) for longer runs; this one continues in the background.",
                wait.as_secs()
            ),
        )),
    }
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(function_id): Path<String>,
    ListQuery(params): ListQuery,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(models::list("executions", &page, |e| {
        models::execution(e, show_logs)
    })))
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
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "execution_not_found",
            format!("Execution with the requested ID '{execution_id}' could not be found."),
        ));
    }
    Ok(execution)
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path((function_id, execution_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    if caller.is_key() {
        caller.require("executions.read")?;
    }
    let execution = load(&state, &caller, &function_id, &execution_id).await?;
    Ok(Json(models::execution(&execution, caller.is_key())))
}

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
            StatusCode::BAD_REQUEST,
            "execution_in_progress",
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
