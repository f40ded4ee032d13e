//! Deployments, the function's active/latest deployment fields, and chunked-upload bookkeeping.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::functions;
use super::list;
use super::rows::enum_col;
use crate::error::{Entity, Result, StoreError};
use crate::models::{ChunkProgress, Deployment, Function, ListParams, Page};
use crate::query::{Collection, ListPlan, SqlValue};
use crate::time::Timestamp;

pub(super) const COLUMNS: &str = "id, project_id, function_id, deployment_type, entrypoint, source_size, \
    build_size, total_size, build_id, activate, status, build_logs, build_duration, artifact_id, \
    chunks_total, chunks_uploaded, created_at, updated_at";

/// The type stored when the caller leaves it empty.
const DEFAULT_TYPE: &str = "manual";

pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<Deployment> {
    Ok(Deployment {
        id: row.get("id")?,
        project_id: row.get("project_id")?,
        function_id: row.get("function_id")?,
        deployment_type: row.get("deployment_type")?,
        entrypoint: row.get("entrypoint")?,
        source_size: row.get("source_size")?,
        build_size: row.get("build_size")?,
        total_size: row.get("total_size")?,
        build_id: row.get("build_id")?,
        activate: row.get("activate")?,
        status: enum_col(row, "status")?,
        build_logs: row.get("build_logs")?,
        build_duration: row.get("build_duration")?,
        artifact_id: row.get("artifact_id")?,
        chunks_total: row.get("chunks_total")?,
        chunks_uploaded: row.get("chunks_uploaded")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

fn find(
    conn: &Connection,
    project_id: &str,
    function_id: &str,
    id: &str,
) -> Result<Option<Deployment>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deployments WHERE project_id = ?1 AND function_id = ?2 AND id = ?3"
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
) -> Result<Deployment> {
    find(conn, project_id, function_id, id)?
        .ok_or_else(|| StoreError::not_found(Entity::Deployment, id))
}

pub(crate) fn create(conn: &mut Connection, d: Deployment) -> Result<Deployment> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    functions::require(&tx, &d.project_id, &d.function_id)?;
    // Ids are unique per project, not per function: check without the function.
    let taken = tx
        .prepare_cached("SELECT 1 FROM deployments WHERE project_id = ?1 AND id = ?2")?
        .exists([&d.project_id, &d.id])?;
    if taken {
        return Err(StoreError::id_exists(Entity::Deployment, d.id));
    }
    let deployment_type = if d.deployment_type.is_empty() {
        DEFAULT_TYPE
    } else {
        d.deployment_type.as_str()
    };
    let sql = format!(
        "INSERT INTO deployments ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, \
         ?12, ?13, ?14, ?15, 0, ?16, ?16)"
    );
    tx.prepare_cached(&sql)?.execute(params![
        d.id,
        d.project_id,
        d.function_id,
        deployment_type,
        d.entrypoint,
        d.source_size,
        d.build_size,
        d.total_size,
        d.build_id,
        d.activate,
        d.status.as_str(),
        d.build_logs,
        d.build_duration,
        d.artifact_id,
        d.chunks_total,
        Timestamp::now(),
    ])?;
    sync_latest(&tx, &d.project_id, &d.function_id)?;
    let stored = get(&tx, &d.project_id, &d.function_id, &d.id)?;
    tx.commit()?;
    Ok(stored)
}

pub(crate) fn update(conn: &mut Connection, d: Deployment) -> Result<Deployment> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sql = "UPDATE deployments SET entrypoint = ?4, source_size = ?5, build_size = ?6, \
               total_size = ?7, build_id = ?8, activate = ?9, status = ?10, build_logs = ?11, \
               build_duration = ?12, artifact_id = ?13, chunks_total = ?14, updated_at = ?15 \
               WHERE project_id = ?1 AND function_id = ?2 AND id = ?3";
    let updated = tx.prepare_cached(sql)?.execute(params![
        d.project_id,
        d.function_id,
        d.id,
        d.entrypoint,
        d.source_size,
        d.build_size,
        d.total_size,
        d.build_id,
        d.activate,
        d.status.as_str(),
        d.build_logs,
        d.build_duration,
        d.artifact_id,
        d.chunks_total,
        Timestamp::now(),
    ])?;
    if updated == 0 {
        return Err(StoreError::not_found(Entity::Deployment, d.id));
    }
    sync_latest(&tx, &d.project_id, &d.function_id)?;
    let stored = get(&tx, &d.project_id, &d.function_id, &d.id)?;
    tx.commit()?;
    Ok(stored)
}

