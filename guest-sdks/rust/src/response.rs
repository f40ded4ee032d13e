//! The response a handler returns, and the builder that makes the common kinds.

use serde::Serialize;

use crate::Error;
use crate::bindings::wafer::function::types::Response as WitResponse;

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";
const BINARY: &str = "application/octet-stream";

/// Makes the common kinds of [`Response`]; reached as `ctx.res`.
///
/// Every method returns a `Response` whose status and headers can still be changed:
///
/// ```
/// # use wafer_guest::ResponseBuilder;
/// # fn demo(res: ResponseBuilder) -> wafer_guest::Response {
/// res.json(&["created"])
///     .with_status(201)
///     .with_header("location", "/items/7")
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ResponseBuilder {
    // Only the SDK hands these out, so that the set of methods can grow.
    _private: (),
}

impl ResponseBuilder {
    pub(crate) fn new() -> Self {
        Self { _private: () }
    }

    /// 200 with `body` as `text/plain; charset=utf-8`. Accepts text or bytes.
    pub fn send(&self, body: impl Into<Vec<u8>>) -> Response {
        Response::new(200, body).with_header("content-type", TEXT)
    }

    /// 200 with `body` as `text/plain; charset=utf-8`.
    pub fn text(&self, body: impl Into<String>) -> Response {
        self.send(body.into())
    }

    /// 200 with `value` serialized as `application/json`.
    ///
    /// If `value` cannot be serialized (a map with non-string keys, or a `Serialize` impl that
    /// fails), the response is a 500 with the reason as text; use [`ResponseBuilder::try_json`] to
    /// handle that case yourself.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> Response {
        self.try_json(value)
            .unwrap_or_else(|err| self.send(err.to_string()).with_status(500))
    }

    /// 200 with `value` serialized as `application/json`.
    ///
    /// # Errors
    ///
    /// When `value` cannot be serialized.
    pub fn try_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<Response, Error> {
        let body = serde_json::to_vec(value)
            .map_err(|err| Error::json("response cannot be serialized as JSON", err))?;
        Ok(Response::new(200, body).with_header("content-type", JSON))
    }

    /// 200 with `body` as `application/octet-stream`.
    pub fn binary(&self, body: impl Into<Vec<u8>>) -> Response {
        Response::new(200, body).with_header("content-type", BINARY)
    }

    /// 204 with no body.
    pub fn empty(&self) -> Response {
        Response::new(204, Vec::new())
    }

    /// 301 to `url`, in the `location` header.
    pub fn redirect(&self, url: impl Into<String>) -> Response {
        Response::new(301, Vec::new()).with_header("location", url)
    }
}

/// What a handler answers: a status code, headers and a body.
///
/// Header names are stored lower-case. Without a `content-type` header the platform sends
/// `text/plain`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a response does nothing unless the handler returns it"]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// A response with `status`, `body` and no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Replaces the status code.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Sets the header `name` (case-insensitive) to `value`, replacing any value it had.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = lower_case(name.into());
        self.headers.retain(|(existing, _)| *existing != name);
        self.headers.push((name, value.into()));
        self
    }

    /// Adds a value for the header `name`, keeping the ones it had (e.g. several `set-cookie`).
    pub fn with_appended_header(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.headers.push((lower_case(name.into()), value.into()));
        self
    }

    /// Sets each header as [`Response::with_header`] does.
    pub fn with_headers<N, V>(self, headers: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: Into<String>,
        V: Into<String>,
    {
        headers.into_iter().fold(self, |response, (name, value)| {
            response.with_header(name, value)
        })
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of the header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(existing, _)| existing.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// All headers, in the order they were set.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

impl From<Response> for WitResponse {
    fn from(response: Response) -> Self {
        Self {
            status_code: response.status,
            headers: response.headers,
            body: response.body,
        }
    }
}

fn lower_case(mut name: String) -> String {
    name.make_ascii_lowercase();
    name
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn res() -> ResponseBuilder {
        ResponseBuilder::new()
    }

    #[test]
    fn text_and_send() {
        let response = res().text("hi");
        assert_eq!(response.status(), 200);
        assert_eq!(response.header("Content-Type"), Some(TEXT));
        assert_eq!(response.body(), b"hi");
        assert_eq!(res().send(b"hi".to_vec()), response);
        assert_eq!(res().send("hi"), response);
    }

    #[test]
    fn json() {
        let response = res().json(&serde_json::json!({"ok": true}));
        assert_eq!(response.status(), 200);
        assert_eq!(response.header("content-type"), Some(JSON));
        assert_eq!(response.body(), br#"{"ok":true}"#);
    }

    #[test]
    fn json_that_cannot_be_serialized_is_a_500() {
        let map = HashMap::from([((1, 2), "non-string key")]);
        assert!(res().try_json(&map).is_err());
        let response = res().json(&map);
        assert_eq!(response.status(), 500);
        assert_eq!(response.header("content-type"), Some(TEXT));
        let body = String::from_utf8(response.body().to_vec()).expect("the reason is text");
        assert!(body.starts_with("response cannot be serialized as JSON: "));
    }

    #[test]
    fn binary_empty_redirect() {
        let binary = res().binary(vec![0, 255]);
        assert_eq!(binary.header("content-type"), Some(BINARY));
        assert_eq!(binary.body(), [0, 255]);

        let empty = res().empty();
        assert_eq!((empty.status(), empty.body()), (204, &[][..]));
        assert!(empty.headers().is_empty());

        let redirect = res().redirect("https://appwrite.io/");
        assert_eq!(redirect.status(), 301);
        assert_eq!(redirect.header("location"), Some("https://appwrite.io/"));
    }

    #[test]
    fn with_header_replaces_case_insensitively() {
        let response = res()
            .text("<h1>hi</h1>")
            .with_header("Content-Type", "text/html")
            .with_status(202);
        assert_eq!(response.status(), 202);
        assert_eq!(
            response.headers(),
            [("content-type".to_string(), "text/html".to_string())]
        );
    }

    #[test]
    fn appended_headers_repeat() {
        let response = Response::new(200, "")
            .with_appended_header("Set-Cookie", "a=1")
            .with_appended_header("set-cookie", "b=2")
            .with_headers([("x-one", "1"), ("X-Two", "2")]);
        let headers: Vec<_> = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        assert_eq!(
            headers,
            [
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2"),
                ("x-one", "1"),
                ("x-two", "2")
            ]
        );
    }

    #[test]
    fn converts_into_the_wit_record() {
        let wit = WitResponse::from(res().json(&1).with_status(201));
        assert_eq!(wit.status_code, 201);
        assert_eq!(
            wit.headers,
            [("content-type".to_string(), JSON.to_string())]
        );
        assert_eq!(wit.body, b"1");
    }
}
