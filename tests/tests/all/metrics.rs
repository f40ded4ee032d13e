//! Prometheus metrics on their own listener: after known traffic (executions that succeed and
//! fail, a function route, refusals for a full queue and a too-large body) a scrape shows each
//! family with its type and the counts that traffic made, labelled by bounded values only.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use wafer_e2e::TestServer;

/// A scrape: the type of each family, and each sample's value by its series (name and labels
/// as written).
struct Scrape {
    types: HashMap<String, String>,
    samples: HashMap<String, f64>,
    text: String,
}

impl Scrape {
    fn parse(text: String) -> Self {
        let mut types = HashMap::new();
        let mut samples = HashMap::new();
        for line in text.lines() {
            if let Some(declared) = line.strip_prefix("# TYPE ") {
                let (name, kind) = declared.split_once(' ').expect("a TYPE line has a type");
                types.insert(name.to_owned(), kind.to_owned());
            } else if !line.starts_with('#') && !line.is_empty() {
                let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
                let value = value.parse().unwrap_or_else(|_| panic!("a number: {line}"));
                samples.insert(series.to_owned(), value);
            }
        }
        Self {
            types,
            samples,
            text,
        }
    }

    fn value(&self, series: &str) -> f64 {
        *self
            .samples
            .get(series)
            .unwrap_or_else(|| panic!("no sample {series} in:\n{}", self.text))
    }

    fn kind(&self, family: &str) -> &str {
        self.types
            .get(family)
            .unwrap_or_else(|| panic!("no TYPE of {family} in:\n{}", self.text))
    }
}

