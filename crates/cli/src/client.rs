//! A small client of the wafer (Appwrite-compatible) `/v1` API: it adds the project and key
//! headers, percent-encodes path segments, and turns every failure into a [`CliError`] that
//! says what to do next.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde_json::Value;

use crate::config::Connection;
use crate::error::CliError;

const USER_AGENT: &str = concat!("wafer-cli/", env!("CARGO_PKG_VERSION"));
/// Long enough for a synchronous execution (the server caps those at 30 s) or a 5 MiB chunk
/// over a slow link.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Client {
    http: reqwest::Client,
    endpoint: Url,
    project: String,
    key: String,
}

impl Client {
    /// A client for `connection`, which must carry a key.
    pub fn new(connection: &Connection) -> anyhow::Result<Self> {
        let key = connection.key.clone().ok_or(CliError::NoKey)?;
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Self {
            http,
            endpoint: connection.endpoint.clone(),
            project: connection.project.clone(),
            key,
        })
    }

    /// The `/v1` URL requests go to.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    /// `{endpoint}/{segments…}`, each segment percent-encoded.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.endpoint.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// A request with the project and key headers.
    pub fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        self.http
            .request(method, self.url(segments))
            .header("x-appwrite-project", &self.project)
            .header("x-appwrite-key", &self.key)
            .header("x-sdk-name", "wafer-cli")
            .header("x-sdk-version", env!("CARGO_PKG_VERSION"))
    }

    /// Sends `request` and returns its JSON body (`null` for an empty one).
    pub async fn send(&self, request: RequestBuilder) -> anyhow::Result<Value> {
        let response = request
            .send()
            .await
            .map_err(|error| self.transport(&error))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|error| self.transport(&error))?;
        parse(status, &headers, &body)
    }

    pub async fn get(
        &self,
        segments: &[&str],
        query: &[(String, String)],
    ) -> anyhow::Result<Value> {
        self.send(self.request(Method::GET, segments).query(query))
            .await
    }

    pub async fn post(&self, segments: &[&str], body: &Value) -> anyhow::Result<Value> {
        self.send(self.request(Method::POST, segments).json(body))
            .await
    }

    pub async fn put(&self, segments: &[&str], body: &Value) -> anyhow::Result<Value> {
        self.send(self.request(Method::PUT, segments).json(body))
            .await
    }

    pub async fn delete(&self, segments: &[&str]) -> anyhow::Result<()> {
        self.send(self.request(Method::DELETE, segments)).await?;
        Ok(())
    }

    /// A request that never got an answer.
    fn transport(&self, error: &reqwest::Error) -> anyhow::Error {
        let detail = if error.is_timeout() {
            "no answer in time".to_owned()
        } else if error.is_connect() {
            format!("the connection failed ({})", root_cause(error))
        } else {
            root_cause(error)
        };
        CliError::Unreachable {
            endpoint: self.endpoint.to_string(),
            detail,
        }
        .into()
    }
}

/// The innermost error's text ("Connection refused (os error 111)"), which says most.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// The body of a success as JSON, or the API error it carries.
fn parse(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> anyhow::Result<Value> {
    if !status.is_success() {
        return Err(api_error(status, body).into());
    }
    if body.is_empty() || status == StatusCode::NO_CONTENT {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|error| {
        anyhow::anyhow!(
            "The server answered {status} with a body that is not JSON ({error}; content-type \
             {}). Is --endpoint a wafer server's API URL?",
            content_type(headers)
        )
    })
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("none")
}

/// Appwrite's `{message, code, type}`, or whatever text came back.
fn api_error(status: StatusCode, body: &[u8]) -> CliError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|value| value.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let message = field("message").unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() {
            status.canonical_reason().unwrap_or("no message").to_owned()
        } else {
            text.chars().take(500).collect()
        }
    });
    CliError::Api {
        status: status.as_u16(),
        kind: field("type").unwrap_or_default(),
        message,
    }
}

/// `queries[0]=…&queries[1]=…` from Appwrite query objects.
pub fn queries(list: &[Value]) -> Vec<(String, String)> {
    list.iter()
        .enumerate()
        .map(|(index, query)| (format!("queries[{index}]"), query.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::normalize_endpoint;

    #[test]
    fn path_segments_are_encoded_under_the_endpoint() {
        let connection = Connection {
            endpoint: normalize_endpoint("http://127.0.0.1:8080").expect("valid"),
            project: "default".into(),
            key: Some("k".into()),
        };
        let client = Client::new(&connection).expect("client");
        let url = client.url(&["functions", "a/b?c", "executions"]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8080/v1/functions/a%2Fb%3Fc/executions"
        );
    }

    #[test]
    fn api_errors_keep_the_server_message_and_type() {
        let body = br#"{"message":"Function with the requested ID 'x' could not be found.","code":404,"type":"function_not_found","version":"1.9.0"}"#;
        let CliError::Api {
            status,
            kind,
            message,
        } = api_error(StatusCode::NOT_FOUND, body)
        else {
            panic!("an API error");
        };
        assert_eq!((status, kind.as_str()), (404, "function_not_found"));
        assert!(message.contains("'x'"));
        let CliError::Api { kind, message, .. } = api_error(StatusCode::BAD_GATEWAY, b"") else {
            panic!("an API error");
        };
        assert_eq!((kind.as_str(), message.as_str()), ("", "Bad Gateway"));
    }
}
