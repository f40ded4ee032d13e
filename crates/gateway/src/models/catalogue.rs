//! The runtime and specification catalogues, rendered from [`crate::runtimes`].

use serde::Serialize;
use utoipa::ToSchema;

use crate::runtimes::{RUNTIME_VERSION, RUNTIMES, RuntimeInfo, SPECIFICATIONS};

/// A runtime: every one runs a WASI 0.2 component; the label names the guest SDK.
#[derive(Serialize, ToSchema)]
pub struct Runtime {
    #[serde(rename = "$id")]
    id: &'static str,
    key: &'static str,
    name: &'static str,
    version: &'static str,
    base: &'static str,
    image: &'static str,
    logo: &'static str,
    supports: Vec<&'static str>,
}

impl From<&'static RuntimeInfo> for Runtime {
    fn from(runtime: &'static RuntimeInfo) -> Self {
        Self {
            id: runtime.key,
            key: runtime.key,
            name: runtime.name,
            version: RUNTIME_VERSION,
            base: "wasmtime",
            image: "",
            logo: "",
            supports: vec!["amd64"],
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RuntimeList {
    pub total: u64,
    pub runtimes: Vec<Runtime>,
}

impl RuntimeList {
    /// Every runtime wafer accepts.
    pub fn all() -> Self {
        Self {
            total: RUNTIMES.len() as u64,
            runtimes: RUNTIMES.iter().map(Runtime::from).collect(),
        }
    }
}

/// An execution specification.
#[derive(Serialize, ToSchema)]
pub struct Specification {
    /// MiB.
    memory: u32,
    cpus: f64,
    enabled: bool,
    slug: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct SpecificationList {
    pub total: u64,
    pub specifications: Vec<Specification>,
}

impl SpecificationList {
    /// Every specification a function may name.
    pub fn all() -> Self {
        let specifications: Vec<Specification> = SPECIFICATIONS
            .iter()
            .map(|spec| Specification {
                memory: spec.memory_mb,
                cpus: spec.cpus,
                enabled: true,
                slug: spec.slug,
            })
            .collect();
        Self {
            total: specifications.len() as u64,
            specifications,
        }
    }
}
