//! Opening, migrating, reopening, and what survives a restart.

use crate::common::{self, PROJECT, deployment, execution, function, variable};
use wafer_store::{
    DeploymentStatus, ExecutionStatus, ListParams, SqliteStore, StoreError, Timestamp, WriterConfig,
};

fn user_version(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("open raw connection");
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("user_version")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_on_a_fresh_file_and_are_idempotent_on_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fresh.db");
    let store = SqliteStore::open(&path).await.expect("first open");
    assert!(path.exists());
    assert_eq!(store.path(), path.as_path());
    drop(store);
    let version = user_version(&path);
    assert!(version >= 1, "schema version is {version}");

    let reopened = SqliteStore::open(&path).await.expect("second open");
    drop(reopened);
    assert_eq!(user_version(&path), version, "reopening changes nothing");

    let conn = rusqlite::Connection::open(&path).expect("raw connection");
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .expect("journal mode");
    assert_eq!(mode, "wal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("future.db");
    drop(SqliteStore::open(&path).await.expect("open"));
    let conn = rusqlite::Connection::open(&path).expect("raw connection");
    conn.pragma_update(None, "user_version", 999)
        .expect("bump version");
    drop(conn);
    let err = SqliteStore::open(&path).await.expect_err("newer schema");
    assert!(matches!(err, StoreError::Migration(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_closing_and_reopening_the_store() {
    let (dir, store) = common::store().await;
    let f = store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    let d = store
        .create_deployment(PROJECT, deployment("fn1", "dep1"))
        .await
        .expect("deployment");
    let mut ready = d.clone();
    ready.status = DeploymentStatus::Ready;
    store
        .update_deployment(PROJECT, ready)
        .await
        .expect("ready");
    store
        .activate_deployment(PROJECT, "fn1", "dep1")
        .await
        .expect("activate");
    let v = store
        .create_variable(PROJECT, variable("fn1", "var1", "KEY"))
        .await
        .expect("var");
    let key = store
        .create_api_key(PROJECT, "ci", &["functions.read".into()], "s3cret", None)
        .await
        .expect("key");
    let writer = store
        .spawn_execution_writer(WriterConfig::default())
        .expect("writer");
    let e = execution("fn1", "exec1", 1_000);
    writer.write(e.clone()).await.expect("acknowledged write");

    let f = store
        .get_function(PROJECT, &f.id)
        .await
        .expect("function again");
    drop(writer);
    drop(store);

    let store = common::open(&dir).await;
    assert_eq!(
        store.get_function(PROJECT, "fn1").await.expect("function"),
        f
    );
    assert_eq!(f.deployment_id, "dep1");
    let d = store
        .get_deployment(PROJECT, "fn1", "dep1")
        .await
        .expect("deployment");
    assert_eq!(d.status, DeploymentStatus::Ready);
    assert_eq!(
        store
            .get_variable(PROJECT, "fn1", "var1")
            .await
            .expect("var"),
        v
    );
    assert_eq!(
        store
            .get_execution(PROJECT, "fn1", "exec1")
            .await
            .expect("execution"),
        e
    );
    let found = store
        .find_api_key_by_secret("s3cret")
        .await
        .expect("lookup");
    assert_eq!(found, Some(key));
    let page = store
        .list_functions(PROJECT, &ListParams::default())
        .await
        .expect("list");
    assert_eq!(page.total, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requeue_processing_puts_interrupted_executions_back_in_the_queue() {
    let (dir, store) = common::store().await;
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    for (id, status) in [
        ("interrupted", ExecutionStatus::Processing),
        ("finished", ExecutionStatus::Completed),
        ("queued", ExecutionStatus::Waiting),
    ] {
        let mut e = execution("fn1", id, 1_000);
        e.status = status;
        store.insert_execution(PROJECT, e).await.expect("insert");
    }
    // A restart: the process that was running "interrupted" is gone.
    drop(store);
    let store = common::open(&dir).await;

    assert_eq!(store.requeue_processing().await.expect("requeue"), 1);
    let get = |id: &'static str| {
        let store = store.clone();
        async move {
            store
                .get_execution(PROJECT, "fn1", id)
                .await
                .expect("get")
                .status
        }
    };
    assert_eq!(get("interrupted").await, ExecutionStatus::Waiting);
    assert_eq!(get("finished").await, ExecutionStatus::Completed);
    assert_eq!(get("queued").await, ExecutionStatus::Waiting);
    assert_eq!(store.requeue_processing().await.expect("again"), 0);

    let claimed = store
        .claim_due_executions(Timestamp::now(), 10)
        .await
        .expect("claim");
    let mut ids: Vec<_> = claimed.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["interrupted", "queued"]);
    assert!(
        claimed
            .iter()
            .all(|e| e.status == ExecutionStatus::Processing)
    );
    assert_eq!(
        claimed[0].request_body, b"hello",
        "claims carry the queued request body"
    );
}
