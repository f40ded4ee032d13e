//! The process's `tracing` subscriber: the server's own logs, as text for people or one JSON
//! object per line for machines, filtered by `WAFER_LOG`; and, when the standard OTLP variables
//! ask for it, the OpenTelemetry layer that exports spans ([`super::traces`]).
//!
//! A JSON line holds the timestamp, level, target, the event's fields (its `message` among
//! them), the names of the spans it happened in, and, lifted from those spans, the
//! `request_id` and `execution_id` it belongs to.

use std::fmt;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

/// How the server writes its own logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Lines for people, with the spans' fields before each message.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("{other:?} is not a log format (text or json)")),
        }
    }
}

/// The filter when `WAFER_LOG` is unset.
const DEFAULT_FILTER: &str = "info,tower_http=warn";

/// The crates whose spans and events go into traces.
const TRACED_CRATES: &[&str] = &["wafer_gateway", "wafer_runtime", "wafer_store"];

/// Keeps the trace exporter alive; [`Telemetry::shutdown`] sends the spans still buffered.
#[must_use = "dropping it without shutdown loses the spans still buffered"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are being exported.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Exports what is still buffered and stops the exporter (blocks for at most the export
    /// timeout).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "the last spans could not be exported");
        }
    }
}

/// Installs the process's subscriber: logs in `format`, and the OTLP trace exporter when the
/// standard variables ask for it. Call once, at start.
pub fn init_telemetry(format: LogFormat) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_env("WAFER_LOG").unwrap_or_else(|_| DEFAULT_FILTER.into());
    let logs = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer().boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .event_format(JsonLines)
            .and_then(CorrelationLayer)
            .boxed(),
    }
    .with_filter(filter);
    let provider = super::traces::otlp_requested()
        .then(super::traces::otlp_provider)
        .transpose()?;
    let spans = provider.as_ref().map(|provider| {
        let traced = TRACED_CRATES.iter().fold(Targets::new(), |targets, name| {
            targets.with_target(*name, Level::INFO)
        });
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("wafer"))
            .with_filter(traced)
    });
    tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init()?;
    Ok(Telemetry { provider })
}

/// The IDs a span carries for the log lines within it.
#[derive(Default)]
struct CorrelationIds {
    request_id: Option<String>,
    execution_id: Option<String>,
}

impl Visit for CorrelationIds {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.keep(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if matches!(field.name(), "request_id" | "execution_id") {
            self.keep(field, format!("{value:?}"));
        }
    }
}

impl CorrelationIds {
    fn keep(&mut self, field: &Field, value: String) {
        match field.name() {
            "request_id" => self.request_id = Some(value),
            "execution_id" => self.execution_id = Some(value),
            _ => {}
        }
    }

    fn is_empty(&self) -> bool {
        self.request_id.is_none() && self.execution_id.is_none()
    }
}

/// Keeps each span's request and execution IDs where [`JsonLines`] finds them.
struct CorrelationLayer;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for CorrelationLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut ids = CorrelationIds::default();
        attrs.record(&mut ids);
        if !ids.is_empty()
            && let Some(span) = ctx.span(id)
        {
            span.extensions_mut().insert(ids);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<CorrelationIds>() {
            Some(ids) => values.record(ids),
            None => {
                let mut ids = CorrelationIds::default();
                values.record(&mut ids);
                if !ids.is_empty() {
                    extensions.insert(ids);
                }
            }
        }
    }
}

/// An event's fields as JSON values.
struct JsonFields<'a>(&'a mut Map<String, Value>);

impl Visit for JsonFields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().to_owned(), Value::from(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::from(format!("{value:?}")));
    }
}

/// Formats each event as one JSON object on one line.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".to_owned(),
            Value::from(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
        line.insert("level".to_owned(), Value::from(metadata.level().as_str()));
        line.insert("target".to_owned(), Value::from(metadata.target()));
        event.record(&mut JsonFields(&mut line));
        if let Some(scope) = ctx.event_scope() {
            let mut names = Vec::new();
            for span in scope.from_root() {
                names.push(Value::from(span.name()));
                let extensions = span.extensions();
                let Some(ids) = extensions.get::<CorrelationIds>() else {
                    continue;
                };
                for (key, id) in [
                    ("request_id", &ids.request_id),
                    ("execution_id", &ids.execution_id),
                ] {
                    if let Some(id) = id {
                        line.insert(key.to_owned(), Value::from(id.as_str()));
                    }
                }
            }
            line.insert("spans".to_owned(), Value::Array(names));
        }
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_json_line_carries_the_request_and_execution_ids_of_its_spans() {
        let captured = Captured::default();
        let writer = captured.clone();
        let layer = tracing_subscriber::fmt::layer()
            .event_format(JsonLines)
            .with_writer(move || writer.clone())
            .and_then(CorrelationLayer);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let request = tracing::info_span!("request", request_id = "r1");
            let _request = request.enter();
            let execution = tracing::info_span!("execution", execution_id = %"e1", status = Empty);
            let _execution = execution.enter();
            tracing::info!(fuel = 7u64, ok = true, "invocation finished");
        });
        let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("UTF-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        let line: Value = serde_json::from_str(lines[0]).expect("JSON");
        assert_eq!(line["message"], "invocation finished");
        assert_eq!(line["request_id"], "r1");
        assert_eq!(line["execution_id"], "e1");
        assert_eq!(line["fuel"], 7);
        assert_eq!(line["ok"], true);
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["spans"], serde_json::json!(["request", "execution"]));
    }

    use tracing::field::Empty;
}
