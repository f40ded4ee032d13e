//! Executions: records, the async queue (claim, requeue) and the batching writer's sink.

use std::sync::{Arc, LazyLock, Mutex};

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::functions;
use super::list;
use super::rows::{enum_col, is_foreign_key_violation, is_unique_violation, json_col, to_json};
use crate::error::{Entity, Result, StoreError};
use crate::models::{DueQueue, Execution, ExecutionStatus, ListParams, Page, QueuedCounts};
use crate::query::{Collection, ListPlan, SqlValue};
use crate::time::Timestamp;
use crate::writer::{ExecutionSink, ExecutionWrite};

/// Every column, in the order of the `?N` placeholders of [`INSERT`] and [`UPDATE`].
const COLUMNS: &str = "project_id, id, function_id, deployment_id, trigger_type, status, \
    request_method, request_path, request_headers, request_body, response_status_code, \
    response_body, response_headers, logs, errors, duration, scheduled_at, fuel_consumed, \
    peak_memory_bytes, permissions, user_id, created_at, updated_at";

/// Lists skip the request body, which can be megabytes and is not part of the API model.
const LIST_COLUMNS: &str = "project_id, id, function_id, deployment_id, trigger_type, status, \
    request_method, request_path, request_headers, x'' AS request_body, response_status_code, \
    response_body, response_headers, logs, errors, duration, scheduled_at, fuel_consumed, \
    peak_memory_bytes, permissions, user_id, created_at, updated_at";

const INSERT: &str = "INSERT INTO executions (project_id, id, function_id, deployment_id, \
    trigger_type, status, request_method, request_path, request_headers, request_body, \
    response_status_code, response_body, response_headers, logs, errors, duration, scheduled_at, \
    fuel_consumed, peak_memory_bytes, permissions, user_id, created_at, updated_at) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, \
    ?20, ?21, ?22, ?23)";

/// The fields an update replaces: all but the key, the function and `created_at`.
const MUTABLE: &str = "deployment_id = ?4, trigger_type = ?5, status = ?6, request_method = ?7, \
    request_path = ?8, request_headers = ?9, request_body = ?10, response_status_code = ?11, \
    response_body = ?12, response_headers = ?13, logs = ?14, errors = ?15, duration = ?16, \
    scheduled_at = ?17, fuel_consumed = ?18, peak_memory_bytes = ?19, permissions = ?20, \
    user_id = ?21, updated_at = ?23";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Execution> {
    Ok(Execution {
        id: row.get("id")?,
        project_id: row.get("project_id")?,
        function_id: row.get("function_id")?,
        deployment_id: row.get("deployment_id")?,
        trigger: enum_col(row, "trigger_type")?,
        status: enum_col(row, "status")?,
        request_method: row.get("request_method")?,
        request_path: row.get("request_path")?,
        request_headers: json_col(row, "request_headers")?,
        request_body: row.get("request_body")?,
        response_status_code: row.get("response_status_code")?,
        response_body: row.get("response_body")?,
        response_headers: json_col(row, "response_headers")?,
        logs: row.get("logs")?,
        errors: row.get("errors")?,
        duration: row.get("duration")?,
        scheduled_at: row.get("scheduled_at")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        fuel_consumed: row.get("fuel_consumed")?,
        peak_memory_bytes: row.get("peak_memory_bytes")?,
        permissions: json_col(row, "permissions")?,
        user_id: row.get("user_id")?,
    })
}

/// Runs `sql` with the execution's fields bound to `?1..?23` in [`COLUMNS`] order.
fn execute_with(conn: &Connection, sql: &str, e: &Execution) -> Result<usize> {
    let changed = conn.prepare_cached(sql)?.execute(params![
        e.project_id,
        e.id,
        e.function_id,
        e.deployment_id,
        e.trigger.as_str(),
        e.status.as_str(),
        e.request_method,
        e.request_path,
        to_json(&e.request_headers)?,
        e.request_body,
        e.response_status_code,
        e.response_body,
        to_json(&e.response_headers)?,
        e.logs,
        e.errors,
        e.duration,
        e.scheduled_at,
        e.fuel_consumed,
        e.peak_memory_bytes,
        to_json(&e.permissions)?,
        e.user_id,
        e.created_at,
        e.updated_at,
    ])?;
    Ok(changed)
}

fn find(
    conn: &Connection,
    project_id: &str,
    function_id: &str,
    id: &str,
) -> Result<Option<Execution>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM executions WHERE project_id = ?1 AND function_id = ?2 AND id = ?3"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([project_id, function_id, id], from_row)
        .optional()?)
}

pub(crate) fn get(
    conn: &Connection,
    project_id: &str,
    function_id: &str,
    id: &str,
) -> Result<Execution> {
    find(conn, project_id, function_id, id)?
        .ok_or_else(|| StoreError::not_found(Entity::Execution, id))
}

