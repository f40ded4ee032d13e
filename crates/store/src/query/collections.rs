//! The whitelist: which API attributes each collection lets queries touch, the column behind each and
//! its type. Anything not listed here cannot appear in a query, so attribute names never reach SQL
//! text except as these constants.

use std::fmt;

/// A value type, used to check query values before they reach the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// Text.
    String,
    /// A whole number.
    Int,
    /// A floating-point number.
    Float,
    /// `true` or `false`.
    Bool,
    /// Stored as integer milliseconds; queried with ISO 8601 strings.
    Datetime,
}

impl AttrType {
    /// Name used in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Int => "integer",
            AttrType::Float => "float",
            AttrType::Bool => "boolean",
            AttrType::Datetime => "datetime",
        }
    }
}

impl fmt::Display for AttrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One queryable attribute: its API name, its column and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute {
    /// The name clients use (`$createdAt`, `responseStatusCode`, …).
    pub api: &'static str,
    /// The column behind it; a constant, so safe in SQL text.
    pub column: &'static str,
    /// The type its values must have.
    pub ty: AttrType,
}

const fn attr(api: &'static str, column: &'static str, ty: AttrType) -> Attribute {
    Attribute { api, column, ty }
}

/// Attributes every collection shares.
const ID: Attribute = attr("$id", "id", AttrType::String);
const CREATED: Attribute = attr("$createdAt", "created_at", AttrType::Datetime);
const UPDATED: Attribute = attr("$updatedAt", "updated_at", AttrType::Datetime);

const FUNCTION_ATTRS: &[Attribute] = &[
    attr("name", "name", AttrType::String),
    attr("enabled", "enabled", AttrType::Bool),
    attr("runtime", "runtime", AttrType::String),
    attr("deploymentId", "deployment_id", AttrType::String),
    attr("schedule", "schedule", AttrType::String),
    attr("timeout", "timeout", AttrType::Int),
    attr("entrypoint", "entrypoint", AttrType::String),
    ID,
    CREATED,
    UPDATED,
];

const DEPLOYMENT_ATTRS: &[Attribute] = &[
    attr("buildSize", "build_size", AttrType::Int),
    attr("sourceSize", "source_size", AttrType::Int),
    attr("totalSize", "total_size", AttrType::Int),
    attr("buildDuration", "build_duration", AttrType::Int),
    attr("status", "status", AttrType::String),
    attr("activate", "activate", AttrType::Bool),
    attr("type", "deployment_type", AttrType::String),
    ID,
    CREATED,
    UPDATED,
];

const EXECUTION_ATTRS: &[Attribute] = &[
    attr("trigger", "trigger_type", AttrType::String),
    attr("status", "status", AttrType::String),
    attr("responseStatusCode", "response_status_code", AttrType::Int),
    attr("duration", "duration", AttrType::Float),
    attr("requestMethod", "request_method", AttrType::String),
    attr("requestPath", "request_path", AttrType::String),
    attr("deploymentId", "deployment_id", AttrType::String),
    ID,
    CREATED,
    UPDATED,
];

const VARIABLE_ATTRS: &[Attribute] = &[
    attr("key", "key", AttrType::String),
    attr("secret", "secret", AttrType::Bool),
    ID,
    CREATED,
    UPDATED,
];

/// A listable collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collection {
    /// A project's functions.
    Functions,
    /// A function's deployments.
    Deployments,
    /// A function's executions.
    Executions,
    /// A function's variables.
    Variables,
}

impl Collection {
    /// API name, used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Collection::Functions => "functions",
            Collection::Deployments => "deployments",
            Collection::Executions => "executions",
            Collection::Variables => "variables",
        }
    }

    /// The largest page a list of this collection may ask for.
    pub fn max_limit(self) -> u32 {
        match self {
            Collection::Executions => super::MAX_EXECUTIONS_LIMIT,
            Collection::Functions | Collection::Deployments | Collection::Variables => {
                super::MAX_LIMIT
            }
        }
    }

    /// The table holding the collection.
    pub fn table(self) -> &'static str {
        // The table names equal the API names today; kept separate so either can change.
        match self {
            Collection::Functions => "functions",
            Collection::Deployments => "deployments",
            Collection::Executions => "executions",
            Collection::Variables => "variables",
        }
    }

    /// The queryable attributes.
    pub fn attributes(self) -> &'static [Attribute] {
        match self {
            Collection::Functions => FUNCTION_ATTRS,
            Collection::Deployments => DEPLOYMENT_ATTRS,
            Collection::Executions => EXECUTION_ATTRS,
            Collection::Variables => VARIABLE_ATTRS,
        }
    }

    /// Looks an API attribute up in the whitelist.
    pub fn attribute(self, api: &str) -> Option<Attribute> {
        self.attributes().iter().copied().find(|a| a.api == api)
    }

    /// Columns the list-level `search` parameter matches (substring, case-insensitive).
    pub fn search_columns(self) -> &'static [&'static str] {
        match self {
            Collection::Functions => &["id", "name", "runtime"],
            Collection::Deployments => &["id", "entrypoint", "status", "deployment_type"],
            Collection::Executions => &["id", "request_path", "status", "trigger_type"],
            Collection::Variables => &["id", "key"],
        }
    }

    /// The id attribute, used as the final ordering tiebreaker and for cursors.
    pub fn id_column(self) -> &'static str {
        ID.column
    }

    /// The default ordering column (`$createdAt`).
    pub fn created_column(self) -> &'static str {
        CREATED.column
    }

    /// Comma-separated API names of the queryable attributes, for error messages.
    pub fn allowed_list(self) -> String {
        let names: Vec<&str> = self.attributes().iter().map(|a| a.api).collect();
        names.join(", ")
    }
}
