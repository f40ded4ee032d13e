//! The Appwrite query language: JSON query strings (`{"method":"equal","attribute":"status",
//! "values":["completed"]}`) parsed and checked against a per-collection whitelist of attributes, then
//! turned into parameterized SQL. Values are never interpolated into SQL text.
//!
//! Limits (all documented for API users):
//! - at most [`MAX_QUERIES`] queries per request, each at most [`MAX_QUERY_LEN`] characters;
//! - `limit` defaults to [`DEFAULT_LIMIT`] and accepts `0..=`[`MAX_LIMIT`];
//! - `offset` accepts `0..=`[`MAX_OFFSET`] (deep pages should use cursors, which stay cheap);
//! - `and`/`or` nest at most [`MAX_NESTING`] levels deep and hold at most [`MAX_VALUES`] values;
//! - the list-level `search` term is at most [`MAX_SEARCH_LEN`] characters.
//!
//! String matching (`startsWith`, `endsWith`, `contains`, `search` and the list-level search) is a
//! case-insensitive `LIKE` with `%`, `_` and `\` escaped.

mod collections;
mod parse;
mod sql;

pub use collections::{AttrType, Attribute, Collection};
pub use parse::{
    CmpOp, Cursor, CursorDirection, Filter, Order, OrderDirection, ParsedQuery, parse_queries,
};
pub use sql::{Dialect, ListPlan, PostgresDialect, SqlBuilder, SqlValue, SqliteDialect};

/// Most queries one request may carry.
pub const MAX_QUERIES: usize = 100;
/// Longest query string, in characters.
pub const MAX_QUERY_LEN: usize = 4096;
/// Page size when no `limit` query is given.
pub const DEFAULT_LIMIT: u32 = 25;
/// Largest accepted `limit`.
pub const MAX_LIMIT: u32 = 5000;
/// Largest accepted `offset`.
pub const MAX_OFFSET: u32 = 5000;
/// Deepest nesting of `and`/`or`.
pub const MAX_NESTING: usize = 3;
/// Most values in one query (`equal` lists, `and`/`or` members).
pub const MAX_VALUES: usize = 100;
/// Longest list-level `search` term, in characters.
pub const MAX_SEARCH_LEN: usize = 256;

/// Why a query was rejected. The gateway answers 400 `general_query_invalid` with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("too many queries: {got} given, at most {MAX_QUERIES} are allowed")]
    TooMany { got: usize },

    #[error("query #{index} is {len} characters long; at most {MAX_QUERY_LEN} are allowed")]
    TooLong { index: usize, len: usize },

    #[error("query '{query}' is not valid JSON: {reason}")]
    InvalidJson { query: String, reason: String },

    #[error("query '{query}' must be a JSON object with a \"method\" string")]
    NotAnObject { query: String },

    #[error("unknown query method '{method}'; allowed methods: {}", parse::METHODS.join(", "))]
    UnknownMethod { method: String },

    #[error("query method '{method}' needs an \"attribute\"")]
    MissingAttribute { method: String },

    #[error(
        "attribute '{attribute}' cannot be queried on {collection}; queryable attributes: {allowed}"
    )]
    UnknownAttribute {
        attribute: String,
        collection: &'static str,
        allowed: String,
    },

    #[error("query method '{method}' expects {expected} value(s), got {got}")]
    WrongValueCount {
        method: String,
        expected: &'static str,
        got: usize,
    },

    #[error("query method '{method}' on '{attribute}' expects {expected} values, got {got}")]
    WrongValueType {
        method: String,
        attribute: String,
        expected: &'static str,
        got: String,
    },

    #[error("query method '{method}' cannot be used on '{attribute}', which is of type {ty}")]
    MethodNotForType {
        method: String,
        attribute: String,
        ty: &'static str,
    },

    #[error("{method} must be an integer between 0 and {max}, got {got}")]
    OutOfRange {
        method: String,
        max: u32,
        got: String,
    },

    #[error("only one '{method}' query is allowed")]
    Duplicate { method: String },

    #[error("query method '{method}' cannot be nested inside and/or")]
    NotAllowedNested { method: String },

    #[error("and/or queries nest at most {MAX_NESTING} levels deep")]
    NestingTooDeep,

    #[error("search term is {len} characters long; at most {MAX_SEARCH_LEN} are allowed")]
    SearchTooLong { len: usize },
}
