//! Appwrite's JSON models: one `Serialize + ToSchema` type per model, built from the store's
//! records and returned by the handlers, so the OpenAPI document describes exactly what is sent.
//! Every field the official SDKs require is present (empty where wafer has no value); wafer's
//! extras are added, never renamed. A field's doc comment is its description in the document.
//!
//! Lists are `{total, <plural>: [...]}`, one small struct per list.

mod catalogue;
mod deployment;
mod execution;
mod function;
mod tenancy;
mod variable;

pub use catalogue::{RuntimeList, SpecificationList};
pub use deployment::{Deployment, DeploymentList};
pub use execution::{Execution, ExecutionList};
pub use function::{Function, FunctionList};
pub use tenancy::{Jwt, Key, KeyList, Project};
pub use variable::{Variable, VariableList};

use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use wafer_store::Timestamp;

/// An ISO 8601 date as Appwrite writes it.
fn date(at: Timestamp) -> String {
    at.to_rfc3339()
}

/// An ISO 8601 date, or empty for none (Appwrite's models use `""`, not `null`).
fn optional_date(at: Option<Timestamp>) -> String {
    at.map(date).unwrap_or_default()
}

/// `schema` or `null`. (`schema_with` replaces a field's doc comment, so the description
/// comes along.)
fn or_null(schema: ObjectBuilder, description: &str) -> Schema {
    let null = ObjectBuilder::new().schema_type(Type::Null);
    OneOfBuilder::new()
        .item(schema)
        .item(null)
        .description(Some(description))
        .into()
}
