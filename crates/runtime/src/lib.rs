//! The wafer runtime: runs a deployment's WebAssembly component for one invocation in a fresh
//! wasmtime sandbox under enforced limits (fuel, memory, wall-clock time, response and log
//! size) and returns what happened as an [`InvocationOutcome`].
//!
//! It compiles and validates deployments, keeps compiled artifacts on disk by content hash and
//! prepared deployments in a bounded in-memory cache. It must not know about HTTP routing,
//! projects, users or SQL: callers hand it a request record, limits, environment and an
//! outbound policy, and store the outcome themselves.

mod artifacts;
mod cache;
mod contract;
mod engine;
mod host;
mod limits;
mod outbound;
mod outcome;
mod output;
mod runtime;
mod validate;

pub use artifacts::DeploymentId;
pub use contract::{Request, Response, SUPPORTED_INTERFACES, is_supported_import};
pub use engine::{AllocationMode, EPOCH_TICK, EngineConfig};
pub use host::MemoryLimitExceeded;
pub use limits::Limits;
pub use outbound::OutboundPolicy;
pub use outcome::{ExecutionStatus, Failure, InvocationOutcome};
pub use output::truncation_notice;
pub use runtime::{
    CompiledDeployment, InvokeError, Runtime, RuntimeConfig, RuntimeError, RuntimeStats,
};
pub use validate::CompileError;
