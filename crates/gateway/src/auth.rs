//! Who is calling: the project (`X-Appwrite-Project`), and an API key with scopes
//! (`X-Appwrite-Key`), a user JWT (`X-Appwrite-JWT`) or nobody (a guest).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use wafer_store::{ApiKey, Timestamp};

use crate::error::{ApiError, ErrorKind};
use crate::state::AppState;

/// Every scope a key may carry.
pub const ALL_SCOPES: &[&str] = &[
    "functions.read",
    "functions.write",
    "executions.read",
    "executions.write",
    "keys.read",
    "keys.write",
    "users.write",
];

/// The project requests fall into when they name none.
pub const DEFAULT_PROJECT: &str = "default";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Key {
        id: String,
        scopes: Vec<String>,
        /// When the key stops working; `None` never.
        expire: Option<Timestamp>,
    },
    User {
        id: String,
    },
    Guest,
}

#[derive(Clone, Debug)]
pub struct Caller {
    pub project_id: String,
    pub principal: Principal,
}

impl Caller {
    pub fn is_key(&self) -> bool {
        matches!(self.principal, Principal::Key { .. })
    }

    pub fn user_id(&self) -> Option<&str> {
        match &self.principal {
            Principal::User { id } => Some(id),
            _ => None,
        }
    }

    /// Succeeds when the caller's key carries every one of `scopes`: a key may only hand out,
    /// change or remove what it holds itself.
    pub fn require_all<'a>(
        &self,
        scopes: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), ApiError> {
        scopes
            .into_iter()
            .try_for_each(|scope| self.require(&normalize_scope(scope)))
    }

    /// When the caller's credentials stop working: a key's expiry, `None` for one that never
    /// expires (and for callers without a key).
    pub fn key_expiry(&self) -> Option<Timestamp> {
        match &self.principal {
            Principal::Key { expire, .. } => *expire,
            _ => None,
        }
    }

    /// Succeeds when the caller's key carries `scope` (or its singular alias).
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        let Principal::Key { scopes, .. } = &self.principal else {
            return Err(ApiError::unauthorized_scope(scope));
        };
        if scopes.iter().any(|held| normalize_scope(held) == scope) {
            Ok(())
        } else {
            Err(ApiError::unauthorized_scope(scope))
        }
    }

    /// The roles a function's `execute` list is matched against.
    pub fn roles(&self) -> Vec<String> {
        match &self.principal {
            Principal::Key { .. } => Vec::new(),
            Principal::User { id } => vec!["any".into(), "users".into(), format!("user:{id}")],
            Principal::Guest => vec!["any".into(), "guests".into()],
        }
    }
}

/// `execution.read` and friends are accepted as aliases of the plural scopes.
pub fn normalize_scope(scope: &str) -> String {
    match scope.strip_prefix("execution.") {
        Some(rest) => format!("executions.{rest}"),
        None => scope.to_owned(),
    }
}

/// The claims of a user JWT minted by this server.
#[derive(Debug, Serialize, Deserialize)]
pub struct UserClaims {
    /// The user id.
    pub sub: String,
    /// The project the token is valid for.
    pub project: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
}

pub fn mint_jwt(
    secret: &[u8],
    project: &str,
    user: &str,
    seconds: u64,
) -> Result<String, ApiError> {
    let now = (Timestamp::now().as_millis() / 1000).max(0) as u64;
    let claims = UserClaims {
        sub: user.to_owned(),
        project: project.to_owned(),
        exp: now + seconds,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|error| ApiError::internal(format!("Could not sign the JWT: {error}")))
}

fn decode_jwt(secret: &[u8], token: &str) -> Result<UserClaims, ApiError> {
    let mut validation = Validation::new(Algorithm::HS256);
    // jsonwebtoken accepts a token up to a minute past its expiry by default; this server signs
    // and checks its own tokens on one clock, so an expired token is expired.
    validation.leeway = 0;
    jsonwebtoken::decode::<UserClaims>(token, &DecodingKey::from_secret(secret), &validation)
        .map(|data| data.claims)
        .map_err(|error| {
            ApiError::new(
                ErrorKind::UserJwtInvalid,
                format!("The JWT is invalid or expired: {error}."),
            )
        })
}

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let project_id = header(parts, "x-appwrite-project")
            .unwrap_or(DEFAULT_PROJECT)
            .to_owned();
        let Some(raw_key) = header(parts, "x-appwrite-key") else {
            // A guest or user of a project that does not exist is told nothing more than one
            // of a project that does: everything it can reach is looked up within the project.
            let principal = user_or_guest(parts, state, &project_id)?;
            return Ok(Caller {
                project_id,
                principal,
            });
        };
        let key = live_key(state, raw_key).await?;
        match key {
            // A key that belongs to the project proves the project exists (keys are only made
            // for existing projects), which saves a database read on most API requests.
            Some(key) if key.project_id == project_id => Ok(Caller {
                project_id,
                principal: Principal::Key {
                    id: key.id,
                    scopes: key.scopes,
                    expire: key.expire,
                },
            }),
            // The operator may learn whether a project exists; nobody else can tell a missing
            // project from one they may not use.
            Some(key) if key.project_id == DEFAULT_PROJECT => {
                state.store.get_project(&project_id).await?;
                Err(invalid_key())
            }
            _ => Err(invalid_key()),
        }
    }
}

fn invalid_key() -> ApiError {
    ApiError::new(
        ErrorKind::UserUnauthorized,
        "The API key is invalid, expired or belongs to another project.",
    )
}

/// The key whose secret the caller sent, unless it has expired.
async fn live_key(state: &AppState, raw: &str) -> Result<Option<ApiKey>, ApiError> {
    let secret = raw.strip_prefix("standard_").unwrap_or(raw);
    let key = state.store.find_api_key_by_secret(secret).await?;
    Ok(key.filter(|key| key.expire.is_none_or(|expire| expire > Timestamp::now())))
}

fn user_or_guest(parts: &Parts, state: &AppState, project_id: &str) -> Result<Principal, ApiError> {
    let Some(token) = header(parts, "x-appwrite-jwt") else {
        return Ok(Principal::Guest);
    };
    let claims = decode_jwt(&state.jwt_secret, token)?;
    if claims.project != project_id {
        return Err(ApiError::new(
            ErrorKind::UserJwtInvalid,
            "The JWT was issued for another project.",
        ));
    }
    Ok(Principal::User { id: claims.sub })
}

/// A fresh 256-bit secret in hex, for keys and the JWT secret.
pub fn random_secret() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|error| ApiError::internal(format!("No randomness available: {error}")))?;
    Ok(hex::encode(bytes))
}
