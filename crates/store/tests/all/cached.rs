//! The read-through cache: a process reads its own writes at once; another process's writes
//! show once entries expire.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{self, PROJECT, deployment, function, variable};
use wafer_store::{CacheConfig, CachedStore, DeploymentStatus, MetadataStore};

fn cached(inner: &common::Store, ttl: Duration) -> Arc<dyn MetadataStore> {
    Arc::new(CachedStore::new(
        inner.clone(),
        CacheConfig {
            capacity: 1_000,
            ttl,
        },
    ))
}

const LONG: Duration = Duration::from_secs(600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_updates_and_deletions_are_read_back_at_once() {
    let (_dir, inner) = common::store().await;
    let store = cached(&inner, LONG);
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("create");
    let mut read = store.get_function(PROJECT, "fn1").await.expect("read");
    assert!(read.enabled);

    read.enabled = false;
    store.update_function(PROJECT, read).await.expect("update");
    assert!(
        !store
            .get_function(PROJECT, "fn1")
            .await
            .expect("read")
            .enabled
    );

    store.delete_function(PROJECT, "fn1").await.expect("delete");
    assert!(store.get_function(PROJECT, "fn1").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_builds_and_activation_show_in_the_cached_function() {
    let (_dir, inner) = common::store().await;
    let store = cached(&inner, LONG);
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    let d1 = store
        .create_deployment(PROJECT, deployment("fn1", "d1"))
        .await
        .expect("deployment");
    let before = store.get_function(PROJECT, "fn1").await.expect("read");
    assert_eq!(before.latest_deployment_id, "d1");
    assert_eq!(
        store
            .get_deployment(PROJECT, "fn1", "d1")
            .await
            .expect("read")
            .status,
        DeploymentStatus::Waiting
    );

    let mut built = d1;
    built.status = DeploymentStatus::Ready;
    built.artifact_id = "sha256:abc".into();
    store
        .update_deployment(PROJECT, built)
        .await
        .expect("build");
    let read = store
        .get_deployment(PROJECT, "fn1", "d1")
        .await
        .expect("read");
    assert_eq!(read.status, DeploymentStatus::Ready);
    assert_eq!(read.artifact_id, "sha256:abc");

    store
        .activate_deployment(PROJECT, "fn1", "d1")
        .await
        .expect("activate");
    let after = store.get_function(PROJECT, "fn1").await.expect("read");
    assert_eq!(after.deployment_id, "d1");

    store
        .delete_deployment(PROJECT, "fn1", "d1")
        .await
        .expect("delete");
    assert!(store.get_deployment(PROJECT, "fn1", "d1").await.is_err());
    assert_eq!(
        store
            .get_function(PROJECT, "fn1")
            .await
            .expect("read")
            .deployment_id,
        ""
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variable_changes_reach_the_next_environment_read() {
    let (_dir, inner) = common::store().await;
    let store = cached(&inner, LONG);
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    assert!(
        store
            .function_variables(PROJECT, "fn1")
            .await
            .expect("none")
            .is_empty()
    );

    let created = store
        .create_variable(PROJECT, variable("fn1", "v1", "GREETING"))
        .await
        .expect("create");
    let read = store.function_variables(PROJECT, "fn1").await.expect("one");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].value, "value of GREETING");

    let mut changed = created;
    changed.value = "hello".into();
    store
        .update_variable(PROJECT, changed)
        .await
        .expect("update");
    let read = store.function_variables(PROJECT, "fn1").await.expect("one");
    assert_eq!(read[0].value, "hello");

    store
        .delete_variable(PROJECT, "fn1", "v1")
        .await
        .expect("delete");
    assert!(
        store
            .function_variables(PROJECT, "fn1")
            .await
            .expect("none")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_works_right_after_a_failed_lookup_and_stops_when_deleted() {
    let (_dir, inner) = common::store().await;
    let store = cached(&inner, LONG);
    assert!(
        store
            .find_api_key_by_secret("s3cret")
            .await
            .expect("lookup")
            .is_none()
    );
    let key = store
        .create_api_key(PROJECT, "ci", &["functions.read".into()], "s3cret", None)
        .await
        .expect("create");
    let found = store
        .find_api_key_by_secret("s3cret")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(found.id, key.id);

    store
        .delete_api_key(PROJECT, &key.id)
        .await
        .expect("delete");
    assert!(
        store
            .find_api_key_by_secret("s3cret")
            .await
            .expect("lookup")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_write_shows_once_the_entry_expires() {
    let (_dir, inner) = common::store().await;
    let ttl = Duration::from_millis(200);
    let this_process = cached(&inner, ttl);
    let other_process = cached(&inner, ttl);
    other_process
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("create");
    let mut read = this_process
        .get_function(PROJECT, "fn1")
        .await
        .expect("read");
    read.name = "renamed elsewhere".into();
    other_process
        .update_function(PROJECT, read)
        .await
        .expect("update");

    // Within the TTL the old copy may still be served; after it, never.
    tokio::time::sleep(ttl * 3).await;
    let fresh = this_process
        .get_function(PROJECT, "fn1")
        .await
        .expect("read");
    assert_eq!(fresh.name, "renamed elsewhere");
}
