//! Functions.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::list;
use super::projects::require_project;
use super::rows::{json_col, opt_enum_col, to_json};
use crate::error::{Entity, Result, StoreError};
use crate::models::{Deployment, Function, ListParams, Page};
use crate::query::{Collection, SqlValue};
use crate::time::Timestamp;

pub(crate) const COLUMNS: &str = "id, project_id, name, runtime, execute, events, schedule, timeout, \
    enabled, logging, entrypoint, commands, scopes, specification, deployment_id, \
    deployment_created_at, latest_deployment_id, latest_deployment_created_at, \
    latest_deployment_status, fuel, memory_mb, outbound_hosts, reuse_instances, next_schedule_at, \
    created_at, updated_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Function> {
    Ok(Function {
        id: row.get("id")?,
        project_id: row.get("project_id")?,
        name: row.get("name")?,
        runtime: row.get("runtime")?,
        execute: json_col(row, "execute")?,
        events: json_col(row, "events")?,
        schedule: row.get("schedule")?,
        timeout: row.get("timeout")?,
        enabled: row.get("enabled")?,
        logging: row.get("logging")?,
        entrypoint: row.get("entrypoint")?,
        commands: row.get("commands")?,
        scopes: json_col(row, "scopes")?,
        specification: row.get("specification")?,
        deployment_id: row.get("deployment_id")?,
        deployment_created_at: row.get("deployment_created_at")?,
        latest_deployment_id: row.get("latest_deployment_id")?,
        latest_deployment_created_at: row.get("latest_deployment_created_at")?,
        latest_deployment_status: opt_enum_col(row, "latest_deployment_status")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        fuel: row.get("fuel")?,
        memory_mb: row.get("memory_mb")?,
        outbound_hosts: json_col(row, "outbound_hosts")?,
        reuse_instances: row.get("reuse_instances")?,
        next_schedule_at: row.get("next_schedule_at")?,
    })
}

pub(crate) fn find(conn: &Connection, project_id: &str, id: &str) -> Result<Option<Function>> {
    let sql = format!("SELECT {COLUMNS} FROM functions WHERE project_id = ?1 AND id = ?2");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([project_id, id], from_row)
        .optional()?)
}

pub(crate) fn get(conn: &Connection, project_id: &str, id: &str) -> Result<Function> {
    find(conn, project_id, id)?.ok_or_else(|| StoreError::not_found(Entity::Function, id))
}

/// Fails with `NotFound(Function)` unless the function exists in the project.
pub(crate) fn require(conn: &Connection, project_id: &str, id: &str) -> Result<()> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM functions WHERE project_id = ?1 AND id = ?2")?
        .exists([project_id, id])?;
    if !exists {
        return Err(StoreError::not_found(Entity::Function, id));
    }
    Ok(())
}

pub(crate) fn create(conn: &mut Connection, f: Function) -> Result<Function> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    require_project(&tx, &f.project_id)?;
    if find(&tx, &f.project_id, &f.id)?.is_some() {
        return Err(StoreError::id_exists(Entity::Function, f.id));
    }
    let now = Timestamp::now();
    let sql = "INSERT INTO functions (project_id, id, name, runtime, execute, events, schedule, \
               timeout, enabled, logging, entrypoint, commands, scopes, specification, fuel, \
               memory_mb, outbound_hosts, next_schedule_at, created_at, updated_at, \
               reuse_instances) \
               VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
               ?18, ?19, ?19, ?20)";
    tx.prepare_cached(sql)?.execute(params![
        f.project_id,
        f.id,
        f.name,
        f.runtime,
        to_json(&f.execute)?,
        to_json(&f.events)?,
        f.schedule,
        f.timeout,
        f.enabled,
        f.logging,
        f.entrypoint,
        f.commands,
        to_json(&f.scopes)?,
        f.specification,
        f.fuel,
        f.memory_mb,
        to_json(&f.outbound_hosts)?,
        f.next_schedule_at,
        now,
        f.reuse_instances,
    ])?;
    let stored = get(&tx, &f.project_id, &f.id)?;
    tx.commit()?;
    tracing::debug!(project = %stored.project_id, function = %stored.id, "function created");
    Ok(stored)
}