pub(crate) fn insert(conn: &mut Connection, e: Execution) -> Result<Execution> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    functions::require(&tx, &e.project_id, &e.function_id)?;
    let taken = tx
        .prepare_cached("SELECT 1 FROM executions WHERE project_id = ?1 AND id = ?2")?
        .exists([&e.project_id, &e.id])?;
    if taken {
        return Err(StoreError::id_exists(Entity::Execution, e.id));
    }
    execute_with(&tx, INSERT, &e)?;
    tx.commit()?;
    Ok(e)
}

/// Insert-or-update of a whole record, used by the batching writer. On update the function and
/// `created_at` of the existing row are kept.
fn upsert(conn: &Connection, e: &Execution) -> Result<()> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!("{INSERT} ON CONFLICT (project_id, id) DO UPDATE SET {MUTABLE_FROM_EXCLUDED}")
    });
    execute_with(conn, &SQL, e).map(drop)
}

/// [`MUTABLE`] for `ON CONFLICT DO UPDATE`: every replaced column takes the attempted row's value.
const MUTABLE_FROM_EXCLUDED: &str = "deployment_id = excluded.deployment_id, \
    trigger_type = excluded.trigger_type, status = excluded.status, \
    request_method = excluded.request_method, request_path = excluded.request_path, \
    request_headers = excluded.request_headers, request_body = excluded.request_body, \
    response_status_code = excluded.response_status_code, response_body = excluded.response_body, \
    response_headers = excluded.response_headers, logs = excluded.logs, errors = excluded.errors, \
    duration = excluded.duration, scheduled_at = excluded.scheduled_at, \
    fuel_consumed = excluded.fuel_consumed, peak_memory_bytes = excluded.peak_memory_bytes, \
    permissions = excluded.permissions, user_id = excluded.user_id, \
    updated_at = excluded.updated_at";

pub(crate) fn update(conn: &mut Connection, e: Execution) -> Result<Execution> {
    let sql = format!(
        "UPDATE executions SET {MUTABLE} WHERE project_id = ?1 AND id = ?2 AND function_id = ?3"
    );
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if execute_with(&tx, &sql, &e)? == 0 {
        return Err(StoreError::not_found(Entity::Execution, e.id));
    }
    let stored = get(&tx, &e.project_id, &e.function_id, &e.id)?;
    tx.commit()?;
    Ok(stored)
}

pub(crate) fn delete(
    conn: &mut Connection,
    project_id: &str,
    function_id: &str,
    id: &str,
) -> Result<()> {
    let deleted = conn
        .prepare_cached(
            "DELETE FROM executions WHERE project_id = ?1 AND function_id = ?2 AND id = ?3",
        )?
        .execute([project_id, function_id, id])?;
    if deleted == 0 {
        return Err(StoreError::not_found(Entity::Execution, id));
    }
    Ok(())
}

pub(crate) fn list_plan(
    project_id: &str,
    function_id: &str,
    user_id: Option<&str>,
    params: &ListParams,
) -> Result<ListPlan> {
    let mut scope = vec![
        ("project_id", SqlValue::Text(project_id.to_owned())),
        ("function_id", SqlValue::Text(function_id.to_owned())),
    ];
    if let Some(user_id) = user_id {
        scope.push(("user_id", SqlValue::Text(user_id.to_owned())));
    }
    list::plan(Collection::Executions, params, scope)
}

pub(crate) fn list(conn: &Connection, plan: &ListPlan, count: bool) -> Result<Page<Execution>> {
    list::run(conn, plan, count, LIST_COLUMNS, from_row)
}

/// The condition of the partial `executions_queue` index (migration 002), repeated in the queue's
/// queries so SQLite can use the index.
const QUEUED: &str = "status IN ('waiting', 'scheduled', 'processing')";

