//! Outbound HTTP from guests (`wasi:http/outgoing-handler`), checked against the function's
//! allow-list of hosts (deny by default: an empty list allows nothing), then against the
//! address it resolves to ([`crate::address`]) and the invocation's caps.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tracing::Instrument;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::address::{AddressRange, parse_ip_host};
use crate::output::SharedOutput;
use crate::send::{IoFuture, ResponseBudget, SendContext, note, send};

/// Which hosts a function may call. Entries are `host`, `host:port`, `*.domain` (any subdomain)
/// or `*` (any host); hosts compare case-insensitively.
///
/// Every invocation's sandbox holds the policy, so the list is shared: cloning is a reference
/// count, not a copy of every entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    allowed: Arc<[String]>,
}

impl OutboundPolicy {
    /// A policy that refuses every request.
    pub fn deny_all() -> Self {
        Self::default()
    }

    /// A policy that permits the listed hosts (entries are trimmed and lower-cased; empty ones
    /// are dropped).
    pub fn allow<I, S>(hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let allowed = hosts
            .into_iter()
            .map(|host| host.into().trim().to_ascii_lowercase())
            .filter(|host| !host.is_empty())
            .collect();
        Self { allowed }
    }

    /// Checks one allow-list entry's form before it is stored: `*`, `host`, `host:port`,
    /// `*.domain`, or an IP address (IPv6 in brackets when a port follows). The error says
    /// what is wrong with it.
    pub fn check_entry(entry: &str) -> Result<(), String> {
        if entry == "*" {
            return Ok(());
        }
        if entry.len() > MAX_ENTRY_LENGTH {
            return Err(format!("longer than {MAX_ENTRY_LENGTH} characters"));
        }
        if entry.is_empty() || entry.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err("empty or containing spaces".to_owned());
        }
        if entry.contains("://") || entry.contains(['/', '?', '#', '@']) {
            return Err("a host, not a URL: leave out the scheme, path and credentials".to_owned());
        }
        let (host, port) = split_entry(entry)?;
        if port == Some(0) {
            return Err("port 0 is not a port".to_owned());
        }
        if let Some(domain) = host.strip_prefix("*.") {
            return check_host_name(domain);
        }
        match parse_ip_host(host) {
            Ok(Some(ip)) if ip.to_string() == host.trim_matches(['[', ']']) => Ok(()),
            Ok(Some(ip)) => Err(format!("write the address as {ip}")),
            Ok(None) => check_host_name(host),
            Err(reason) => Err(reason),
        }
    }

    /// Whether a request to `host` on `port` may leave the sandbox.
    pub fn permits(&self, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        self.allowed
            .iter()
            .any(|entry| entry_permits(entry, &host, port))
    }
}

fn entry_permits(entry: &str, host: &str, port: u16) -> bool {
    if entry == "*" {
        return true;
    }
    let (entry_host, entry_port) = split_host_port(entry);
    if let Some(entry_port) = entry_port
        && entry_port != port
    {
        return false;
    }
    match entry_host.strip_prefix("*.") {
        Some(domain) => host.len() > domain.len() && host.ends_with(&format!(".{domain}")),
        None => entry_host == host,
    }
}

/// The longest allow-list entry: a 253-character DNS name and a port.
const MAX_ENTRY_LENGTH: usize = 253 + 6;

/// Splits an entry into host and port, refusing a port that is not a number up to 65535.
fn split_entry(entry: &str) -> Result<(&str, Option<u16>), String> {
    let port_text = match entry.strip_prefix('[') {
        Some(rest) => {
            let (_, after) = rest
                .split_once(']')
                .ok_or("an IPv6 address opened with [ but not closed")?;
            after.strip_prefix(':')
        }
        // A bare IPv6 address has several colons and no port.
        None if entry.matches(':').count() > 1 => None,
        None => entry.split_once(':').map(|(_, port)| port),
    };
    let Some(port_text) = port_text else {
        return Ok((entry, None));
    };
    let port = port_text
        .parse::<u16>()
        .ok()
        .filter(|_| port_text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("{port_text:?} is not a port (1 to 65535)"))?;
    let host = &entry[..entry.len() - port_text.len() - 1];
    Ok((host, Some(port)))
}

