//! `/v1/projects/{projectId}/keys`: a project's API keys. Who may manage which project's keys
//! is [`super::projects::authorize`]'s to say; a key hands out only the scopes it holds.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;
use wafer_store::{Entity, Timestamp};

use crate::auth::{ALL_SCOPES, Caller, normalize_scope, random_secret};
use crate::error::{ApiError, ApiResult};
use crate::models::{Key, KeyList};
use crate::openapi::schemas::{
    BadRequest, Conflict, KeyIdParam, NotFound, ProjectIdParam, Unauthorized,
};
use crate::params::{JsonBody, checked_name};
use crate::routes::no_content;
use crate::routes::projects::authorize;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/projects/{project_id}/keys", get(list).post(create))
        .route("/v1/projects/{project_id}/keys/{key_id}", delete(remove))
}

/// A new API key.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct KeyBody {
    /// 1 to 128 characters.
    #[schema(nullable = false, required = true, max_length = 128)]
    name: Option<String>,
    /// Scopes the key grants, each held by the calling key: `functions.read`,
    /// `functions.write`, `executions.read`, `executions.write`, `keys.read`, `keys.write`,
    /// `users.write`.
    #[schema(nullable = false, required = true)]
    scopes: Option<Vec<String>>,
    /// ISO 8601 expiry date; absent or empty for a key that never expires.
    #[schema(nullable = false)]
    expire: Option<String>,
}

/// Normalizes the requested scopes (singular `execution.*` aliases become plural), drops
/// repeats, and refuses any scope wafer does not know.
fn checked_scopes(requested: Option<Vec<String>>) -> ApiResult<Vec<String>> {
    let requested =
        requested.ok_or_else(|| ApiError::invalid_argument("Param `scopes` is required."))?;
    let mut scopes: Vec<String> = Vec::with_capacity(requested.len());
    for scope in requested {
        let scope = normalize_scope(&scope);
        if !ALL_SCOPES.contains(&scope.as_str()) {
            return Err(ApiError::invalid_argument(format!(
                "Invalid `scopes` param: '{scope}' is not a scope (valid: {}).",
                ALL_SCOPES.join(", ")
            )));
        }
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    Ok(scopes)
}

/// An absent or empty `expire` means the key never expires. A past date is accepted (as by
/// Appwrite): such a key simply never authenticates.
fn checked_expire(raw: Option<&str>) -> ApiResult<Option<Timestamp>> {
    match raw.map(str::trim).filter(|raw| !raw.is_empty()) {
        None => Ok(None),
        Some(raw) => Timestamp::parse_rfc3339(raw).map(Some).ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "Invalid `expire` param: '{raw}' is not an ISO 8601 date."
            ))
        }),
    }
}

/// A key never outlives the key that creates it: without an expiry of its own it expires with
/// its creator, and a later one is refused.
fn within_lifetime(
    requested: Option<Timestamp>,
    creator: Option<Timestamp>,
) -> ApiResult<Option<Timestamp>> {
    let Some(creator) = creator else {
        return Ok(requested);
    };
    match requested {
        None => Ok(Some(creator)),
        Some(requested) if requested <= creator => Ok(Some(requested)),
        Some(requested) => Err(ApiError::invalid_argument(format!(
            "Invalid `expire` param: {} is after {}, when the key creating it expires; a key \
             cannot outlive the key that creates it.",
            requested.to_rfc3339(),
            creator.to_rfc3339()
        ))),
    }
}

/// Creates an API key of a project; the key can grant only scopes the caller holds, and
/// expires no later than the caller's key.
#[utoipa::path(
    post,
    path = "/v1/projects/{projectId}/keys",
    operation_id = "projectsCreateKey",
    tag = "keys",
    security(("Project" = [], "Key" = ["keys.write"])),
    params(ProjectIdParam),
    request_body = KeyBody,
    responses(
        (status = 201, description = "The new key, with its `secret` (shown only here).", body = Key),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<String>,
    JsonBody(body): JsonBody<KeyBody>,
) -> ApiResult<(StatusCode, Json<Key>)> {
    authorize(&state, &caller, &project_id, "keys.write").await?;
    let name = checked_name(body.name)?;
    let scopes = checked_scopes(body.scopes)?;
    // A key can hand out only what it holds: no escalation through key creation.
    caller.require_all(scopes.iter().map(String::as_str))?;
    let expire = within_lifetime(checked_expire(body.expire.as_deref())?, caller.key_expiry())?;
    let secret = random_secret()?;
    let key = state
        .store
        .create_api_key(&project_id, &name, &scopes, &secret, expire)
        .await?;
    Ok((StatusCode::CREATED, Json(Key::created(key, secret))))
}

/// Lists a project's API keys, without their secrets.
#[utoipa::path(
    get,
    path = "/v1/projects/{projectId}/keys",
    operation_id = "projectsListKeys",
    tag = "keys",
    security(("Project" = [], "Key" = ["keys.read"])),
    params(ProjectIdParam),
    responses(
        (status = 200, description = "The keys.", body = KeyList),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<String>,
) -> ApiResult<Json<KeyList>> {
    authorize(&state, &caller, &project_id, "keys.read").await?;
    let keys = state.store.list_api_keys(&project_id).await?;
    Ok(Json(keys.into()))
}

/// Deletes an API key; the caller must hold every scope of the key it deletes.
#[utoipa::path(
    delete,
    path = "/v1/projects/{projectId}/keys/{keyId}",
    operation_id = "projectsDeleteKey",
    tag = "keys",
    security(("Project" = [], "Key" = ["keys.write"])),
    params(ProjectIdParam, KeyIdParam),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, key_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    authorize(&state, &caller, &project_id, "keys.write").await?;
    let keys = state.store.list_api_keys(&project_id).await?;
    let key = keys
        .iter()
        .find(|key| key.id == key_id)
        .ok_or_else(|| ApiError::not_found(Entity::ApiKey, &key_id))?;
    // A key removes only keys no stronger than itself: never the admin key that made it.
    caller.require_all(key.scopes.iter().map(String::as_str))?;
    state.store.delete_api_key(&project_id, &key_id).await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_normalized_deduplicated_and_checked() {
        let scopes = checked_scopes(Some(vec![
            "execution.read".into(),
            "executions.read".into(),
            "functions.read".into(),
        ]));
        assert_eq!(
            scopes.ok(),
            Some(vec![
                "executions.read".to_owned(),
                "functions.read".to_owned()
            ])
        );
        assert!(checked_scopes(Some(vec!["databases.read".into()])).is_err());
        assert!(checked_scopes(None).is_err());
    }

    #[test]
    fn an_expiry_is_an_iso_date_or_nothing() {
        assert_eq!(checked_expire(None).ok(), Some(None));
        assert_eq!(checked_expire(Some("")).ok(), Some(None));
        assert!(matches!(
            checked_expire(Some("2030-01-01T00:00:00.000+00:00")),
            Ok(Some(_))
        ));
        assert!(checked_expire(Some("tomorrow")).is_err());
    }
}
