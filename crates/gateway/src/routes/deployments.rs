//! `/v1/functions/{functionId}/deployments`: upload a deployment (in one request, or in 5 MiB
//! chunks that may arrive concurrently and out of order), list, read, delete and download
//! deployments. The build itself runs in [`crate::build`].

mod upload;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use wafer_runtime::ArtifactHash;
use wafer_store::{Deployment as StoredDeployment, DeploymentStatus};

use crate::auth::Caller;
use crate::build;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::models::{Deployment, DeploymentList};
use crate::openapi::schemas::{
    self, BadRequest, DeploymentIdParam, FunctionIdParam, ListParams, NotFound, Unauthorized,
};
use crate::params::ListQuery;
use crate::routes::functions::find;
use crate::routes::no_content;
use crate::state::AppState;
use upload::{ChunkRange, Upload};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/functions/{function_id}/deployments",
            get(list).post(create),
        )
        .route(
            "/v1/functions/{function_id}/deployments/{deployment_id}",
            get(read).delete(remove),
        )
        .route(
            "/v1/functions/{function_id}/deployments/{deployment_id}/download",
            get(download),
        )
}

/// One request of an upload: the whole file, or one chunk of it.
#[utoipa::path(
    post,
    path = "/v1/functions/{functionId}/deployments",
    operation_id = "functionsCreateDeployment",
    tag = "deployments",
    summary = "Uploads a deployment, whole or one chunk of it.",
    description = "Uploads a deployment: a WASI 0.2 component (`.wasm`), or a `.tar.gz` holding \
        one. A file up to 5 MiB goes in one request. A larger one goes in 5 MiB chunks, each a \
        request with the same form and a `Content-Range` header; the first answer's `$id` goes \
        into the `x-appwrite-id` header of the others, which may arrive in any order and \
        concurrently. The build starts once every chunk has arrived.",
    security(("Project" = [], "Key" = ["functions.write"])),
    params(
        FunctionIdParam,
        ("Content-Range" = Option<String>, Header, nullable = false,
            description = "Chunked uploads: `bytes START-END/TOTAL` of this chunk; chunks are 5 MiB (the last one shorter) and start at multiples of 5 MiB."),
        ("x-appwrite-id" = Option<String>, Header, nullable = false,
            description = "Chunked uploads: the deployment ID the first chunk's answer returned; absent on the first chunk."),
    ),
    request_body(content = schemas::DeploymentUpload, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "The deployment: `waiting` for more chunks, or `processing` once the file is complete.", body = Deployment),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn create(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path(function_id): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let mut multipart = match multipart {
        Ok(multipart) => multipart,
        Err(rejection) => {
            let error = ApiError::invalid_argument(format!(
                "Expected a multipart/form-data body with the `code` file: {}.",
                rejection.body_text()
            ));
            return closing(error.into_response());
        }
    };
    match accept(&state, caller, &function_id, &headers, &mut multipart).await {
        Ok(deployment) => {
            (StatusCode::ACCEPTED, Json(Deployment::from(deployment))).into_response()
        }
        // A refused upload may still be arriving: read it out, so that the client (which
        // writes the whole body before reading) gets this answer instead of a reset
        // connection, and the connection stays usable.
        Err(error) if drain(&mut multipart).await => error.into_response(),
        Err(error) => closing(error.into_response()),
    }
}

async fn accept(
    state: &AppState,
    caller: Result<Caller, ApiError>,
    function_id: &str,
    headers: &HeaderMap,
    multipart: &mut Multipart,
) -> ApiResult<StoredDeployment> {
    let caller = caller?;
    caller.require("functions.write")?;
    let function = find(state.store.as_ref(), &caller.project_id, function_id).await?;
    let range = header_text(headers, "content-range")
        .map(ChunkRange::parse)
        .transpose()?;
    let (form, code) = upload::read_form(multipart).await?;
    let upload = Upload {
        state,
        function: &function,
        form,
    };
    match range {
        None => upload.whole(code).await,
        Some(range) => {
            let upload_id = header_text(headers, "x-appwrite-id");
            upload.chunk(range, upload_id, code).await
        }
    }
}

