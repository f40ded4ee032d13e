//! API errors in Appwrite's shape: `{message, code, type, version}`, each with a stable type
//! string that SDKs and scripts can match on.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use wafer_store::{Entity, StoreError};

/// The API version reported in error bodies and headers.
pub const API_VERSION: &str = "1.9.0";

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    /// Seconds a client should wait before retrying (429 only).
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "general_argument_invalid", message)
    }

    pub fn unauthorized_scope(scope: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "general_unauthorized_scope",
            format!("The API key or session is missing the scope `{scope}` for this request."),
        )
    }

    pub fn route_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "general_route_not_found",
            "The requested route was not found. Please refer to the API docs and try again.",
        )
    }

    pub fn function_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "function_not_found",
            format!("Function with the requested ID '{id}' could not be found."),
        )
    }

    pub fn rate_limited(message: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "general_rate_limit_exceeded",
                message,
            )
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "general_unknown",
            message,
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(kind = self.kind, message = %self.message, "request failed");
        }
        let body = json!({
            "message": self.message,
            "code": self.status.as_u16(),
            "type": self.kind,
            "version": API_VERSION,
        });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

fn not_found_kind(entity: Entity) -> &'static str {
    match entity {
        Entity::Project => "project_not_found",
        Entity::ApiKey => "key_not_found",
        Entity::Function => "function_not_found",
        Entity::Deployment => "deployment_not_found",
        Entity::Execution => "execution_not_found",
        Entity::Variable => "variable_not_found",
    }
}

fn entity_name(entity: Entity) -> &'static str {
    match entity {
        Entity::Project => "Project",
        Entity::ApiKey => "Key",
        Entity::Function => "Function",
        Entity::Deployment => "Deployment",
        Entity::Execution => "Execution",
        Entity::Variable => "Variable",
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { entity, id } => Self::new(
                StatusCode::NOT_FOUND,
                not_found_kind(entity),
                format!(
                    "{} with the requested ID '{id}' could not be found.",
                    entity_name(entity)
                ),
            ),
            StoreError::AlreadyExists {
                entity,
                field,
                value,
            } => {
                let kind = match entity {
                    Entity::Variable => "variable_already_exists",
                    Entity::ApiKey => "key_already_exists",
                    _ => "function_already_exists",
                };
                Self::new(
                    StatusCode::CONFLICT,
                    kind,
                    format!(
                        "{} with the same {field} '{value}' already exists.",
                        entity_name(entity)
                    ),
                )
            }
            StoreError::Query(query) => Self::new(
                StatusCode::BAD_REQUEST,
                "general_query_invalid",
                format!("Invalid query: {query}"),
            ),
            StoreError::CursorNotFound { id } => Self::new(
                StatusCode::BAD_REQUEST,
                "general_cursor_not_found",
                format!("The cursor document '{id}' was not found."),
            ),
            StoreError::InvalidArgument(message) => Self::invalid_argument(message),
            other => Self::internal(format!("Storage error: {other}")),
        }
    }
}
