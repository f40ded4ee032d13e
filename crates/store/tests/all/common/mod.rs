//! Shared helpers for the store's integration tests: a store on a real SQLite file in a temporary
//! directory, and sample records.

use std::sync::Arc;

use serde_json::{Value, json};
use tempfile::TempDir;
use wafer_store::{
    Deployment, DeploymentStatus, Execution, ExecutionStatus, ExecutionTrigger, Function,
    ListParams, MetadataStore, SqliteStore, Timestamp, Variable,
};

pub type Store = Arc<dyn MetadataStore>;

pub const PROJECT: &str = "project-a";
pub const OTHER_PROJECT: &str = "project-b";

/// A fresh store with [`PROJECT`] and [`OTHER_PROJECT`]; keep the `TempDir` alive while using it.
pub async fn store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir).await;
    store
        .ensure_project(PROJECT, "Project A")
        .await
        .expect("project a");
    store
        .ensure_project(OTHER_PROJECT, "Project B")
        .await
        .expect("project b");
    (dir, store)
}

/// Opens (or reopens) the store file inside `dir`.
pub async fn open(dir: &TempDir) -> Store {
    let store = SqliteStore::open(dir.path().join("wafer.db"))
        .await
        .expect("open store");
    Arc::new(store)
}

pub fn function(id: &str) -> Function {
    Function {
        id: id.into(),
        name: format!("Function {id}"),
        runtime: "rust-1.95".into(),
        execute: vec!["any".into()],
        timeout: 15,
        enabled: true,
        logging: true,
        ..Function::default()
    }
}

pub fn deployment(function_id: &str, id: &str) -> Deployment {
    Deployment {
        id: id.into(),
        function_id: function_id.into(),
        entrypoint: "main.wasm".into(),
        source_size: 1024,
        status: DeploymentStatus::Waiting,
        ..Deployment::default()
    }
}

pub fn execution(function_id: &str, id: &str, created_ms: i64) -> Execution {
    Execution {
        id: id.into(),
        project_id: PROJECT.into(),
        function_id: function_id.into(),
        trigger: ExecutionTrigger::Http,
        status: ExecutionStatus::Completed,
        request_method: "POST".into(),
        request_path: "/".into(),
        request_headers: vec![("content-type".into(), "text/plain".into())],
        request_body: b"hello".to_vec(),
        response_status_code: 200,
        response_body: "ok".into(),
        duration: 0.25,
        created_at: Timestamp(created_ms),
        updated_at: Timestamp(created_ms),
        ..Execution::default()
    }
}

pub fn variable(function_id: &str, id: &str, key: &str) -> Variable {
    Variable {
        id: id.into(),
        function_id: function_id.into(),
        key: key.into(),
        value: format!("value of {key}"),
        secret: false,
        ..Variable::default()
    }
}

/// List params from JSON query objects, encoded as the SDKs send them.
pub fn queries(list: &[Value]) -> ListParams {
    ListParams::with_queries(list.iter().map(Value::to_string))
}

pub fn equal(attribute: &str, values: Value) -> Value {
    json!({"method": "equal", "attribute": attribute, "values": values})
}

pub fn limit(n: u32) -> Value {
    json!({"method": "limit", "values": [n]})
}

pub fn cursor_after(id: &str) -> Value {
    json!({"method": "cursorAfter", "values": [id]})
}

pub fn cursor_before(id: &str) -> Value {
    json!({"method": "cursorBefore", "values": [id]})
}

/// A query object with an attribute.
pub fn q(method: &str, attribute: &str, values: Value) -> Value {
    json!({"method": method, "attribute": attribute, "values": values})
}

/// A store with function `fn1` and six executions with varied attributes, created at 1 s, 2 s, … 6 s:
/// the fixture of the query tests.
pub async fn executions_fixture() -> (TempDir, Store) {
    let (dir, store) = store().await;
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    use ExecutionStatus::*;
    use ExecutionTrigger::*;
    let rows = [
        ("e1", Completed, Http, 200, 0.1, "GET", "/users?id=1", "d1"),
        ("e2", Completed, Schedule, 201, 0.5, "POST", "/", "d1"),
        ("e3", Failed, Http, 500, 1.5, "POST", "/Users/list", "d2"),
        ("e4", Failed, Event, 404, 2.0, "DELETE", "/100%_off", "d2"),
        ("e5", Waiting, Http, 0, 0.0, "PUT", "/a_b", ""),
        ("e6", Scheduled, Http, 0, 0.0, "GET", "/x", ""),
    ];
    for (n, (id, status, trigger, code, duration, method, path, dep)) in
        rows.into_iter().enumerate()
    {
        let created = (n as i64 + 1) * 1000;
        let e = Execution {
            status,
            trigger,
            response_status_code: code,
            duration,
            request_method: method.into(),
            request_path: path.into(),
            deployment_id: dep.into(),
            ..execution("fn1", id, created)
        };
        store.insert_execution(PROJECT, e).await.expect("insert");
    }
    (dir, store)
}

/// Ids of `fn1`'s executions matching `list`.
pub async fn execution_ids(store: &Store, list: &[Value]) -> Vec<String> {
    let page = store
        .list_executions(PROJECT, "fn1", &queries(list))
        .await
        .unwrap_or_else(|err| panic!("{list:?}: {err}"));
    page.items.into_iter().map(|e| e.id).collect()
}
