//! The store's typed errors. The gateway maps each variant to an Appwrite error type; the mapping we
//! intend is noted on each variant.

use std::fmt;
use std::sync::Arc;

use crate::query::QueryError;

/// Result alias used throughout the crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which kind of record an error talks about, so the gateway can pick `function_not_found`,
/// `deployment_not_found`, … without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// A [`Project`](crate::Project).
    Project,
    /// An [`ApiKey`](crate::ApiKey).
    ApiKey,
    /// A [`Function`](crate::Function).
    Function,
    /// A [`Deployment`](crate::Deployment).
    Deployment,
    /// An [`Execution`](crate::Execution).
    Execution,
    /// A [`Variable`](crate::Variable).
    Variable,
}

impl Entity {
    /// Lower-case singular name, as used in messages (`function`, `api key`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Project => "project",
            Entity::ApiKey => "api key",
            Entity::Function => "function",
            Entity::Deployment => "deployment",
            Entity::Execution => "execution",
            Entity::Variable => "variable",
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every way a store call can fail.
///
/// The type is `Clone` because the batching writer may have to hand one commit failure to every caller
/// of the batch; backend errors are therefore kept behind an `Arc`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist in this project (or not under this function). → 404 `<entity>_not_found`.
    #[error("{entity} with the requested ID '{id}' could not be found")]
    NotFound {
        /// What kind of record was asked for.
        entity: Entity,
        /// The id asked for.
        id: String,
    },

    /// A record with this id (or, for variables, this key) already exists. → 409 `<entity>_already_exists`.
    #[error("{entity} with the requested {field} '{value}' already exists")]
    AlreadyExists {
        /// What kind of record clashed.
        entity: Entity,
        /// `"ID"` or, for a variable's key clash, `"key"`.
        field: &'static str,
        /// The id or key that is taken.
        value: String,
    },

    /// A query string was rejected. → 400 `general_query_invalid`.
    #[error("invalid query: {0}")]
    Query(#[from] QueryError),

    /// `cursorAfter`/`cursorBefore` named a document that does not exist in the listed collection.
    /// → 400 `general_cursor_not_found`.
    #[error("cursor document '{id}' could not be found")]
    CursorNotFound {
        /// The id the cursor named.
        id: String,
    },

    /// An argument the store itself checks was out of range (chunk index beyond the total, …).
    /// → 400 `general_argument_invalid`.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The database failed. → 500 `general_unknown`.
    #[error("database error: {0}")]
    Backend(#[source] Arc<dyn std::error::Error + Send + Sync>),

    /// Schema migration failed while opening the store.
    #[error("migration failed: {0}")]
    Migration(String),

    /// A secret variable could not be sealed or opened, or the master key does not open this
    /// database's secrets. → 500 `general_unknown`; at start, a refusal to start.
    #[error("{0}")]
    Sealing(String),

    /// The store or its batching writer has shut down.
    #[error("the store is closed")]
    Closed,
}

impl StoreError {
    pub(crate) fn not_found(entity: Entity, id: impl Into<String>) -> Self {
        StoreError::NotFound {
            entity,
            id: id.into(),
        }
    }

    pub(crate) fn id_exists(entity: Entity, id: impl Into<String>) -> Self {
        StoreError::AlreadyExists {
            entity,
            field: "ID",
            value: id.into(),
        }
    }

    pub(crate) fn backend(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Arc::new(err))
    }

    pub(crate) fn backend_msg(message: impl Into<String>) -> Self {
        StoreError::Backend(Arc::new(Message(message.into())))
    }
}

/// A plain message usable as an error source.
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}
