//! The wafer runtime: runs a deployment's WebAssembly component for one invocation in a fresh
//! wasmtime sandbox under enforced limits (fuel, memory, wall-clock time, response and log
//! size) and returns what happened as an [`InvocationOutcome`].
//!
//! It validates and compiles components, keeps them on disk by content hash
//! ([`ArtifactHash`]) and ready to instantiate in a bounded in-memory cache.
//!
//! A deployment implements one of two worlds ([`DeploymentKind`]): `wafer:function`, called
//! with a request record, or the standard `wasi:http/proxy`, whose response body streams
//! ([`Runtime::invoke_streaming`]).
//!
//! It must not know HTTP routing, projects, users or SQL: callers hand it a request record,
//! limits, environment and an outbound policy, and keep the outcome themselves.
//!
//! Why a JavaScript or Python invocation costs what it does, and what opt-in instance reuse
//! ([`Limits::reuse_instance`]) buys: `benches/README.md` at the repository root.

#![warn(missing_docs)]

mod address;
mod artifacts;
mod cache;
mod contract;
mod deploy;
mod engine;
mod host;
mod limits;
mod observe;
mod outbound;
mod outcome;
mod output;
mod proxy;
mod runtime;
mod send;
mod validate;
mod warm;

pub use address::{AddressClass, AddressRange, classify, parse_ip_host};
pub use artifacts::ArtifactHash;
pub use contract::{DeploymentKind, Request, Response, SUPPORTED_INTERFACES, is_supported_import};
pub use deploy::Tier;
pub use engine::{
    AllocationMode, DEFAULT_MAX_IDLE_INSTANCES, DEFAULT_MAX_IDLE_INSTANCES_PER_DEPLOYMENT,
    DEFAULT_MEMORY_KEEP_RESIDENT, DEFAULT_WINCH_THRESHOLD_BYTES, EPOCH_TICK, EngineConfig,
};
pub use host::{MemoryBudgetExceeded, MemoryLimitExceeded};
pub use limits::Limits;
pub use observe::{RuntimeObserver, TraceContextWriter, set_trace_context};
pub use outbound::{OutboundConfig, OutboundPolicy};
pub use outcome::{ExecutionStatus, Failure, InvocationOutcome};
pub use output::truncation_notice;
pub use proxy::{
    PendingOutcome, RequestBody, RequestBodyError, ResponseStream, StreamError, Streamed,
    StreamingResponse,
};
pub use runtime::{
    CompiledDeployment, InvokeError, Runtime, RuntimeConfig, RuntimeError, RuntimeStats,
};
pub use validate::CompileError;
