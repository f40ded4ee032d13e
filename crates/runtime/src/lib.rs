//! The wafer runtime: runs a deployment's WebAssembly component for one invocation in a fresh
//! wasmtime sandbox under enforced limits (fuel, memory, wall-clock time, response and log
//! size) and returns what happened as an [`InvocationOutcome`].
//!
//! It compiles and validates deployments, keeps compiled artifacts on disk by content hash and
//! prepared deployments in a bounded in-memory cache. It must not know about HTTP routing,
//! projects, users or SQL: callers hand it a request record, limits, environment and an
//! outbound policy, and store the outcome themselves.
//!
//! # Why JavaScript and Python invocations cost what they do
//!
//! Measured with `perf` on the hello examples (2 shared vCPUs; µs per serial invocation):
//!
//! - **Data segments are not the problem.** componentize-js and componentize-py (after its
//!   `component-init` snapshot) both leave every data segment in the one module that defines
//!   the linear memory, at constant offsets; the dynamically linked `.so` modules of Python
//!   import that memory and carry no data. So wasmtime builds a copy-on-write image for both
//!   and instantiation maps it rather than copying 10–14 MB.
//! - **Python (~1,200 µs fresh)** spends most of it rebuilding its function table: the
//!   snapshot cannot hold function references, so every instantiation re-runs the dynamic
//!   linker's `ref.func`/`table.set` for thousands of functions across 13 core modules, each a
//!   libcall that looks up the function's code (`get_func_ref`/`func_loc`, the largest item
//!   in the profile), plus copy-on-write faults as the interpreter writes its heap. A fresh
//!   instance runs 357k fuel units, a warm one 154k.
//! - **JavaScript (~700 µs fresh)** is mostly guest work: 2.34M fuel units on a fresh
//!   instance, of which 1.3M are StarlingMonkey's first-call work that its Wizer snapshot does
//!   not hold; a warm instance needs 1.04M.
//! - Keeping more of a slot resident (`memory_keep_resident_bytes` 1 MiB → 32 MiB) changed
//!   neither within noise, so the default stays 1 MiB; it is configurable.
//!
//! What helps without weakening isolation by default is opt-in instance reuse
//! ([`Limits::reuse_instance`]): an instance that answered successfully is kept (bounded per
//! deployment and runtime-wide) and serves the next opted-in invocation with the same
//! environment and policy, under fresh fuel, deadline and timeout; any failure discards it.
//! It brought JavaScript from ~700 to ~145 µs and Python from ~1,200 to ~31 µs. The price is
//! that globals, heap and open handles survive between that function's calls.

mod address;
mod artifacts;
mod cache;
mod contract;
mod deploy;
mod engine;
mod host;
mod limits;
mod outbound;
mod outcome;
mod output;
mod runtime;
mod send;
mod validate;
mod warm;

pub use address::{AddressClass, AddressRange, classify, parse_ip_host};
pub use artifacts::DeploymentId;
pub use contract::{Request, Response, SUPPORTED_INTERFACES, is_supported_import};
pub use deploy::Tier;
pub use engine::{
    AllocationMode, DEFAULT_MAX_IDLE_INSTANCES, DEFAULT_MAX_IDLE_INSTANCES_PER_DEPLOYMENT,
    DEFAULT_MEMORY_KEEP_RESIDENT, DEFAULT_WINCH_THRESHOLD_BYTES, EPOCH_TICK, EngineConfig,
};
pub use host::MemoryLimitExceeded;
pub use limits::Limits;
pub use outbound::{OutboundConfig, OutboundPolicy};
pub use outcome::{ExecutionStatus, Failure, InvocationOutcome};
pub use output::truncation_notice;
pub use runtime::{
    CompiledDeployment, InvokeError, Runtime, RuntimeConfig, RuntimeError, RuntimeStats,
};
pub use validate::CompileError;
