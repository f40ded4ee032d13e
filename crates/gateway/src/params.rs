//! Request parameters the SDKs send in Appwrite's shapes: list queries in the URL
//! (`queries[0]=…`), booleans as strings in multipart forms.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use wafer_store::ListParams;

use crate::error::ApiError;

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
            .map_err(|error| ApiError::invalid_argument(format!("Unreadable body: {error}")))?;
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
    fn a_bad_boolean_is_an_argument_error() {
        assert!(parse_list_query("total=maybe").is_err());
    }
}
