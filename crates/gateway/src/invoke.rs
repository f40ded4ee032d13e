//! Running one execution of a function: the request record the guest sees, its environment
//! and limits, the runtime call, and the execution record written (durably) afterwards.

use std::time::Duration;

use axum::http::StatusCode;
use wafer_runtime::{
    ArtifactHash, InvocationOutcome, InvokeError, Limits, OutboundPolicy, Request,
};
use wafer_store::{Execution, ExecutionStatus, ExecutionTrigger, Function, Timestamp};

use crate::error::{ApiError, ApiResult};
use crate::runtimes::{runtime_version, specification};
use crate::state::AppState;

/// What a caller asked to run, before the runtime sees it.
#[derive(Clone, Debug, Default)]
pub struct Invocation {
    pub method: String,
    /// Path and optional `?query`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub scheme: String,
    pub host: String,
    pub port: u16,
    pub trigger: TriggerInfo,
}

#[derive(Clone, Debug, Default)]
pub struct TriggerInfo {
    pub trigger: ExecutionTrigger,
    pub user_id: Option<String>,
    pub user_jwt: Option<String>,
    pub client_ip: String,
}

/// Headers never written into an execution record: they carry credentials.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "x-appwrite-key",
    "x-appwrite-jwt",
    "x-appwrite-user-jwt",
];

/// Header names arrive lower-case; client-sent `x-appwrite-*` headers are replaced by ours.
pub fn guest_headers(
    headers: &[(String, String)],
    execution_id: &str,
    trigger: &TriggerInfo,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
        .filter(|(name, _)| !name.starts_with("x-appwrite-"))
        .collect();
    let injected = [
        ("x-appwrite-trigger", trigger.trigger.as_str().to_owned()),
        ("x-appwrite-event", String::new()),
        (
            "x-appwrite-user-id",
            trigger.user_id.clone().unwrap_or_default(),
        ),
        (
            "x-appwrite-user-jwt",
            trigger.user_jwt.clone().unwrap_or_default(),
        ),
        ("x-appwrite-execution-id", execution_id.to_owned()),
        ("x-appwrite-client-ip", trigger.client_ip.clone()),
        ("x-appwrite-country-code", String::new()),
        ("x-appwrite-continent-code", String::new()),
        ("x-appwrite-continent-eu", "false".to_owned()),
    ];
    out.extend(
        injected
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value)),
    );
    out
}

pub fn recordable_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !SECRET_HEADERS.contains(&name.as_str()))
        .cloned()
        .collect()
}

/// A new execution record for `function`, in the given state.
pub fn new_execution(
    function: &Function,
    id: String,
    invocation: &Invocation,
    status: ExecutionStatus,
) -> Execution {
    let now = Timestamp::now();
    let permissions = invocation
        .trigger
        .user_id
        .as_ref()
        .map(|user| vec![format!("read(\"user:{user}\")")])
        .unwrap_or_default();
    Execution {
        id,
        project_id: function.project_id.clone(),
        function_id: function.id.clone(),
        deployment_id: function.deployment_id.clone(),
        trigger: invocation.trigger.trigger,
        status,
        request_method: invocation.method.clone(),
        request_path: invocation.path.clone(),
        request_headers: recordable_headers(&invocation.headers),
        request_body: invocation.body.clone(),
        created_at: now,
        updated_at: now,
        permissions,
        user_id: invocation.trigger.user_id.clone(),
        ..Execution::default()
    }
}

/// Checks that `function` can run now.
pub fn check_runnable(function: &Function) -> ApiResult<()> {
    if !function.enabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "function_disabled",
            format!(
                "Function '{}' is disabled; enable it to run it.",
                function.id
            ),
        ));
    }
    if function.deployment_id.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "deployment_not_found",
            format!(
                "Function '{}' has no active deployment; deploy one and activate it first.",
                function.id
            ),
        ));
    }
    Ok(())
}

