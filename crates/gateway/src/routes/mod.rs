//! The `/v1` API and function routes, one module per resource.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

pub mod console;
pub mod deployments;
pub mod executions;
pub mod functions;
pub mod http;
pub mod keys;
pub mod projects;
pub mod users;
pub mod variables;

/// The `/v1` API. Function routes (`http`) are separate: they answer browsers themselves,
/// CORS preflights included.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .merge(functions::router())
        .merge(deployments::router())
        .merge(executions::router())
        .merge(variables::router())
        .merge(projects::router())
        .merge(keys::router())
        .merge(users::router())
        .route("/v1/openapi.json", get(crate::openapi::document))
}

/// A 204 that still says what it is: the Python SDK needs a `Content-Type`, and it must not
/// claim JSON.
pub fn no_content() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
