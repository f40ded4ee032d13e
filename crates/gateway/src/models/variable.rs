//! The Variable model and its list.

use serde::Serialize;
use utoipa::ToSchema;
use wafer_store as store;

use super::date;

/// An environment variable of a function. A secret's `value` is always empty.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    #[serde(rename = "$id")]
    id: String,
    #[serde(rename = "$createdAt")]
    #[schema(format = DateTime)]
    created_at: String,
    #[serde(rename = "$updatedAt")]
    #[schema(format = DateTime)]
    updated_at: String,
    key: String,
    /// Always empty.
    description: &'static str,
    /// Empty for a secret variable.
    value: String,
    secret: bool,
    /// Always `function`.
    resource_type: &'static str,
    /// The function's ID.
    resource_id: String,
}

/// A secret's value never leaves the server.
impl From<store::Variable> for Variable {
    fn from(variable: store::Variable) -> Self {
        let value = if variable.secret {
            String::new()
        } else {
            variable.value
        };
        Self {
            id: variable.id,
            created_at: date(variable.created_at),
            updated_at: date(variable.updated_at),
            key: variable.key,
            description: "",
            value,
            secret: variable.secret,
            resource_type: "function",
            resource_id: variable.function_id,
        }
    }
}

/// A page of variables.
#[derive(Serialize, ToSchema)]
pub struct VariableList {
    /// Matching variables, ignoring limit and offset; 0 when `total=false`.
    pub total: u64,
    pub variables: Vec<Variable>,
}

impl From<store::Page<store::Variable>> for VariableList {
    fn from(page: store::Page<store::Variable>) -> Self {
        Self {
            total: page.total,
            variables: page.items.into_iter().map(Variable::from).collect(),
        }
    }
}
