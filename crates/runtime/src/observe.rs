//! What the runtime tells whoever watches it, without knowing who that is: events a caller's
//! [`RuntimeObserver`] hears (its metrics), the counters of [`crate::RuntimeStats`], and the W3C
//! trace context that outbound requests carry when the process exports traces.
//!
//! The runtime only emits `tracing` spans; which exporter turns them into OpenTelemetry spans,
//! and so how a span's `traceparent` is written, is the business of whoever installed the
//! subscriber ([`set_trace_context`]).

use std::sync::OnceLock;
use std::time::Duration;

use crate::deploy::Tier;

/// Hears what the runtime does, for metrics. Every method has a default that ignores the event;
/// they are called on the path of the work, so they must be quick and never block.
pub trait RuntimeObserver: Send + Sync + std::fmt::Debug {
    /// A component was compiled with `tier` in `duration`: at upload, to replace an unusable
    /// artifact, or in the background from Winch code to Cranelift's.
    fn compiled(&self, tier: Tier, duration: Duration) {
        let _ = (tier, duration);
    }
}

/// Writes the `traceparent` header value of a span, or `None` when the span is not traced.
pub type TraceContextWriter = fn(&tracing::Span) -> Option<String>;

static TRACE_CONTEXT: OnceLock<TraceContextWriter> = OnceLock::new();

/// Installs how outbound requests get their `traceparent`: called once by whoever installed the
/// process's trace exporter (the tracing subscriber is process-wide, and so is this). Later
/// calls are ignored.
pub fn set_trace_context(writer: TraceContextWriter) {
    let _ = TRACE_CONTEXT.set(writer);
}

/// The `traceparent` of `span`, when traces are exported.
pub(crate) fn traceparent(span: &tracing::Span) -> Option<String> {
    TRACE_CONTEXT.get().and_then(|writer| writer(span))
}
