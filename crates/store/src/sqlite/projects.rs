//! Projects and API keys.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use super::rows::{is_unique_violation, json_col, to_json};
use crate::error::{Entity, Result, StoreError};
use crate::ids::unique_id;
use crate::models::{ApiKey, Project};
use crate::time::Timestamp;

const PROJECT_COLUMNS: &str = "id, name, created_at, updated_at";
const KEY_COLUMNS: &str =
    "id, project_id, name, scopes, secret_hash, expire, last_used, created_at, updated_at";

/// Lower-case hex SHA-256 of an API key secret: the only form in which secrets are stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn project_from_row(row: &Row<'_>) -> rusqlite::Result<Project> {
    Ok(Project {
        id: row.get("id")?,
        name: row.get("name")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

fn key_from_row(row: &Row<'_>) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey {
        id: row.get("id")?,
        project_id: row.get("project_id")?,
        name: row.get("name")?,
        scopes: json_col(row, "scopes")?,
        secret_hash: row.get("secret_hash")?,
        expire: row.get("expire")?,
        last_used: row.get("last_used")?,
        created_at: row.get("created_at")?,
    })
}

pub(crate) fn ensure_project(conn: &mut Connection, id: &str, name: &str) -> Result<Project> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = Timestamp::now();
    let inserted = tx
        .prepare_cached(
            "INSERT INTO projects (id, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3) \
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![id, name, now])?;
    if inserted > 0 {
        tracing::info!(project = id, "project created");
    }
    let project =
        find_project(&tx, id)?.ok_or_else(|| StoreError::not_found(Entity::Project, id))?;
    tx.commit()?;
    Ok(project)
}

pub(crate) fn find_project(conn: &Connection, id: &str) -> Result<Option<Project>> {
    let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], project_from_row)
        .optional()?)
}

pub(crate) fn get_project(conn: &Connection, id: &str) -> Result<Project> {
    find_project(conn, id)?.ok_or_else(|| StoreError::not_found(Entity::Project, id))
}

/// Fails with `NotFound(Project)` unless the project exists; called inside write transactions.
pub(crate) fn require_project(conn: &Connection, id: &str) -> Result<()> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM projects WHERE id = ?1")?
        .exists([id])?;
    if !exists {
        return Err(StoreError::not_found(Entity::Project, id));
    }
    Ok(())
}

pub(crate) struct NewKey {
    pub project_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub secret: String,
    pub expire: Option<Timestamp>,
}

pub(crate) fn create_api_key(conn: &mut Connection, key: NewKey) -> Result<ApiKey> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    require_project(&tx, &key.project_id)?;
    let now = Timestamp::now();
    let record = ApiKey {
        id: unique_id(),
        project_id: key.project_id,
        name: key.name,
        scopes: key.scopes,
        secret_hash: hash_secret(&key.secret),
        created_at: now,
        expire: key.expire,
        last_used: None,
    };
    let sql =
        format!("INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)");
    let result = tx.prepare_cached(&sql)?.execute(params![
        record.id,
        record.project_id,
        record.name,
        to_json(&record.scopes)?,
        record.secret_hash,
        record.expire,
        record.last_used,
        now,
    ]);
    match result {
        // Never echo the secret: the error names the field only.
        Err(err) if is_unique_violation(&err) => Err(StoreError::AlreadyExists {
            entity: Entity::ApiKey,
            field: "secret",
            value: "(redacted)".into(),
        }),
        Err(err) => Err(err.into()),
        Ok(_) => {
            tx.commit()?;
            Ok(record)
        }
    }
}

pub(crate) fn find_api_key_by_secret(conn: &Connection, secret: &str) -> Result<Option<ApiKey>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE secret_hash = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([hash_secret(secret)], key_from_row)
        .optional()?)
}

pub(crate) fn list_api_keys(conn: &Connection, project_id: &str) -> Result<Vec<ApiKey>> {
    let sql =
        format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE project_id = ?1 ORDER BY created_at, id");
    let mut statement = conn.prepare_cached(&sql)?;
    let keys = statement
        .query_map([project_id], key_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(keys)
}

pub(crate) fn delete_api_key(conn: &mut Connection, project_id: &str, id: &str) -> Result<()> {
    let deleted = conn
        .prepare_cached("DELETE FROM api_keys WHERE project_id = ?1 AND id = ?2")?
        .execute([project_id, id])?;
    if deleted == 0 {
        return Err(StoreError::not_found(Entity::ApiKey, id));
    }
    Ok(())
}

pub(crate) fn count_api_keys(conn: &Connection, project_id: &str) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM api_keys WHERE project_id = ?1")?
        .query_row([project_id], |row| row.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) fn touch_api_key(
    conn: &mut Connection,
    project_id: &str,
    id: &str,
    at: Timestamp,
) -> Result<()> {
    let updated = conn
        .prepare_cached("UPDATE api_keys SET last_used = ?3 WHERE project_id = ?1 AND id = ?2")?
        .execute(params![project_id, id, at])?;
    if updated == 0 {
        return Err(StoreError::not_found(Entity::ApiKey, id));
    }
    Ok(())
}
