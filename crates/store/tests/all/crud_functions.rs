//! Create, read, update and delete of projects, API keys, functions and deployments, with their
//! `AlreadyExists`/`NotFound` cases.

use crate::common::{self, PROJECT, deployment, execution, function, variable};
use wafer_store::{DeploymentStatus, Entity, StoreError, Timestamp, hash_secret};

fn is_not_found<T>(result: &Result<T, StoreError>, entity: Entity) -> bool {
    matches!(result, Err(StoreError::NotFound { entity: e, .. }) if *e == entity)
}

fn is_already_exists<T>(result: &Result<T, StoreError>, field: &str) -> bool {
    matches!(result, Err(StoreError::AlreadyExists { field: f, .. }) if *f == field)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_are_created_once_and_keep_their_name() {
    let (_dir, store) = common::store().await;
    let again = store
        .ensure_project(PROJECT, "Renamed?")
        .await
        .expect("ensure");
    assert_eq!(again.name, "Project A");
    assert_eq!(store.get_project(PROJECT).await.expect("get"), again);
    assert!(is_not_found(
        &store.get_project("nope").await,
        Entity::Project
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_keep_only_the_hash_and_are_found_by_secret() {
    let (_dir, store) = common::store().await;
    let scopes = vec!["functions.read".to_owned(), "executions.write".to_owned()];
    let expire = Some(Timestamp(4_000_000_000_000));
    let key = store
        .create_api_key(PROJECT, "ci", &scopes, "top-secret", expire)
        .await
        .expect("create");
    assert_eq!(key.id.len(), 20);
    assert_eq!(key.secret_hash, hash_secret("top-secret"));
    assert_ne!(key.secret_hash, "top-secret");
    assert_eq!(key.scopes, scopes);
    assert_eq!(key.expire, expire);

    let found = store
        .find_api_key_by_secret("top-secret")
        .await
        .expect("find");
    assert_eq!(found.as_ref(), Some(&key));
    assert_eq!(
        store.find_api_key_by_secret("wrong").await.expect("find"),
        None
    );
    let dup = store
        .create_api_key(PROJECT, "again", &[], "top-secret", None)
        .await;
    assert!(is_already_exists(&dup, "secret"), "{dup:?}");
    let orphan = store.create_api_key("nope", "x", &[], "other", None).await;
    assert!(is_not_found(&orphan, Entity::Project));

    store
        .touch_api_key(PROJECT, &key.id, Timestamp(123))
        .await
        .expect("touch");
    let keys = store.list_api_keys(PROJECT).await.expect("list");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].last_used, Some(Timestamp(123)));
    assert_eq!(store.count_api_keys(PROJECT).await.expect("count"), 1);

    store
        .delete_api_key(PROJECT, &key.id)
        .await
        .expect("delete");
    assert!(is_not_found(
        &store.delete_api_key(PROJECT, &key.id).await,
        Entity::ApiKey
    ));
    assert_eq!(store.count_api_keys(PROJECT).await.expect("count"), 0);
    assert_eq!(
        store
            .find_api_key_by_secret("top-secret")
            .await
            .expect("find"),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_are_created_read_updated_and_deleted() {
    let (_dir, store) = common::store().await;
    let mut input = function("fn1");
    input.events = vec!["users.*.create".into()];
    input.scopes = vec!["users.read".into()];
    input.fuel = Some(u64::MAX >> 1);
    input.memory_mb = Some(128);
    input.outbound_hosts = vec!["api.example.com".into()];
    input.reuse_instances = true;
    input.deployment_id = "ignored".into();
    let created = store
        .create_function(PROJECT, input.clone())
        .await
        .expect("create");
    assert_eq!(created.project_id, PROJECT);
    assert_eq!(
        created.deployment_id, "",
        "a new function has no deployment"
    );
    assert_eq!(created.fuel, input.fuel);
    assert_eq!(created.outbound_hosts, input.outbound_hosts);
    assert!(created.reuse_instances);
    assert!(created.created_at.as_millis() > 0);
    assert_eq!(created.created_at, created.updated_at);
    assert_eq!(
        store.get_function(PROJECT, "fn1").await.expect("get"),
        created
    );

    let dup = store.create_function(PROJECT, function("fn1")).await;
    assert!(is_already_exists(&dup, "ID"), "{dup:?}");
    let orphan = store.create_function("nope", function("fn2")).await;
    assert!(is_not_found(&orphan, Entity::Project));

    let mut change = created.clone();
    change.name = "Renamed".into();
    change.enabled = false;
    change.timeout = 900;
    change.schedule = "*/5 * * * *".into();
    change.memory_mb = None;
    change.reuse_instances = false;
    let updated = store
        .update_function(PROJECT, change)
        .await
        .expect("update");
    assert_eq!(updated.name, "Renamed");
    assert!(!updated.enabled);
    assert_eq!(updated.timeout, 900);
    assert_eq!(updated.memory_mb, None);
    assert!(!updated.reuse_instances);
    assert_eq!(updated.created_at, created.created_at);
    assert!(updated.updated_at >= created.updated_at);
    let missing = store.update_function(PROJECT, function("ghost")).await;
    assert!(is_not_found(&missing, Entity::Function));

    store.delete_function(PROJECT, "fn1").await.expect("delete");
    assert!(is_not_found(
        &store.get_function(PROJECT, "fn1").await,
        Entity::Function
    ));
    assert!(is_not_found(
        &store.delete_function(PROJECT, "fn1").await,
        Entity::Function
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_function_cascades_to_its_deployments_executions_and_variables() {
    let (_dir, store) = common::store().await;
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    store
        .create_deployment(PROJECT, deployment("fn1", "dep1"))
        .await
        .expect("deployment");
    store
        .record_chunk(PROJECT, "dep1", 0, 2)
        .await
        .expect("chunk");
    store
        .insert_execution(PROJECT, execution("fn1", "exec1", 1))
        .await
        .expect("execution");
    store
        .create_variable(PROJECT, variable("fn1", "var1", "K"))
        .await
        .expect("variable");

    store.delete_function(PROJECT, "fn1").await.expect("delete");
    assert!(is_not_found(
        &store.get_deployment(PROJECT, "fn1", "dep1").await,
        Entity::Deployment
    ));
    assert!(is_not_found(
        &store.get_execution(PROJECT, "fn1", "exec1").await,
        Entity::Execution
    ));
    assert!(is_not_found(
        &store.get_variable(PROJECT, "fn1", "var1").await,
        Entity::Variable
    ));

    // The ids are free again.
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("recreate");
    store
        .create_deployment(PROJECT, deployment("fn1", "dep1"))
        .await
        .expect("same deployment id");
    let progress = store
        .record_chunk(PROJECT, "dep1", 1, 2)
        .await
        .expect("chunk");
    assert_eq!(
        progress.uploaded, 1,
        "old chunk rows went with the old deployment"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_schedules_are_listed_until_moved_forward() {
    let (_dir, store) = common::store().await;
    let mut cron = function("cron");
    cron.schedule = "* * * * *".into();
    cron.next_schedule_at = Some(Timestamp(1_000));
    store
        .create_function(PROJECT, cron.clone())
        .await
        .expect("cron");
    let mut disabled = cron.clone();
    disabled.id = "disabled".into();
    disabled.enabled = false;
    store
        .create_function(PROJECT, disabled)
        .await
        .expect("disabled");
    let mut unscheduled = function("plain");
    unscheduled.next_schedule_at = Some(Timestamp(1_000));
    store
        .create_function(PROJECT, unscheduled)
        .await
        .expect("plain");

    assert!(
        store
            .list_due_schedules(Timestamp(999))
            .await
            .expect("early")
            .is_empty()
    );
    let due = store
        .list_due_schedules(Timestamp(1_000))
        .await
        .expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].0, PROJECT);
    assert_eq!(due[0].1.id, "cron");

    store
        .set_next_schedule(PROJECT, "cron", Some(Timestamp(61_000)))
        .await
        .expect("next");
    assert!(
        store
            .list_due_schedules(Timestamp(60_000))
            .await
            .expect("due")
            .is_empty()
    );
    let f = store.get_function(PROJECT, "cron").await.expect("get");
    assert_eq!(f.next_schedule_at, Some(Timestamp(61_000)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_keep_the_function_latest_and_active_fields_in_sync() {
    let (_dir, store) = common::store().await;
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    let orphan = store
        .create_deployment(PROJECT, deployment("ghost", "d0"))
        .await;
    assert!(is_not_found(&orphan, Entity::Function));

    let d1 = store
        .create_deployment(PROJECT, deployment("fn1", "d1"))
        .await
        .expect("d1");
    assert_eq!(d1.deployment_type, "manual");
    assert_eq!(d1.chunks_uploaded, 0);
    let f = store.get_function(PROJECT, "fn1").await.expect("function");
    assert_eq!(f.latest_deployment_id, "d1");
    assert_eq!(f.latest_deployment_created_at, Some(d1.created_at));
    assert_eq!(f.latest_deployment_status, Some(DeploymentStatus::Waiting));
    assert_eq!(f.deployment_id, "");
    let dup = store
        .create_deployment(PROJECT, deployment("fn1", "d1"))
        .await;
    assert!(is_already_exists(&dup, "ID"));

    let mut built = d1.clone();
    built.status = DeploymentStatus::Ready;
    built.build_logs = "compiled".into();
    built.build_duration = 3;
    built.build_size = 2048;
    built.artifact_id = "sha256:abc".into();
    let built = store
        .update_deployment(PROJECT, built)
        .await
        .expect("update");
    assert_eq!(built.status, DeploymentStatus::Ready);
    assert_eq!(built.artifact_id, "sha256:abc");
    assert_eq!(built.created_at, d1.created_at);
    let f = store.get_function(PROJECT, "fn1").await.expect("function");
    assert_eq!(f.latest_deployment_status, Some(DeploymentStatus::Ready));

    let f = store
        .activate_deployment(PROJECT, "fn1", "d1")
        .await
        .expect("activate");
    assert_eq!(f.deployment_id, "d1");
    assert_eq!(f.deployment_created_at, Some(d1.created_at));
    let missing = store.activate_deployment(PROJECT, "fn1", "nope").await;
    assert!(is_not_found(&missing, Entity::Deployment));

    // A newer deployment becomes the latest; the active one stays.
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let d2 = store
        .create_deployment(PROJECT, deployment("fn1", "d2"))
        .await
        .expect("d2");
    let f = store.get_function(PROJECT, "fn1").await.expect("function");
    assert_eq!(
        (f.latest_deployment_id.as_str(), f.deployment_id.as_str()),
        ("d2", "d1")
    );
    assert_eq!(f.latest_deployment_status, Some(DeploymentStatus::Waiting));

    // Deleting the active deployment leaves no active one; deleting the latest moves "latest" back.
    let deleted = store
        .delete_deployment(PROJECT, "fn1", "d1")
        .await
        .expect("delete d1");
    assert_eq!(deleted.artifact_id, "sha256:abc");
    let f = store.get_function(PROJECT, "fn1").await.expect("function");
    assert_eq!(f.deployment_id, "");
    assert_eq!(f.deployment_created_at, None);
    assert_eq!(f.latest_deployment_id, "d2");
    store
        .delete_deployment(PROJECT, "fn1", d2.id.as_str())
        .await
        .expect("delete d2");
    let f = store.get_function(PROJECT, "fn1").await.expect("function");
    assert_eq!(f.latest_deployment_id, "");
    assert_eq!(f.latest_deployment_status, None);
    let again = store.delete_deployment(PROJECT, "fn1", "d2").await;
    assert!(is_not_found(&again, Entity::Deployment));
    let gone = store
        .update_deployment(PROJECT, deployment("fn1", "d2"))
        .await;
    assert!(is_not_found(&gone, Entity::Deployment));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunk_recording_is_idempotent_and_checks_its_arguments() {
    let (_dir, store) = common::store().await;
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    store
        .create_deployment(PROJECT, deployment("fn1", "d1"))
        .await
        .expect("deployment");

    let first = store
        .record_chunk(PROJECT, "d1", 2, 3)
        .await
        .expect("chunk 2");
    assert_eq!((first.uploaded, first.total), (1, 3));
    let repeat = store
        .record_chunk(PROJECT, "d1", 2, 3)
        .await
        .expect("chunk 2 again");
    assert_eq!(repeat.uploaded, 1);
    assert!(matches!(
        store.record_chunk(PROJECT, "d1", 3, 3).await,
        Err(StoreError::InvalidArgument(_))
    ));
    assert!(matches!(
        store.record_chunk(PROJECT, "d1", 0, 4).await,
        Err(StoreError::InvalidArgument(_))
    ));
    store
        .record_chunk(PROJECT, "d1", 0, 3)
        .await
        .expect("chunk 0");
    let done = store
        .record_chunk(PROJECT, "d1", 1, 3)
        .await
        .expect("chunk 1");
    assert!(done.is_complete());
    let d = store
        .get_deployment(PROJECT, "fn1", "d1")
        .await
        .expect("deployment");
    assert_eq!((d.chunks_uploaded, d.chunks_total), (3, 3));
    let missing = store.record_chunk(PROJECT, "nope", 0, 1).await;
    assert!(is_not_found(&missing, Entity::Deployment));
}
