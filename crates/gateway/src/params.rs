//! Request parameters the SDKs send in Appwrite's shapes: list queries in the URL
//! (`queries[0]=…`), booleans as strings in multipart forms; and the checks every route shares
//! for IDs and names.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use wafer_store::{ListParams, unique_id, validate_custom_id};

use crate::error::ApiError;

/// Longest `name` of a function, project or key.
pub const MAX_NAME_CHARS: usize = 128;

/// What a new resource's ID param means when it is absent or empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissingId {
    /// The param is required.
    Refuse,
    /// As `unique()`: the server picks one.
    Generate,
}

/// The ID of a resource being created from the param `param`: `unique()` for a generated one,
/// otherwise a custom ID that [`checked_id`] accepts.
pub fn new_id(
    param: &str,
    requested: Option<&str>,
    missing: MissingId,
) -> Result<String, ApiError> {
    match requested.filter(|id| !id.is_empty()) {
        None if missing == MissingId::Refuse => Err(ApiError::invalid_argument(format!(
            "Param `{param}` is required."
        ))),
        None | Some("unique()") => Ok(unique_id()),
        Some(custom) => checked_id(param, custom).map(|()| custom.to_owned()),
    }
}

/// A client-chosen ID (in a body or a path): at most 36 of `a-z`, `A-Z`, `0-9`, `.`, `-`, `_`,
/// starting with a letter or digit.
pub fn checked_id(param: &str, id: &str) -> Result<(), ApiError> {
    validate_custom_id(id)
        .map_err(|reason| ApiError::invalid_argument(format!("Invalid `{param}` param: {reason}")))
}

/// A required `name`: 1 to [`MAX_NAME_CHARS`] characters, not only whitespace.
pub fn checked_name(name: Option<String>) -> Result<String, ApiError> {
    let name = name.unwrap_or_default();
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid_argument(format!(
            "Param `name` is required: 1 to {MAX_NAME_CHARS} characters."
        )));
    }
    Ok(name)
}

/// `?queries[]=…&search=…&total=…` of a list endpoint.
pub struct ListQuery(pub ListParams);

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or_default();
        parse_list_query(raw).map(ListQuery)
    }
}

pub fn parse_list_query(raw: &str) -> Result<ListParams, ApiError> {
    let mut params = ListParams::default();
    for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
        match key.as_ref() {
            "search" => params.search = Some(value.into_owned()).filter(|s| !s.is_empty()),
            "total" => params.total = parse_bool("total", &value)?,
            key if key == "queries" || key.starts_with("queries[") => {
                params.queries.push(value.into_owned());
            }
            _ => {}
        }
    }
    Ok(params)
}

/// Booleans arrive as `true`/`false` (JSON, query strings) or `1`/`0`.
pub fn parse_bool(name: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(ApiError::invalid_argument(format!(
            "Invalid `{name}` param: '{other}' is not a boolean (true or false)."
        ))),
    }
}

/// A JSON body whose rejection (bad JSON, wrong types) is an API error, not plain text.
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|error| {
                let too_large = error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE;
                let refused = ApiError::invalid_argument(format!("Unreadable body: {error}"));
                if too_large {
                    return refused.rejected_for(crate::observe::Rejection::BodyTooLarge);
                }
                refused
            })?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(bytes)
            .map(JsonBody)
            .map_err(|error| ApiError::invalid_argument(format!("Invalid JSON body: {error}.")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_queries_search_and_total_are_read() {
        let raw = "queries%5B0%5D=%7B%22method%22%3A%22limit%22%2C%22values%22%3A%5B5%5D%7D\
                   &queries[1]=x&search=hel&total=false";
        let params = parse_list_query(raw).expect("parses");
        assert_eq!(params.queries.len(), 2);
        assert_eq!(params.queries[0], r#"{"method":"limit","values":[5]}"#);
        assert_eq!(params.search.as_deref(), Some("hel"));
        assert!(!params.total);
    }

    #[test]
    fn a_new_id_is_generated_custom_or_missing() {
        let generated = new_id("functionId", Some("unique()"), MissingId::Refuse);
        assert_eq!(generated.map(|id| id.len()).ok(), Some(20));
        assert_eq!(
            new_id("functionId", Some("my-fn"), MissingId::Refuse).ok(),
            Some("my-fn".to_owned())
        );
        let missing = new_id("functionId", Some(""), MissingId::Refuse).map_err(|e| e.message);
        assert_eq!(missing, Err("Param `functionId` is required.".to_owned()));
        let generated = new_id("variableId", None, MissingId::Generate);
        assert_eq!(generated.map(|id| id.len()).ok(), Some(20));
    }

    #[test]
    fn a_bad_custom_id_names_its_param() {
        let refused = new_id("projectId", Some("-bad"), MissingId::Generate).map_err(|e| e.message);
        assert!(
            refused.as_ref().is_err_and(
                |message| message.starts_with("Invalid `projectId` param: Invalid id '-bad'")
            ),
            "{refused:?}"
        );
        assert!(checked_id("userId", &"a".repeat(37)).is_err());
        assert!(checked_id("userId", &"a".repeat(36)).is_ok());
    }

    #[test]
    fn a_name_has_1_to_128_characters_and_not_only_spaces() {
        assert!(checked_name(None).is_err());
        assert!(checked_name(Some("  ".into())).is_err());
        assert!(checked_name(Some("é".repeat(MAX_NAME_CHARS))).is_ok());
        assert!(checked_name(Some("n".repeat(MAX_NAME_CHARS + 1))).is_err());
    }

    #[test]
    fn a_bad_boolean_is_an_argument_error() {
        assert!(parse_list_query("total=maybe").is_err());
    }
}
