//! Project isolation: nothing of project A can be reached through project B, by any method.

use crate::common::{
    self, OTHER_PROJECT, PROJECT, cursor_after, deployment, execution, function, queries, variable,
};
use wafer_store::{Entity, ListParams, MetadataStore, StoreError, Timestamp, WriterConfig};

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, entity: Entity) {
    match result {
        Err(StoreError::NotFound { entity: e, .. }) if e == entity => {}
        other => panic!("expected {entity} not found, got {other:?}"),
    }
}

/// Project A with one of everything; returns the API key id.
async fn populate_project_a(store: &dyn MetadataStore) -> String {
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    store
        .create_deployment(PROJECT, deployment("fn1", "dep1"))
        .await
        .expect("deployment");
    store
        .insert_execution(PROJECT, execution("fn1", "exec1", 1))
        .await
        .expect("execution");
    store
        .create_variable(PROJECT, variable("fn1", "var1", "KEY"))
        .await
        .expect("variable");
    let key = store
        .create_api_key(PROJECT, "ci", &[], "secret-a", None)
        .await
        .expect("key");
    key.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_of_project_a_is_invisible_from_project_b_through_every_method() {
    let (_dir, store) = common::store().await;
    let store = store.as_ref();
    let key_id = populate_project_a(store).await;
    let b = OTHER_PROJECT;
    let all = ListParams::default();

    // Functions.
    assert_not_found(store.get_function(b, "fn1").await, Entity::Function);
    let mut f = function("fn1");
    f.project_id = PROJECT.into(); // the argument wins over the field
    assert_not_found(store.update_function(b, f).await, Entity::Function);
    assert_not_found(
        store.set_next_schedule(b, "fn1", None).await,
        Entity::Function,
    );
    assert_eq!(store.list_functions(b, &all).await.expect("list").total, 0);
    let search = ListParams {
        search: Some("fn1".into()),
        ..ListParams::default()
    };
    assert!(
        store
            .list_functions(b, &search)
            .await
            .expect("search")
            .items
            .is_empty()
    );
    let cursor = store
        .list_functions(b, &queries(&[cursor_after("fn1")]))
        .await;
    assert!(
        matches!(cursor, Err(StoreError::CursorNotFound { .. })),
        "{cursor:?}"
    );

    // Deployments.
    assert_not_found(
        store.get_deployment(b, "fn1", "dep1").await,
        Entity::Deployment,
    );
    assert_not_found(
        store.update_deployment(b, deployment("fn1", "dep1")).await,
        Entity::Deployment,
    );
    assert_not_found(
        store.activate_deployment(b, "fn1", "dep1").await,
        Entity::Function,
    );
    assert_not_found(
        store.record_chunk(b, "dep1", 0, 2).await,
        Entity::Deployment,
    );
    assert_not_found(
        store.create_deployment(b, deployment("fn1", "dep2")).await,
        Entity::Function,
    );
    assert_eq!(
        store
            .list_deployments(b, "fn1", &all)
            .await
            .expect("list")
            .total,
        0
    );
    assert_not_found(
        store.delete_deployment(b, "fn1", "dep1").await,
        Entity::Deployment,
    );

    // Executions, directly and through the batching writer.
    assert_not_found(
        store.get_execution(b, "fn1", "exec1").await,
        Entity::Execution,
    );
    assert_not_found(
        store
            .update_execution(b, execution("fn1", "exec1", 1))
            .await,
        Entity::Execution,
    );
    assert_not_found(
        store
            .insert_execution(b, execution("fn1", "exec2", 1))
            .await,
        Entity::Function,
    );
    assert_eq!(
        store
            .list_executions(b, "fn1", &all)
            .await
            .expect("list")
            .total,
        0
    );
    assert_eq!(
        store
            .list_user_executions(b, "fn1", "u", &all)
            .await
            .expect("list")
            .total,
        0
    );
    let writer = store
        .spawn_execution_writer(WriterConfig::default())
        .expect("writer");
    let mut foreign = execution("fn1", "exec1", 1);
    foreign.project_id = b.into();
    assert_not_found(writer.write(foreign).await, Entity::Function);
    assert_not_found(
        store.delete_execution(b, "fn1", "exec1").await,
        Entity::Execution,
    );

    // Variables.
    assert_not_found(store.get_variable(b, "fn1", "var1").await, Entity::Variable);
    assert_not_found(
        store
            .update_variable(b, variable("fn1", "var1", "KEY"))
            .await,
        Entity::Variable,
    );
    assert_not_found(
        store
            .create_variable(b, variable("fn1", "var2", "K2"))
            .await,
        Entity::Function,
    );
    assert_eq!(
        store
            .list_variables(b, "fn1", &all)
            .await
            .expect("list")
            .total,
        0
    );
    assert!(
        store
            .function_variables(b, "fn1")
            .await
            .expect("vars")
            .is_empty()
    );
    assert_not_found(
        store.delete_variable(b, "fn1", "var1").await,
        Entity::Variable,
    );

    // API keys.
    assert!(store.list_api_keys(b).await.expect("keys").is_empty());
    assert_eq!(store.count_api_keys(b).await.expect("count"), 0);
    assert_not_found(
        store.touch_api_key(b, &key_id, Timestamp::now()).await,
        Entity::ApiKey,
    );
    assert_not_found(store.delete_api_key(b, &key_id).await, Entity::ApiKey);
    let found = store
        .find_api_key_by_secret("secret-a")
        .await
        .expect("find");
    assert_eq!(found.map(|k| k.project_id), Some(PROJECT.to_owned()));

    // Deleting from B removes nothing of A.
    assert_not_found(store.delete_function(b, "fn1").await, Entity::Function);
    assert!(
        store
            .list_due_schedules(Timestamp(i64::MAX))
            .await
            .expect("due")
            .is_empty()
    );

    // Ids are per project: B may use the same function id, and the two stay apart.
    store
        .create_function(b, function("fn1"))
        .await
        .expect("same id in B");
    assert!(
        store
            .list_executions(b, "fn1", &all)
            .await
            .expect("list")
            .items
            .is_empty()
    );
    store
        .delete_function(b, "fn1")
        .await
        .expect("delete B's fn1");

    // Everything of A is still there.
    store
        .get_function(PROJECT, "fn1")
        .await
        .expect("A's function");
    store
        .get_deployment(PROJECT, "fn1", "dep1")
        .await
        .expect("A's deployment");
    store
        .get_execution(PROJECT, "fn1", "exec1")
        .await
        .expect("A's execution");
    store
        .get_variable(PROJECT, "fn1", "var1")
        .await
        .expect("A's variable");
    assert_eq!(store.count_api_keys(PROJECT).await.expect("A's keys"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_are_scoped_by_their_function_too() {
    let (_dir, store) = common::store().await;
    let store = store.as_ref();
    populate_project_a(store).await;
    store
        .create_function(PROJECT, function("fn2"))
        .await
        .expect("second function");

    assert_not_found(
        store.get_deployment(PROJECT, "fn2", "dep1").await,
        Entity::Deployment,
    );
    assert_not_found(
        store.activate_deployment(PROJECT, "fn2", "dep1").await,
        Entity::Deployment,
    );
    assert_not_found(
        store.get_execution(PROJECT, "fn2", "exec1").await,
        Entity::Execution,
    );
    assert_not_found(
        store.delete_execution(PROJECT, "fn2", "exec1").await,
        Entity::Execution,
    );
    assert_not_found(
        store.get_variable(PROJECT, "fn2", "var1").await,
        Entity::Variable,
    );
    let all = ListParams::default();
    assert_eq!(
        store
            .list_executions(PROJECT, "fn2", &all)
            .await
            .expect("list")
            .total,
        0
    );
    let cursor = store
        .list_executions(PROJECT, "fn2", &queries(&[cursor_after("exec1")]))
        .await;
    assert!(
        matches!(cursor, Err(StoreError::CursorNotFound { .. })),
        "{cursor:?}"
    );
}
