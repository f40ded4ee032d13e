//! The form of a function's `outboundHosts` on write: each entry is `*`, `host`, `host:port`,
//! `*.domain` or an IP address, and the list is bounded. The runtime owns the grammar
//! ([`OutboundPolicy::check_entry`]); this turns its verdict into the API's error.

use wafer_runtime::OutboundPolicy;

use crate::error::{ApiError, ApiResult};

/// Entries one function's allow-list may hold.
pub const MAX_OUTBOUND_HOSTS: usize = 100;

/// How much of a refused entry the error quotes.
const QUOTED_CHARS: usize = 64;

/// Refuses an allow-list with too many entries or any malformed one, naming it.
pub fn check_outbound_hosts(hosts: &[String]) -> ApiResult<()> {
    if hosts.len() > MAX_OUTBOUND_HOSTS {
        return Err(ApiError::invalid_argument(format!(
            "Invalid `outboundHosts` param: {} entries; at most {MAX_OUTBOUND_HOSTS} are allowed.",
            hosts.len()
        )));
    }
    for entry in hosts {
        OutboundPolicy::check_entry(entry).map_err(|reason| {
            let quoted: String = entry.chars().take(QUOTED_CHARS).collect();
            ApiError::invalid_argument(format!(
                "Invalid `outboundHosts` param: {quoted:?} is not a host entry ({reason}). \
                 Entries are `*`, `host`, `host:port`, `*.domain` or an IP address."
            ))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|entry| (*entry).to_owned()).collect()
    }

    #[test]
    fn well_formed_lists_pass() {
        let list = hosts(&["*", "api.example.com:443", "*.example.org", "[::1]:8080"]);
        assert!(check_outbound_hosts(&list).is_ok());
        assert!(check_outbound_hosts(&[]).is_ok());
    }

    #[test]
    fn a_malformed_entry_is_named_in_the_error() {
        let error = check_outbound_hosts(&hosts(&["api.example.com", "http://evil.test/x"]))
            .expect_err("a URL is not a host");
        let text = error.message;
        assert!(text.contains("\"http://evil.test/x\""), "{text}");
        assert!(text.contains("outboundHosts"), "{text}");
    }

    #[test]
    fn too_many_entries_are_refused() {
        let list: Vec<String> = (0..=MAX_OUTBOUND_HOSTS)
            .map(|n| format!("h{n}.example.com"))
            .collect();
        assert!(check_outbound_hosts(&list).is_err());
    }
}