fn limits(state: &AppState, function: &Function) -> Limits {
    let defaults = &state.config.function_defaults;
    let spec_memory = specification(&function.specification)
        .map(|spec| spec.memory_mb)
        .unwrap_or(defaults.memory_mb);
    let memory_mb = function.memory_mb.unwrap_or(spec_memory);
    Limits {
        timeout: Duration::from_secs(u64::from(function.timeout.max(1))),
        fuel: function.fuel.unwrap_or(defaults.fuel),
        memory_bytes: u64::from(memory_mb) << 20,
        max_response_bytes: defaults.max_response_bytes,
        reuse_instance: function.reuse_instances,
        ..Limits::default()
    }
}

async fn environment(
    state: &AppState,
    function: &Function,
    limits: &Limits,
) -> ApiResult<Vec<(String, String)>> {
    let variables = state
        .store
        .function_variables(&function.project_id, &function.id)
        .await?;
    let cpus = specification(&function.specification)
        .map(|spec| spec.cpus)
        .unwrap_or(1.0);
    let ours = [
        ("APPWRITE_FUNCTION_ID", function.id.clone()),
        ("APPWRITE_FUNCTION_NAME", function.name.clone()),
        (
            "APPWRITE_FUNCTION_DEPLOYMENT",
            function.deployment_id.clone(),
        ),
        ("APPWRITE_FUNCTION_PROJECT_ID", function.project_id.clone()),
        ("APPWRITE_FUNCTION_RUNTIME_NAME", function.runtime.clone()),
        (
            "APPWRITE_FUNCTION_RUNTIME_VERSION",
            runtime_version(&function.runtime).to_owned(),
        ),
        ("APPWRITE_FUNCTION_API_ENDPOINT", state.api_endpoint.clone()),
        ("APPWRITE_FUNCTION_CPUS", cpus.to_string()),
        (
            "APPWRITE_FUNCTION_MEMORY",
            (limits.memory_bytes >> 20).to_string(),
        ),
        ("APPWRITE_VERSION", crate::error::API_VERSION.to_owned()),
        ("APPWRITE_REGION", "default".to_owned()),
    ];
    let mut env: Vec<(String, String)> = variables
        .into_iter()
        .filter(|variable| !ours.iter().any(|(key, _)| *key == variable.key))
        .map(|variable| (variable.key, variable.value))
        .collect();
    env.extend(ours.into_iter().map(|(key, value)| (key.to_owned(), value)));
    Ok(env)
}

fn guest_request(invocation: &Invocation, execution_id: &str) -> Request {
    let (path, query) = invocation
        .path
        .split_once('?')
        .unwrap_or((invocation.path.as_str(), ""));
    let path = if path.is_empty() { "/" } else { path };
    Request {
        method: invocation.method.clone(),
        scheme: invocation.scheme.clone(),
        host: invocation.host.clone(),
        port: invocation.port,
        path: path.to_owned(),
        query_string: query.to_owned(),
        headers: guest_headers(&invocation.headers, execution_id, &invocation.trigger),
        body: invocation.body.clone(),
    }
}

/// Who waits on a run: that decides what its record keeps and when [`run`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiter {
    /// The executions API answers with the record itself: it keeps the response body and is
    /// durable before `run` returns.
    Api,
    /// A function route answers with the function's own response: the record keeps the body
    /// and is handed to the batching writer, which commits it within one group commit
    /// (milliseconds), unless the server is configured to make route records durable first.
    Route,
    /// The queue worker: nobody reads the response body; the record is durable before the
    /// worker moves on.
    Queue,
}

/// Runs `execution` (already created) to its end and writes the finished record. Returns the
/// record and the full outcome (for callers that answer with the raw response).
pub async fn run(
    state: &AppState,
    function: &Function,
    mut execution: Execution,
    invocation: &Invocation,
    waiter: Waiter,
) -> ApiResult<(Execution, Option<InvocationOutcome>)> {
    let keep_response_body = waiter != Waiter::Queue;
    let limits = limits(state, function);
    let result = invoke_runtime(state, function, &execution, invocation, &limits).await;
    let outcome = match result {
        Ok(outcome) => Some(outcome),
        Err(error) => {
            record_host_failure(&mut execution, &error);
            None
        }
    };
    if let Some(outcome) = &outcome {
        record_outcome(
            &mut execution,
            outcome,
            function.logging,
            keep_response_body,
        );
    }
    execution.request_body = Vec::new();
    execution.updated_at = Timestamp::now();
    if waiter == Waiter::Route && !state.config.durable_route_records {
        // The caller gets the function's response, not the record: it need not wait for an
        // fsync, whose tail on a busy disk is longer than the whole invocation.
        state.writer.enqueue(execution.clone()).await?;
    } else {
        state.writer.write(execution.clone()).await?;
    }
    Ok((execution, outcome))
}

