//! `wafer serve` seen from outside as an operator sees it: with `OTEL_EXPORTER_OTLP_ENDPOINT`
//! set it exports spans over OTLP/HTTP to a receiver in the test, continuing the client's
//! `traceparent` into the function and out of its outbound calls; with `--log-format json` its
//! logs are one JSON object per line carrying the request and execution IDs.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use wafer_e2e::otlp::{self, Span, attribute, hex_id};

use crate::lifecycle::ServeProcess;

/// How long the exporter may take to deliver the spans (it sends every 100 ms here).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(30);

/// The parts of a `traceparent`: trace ID and parent (span) ID.
fn parts(traceparent: &str) -> (String, String) {
    let fields: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(fields.len(), 4, "{traceparent}");
    assert_eq!(fields[0], "00", "{traceparent}");
    (fields[1].to_owned(), fields[2].to_owned())
}

/// The spans of one trace, by span ID.
struct Trace(HashMap<String, Span>);

impl Trace {
    fn of(spans: &[Span], trace_id: &str) -> Self {
        Self(
            spans
                .iter()
                .filter(|span| hex_id(&span.trace_id) == trace_id)
                .map(|span| (hex_id(&span.span_id), span.clone()))
                .collect(),
        )
    }

    /// The span of a `kind`: `request` and `execution` spans are told by their ID attribute
    /// (their names say what they served), `outbound` ones by their URL, others by name.
    fn find(&self, kind: &str) -> Option<&Span> {
        let marker = match kind {
            "request" => Some("request_id"),
            "execution" => Some("execution_id"),
            "outbound" => Some("url.full"),
            _ => None,
        };
        self.0.values().find(|span| match marker {
            Some(key) => attribute(span, key).is_some(),
            None => span.name == kind,
        })
    }

    fn has(&self, kinds: &[&str]) -> bool {
        kinds.iter().all(|kind| self.find(kind).is_some())
    }

    /// Whether `ancestor` is `span`'s parent, or its parent's, and so on.
    fn descends_from(&self, span: &Span, ancestor: &Span) -> bool {
        let mut parent = hex_id(&span.parent_span_id);
        while let Some(next) = self.0.get(&parent) {
            if next.span_id == ancestor.span_id {
                return true;
            }
            parent = hex_id(&next.parent_span_id);
        }
        false
    }
}

