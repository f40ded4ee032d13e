//! The per-invocation host state every `Store` carries, and the linker that exposes it to
//! guests: WASI 0.2, outgoing `wasi:http` and the wafer `context` interface.

use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{ResourceLimiter, StoreContextMut};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::contract::CONTEXT_INTERFACE;
use crate::limits::Limits;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::outbound::{OutboundConfig, OutboundHooks, OutboundPolicy};
use crate::output::SharedOutput;

/// Everything one invocation's store owns. Built fresh per invocation, so nothing a guest does
/// can reach the next one.
pub(crate) struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    pub(crate) outbound: OutboundHooks,
    pub(crate) logs: SharedOutput,
    pub(crate) errors: SharedOutput,
    pub(crate) memory: MemoryLimiter,
}

impl HostState {
    pub(crate) fn new(
        limits: &Limits,
        env: &[(String, String)],
        policy: &OutboundPolicy,
        network: &Arc<OutboundConfig>,
        budget: Option<&Arc<MemoryBudget>>,
    ) -> Self {
        let logs = SharedOutput::new(limits.max_log_chars);
        let errors = SharedOutput::new(limits.max_log_chars);
        let wasi = WasiCtxBuilder::new()
            .envs(env)
            .stdout(logs.clone())
            .stderr(errors.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Self {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            outbound: OutboundHooks::new(policy.clone(), network.clone(), errors.clone()),
            logs,
            errors,
            memory: MemoryLimiter::new(limits.memory_bytes, budget.cloned()),
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

/// The error a memory growth past the function's limit traps with.
#[derive(Debug, thiserror::Error)]
#[error(
    "Memory limit exceeded: the function tried to grow its memory to {requested} bytes; its memory limit is {limit} bytes."
)]
pub struct MemoryLimitExceeded {
    /// The total size, in bytes, the growth would have reached.
    pub requested: u64,
    /// The function's memory limit in bytes.
    pub limit: u64,
}

/// The error a memory growth traps with when the sandboxes of the whole runtime would hold
/// more than its budget.
#[derive(Debug, thiserror::Error)]
#[error(
    "Server memory budget exceeded: the function tried to grow its memory by {requested} bytes \
     while running sandboxes already hold {in_use} of the server's {budget} bytes for \
     sandboxes (its memory budget); retry when fewer executions run."
)]
pub struct MemoryBudgetExceeded {
    /// The growth, in bytes, that was refused.
    pub requested: u64,
    /// Bytes all sandboxes held at the time.
    pub in_use: u64,
    /// The runtime's budget in bytes.
    pub budget: u64,
}

/// Linear memory held by every sandbox of a runtime together, against a budget: the sum of the
/// functions' own limits may be far above what the machine has.
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    budget: u64,
    in_use: AtomicU64,
}

impl MemoryBudget {
    pub(crate) fn new(budget: u64) -> Self {
        Self {
            budget,
            in_use: AtomicU64::new(0),
        }
    }

    fn charge(&self, bytes: u64) -> Result<(), MemoryBudgetExceeded> {
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |in_use| {
                in_use
                    .checked_add(bytes)
                    .filter(|total| *total <= self.budget)
            })
            .map(drop)
            .map_err(|in_use| MemoryBudgetExceeded {
                requested: bytes,
                in_use,
                budget: self.budget,
            })
    }

    fn release(&self, bytes: u64) {
        self.in_use.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Caps the linear memory of an instance (summed over its memories) by the function's limit
/// and the runtime's budget, and records the peak. What it holds returns to the budget when the
/// instance's store is dropped.
pub(crate) struct MemoryLimiter {
    limit: u64,
    in_use: u64,
    pub(crate) peak: u64,
    budget: Option<Arc<MemoryBudget>>,
}

impl MemoryLimiter {
    fn new(limit: u64, budget: Option<Arc<MemoryBudget>>) -> Self {
        Self {
            limit,
            in_use: 0,
            peak: 0,
            budget,
        }
    }

    /// Starts a new invocation's peak from what a reused instance already holds.
    pub(crate) fn begin_invocation(&mut self) {
        self.peak = self.in_use;
    }
}

impl Drop for MemoryLimiter {
    fn drop(&mut self) {
        if let Some(budget) = &self.budget {
            budget.release(self.in_use);
        }
    }
}

/// Tables are capped by the engine's pool; this bound only keeps on-demand engines sane.
const MAX_TABLE_ELEMENTS: usize = 1_000_000;

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = (desired - current) as u64;
        let requested = self.in_use + growth;
        if requested > self.limit {
            return Err(MemoryLimitExceeded {
                requested,
                limit: self.limit,
            }
            .into());
        }
        if let Some(budget) = &self.budget {
            budget.charge(growth)?;
        }
        self.in_use = requested;
        self.peak = self.peak.max(requested);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// Builds the linker every deployment is instantiated with.
pub(crate) fn build_linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    let mut context = linker.instance(CONTEXT_INTERFACE)?;
    context.func_wrap(
        "log",
        |store: StoreContextMut<'_, HostState>, (message,): (String,)| {
            store.data().logs.lock().push_line(&message);
            Ok(())
        },
    )?;
    context.func_wrap(
        "error",
        |store: StoreContextMut<'_, HostState>, (message,): (String,)| {
            store.data().errors.lock().push_line(&message);
            Ok(())
        },
    )?;
    Ok(linker)
}
