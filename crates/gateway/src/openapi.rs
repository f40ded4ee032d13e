//! The OpenAPI 3.1 document of the API, served at `GET /v1/openapi.json`.
//!
//! It is generated, not kept by hand: every handler carries a `#[utoipa::path(...)]`
//! annotation next to its code (method, path, parameters, body, responses, security), the
//! request bodies derive their schemas from the structs the handlers parse, and the response
//! models from the [`crate::models`] types the handlers return. [`schemas`] holds the rest:
//! parameters, the error body and responses, the upload form. Paths are absolute (`/v1/...`,
//! `/fn/...`), so the document declares no server prefix.

pub mod schemas;

use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;
use schemas::{BadRequest, Conflict, Error, Forbidden, NotFound, TooManyRequests, Unauthorized};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "wafer",
        description = "An Appwrite-compatible Functions API (Appwrite API 1.9.0) that runs \
            WebAssembly components. Authenticate with `X-Appwrite-Project` plus an API key \
            (`X-Appwrite-Key`) or a user JWT (`X-Appwrite-JWT`); each operation's security \
            lists the key scopes it needs.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        routes::functions::list,
        routes::functions::create,
        routes::functions::runtimes,
        routes::functions::specifications,
        routes::functions::read,
        routes::functions::update,
        routes::functions::remove,
        routes::functions::set_active_deployment,
        routes::deployments::create,
        routes::deployments::list,
        routes::deployments::read,
        routes::deployments::remove,
        routes::deployments::download,
        routes::executions::create,
        routes::executions::list,
        routes::executions::read,
        routes::executions::remove,
        routes::variables::create,
        routes::variables::list,
        routes::variables::read,
        routes::variables::update,
        routes::variables::remove,
        routes::projects::create,
        routes::projects::read,
        routes::keys::list,
        routes::keys::create,
        routes::keys::remove,
        routes::users::create_jwt,
        routes::http::by_path,
        document,
    ),
    components(
        schemas(Error),
        responses(BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooManyRequests),
    ),
    modifiers(&SecuritySchemes, &FunctionRouteOperationIds),
    tags(
        (name = "functions", description = "Functions, their active deployment, and the runtime and specification catalogues."),
        (name = "deployments", description = "Uploading (whole or in chunks), reading, deleting and downloading deployments."),
        (name = "executions", description = "Running functions (sync, async or scheduled) and their execution records."),
        (name = "variables", description = "A function's environment variables."),
        (name = "projects", description = "Tenants; only the operator's `default` project creates them."),
        (name = "keys", description = "A project's API keys."),
        (name = "users", description = "User JWTs, minted by a server for its users."),
        (name = "http", description = "Plain HTTP to a public function."),
        (name = "meta", description = "This document."),
    ),
)]
pub struct ApiDoc;

/// The three credentials of Appwrite's API, all headers.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let schemes = [
            (
                "Project",
                "X-Appwrite-Project",
                "The project ID; requests without it go to the `default` project.",
            ),
            (
                "Key",
                "X-Appwrite-Key",
                "An API key secret of the project. An operation's security requirement lists the \
                 scopes the key must hold.",
            ),
            (
                "JWT",
                "X-Appwrite-JWT",
                "A user JWT minted by `POST /v1/users/{userId}/jwts`: the request acts as that \
                 user.",
            ),
        ];
        for (name, header, description) in schemes {
            components.add_security_scheme(
                name,
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    header,
                    description,
                ))),
            );
        }
    }
}

/// The function route answers every method with one handler, so utoipa gives each method's
/// operation the handler's id; operation ids must be unique, so each gets its method appended.
struct FunctionRouteOperationIds;

impl Modify for FunctionRouteOperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let path = <routes::http::__path_by_path as utoipa::Path>::path();
        let Some(item) = openapi.paths.paths.get_mut(&path) else {
            return;
        };
        let operations = [
            ("Get", &mut item.get),
            ("Post", &mut item.post),
            ("Put", &mut item.put),
            ("Patch", &mut item.patch),
            ("Delete", &mut item.delete),
            ("Head", &mut item.head),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                let id = operation.operation_id.take().unwrap_or_default();
                operation.operation_id = Some(format!("{id}{method}"));
            }
        }
    }
}

/// The document, rendered once.
static DOCUMENT: LazyLock<Bytes> = LazyLock::new(|| {
    let json = ApiDoc::openapi()
        .to_json()
        .expect("the OpenAPI document serializes to JSON");
    Bytes::from(json)
});

/// The OpenAPI document of this API.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    operation_id = "openapiGet",
    tag = "meta",
    responses(
        (status = 200, description = "This OpenAPI 3.1 document.", content_type = "application/json", body = Object),
    ),
)]
pub async fn document() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        DOCUMENT.clone(),
    )
        .into_response()
}

#[cfg(test)]
pub(crate) mod tests;