async fn wait_for_spans(received: &otlp::Received, trace_id: &str, names: &[&str]) -> Trace {
    let deadline = Instant::now() + EXPORT_TIMEOUT;
    loop {
        let trace = Trace::of(&received.spans(), trace_id);
        if trace.has(names) {
            return trace;
        }
        assert!(
            Instant::now() < deadline,
            "spans {names:?} of trace {trace_id} not received; got {:?}",
            trace.0.values().map(|span| &span.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_request_is_followed_into_the_function_and_out_of_its_calls_and_logged_as_json() {
    let (otlp_port, received) = otlp::receiver().await;
    let (upstream_port, upstream) = wafer_e2e::upstream::recording("upstream says hi").await;
    let data_dir = tempfile::tempdir().expect("data directory");
    let endpoint = format!("http://127.0.0.1:{otlp_port}");
    let server = ServeProcess::start_with(
        data_dir.path(),
        &["--log-format", "json"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("WAFER_LOG", "info,wafer_runtime=debug"),
            ("WAFER_OUTBOUND_ALLOW_PRIVATE", "127.0.0.1/32"),
        ],
    );
    let echo = server.deploy_example("echo", "echo", json!({})).await;
    let upstream_host = format!("127.0.0.1:{upstream_port}");
    server
        .deploy_example(
            "fetcher",
            "outbound",
            json!({"outboundHosts": [upstream_host]}),
        )
        .await;

    // Into the function: the guest sees the execution span's context, in the client's trace.
    let (trace_id, client_span) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let response = server
        .http
        .get(server.url("/fn/echo/"))
        .header("traceparent", format!("00-{trace_id}-{client_span}-01"))
        .header("x-request-id", "req-echo-1")
        .send()
        .await
        .expect("echo answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-request-id"], "req-echo-1");
    let execution_id = response.headers()["x-appwrite-execution-id"]
        .to_str()
        .expect("an execution ID")
        .to_owned();
    let echoed: Value = response.json().await.expect("echo's JSON");
    let guest_traceparent = echoed["headers"]["traceparent"]
        .as_str()
        .unwrap_or_else(|| panic!("the guest saw no traceparent: {echoed}"));
    let (guest_trace, guest_parent) = parts(guest_traceparent);
    assert_eq!(guest_trace, trace_id, "the client's trace goes on");

    // Out of it: the outbound request carries its own span's context.
    let (outbound_trace, outbound_client) =
        ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331");
    let target = format!("http://{upstream_host}/hello");
    let response = server
        .http
        .get(server.url(&format!("/fn/fetcher/?url={target}")))
        .header(
            "traceparent",
            format!("00-{outbound_trace}-{outbound_client}-01"),
        )
        .send()
        .await
        .expect("fetcher answers");
    let fetched: Value = response.json().await.expect("fetcher's JSON");
    assert_eq!(fetched["body"], "upstream says hi", "{fetched}");
    let heads = upstream.all();
    let carried = heads
        .iter()
        .flat_map(|head| head.lines())
        .find_map(|line| line.strip_prefix("traceparent: "))
        .unwrap_or_else(|| panic!("the outbound request carried no traceparent: {heads:?}"));
    let (carried_trace, carried_parent) = parts(carried);
    assert_eq!(carried_trace, outbound_trace);

    let trace = wait_for_spans(&received, trace_id, &["request", "execution", "invoke"]).await;
    let request = trace.find("request").expect("the request span");
    let execution = trace.find("execution").expect("the execution span");
    assert_eq!(
        hex_id(&request.parent_span_id),
        client_span,
        "continues the client's"
    );
    assert_eq!(
        execution.parent_span_id, request.span_id,
        "the execution is the request's"
    );
    assert_eq!(
        guest_parent,
        hex_id(&execution.span_id),
        "the guest's parent is its execution"
    );
    assert_eq!(
        attribute(request, "request_id").as_deref(),
        Some("req-echo-1")
    );
    assert_eq!(
        attribute(request, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        attribute(execution, "execution_id"),
        Some(execution_id.clone())
    );
    assert_eq!(attribute(execution, "function").as_deref(), Some("echo"));
    assert_eq!(
        attribute(execution, "deployment").as_deref(),
        echo["$id"].as_str()
    );
    assert_eq!(attribute(execution, "status").as_deref(), Some("completed"));
    let fuel: u64 = attribute(execution, "fuel")
        .expect("fuel")
        .parse()
        .expect("a number");
    assert!(fuel > 0);
    let duration: f64 = attribute(execution, "duration_seconds")
        .expect("duration")
        .parse()
        .expect("a number");
    assert!(duration > 0.0);

    let trace = wait_for_spans(&received, outbound_trace, &["execution", "outbound"]).await;
    let execution = trace.find("execution").expect("the execution span");
    let outbound = trace.find("outbound").expect("the outbound span");
    assert!(
        trace.descends_from(outbound, execution),
        "the call is under its execution"
    );
    assert_eq!(
        carried_parent,
        hex_id(&outbound.span_id),
        "the upstream's parent is the call"
    );
    assert_eq!(
        attribute(outbound, "http.response.status_code").as_deref(),
        Some("200")
    );
    // Queued: the worker's run continues the trace of the request that queued it.
    let queued_trace = "5b8efff798038103d269b633813fc60c";
    let queued = server
        .admin(reqwest::Method::POST, "/v1/functions/echo/executions")
        .header(
            "traceparent",
            format!("00-{queued_trace}-eee19b7ec3c1b174-01"),
        )
        .json(&json!({"async": true}))
        .send()
        .await
        .expect("the executions API answers");
    assert_eq!(queued.status(), StatusCode::ACCEPTED);
    let trace = wait_for_spans(&received, queued_trace, &["request", "execution"]).await;
    let (request, execution) = (trace.find("request"), trace.find("execution"));
    assert!(
        trace.descends_from(execution.expect("execution"), request.expect("request")),
        "the queued run is under the request that queued it"
    );

    assert!(
        received.spans().iter().any(|span| span.name == "compile"),
        "the deployments' compiles are spans too"
    );

    // The logs: one JSON object per line, with the IDs of the request and execution.
    let log = server.log();
    let events: Vec<Value> = log
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(!events.is_empty(), "{log}");
    assert!(
        events
            .iter()
            .all(|event| event["timestamp"].is_string() && event["level"].is_string()),
        "{log}"
    );
    let finished = events
        .iter()
        .find(|event| {
            event["message"] == "invocation finished" && event["request_id"] == "req-echo-1"
        })
        .unwrap_or_else(|| panic!("no log of the echo invocation:\n{log}"));
    assert_eq!(
        finished["execution_id"],
        execution_id.as_str(),
        "{finished}"
    );
}
