//! The accepted `runtime` values and the execution specifications, as Appwrite lists them.
//! A runtime names the world its deployments implement: `wasi-http-0.2` runs components of the
//! standard `wasi:http/proxy` world, built by any toolchain; every other runtime runs WASI 0.2
//! components of the `wafer:function` world, and its language label says which guest SDK
//! built them.

use wafer_runtime::DeploymentKind;

use crate::error::ApiError;

pub struct RuntimeInfo {
    pub key: &'static str,
    pub name: &'static str,
}

/// The runtime of `wasi:http/proxy` components.
pub const WASI_HTTP_RUNTIME: &str = "wasi-http-0.2";

/// Which world a function's deployments must implement.
pub fn deployment_kind(runtime: &str) -> DeploymentKind {
    if runtime == WASI_HTTP_RUNTIME {
        DeploymentKind::HttpProxy
    } else {
        DeploymentKind::Function
    }
}

pub const RUNTIMES: &[RuntimeInfo] = &[
    RuntimeInfo {
        key: "wasi-0.2",
        name: "WASI 0.2 component",
    },
    RuntimeInfo {
        key: "rust-wasi-0.2",
        name: "Rust (wafer-guest)",
    },
    RuntimeInfo {
        key: "javascript-wasi-0.2",
        name: "JavaScript (componentize-js)",
    },
    RuntimeInfo {
        key: "python-wasi-0.2",
        name: "Python (componentize-py)",
    },
    RuntimeInfo {
        key: "c-wasi-0.2",
        name: "C (wasi-sdk / zig cc)",
    },
    RuntimeInfo {
        key: WASI_HTTP_RUNTIME,
        name: "wasi:http/proxy component (any toolchain)",
    },
];

pub const RUNTIME_VERSION: &str = "0.2";

pub fn runtime_version(key: &str) -> &'static str {
    if RUNTIMES.iter().any(|runtime| runtime.key == key) {
        RUNTIME_VERSION
    } else {
        ""
    }
}

pub fn check_runtime(key: &str) -> Result<(), ApiError> {
    if RUNTIMES.iter().any(|runtime| runtime.key == key) {
        return Ok(());
    }
    let accepted: Vec<&str> = RUNTIMES.iter().map(|runtime| runtime.key).collect();
    Err(ApiError::invalid_argument(format!(
        "Invalid `runtime` param: '{key}' is not a runtime wafer runs. Accepted values: {}.",
        accepted.join(", ")
    )))
}

pub struct Specification {
    pub slug: &'static str,
    pub memory_mb: u32,
    pub cpus: f64,
}

pub const DEFAULT_SPECIFICATION: &str = "s-1vcpu-512mb";

pub const SPECIFICATIONS: &[Specification] = &[
    Specification {
        slug: "s-0.5vcpu-512mb",
        memory_mb: 512,
        cpus: 0.5,
    },
    Specification {
        slug: "s-1vcpu-512mb",
        memory_mb: 512,
        cpus: 1.0,
    },
    Specification {
        slug: "s-1vcpu-1gb",
        memory_mb: 1024,
        cpus: 1.0,
    },
    Specification {
        slug: "s-2vcpu-2gb",
        memory_mb: 2048,
        cpus: 2.0,
    },
];

/// The memory limit a function asks for, in MiB: its own `memory`, else its specification's;
/// `None` leaves it to the server's default.
pub fn requested_memory_mb(function: &wafer_store::Function) -> Option<u32> {
    function.memory_mb.or_else(|| {
        specification(&function.specification)
            .ok()
            .map(|spec| spec.memory_mb)
    })
}

pub fn specification(slug: &str) -> Result<&'static Specification, ApiError> {
    SPECIFICATIONS
        .iter()
        .find(|spec| spec.slug == slug)
        .ok_or_else(|| {
            let accepted: Vec<&str> = SPECIFICATIONS.iter().map(|spec| spec.slug).collect();
            ApiError::invalid_argument(format!(
                "Invalid `specification` param: '{slug}'. Accepted values: {}.",
                accepted.join(", ")
            ))
        })
}
