//! Function variables.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::functions;
use super::list;
use crate::error::{Entity, Result, StoreError};
use crate::models::{ListParams, Page, Variable};
use crate::query::{Collection, ListPlan, SqlValue};
use crate::time::Timestamp;

const COLUMNS: &str = "id, project_id, function_id, key, value, secret, created_at, updated_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Variable> {
    Ok(Variable {
        id: row.get("id")?,
        project_id: row.get("project_id")?,
        function_id: row.get("function_id")?,
        key: row.get("key")?,
        value: row.get("value")?,
        secret: row.get("secret")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

fn find(
    conn: &Connection,
    project_id: &str,
    function_id: &str,
    id: &str,
) -> Result<Option<Variable>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM variables WHERE project_id = ?1 AND function_id = ?2 AND id = ?3"
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
) -> Result<Variable> {
    find(conn, project_id, function_id, id)?
        .ok_or_else(|| StoreError::not_found(Entity::Variable, id))
}

/// The id of the function's variable named `key`, if any.
fn id_of_key(
    conn: &Connection,
    project_id: &str,
    function_id: &str,
    key: &str,
) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM variables WHERE project_id = ?1 AND function_id = ?2 AND key = ?3",
        )?
        .query_row([project_id, function_id, key], |row| row.get(0))
        .optional()?)
}

fn key_exists(key: &str) -> StoreError {
    StoreError::AlreadyExists {
        entity: Entity::Variable,
        field: "key",
        value: key.to_owned(),
    }
}

pub(crate) fn create(conn: &mut Connection, v: Variable) -> Result<Variable> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    functions::require(&tx, &v.project_id, &v.function_id)?;
    let id_taken = tx
        .prepare_cached("SELECT 1 FROM variables WHERE project_id = ?1 AND id = ?2")?
        .exists([&v.project_id, &v.id])?;
    if id_taken {
        return Err(StoreError::id_exists(Entity::Variable, v.id));
    }
    if id_of_key(&tx, &v.project_id, &v.function_id, &v.key)?.is_some() {
        return Err(key_exists(&v.key));
    }
    let sql = format!("INSERT INTO variables ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)");
    tx.prepare_cached(&sql)?.execute(params![
        v.id,
        v.project_id,
        v.function_id,
        v.key,
        v.value,
        v.secret,
        Timestamp::now(),
    ])?;
    let stored = get(&tx, &v.project_id, &v.function_id, &v.id)?;
    tx.commit()?;
    Ok(stored)
}

pub(crate) fn update(conn: &mut Connection, v: Variable) -> Result<Variable> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    get(&tx, &v.project_id, &v.function_id, &v.id)?;
    match id_of_key(&tx, &v.project_id, &v.function_id, &v.key)? {
        Some(other) if other != v.id => return Err(key_exists(&v.key)),
        _ => {}
    }
    tx.prepare_cached(
        "UPDATE variables SET key = ?4, value = ?5, secret = ?6, updated_at = ?7 \
         WHERE project_id = ?1 AND function_id = ?2 AND id = ?3",
    )?
    .execute(params![
        v.project_id,
        v.function_id,
        v.id,
        v.key,
        v.value,
        v.secret,
        Timestamp::now()
    ])?;
    let stored = get(&tx, &v.project_id, &v.function_id, &v.id)?;
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
            "DELETE FROM variables WHERE project_id = ?1 AND function_id = ?2 AND id = ?3",
        )?
        .execute([project_id, function_id, id])?;
    if deleted == 0 {
        return Err(StoreError::not_found(Entity::Variable, id));
    }
    Ok(())
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
    list::plan(Collection::Variables, params, scope)
}

pub(crate) fn list(conn: &Connection, plan: &ListPlan, count: bool) -> Result<Page<Variable>> {
    list::run(conn, plan, count, COLUMNS, from_row)
}

pub(crate) fn all(conn: &Connection, project_id: &str, function_id: &str) -> Result<Vec<Variable>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM variables WHERE project_id = ?1 AND function_id = ?2 \
         ORDER BY created_at, id"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let variables = statement
        .query_map([project_id, function_id], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(variables)
}

/// Every secret variable of every project, values as stored.
pub(crate) fn all_secret(conn: &Connection) -> Result<Vec<Variable>> {
    let sql = format!("SELECT {COLUMNS} FROM variables WHERE secret = 1 ORDER BY project_id, id");
    let mut statement = conn.prepare_cached(&sql)?;
    let variables = statement
        .query_map([], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(variables)
}

pub(crate) fn master_key_check(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT sealed FROM master_key_check WHERE id = 1")?
        .query_row([], |row| row.get(0))
        .optional()?)
}

/// Replaces the stored values of `variables` (leaving `updated_at` alone: the values did not
/// change, only their sealing) and the master-key check, in one transaction. Overwritten
/// content is zeroed and the WAL emptied afterwards, so a value that was stored in plaintext
/// does not linger in free pages or old WAL frames.
pub(crate) fn reseal(conn: &mut Connection, variables: &[Variable], key_check: &str) -> Result<()> {
    conn.pragma_update(None, "secure_delete", true)?;
    let resealed = reseal_in_transaction(conn, variables, key_check);
    let truncated = resealed.and_then(|()| {
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(Into::into)
    });
    conn.pragma_update(None, "secure_delete", false)?;
    truncated
}

fn reseal_in_transaction(
    conn: &mut Connection,
    variables: &[Variable],
    key_check: &str,
) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut update = tx.prepare_cached(
            "UPDATE variables SET value = ?4 WHERE project_id = ?1 AND function_id = ?2 AND id = ?3",
        )?;
        for v in variables {
            update.execute(params![v.project_id, v.function_id, v.id, v.value])?;
        }
    }
    tx.prepare_cached(
        "INSERT INTO master_key_check (id, sealed) VALUES (1, ?1) \
         ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed",
    )?
    .execute([key_check])?;
    tx.commit()?;
    Ok(())
}
