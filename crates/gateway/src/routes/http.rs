//! Plain HTTP to a function: `{functionId}.{base-domain}` or `/fn/{functionId}/…`. The method,
//! path, query, headers and body pass through; the function's status, headers and body come
//! back as they are, plus `x-appwrite-execution-id`. A wasi:http function's request body streams
//! into it and its response body streams back as it writes it.

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http_body_util::{BodyExt, Limited};
use wafer_runtime::DeploymentKind;
use wafer_store::{Execution, ExecutionTrigger, Function};

use crate::auth::DEFAULT_PROJECT;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::execute::{Mode, RouteAnswer, execute, execute_streaming_route};
use crate::invoke::{Invocation, TriggerInfo};
use crate::openapi::schemas::{
    Forbidden, FunctionIdParam, NotFound, TooManyRequests, Unauthorized,
};
use crate::runtimes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/fn/{function_id}", any(by_path))
        .route("/fn/{function_id}/", any(by_path))
        .route("/fn/{function_id}/{*rest}", any(by_path))
}

fn host_of(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| request.uri().host())
}

/// The function a `Host` header names, if it is under the base domain.
pub fn function_for_host(state: &AppState, request: &Request) -> Option<String> {
    let host = host_of(request)?;
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    let suffix = format!(".{}", state.config.base_domain);
    let function_id = name.strip_suffix(&suffix)?;
    (!function_id.is_empty() && !function_id.contains('.')).then(|| function_id.to_owned())
}

pub async fn invoke_by_host(state: AppState, function_id: String, request: Request) -> Response {
    let path = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    serve(state, function_id, path, request)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

#[utoipa::path(
    method(get, post, put, patch, delete, head),
    path = "/fn/{functionId}/{path}",
    operation_id = "httpCallFunction",
    tag = "http",
    summary = "Calls a function over plain HTTP.",
    description = "Sends a plain HTTP request to a public function (one whose `execute` roles \
        include `any` or `guests`) and returns its response as it is. The method, the rest of \
        the path (which may hold further `/`; `/fn/{functionId}` alone is `/`), the query, the \
        headers and the body pass through. `{functionId}.BASE_DOMAIN` serves the same, whatever \
        the path. The function belongs to the `X-Appwrite-Project` project, `default` if absent. \
        `OPTIONS` requests never reach the function: the gateway answers them as CORS preflights.",
    params(
        FunctionIdParam,
        ("path" = String, Path, description = "The path the function sees, after `/fn/{functionId}/`."),
        ("X-Appwrite-Project" = Option<String>, Header, nullable = false, description = "The function's project (default `default`)."),
    ),
    request_body(description = "Any body; passed to the function as it is.", content(("*/*"))),
    responses(
        (status = "default", description = "The function's response: its status, headers and body.",
            headers(("x-appwrite-execution-id" = String, description = "The ID of the execution record."))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    ),
)]
async fn by_path(State(state): State<AppState>, request: Request) -> Response {
    let full = request.uri().path().to_owned();
    let rest = full.strip_prefix("/fn/").unwrap_or_default();
    let (function_id, path) = match rest.split_once('/') {
        Some((id, path)) => (id.to_owned(), format!("/{path}")),
        None => (rest.to_owned(), "/".to_owned()),
    };
    let path = match request.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    serve(state, function_id, path, request)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// Only functions open to everyone (`any` or `guests`) answer plain HTTP.
fn check_public(function: &Function) -> ApiResult<()> {
    if function
        .execute
        .iter()
        .any(|role| role == "any" || role == "guests")
    {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorKind::UserUnauthorized,
        format!(
            "Function '{}' is not public: add `any` to its execute roles to call it over HTTP.",
            function.id
        ),
    ))
}

