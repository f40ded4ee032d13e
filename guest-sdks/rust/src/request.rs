//! The incoming request, with the parts the WIT record leaves to SDKs: the URL, the parsed query
//! and the decoded body.

use std::borrow::Cow;

use serde::de::DeserializeOwned;

use crate::Error;
use crate::bindings::wafer::function::types::Request as WitRequest;

/// One HTTP invocation of the function.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    scheme: String,
    host: String,
    port: u16,
    path: String,
    query_string: String,
    query: Query,
    headers: Headers,
    body: Vec<u8>,
}

impl From<WitRequest> for Request {
    fn from(req: WitRequest) -> Self {
        Self {
            query: Query::parse(&req.query_string),
            headers: Headers::new(req.headers),
            method: req.method,
            scheme: req.scheme,
            host: req.host,
            port: req.port,
            path: req.path,
            query_string: req.query_string,
            body: req.body,
        }
    }
}

impl Request {
    /// The HTTP method, upper-case: `GET`, `POST`, …
    pub fn method(&self) -> &str {
        &self.method
    }

    /// `http` or `https`, as the client reached the platform.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host name the client asked for, without the port.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port the client connected to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The path, starting with `/`, without the query string.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The raw query string, without the leading `?`; empty when there is none.
    pub fn query_string(&self) -> &str {
        &self.query_string
    }

    /// The query string's parameters, percent-decoded (`+` decodes to a space).
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// The full URL: `scheme://host[:port]path[?query]`, the port left out when it is the
    /// scheme's default.
    pub fn url(&self) -> String {
        build_url(
            &self.scheme,
            &self.host,
            self.port,
            &self.path,
            &self.query_string,
        )
    }

    /// All request headers; names are lower-case.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first value of the header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The body as bytes.
    pub fn body_binary(&self) -> &[u8] {
        &self.body
    }

    /// The body as text; invalid UTF-8 sequences become U+FFFD.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as text; the same as [`Request::body_text`].
    pub fn body_raw(&self) -> String {
        self.body_text()
    }

    /// The body parsed as JSON into `T`.
    ///
    /// # Errors
    ///
    /// When the body is not valid JSON or does not match `T`.
    pub fn body_json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body)
            .map_err(|err| Error::json("request body is not valid JSON", err))
    }

    /// Takes the body out of the request without copying it.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }
}

/// Joins URL parts, leaving out the port when it is the scheme's default.
fn build_url(scheme: &str, host: &str, port: u16, path: &str, query_string: &str) -> String {
    let mut url = format!("{scheme}://");
    // An IPv6 address needs brackets to be told apart from the port.
    if host.contains(':') && !host.starts_with('[') {
        url.push('[');
        url.push_str(host);
        url.push(']');
    } else {
        url.push_str(host);
    }
    if default_port(scheme) != Some(port) {
        url.push(':');
        url.push_str(&port.to_string());
    }
    if !path.starts_with('/') {
        url.push('/');
    }
    url.push_str(path);
    if !query_string.is_empty() {
        url.push('?');
        url.push_str(query_string);
    }
    url
}

fn default_port(scheme: &str) -> Option<u16> {
    if scheme.eq_ignore_ascii_case("http") {
        Some(80)
    } else if scheme.eq_ignore_ascii_case("https") {
        Some(443)
    } else {
        None
    }
}

/// An iterator over name/value pairs, in their original order.
#[derive(Debug, Clone)]
pub struct Pairs<'a>(std::slice::Iter<'a, (String, String)>);

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        self.0
            .next()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for Pairs<'_> {}

/// Request headers: names are lower-case and looked up case-insensitively. A name may repeat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    fn new(mut headers: Vec<(String, String)>) -> Self {
        // The host sends lower-case names already; this keeps the promise if one slips through.
        for (name, _) in &mut headers {
            name.make_ascii_lowercase();
        }
        Self(headers)
    }

    /// The first value of the header `name`, compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// Every value of the header `name`, compared case-insensitively, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.iter()
            .filter(move |(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// Whether the header `name` is present, compared case-insensitively.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// All headers, in the order they arrived.
    pub fn iter(&self) -> Pairs<'_> {
        Pairs(self.0.iter())
    }

    /// The number of headers, counting repeated names.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a str, &'a str);
    type IntoIter = Pairs<'a>;

    fn into_iter(self) -> Pairs<'a> {
        self.iter()
    }
}