pub(crate) fn claim_due(
    conn: &mut Connection,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<Execution>> {
    // One immediate transaction selects and flips the rows, so no other claimer (in this process or
    // another) can see them as due in between.
    let sql = format!(
        "UPDATE executions SET status = 'processing', updated_at = ?1 WHERE rowid IN ( \
           SELECT rowid FROM executions \
           WHERE {QUEUED} AND (status = 'waiting' OR (status = 'scheduled' AND scheduled_at <= ?1)) \
           ORDER BY COALESCE(scheduled_at, created_at), created_at, id LIMIT ?2) \
         RETURNING {COLUMNS}"
    );
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut claimed = {
        let mut statement = tx.prepare_cached(&sql)?;
        statement
            .query_map(params![now, limit], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?
    };
    tx.commit()?;
    // RETURNING yields rows in no promised order; hand them out oldest-due first.
    claimed.sort_by(|a, b| {
        let due = |e: &Execution| (e.scheduled_at.unwrap_or(e.created_at), e.created_at);
        due(a).cmp(&due(b)).then_with(|| a.id.cmp(&b.id))
    });
    if !claimed.is_empty() {
        tracing::debug!(count = claimed.len(), "claimed due executions");
    }
    Ok(claimed)
}

pub(crate) fn due_queue(conn: &Connection, now: Timestamp) -> Result<DueQueue> {
    let sql = format!(
        "SELECT COUNT(*), MIN(COALESCE(scheduled_at, created_at)) FROM executions \
         WHERE {QUEUED} AND (status = 'waiting' OR (status = 'scheduled' AND scheduled_at <= ?1))"
    );
    let (depth, oldest_due): (i64, Option<Timestamp>) = conn
        .prepare_cached(&sql)?
        .query_row(params![now], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(DueQueue {
        depth: u64::try_from(depth).unwrap_or_default(),
        oldest_due,
    })
}

/// Matches the partial `executions_queued_by_function` index (migration 004).
const WAITING: &str = "status IN ('waiting', 'scheduled')";

pub(crate) fn count_queued(
    conn: &Connection,
    project_id: &str,
    function_id: &str,
) -> Result<QueuedCounts> {
    let sql = format!(
        "SELECT COUNT(*), COALESCE(SUM(function_id = ?2), 0) FROM executions \
         WHERE {WAITING} AND project_id = ?1"
    );
    let (project, function): (i64, i64) = conn
        .prepare_cached(&sql)?
        .query_row(params![project_id, function_id], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    Ok(QueuedCounts {
        project: u64::try_from(project).unwrap_or_default(),
        function: u64::try_from(function).unwrap_or_default(),
    })
}

pub(crate) fn requeue_processing(conn: &mut Connection) -> Result<u64> {
    let requeued = conn
        .prepare_cached(&format!(
            "UPDATE executions SET status = ?1, updated_at = ?2 WHERE {QUEUED} AND status = ?3"
        ))?
        .execute(params![
            ExecutionStatus::Waiting.as_str(),
            Timestamp::now(),
            ExecutionStatus::Processing.as_str()
        ])?;
    if requeued > 0 {
        tracing::warn!(
            requeued,
            "executions interrupted by a restart were queued again"
        );
    }
    Ok(requeued as u64)
}

/// The batching writer's SQLite side: one immediate transaction per batch on the shared writer
/// connection, one savepoint per record so a bad record fails alone.
pub(crate) struct SqliteExecutionSink {
    pub(crate) writer: Arc<Mutex<Connection>>,
}

impl ExecutionSink for SqliteExecutionSink {
    fn commit_batch(&mut self, batch: &[ExecutionWrite]) -> Result<Vec<Result<()>>> {
        let mut conn = super::lock(&self.writer);
        if commit_all(&mut conn, batch)? {
            return Ok(batch.iter().map(|_| Ok(())).collect());
        }
        commit_each(&mut conn, batch)
    }
}

/// The common case: every record is fine, so the batch needs no savepoints. Returns false
/// (having rolled back) when some record fails, so that [`commit_each`] can find which.
fn commit_all(conn: &mut Connection, batch: &[ExecutionWrite]) -> Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for write in batch {
        if upsert(&tx, &write.execution).is_err() {
            // Dropping the transaction rolls it back.
            return Ok(false);
        }
    }
    tx.commit()?;
    Ok(true)
}

/// One savepoint per record, so a bad record fails alone and the rest still commit.
fn commit_each(conn: &mut Connection, batch: &[ExecutionWrite]) -> Result<Vec<Result<()>>> {
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for write in batch {
        let savepoint = tx.savepoint()?;
        match upsert(&savepoint, &write.execution) {
            Ok(()) => {
                savepoint.commit()?;
                outcomes.push(Ok(()));
            }
            // Dropping the savepoint rolls back just this record.
            Err(err) => outcomes.push(Err(explain_write_error(err, &write.execution))),
        }
    }
    tx.commit()?;
    Ok(outcomes)
}

/// Turns a foreign-key failure (the function is gone) into `NotFound(Function)`.
fn explain_write_error(err: StoreError, e: &Execution) -> StoreError {
    if let StoreError::Backend(source) = &err
        && let Some(sqlite) = source.downcast_ref::<rusqlite::Error>()
    {
        if is_foreign_key_violation(sqlite) {
            return StoreError::not_found(Entity::Function, e.function_id.clone());
        }
        if is_unique_violation(sqlite) {
            return StoreError::id_exists(Entity::Execution, e.id.clone());
        }
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(conn: &Connection, sql: &str) -> String {
        let mut statement = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let rows = statement
            .query_map([], |row| row.get::<_, String>(3))
            .expect("plan rows");
        rows.map(|row| row.expect("row"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[test]
    fn the_queue_queries_search_the_partial_index_instead_of_scanning() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = super::super::conn::open_writer(
            &dir.path().join("wafer.db"),
            std::time::Duration::from_secs(1),
        )
        .expect("open");
        let claim = format!(
            "SELECT rowid FROM executions WHERE {QUEUED} AND (status = 'waiting' OR \
             (status = 'scheduled' AND scheduled_at <= 1))"
        );
        let requeue = format!(
            "UPDATE executions SET status = 'waiting' WHERE {QUEUED} AND status = 'processing'"
        );
        for sql in [claim, requeue] {
            let plan = plan(&conn, &sql);
            assert!(plan.contains("INDEX executions_queue"), "{sql}: {plan}");
        }
    }
}
