//! OpenTelemetry traces. When `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, the server's `tracing` spans are exported over
//! OTLP/HTTP with protobuf bodies, in batches from a background thread, configured by the
//! standard variables (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_TRACES_SAMPLER`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`, …).
//!
//! The spans: `request` for every HTTP request (continuing an incoming `traceparent`),
//! `execution` for every execution (function, deployment, status, fuel, duration), the
//! runtime's `invoke`, `compile` and `outbound` spans beneath. The guest sees its execution's
//! `traceparent` among its request headers, and its outbound requests carry their own span's.
//! A queued execution continues the trace of the request that queued it
//! ([`continue_queued_trace`]).

use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use wafer_store::Execution;

use super::RouteClass;

/// Whether spans are exported: when not, nothing here looks at trace headers.
static EXPORTING: AtomicBool = AtomicBool::new(false);

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Whether the standard variables ask for spans to be exported.
pub(crate) fn otlp_requested() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|value| !value.trim().is_empty());
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
        || std::env::var("OTEL_TRACES_EXPORTER").is_ok_and(|v| v.eq_ignore_ascii_case("none"));
    !disabled && (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
}

/// The tracer provider exporting over OTLP/HTTP, from the standard variables.
pub(crate) fn otlp_provider() -> anyhow::Result<SdkTracerProvider> {
    use opentelemetry_otlp::{Protocol, WithExportConfig as _};
    if let Ok(protocol) = std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL")
        && protocol != "http/protobuf"
    {
        anyhow::bail!(
            "OTEL_EXPORTER_OTLP_PROTOCOL={protocol} is not supported: wafer exports traces over \
             http/protobuf (point it at the collector's OTLP/HTTP port, usually 4318)"
        );
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("wafer");
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    EXPORTING.store(true, Ordering::Relaxed);
    wafer_runtime::set_trace_context(traceparent);
    Ok(provider)
}

/// The W3C `traceparent` of a span, when it is exported.
pub fn traceparent(span: &Span) -> Option<String> {
    if !exporting() {
        return None;
    }
    let context = span.context();
    let span = context.span();
    let context = span.span_context();
    context.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            context.trace_id(),
            context.span_id(),
            context.trace_flags().to_u8()
        )
    })
}

struct HeaderMapExtractor<'a>(&'a axum::http::HeaderMap);

impl Extractor for HeaderMapExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

struct PairsExtractor<'a>(&'a [(String, String)]);

impl Extractor for PairsExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_str()).collect()
    }
}

fn continue_trace(span: &Span, extractor: &dyn Extractor) {
    if extractor.get(TRACEPARENT).is_none() {
        return;
    }
    let parent = TraceContextPropagator::new().extract(extractor);
    if parent.span().span_context().is_valid() {
        // Fails only when the span is disabled, and then there is nothing to continue.
        let _ = span.set_parent(parent);
    }
}

/// The span of one HTTP request, a child of the client's `traceparent` if it sent one.
pub(crate) fn request_span(request: &Request, request_id: &str, route: RouteClass) -> Span {
    let span = tracing::info_span!(
        "request",
        request_id,
        http.request.method = %request.method(),
        url.path = request.uri().path(),
        http.response.status_code = Empty,
        otel.name = Empty,
        otel.kind = Empty,
        otel.status_code = Empty,
    );
    if exporting() {
        span.record(
            "otel.name",
            format!("{} {}", request.method(), route.as_str()),
        );
        span.record("otel.kind", "server");
        continue_trace(&span, &HeaderMapExtractor(request.headers()));
    }
    span
}

/// Notes a request's answer in its span; `route` is the class it turned out to be (a function
/// domain's requests are told from their path only once routed).
pub(crate) fn record_response(span: &Span, method: &Method, route: RouteClass, status: StatusCode) {
    span.record("http.response.status_code", status.as_u16());
    if exporting() {
        span.record("otel.name", format!("{method} {}", route.as_str()));
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
    }
}

/// Makes the worker's span of a queued execution continue the trace of the request that
/// queued it (its record keeps that request's `traceparent`).
pub fn continue_queued_trace(span: &Span, execution: &Execution) {
    if exporting() {
        continue_trace(span, &PairsExtractor(&execution.request_headers));
    }
}

/// The span of one execution.
pub fn execution_span(execution: &Execution) -> Span {
    let span = tracing::info_span!(
        "execution",
        execution_id = %execution.id,
        project = %execution.project_id,
        function = %execution.function_id,
        deployment = %execution.deployment_id,
        trigger = execution.trigger.as_str(),
        status = Empty,
        fuel = Empty,
        duration_seconds = Empty,
        otel.name = Empty,
        otel.status_code = Empty,
    );
    if exporting() {
        span.record("otel.name", format!("execution {}", execution.function_id));
    }
    span
}

/// Notes how an execution ended in its span.
pub fn record_execution(span: &Span, execution: &Execution) {
    span.record("status", execution.status.as_str());
    span.record("fuel", execution.fuel_consumed);
    span.record("duration_seconds", execution.duration);
    if execution.status == wafer_store::ExecutionStatus::Failed {
        span.record("otel.status_code", "ERROR");
    }
}

/// Gives the guest (or a queued record) the current span's trace context in place of any the
/// client sent, when spans are exported; otherwise the client's headers pass as they are.
pub fn pass_trace_context(headers: &mut Vec<(String, String)>) {
    let Some(traceparent) = traceparent(&Span::current()) else {
        return;
    };
    headers.retain(|(name, _)| {
        !name.eq_ignore_ascii_case(TRACEPARENT) && !name.eq_ignore_ascii_case(TRACESTATE)
    });
    headers.push((TRACEPARENT.to_owned(), traceparent));
}
