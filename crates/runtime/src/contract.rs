//! The host side of `wit/function.wit`: the records exchanged with a guest and the names of
//! the interfaces a guest may import and must export.

use wasmtime::component::{ComponentType, Lift, Lower};

/// `wafer:function/types.request`: one invocation as the guest sees it.
#[derive(ComponentType, Lift, Lower, Clone, Debug, Default, PartialEq, Eq)]
#[component(record)]
pub struct Request {
    /// The HTTP method, upper-case (`GET`, `POST`, …).
    pub method: String,
    /// `http` or `https`, as the client reached the server.
    pub scheme: String,
    /// The host the client addressed, without the port.
    pub host: String,
    /// The port the client addressed.
    pub port: u16,
    /// The path, without the query string.
    pub path: String,
    /// The query string without its `?`; empty when there is none.
    #[component(name = "query-string")]
    pub query_string: String,
    /// Header names are lower-case.
    pub headers: Vec<(String, String)>,
    /// The request body as received.
    pub body: Vec<u8>,
}

/// `wafer:function/types.response`: what the guest answered.
#[derive(ComponentType, Lift, Lower, Clone, Debug, Default, PartialEq, Eq)]
#[component(record)]
pub struct Response {
    /// The HTTP status the guest chose.
    #[component(name = "status-code")]
    pub status_code: u16,
    /// Headers as the guest gave them; the caller decides which reach a client.
    pub headers: Vec<(String, String)>,
    /// The response body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// The package every name below belongs to, and the versions a guest may be built against.
pub const PACKAGE: &str = "wafer:function";
pub const PACKAGE_VERSION_PREFIX: &str = "0.1.";
pub const WASI_VERSION_PREFIX: &str = "0.2.";

/// The interface a function exports, without its version.
pub const HANDLER_INTERFACE: &str = "wafer:function/handler";
/// The handler's one function.
pub const HANDLE_FUNCTION: &str = "handle";
/// The interface a `wasi:http/proxy` component exports, without its version.
pub const INCOMING_HANDLER_INTERFACE: &str = "wasi:http/incoming-handler";
/// The host interface for logs and errors, with the version the runtime defines it at.
pub const CONTEXT_INTERFACE: &str = "wafer:function/context@0.1.0";

/// Every interface the runtime links, without versions: the wafer context, WASI 0.2 (as
/// wasmtime-wasi implements it) and the outgoing side of `wasi:http`.
pub const SUPPORTED_INTERFACES: &[&str] = &[
    "wafer:function/context",
    "wafer:function/types",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/ip-name-lookup",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:http/types",
    "wasi:http/outgoing-handler",
];

/// Whether the runtime links an import of this name (`ns:pkg/iface@version`). Versions match
/// the way wasmtime's linker matches them: any patch release of the minor version it has.
pub fn is_supported_import(name: &str) -> bool {
    let (interface, version) = name.split_once('@').unwrap_or((name, ""));
    if !SUPPORTED_INTERFACES.contains(&interface) {
        return false;
    }
    let expected = if interface.starts_with(PACKAGE) {
        PACKAGE_VERSION_PREFIX
    } else {
        WASI_VERSION_PREFIX
    };
    version.starts_with(expected)
}

/// Whether an export name is the wafer handler at a version this runtime speaks.
pub fn is_handler_export(name: &str) -> bool {
    name.split_once('@').is_some_and(|(interface, version)| {
        interface == HANDLER_INTERFACE && version.starts_with(PACKAGE_VERSION_PREFIX)
    })
}

/// Whether an export name is `wasi:http/incoming-handler` at a WASI 0.2 version.
pub fn is_incoming_handler_export(name: &str) -> bool {
    name.split_once('@').is_some_and(|(interface, version)| {
        interface == INCOMING_HANDLER_INTERFACE && version.starts_with(WASI_VERSION_PREFIX)
    })
}

/// Which world a deployment's component implements, and so how it is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeploymentKind {
    /// The `wafer:function` world: a request record in, a response record out, with
    /// Appwrite's context API in the guest SDKs.
    Function,
    /// The standard `wasi:http/proxy` world: `wasi:http/incoming-handler`, whose response
    /// body the guest writes as a stream.
    HttpProxy,
}

impl DeploymentKind {
    /// How the kind is named to users.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Function => "a wafer:function component",
            Self::HttpProxy => "a wasi:http/proxy component",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasi_imports_of_any_patch_release_are_supported() {
        assert!(is_supported_import("wasi:cli/environment@0.2.0"));
        assert!(is_supported_import("wasi:http/outgoing-handler@0.2.6"));
        assert!(is_supported_import("wafer:function/context@0.1.0"));
    }

    #[test]
    fn unknown_interfaces_and_other_versions_are_not_supported() {
        assert!(!is_supported_import("wasi:keyvalue/store@0.2.0"));
        assert!(!is_supported_import("wasi:cli/environment@0.3.0"));
        assert!(!is_supported_import("wasi:http/incoming-handler@0.2.0"));
        assert!(!is_supported_import("wafer:function/context@0.2.0"));
    }

    #[test]
    fn the_incoming_handler_export_is_recognised_at_any_wasi_0_2_release() {
        assert!(is_incoming_handler_export(
            "wasi:http/incoming-handler@0.2.0"
        ));
        assert!(is_incoming_handler_export(
            "wasi:http/incoming-handler@0.2.6"
        ));
        assert!(!is_incoming_handler_export(
            "wasi:http/incoming-handler@0.3.0"
        ));
        assert!(!is_incoming_handler_export("wasi:http/incoming-handler"));
        assert!(!is_incoming_handler_export("wafer:function/handler@0.1.0"));
    }

    #[test]
    fn the_handler_export_is_recognised_by_interface_and_version() {
        assert!(is_handler_export("wafer:function/handler@0.1.0"));
        assert!(!is_handler_export("wafer:function/handler@1.0.0"));
        assert!(!is_handler_export("wasi:http/incoming-handler@0.2.0"));
    }
}
