//! The Prometheus metrics: families registered once at start, handles the request path updates
//! without allocating, and the values read from the runtime and the store at each scrape.
//!
//! Label cardinality is bounded: a function is labelled `project/function`, for at most
//! [`Metrics::new`]'s `max_functions` functions; executions of functions past that cap are
//! counted under `(other)`. Execution and request IDs are never labels (they are in traces and
//! logs instead).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use wafer_runtime::{RuntimeObserver, RuntimeStats, Tier};
use wafer_store::{DueQueue, Execution, Timestamp, WriterObserver};

use super::{Rejection, RouteClass};

/// Every metric name starts with this (and `_`).
const PREFIX: &str = "wafer";

/// The label of executions of functions beyond the cap.
const OTHER_FUNCTIONS: &str = "(other)";

/// Execution and request durations, in seconds: a Rust function answers in tens of
/// microseconds, a JavaScript one in about a millisecond, and a function may run for minutes.
const DURATION_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Compile durations, in seconds: Winch takes about 2 s for a large component, Cranelift 12 to
/// 17 s, a small Rust component well under one.
const COMPILE_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0,
];

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS.iter().copied())
}

fn compile_histogram() -> Histogram {
    Histogram::new(COMPILE_BUCKETS.iter().copied())
}

/// Fuel consumed: from ten thousand units (a trivial handler) to ten billion (the default
/// budget's order).
fn fuel_histogram() -> Histogram {
    Histogram::new(exponential_buckets(10_000.0, 10.0, 7))
}

/// Records per group commit: 1 when idle, up to the writer's batch limit under load.
fn batch_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 10))
}

/// A function as a label value, `project/function`, shared by every series of the function.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct FunctionLabel(Arc<str>);

impl EncodeLabelValue for FunctionLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        encoder.write_str(&self.0)
    }
}

impl EncodeLabelValue for RouteClass {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        encoder.write_str(self.as_str())
    }
}

