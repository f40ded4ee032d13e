//! Opt-in instance reuse ([`Limits::reuse_instance`]): idle instances of a deployment kept
//! for the next invocation that asks for one.
//!
//! An instance is only ever handed to an invocation whose environment, outbound policy and
//! memory and log limits are exactly those it was created with, because those are fixed in
//! its store (the WASI context, the memory limiter, the output buffers). Fuel, the epoch
//! deadline and the wall-clock timeout are set anew for every call. Only an instance whose
//! call succeeded comes back: after a trap, a timeout, a guest error or an oversized response
//! it is dropped, since its state may be half-updated.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use wasmtime::Store;
use wasmtime::component::TypedFunc;

use crate::contract::{Request, Response};
use crate::host::HostState;
use crate::limits::Limits;
use crate::outbound::OutboundPolicy;

pub(crate) type HandleFunc = TypedFunc<(Request,), (Result<Response, String>,)>;

/// What an instance's store was built from; reuse requires an exact match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WarmKey {
    env: Vec<(String, String)>,
    outbound: OutboundPolicy,
    memory_bytes: u64,
    max_log_chars: usize,
}

impl WarmKey {
    pub(crate) fn new(
        limits: &Limits,
        env: &[(String, String)],
        outbound: &OutboundPolicy,
    ) -> Self {
        Self {
            env: env.to_vec(),
            outbound: outbound.clone(),
            memory_bytes: limits.memory_bytes,
            max_log_chars: limits.max_log_chars,
        }
    }
}

/// An instantiated deployment between invocations.
pub(crate) struct WarmInstance {
    pub(crate) store: Store<HostState>,
    pub(crate) handle: HandleFunc,
    pub(crate) key: WarmKey,
}

/// An idle instance with the share of the runtime-wide idle budget it holds.
struct Idle {
    instance: WarmInstance,
    _ticket: IdleTicket,
}

/// Counts idle instances across the whole runtime: every idle instance holds a pool slot that
/// fresh invocations then cannot use, so their number is capped. Dropping the ticket (with its
/// instance, when it is taken or its deployment leaves the cache) gives the share back.
struct IdleTicket(Arc<AtomicUsize>);

impl IdleTicket {
    fn acquire(count: &Arc<AtomicUsize>, max: usize) -> Option<Self> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(count.clone()))
    }
}

impl Drop for IdleTicket {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The runtime-wide budget of idle instances.
#[derive(Clone, Debug)]
pub(crate) struct IdleBudget {
    count: Arc<AtomicUsize>,
    max_total: usize,
    max_per_deployment: usize,
}

impl IdleBudget {
    pub(crate) fn new(max_total: usize, max_per_deployment: usize) -> Self {
        Self {
            count: Arc::new(AtomicUsize::new(0)),
            max_total,
            max_per_deployment,
        }
    }

    /// Idle instances kept now, across the runtime.
    pub(crate) fn idle(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}

/// The idle instances of one deployment.
#[derive(Default)]
pub(crate) struct WarmPool {
    idle: Mutex<Vec<Idle>>,
}

impl WarmPool {
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        // The list holds no invariant a panic elsewhere could break.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An idle instance built for exactly `key`, if there is one.
    pub(crate) fn take(&self, key: &WarmKey) -> Option<WarmInstance> {
        let mut idle = self.idle();
        let position = idle.iter().rposition(|entry| entry.instance.key == *key)?;
        Some(idle.swap_remove(position).instance)
    }

    /// Drops every idle instance, freeing their pool slots and their share of the budget.
    pub(crate) fn clear(&self) {
        let idle = std::mem::take(&mut *self.idle());
        drop(idle);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.idle().len()
    }

    /// Keeps an instance for later unless the budget is spent; otherwise it is dropped, which
    /// frees its pool slot.
    pub(crate) fn put(&self, instance: WarmInstance, budget: &IdleBudget) {
        let mut idle = self.idle();
        if idle.len() >= budget.max_per_deployment {
            return;
        }
        if let Some(ticket) = IdleTicket::acquire(&budget.count, budget.max_total) {
            idle.push(Idle {
                instance,
                _ticket: ticket,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_tickets_stop_at_the_budget_and_return_their_share_when_dropped() {
        let budget = IdleBudget::new(2, 4);
        let first = IdleTicket::acquire(&budget.count, budget.max_total);
        let second = IdleTicket::acquire(&budget.count, budget.max_total);
        assert!(first.is_some() && second.is_some());
        assert!(IdleTicket::acquire(&budget.count, budget.max_total).is_none());
        drop(first);
        assert_eq!(budget.idle(), 1);
        assert!(IdleTicket::acquire(&budget.count, budget.max_total).is_some());
    }

    #[test]
    fn warm_keys_differ_when_the_environment_or_policy_differs() {
        let limits = Limits::default();
        let env = vec![("A".to_owned(), "1".to_owned())];
        let base = WarmKey::new(&limits, &env, &OutboundPolicy::deny_all());
        assert_eq!(
            base,
            WarmKey::new(&limits, &env, &OutboundPolicy::deny_all())
        );
        assert_ne!(
            base,
            WarmKey::new(&limits, &[], &OutboundPolicy::deny_all())
        );
        assert_ne!(
            base,
            WarmKey::new(&limits, &env, &OutboundPolicy::allow(["x.test"]))
        );
    }
}