async fn serve(
    state: AppState,
    function_id: String,
    path: String,
    request: Request,
) -> ApiResult<Response> {
    // Function routes serve the default project unless the caller names another.
    let project_id = request
        .headers()
        .get("x-appwrite-project")
        .and_then(|value| value.to_str().ok())
        .unwrap_or(DEFAULT_PROJECT)
        .to_owned();
    let (mut invocation, body) = invocation_head(&state, request, path);
    let function = match public_function(&state, &project_id, &function_id).await {
        Ok(function) => function,
        Err(error) => {
            // The body is read before the refusal, so the connection stays usable for the
            // next request.
            let _ = read_body(&state, body).await;
            return Err(error);
        }
    };
    if runtimes::deployment_kind(&function.runtime) == DeploymentKind::HttpProxy {
        let body = Limited::new(body, state.config.max_request_body_bytes).boxed_unsync();
        return match execute_streaming_route(&state, &function, invocation, body).await? {
            RouteAnswer::Finished(executed) => {
                Ok(raw_response(&executed.execution, executed.outcome))
            }
            RouteAnswer::Streaming {
                execution_id,
                status_code,
                headers,
                body,
            } => Ok(guest_response(
                status_code,
                &headers,
                Body::new(body),
                &execution_id,
            )),
        };
    }
    invocation.body = read_body(&state, body).await?;
    let executed = execute(&state, &function, invocation, Mode::Route).await?;
    Ok(raw_response(&executed.execution, executed.outcome))
}

async fn public_function(
    state: &AppState,
    project_id: &str,
    function_id: &str,
) -> ApiResult<Function> {
    let function = state.store.get_function(project_id, function_id).await?;
    check_public(&function)?;
    Ok(function)
}

/// The invocation a request asks for, without its body, which is returned as it is.
fn invocation_head(state: &AppState, request: Request, path: String) -> (Invocation, Body) {
    let client_ip = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip().to_string())
        .unwrap_or_default();
    let (parts, body) = request.into_parts();
    let host_header = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(&state.config.base_domain)
        .to_owned();
    let (host, port) = match host_header.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => {
            (host.to_owned(), port.parse().unwrap_or(80))
        }
        _ => (host_header, 80),
    };
    let scheme = parts
        .headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("http")
        .to_owned();
    let headers = parts
        .headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let invocation = Invocation {
        method: parts.method.as_str().to_owned(),
        path,
        headers,
        body: Vec::new(),
        scheme,
        host,
        port,
        trigger: TriggerInfo {
            trigger: ExecutionTrigger::Http,
            client_ip,
            ..TriggerInfo::default()
        },
    };
    (invocation, body)
}

async fn read_body(state: &AppState, body: Body) -> ApiResult<Vec<u8>> {
    let body = axum::body::to_bytes(body, state.config.max_request_body_bytes)
        .await
        .map_err(|error| {
            let refused =
                ApiError::invalid_argument(format!("The request body could not be read: {error}"));
            if error.into_inner().is::<http_body_util::LengthLimitError>() {
                return refused.rejected_for(crate::observe::Rejection::BodyTooLarge);
            }
            refused
        })?;
    Ok(body.to_vec())
}

fn raw_response(
    execution: &Execution,
    outcome: Option<wafer_runtime::InvocationOutcome>,
) -> Response {
    let Some(outcome) = outcome else {
        return ApiError::internal(format!(
            "The function could not be run: {}",
            execution.errors
        ))
        .into_response();
    };
    let response = outcome.response;
    guest_response(
        response.status_code,
        &response.headers,
        Body::from(response.body),
        &execution.id,
    )
}

/// The guest's status, headers and body as the client gets them, plus the execution's ID.
fn guest_response(
    status_code: u16,
    guest_headers: &[(String, String)],
    body: Body,
    execution_id: &str,
) -> Response {
    let status = StatusCode::from_u16(status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in guest_headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            headers.append(name, value);
        }
    }
    if !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    }
    if let Ok(id) = HeaderValue::try_from(execution_id) {
        headers.insert(HeaderName::from_static("x-appwrite-execution-id"), id);
    }
    response
}
