//! The Appwrite query language: JSON query strings (`{"method":"equal","attribute":"status",
//! "values":["completed"]}`) parsed and checked against a per-collection whitelist of attributes, then
//! turned into parameterized SQL. Values are never interpolated into SQL text.
//!
//! Limits (all documented for API users):
//! - at most [`MAX_QUERIES`] queries per request, each at most [`MAX_QUERY_LEN`] characters;
//! - `limit` defaults to [`DEFAULT_LIMIT`] and accepts `0..=`[`MAX_LIMIT`] ([`MAX_EXECUTIONS_LIMIT`] for executions);
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
/// Largest accepted `limit` for executions: each carries a response body (up to the server's
/// response cap) and logs, so one page is kept to what a server can hold in memory at once.
pub const MAX_EXECUTIONS_LIMIT: u32 = 100;
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
    /// More than [`MAX_QUERIES`] queries.
    #[error("too many queries: {got} given, at most {MAX_QUERIES} are allowed")]
    TooMany {
        /// How many were given.
        got: usize,
    },

    /// A query string longer than [`MAX_QUERY_LEN`] characters.
    #[error("query #{index} is {len} characters long; at most {MAX_QUERY_LEN} are allowed")]
    TooLong {
        /// Its position among the queries, from 0.
        index: usize,
        /// Its length in characters.
        len: usize,
    },

    /// A query string that does not parse as JSON.
    #[error("query '{query}' is not valid JSON: {reason}")]
    InvalidJson {
        /// The query as given.
        query: String,
        /// The JSON parser's complaint.
        reason: String,
    },

    /// Valid JSON, but not an object with a `method` string.
    #[error("query '{query}' must be a JSON object with a \"method\" string")]
    NotAnObject {
        /// The query as given.
        query: String,
    },

    /// A method the query language does not have.
    #[error("unknown query method '{method}'; allowed methods: {}", parse::METHODS.join(", "))]
    UnknownMethod {
        /// The method as given.
        method: String,
    },

    /// A filter or order method without its attribute.
    #[error("query method '{method}' needs an \"attribute\"")]
    MissingAttribute {
        /// The method.
        method: String,
    },

    /// An attribute outside the collection's whitelist.
    #[error(
        "attribute '{attribute}' cannot be queried on {collection}; queryable attributes: {allowed}"
    )]
    UnknownAttribute {
        /// The attribute as given.
        attribute: String,
        /// The collection listed.
        collection: &'static str,
        /// The attributes that may be queried, for the message.
        allowed: String,
    },

    /// Too few or too many values for the method.
    #[error("query method '{method}' expects {expected} value(s), got {got}")]
    WrongValueCount {
        /// The method.
        method: String,
        /// How many it takes, in words.
        expected: &'static str,
        /// How many were given.
        got: usize,
    },

    /// Values of a type the attribute does not have.
    #[error("query method '{method}' on '{attribute}' expects {expected} values, got {got}")]
    WrongValueType {
        /// The method.
        method: String,
        /// The attribute.
        attribute: String,
        /// What the values must be.
        expected: &'static str,
        /// The offending value, as given.
        got: String,
    },

    /// A method that does not apply to the attribute's type (`startsWith` on a number, …).
    #[error("query method '{method}' cannot be used on '{attribute}', which is of type {ty}")]
    MethodNotForType {
        /// The method.
        method: String,
        /// The attribute.
        attribute: String,
        /// The attribute's type.
        ty: &'static str,
    },

    /// A `limit` or `offset` outside its range.
    #[error("{method} must be an integer between 0 and {max}, got {got}")]
    OutOfRange {
        /// `limit` or `offset`.
        method: String,
        /// The largest value accepted.
        max: u32,
        /// The value as given.
        got: String,
    },

    /// A second `limit`, `offset` or cursor query.
    #[error("only one '{method}' query is allowed")]
    Duplicate {
        /// The repeated method.
        method: String,
    },

    /// A paging or ordering method inside `and`/`or`, where only filters belong.
    #[error("query method '{method}' cannot be nested inside and/or")]
    NotAllowedNested {
        /// The method.
        method: String,
    },

    /// `and`/`or` nested deeper than [`MAX_NESTING`].
    #[error("and/or queries nest at most {MAX_NESTING} levels deep")]
    NestingTooDeep,

    /// A list-level `search` term longer than [`MAX_SEARCH_LEN`] characters.
    #[error("search term is {len} characters long; at most {MAX_SEARCH_LEN} are allowed")]
    SearchTooLong {
        /// Its length in characters.
        len: usize,
    },
}