impl EncodeLabelValue for Rejection {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        encoder.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExecutionLabels {
    function: FunctionLabel,
    trigger: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FunctionLabels {
    function: FunctionLabel,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: RouteClass,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: RouteClass,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectionLabels {
    reason: Rejection,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TierLabels {
    tier: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The labels of the functions seen so far, at most `max` of them.
#[derive(Debug)]
struct KnownFunctions {
    max: usize,
    /// By project, then function: looked up by `&str` without building a key.
    labels: RwLock<HashMap<String, HashMap<String, FunctionLabel>>>,
    count: std::sync::atomic::AtomicUsize,
    other: FunctionLabel,
}

impl KnownFunctions {
    fn new(max: usize) -> Self {
        Self {
            max,
            labels: RwLock::default(),
            count: Default::default(),
            other: FunctionLabel(Arc::from(OTHER_FUNCTIONS)),
        }
    }

    fn label(&self, project_id: &str, function_id: &str) -> FunctionLabel {
        use std::sync::atomic::Ordering;
        {
            let labels = self.labels.read().unwrap_or_else(|e| e.into_inner());
            if let Some(label) = labels.get(project_id).and_then(|f| f.get(function_id)) {
                return label.clone();
            }
        }
        if self.count.load(Ordering::Relaxed) >= self.max {
            return self.other.clone();
        }
        let mut labels = self.labels.write().unwrap_or_else(|e| e.into_inner());
        let functions = labels.entry(project_id.to_owned()).or_default();
        if let Some(label) = functions.get(function_id) {
            return label.clone();
        }
        if self.count.load(Ordering::Relaxed) >= self.max {
            return self.other.clone();
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let label = FunctionLabel(Arc::from(format!("{project_id}/{function_id}")));
        functions.insert(function_id.to_owned(), label.clone());
        label
    }
}

/// The server's metrics. Updating one is an atomic add (after a hash lookup for labelled
/// ones); nothing here blocks or allocates on the request path once a series exists.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    functions: KnownFunctions,
    executions: Family<ExecutionLabels, Counter>,
    execution_duration: HistogramFamily<FunctionLabels>,
    execution_fuel: HistogramFamily<FunctionLabels>,
    requests: Family<RequestLabels, Counter>,
    request_duration: HistogramFamily<RouteLabels>,
    rejected: Family<RejectionLabels, Counter>,
    compile_duration: HistogramFamily<TierLabels>,
    writer_batch: Histogram,
    writer_commit: Histogram,
}

impl Metrics {
    /// The default cap on functions labelled by name.
    pub const DEFAULT_MAX_FUNCTIONS: usize = 1000;

    /// Registers every family; at most `max_functions` functions get series of their own.
    pub fn new(max_functions: usize) -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let executions = Family::default();
        registry.register(
            "executions",
            "Executions finished, by function (project/function), trigger and status.",
            executions.clone(),
        );
        let execution_duration: HistogramFamily<FunctionLabels> =
            Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "execution_duration",
            "How long executions ran in their sandbox, by function.",
            Unit::Seconds,
            execution_duration.clone(),
        );
        let execution_fuel: HistogramFamily<FunctionLabels> =
            Family::new_with_constructor(fuel_histogram);
        registry.register(
            "execution_fuel",
            "Fuel (wasmtime CPU budget units) executions consumed, by function.",
            execution_fuel.clone(),
        );
        let requests = Family::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route class (api, function, console, other) and status.",
            requests.clone(),
        );
        let request_duration: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "How long HTTP requests took to answer (to the response head), by route class.",
            Unit::Seconds,
            request_duration.clone(),
        );
        let rejected = Family::default();
        registry.register(
            "rejected_requests",
            "Requests refused for load (429) or size, by reason.",
            rejected.clone(),
        );
        let compile_duration: HistogramFamily<TierLabels> =
            Family::new_with_constructor(compile_histogram);
        registry.register_with_unit(
            "compile_duration",
            "How long compiling a component took, by compiler tier (winch, cranelift).",
            Unit::Seconds,
            compile_duration.clone(),
        );
        let writer_batch = batch_histogram();
        registry.register(
            "record_writer_batch_size",
            "Execution records committed together in one group commit.",
            writer_batch.clone(),
        );
        let writer_commit = duration_histogram();
        registry.register_with_unit(
            "record_writer_commit_duration",
            "How long one group commit of execution records took.",
            Unit::Seconds,
            writer_commit.clone(),
        );
        Self {
            registry,
            functions: KnownFunctions::new(max_functions),
            executions,
            execution_duration,
            execution_fuel,
            requests,
            request_duration,
            rejected,
            compile_duration,
            writer_batch,
            writer_commit,
        }
    }

    /// Counts a finished execution (its record as written).
    pub fn executed(&self, execution: &Execution) {
        let function = self
            .functions
            .label(&execution.project_id, &execution.function_id);
        let labels = ExecutionLabels {
            function: function.clone(),
            trigger: execution.trigger.as_str(),
            status: execution.status.as_str(),
        };
        self.executions.get_or_create(&labels).inc();
        let labels = FunctionLabels { function };
        self.execution_duration
            .get_or_create(&labels)
            .observe(execution.duration);
        self.execution_fuel
            .get_or_create(&labels)
            .observe(execution.fuel_consumed as f64);
    }

    /// Counts an answered HTTP request.
    pub fn answered(&self, route: RouteClass, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels { route, status })
            .inc();
        self.request_duration
            .get_or_create(&RouteLabels { route })
            .observe(took.as_secs_f64());
    }

    /// Counts a refused request.
    pub fn rejected(&self, reason: Rejection) {
        self.rejected
            .get_or_create(&RejectionLabels { reason })
            .inc();
    }

