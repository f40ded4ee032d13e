//! # wafer-store: metadata and execution records
//!
//! This room keeps everything wafer must remember: projects and their API keys, functions,
//! deployments (with chunked-upload bookkeeping), executions (including the queue of asynchronous and
//! scheduled runs) and variables. It also owns
//! - the **query language**: Appwrite's JSON queries, checked against a whitelist of attributes per
//!   collection and turned into parameterized SQL ([`query`]);
//! - the **schema and its migrations** (`migrations/NNN_name.sql`, applied on open);
//! - the **batching execution writer** ([`ExecutionWriter`]), which group-commits execution records
//!   and acknowledges each only once it is durable.
//!
//! It must not speak HTTP or know wasmtime: the gateway translates requests into calls on
//! [`MetadataStore`] and maps [`StoreError`]s to Appwrite errors; the runtime never calls it.
//!
//! [`SealedStore`] wraps any backend so that secret variables are stored sealed (encrypted) under a
//! [`MasterKey`] kept outside the database, and read back in plaintext.
//!
//! [`CachedStore`] wraps any backend with a read-through cache of the records every request reads
//! (keys, projects, functions, deployments, variables), invalidated by its own writes.
//!
//! The gateway holds an `Arc<dyn MetadataStore>`. SQLite ([`SqliteStore`]) is the embedded default;
//! another backend (PostgreSQL) implements the same trait and reuses the SQL builder through its
//! [`query::Dialect`].
//!
//! ```no_run
//! # async fn demo() -> wafer_store::Result<()> {
//! use std::sync::Arc;
//! use wafer_store::{MetadataStore, SqliteStore, WriterConfig};
//!
//! let store: Arc<dyn MetadataStore> = Arc::new(SqliteStore::open("wafer.db").await?);
//! store.ensure_project("default", "Default").await?;
//! store.requeue_processing().await?; // once at startup
//! let writer = store.spawn_execution_writer(WriterConfig::default())?;
//! # let _ = writer; Ok(()) }
//! ```

#![warn(missing_docs)]

mod cached;
mod error;
mod ids;
mod models;
pub mod query;
mod sealed;
mod sqlite;
mod store;
mod time;
mod writer;

pub use cached::{CacheConfig, CachedStore};
pub use error::{Entity, Result, StoreError};
pub use ids::{MAX_ID_LEN, unique_id, validate_custom_id};
pub use models::{
    ApiKey, ChunkProgress, Deployment, DeploymentStatus, DueQueue, Execution, ExecutionStatus,
    ExecutionTrigger, Function, ListParams, Page, Project, QueuedCounts, Variable,
};
pub use query::QueryError;
pub use sealed::{MasterKey, MasterKeyError, SealedStore, SealingReport};
pub use sqlite::{SqliteConfig, SqliteStore, hash_secret};
pub use store::MetadataStore;
pub use time::Timestamp;
pub use writer::{ExecutionSink, ExecutionWrite, ExecutionWriter, WriterConfig, WriterObserver};
