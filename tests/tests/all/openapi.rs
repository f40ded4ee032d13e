//! The OpenAPI document at `/v1/openapi.json`: served without credentials, a valid OpenAPI 3
//! document, listing every route the router serves (and only those) with their methods, with
//! every `$ref` resolving. When PyPI's `openapi-spec-validator` is installed, it validates the
//! document against the OpenAPI schema too.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use wafer_e2e::TestServer;

/// Every route the gateway serves, with its methods: the `/v1` API, the document itself, and
/// the function route.
const ROUTES: &[(&str, &[&str])] = &[
    ("/v1/functions", &["get", "post"]),
    ("/v1/functions/{functionId}", &["get", "put", "delete"]),
    ("/v1/functions/{functionId}/deployment", &["patch"]),
    ("/v1/functions/{functionId}/deployments", &["get", "post"]),
    (
        "/v1/functions/{functionId}/deployments/{deploymentId}",
        &["get", "delete"],
    ),
    (
        "/v1/functions/{functionId}/deployments/{deploymentId}/download",
        &["get"],
    ),
    ("/v1/functions/{functionId}/executions", &["get", "post"]),
    (
        "/v1/functions/{functionId}/executions/{executionId}",
        &["get", "delete"],
    ),
    ("/v1/functions/{functionId}/variables", &["get", "post"]),
    (
        "/v1/functions/{functionId}/variables/{variableId}",
        &["get", "put", "delete"],
    ),
    ("/v1/functions/runtimes", &["get"]),
    ("/v1/functions/specifications", &["get"]),
    ("/v1/projects", &["post"]),
    ("/v1/projects/{projectId}", &["get"]),
    ("/v1/projects/{projectId}/keys", &["get", "post"]),
    ("/v1/projects/{projectId}/keys/{keyId}", &["delete"]),
    ("/v1/users/{userId}/jwts", &["post"]),
    ("/v1/openapi.json", &["get"]),
    (
        "/fn/{functionId}/{path}",
        &["get", "post", "put", "patch", "delete", "head"],
    ),
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn fetch_document(server: &TestServer) -> (Vec<u8>, Value) {
    // No project, key or JWT: the document is public.
    let reply = server
        .send(server.http.get(server.url("/v1/openapi.json")))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "content type {content_type}"
    );
    let json = reply.json();
    (reply.body, json)
}

/// The `(path, method)` pairs the document describes.
fn documented(document: &openapiv3::OpenAPI) -> BTreeMap<String, BTreeSet<String>> {
    document
        .paths
        .paths
        .iter()
        .map(|(path, item)| {
            let item = item.as_item().unwrap_or_else(|| panic!("{path} is a $ref"));
            let methods = item.iter().map(|(method, _)| method.to_owned()).collect();
            (path.clone(), methods)
        })
        .collect()
}

/// Every `"$ref"` in `value`, with where it was found.
fn refs<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object {
                if key == "$ref"
                    && let Some(target) = inner.as_str()
                {
                    found.push((at.clone(), target));
                }
                refs(inner, format!("{at}/{key}"), found);
            }
        }
        Value::Array(items) => {
            for (index, inner) in items.iter().enumerate() {
                refs(inner, format!("{at}/{index}"), found);
            }
        }
        _ => {}
    }
}

