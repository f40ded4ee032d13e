//! Tenancy and credentials: the Project, Key and JWT models.

use serde::Serialize;
use utoipa::ToSchema;
use wafer_store as store;

use super::{date, optional_date};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    #[serde(rename = "$id")]
    id: String,
    #[serde(rename = "$createdAt")]
    #[schema(format = DateTime)]
    created_at: String,
    #[serde(rename = "$updatedAt")]
    #[schema(format = DateTime)]
    updated_at: String,
    name: String,
    /// Always empty.
    description: &'static str,
    /// Always empty.
    team_id: &'static str,
}

impl From<store::Project> for Project {
    fn from(project: store::Project) -> Self {
        Self {
            id: project.id,
            created_at: date(project.created_at),
            updated_at: date(project.updated_at),
            name: project.name,
            description: "",
            team_id: "",
        }
    }
}

/// A project API key.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Key {
    #[serde(rename = "$id")]
    id: String,
    #[serde(rename = "$createdAt")]
    #[schema(format = DateTime)]
    created_at: String,
    #[serde(rename = "$updatedAt")]
    #[schema(format = DateTime)]
    updated_at: String,
    name: String,
    /// ISO 8601 date; empty when the key never expires.
    expire: String,
    scopes: Vec<String>,
    /// The secret to send as `X-Appwrite-Key`: only in the answer that created the key, empty
    /// everywhere else.
    secret: String,
    /// ISO 8601 date of the last use; empty when never used.
    accessed_at: String,
    /// Always empty.
    sdks: Vec<String>,
}

impl Key {
    /// The answer to creating `key`: the only one that carries its secret (the store keeps
    /// just a hash).
    pub fn created(key: store::ApiKey, secret: String) -> Self {
        Self {
            secret,
            ..Self::from(key)
        }
    }
}

/// Any answer but the creating one: without the secret.
impl From<store::ApiKey> for Key {
    fn from(key: store::ApiKey) -> Self {
        Self {
            id: key.id,
            created_at: date(key.created_at),
            // Keys are never updated.
            updated_at: date(key.created_at),
            name: key.name,
            expire: optional_date(key.expire),
            scopes: key.scopes,
            secret: String::new(),
            accessed_at: optional_date(key.last_used),
            sdks: Vec::new(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct KeyList {
    pub total: u64,
    pub keys: Vec<Key>,
}

impl From<Vec<store::ApiKey>> for KeyList {
    fn from(keys: Vec<store::ApiKey>) -> Self {
        Self {
            total: keys.len() as u64,
            keys: keys.into_iter().map(Key::from).collect(),
        }
    }
}

/// A user JWT, to send as `X-Appwrite-JWT`.
#[derive(Serialize, ToSchema)]
pub struct Jwt {
    pub jwt: String,
}