/// A DNS name: dot-separated labels of letters, digits and hyphens, none empty, none longer
/// than 63 characters, none starting or ending with a hyphen.
fn check_host_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err("a host name is 1 to 253 characters".to_owned());
    }
    for label in name.split('.') {
        let valid = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(format!("{label:?} is not a valid part of a host name"));
        }
    }
    Ok(())
}

/// Splits `host:port` (or `[v6]:port`); a bare host has no port.
fn split_host_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return (entry, None);
        };
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        return (host, port);
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

/// The operator's settings for every outbound call: which non-public ranges may be reached
/// anyway, and how much of the network one invocation may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundConfig {
    /// Loopback, private or otherwise non-public ranges that outbound calls may reach (a
    /// function's allow-list must still name the host). Empty by default: only public
    /// addresses are reachable.
    pub allow_private: Vec<AddressRange>,
    /// Outbound requests one invocation may make (each redirect a guest follows is one).
    pub max_requests: u32,
    /// Outbound connections one invocation may hold open at once: a request counts from when
    /// it is sent until its response body is read to the end or dropped (each request has a
    /// connection of its own).
    pub max_connections: u32,
    /// Response body bytes one invocation may read from all its outbound requests together.
    pub max_response_bytes: u64,
}

impl OutboundConfig {
    /// Default of [`max_requests`](Self::max_requests).
    pub const DEFAULT_MAX_REQUESTS: u32 = 100;
    /// Default of [`max_connections`](Self::max_connections).
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;
    /// Default of [`max_response_bytes`](Self::max_response_bytes): 32 MiB.
    pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 << 20;
}

impl Default for OutboundConfig {
    fn default() -> Self {
        Self {
            allow_private: Vec::new(),
            max_requests: Self::DEFAULT_MAX_REQUESTS,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            max_response_bytes: Self::DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// The `wasi:http` hooks of one invocation: the function's policy, the operator's settings,
/// what the invocation has left of its caps, and the errors buffer where every refusal is
/// noted for the execution record.
pub(crate) struct OutboundHooks {
    policy: OutboundPolicy,
    config: Arc<OutboundConfig>,
    allowed_ranges: Arc<[AddressRange]>,
    errors: SharedOutput,
    requests_left: u32,
    connections: Arc<Semaphore>,
    response_bytes: ResponseBudget,
}

impl OutboundHooks {
    pub(crate) fn new(
        policy: OutboundPolicy,
        config: Arc<OutboundConfig>,
        errors: SharedOutput,
    ) -> Self {
        Self {
            policy,
            allowed_ranges: config.allow_private.iter().copied().collect(),
            requests_left: config.max_requests,
            connections: Arc::new(Semaphore::new(config.max_connections as usize)),
            response_bytes: ResponseBudget::new(config.max_response_bytes),
            config,
            errors,
        }
    }

    /// Gives a reused instance's next invocation fresh caps.
    pub(crate) fn begin_invocation(&mut self) {
        self.requests_left = self.config.max_requests;
        self.connections = Arc::new(Semaphore::new(self.config.max_connections as usize));
        self.response_bytes = ResponseBudget::new(self.config.max_response_bytes);
    }

    /// The reason a request may not even start, noted in the errors.
    fn admit(&mut self, uri: &http::Uri) -> Result<SendContext, HttpError> {
        let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
        let default_port = if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        };
        let port = uri.port_u16().unwrap_or(default_port);
        if !self.policy.permits(host, port) {
            self.errors.lock().push_line(&format!(
                "Outbound request to {uri} denied: {host}:{port} is not in the function's \
                 outbound allow-list."
            ));
            return Err(HttpError::HttpRequestDenied);
        }
        if self.requests_left == 0 {
            let limit = self.config.max_requests;
            note(
                &self.errors,
                uri,
                &format!("the execution already made {limit} outbound requests (max_requests)"),
            );
            return Err(HttpError::ConnectionLimitReached);
        }
        self.requests_left -= 1;
        let Ok(connection) = self.connections.clone().try_acquire_owned() else {
            let limit = self.config.max_connections;
            note(
                &self.errors,
                uri,
                &format!(
                    "the execution already holds {limit} outbound connections open \
                     (max_connections)"
                ),
            );
            return Err(HttpError::ConnectionLimitReached);
        };
        Ok(SendContext {
            errors: self.errors.clone(),
            allowed_ranges: self.allowed_ranges.clone(),
            connection,
            response_bytes: self.response_bytes.clone(),
        })
    }
}

type SendFuture =
    Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        match self.admit(request.uri()) {
            Ok(context) => Box::new(traced_send(request, options, context)),
            Err(error) => Box::new(async { Err(error) }),
        }
    }
}