pub(crate) fn update(conn: &mut Connection, f: Function) -> Result<Function> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sql = "UPDATE functions SET name = ?3, runtime = ?4, execute = ?5, events = ?6, \
               schedule = ?7, timeout = ?8, enabled = ?9, logging = ?10, entrypoint = ?11, \
               commands = ?12, scopes = ?13, specification = ?14, fuel = ?15, memory_mb = ?16, \
               outbound_hosts = ?17, next_schedule_at = ?18, updated_at = ?19, \
               reuse_instances = ?20 \
               WHERE project_id = ?1 AND id = ?2";
    let updated = tx.prepare_cached(sql)?.execute(params![
        f.project_id,
        f.id,
        f.name,
        f.runtime,
        to_json(&f.execute)?,
        to_json(&f.events)?,
        f.schedule,
        f.timeout,
        f.enabled,
        f.logging,
        f.entrypoint,
        f.commands,
        to_json(&f.scopes)?,
        f.specification,
        f.fuel,
        f.memory_mb,
        to_json(&f.outbound_hosts)?,
        f.next_schedule_at,
        Timestamp::now(),
        f.reuse_instances,
    ])?;
    if updated == 0 {
        return Err(StoreError::not_found(Entity::Function, f.id));
    }
    let stored = get(&tx, &f.project_id, &f.id)?;
    tx.commit()?;
    Ok(stored)
}

/// Deletes the function; its deployments, chunks, executions and variables go with it through
/// `ON DELETE CASCADE`. Returns the deployments it had, whose files the caller removes.
pub(crate) fn delete(conn: &mut Connection, project_id: &str, id: &str) -> Result<Vec<Deployment>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sql = format!(
        "SELECT {} FROM deployments WHERE project_id = ?1 AND function_id = ?2",
        super::deployments::COLUMNS
    );
    let deployments = tx
        .prepare_cached(&sql)?
        .query_map([project_id, id], super::deployments::from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let deleted = tx
        .prepare_cached("DELETE FROM functions WHERE project_id = ?1 AND id = ?2")?
        .execute([project_id, id])?;
    if deleted == 0 {
        return Err(StoreError::not_found(Entity::Function, id));
    }
    tx.commit()?;
    tracing::debug!(project = project_id, function = id, "function deleted");
    Ok(deployments)
}

pub(crate) fn list_plan(project_id: &str, params: &ListParams) -> Result<crate::query::ListPlan> {
    let scope = vec![("project_id", SqlValue::Text(project_id.to_owned()))];
    list::plan(Collection::Functions, params, scope)
}

pub(crate) fn list(
    conn: &Connection,
    plan: &crate::query::ListPlan,
    count: bool,
) -> Result<Page<Function>> {
    list::run(conn, plan, count, COLUMNS, from_row)
}

pub(crate) fn list_due_schedules(
    conn: &Connection,
    now: Timestamp,
) -> Result<Vec<(String, Function)>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM functions WHERE next_schedule_at IS NOT NULL \
         AND next_schedule_at <= ?1 AND enabled = 1 AND schedule != '' \
         ORDER BY next_schedule_at, project_id, id"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let due = statement
        .query_map([now], from_row)?
        .map(|f| f.map(|f| (f.project_id.clone(), f)))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(due)
}

pub(crate) fn set_next_schedule(
    conn: &mut Connection,
    project_id: &str,
    id: &str,
    next: Option<Timestamp>,
) -> Result<()> {
    // `updated_at` stays: the scheduler's bookkeeping is not a change a user made.
    let updated = conn
        .prepare_cached(
            "UPDATE functions SET next_schedule_at = ?3 WHERE project_id = ?1 AND id = ?2",
        )?
        .execute(params![project_id, id, next])?;
    if updated == 0 {
        return Err(StoreError::not_found(Entity::Function, id));
    }
    Ok(())
}