    /// The metrics in the Prometheus text format (version 0.0.4), the registered families
    /// followed by the values read now from the runtime, the queue and the admission limits.
    pub fn encode(&self, now: &Snapshot) -> Result<String, std::fmt::Error> {
        use prometheus_client::encoding::prometheus_text::encode;
        let mut text = String::with_capacity(16 * 1024);
        encode(&mut text, &self.registry)?;
        let mut current = Registry::with_prefix(PREFIX);
        current.register_collector(Box::new(now.clone()));
        encode(&mut text, &current)?;
        Ok(text)
    }
}

impl RuntimeObserver for Metrics {
    fn compiled(&self, tier: Tier, duration: Duration) {
        let tier = match tier {
            Tier::Winch => "winch",
            Tier::Cranelift => "cranelift",
        };
        self.compile_duration
            .get_or_create(&TierLabels { tier })
            .observe(duration.as_secs_f64());
    }
}

impl WriterObserver for Metrics {
    fn committed(&self, records: usize, duration: Duration) {
        self.writer_batch.observe(records as f64);
        self.writer_commit.observe(duration.as_secs_f64());
    }
}

/// Values read at scrape time from their owners.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub runtime: RuntimeStats,
    /// `None` when the store could not be asked (the scrape still answers the rest).
    pub queue: Option<DueQueue>,
    pub now: Timestamp,
    pub running: usize,
}

/// Writes one metric without labels.
fn single(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    metric: impl EncodeMetric,
) -> std::fmt::Result {
    let metric_encoder = encoder.encode_descriptor(name, help, unit, metric.metric_type())?;
    metric.encode(metric_encoder)
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let runtime = &self.runtime;
        single(
            &mut encoder,
            "sandboxes_in_use",
            "Sandboxes holding a pool slot now (running, or kept warm).",
            None,
            ConstGauge::new(runtime.sandboxes_in_use),
        )?;
        single(
            &mut encoder,
            "sandbox_slots",
            "Pool slots for sandboxes, in all (--instances, plus the Winch tier's).",
            None,
            ConstGauge::new(runtime.sandbox_slots),
        )?;
        single(
            &mut encoder,
            "warm_instances",
            "Instances kept warm for functions that reuse instances.",
            None,
            ConstGauge::new(runtime.warm_instances as u64),
        )?;
        single(
            &mut encoder,
            "executions_running",
            "Executions admitted and running now.",
            None,
            ConstGauge::new(self.running as u64),
        )?;
        single(
            &mut encoder,
            "deployment_cache_entries",
            "Deployments ready to instantiate in memory.",
            None,
            ConstGauge::new(runtime.cached_deployments as u64),
        )?;
        let mut lookups = encoder.encode_descriptor(
            "deployment_cache_lookups",
            "Invocations' lookups of their deployment in memory, by result (hit, miss: loaded \
             from disk).",
            None,
            MetricType::Counter,
        )?;
        for (result, count) in [("hit", runtime.cache_hits), ("miss", runtime.cache_misses)] {
            ConstCounter::new(count).encode(lookups.encode_family(&[("result", result)])?)?;
        }
        let Some(queue) = self.queue else {
            return Ok(());
        };
        single(
            &mut encoder,
            "queue_depth",
            "Queued executions due now that no worker has claimed yet.",
            None,
            ConstGauge::new(queue.depth),
        )?;
        let age = queue.oldest_due.map_or(0.0, |due| {
            (self.now.as_millis() - due.as_millis()).max(0) as f64 / 1000.0
        });
        single(
            &mut encoder,
            "queue_oldest_age",
            "How long the oldest due execution has waited to be claimed (0 when none waits).",
            Some(&Unit::Seconds),
            ConstGauge::new(age),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_past_the_cap_share_one_label() {
        let known = KnownFunctions::new(2);
        let first = known.label("p", "a");
        assert_eq!(&*first.0, "p/a");
        assert_eq!(known.label("p", "a"), first, "the same label again");
        assert_eq!(&*known.label("q", "a").0, "q/a");
        assert_eq!(&*known.label("p", "b").0, OTHER_FUNCTIONS);
        assert_eq!(known.label("p", "a"), first, "known ones keep theirs");
    }
}