/// Query parameters, percent-decoded, in order. A key may repeat; keys are case-sensitive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses an `application/x-www-form-urlencoded` string such as `a=1&b=two+words`.
    pub fn parse(query_string: &str) -> Self {
        let pairs = form_urlencoded::parse(query_string.as_bytes())
            .map(|(key, value)| (Cow::into_owned(key), Cow::into_owned(value)))
            .collect();
        Self(pairs)
    }

    /// The first value of `key`. A key without `=` has the empty string as its value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter()
            .find(|(candidate, _)| *candidate == key)
            .map(|(_, value)| value)
    }

    /// Every value of `key`, in order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.iter()
            .filter(move |(candidate, _)| *candidate == key)
            .map(|(_, value)| value)
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// All parameters, in order.
    pub fn iter(&self) -> Pairs<'_> {
        Pairs(self.0.iter())
    }

    /// The number of parameters, counting repeated keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Query {
    type Item = (&'a str, &'a str);
    type IntoIter = Pairs<'a>;

    fn into_iter(self) -> Pairs<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    fn request(scheme: &str, port: u16, path: &str, query_string: &str) -> Request {
        Request::from(WitRequest {
            method: "POST".into(),
            scheme: scheme.into(),
            host: "example.com".into(),
            port,
            path: path.into(),
            query_string: query_string.into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("X-Custom".into(), "one".into()),
                ("x-custom".into(), "two".into()),
            ],
            body: br#"{"name":"wafer","size":3}"#.to_vec(),
        })
    }

    #[test]
    fn url_leaves_out_default_ports() {
        assert_eq!(request("http", 80, "/a", "").url(), "http://example.com/a");
        assert_eq!(
            request("https", 443, "/a", "x=1").url(),
            "https://example.com/a?x=1"
        );
    }

    #[test]
    fn url_keeps_other_ports() {
        assert_eq!(
            request("http", 8080, "/a", "x=1&y").url(),
            "http://example.com:8080/a?x=1&y"
        );
        assert_eq!(
            request("https", 80, "/", "").url(),
            "https://example.com:80/"
        );
    }

    #[test]
    fn url_always_has_a_path() {
        assert_eq!(request("http", 80, "", "q").url(), "http://example.com/?q");
    }

    #[test]
    fn url_brackets_ipv6_hosts() {
        assert_eq!(
            build_url("http", "::1", 3000, "/", ""),
            "http://[::1]:3000/"
        );
        assert_eq!(build_url("http", "[::1]", 80, "/", ""), "http://[::1]/");
    }

    #[test]
    fn query_is_percent_decoded_with_plus_as_space() {
        let query = Query::parse("name=two+words&emoji=%F0%9F%A6%80&a%26b=c%3Dd");
        assert_eq!(query.get("name"), Some("two words"));
        assert_eq!(query.get("emoji"), Some("🦀"));
        assert_eq!(query.get("a&b"), Some("c=d"));
        assert_eq!(query.get("missing"), None);
    }

    #[test]
    fn query_keeps_order_and_repeats() {
        let query = Query::parse("b=1&a=2&b=3&flag");
        assert_eq!(query.get("b"), Some("1"));
        assert_eq!(query.get_all("b").collect::<Vec<_>>(), ["1", "3"]);
        assert_eq!(query.get("flag"), Some(""));
        assert!(query.contains("flag"));
        assert_eq!(
            query.iter().collect::<Vec<_>>(),
            [("b", "1"), ("a", "2"), ("b", "3"), ("flag", "")]
        );
        assert_eq!(query.len(), 4);
    }

    #[test]
    fn empty_query() {
        let query = Query::parse("");
        assert!(query.is_empty());
        assert_eq!(query.get(""), None);
    }

    #[test]
    fn query_keys_are_case_sensitive() {
        assert_eq!(Query::parse("Key=1").get("key"), None);
    }

    #[test]
    fn headers_are_case_insensitive() {
        let req = request("http", 80, "/", "");
        assert_eq!(req.header("Content-Type"), Some("application/json"));
        assert_eq!(req.header("x-custom"), Some("one"));
        assert_eq!(
            req.headers().get_all("X-CUSTOM").collect::<Vec<_>>(),
            ["one", "two"]
        );
        assert_eq!(req.header("accept"), None);
        assert!(!req.headers().contains("accept"));
    }

    #[test]
    fn header_names_are_lower_cased() {
        let req = request("http", 80, "/", "");
        let names: Vec<_> = req.headers().iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["content-type", "x-custom", "x-custom"]);
    }

    #[test]
    fn body_accessors() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Body {
            name: String,
            size: u32,
        }

        let req = request("http", 80, "/", "");
        assert_eq!(req.body_binary(), br#"{"name":"wafer","size":3}"#);
        assert_eq!(req.body_text(), r#"{"name":"wafer","size":3}"#);
        assert_eq!(req.body_raw(), req.body_text());
        let body: Body = req.body_json().expect("the body is valid JSON");
        assert_eq!(
            body,
            Body {
                name: "wafer".into(),
                size: 3
            }
        );
    }

    #[test]
    fn invalid_body_json_is_an_error() {
        let mut wit = WitRequest {
            method: "POST".into(),
            scheme: "http".into(),
            host: "h".into(),
            port: 80,
            path: "/".into(),
            query_string: String::new(),
            headers: Vec::new(),
            body: b"\xffnot json".to_vec(),
        };
        let req = Request::from(wit.clone());
        assert_eq!(req.body_text(), "\u{fffd}not json");
        let err = req.body_json::<serde_json::Value>().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("request body is not valid JSON: ")
        );

        wit.body = Vec::new();
        assert!(Request::from(wit).body_json::<serde_json::Value>().is_err());
    }
}
