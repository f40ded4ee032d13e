//! The query language end to end: cursor pagination and rejected queries.

use crate::common::{
    self, PROJECT, Store, cursor_after, cursor_before, equal, execution, execution_ids,
    executions_fixture, function, limit, q, queries,
};
use serde_json::{Value, json};
use wafer_store::{Execution, ListParams, QueryError, StoreError};

/// Walks forward with cursorAfter and backward with cursorBefore, 25 at a time.
async fn walk_both_ways(store: &Store, order: &[Value], expected: &[String]) {
    let page = |list: Vec<Value>| async move {
        let mut all = order.to_vec();
        all.extend(list);
        execution_ids(store, &all).await
    };
    let mut forward: Vec<String> = Vec::new();
    loop {
        let mut list = vec![limit(25)];
        if let Some(last) = forward.last() {
            list.push(cursor_after(last));
        }
        let items = page(list).await;
        assert!(items.len() <= 25);
        let done = items.len() < 25;
        forward.extend(items);
        if done {
            break;
        }
    }
    assert_eq!(forward, expected, "forward walk");

    let last = expected.last().expect("rows").clone();
    let mut backward = vec![last];
    loop {
        let items = page(vec![limit(25), cursor_before(&backward[0])]).await;
        let done = items.len() < 25;
        backward.splice(0..0, items);
        if done {
            break;
        }
    }
    assert_eq!(backward, expected, "backward walk");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_pagination_visits_every_row_exactly_once_in_order_both_ways() {
    let (_dir, store) = common::store().await;
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    let mut rows = Vec::new();
    for i in 0..60_i64 {
        // Groups of three share a creation time, and ids do not follow insertion order, so the
        // id tiebreaker matters.
        let id = format!("e{:02}", (i * 7) % 60);
        let e = Execution {
            response_status_code: (i % 4) as u16 * 100,
            ..execution("fn1", &id, 10_000 + (i / 3) * 1000)
        };
        store
            .insert_execution(PROJECT, e.clone())
            .await
            .expect("insert");
        rows.push(e);
    }

    rows.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let expected: Vec<String> = rows.iter().map(|e| e.id.clone()).collect();
    walk_both_ways(&store, &[], &expected).await;

    rows.sort_by(|a, b| (b.response_status_code, &b.id).cmp(&(a.response_status_code, &a.id)));
    let expected: Vec<String> = rows.iter().map(|e| e.id.clone()).collect();
    let order = [json!({"method": "orderDesc", "attribute": "responseStatusCode"})];
    walk_both_ways(&store, &order, &expected).await;

    let page = store
        .list_executions(
            PROJECT,
            "fn1",
            &queries(&[limit(25), cursor_after(&expected[30])]),
        )
        .await
        .expect("page");
    assert_eq!(page.total, 60, "total ignores the cursor");
    let missing = store
        .list_executions(PROJECT, "fn1", &queries(&[cursor_after("no-such-id")]))
        .await;
    assert!(matches!(missing, Err(StoreError::CursorNotFound { ref id }) if id == "no-such-id"));
}

async fn query_error(store: &Store, list: &[String]) -> QueryError {
    match store
        .list_executions(PROJECT, "fn1", &ListParams::with_queries(list.to_vec()))
        .await
    {
        Err(StoreError::Query(err)) => err,
        other => panic!("expected a query error for {list:?}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_are_rejected_with_a_message_naming_the_problem() {
    let (_dir, store) = executions_fixture().await;
    let one = |v: Value| vec![v.to_string()];

    let err = query_error(&store, &one(equal("logs", json!(["x"])))).await;
    assert!(
        matches!(err, QueryError::UnknownAttribute { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("'logs'") && message.contains("responseStatusCode"),
        "{message}"
    );

    let err = query_error(&store, &one(equal("duration", json!(["abc"])))).await;
    assert!(matches!(err, QueryError::WrongValueType { .. }), "{err:?}");
    assert!(err.to_string().contains("float"), "{err}");
    let err = query_error(
        &store,
        &one(q("greaterThan", "$createdAt", json!(["yesterday"]))),
    )
    .await;
    assert!(matches!(err, QueryError::WrongValueType { .. }), "{err:?}");
    let err = query_error(&store, &one(equal("responseStatusCode", json!([1.5])))).await;
    assert!(matches!(err, QueryError::WrongValueType { .. }), "{err:?}");

    let err = query_error(&store, &["{not json".to_owned()]).await;
    assert!(matches!(err, QueryError::InvalidJson { .. }), "{err:?}");
    let err = query_error(&store, &["[1,2]".to_owned()]).await;
    assert!(matches!(err, QueryError::NotAnObject { .. }), "{err:?}");
    let err = query_error(&store, &one(q("like", "status", json!(["x"])))).await;
    assert!(matches!(err, QueryError::UnknownMethod { .. }), "{err:?}");
    assert!(err.to_string().contains("cursorAfter"), "{err}");
    let err = query_error(&store, &one(json!({"method": "equal", "values": ["x"]}))).await;
    assert!(
        matches!(err, QueryError::MissingAttribute { .. }),
        "{err:?}"
    );
    let err = query_error(&store, &one(q("between", "duration", json!([1])))).await;
    assert!(matches!(err, QueryError::WrongValueCount { .. }), "{err:?}");
    let err = query_error(
        &store,
        &one(q("startsWith", "responseStatusCode", json!(["2"]))),
    )
    .await;
    assert!(
        matches!(err, QueryError::MethodNotForType { .. }),
        "{err:?}"
    );

    let err = query_error(&store, &vec![limit(1).to_string(); 101]).await;
    assert!(matches!(err, QueryError::TooMany { got: 101 }), "{err:?}");
    let long = one(equal("requestPath", json!(["x".repeat(4100)])));
    let err = query_error(&store, &long).await;
    assert!(matches!(err, QueryError::TooLong { .. }), "{err:?}");
    for bad in [json!(5001), json!(-1), json!("ten")] {
        let err = query_error(&store, &one(json!({"method": "limit", "values": [bad]}))).await;
        assert!(matches!(err, QueryError::OutOfRange { .. }), "{err:?}");
    }
    let err = query_error(&store, &one(json!({"method": "offset", "values": [5001]}))).await;
    assert!(matches!(err, QueryError::OutOfRange { .. }), "{err:?}");
    let err = query_error(&store, &[limit(1).to_string(), limit(2).to_string()]).await;
    assert!(matches!(err, QueryError::Duplicate { .. }), "{err:?}");
    let err = query_error(
        &store,
        &[
            cursor_after("e1").to_string(),
            cursor_before("e2").to_string(),
        ],
    )
    .await;
    assert!(matches!(err, QueryError::Duplicate { .. }), "{err:?}");
    let err = query_error(&store, &one(json!({"method": "or", "values": [limit(1)]}))).await;
    assert!(
        matches!(err, QueryError::NotAllowedNested { .. }),
        "{err:?}"
    );
    let mut deep = equal("status", json!(["failed"]));
    for _ in 0..4 {
        deep = json!({"method": "and", "values": [deep]});
    }
    let err = query_error(&store, &one(deep)).await;
    assert!(matches!(err, QueryError::NestingTooDeep), "{err:?}");

    // Through the StoreError the gateway sees a readable message.
    let err = store
        .list_executions(PROJECT, "fn1", &queries(&[equal("nope", json!([1]))]))
        .await
        .expect_err("bad");
    assert!(
        err.to_string()
            .starts_with("invalid query: attribute 'nope'"),
        "{err}"
    );
}
