//! `/v1/functions/{functionId}/variables`: a function's environment variables. A secret
//! variable's value reaches the function's environment but never an API response, and once a
//! variable is secret it stays secret (unsetting it would reveal the value).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;
use wafer_store::{Timestamp, Variable as StoredVariable};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::models::{Variable, VariableList};
use crate::openapi::schemas::{
    BadRequest, Conflict, FunctionIdParam, ListParams, NotFound, Unauthorized, VariableIdParam,
};
use crate::params::{JsonBody, ListQuery, MissingId, new_id};
use crate::routes::functions::find;
use crate::routes::no_content;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/functions/{function_id}/variables",
            get(list).post(create),
        )
        .route(
            "/v1/functions/{function_id}/variables/{variable_id}",
            get(read).put(update).delete(remove),
        )
}

/// Appwrite's limits: a key fits its key column, a value its 8 KiB text column.
const MAX_KEY_CHARS: usize = 255;
const MAX_VALUE_CHARS: usize = 8192;

/// A variable. Creating needs `key` and `value`; updating needs `key`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct VariableBody {
    /// Create only: the new variable's ID; generated when absent or `unique()`.
    #[schema(nullable = false)]
    variable_id: Option<String>,
    /// 1 to 255 characters.
    #[schema(nullable = false, required = true, max_length = 255)]
    key: Option<String>,
    /// At most 8192 characters; may be empty. Update: absent keeps the current value.
    #[schema(nullable = false, max_length = 8192)]
    value: Option<String>,
    /// Hide the value from API answers (default `true` on create). A secret stays secret.
    #[schema(nullable = false)]
    secret: Option<bool>,
}

fn checked_key(key: Option<String>) -> ApiResult<String> {
    let key = key.unwrap_or_default();
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
        return Err(ApiError::invalid_argument(format!(
            "Param `key` is required: 1 to {MAX_KEY_CHARS} characters."
        )));
    }
    Ok(key)
}

/// Every variable goes into each execution's environment: their number is capped.
async fn check_room(state: &AppState, project_id: &str, function_id: &str) -> ApiResult<()> {
    let max = state.config.function_caps.max_variables;
    let existing = state
        .store
        .function_variables(project_id, function_id)
        .await?
        .len();
    if existing >= max {
        return Err(ApiError::invalid_argument(format!(
            "Function '{function_id}' already has {existing} variables; at most {max} are \
             allowed (the server's max_variables)."
        )));
    }
    Ok(())
}

fn checked_value(value: String) -> ApiResult<String> {
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(ApiError::invalid_argument(format!(
            "Invalid `value` param: at most {MAX_VALUE_CHARS} characters."
        )));
    }
    Ok(value)
}

