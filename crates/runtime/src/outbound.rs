//! Outbound HTTP from guests (`wasi:http/outgoing-handler`), checked against the function's
//! allow-list of hosts. Deny by default: an empty list allows nothing.

use std::future::Future;
use std::sync::Arc;

use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::output::SharedOutput;

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

/// The `wasi:http` hooks of one invocation: the policy, and the errors buffer where a refused
/// request is noted for the execution record.
pub(crate) struct OutboundHooks {
    pub(crate) policy: OutboundPolicy,
    pub(crate) errors: SharedOutput,
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        let uri = request.uri();
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
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            let io: Box<dyn Future<Output = Result<(), HttpError>> + Send> = Box::new(io);
            Ok((response.map(BodyExt::boxed_unsync), io))
        })
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