pub(crate) fn delete(
    conn: &mut Connection,
    project_id: &str,
    function_id: &str,
    id: &str,
) -> Result<Deployment> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let deployment = get(&tx, project_id, function_id, id)?;
    tx.prepare_cached("DELETE FROM deployments WHERE project_id = ?1 AND id = ?2")?
        .execute([project_id, id])?;
    // A function must never point at a deployment that is gone.
    tx.prepare_cached(
        "UPDATE functions SET deployment_id = '', deployment_created_at = NULL, updated_at = ?4 \
         WHERE project_id = ?1 AND id = ?2 AND deployment_id = ?3",
    )?
    .execute(params![project_id, function_id, id, Timestamp::now()])?;
    sync_latest(&tx, project_id, function_id)?;
    tx.commit()?;
    Ok(deployment)
}

pub(crate) fn list_plan(
    project_id: &str,
    function_id: &str,
    params: &ListParams,
) -> Result<ListPlan> {
    let scope = vec![
        ("project_id", SqlValue::Text(project_id.to_owned())),
        ("function_id", SqlValue::Text(function_id.to_owned())),
    ];
    list::plan(Collection::Deployments, params, scope)
}

pub(crate) fn list(conn: &Connection, plan: &ListPlan, count: bool) -> Result<Page<Deployment>> {
    list::run(conn, plan, count, COLUMNS, from_row)
}

pub(crate) fn activate(
    conn: &mut Connection,
    project_id: &str,
    function_id: &str,
    deployment_id: &str,
) -> Result<Function> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    functions::require(&tx, project_id, function_id)?;
    let deployment = get(&tx, project_id, function_id, deployment_id)?;
    tx.prepare_cached(
        "UPDATE functions SET deployment_id = ?3, deployment_created_at = ?4, updated_at = ?5 \
         WHERE project_id = ?1 AND id = ?2",
    )?
    .execute(params![
        project_id,
        function_id,
        deployment.id,
        deployment.created_at,
        Timestamp::now()
    ])?;
    let function = functions::get(&tx, project_id, function_id)?;
    tx.commit()?;
    tracing::debug!(
        project = project_id,
        function = function_id,
        deployment = deployment_id,
        "deployment activated"
    );
    Ok(function)
}

/// Points the function's `latest_deployment_*` at its newest deployment (or clears them). Recomputed
/// rather than patched, so creation, status changes and deletion share one always-correct rule.
fn sync_latest(tx: &Transaction<'_>, project_id: &str, function_id: &str) -> Result<()> {
    let newest = "FROM deployments WHERE project_id = ?1 AND function_id = ?2 \
                  ORDER BY created_at DESC, id DESC LIMIT 1";
    let sql = format!(
        "UPDATE functions SET \
         latest_deployment_id = COALESCE((SELECT id {newest}), ''), \
         latest_deployment_created_at = (SELECT created_at {newest}), \
         latest_deployment_status = COALESCE((SELECT status {newest}), '') \
         WHERE project_id = ?1 AND id = ?2"
    );
    tx.prepare_cached(&sql)?
        .execute([project_id, function_id])?;
    Ok(())
}

pub(crate) fn record_chunk(
    conn: &mut Connection,
    project_id: &str,
    deployment_id: &str,
    index: u32,
    total: u32,
) -> Result<ChunkProgress> {
    if total == 0 || index >= total {
        return Err(StoreError::InvalidArgument(format!(
            "chunk index {index} is outside an upload of {total} chunks"
        )));
    }
    // The single writer connection serializes concurrent calls; the immediate transaction also
    // guards against another process. Inserting the index (ignored when already there) and counting
    // the rows makes a repeated chunk harmless.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let known: Option<u32> = tx
        .prepare_cached("SELECT chunks_total FROM deployments WHERE project_id = ?1 AND id = ?2")?
        .query_row([project_id, deployment_id], |row| row.get(0))
        .optional()?;
    let known = known.ok_or_else(|| StoreError::not_found(Entity::Deployment, deployment_id))?;
    if known != 0 && known != total {
        return Err(StoreError::InvalidArgument(format!(
            "upload announced {known} chunks, this chunk says {total}"
        )));
    }
    tx.prepare_cached(
        "INSERT INTO deployment_chunks (project_id, deployment_id, chunk_index) VALUES (?1, ?2, ?3) \
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![project_id, deployment_id, index])?;
    let uploaded: u32 = tx
        .prepare_cached(
            "SELECT COUNT(*) FROM deployment_chunks WHERE project_id = ?1 AND deployment_id = ?2",
        )?
        .query_row([project_id, deployment_id], |row| row.get(0))?;
    tx.prepare_cached(
        "UPDATE deployments SET chunks_total = ?3, chunks_uploaded = ?4, updated_at = ?5 \
         WHERE project_id = ?1 AND id = ?2",
    )?
    .execute(params![
        project_id,
        deployment_id,
        total,
        uploaded,
        Timestamp::now()
    ])?;
    tx.commit()?;
    Ok(ChunkProgress { uploaded, total })
}
