//! Seeing inside the server: Prometheus metrics on a listener of their own
//! ([`listener`]), OpenTelemetry traces over OTLP ([`traces`]), and the server's own logs as
//! text or one JSON object per line ([`logs`]).
//!
//! The rest of the gateway calls in here with a line at each place something happens: a
//! request ([`observe_request`], the outermost middleware), an execution
//! ([`traces::execution_span`], [`metrics::Metrics::executed`]), a refusal ([`Rejection`]).
//! Nothing here is on the request path's critical section: metric updates are atomic adds on
//! series looked up once, and spans are exported by a background thread in batches.

pub mod listener;
pub mod logs;
pub mod metrics;
pub mod traces;

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::state::AppState;

/// Which part of the server a request was for: the `route` label of the HTTP metrics.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum RouteClass {
    /// The `/v1` API.
    Api,
    /// A function's own route: `/fn/{id}/…` or `{id}.{base-domain}`.
    Function,
    /// The web console under `/console`.
    Console,
    /// Anything else (unknown paths).
    Other,
}

impl RouteClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Function => "function",
            Self::Console => "console",
            Self::Other => "other",
        }
    }

    /// The class of a path; function domains are marked by the router instead (the response
    /// carries [`RouteClass::Function`] as an extension).
    fn of_path(path: &str) -> Self {
        let under = |prefix: &str| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if under("/v1") {
            Self::Api
        } else if under("/fn") {
            Self::Function
        } else if under("/console") {
            Self::Console
        } else {
            Self::Other
        }
    }
}

/// Why a request was refused for load or size: the `reason` label of
/// `wafer_rejected_requests_total`. An error response carries it as an extension.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Rejection {
    /// The function already runs as many executions as its concurrency limit allows.
    FunctionConcurrency,
    /// The server already runs as many executions as it allows.
    GlobalConcurrency,
    /// Every sandbox slot of the runtime is busy.
    SandboxesBusy,
    /// The async queue's cap for the function or project is reached.
    QueueFull,
    /// The request body is larger than the server accepts.
    BodyTooLarge,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FunctionConcurrency => "function_concurrency",
            Self::GlobalConcurrency => "global_concurrency",
            Self::SandboxesBusy => "sandboxes_busy",
            Self::QueueFull => "queue_full",
            Self::BodyTooLarge => "body_too_large",
        }
    }
}

/// The longest `x-request-id` taken from a client (a load balancer's, usually); longer or odd
/// ones are replaced by ours.
const MAX_REQUEST_ID_LEN: usize = 64;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's ID: the client's `x-request-id` when it is a short token, else a new one.
fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= MAX_REQUEST_ID_LEN
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(wafer_store::unique_id, str::to_owned)
}

/// The outermost middleware: gives every request an ID (answered in `x-request-id`) and a
/// span (continuing the client's `traceparent`), and counts it in the HTTP metrics.
pub async fn observe_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = request_id(&request);
    let method = request.method().clone();
    let path_class = RouteClass::of_path(request.uri().path());
    let span = traces::request_span(&request, &id, path_class);
    let mut response = next.run(request).instrument(span.clone()).await;
    let route = response
        .extensions()
        .get::<RouteClass>()
        .copied()
        .unwrap_or(path_class);
    let status = response.status();
    traces::record_response(&span, &method, route, status);
    state
        .metrics
        .answered(route, status.as_u16(), started.elapsed());
    if let Some(reason) = response.extensions().get::<Rejection>() {
        state.metrics.rejected(*reason);
    }
    if let Ok(value) = HeaderValue::try_from(id) {
        response.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_in_their_route_class() {
        for (path, class) in [
            ("/v1", RouteClass::Api),
            ("/v1/functions", RouteClass::Api),
            ("/fn/hello/", RouteClass::Function),
            ("/console/", RouteClass::Console),
            ("/console", RouteClass::Console),
            ("/v10", RouteClass::Other),
            ("/consoles", RouteClass::Other),
            ("/", RouteClass::Other),
        ] {
            assert_eq!(RouteClass::of_path(path), class, "{path}");
        }
    }

    #[test]
    fn a_clients_request_id_is_kept_only_when_it_is_a_short_token() {
        let with = |value: &str| {
            let request = Request::builder()
                .header("x-request-id", value)
                .body(axum::body::Body::empty())
                .expect("request");
            request_id(&request)
        };
        assert_eq!(with("lb-1234.abc"), "lb-1234.abc");
        assert_ne!(with("has space"), "has space");
        assert_ne!(with(&"a".repeat(65)), "a".repeat(65));
        assert_eq!(with("").len(), 20, "a new one");
    }
}
