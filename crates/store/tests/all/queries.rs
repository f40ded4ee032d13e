//! The query language end to end: every filter method, ordering, limit/offset, totals, each
//! collection's attributes and the list-level search.

use crate::common::{
    self, PROJECT, deployment, equal, execution_ids, executions_fixture, function, limit, q,
    queries, variable,
};
use serde_json::{Value, json};
use wafer_store::{DeploymentStatus, ListParams, QueryError, StoreError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_filter_method_selects_the_expected_executions() {
    let (_dir, store) = executions_fixture().await;
    let cases: Vec<(Value, &[&str])> = vec![
        (equal("status", json!(["completed"])), &["e1", "e2"]),
        (
            equal("status", json!(["completed", "failed"])),
            &["e1", "e2", "e3", "e4"],
        ),
        (
            q("notEqual", "status", json!(["completed"])),
            &["e3", "e4", "e5", "e6"],
        ),
        (
            q("lessThan", "responseStatusCode", json!([201])),
            &["e1", "e5", "e6"],
        ),
        (
            q("lessThanEqual", "responseStatusCode", json!([201])),
            &["e1", "e2", "e5", "e6"],
        ),
        (q("greaterThan", "duration", json!([1.5])), &["e4"]),
        (
            q("greaterThanEqual", "duration", json!([1.5])),
            &["e3", "e4"],
        ),
        (
            q("between", "responseStatusCode", json!([200, 404])),
            &["e1", "e2", "e4"],
        ),
        (
            q("notBetween", "responseStatusCode", json!([200, 404])),
            &["e3", "e5", "e6"],
        ),
        (q("isNull", "requestPath", json!([])), &[]),
        (
            q("isNotNull", "requestPath", json!([])),
            &["e1", "e2", "e3", "e4", "e5", "e6"],
        ),
        (
            q("startsWith", "requestPath", json!(["/users"])),
            &["e1", "e3"],
        ),
        (q("startsWith", "requestPath", json!(["/a_"])), &["e5"]),
        (
            q("notStartsWith", "requestPath", json!(["/users"])),
            &["e2", "e4", "e5", "e6"],
        ),
        (q("endsWith", "requestPath", json!(["_off"])), &["e4"]),
        (
            q("notEndsWith", "requestPath", json!(["_off"])),
            &["e1", "e2", "e3", "e5", "e6"],
        ),
        (q("contains", "requestPath", json!(["%"])), &["e4"]),
        (
            q("contains", "requestPath", json!(["list", "id="])),
            &["e1", "e3"],
        ),
        (
            q("notContains", "requestPath", json!(["users"])),
            &["e2", "e4", "e5", "e6"],
        ),
        (q("search", "requestPath", json!(["USERS"])), &["e1", "e3"]),
        (
            q("notSearch", "requestPath", json!(["users"])),
            &["e2", "e4", "e5", "e6"],
        ),
        (equal("trigger", json!(["schedule"])), &["e2"]),
        (equal("requestMethod", json!(["GET"])), &["e1", "e6"]),
        (equal("deploymentId", json!([""])), &["e5", "e6"]),
        (equal("$id", json!(["e2", "e5"])), &["e2", "e5"]),
        (equal("responseStatusCode", json!(["404"])), &["e4"]),
        (
            q(
                "greaterThanEqual",
                "$createdAt",
                json!(["1970-01-01T00:00:03.000+00:00"]),
            ),
            &["e3", "e4", "e5", "e6"],
        ),
        (
            q("lessThan", "$updatedAt", json!(["1970-01-01T00:00:02Z"])),
            &["e1"],
        ),
        (
            json!({"method": "createdBefore", "values": ["1970-01-01T00:00:02Z"]}),
            &["e1"],
        ),
        (
            json!({"method": "createdAfter", "values": ["1970-01-01T00:00:04Z"]}),
            &["e5", "e6"],
        ),
        (
            json!({"method": "updatedAfter", "values": ["1970-01-01T00:00:05Z"]}),
            &["e6"],
        ),
        (
            json!({"method": "updatedBefore", "values": ["1970-01-01T00:00:01.001Z"]}),
            &["e1"],
        ),
        (
            json!({"method": "and", "values": [
                equal("status", json!(["failed"])),
                q("greaterThan", "responseStatusCode", json!([400])),
                q("lessThan", "responseStatusCode", json!([500])),
            ]}),
            &["e4"],
        ),
        (
            json!({"method": "or", "values": [
                equal("trigger", json!(["schedule"])),
                json!({"method": "and", "values": [
                    equal("trigger", json!(["event"])),
                    equal("status", json!(["failed"])),
                ]}),
            ]}),
            &["e2", "e4"],
        ),
        // SDKs may also nest queries as JSON strings.
        (
            json!({"method": "or", "values": [
                equal("$id", json!(["e1"])).to_string(),
                equal("$id", json!(["e6"])).to_string(),
            ]}),
            &["e1", "e6"],
        ),
    ];
    for (query, expected) in cases {
        let ids = execution_ids(&store, std::slice::from_ref(&query)).await;
        assert_eq!(ids, expected, "{query}");
    }
    // Several top-level filters combine with AND.
    let both = [
        equal("status", json!(["failed"])),
        equal("requestMethod", json!(["POST"])),
    ];
    assert_eq!(execution_ids(&store, &both).await, ["e3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordering_limit_and_offset_shape_the_page() {
    let (_dir, store) = executions_fixture().await;
    let order_desc = json!({"method": "orderDesc", "attribute": "duration"});
    // Ties (e5, e6 at 0.0) break on the id in the direction of the last order.
    assert_eq!(
        execution_ids(&store, &[order_desc]).await,
        ["e4", "e3", "e2", "e1", "e6", "e5"]
    );
    let by_method = json!({"method": "orderAsc", "attribute": "requestMethod"});
    assert_eq!(
        execution_ids(&store, std::slice::from_ref(&by_method)).await,
        ["e4", "e1", "e6", "e2", "e3", "e5"]
    );
    let then_newest = json!({"method": "orderDesc", "attribute": "$createdAt"});
    assert_eq!(
        execution_ids(&store, &[by_method, then_newest]).await,
        ["e4", "e6", "e1", "e3", "e2", "e5"]
    );
    let newest_first = json!({"method": "orderDesc", "attribute": "$createdAt"});
    assert_eq!(
        execution_ids(&store, &[newest_first, limit(2)]).await,
        ["e6", "e5"]
    );
    let offset = json!({"method": "offset", "values": [2]});
    assert_eq!(
        execution_ids(&store, &[limit(2), offset]).await,
        ["e3", "e4"]
    );

    let page = store
        .list_executions(PROJECT, "fn1", &queries(&[limit(2)]))
        .await
        .expect("page");
    assert_eq!(page.total, 6, "total ignores limit and offset");
    assert_eq!(page.items.len(), 2);
    let uncounted = ListParams {
        total: false,
        ..queries(&[limit(2)])
    };
    let page = store
        .list_executions(PROJECT, "fn1", &uncounted)
        .await
        .expect("page");
    assert_eq!(page.total, 0, "total=false skips counting");
    assert_eq!(page.items.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_deployments_and_variables_have_their_own_queryable_attributes() {
    let (_dir, store) = common::store().await;
    let mut f1 = function("alpha");
    f1.timeout = 300;
    f1.schedule = "0 * * * *".into();
    f1.entrypoint = "main.js".into();
    store.create_function(PROJECT, f1).await.expect("alpha");
    let mut f2 = function("beta");
    f2.enabled = false;
    f2.runtime = "node-22".into();
    store.create_function(PROJECT, f2).await.expect("beta");
    let list = |list: Vec<Value>| {
        let store = store.clone();
        async move {
            let page = store
                .list_functions(PROJECT, &queries(&list))
                .await
                .expect("list");
            page.items.into_iter().map(|f| f.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(list(vec![equal("enabled", json!([false]))]).await, ["beta"]);
    assert_eq!(
        list(vec![q("greaterThan", "timeout", json!([100]))]).await,
        ["alpha"]
    );
    assert_eq!(
        list(vec![equal("runtime", json!(["node-22"]))]).await,
        ["beta"]
    );
    assert_eq!(
        list(vec![q("startsWith", "name", json!(["function b"]))]).await,
        ["beta"]
    );
    assert_eq!(
        list(vec![q("notEqual", "schedule", json!([""]))]).await,
        ["alpha"]
    );
    assert_eq!(
        list(vec![equal("entrypoint", json!(["main.js"]))]).await,
        ["alpha"]
    );
    assert_eq!(
        list(vec![equal("deploymentId", json!([""]))]).await,
        ["alpha", "beta"]
    );

    let mut d = deployment("alpha", "d1");
    d.build_size = 10;
    d.total_size = 1034;
    d.build_duration = 7;
    d.activate = true;
    store.create_deployment(PROJECT, d).await.expect("d1");
    let mut d = deployment("alpha", "d2");
    d.status = DeploymentStatus::Ready;
    d.deployment_type = "vcs".into();
    d.source_size = 5;
    store.create_deployment(PROJECT, d).await.expect("d2");
    let deployments = |list: Vec<Value>| {
        let store = store.clone();
        async move {
            let page = store
                .list_deployments(PROJECT, "alpha", &queries(&list))
                .await
                .expect("list");
            page.items.into_iter().map(|d| d.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        deployments(vec![equal("activate", json!([true]))]).await,
        ["d1"]
    );
    assert_eq!(
        deployments(vec![equal("status", json!(["ready"]))]).await,
        ["d2"]
    );
    assert_eq!(
        deployments(vec![equal("type", json!(["manual"]))]).await,
        ["d1"]
    );
    assert_eq!(
        deployments(vec![q("lessThan", "sourceSize", json!([100]))]).await,
        ["d2"]
    );
    assert_eq!(
        deployments(vec![q("greaterThan", "buildSize", json!([0]))]).await,
        ["d1"]
    );
    assert_eq!(
        deployments(vec![q("greaterThan", "totalSize", json!([1000]))]).await,
        ["d1"]
    );
    assert_eq!(
        deployments(vec![equal("buildDuration", json!([7]))]).await,
        ["d1"]
    );

    store
        .create_variable(PROJECT, variable("alpha", "v1", "PUBLIC"))
        .await
        .expect("v1");
    let mut secret = variable("alpha", "v2", "SECRET");
    secret.secret = true;
    store.create_variable(PROJECT, secret).await.expect("v2");
    let variables = |list: Vec<Value>| {
        let store = store.clone();
        async move {
            let page = store
                .list_variables(PROJECT, "alpha", &queries(&list))
                .await
                .expect("list");
            page.items.into_iter().map(|v| v.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        variables(vec![equal("secret", json!(["true"]))]).await,
        ["v2"]
    );
    assert_eq!(
        variables(vec![equal("key", json!(["PUBLIC"]))]).await,
        ["v1"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_matches_id_name_and_runtime_case_insensitively_and_literally() {
    let (_dir, store) = common::store().await;
    for (id, name, runtime) in [
        ("hello1", "Hello World", "rust-1.95"),
        ("api2", "hello-api", "node-22"),
        ("other", "100% other", "python-3.12"),
    ] {
        let f = wafer_store::Function {
            name: name.into(),
            runtime: runtime.into(),
            ..function(id)
        };
        store.create_function(PROJECT, f).await.expect("create");
    }
    let search = |term: &'static str| {
        let store = store.clone();
        async move {
            let params = ListParams {
                search: Some(term.into()),
                ..ListParams::default()
            };
            let page = store
                .list_functions(PROJECT, &params)
                .await
                .expect("search");
            assert_eq!(page.total as usize, page.items.len());
            // Created within the same millisecond, the order may fall to the id: compare as sets.
            let mut ids: Vec<_> = page.items.into_iter().map(|f| f.id).collect();
            ids.sort_unstable();
            ids
        }
    };
    assert_eq!(search("HELLO").await, ["api2", "hello1"]);
    assert_eq!(search("node").await, ["api2"]);
    assert_eq!(search("api2").await, ["api2"]);
    assert_eq!(search("%").await, ["other"], "wildcards match literally");
    assert_eq!(search("_").await, Vec::<String>::new());
    assert_eq!(search("  ").await.len(), 3, "a blank search is no search");

    let too_long = ListParams {
        search: Some("x".repeat(257)),
        ..ListParams::default()
    };
    let err = store
        .list_functions(PROJECT, &too_long)
        .await
        .expect_err("too long");
    assert!(
        matches!(err, StoreError::Query(QueryError::SearchTooLong { .. })),
        "{err:?}"
    );
}
