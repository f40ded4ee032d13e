//! API errors in Appwrite's shape: `{message, code, type, version}`. Every error type the API can
//! answer with, and its status, is defined once in [`ErrorKind`]'s table.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use wafer_store::{Entity, StoreError};

use crate::execute::ExecuteError;
use crate::observe::Rejection;

/// The API version reported in error bodies and headers.
pub const API_VERSION: &str = "1.9.0";

/// Defines [`ErrorKind`] from one table of `Variant = (STATUS, "type_string")` rows.
macro_rules! error_kinds {
    ($($variant:ident = ($status:ident, $name:literal),)*) => {
        /// A stable Appwrite error type and the HTTP status it is answered with.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl ErrorKind {
            /// Every error type, for documentation and tests.
            #[cfg_attr(not(test), allow(dead_code))]
            pub const ALL: &[ErrorKind] = &[$(ErrorKind::$variant,)*];

            /// The type string clients match on.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorKind::$variant => $name,)*
                }
            }

            /// The status this error type is answered with.
            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorKind::$variant => StatusCode::$status,)*
                }
            }
        }
    };
}

error_kinds! {
    GeneralArgumentInvalid = (BAD_REQUEST, "general_argument_invalid"),
    GeneralQueryInvalid = (BAD_REQUEST, "general_query_invalid"),
    GeneralCursorNotFound = (BAD_REQUEST, "general_cursor_not_found"),
    GeneralUnauthorizedScope = (UNAUTHORIZED, "general_unauthorized_scope"),
    GeneralRouteNotFound = (NOT_FOUND, "general_route_not_found"),
    GeneralRequestTimeout = (REQUEST_TIMEOUT, "general_request_timeout"),
    GeneralRateLimitExceeded = (TOO_MANY_REQUESTS, "general_rate_limit_exceeded"),
    GeneralUnknown = (INTERNAL_SERVER_ERROR, "general_unknown"),
    UserUnauthorized = (UNAUTHORIZED, "user_unauthorized"),
    UserJwtInvalid = (UNAUTHORIZED, "user_jwt_invalid"),
    ProjectNotFound = (NOT_FOUND, "project_not_found"),
    ProjectAlreadyExists = (CONFLICT, "project_already_exists"),
    KeyNotFound = (NOT_FOUND, "key_not_found"),
    KeyAlreadyExists = (CONFLICT, "key_already_exists"),
    FunctionNotFound = (NOT_FOUND, "function_not_found"),
    FunctionAlreadyExists = (CONFLICT, "function_already_exists"),
    FunctionDisabled = (FORBIDDEN, "function_disabled"),
    FunctionSynchronousTimeout = (REQUEST_TIMEOUT, "function_synchronous_timeout"),
    DeploymentNotFound = (NOT_FOUND, "deployment_not_found"),
    DeploymentInvalidFileSize = (BAD_REQUEST, "deployment_invalid_file_size"),
    BuildNotReady = (BAD_REQUEST, "build_not_ready"),
    StorageInvalidContentRange = (BAD_REQUEST, "storage_invalid_content_range"),
    ExecutionNotFound = (NOT_FOUND, "execution_not_found"),
    ExecutionInProgress = (BAD_REQUEST, "execution_in_progress"),
    VariableNotFound = (NOT_FOUND, "variable_not_found"),
    VariableAlreadyExists = (CONFLICT, "variable_already_exists"),
    VariableCannotUnsetSecret = (BAD_REQUEST, "variable_cannot_unset_secret"),
}

