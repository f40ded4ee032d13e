//! The embedded SQLite backend.
//!
//! Connections: SQLite allows one writer at a time, so the store keeps exactly one writer connection
//! (behind a mutex; every write, including the batching writer's commits, goes through it, so writers
//! queue in-process instead of spinning on `SQLITE_BUSY`) and a few reader connections, which WAL lets
//! run alongside the writer. All SQLite calls block, so they run on tokio's blocking pool via
//! `spawn_blocking` and the async API never stalls the runtime's workers.

mod api;
mod conn;
mod deployments;
mod executions;
mod functions;
mod list;
mod maintenance;
mod projects;
mod rows;
mod variables;

pub use projects::hash_secret;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{Result, StoreError};

/// Tuning of [`SqliteStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteConfig {
    /// Reader connections (at least 1).
    pub readers: usize,
    /// How long a connection waits for a lock held by another connection or process.
    pub busy_timeout: Duration,
}

impl Default for SqliteConfig {
    fn default() -> Self {
        SqliteConfig {
            readers: 4,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The SQLite implementation of [`MetadataStore`](crate::MetadataStore). Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("readers", &self.inner.readers.len())
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` with default settings and runs pending
    /// migrations.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, SqliteConfig::default()).await
    }

    /// Like [`open`](Self::open) with explicit settings.
    pub async fn open_with(path: impl AsRef<Path>, config: SqliteConfig) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let inner = blocking(move || Inner::open(path, config)).await?;
        tracing::info!(path = %inner.path.display(), readers = inner.readers.len(), "store opened");
        Ok(SqliteStore {
            inner: Arc::new(inner),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on a reader connection, off the async workers.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || f(&inner.reader())).await
    }

    /// Runs `f` on the writer connection, off the async workers.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let writer = Arc::clone(&self.inner.writer);
        blocking(move || f(&mut lock(&writer))).await
    }

    pub(crate) fn writer_handle(&self) -> Arc<Mutex<Connection>> {
        Arc::clone(&self.inner.writer)
    }
}

impl Inner {
    fn open(path: PathBuf, config: SqliteConfig) -> Result<Self> {
        // The writer runs migrations, so it must exist before any reader looks at the schema.
        let writer = conn::open_writer(&path, config.busy_timeout)?;
        let readers = (0..config.readers.max(1))
            .map(|_| conn::open_reader(&path, config.busy_timeout).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(Inner {
            path,
            writer: Arc::new(Mutex::new(writer)),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// A free reader if there is one, else waits for one picked round-robin.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        for reader in &self.readers {
            if let Ok(guard) = reader.try_lock() {
                return guard;
            }
        }
        let index = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        lock(&self.readers[index])
    }
}

/// Locks a connection mutex. A panic while holding it cannot leave a SQLite connection half-updated
/// (an open transaction rolls back when its guard drops), so poisoning is ignored.
pub(crate) fn lock(mutex: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs blocking work on tokio's blocking pool.
async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|err| {
        tracing::error!(%err, "store task failed");
        StoreError::backend_msg(format!("store task failed: {err}"))
    })?
}