/// Creates a variable of a function.
#[utoipa::path(
    post,
    path = "/v1/functions/{functionId}/variables",
    operation_id = "functionsCreateVariable",
    tag = "variables",
    security(("Project" = [], "Key" = ["functions.write"])),
    params(FunctionIdParam),
    request_body = VariableBody,
    responses(
        (status = 201, description = "The new variable.", body = Variable),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(function_id): Path<String>,
    JsonBody(body): JsonBody<VariableBody>,
) -> ApiResult<(StatusCode, Json<Variable>)> {
    caller.require("functions.write")?;
    // Unlike a function's, a variable's ID may be left out.
    let id = new_id(
        "variableId",
        body.variable_id.as_deref(),
        MissingId::Generate,
    )?;
    let key = checked_key(body.key)?;
    // An empty value is allowed (Appwrite's too), a missing one is not.
    let value = body
        .value
        .ok_or_else(|| ApiError::invalid_argument("Param `value` is required."))
        .and_then(checked_value)?;
    find(state.store.as_ref(), &caller.project_id, &function_id).await?;
    check_room(&state, &caller.project_id, &function_id).await?;
    let variable = StoredVariable {
        id,
        project_id: caller.project_id.clone(),
        function_id,
        key,
        value,
        // Secret by default: a value is only shown when the caller asked for it explicitly.
        secret: body.secret.unwrap_or(true),
        created_at: Timestamp::default(),
        updated_at: Timestamp::default(),
    };
    let created = state
        .store
        .create_variable(&caller.project_id, variable)
        .await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Lists a function's variables.
#[utoipa::path(
    get,
    path = "/v1/functions/{functionId}/variables",
    operation_id = "functionsListVariables",
    tag = "variables",
    security(("Project" = [], "Key" = ["functions.read"])),
    params(FunctionIdParam, ListParams),
    responses(
        (status = 200, description = "A page of variables.", body = VariableList),
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
) -> ApiResult<Json<VariableList>> {
    caller.require("functions.read")?;
    // The store lists an unknown function's variables as empty; the API says 404.
    find(state.store.as_ref(), &caller.project_id, &function_id).await?;
    let page = state
        .store
        .list_variables(&caller.project_id, &function_id, &params)
        .await?;
    Ok(Json(page.into()))
}

/// The variable, after checking its function exists so each gets its own 404.
async fn load(
    state: &AppState,
    caller: &Caller,
    function_id: &str,
    variable_id: &str,
) -> ApiResult<StoredVariable> {
    find(state.store.as_ref(), &caller.project_id, function_id).await?;
    Ok(state
        .store
        .get_variable(&caller.project_id, function_id, variable_id)
        .await?)
}

/// Reads a variable.
#[utoipa::path(
    get,
    path = "/v1/functions/{functionId}/variables/{variableId}",
    operation_id = "functionsGetVariable",
    tag = "variables",
    security(("Project" = [], "Key" = ["functions.read"])),
    params(FunctionIdParam, VariableIdParam),
    responses(
        (status = 200, description = "The variable.", body = Variable),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path((function_id, variable_id)): Path<(String, String)>,
) -> ApiResult<Json<Variable>> {
    caller.require("functions.read")?;
    let variable = load(&state, &caller, &function_id, &variable_id).await?;
    Ok(Json(variable.into()))
}

/// Updates a variable.
#[utoipa::path(
    put,
    path = "/v1/functions/{functionId}/variables/{variableId}",
    operation_id = "functionsUpdateVariable",
    tag = "variables",
    security(("Project" = [], "Key" = ["functions.write"])),
    params(FunctionIdParam, VariableIdParam),
    request_body = VariableBody,
    responses(
        (status = 200, description = "The updated variable.", body = Variable),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((function_id, variable_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<VariableBody>,
) -> ApiResult<Json<Variable>> {
    caller.require("functions.write")?;
    let key = checked_key(body.key)?;
    let value = body.value.map(checked_value).transpose()?;
    let mut variable = load(&state, &caller, &function_id, &variable_id).await?;
    variable.secret = next_secret(variable.secret, body.secret)?;
    variable.key = key;
    if let Some(value) = value {
        variable.value = value;
    }
    let updated = state
        .store
        .update_variable(&caller.project_id, variable)
        .await?;
    Ok(Json(updated.into()))
}

/// A secret cannot become plain again: that would hand its value to anyone who can read.
fn next_secret(current: bool, requested: Option<bool>) -> ApiResult<bool> {
    match requested {
        Some(false) if current => Err(ApiError::new(
            ErrorKind::VariableCannotUnsetSecret,
            "This variable is secret; a secret variable cannot be made non-secret.",
        )),
        Some(secret) => Ok(secret),
        None => Ok(current),
    }
}

/// Deletes a variable.
#[utoipa::path(
    delete,
    path = "/v1/functions/{functionId}/variables/{variableId}",
    operation_id = "functionsDeleteVariable",
    tag = "variables",
    security(("Project" = [], "Key" = ["functions.write"])),
    params(FunctionIdParam, VariableIdParam),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path((function_id, variable_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    caller.require("functions.write")?;
    find(state.store.as_ref(), &caller.project_id, &function_id).await?;
    state
        .store
        .delete_variable(&caller.project_id, &function_id, &variable_id)
        .await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_stays_secret_and_a_plain_variable_may_become_secret() {
        assert_eq!(
            next_secret(true, Some(false)).map_err(|e| e.kind),
            Err(ErrorKind::VariableCannotUnsetSecret)
        );
        assert_eq!(next_secret(true, None).ok(), Some(true));
        assert_eq!(next_secret(false, Some(true)).ok(), Some(true));
        assert_eq!(next_secret(false, None).ok(), Some(false));
    }

    #[test]
    fn keys_must_be_present_and_at_most_255_characters() {
        assert!(checked_key(None).is_err());
        assert!(checked_key(Some(String::new())).is_err());
        assert!(checked_key(Some("k".repeat(MAX_KEY_CHARS))).is_ok());
        assert!(checked_key(Some("k".repeat(MAX_KEY_CHARS + 1))).is_err());
    }
}
