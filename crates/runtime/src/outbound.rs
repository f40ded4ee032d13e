//! Outbound HTTP from guests (`wasi:http/outgoing-handler`), checked against the function's
//! allow-list of hosts (deny by default: an empty list allows nothing), then against the
//! address it resolves to ([`crate::address`]) and the invocation's caps.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::address::AddressRange;
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
    pub const DEFAULT_MAX_REQUESTS: u32 = 100;
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;
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
            Ok(context) => Box::new(send(request, options, context)),
            Err(error) => Box::new(async { Err(error) }),
        }
    }
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
    fn wildcards_match_subdomains_only() {
        let policy = OutboundPolicy::allow(["*.example.com"]);
        assert!(policy.permits("a.example.com", 443));
        assert!(policy.permits("a.b.example.com", 443));
        assert!(!policy.permits("example.com", 443));
        assert!(!policy.permits("badexample.com", 443));
        assert!(OutboundPolicy::allow(["*"]).permits("anything.test", 1));
    }
}
