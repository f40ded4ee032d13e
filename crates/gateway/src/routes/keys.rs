//! Tenancy and credentials: projects (`/v1/projects`), their API keys
//! (`/v1/projects/{projectId}/keys`) and user JWTs (`/v1/users/{userId}/jwts`).
//!
//! The `default` project is the operator's: a key of it with `keys.write` creates projects and
//! manages the keys of every project. A key of any other project only manages its own keys, so
//! one tenant can never mint credentials for another.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;
use wafer_store::{Project as StoredProject, Timestamp};

use crate::auth::{ALL_SCOPES, Caller, DEFAULT_PROJECT, mint_jwt, normalize_scope, random_secret};
use crate::error::{ApiError, ApiResult};
use crate::models::{Jwt, Key, KeyList, Project};
use crate::openapi::schemas::{
    BadRequest, Conflict, KeyIdParam, NotFound, ProjectIdParam, Unauthorized, UserIdParam,
};
use crate::params::{JsonBody, MissingId, checked_id, checked_name, new_id};
use crate::routes::no_content;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/projects", post(create_project))
        .route("/v1/projects/{project_id}", get(read_project))
        .route(
            "/v1/projects/{project_id}/keys",
            get(list_keys).post(create_key),
        )
        .route(
            "/v1/projects/{project_id}/keys/{key_id}",
            delete(delete_key),
        )
        .route("/v1/users/{user_id}/jwts", post(create_jwt))
}

const DEFAULT_JWT_SECONDS: u64 = 900;
const MAX_JWT_SECONDS: u64 = 3600;

// ----- authorization -----

/// Lets the caller act on `project_id` with `scope`: its own project always, any project when
/// it holds a key of the operator's `default` project. Another tenant's project is refused
/// before it is looked up, so a tenant cannot probe which projects exist.
async fn authorize(
    state: &AppState,
    caller: &Caller,
    project_id: &str,
    scope: &str,
) -> ApiResult<StoredProject> {
    caller.require(scope)?;
    if caller.project_id != DEFAULT_PROJECT && caller.project_id != project_id {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "general_unauthorized_scope",
            format!(
                "A key of project '{}' cannot manage project '{project_id}'.",
                caller.project_id
            ),
        ));
    }
    state
        .store
        .get_project(project_id)
        .await
        .map_err(|_| project_not_found(project_id))
}

/// Only the operator (a key of the `default` project) creates projects.
fn require_operator(caller: &Caller, scope: &str) -> ApiResult<()> {
    caller.require(scope)?;
    if caller.project_id == DEFAULT_PROJECT {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "general_unauthorized_scope",
            format!("Only a key of the '{DEFAULT_PROJECT}' project can create projects."),
        ))
    }
}

fn project_not_found(project_id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "project_not_found",
        format!("Project with the requested ID '{project_id}' could not be found."),
    )
}

// ----- projects -----

/// A new project.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ProjectBody {
    /// The new project's ID, or `unique()` for a generated one.
    #[schema(nullable = false, required = true)]
    project_id: Option<String>,
    /// 1 to 128 characters.
    #[schema(nullable = false, required = true, max_length = 128)]
    name: Option<String>,
}

/// Creates a project; only a key of the operator's `default` project may.
#[utoipa::path(
    post,
    path = "/v1/projects",
    operation_id = "projectsCreate",
    tag = "projects",
    security(("Project" = [], "Key" = ["keys.write"])),
    request_body = ProjectBody,
    responses(
        (status = 201, description = "The new project.", body = Project),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
async fn create_project(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<ProjectBody>,
) -> ApiResult<(StatusCode, Json<Project>)> {
    require_operator(&caller, "keys.write")?;
    let id = new_id("projectId", body.project_id.as_deref(), MissingId::Refuse)?;
    let name = checked_name(body.name)?;
    // `ensure_project` keeps an existing project as it is; creating one twice is a conflict
    // here, as in Appwrite, so a typo cannot silently reuse another tenant's project.
    if state.store.get_project(&id).await.is_ok() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "project_already_exists",
            format!("Project with the requested ID '{id}' already exists."),
        ));
    }
    let project = state.store.ensure_project(&id, &name).await?;
    Ok((StatusCode::CREATED, Json(project.into())))
}