async fn invoke_runtime(
    state: &AppState,
    function: &Function,
    execution: &Execution,
    invocation: &Invocation,
    limits: &Limits,
) -> ApiResult<InvocationOutcome> {
    let deployment = state
        .store
        .get_deployment(&function.project_id, &function.id, &execution.deployment_id)
        .await?;
    let artifact = ArtifactHash::parse(&deployment.artifact_id).ok_or_else(|| {
        ApiError::internal(format!(
            "Deployment '{}' has no built artifact.",
            deployment.id
        ))
    })?;
    let env = environment(state, function, limits).await?;
    let outbound = OutboundPolicy::allow(function.outbound_hosts.iter().cloned());
    let request = guest_request(invocation, &execution.id);
    state
        .runtime
        .invoke(&artifact, request, limits, &env, &outbound)
        .await
        .map_err(|error| match error {
            InvokeError::Overloaded(_) | InvokeError::FirstTierOverloaded(_) => {
                ApiError::rate_limited(error.to_string(), 1)
            }
            other => ApiError::internal(other.to_string()),
        })
}

fn record_host_failure(execution: &mut Execution, error: &ApiError) {
    execution.status = ExecutionStatus::Failed;
    execution.response_status_code = 500;
    execution.errors = error.message.clone();
}

fn record_outcome(
    execution: &mut Execution,
    outcome: &InvocationOutcome,
    logging: bool,
    keep_response_body: bool,
) {
    execution.status = match outcome.status {
        wafer_runtime::ExecutionStatus::Completed => ExecutionStatus::Completed,
        wafer_runtime::ExecutionStatus::Failed => ExecutionStatus::Failed,
    };
    execution.response_status_code = outcome.response.status_code;
    execution.response_headers = outcome.response.headers.clone();
    if keep_response_body {
        execution.response_body = String::from_utf8_lossy(&outcome.response.body).into_owned();
    }
    if logging {
        execution.logs = outcome.logs.clone();
        execution.errors = outcome.errors.clone();
    }
    execution.duration = outcome.duration.as_secs_f64();
    execution.fuel_consumed = outcome.fuel_consumed;
    execution.peak_memory_bytes = outcome.peak_memory_bytes;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_appwrite_headers_are_replaced_and_names_lowered() {
        let trigger = TriggerInfo {
            trigger: ExecutionTrigger::Http,
            user_id: Some("u1".into()),
            ..TriggerInfo::default()
        };
        let headers = vec![
            ("X-Appwrite-User-Id".to_owned(), "forged".to_owned()),
            ("Content-Type".to_owned(), "text/plain".to_owned()),
        ];
        let out = guest_headers(&headers, "exec1", &trigger);
        let get = |name: &str| out.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(get("x-appwrite-user-id"), Some("u1"));
        assert_eq!(get("content-type"), Some("text/plain"));
        assert_eq!(get("x-appwrite-execution-id"), Some("exec1"));
        assert_eq!(get("x-appwrite-trigger"), Some("http"));
        assert_eq!(
            out.iter()
                .filter(|(k, _)| k == "x-appwrite-user-id")
                .count(),
            1
        );
    }

    #[test]
    fn credentials_never_reach_the_record() {
        let headers = vec![
            ("x-appwrite-key".to_owned(), "secret".to_owned()),
            ("authorization".to_owned(), "Bearer x".to_owned()),
            ("accept".to_owned(), "*/*".to_owned()),
        ];
        assert_eq!(
            recordable_headers(&headers),
            vec![("accept".to_owned(), "*/*".to_owned())]
        );
    }
}