fn template_params(path: &str) -> BTreeSet<String> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_and_lists_every_route() {
    let server = TestServer::start().await;
    let (raw, json) = fetch_document(&server).await;

    // The structure: openapiv3 refuses a document missing or mistyping any required part
    // (info, paths, operations, parameters, responses, components, security schemes).
    let document: openapiv3::OpenAPI =
        serde_json::from_slice(&raw).expect("the document parses as an OpenAPI 3 document");
    assert!(
        document.openapi.starts_with("3."),
        "openapi version {}",
        document.openapi
    );
    assert_eq!(document.info.title, "wafer");
    assert!(!document.info.version.is_empty());

    // Exactly the routes the router serves, with their methods.
    let expected: BTreeMap<String, BTreeSet<String>> = ROUTES
        .iter()
        .map(|(path, methods)| {
            let methods = methods.iter().map(|m| (*m).to_owned()).collect();
            ((*path).to_owned(), methods)
        })
        .collect();
    assert_eq!(documented(&document), expected);

    // Every `$ref` points into the document and resolves.
    let mut found = Vec::new();
    refs(&json, String::from("#"), &mut found);
    assert!(found.len() > 50, "only {} references", found.len());
    for (at, target) in found {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{at}: external reference {target}"));
        assert!(
            json.pointer(pointer).is_some(),
            "{at}: {target} does not resolve"
        );
    }

    let schemes: BTreeSet<&String> = document
        .components
        .as_ref()
        .expect("components")
        .security_schemes
        .keys()
        .collect();
    assert_eq!(
        schemes,
        ["JWT", "Key", "Project"]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .iter()
            .collect()
    );
    let mut operation_ids = BTreeSet::new();
    for (path, item) in &document.paths.paths {
        let item = item.as_item().expect("a path item");
        for (method, operation) in item.iter() {
            let id = operation.operation_id.clone().expect("an operation id");
            assert!(operation_ids.insert(id.clone()), "{id} repeats");
            assert!(
                !operation.responses.responses.is_empty() || operation.responses.default.is_some()
            );
            // Path parameters are exactly the template's.
            let declared: BTreeSet<String> = operation
                .parameters
                .iter()
                .filter_map(|parameter| match parameter.as_item()? {
                    openapiv3::Parameter::Path { parameter_data, .. } => {
                        Some(parameter_data.name.clone())
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(declared, template_params(path), "{method} {path}");
            // The API needs credentials (the document and the public function route do not),
            // and names only schemes the document defines.
            let security = operation.security.clone().unwrap_or_default();
            if path.starts_with("/v1/") && path != "/v1/openapi.json" {
                assert!(!security.is_empty(), "{method} {path} has no security");
            }
            for requirement in &security {
                for scheme in requirement.keys() {
                    assert!(
                        schemes.contains(scheme),
                        "{method} {path}: unknown {scheme}"
                    );
                }
            }
        }
    }

    validate_with_openapi_spec_validator(&raw, &server);
    server.server.shutdown().await;
}

/// Each documented operation reaches a handler: the router neither answers 405 nor says the
/// route does not exist (nonexistent ids give the resource's own 404 or an argument error).
#[tokio::test]
async fn every_documented_operation_is_served() {
    let server = TestServer::start().await;
    let (raw, _) = fetch_document(&server).await;
    let document: openapiv3::OpenAPI = serde_json::from_slice(&raw).expect("OpenAPI 3");
    for (template, methods) in documented(&document) {
        let path = template
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "openapi-probe"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in methods {
            assert!(METHODS.contains(&method.as_str()));
            let verb = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
            let mut request = server.admin(verb.clone(), &path);
            if matches!(verb, Method::POST | Method::PUT | Method::PATCH) {
                request = request
                    .header("content-type", "application/json")
                    .body("{}");
            }
            let reply = server.send(request).await;
            assert_ne!(
                reply.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {template}"
            );
            if verb != Method::HEAD {
                assert_ne!(
                    reply.error_type(),
                    "general_route_not_found",
                    "{method} {template}: {}",
                    reply.text()
                );
            }
        }
    }
    server.server.shutdown().await;
}

/// A second, independent validator: PyPI's `openapi-spec-validator`, installed into
/// `tests/tools/.venv` by `scripts/install-sdk-clients.sh`, checks the document against the
/// OpenAPI 3.1 JSON schema. In CI it must be there; a developer who has not run the script is
/// told so and the check is skipped.
fn validate_with_openapi_spec_validator(raw: &[u8], server: &TestServer) {
    let python = wafer_testkit::repo_root().join("tests/tools/.venv/bin/python");
    let available = std::process::Command::new(&python)
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !available {
        assert!(
            std::env::var("CI").is_err(),
            "openapi-spec-validator is missing from tests/tools/.venv: run scripts/install-sdk-clients.sh"
        );
        eprintln!(
            "openapi-spec-validator is not installed (scripts/install-sdk-clients.sh): skipping that validation"
        );
        return;
    }
    let file = server.data_dir().join("openapi.json");
    std::fs::write(&file, raw).expect("the document is written");
    let output = std::process::Command::new(&python)
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("openapi-spec-validator runs");
    assert!(
        output.status.success(),
        "openapi-spec-validator refused the document:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