/// Reads a project: the caller's own, or any for a key of the `default` project.
#[utoipa::path(
    get,
    path = "/v1/projects/{projectId}",
    operation_id = "projectsGet",
    tag = "projects",
    security(("Project" = [], "Key" = ["keys.read"])),
    params(ProjectIdParam),
    responses(
        (status = 200, description = "The project.", body = Project),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn read_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<String>,
) -> ApiResult<Json<Project>> {
    let project = authorize(&state, &caller, &project_id, "keys.read").await?;
    Ok(Json(project.into()))
}

// ----- API keys -----

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

/// Creates an API key of a project; the key can grant only scopes the caller holds.
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
async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<String>,
    JsonBody(body): JsonBody<KeyBody>,
) -> ApiResult<(StatusCode, Json<Key>)> {
    authorize(&state, &caller, &project_id, "keys.write").await?;
    let name = checked_name(body.name)?;
    let scopes = checked_scopes(body.scopes)?;
    // A key can hand out only what it holds: no escalation through key creation.
    for scope in &scopes {
        caller.require(scope)?;
    }
    let expire = checked_expire(body.expire.as_deref())?;
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
async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<String>,
) -> ApiResult<Json<KeyList>> {
    authorize(&state, &caller, &project_id, "keys.read").await?;
    let keys = state.store.list_api_keys(&project_id).await?;
    Ok(Json(keys.into()))
}

/// Deletes an API key.
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
async fn delete_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, key_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    authorize(&state, &caller, &project_id, "keys.write").await?;
    state.store.delete_api_key(&project_id, &key_id).await?;
    Ok(no_content())
}

// ----- user JWTs -----

/// Appwrite's body also has `sessionId`; wafer has no sessions to bind a token to, so it is
/// accepted and ignored (serde skips unknown fields).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct JwtBody {
    /// Seconds the token is valid, at most 3600 (default 900).
    #[schema(nullable = false, maximum = 3600)]
    duration: Option<u64>,
}

fn checked_duration(duration: Option<u64>) -> ApiResult<u64> {
    let seconds = duration.unwrap_or(DEFAULT_JWT_SECONDS);
    if seconds > MAX_JWT_SECONDS {
        return Err(ApiError::invalid_argument(format!(
            "Invalid `duration` param: at most {MAX_JWT_SECONDS} seconds."
        )));
    }
    Ok(seconds)
}

/// Appwrite's `users.createJWT`: a server (holding `users.write`) vouches for one of its users,
/// who can then call the API as that user (`X-Appwrite-JWT`) within the caller's project.
#[utoipa::path(
    post,
    path = "/v1/users/{userId}/jwts",
    operation_id = "usersCreateJWT",
    tag = "users",
    summary = "Mints a user JWT.",
    description = "Mints a JWT for a user of the caller's project, to send as `X-Appwrite-JWT`. \
        Appwrite's `sessionId` is accepted and ignored.",
    security(("Project" = [], "Key" = ["users.write"])),
    params(UserIdParam),
    request_body = JwtBody,
    responses(
        (status = 201, description = "The token.", body = Jwt),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn create_jwt(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    JsonBody(body): JsonBody<JwtBody>,
) -> ApiResult<(StatusCode, Json<Jwt>)> {
    caller.require("users.write")?;
    // User ids end up in roles (`user:ID`) and permissions; keep them to the id alphabet.
    checked_id("userId", &user_id)?;
    let seconds = checked_duration(body.duration)?;
    let jwt = mint_jwt(&state.jwt_secret, &caller.project_id, &user_id, seconds)?;
    Ok((StatusCode::CREATED, Json(Jwt { jwt })))
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

    #[test]
    fn jwt_durations_default_to_15_minutes_and_stop_at_an_hour() {
        assert_eq!(checked_duration(None).ok(), Some(900));
        assert_eq!(checked_duration(Some(3600)).ok(), Some(3600));
        assert!(checked_duration(Some(3601)).is_err());
    }
}
