//! The document's shape, and the models' schemas held to what they render: every field
//! present and required (no field skipped or optional by accident).

use std::collections::BTreeSet;

use axum::response::IntoResponse;
use serde::Serialize;
use serde_json::Value;
use wafer_store::{
    ApiKey, Deployment, DeploymentStatus, Execution, ExecutionStatus, ExecutionTrigger, Function,
    Page, Project, Timestamp, Variable,
};

use super::*;
use crate::error::ApiError;
use crate::models;

fn document() -> Value {
    serde_json::to_value(ApiDoc::openapi()).expect("the document serializes")
}

fn schema(name: &str) -> Value {
    document()["components"]["schemas"][name].clone()
}

fn keys(object: &Value) -> BTreeSet<String> {
    object
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {object}"))
        .keys()
        .cloned()
        .collect()
}

fn render(model: impl Serialize) -> Value {
    serde_json::to_value(model).expect("the model serializes")
}

/// Fails unless `rendered` has exactly the properties of the schema `name`, all of them
/// required (every model always renders every field).
fn assert_renders_schema(name: &str, rendered: &Value) {
    let schema = schema(name);
    let properties = keys(&schema["properties"]);
    assert_eq!(
        keys(rendered),
        properties,
        "the `{name}` model and its schema list different fields"
    );
    let required: BTreeSet<String> = schema["required"]
        .as_array()
        .unwrap_or_else(|| panic!("`{name}` lists no required fields"))
        .iter()
        .map(|field| field.as_str().expect("a field name").to_owned())
        .collect();
    assert_eq!(
        required, properties,
        "`{name}`: every field is always present"
    );
}

fn enum_values(name: &str) -> BTreeSet<String> {
    schema(name)["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("`{name}` is not an enum"))
        .iter()
        .map(|value| value.as_str().expect("a string").to_owned())
        .collect()
}

#[test]
fn the_document_names_wafer_and_its_version() {
    let document = document();
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3."))
    );
    assert_eq!(document["info"]["title"], "wafer");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    let description = document["info"]["description"].as_str().unwrap_or_default();
    assert!(
        description.contains(&format!("Appwrite API {}", crate::API_VERSION)),
        "the description names another Appwrite API version: {description}"
    );
    for scheme in ["Project", "Key", "JWT"] {
        assert_eq!(
            document["components"]["securitySchemes"][scheme]["type"],
            "apiKey"
        );
    }
}

#[test]
fn operation_ids_are_unique() {
    let document = document();
    let mut seen = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let id = operation["operationId"].as_str().expect("an operation id");
            assert!(
                seen.insert(id.to_owned()),
                "{method} {path}: `{id}` repeats"
            );
        }
    }
}

#[test]
fn the_function_schema_matches_the_model() {
    let function = Function {
        fuel: Some(1),
        ..Function::default()
    };
    let rendered = render(models::Function::new(function, vec![Variable::default()]));
    assert_renders_schema("Function", &rendered);
    assert_renders_schema("Variable", &rendered["vars"][0]);
    let list = render(models::FunctionList {
        total: 1,
        functions: vec![models::Function::new(Function::default(), Vec::new())],
    });
    assert_renders_schema("FunctionList", &list);
}

#[test]
fn the_deployment_schema_matches_the_model() {
    let page = Page {
        total: 1,
        items: vec![Deployment::default()],
    };
    let list = render(models::DeploymentList::from(page));
    assert_renders_schema("DeploymentList", &list);
    assert_renders_schema("Deployment", &list["deployments"][0]);
}

#[test]
fn the_execution_schema_matches_the_model() {
    let execution = Execution {
        request_headers: vec![("accept".into(), "*/*".into())],
        ..Execution::default()
    };
    let page = Page {
        total: 1,
        items: vec![execution],
    };
    let list = render(models::ExecutionList::new(page, true));
    assert_renders_schema("ExecutionList", &list);
    let rendered = &list["executions"][0];
    assert_renders_schema("Execution", rendered);
    assert_renders_schema("Header", &rendered["requestHeaders"][0]);
}

#[test]
fn the_variable_schema_matches_the_model() {
    let page = Page {
        total: 1,
        items: vec![Variable::default()],
    };
    let list = render(models::VariableList::from(page));
    assert_renders_schema("VariableList", &list);
    assert_renders_schema("Variable", &list["variables"][0]);
}

#[test]
fn the_catalogue_schemas_match_the_catalogues() {
    let runtimes = render(models::RuntimeList::all());
    assert_renders_schema("RuntimeList", &runtimes);
    assert_renders_schema("Runtime", &runtimes["runtimes"][0]);
    let specifications = render(models::SpecificationList::all());
    assert_renders_schema("SpecificationList", &specifications);
    assert_renders_schema("Specification", &specifications["specifications"][0]);
}

#[test]
fn the_project_key_and_jwt_schemas_match_their_models() {
    let project = Project {
        id: "p".into(),
        name: "P".into(),
        created_at: Timestamp::default(),
        updated_at: Timestamp::default(),
    };
    assert_renders_schema("Project", &render(models::Project::from(project)));
    let key = ApiKey {
        id: "k".into(),
        project_id: "p".into(),
        name: "K".into(),
        scopes: vec!["functions.read".into()],
        secret_hash: String::new(),
        created_at: Timestamp::default(),
        expire: None,
        last_used: None,
    };
    assert_renders_schema(
        "Key",
        &render(models::Key::created(key.clone(), "s".into())),
    );
    let list = render(models::KeyList::from(vec![key]));
    assert_renders_schema("KeyList", &list);
    assert_renders_schema("Key", &list["keys"][0]);
    let jwt = models::Jwt {
        jwt: "token".into(),
    };
    assert_renders_schema("Jwt", &render(jwt));
}

#[tokio::test]
async fn the_error_schema_matches_an_error_body() {
    let response = ApiError::route_not_found().into_response();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("the body");
    let rendered: Value = serde_json::from_slice(&body).expect("JSON");
    assert_renders_schema("Error", &rendered);
}

/// The spellings of every variant of a store enum; the `match` stops compiling when a variant
/// is added, so the list (and the schema) cannot silently fall behind.
macro_rules! spellings {
    ($enum:ident: $($variant:ident),+ $(,)?) => {{
        let all = [$($enum::$variant),+];
        for value in all {
            match value {
                $($enum::$variant)|+ => {}
            }
        }
        all.iter().map(|value| value.as_str().to_owned()).collect::<BTreeSet<String>>()
    }};
}

#[test]
fn status_and_trigger_enums_match_the_store() {
    assert_eq!(
        enum_values("DeploymentStatus"),
        spellings!(DeploymentStatus: Waiting, Processing, Building, Ready, Canceled, Failed)
    );
    assert_eq!(
        enum_values("ExecutionStatus"),
        spellings!(ExecutionStatus: Waiting, Processing, Completed, Failed, Scheduled)
    );
    assert_eq!(
        enum_values("ExecutionTrigger"),
        spellings!(ExecutionTrigger: Http, Schedule, Event)
    );
}