async fn scrape(server: &TestServer) -> Scrape {
    let addr = server.server.metrics_addr.expect("the metrics listener");
    let response = server
        .http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("the metrics listener answers");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().expect("text");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    Scrape::parse(response.text().await.expect("the metrics text"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_after_known_traffic_shows_each_family_with_its_type_and_counts() {
    let server = TestServer::start_with(|config| {
        config.metrics_listen = Some("127.0.0.1:0".parse().expect("address"));
        config.max_queued_per_function = 1;
        config.max_schedule_ahead = Duration::from_secs(1000 * 365 * 86_400);
        config.max_request_body_bytes = 64 * 1024;
    })
    .await;
    server.deploy_example("hello", "hello", &["any"]).await;
    server.deploy_example("broken", "panic", &["any"]).await;

    let mut execution_ids = Vec::new();
    for _ in 0..2 {
        let reply = server.execute("hello", json!({"method": "GET"})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        execution_ids.push(reply.json()["$id"].as_str().expect("id").to_owned());
    }
    let failed = server.execute("broken", json!({"method": "GET"})).await;
    assert_eq!(failed.json()["status"], "failed", "{}", failed.text());
    let routed = server.send(server.guest(Method::GET, "/fn/hello/")).await;
    assert_eq!(routed.status, StatusCode::OK, "{}", routed.text());
    let far = json!({"async": true, "scheduledAt": "2999-01-01T00:00:00.000+00:00"});
    let queued = server.execute("hello", far.clone()).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text());
    let refused = server.execute("hello", far).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.text()
    );
    let oversized = server
        .send(
            server
                .guest(Method::POST, "/fn/hello/")
                .body(vec![b'x'; 100 * 1024]),
        )
        .await;
    assert!(oversized.status.is_client_error(), "{}", oversized.text());

    let metrics = scrape(&server).await;
    assert_eq!(metrics.kind("wafer_executions_total"), "counter");
    let executions = |function: &str, status: &str| {
        metrics.value(&format!(
            "wafer_executions_total{{function=\"default/{function}\",trigger=\"http\",status=\"{status}\"}}"
        ))
    };
    assert_eq!(
        executions("hello", "completed"),
        3.0,
        "two API runs and one route"
    );
    assert_eq!(executions("broken", "failed"), 1.0);

    assert_eq!(
        metrics.kind("wafer_execution_duration_seconds"),
        "histogram"
    );
    let hello = "{function=\"default/hello\"}";
    assert_eq!(
        metrics.value(&format!("wafer_execution_duration_seconds_count{hello}")),
        3.0
    );
    assert!(metrics.value(&format!("wafer_execution_duration_seconds_sum{hello}")) > 0.0);
    assert_eq!(
        metrics.value(
            "wafer_execution_duration_seconds_bucket{function=\"default/hello\",le=\"+Inf\"}"
        ),
        3.0
    );
    assert_eq!(metrics.kind("wafer_execution_fuel"), "histogram");
    assert_eq!(
        metrics.value(&format!("wafer_execution_fuel_count{hello}")),
        3.0
    );
    assert!(metrics.value(&format!("wafer_execution_fuel_sum{hello}")) > 0.0);

    assert_eq!(metrics.kind("wafer_http_requests_total"), "counter");
    let requests = |route: &str, status: u16| {
        metrics.value(&format!(
            "wafer_http_requests_total{{route=\"{route}\",status=\"{status}\"}}"
        ))
    };
    assert_eq!(requests("function", 200), 1.0);
    assert_eq!(requests("api", 429), 1.0);
    assert!(requests("api", 201) >= 3.0, "the executions and creations");
    assert_eq!(
        metrics.kind("wafer_http_request_duration_seconds"),
        "histogram"
    );

    assert_eq!(metrics.kind("wafer_rejected_requests_total"), "counter");
    assert_eq!(
        metrics.value("wafer_rejected_requests_total{reason=\"queue_full\"}"),
        1.0
    );
    assert_eq!(
        metrics.value("wafer_rejected_requests_total{reason=\"body_too_large\"}"),
        1.0
    );

    assert_eq!(metrics.kind("wafer_compile_duration_seconds"), "histogram");
    assert!(
        metrics.value("wafer_compile_duration_seconds_count{tier=\"cranelift\"}") >= 2.0,
        "both deployments were compiled"
    );
    assert_eq!(metrics.kind("wafer_record_writer_batch_size"), "histogram");
    assert!(metrics.value("wafer_record_writer_batch_size_count") >= 1.0);
    assert!(metrics.value("wafer_record_writer_batch_size_sum") >= 4.0);
    assert_eq!(
        metrics.kind("wafer_record_writer_commit_duration_seconds"),
        "histogram"
    );
    assert!(metrics.value("wafer_record_writer_commit_duration_seconds_count") >= 1.0);

    for gauge in [
        "wafer_sandboxes_in_use",
        "wafer_sandbox_slots",
        "wafer_warm_instances",
        "wafer_executions_running",
        "wafer_deployment_cache_entries",
        "wafer_queue_depth",
        "wafer_queue_oldest_age_seconds",
    ] {
        assert_eq!(metrics.kind(gauge), "gauge", "{gauge}");
    }
    assert!(metrics.value("wafer_sandbox_slots") >= 64.0);
    assert_eq!(metrics.value("wafer_deployment_cache_entries"), 2.0);
    assert_eq!(metrics.value("wafer_executions_running"), 0.0);
    assert_eq!(
        metrics.value("wafer_queue_depth"),
        0.0,
        "the queued one is not due"
    );
    assert_eq!(metrics.value("wafer_queue_oldest_age_seconds"), 0.0);
    assert_eq!(
        metrics.kind("wafer_deployment_cache_lookups_total"),
        "counter"
    );
    assert!(metrics.value("wafer_deployment_cache_lookups_total{result=\"hit\"}") >= 4.0);

    for id in &execution_ids {
        assert!(
            !metrics.text.contains(id.as_str()),
            "no execution ID is a label"
        );
    }
    let public = server.send(server.guest(Method::GET, "/metrics")).await;
    assert_eq!(
        public.status,
        StatusCode::NOT_FOUND,
        "not on the public listener"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_of_functions_past_the_label_cap_are_counted_together() {
    let server = TestServer::start_with(|config| {
        config.metrics_listen = Some("127.0.0.1:0".parse().expect("address"));
        config.metrics_max_functions = 1;
    })
    .await;
    server.deploy_example("first", "hello", &["any"]).await;
    server.deploy_example("second", "hello", &["any"]).await;
    for function in ["first", "second", "second"] {
        let reply = server.execute(function, json!({"method": "GET"})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    }
    let metrics = scrape(&server).await;
    let series = |function: &str| {
        format!(
            "wafer_executions_total{{function=\"{function}\",trigger=\"http\",status=\"completed\"}}"
        )
    };
    assert_eq!(metrics.value(&series("default/first")), 1.0);
    assert_eq!(metrics.value(&series("(other)")), 2.0);
    assert!(!metrics.text.contains("default/second"), "{}", metrics.text);
}
