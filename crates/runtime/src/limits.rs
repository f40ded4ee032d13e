//! The limits one invocation runs under, each with a name that failures quote.

use std::time::Duration;

/// Per-invocation limits. Every breach ends the invocation as a failed outcome whose error
/// names the limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time from instantiation to the returned response.
    pub timeout: Duration,
    /// CPU budget in wasmtime fuel units (roughly one per WebAssembly instruction).
    pub fuel: u64,
    /// Linear memory the instance may hold, summed over all its memories.
    pub memory_bytes: u64,
    /// Largest response body the function may return.
    pub max_response_bytes: usize,
    /// Characters of logs (and, separately, of errors) kept; older output is dropped.
    pub max_log_chars: usize,
    /// Opt-in: run on an instance kept from an earlier successful invocation of the same
    /// deployment (with the same environment, outbound policy and memory and log limits)
    /// instead of a fresh one. Off by default: the guest's globals, heap and open handles then
    /// survive between calls, which is an isolation trade-off the function's owner must
    /// accept. Every other limit still holds per call, and an instance that fails in any way
    /// is discarded. `benches/README.md` tells what it saves.
    pub reuse_instance: bool,
}

impl Limits {
    /// The default [`Limits::timeout`].
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
    /// The default [`Limits::fuel`].
    pub const DEFAULT_FUEL: u64 = 10_000_000_000;
    /// The default [`Limits::memory_bytes`].
    pub const DEFAULT_MEMORY_BYTES: u64 = 256 << 20;
    /// The default [`Limits::max_response_bytes`].
    pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 10 << 20;
    /// The default [`Limits::max_log_chars`].
    pub const DEFAULT_MAX_LOG_CHARS: usize = 1_000_000;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Self::DEFAULT_TIMEOUT,
            fuel: Self::DEFAULT_FUEL,
            memory_bytes: Self::DEFAULT_MEMORY_BYTES,
            max_response_bytes: Self::DEFAULT_MAX_RESPONSE_BYTES,
            max_log_chars: Self::DEFAULT_MAX_LOG_CHARS,
            reuse_instance: false,
        }
    }
}
