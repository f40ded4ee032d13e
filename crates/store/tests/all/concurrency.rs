//! Behaviour under concurrent callers: chunked uploads, the batching writer and queue claims.

use std::collections::HashSet;
use std::sync::Arc;

use crate::common::{self, PROJECT, deployment, execution, function};
use wafer_store::{
    Entity, ExecutionStatus, ExecutionWrite, MetadataStore, StoreError, Timestamp, WriterConfig,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_out_of_order_chunk_uploads_count_exactly_the_total() {
    let (_dir, store) = common::store().await;
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    store
        .create_deployment(PROJECT, deployment("fn1", "d1"))
        .await
        .expect("deployment");
    const TOTAL: u32 = 40;

    let mut tasks = Vec::new();
    for worker in 0..8_u32 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            // Each index is sent by two workers, in a different order per worker.
            let mine: Vec<u32> = (0..TOTAL).rev().filter(|i| i % 4 == worker % 4).collect();
            let mut seen = Vec::new();
            for index in mine {
                let progress = store
                    .record_chunk(PROJECT, "d1", index, TOTAL)
                    .await
                    .expect("chunk");
                assert!(progress.uploaded <= TOTAL);
                assert_eq!(progress.total, TOTAL);
                seen.push(progress.uploaded);
            }
            seen
        }));
    }
    let mut completions = 0;
    for task in tasks {
        let seen = task.await.expect("task");
        completions += seen.iter().filter(|n| **n == TOTAL).count();
    }
    assert!(completions >= 1, "some call observed the upload complete");
    let d = store
        .get_deployment(PROJECT, "fn1", "d1")
        .await
        .expect("deployment");
    assert_eq!((d.chunks_uploaded, d.chunks_total), (TOTAL, TOTAL));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batching_writer_commits_500_concurrent_writes_each_readable_once_acknowledged() {
    let (_dir, store) = common::store().await;
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    let config = WriterConfig {
        queue_capacity: 64,
        max_batch: 512,
    };
    let writer = store.spawn_execution_writer(config).expect("writer");

    let mut tasks = Vec::new();
    for i in 0..500_i64 {
        let (store, writer) = (Arc::clone(&store), writer.clone());
        tasks.push(tokio::spawn(async move {
            let mut e = execution("fn1", &format!("exec{i:03}"), 1_000 + i);
            e.status = ExecutionStatus::Processing;
            writer.write(e.clone()).await.expect("write");
            let stored = store
                .get_execution(PROJECT, "fn1", &e.id)
                .await
                .expect("readable");
            assert_eq!(stored, e);

            // An upsert of the same record replaces it but keeps its creation time.
            let mut done = e.clone();
            done.status = ExecutionStatus::Completed;
            done.logs = format!("run {i}");
            done.created_at = Timestamp(0);
            done.updated_at = Timestamp(9_000);
            writer
                .write(ExecutionWrite::from(done))
                .await
                .expect("update");
            let stored = store
                .get_execution(PROJECT, "fn1", &e.id)
                .await
                .expect("readable");
            assert_eq!(stored.status, ExecutionStatus::Completed);
            assert_eq!(stored.logs, format!("run {i}"));
            assert_eq!(stored.created_at, e.created_at);
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let page = store
        .list_executions(PROJECT, "fn1", &wafer_store::ListParams::default())
        .await
        .expect("list");
    assert_eq!(page.total, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_record_fails_alone_and_the_rest_of_its_batch_commits() {
    let (_dir, store) = common::store().await;
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    let writer = store
        .spawn_execution_writer(WriterConfig::default())
        .expect("writer");
    let mut tasks = Vec::new();
    for i in 0..50 {
        let writer = writer.clone();
        // Every fifth record belongs to a function that does not exist.
        let function_id = if i % 5 == 0 { "ghost" } else { "fn1" };
        let e = execution(function_id, &format!("e{i}"), i);
        tasks.push(tokio::spawn(async move { (i, writer.write(e).await) }));
    }
    for task in tasks {
        let (i, result) = task.await.expect("task");
        if i % 5 == 0 {
            assert!(
                matches!(
                    result,
                    Err(StoreError::NotFound {
                        entity: Entity::Function,
                        ..
                    })
                ),
                "{result:?}"
            );
        } else {
            result.expect("good record commits");
        }
    }
    let page = store
        .list_executions(PROJECT, "fn1", &wafer_store::ListParams::default())
        .await
        .expect("list");
    assert_eq!(page.total, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claimers_never_receive_the_same_execution() {
    let (_dir, store) = common::store().await;
    store
        .create_function(PROJECT, function("fn1"))
        .await
        .expect("function");
    const QUEUED: usize = 200;
    let writer = store
        .spawn_execution_writer(WriterConfig::default())
        .expect("writer");
    let mut writes = Vec::new();
    for i in 0..QUEUED {
        let writer = writer.clone();
        let mut e = execution("fn1", &format!("q{i:03}"), i as i64);
        e.status = if i % 2 == 0 {
            ExecutionStatus::Waiting
        } else {
            ExecutionStatus::Scheduled
        };
        e.scheduled_at = (i % 2 == 1).then_some(Timestamp(500));
        writes.push(tokio::spawn(async move { writer.write(e).await }));
    }
    for write in writes {
        write.await.expect("task").expect("queued");
    }

    let mut claimers = Vec::new();
    for _ in 0..4 {
        let store: Arc<dyn MetadataStore> = Arc::clone(&store);
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim_due_executions(Timestamp(1_000), 7)
                    .await
                    .expect("claim");
                if batch.is_empty() {
                    return mine;
                }
                assert!(
                    batch
                        .iter()
                        .all(|e| e.status == ExecutionStatus::Processing)
                );
                mine.extend(batch.into_iter().map(|e| e.id));
            }
        }));
    }
    let mut seen = HashSet::new();
    for claimer in claimers {
        for id in claimer.await.expect("claimer") {
            assert!(seen.insert(id.clone()), "{id} was handed out twice");
        }
    }
    assert_eq!(seen.len(), QUEUED);
}
