//! Create, read, update and delete of executions and variables, with their `AlreadyExists`/`NotFound`
//! cases, and the execution queue.

use crate::common::{self, PROJECT, execution, function, variable};
use wafer_store::{Entity, ExecutionStatus, ListParams, StoreError, Timestamp};

fn is_not_found<T>(result: &Result<T, StoreError>, entity: Entity) -> bool {
    matches!(result, Err(StoreError::NotFound { entity: e, .. }) if *e == entity)
}

fn is_already_exists<T>(result: &Result<T, StoreError>, field: &str) -> bool {
    matches!(result, Err(StoreError::AlreadyExists { field: f, .. }) if *f == field)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_are_inserted_read_updated_and_deleted() {
    let (_dir, store) = common::store().await;
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    let mut e = execution("fn1", "exec1", 5_000);
    e.status = ExecutionStatus::Scheduled;
    e.scheduled_at = Some(Timestamp(60_000));
    e.permissions = vec![r#"read("user:u1")"#.into()];
    e.user_id = Some("u1".into());
    e.fuel_consumed = 12_345;
    e.peak_memory_bytes = 1 << 20;
    e.response_headers = vec![("x-a".into(), "1".into()), ("x-a".into(), "2".into())];
    let inserted = store
        .insert_execution(PROJECT, e.clone())
        .await
        .expect("insert");
    assert_eq!(inserted, e);
    assert_eq!(
        store
            .get_execution(PROJECT, "fn1", "exec1")
            .await
            .expect("get"),
        e
    );
    let dup = store.insert_execution(PROJECT, e.clone()).await;
    assert!(is_already_exists(&dup, "ID"));
    let orphan = store
        .insert_execution(PROJECT, execution("ghost", "x", 1))
        .await;
    assert!(is_not_found(&orphan, Entity::Function));

    let mut done = e.clone();
    done.status = ExecutionStatus::Failed;
    done.errors = "boom".into();
    done.duration = 1.5;
    done.created_at = Timestamp(0); // ignored: creation time is fixed
    done.updated_at = Timestamp(70_000);
    let stored = store.update_execution(PROJECT, done).await.expect("update");
    assert_eq!(stored.status, ExecutionStatus::Failed);
    assert_eq!(stored.errors, "boom");
    assert_eq!(stored.created_at, Timestamp(5_000));
    assert_eq!(stored.updated_at, Timestamp(70_000));
    let ghost = store
        .update_execution(PROJECT, execution("fn1", "ghost", 1))
        .await;
    assert!(is_not_found(&ghost, Entity::Execution));

    let page = store
        .list_executions(PROJECT, "fn1", &ListParams::default())
        .await
        .expect("list");
    assert_eq!(page.total, 1);
    assert!(
        page.items[0].request_body.is_empty(),
        "lists leave the request body out"
    );
    assert_eq!(page.items[0].errors, "boom");

    store
        .delete_execution(PROJECT, "fn1", "exec1")
        .await
        .expect("delete");
    let again = store.delete_execution(PROJECT, "fn1", "exec1").await;
    assert!(is_not_found(&again, Entity::Execution));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_list_only_their_own_executions() {
    let (_dir, store) = common::store().await;
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    for (id, user) in [
        ("a", Some("u1")),
        ("b", Some("u2")),
        ("c", None),
        ("d", Some("u1")),
    ] {
        let mut e = execution("fn1", id, 1_000);
        e.user_id = user.map(str::to_owned);
        store.insert_execution(PROJECT, e).await.expect("insert");
    }
    let all = ListParams::default();
    let mine = store
        .list_user_executions(PROJECT, "fn1", "u1", &all)
        .await
        .expect("list");
    let ids: Vec<_> = mine.items.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["a", "d"]);
    assert_eq!(mine.total, 2);
    assert_eq!(
        store
            .list_executions(PROJECT, "fn1", &all)
            .await
            .expect("all")
            .total,
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claiming_takes_waiting_and_due_scheduled_executions_only() {
    let (_dir, store) = common::store().await;
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    let plan = [
        ("due-later", ExecutionStatus::Scheduled, Some(9_000)),
        ("due-now", ExecutionStatus::Scheduled, Some(5_000)),
        ("waiting", ExecutionStatus::Waiting, None),
        ("done", ExecutionStatus::Completed, None),
    ];
    for (id, status, at) in plan {
        let mut e = execution("fn1", id, 1_000);
        e.status = status;
        e.scheduled_at = at.map(Timestamp);
        store.insert_execution(PROJECT, e).await.expect("insert");
    }
    let claimed = store
        .claim_due_executions(Timestamp(5_000), 10)
        .await
        .expect("claim");
    let ids: Vec<_> = claimed.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["waiting", "due-now"], "oldest due first");
    assert!(
        store
            .claim_due_executions(Timestamp(5_000), 10)
            .await
            .expect("again")
            .is_empty()
    );
    let later = store
        .claim_due_executions(Timestamp(9_000), 10)
        .await
        .expect("later");
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].status, ExecutionStatus::Processing);
    let stored = store
        .get_execution(PROJECT, "fn1", "due-later")
        .await
        .expect("get");
    assert_eq!(stored.status, ExecutionStatus::Processing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_have_unique_ids_and_keys_per_function() {
    let (_dir, store) = common::store().await;
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("fn1");
    store
        .create_function(PROJECT, function("fn2"))
        .await
        .expect("fn2");
    let mut secret = variable("fn1", "v1", "API_TOKEN");
    secret.secret = true;
    let v1 = store.create_variable(PROJECT, secret).await.expect("v1");
    assert!(v1.secret);
    assert_eq!(
        v1.value, "value of API_TOKEN",
        "the store returns real values"
    );

    let same_key = store
        .create_variable(PROJECT, variable("fn1", "v2", "API_TOKEN"))
        .await;
    assert!(is_already_exists(&same_key, "key"), "{same_key:?}");
    let same_id = store
        .create_variable(PROJECT, variable("fn1", "v1", "OTHER"))
        .await;
    assert!(is_already_exists(&same_id, "ID"), "{same_id:?}");
    store
        .create_variable(PROJECT, variable("fn2", "v3", "API_TOKEN"))
        .await
        .expect("the same key under another function");
    let v4 = store
        .create_variable(PROJECT, variable("fn1", "v4", "B"))
        .await
        .expect("v4");

    let mut clash = v4.clone();
    clash.key = "API_TOKEN".into();
    let clash = store.update_variable(PROJECT, clash).await;
    assert!(is_already_exists(&clash, "key"), "{clash:?}");
    let mut change = v4.clone();
    change.key = "C".into();
    change.value = "new".into();
    change.secret = true;
    let changed = store
        .update_variable(PROJECT, change)
        .await
        .expect("update");
    assert_eq!(
        (changed.key.as_str(), changed.value.as_str(), changed.secret),
        ("C", "new", true)
    );
    assert_eq!(changed.created_at, v4.created_at);
    let ghost = store
        .update_variable(PROJECT, variable("fn1", "ghost", "G"))
        .await;
    assert!(is_not_found(&ghost, Entity::Variable));

    let env = store.function_variables(PROJECT, "fn1").await.expect("env");
    let keys: Vec<_> = env.iter().map(|v| v.key.as_str()).collect();
    assert_eq!(keys, ["API_TOKEN", "C"]);

    store
        .delete_variable(PROJECT, "fn1", "v1")
        .await
        .expect("delete");
    assert!(is_not_found(
        &store.get_variable(PROJECT, "fn1", "v1").await,
        Entity::Variable
    ));
    let again = store.delete_variable(PROJECT, "fn1", "v1").await;
    assert!(is_not_found(&again, Entity::Variable));
}
