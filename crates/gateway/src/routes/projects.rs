//! `/v1/projects`: tenants. The `default` project is the operator's: a key of it with
//! `keys.write` creates projects and manages the keys of every project ([`super::keys`]). A key
//! of any other project only manages its own, so one tenant can never mint credentials for
//! another.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;
use wafer_store::Project as StoredProject;

use crate::auth::{Caller, DEFAULT_PROJECT};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::models::Project;
use crate::openapi::schemas::{BadRequest, Conflict, NotFound, ProjectIdParam, Unauthorized};
use crate::params::{JsonBody, MissingId, checked_name, new_id};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/projects", post(create))
        .route("/v1/projects/{project_id}", get(read))
}

/// Lets the caller act on `project_id` with `scope`: its own project always, any project when
/// it holds a key of the operator's `default` project. Another tenant's project is refused
/// before it is looked up, so a tenant cannot probe which projects exist.
pub async fn authorize(
    state: &AppState,
    caller: &Caller,
    project_id: &str,
    scope: &str,
) -> ApiResult<StoredProject> {
    caller.require(scope)?;
    if caller.project_id != DEFAULT_PROJECT && caller.project_id != project_id {
        return Err(ApiError::new(
            ErrorKind::GeneralUnauthorizedScope,
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
        .map_err(ApiError::from)
}

/// Only the operator (a key of the `default` project) creates projects.
fn require_operator(caller: &Caller, scope: &str) -> ApiResult<()> {
    caller.require(scope)?;
    if caller.project_id == DEFAULT_PROJECT {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorKind::GeneralUnauthorizedScope,
            format!("Only a key of the '{DEFAULT_PROJECT}' project can create projects."),
        ))
    }
}

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
async fn create(
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
            ErrorKind::ProjectAlreadyExists,
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
async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<String>,
) -> ApiResult<Json<Project>> {
    let project = authorize(&state, &caller, &project_id, "keys.read").await?;
    Ok(Json(project.into()))
}
