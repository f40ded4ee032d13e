//! Opening SQLite connections: pragmas and migrations.
//!
//! Durability: the database runs in WAL mode with `synchronous=FULL`, so every commit syncs the WAL
//! to disk before it returns. A committed transaction (and so an acknowledged execution) survives a
//! power loss, not only a process crash, which `NORMAL` would not guarantee in WAL mode. The cost is
//! one fsync per commit; the batching writer spreads it over many records.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{M, Migrations};

use crate::error::{Result, StoreError};

/// Versioned schema migrations, applied in order; `PRAGMA user_version` records how far a database
/// has come. Never edit a released file: add the next one.
const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../../migrations/001_initial.sql")),
    M::up(include_str!("../../migrations/002_partial_queue_index.sql")),
    M::up(include_str!("../../migrations/003_reuse_instances.sql")),
    M::up(include_str!("../../migrations/004_queued_by_function.sql")),
    M::up(include_str!("../../migrations/005_master_key_check.sql")),
];

/// Statements prepared once per connection and reused (list queries vary, so keep a few dozen).
const STATEMENT_CACHE: usize = 64;

/// Opens the writer connection, switches the database to WAL and brings the schema up to date.
pub(crate) fn open_writer(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    make_private(path).map_err(StoreError::backend)?;
    let mut conn = Connection::open(path)?;
    configure(&conn, busy_timeout)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // E.g. an in-memory database; still correct, just without concurrent readers.
        tracing::warn!(%mode, "SQLite did not switch to WAL journal mode");
    }
    migrate(&mut conn)?;
    Ok(conn)
}

/// Creates the database file readable by its owner only (0600), whatever the umask, and
/// narrows an existing one and its `-wal`/`-shm` files to that. SQLite gives the `-wal` and
/// `-shm` files it creates the database file's mode.
#[cfg(unix)]
fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    if path.as_os_str() == ":memory:" || path.as_os_str().is_empty() {
        return Ok(());
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let Ok(metadata) = std::fs::metadata(&file) else {
            continue;
        };
        if metadata.permissions().mode() & 0o777 != 0o600 {
            tracing::info!(file = %Path::new(&file).display(), "narrowing the database file's mode to 0600");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Opens a reader connection. `query_only` makes an accidental write through it fail loudly.
pub(crate) fn open_reader(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    // Opened read-write because a WAL reader must be able to update the shared-memory index.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    configure(&conn, busy_timeout)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

fn configure(conn: &Connection, busy_timeout: Duration) -> Result<()> {
    // Another process (or a checkpoint) holding a lock makes us wait instead of failing at once.
    conn.busy_timeout(busy_timeout)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let migrations = Migrations::from_slice(MIGRATIONS);
    let before = migrations
        .current_version(conn)
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    migrations
        .to_latest(conn)
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    tracing::debug!(
        ?before,
        latest = MIGRATIONS.len(),
        "store schema is up to date"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        let result = Migrations::from_slice(MIGRATIONS).validate();
        assert!(result.is_ok(), "{result:?}");
    }
}
