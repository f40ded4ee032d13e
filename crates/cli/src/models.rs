//! Typed views of the API's JSON records, holding only what the CLI shows people. Scripts get
//! the records themselves (`--json`), so nothing here has to be complete.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default, rename_all = "camelCase")]
pub struct Function {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(rename = "$createdAt")]
    pub created_at: String,
    #[serde(rename = "$updatedAt")]
    pub updated_at: String,
    pub name: String,
    pub runtime: String,
    pub execute: Vec<String>,
    pub enabled: bool,
    pub logging: bool,
    pub deployment_id: String,
    pub latest_deployment_id: String,
    pub latest_deployment_status: String,
    pub schedule: String,
    pub timeout: u64,
    pub specification: String,
    pub memory: Option<u64>,
    pub fuel: Option<u64>,
    pub outbound_hosts: Vec<String>,
    pub reuse_instances: bool,
    pub vars: Vec<Variable>,
}

impl Function {
    /// Reachable without a key on its own URLs (`execute` holds `any` or `guests`).
    pub fn is_public(&self) -> bool {
        self.execute
            .iter()
            .any(|role| role == "any" || role == "guests")
    }
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default, rename_all = "camelCase")]
pub struct Deployment {
    #[serde(rename = "$id")]
    pub id: String,
    pub status: String,
    pub build_logs: String,
    pub build_duration: f64,
    pub source_size: u64,
    pub build_size: u64,
    pub activate: bool,
}

impl Deployment {
    /// Whether the build is over, one way or the other.
    pub fn is_final(&self) -> bool {
        matches!(self.status.as_str(), "ready" | "failed" | "canceled")
    }
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default, rename_all = "camelCase")]
pub struct Execution {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(rename = "$createdAt")]
    pub created_at: String,
    pub trigger: String,
    pub status: String,
    pub request_method: String,
    pub request_path: String,
    pub response_status_code: u64,
    pub response_body: String,
    pub logs: String,
    pub errors: String,
    pub duration: f64,
    pub deployment_id: String,
}

impl Execution {
    /// Completed or failed: its logs will not change any more.
    pub fn is_finished(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "failed")
    }
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default, rename_all = "camelCase")]
pub struct Variable {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(rename = "$updatedAt")]
    pub updated_at: String,
    pub key: String,
    pub value: String,
    pub secret: bool,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default, rename_all = "camelCase")]
pub struct ApiKey {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(rename = "$createdAt")]
    pub created_at: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub secret: String,
    pub expire: String,
    pub accessed_at: String,
}

/// One record.
pub fn parse<T: DeserializeOwned>(value: &Value) -> anyhow::Result<T> {
    T::deserialize(value).map_err(|error| {
        anyhow::anyhow!("The server's answer has an unexpected shape ({error}): {value}")
    })
}

/// The records of a list answer, `{total, <plural>: […]}`.
pub fn parse_list<T: DeserializeOwned>(value: &Value, plural: &str) -> anyhow::Result<Vec<T>> {
    let items = value
        .get(plural)
        .ok_or_else(|| anyhow::anyhow!("The server's answer has no `{plural}` list: {value}"))?;
    parse(items)
}