/// Sends in a span of its own (a child of the invocation's), carrying that span's trace
/// context in `traceparent` when traces are exported, in place of any the guest set.
fn traced_send(
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    context: SendContext,
) -> impl Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send {
    let span = tracing::info_span!(
        "outbound",
        otel.name = %format_args!("{} {}", request.method(), request.uri().host().unwrap_or_default()),
        otel.kind = "client",
        http.request.method = %request.method(),
        url.full = %request.uri(),
        http.response.status_code = tracing::field::Empty,
    );
    if let Some(traceparent) = crate::observe::traceparent(&span)
        && let Ok(value) = http::HeaderValue::try_from(traceparent)
    {
        let headers = request.headers_mut();
        headers.remove("tracestate");
        headers.insert("traceparent", value);
    }
    let recorded = span.clone();
    async move {
        let sent = send(request, options, context).await;
        if let Ok((response, _)) = &sent {
            recorded.record("http.response.status_code", response.status().as_u16());
        }
        sent
    }
    .instrument(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_policy_denies_everything() {
        assert!(!OutboundPolicy::deny_all().permits("example.com", 443));
    }

    #[test]
    fn exact_hosts_match_any_port_and_ignore_case() {
        let policy = OutboundPolicy::allow(["API.example.com"]);
        assert!(policy.permits("api.example.com", 443));
        assert!(policy.permits("Api.Example.Com", 8080));
        assert!(!policy.permits("example.com", 443));
        assert!(!policy.permits("evil-api.example.com", 443));
    }

    #[test]
    fn a_port_in_the_entry_restricts_the_port() {
        let policy = OutboundPolicy::allow(["127.0.0.1:8080", "[::1]:9000"]);
        assert!(policy.permits("127.0.0.1", 8080));
        assert!(!policy.permits("127.0.0.1", 8081));
        assert!(policy.permits("::1", 9000));
    }

    #[test]
    fn well_formed_entries_pass_the_check() {
        for entry in [
            "*",
            "api.example.com",
            "api.example.com:8443",
            "*.example.com",
            "127.0.0.1",
            "127.0.0.1:8080",
            "[::1]:9000",
            "::1",
            "[2001:db8::1]",
            "localhost",
            "my_host.internal",
        ] {
            assert_eq!(OutboundPolicy::check_entry(entry), Ok(()), "{entry}");
        }
    }

    #[test]
    fn malformed_entries_are_refused_with_a_reason() {
        for entry in [
            "",
            " ",
            "api example.com",
            "http://example.com",
            "example.com/path",
            "user@example.com",
            "a..b",
            ".example.com",
            "example.com.",
            "-bad.example.com",
            "example.com:0",
            "example.com:65536",
            "example.com:http",
            "example.com:",
            "*.",
            "**.example.com",
            "*example.com",
            "[::1",
            "2130706433",
            "127.1",
            "1.2.3.4.5",
            "256.0.0.1",
        ] {
            assert!(OutboundPolicy::check_entry(entry).is_err(), "{entry:?}");
        }
        let long = format!("{}.com", "a".repeat(260));
        assert!(OutboundPolicy::check_entry(&long).is_err());
        assert_eq!(
            OutboundPolicy::check_entry("2130706433"),
            Err("write the address as 127.0.0.1".to_owned())
        );
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        let policy = OutboundPolicy::allow(["*.example.com"]);
        assert!(policy.permits("a.example.com", 443));
        assert!(policy.permits("a.b.example.com", 443));
        assert!(!policy.permits("example.com", 443));
        assert!(!policy.permits("badexample.com", 443));
        assert!(OutboundPolicy::allow(["*"]).permits("anything.test", 1));
    }
}