/// Reads and drops the rest of the body; false when it cannot be read to its end.
async fn drain(multipart: &mut Multipart) -> bool {
    loop {
        match multipart.next_field().await {
            Ok(Some(mut field)) => loop {
                match field.chunk().await {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => return false,
                }
            },
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}

/// Tells the client not to reuse a connection whose request body was left unread.
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

pub(crate) async fn remove_upload_dir(state: &AppState, deployment_id: &str) {
    let dir = build::upload_dir(state, deployment_id);
    if let Err(error) = tokio::fs::remove_dir_all(&dir).await
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(dir = %dir.display(), %error, "could not remove an upload directory");
    }
}

/// Lists a function's deployments.
#[utoipa::path(
    get,
    path = "/v1/functions/{functionId}/deployments",
    operation_id = "functionsListDeployments",
    tag = "deployments",
    security(("Project" = [], "Key" = ["functions.read"])),
    params(FunctionIdParam, ListParams),
    responses(
        (status = 200, description = "A page of deployments.", body = DeploymentList),
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
) -> ApiResult<Json<DeploymentList>> {
    caller.require("functions.read")?;
    find(state.store.as_ref(), &caller.project_id, &function_id).await?;
    let page = state
        .store
        .list_deployments(&caller.project_id, &function_id, &params)
        .await?;
    Ok(Json(page.into()))
}

/// The deployment, after checking its function exists (so that a wrong function id is
/// reported as such).
async fn find_deployment(
    state: &AppState,
    caller: &Caller,
    function_id: &str,
    deployment_id: &str,
) -> ApiResult<StoredDeployment> {
    find(state.store.as_ref(), &caller.project_id, function_id).await?;
    Ok(state
        .store
        .get_deployment(&caller.project_id, function_id, deployment_id)
        .await?)
}

/// Reads a deployment.
#[utoipa::path(
    get,
    path = "/v1/functions/{functionId}/deployments/{deploymentId}",
    operation_id = "functionsGetDeployment",
    tag = "deployments",
    security(("Project" = [], "Key" = ["functions.read"])),
    params(FunctionIdParam, DeploymentIdParam),
    responses(
        (status = 200, description = "The deployment.", body = Deployment),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path((function_id, deployment_id)): Path<(String, String)>,
) -> ApiResult<Json<Deployment>> {
    caller.require("functions.read")?;
    let deployment = find_deployment(&state, &caller, &function_id, &deployment_id).await?;
    Ok(Json(deployment.into()))
}

/// Deletes the record and the upload. The `.wasm` and compiled artifact stay: they are shared
/// by content hash with any other deployment of the same bytes.
#[utoipa::path(
    delete,
    path = "/v1/functions/{functionId}/deployments/{deploymentId}",
    operation_id = "functionsDeleteDeployment",
    tag = "deployments",
    summary = "Deletes a deployment.",
    description = "Deletes a deployment and its upload.",
    security(("Project" = [], "Key" = ["functions.write"])),
    params(FunctionIdParam, DeploymentIdParam),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path((function_id, deployment_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.require("functions.write")?;
    find(state.store.as_ref(), &caller.project_id, &function_id).await?;
    state
        .store
        .delete_deployment(&caller.project_id, &function_id, &deployment_id)
        .await?;
    remove_upload_dir(&state, &deployment_id).await;
    Ok(no_content())
}

/// `?type=source` (the file as uploaded, the default) or `?type=output` (the component).
#[utoipa::path(
    get,
    path = "/v1/functions/{functionId}/deployments/{deploymentId}/download",
    operation_id = "functionsGetDeploymentDownload",
    tag = "deployments",
    summary = "Downloads a deployment.",
    description = "Downloads a deployment: the file as uploaded, or the built component.",
    security(("Project" = [], "Key" = ["functions.read"])),
    params(
        FunctionIdParam,
        DeploymentIdParam,
        ("type" = Option<String>, Query,
            description = "`source` (the file as uploaded, the default) or `output` (the built component, once the deployment is ready)."),
    ),
    responses(
        (status = 200, description = "The file, as an attachment.", content_type = "application/octet-stream", body = schemas::Binary,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"ID.wasm\"` (or `ID.tar.gz`)."))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path((function_id, deployment_id)): Path<(String, String)>,
    uri: Uri,
) -> ApiResult<Response> {
    caller.require("functions.read")?;
    let kind = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(key, _)| key == "type")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| "source".to_owned());
    let deployment = find_deployment(&state, &caller, &function_id, &deployment_id).await?;
    match kind.as_str() {
        "source" => download_source(&state, &deployment).await,
        "output" => download_output(&state, &deployment).await,
        other => Err(ApiError::invalid_argument(format!(
            "Invalid `type` param: '{other}' is neither `source` nor `output`."
        ))),
    }
}

async fn download_source(state: &AppState, deployment: &StoredDeployment) -> ApiResult<Response> {
    let path = build::source_path(state, &deployment.id);
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::invalid_argument(format!(
                "Deployment '{}' has no complete upload yet ({} of {} chunks arrived).",
                deployment.id, deployment.chunks_uploaded, deployment.chunks_total
            )));
        }
        Err(error) => {
            return Err(ApiError::internal(format!(
                "Cannot read the upload: {error}"
            )));
        }
    };
    let extension = if bytes.starts_with(b"\0asm") {
        "wasm"
    } else {
        "tar.gz"
    };
    Ok(attachment(bytes, &format!("{}.{extension}", deployment.id)))
}

async fn download_output(state: &AppState, deployment: &StoredDeployment) -> ApiResult<Response> {
    // Parsing the id guarantees it names a file inside the artifact directory.
    let artifact = ArtifactHash::parse(&deployment.artifact_id)
        .filter(|_| deployment.status == DeploymentStatus::Ready)
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::BuildNotReady,
                format!(
                    "Deployment '{}' is {}; its output exists once the build is ready.",
                    deployment.id, deployment.status
                ),
            )
        })?;
    let path = state
        .config
        .data_dir
        .join("artifacts")
        .join(format!("{}.wasm", artifact.as_str()));
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|error| ApiError::internal(format!("Cannot read the built component: {error}")))?;
    Ok(attachment(bytes, &format!("{}.wasm", deployment.id)))
}

fn attachment(bytes: Vec<u8>, file_name: &str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    // Ids are `[a-zA-Z0-9._-]`, so the name needs no quoting rules beyond the quotes.
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