/// An error the API answers with.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    /// Seconds a client should wait before retrying (429 only).
    pub retry_after: Option<u64>,
    /// Why the request was refused for load or size, for the metrics.
    pub rejection: Option<Rejection>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
            rejection: None,
        }
    }

    /// This error, counted as a refusal for `reason`.
    pub fn rejected_for(self, reason: Rejection) -> Self {
        Self {
            rejection: Some(reason),
            ..self
        }
    }

    /// The HTTP status of this error, from its kind.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::GeneralArgumentInvalid, message)
    }

    pub fn unauthorized_scope(scope: &str) -> Self {
        Self::new(
            ErrorKind::GeneralUnauthorizedScope,
            format!("The API key or session is missing the scope `{scope}` for this request."),
        )
    }

    pub fn route_not_found() -> Self {
        Self::new(
            ErrorKind::GeneralRouteNotFound,
            "The requested route was not found. Please refer to the API docs and try again.",
        )
    }

    /// `<entity>_not_found` for the record `id`.
    pub fn not_found(entity: Entity, id: &str) -> Self {
        Self::new(
            not_found_kind(entity),
            format!(
                "{} with the requested ID '{id}' could not be found.",
                entity_name(entity)
            ),
        )
    }

    pub fn rate_limited(message: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(ErrorKind::GeneralRateLimitExceeded, message)
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::GeneralUnknown, message)
    }

    /// The body clients see: `{message, code, type, version}`.
    pub fn body(&self) -> serde_json::Value {
        json!({
            "message": self.message,
            "code": self.status().as_u16(),
            "type": self.kind.as_str(),
            "version": API_VERSION,
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(kind = self.kind.as_str(), message = %self.message, "request failed");
        }
        let mut response = (status, Json(self.body())).into_response();
        if let Some(reason) = self.rejection {
            response.extensions_mut().insert(reason);
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

fn not_found_kind(entity: Entity) -> ErrorKind {
    match entity {
        Entity::Project => ErrorKind::ProjectNotFound,
        Entity::ApiKey => ErrorKind::KeyNotFound,
        Entity::Function => ErrorKind::FunctionNotFound,
        Entity::Deployment => ErrorKind::DeploymentNotFound,
        Entity::Execution => ErrorKind::ExecutionNotFound,
        Entity::Variable => ErrorKind::VariableNotFound,
    }
}

fn already_exists_kind(entity: Entity) -> ErrorKind {
    match entity {
        Entity::Variable => ErrorKind::VariableAlreadyExists,
        Entity::ApiKey => ErrorKind::KeyAlreadyExists,
        Entity::Project => ErrorKind::ProjectAlreadyExists,
        Entity::Function | Entity::Deployment | Entity::Execution => {
            ErrorKind::FunctionAlreadyExists
        }
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
            StoreError::NotFound { entity, id } => Self::not_found(entity, &id),
            StoreError::AlreadyExists {
                entity,
                field,
                value,
            } => Self::new(
                already_exists_kind(entity),
                format!(
                    "{} with the same {field} '{value}' already exists.",
                    entity_name(entity)
                ),
            ),
            StoreError::Query(query) => Self::new(
                ErrorKind::GeneralQueryInvalid,
                format!("Invalid query: {query}"),
            ),
            StoreError::CursorNotFound { id } => Self::new(
                ErrorKind::GeneralCursorNotFound,
                format!("The cursor document '{id}' was not found."),
            ),
            StoreError::InvalidArgument(message) => Self::invalid_argument(message),
            // A fault of the database is the server's, never a client's "not found".
            other => Self::internal(format!("Storage error: {other}")),
        }
    }
}

impl From<ExecuteError> for ApiError {
    fn from(error: ExecuteError) -> Self {
        let message = error.to_string();
        let retry_after = error.retry_after();
        let rejection = match &error {
            ExecuteError::Refused(refused) => Some(refused.reason),
            ExecuteError::RuntimeBusy(_) => Some(Rejection::SandboxesBusy),
            ExecuteError::QueueFull(_) => Some(Rejection::QueueFull),
            _ => None,
        };
        let kind = match error {
            ExecuteError::Store(store) => return store.into(),
            ExecuteError::Disabled(_) => ErrorKind::FunctionDisabled,
            ExecuteError::NoActiveDeployment(_) => ErrorKind::DeploymentNotFound,
            ExecuteError::Refused(_)
            | ExecuteError::RuntimeBusy(_)
            | ExecuteError::QueueFull(_) => ErrorKind::GeneralRateLimitExceeded,
            ExecuteError::SyncTimeout(_) => ErrorKind::FunctionSynchronousTimeout,
            ExecuteError::TaskFailed(_) | ExecuteError::ShuttingDown => ErrorKind::GeneralUnknown,
        };
        Self {
            retry_after,
            rejection,
            ..Self::new(kind, message)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_error_type_string_is_defined_once() {
        let names: HashSet<&str> = ErrorKind::ALL.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(names.len(), ErrorKind::ALL.len());
    }

    #[test]
    fn a_database_fault_is_a_server_error_not_a_missing_record() {
        let fault =
            StoreError::Backend(std::sync::Arc::new(std::io::Error::other("disk I/O error")));
        let error = ApiError::from(fault);
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.kind, ErrorKind::GeneralUnknown);
    }
}
