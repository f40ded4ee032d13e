//! Housekeeping queries: which uploads and artifacts are still referenced, which deployments
//! were abandoned, and the execution retention limits. Every delete works in bounded batches,
//! so a large cleanup never holds the writer for long.

use std::collections::HashSet;

use rusqlite::{Connection, params};

use super::deployments;
use crate::error::Result;
use crate::models::Deployment;
use crate::time::Timestamp;

/// The deployments, of any project, whose ids are in `ids`; unknown ids are left out.
pub(crate) fn find_deployments(conn: &Connection, ids: &[String]) -> Result<Vec<Deployment>> {
    let sql = format!(
        "SELECT {} FROM deployments WHERE id = ?1",
        deployments::COLUMNS
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let mut found = Vec::new();
    for id in ids {
        let rows = statement.query_map([id], deployments::from_row)?;
        for row in rows {
            found.push(row?);
        }
    }
    Ok(found)
}

/// Every artifact a deployment of any project refers to.
pub(crate) fn artifacts_in_use(conn: &Connection) -> Result<HashSet<String>> {
    let mut statement = conn
        .prepare_cached("SELECT DISTINCT artifact_id FROM deployments WHERE artifact_id <> ''")?;
    let ids = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<HashSet<_>>>()?;
    Ok(ids)
}

const FINISHED: &str = "status IN ('completed', 'failed')";

/// Deletes up to `limit` finished executions created before `before`; returns how many.
pub(crate) fn delete_executions_before(
    conn: &mut Connection,
    before: Timestamp,
    limit: u32,
) -> Result<u64> {
    let sql = format!(
        "DELETE FROM executions WHERE rowid IN ( \
           SELECT rowid FROM executions WHERE {FINISHED} AND created_at < ?1 LIMIT ?2)"
    );
    let deleted = conn.prepare_cached(&sql)?.execute(params![before, limit])?;
    Ok(deleted as u64)
}

/// Deletes up to `limit` finished executions beyond the newest `keep` of each function; returns
/// how many.
pub(crate) fn trim_executions(conn: &mut Connection, keep: u64, limit: u32) -> Result<u64> {
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    let sql = format!(
        "DELETE FROM executions WHERE rowid IN ( \
           SELECT rowid FROM ( \
             SELECT rowid, ROW_NUMBER() OVER ( \
               PARTITION BY project_id, function_id ORDER BY created_at DESC, id DESC) AS newer \
             FROM executions WHERE {FINISHED}) \
           WHERE newer > ?1 LIMIT ?2)"
    );
    let deleted = conn.prepare_cached(&sql)?.execute(params![keep, limit])?;
    Ok(deleted as u64)
}
