//! `wafer serve`: runs the platform with embedded defaults (SQLite and deployments under a local
//! data directory). It parses settings and hands them to the gateway.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use clap::builder::TypedValueParser as _;
use wafer_gateway::{
    CacheConfig, ConnectionLimits, FunctionCaps, GatewayConfig, LogFormat, Metrics, Retention,
};
use wafer_runtime::{AddressRange, OutboundConfig, RuntimeConfig};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "WAFER_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory for the database, uploads and compiled artifacts.
    #[arg(long, env = "WAFER_DATA_DIR", default_value = ".wafer")]
    data_dir: PathBuf,
    /// Functions answer on `{functionId}.{base-domain}`.
    #[arg(long, env = "WAFER_BASE_DOMAIN", default_value = "functions.localhost")]
    base_domain: String,
    /// Public URL of this server, as clients reach it (defaults to http://{listen}).
    #[arg(long, env = "WAFER_PUBLIC_URL")]
    public_url: Option<String>,
    /// Admin key of the default project, at least 32 characters (generated and printed on
    /// first start when unset). Make one with `openssl rand -hex 32`.
    #[arg(long, env = "WAFER_ADMIN_KEY", hide_env_values = true)]
    admin_key: Option<String>,
    /// Secret that signs user JWTs, at least 32 bytes (generated and kept in the data
    /// directory as `jwt-secret` when unset).
    #[arg(long, env = "WAFER_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Key that encrypts secret variables at rest, as 64 hex digits (`openssl rand -hex 32`).
    /// When unset, read from --master-key-file, or from `master-key` in the data directory
    /// (created on first start: back it up, secrets cannot be read without it).
    #[arg(long, env = "WAFER_MASTER_KEY", hide_env_values = true)]
    master_key: Option<String>,
    /// File holding the master key (64 hex digits).
    #[arg(long, env = "WAFER_MASTER_KEY_FILE", conflicts_with = "master_key")]
    master_key_file: Option<PathBuf>,
    /// Rotation: a file holding the key secret variables were sealed under until now. At
    /// start they are sealed again under the current key; the old key is then not needed.
    #[arg(long, env = "WAFER_PREVIOUS_MASTER_KEY_FILE", value_delimiter = ',')]
    previous_master_key_file: Vec<PathBuf>,
    /// Default memory limit of a function, in MiB (a function's own setting wins).
    #[arg(long, env = "WAFER_MEMORY_MB", default_value_t = 512)]
    memory_mb: u32,
    /// Default CPU budget of an execution, in fuel units.
    #[arg(long, env = "WAFER_FUEL", default_value_t = wafer_runtime::Limits::DEFAULT_FUEL)]
    fuel: u64,
    /// Largest response body a function may return, in bytes.
    #[arg(long, env = "WAFER_MAX_RESPONSE_BYTES", default_value_t = wafer_runtime::Limits::DEFAULT_MAX_RESPONSE_BYTES)]
    max_response_bytes: usize,
    /// Executions running at once across all functions (beyond it: 429).
    #[arg(long, env = "WAFER_MAX_CONCURRENCY", default_value_t = 512)]
    max_concurrency: usize,
    /// Executions running at once per function (beyond it: 429).
    #[arg(
        long,
        env = "WAFER_MAX_CONCURRENCY_PER_FUNCTION",
        default_value_t = 128
    )]
    max_concurrency_per_function: usize,
    /// Browser origins allowed to call the API with credentials (comma-separated, e.g.
    /// `https://app.example.com`); by default every origin may call it, without credentials.
    #[arg(long, env = "WAFER_CORS_ALLOW_ORIGIN", value_delimiter = ',')]
    cors_allow_origin: Vec<http::HeaderValue>,
    /// Largest memory limit a function may ask for, in MiB (a larger `memory` is a 400).
    #[arg(long, env = "WAFER_MAX_FUNCTION_MEMORY_MB", default_value_t = wafer_runtime::EngineConfig::default().max_memory_bytes >> 20)]
    max_function_memory_mb: u64,
    /// Linear memory all running sandboxes together may hold, in MiB; a growth past it fails
    /// that execution. Defaults to three quarters of the machine's memory; 0 sets no budget.
    #[arg(long, env = "WAFER_SANDBOX_MEMORY_BUDGET_MB", default_value_t = GatewayConfig::default_sandbox_memory_budget().unwrap_or(0) >> 20)]
    sandbox_memory_budget_mb: u64,
    /// Longest a deployment's compile and trial instantiation may take, in seconds.
    #[arg(long, env = "WAFER_BUILD_TIMEOUT_SECS", default_value_t = GatewayConfig::DEFAULT_BUILD_TIMEOUT.as_secs())]
    build_timeout_secs: u64,
    /// Largest fuel (CPU budget) a function may ask for.
    #[arg(long, env = "WAFER_MAX_FUNCTION_FUEL", default_value_t = FunctionCaps::DEFAULT_MAX_FUEL)]
    max_function_fuel: u64,
    /// Longest timeout a function may ask for, in seconds.
    #[arg(long, env = "WAFER_MAX_FUNCTION_TIMEOUT_SECS", default_value_t = FunctionCaps::DEFAULT_MAX_TIMEOUT_SECS)]
    max_function_timeout_secs: u32,
    /// Most variables one function may have.
    #[arg(long, env = "WAFER_MAX_VARIABLES", default_value_t = FunctionCaps::DEFAULT_MAX_VARIABLES)]
    max_variables: usize,
    /// Days a finished execution record is kept; 0 keeps them for ever.
    #[arg(long, env = "WAFER_EXECUTION_RETENTION_DAYS", default_value_t = Retention::DEFAULT_EXECUTION_MAX_AGE.as_secs() / 86_400)]
    execution_retention_days: u64,
    /// Finished execution records kept per function, newest first; 0 keeps all.
    #[arg(long, env = "WAFER_EXECUTIONS_PER_FUNCTION", default_value_t = Retention::DEFAULT_EXECUTIONS_PER_FUNCTION)]
    executions_per_function: u64,
    /// Hours after which an unfinished chunked upload is deleted, and a failed build's source.
    #[arg(long, env = "WAFER_LEFTOVER_HOURS", default_value_t = Retention::DEFAULT_LEFTOVER_AGE.as_secs() / 3600)]
    leftover_hours: u64,
    /// Executions one function may have waiting in the async queue (beyond it: 429).
    #[arg(long, env = "WAFER_MAX_QUEUED_PER_FUNCTION", default_value_t = GatewayConfig::DEFAULT_MAX_QUEUED_PER_FUNCTION)]
    max_queued_per_function: u64,
    /// Executions one project may have waiting in the async queue (beyond it: 429).
    #[arg(long, env = "WAFER_MAX_QUEUED_PER_PROJECT", default_value_t = GatewayConfig::DEFAULT_MAX_QUEUED_PER_PROJECT)]
    max_queued_per_project: u64,
    /// How many days ahead an execution's `scheduledAt` may be.
    #[arg(long, env = "WAFER_MAX_SCHEDULE_AHEAD_DAYS", default_value_t = GatewayConfig::DEFAULT_MAX_SCHEDULE_AHEAD.as_secs() / 86_400)]
    max_schedule_ahead_days: u64,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "WAFER_MAX_BODY_BYTES", default_value_t = 30 << 20)]
    max_body_bytes: usize,
    /// Sandboxes that may exist at once (pooling allocator slots).
    #[arg(long, env = "WAFER_INSTANCES", default_value_t = 1000)]
    instances: u32,
    /// Deployments kept instantiation-ready in memory; the rest load from disk on first use.
    #[arg(long, env = "WAFER_DEPLOYMENT_CACHE", default_value_t = RuntimeConfig::DEFAULT_CACHE_CAPACITY)]
    deployment_cache: usize,
    /// Seconds after which a deployment nobody called leaves memory (it stays on disk and
    /// loads again on its next call); 0 keeps deployments until the cache is full.
    #[arg(
        long,
        env = "WAFER_DEPLOYMENT_IDLE_SECS",
        default_value_t = RuntimeConfig::DEFAULT_CACHE_IDLE_TIMEOUT.as_secs()
    )]
    deployment_idle_secs: u64,
    /// Components of at least this many bytes are first compiled with Winch, wasmtime's fast
    /// baseline compiler, so they serve within seconds, then recompiled with Cranelift in the
    /// background; 0 compiles everything with Cranelift only.
    #[arg(long, env = "WAFER_WINCH_THRESHOLD_BYTES", default_value_t = wafer_runtime::DEFAULT_WINCH_THRESHOLD_BYTES)]
    winch_threshold_bytes: usize,
    /// Seconds a cached function, deployment, variable set or key is served before it is read
    /// again (how long another server's change to a shared database can go unseen here).
    #[arg(long, env = "WAFER_METADATA_TTL", default_value_t = CacheConfig::DEFAULT_TTL.as_secs())]
    metadata_ttl: u64,
    /// Make function routes answer only once their execution record is durable (an fsync
    /// later), as the executions API always does.
    #[arg(long, env = "WAFER_DURABLE_ROUTE_RECORDS")]
    durable_route_records: bool,
    /// Warm instances kept per function that opted in to `reuseInstances`. Each holds a pool
    /// slot and its guest's memory; calls beyond it (more at once than this) get fresh ones.
    #[arg(
        long,
        env = "WAFER_WARM_INSTANCES_PER_FUNCTION",
        default_value_t = wafer_runtime::DEFAULT_MAX_IDLE_INSTANCES_PER_DEPLOYMENT
    )]
    warm_instances_per_function: usize,
    /// Warm instances kept in all (at most a quarter of `--instances`).
    #[arg(long, env = "WAFER_WARM_INSTANCES", default_value_t = wafer_runtime::DEFAULT_MAX_IDLE_INSTANCES)]
    warm_instances: usize,
    /// Client connections open at once; beyond it new connections are closed at once (and a
    /// warning is logged). Keep it below the open-file limit, which the database and the
    /// loaded deployments share.
    #[arg(
        long,
        env = "WAFER_MAX_CONNECTIONS",
        default_value_t = ConnectionLimits::DEFAULT_MAX_CONNECTIONS,
        value_parser = clap::value_parser!(u32).range(1..).map(|max| max as usize)
    )]
    max_connections: usize,
    /// Seconds an HTTP/1 keep-alive connection with no request, or an HTTP/2 connection with no
    /// open stream, stays open. A request in progress is never idle; a response the client
    /// stops reading for this long is abandoned.
    #[arg(
        long,
        env = "WAFER_IDLE_TIMEOUT_SECS",
        default_value_t = ConnectionLimits::DEFAULT_IDLE_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    idle_timeout_secs: u64,
    /// Seconds a client has from the first byte of a request to the end of its headers
    /// (beyond: 408 and the connection closes).
    #[arg(
        long,
        env = "WAFER_HEADER_TIMEOUT_SECS",
        default_value_t = ConnectionLimits::DEFAULT_HEADER_READ_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    header_timeout_secs: u64,
    /// Seconds the server waits for the next part of a request body (beyond: 408 and the
    /// connection closes).
    #[arg(
        long,
        env = "WAFER_BODY_TIMEOUT_SECS",
        default_value_t = ConnectionLimits::DEFAULT_BODY_READ_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    body_timeout_secs: u64,
    /// Seconds of silence after which an HTTP/2 client is pinged.
    #[arg(
        long,
        env = "WAFER_HTTP2_PING_SECS",
        default_value_t = ConnectionLimits::DEFAULT_HTTP2_KEEP_ALIVE_INTERVAL.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    http2_ping_secs: u64,
    /// Seconds an HTTP/2 client has to answer a ping before its connection is closed.
    #[arg(
        long,
        env = "WAFER_HTTP2_PING_TIMEOUT_SECS",
        default_value_t = ConnectionLimits::DEFAULT_HTTP2_KEEP_ALIVE_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    http2_ping_timeout_secs: u64,
    /// Seconds a stopping server (SIGTERM or Ctrl-C) lets requests and queued executions in
    /// flight finish before it cuts them off; it accepts no new connections and claims no more
    /// queued work meanwhile, and exits once every execution record is committed.
    #[arg(long, env = "WAFER_SHUTDOWN_GRACE_SECS", default_value_t = GatewayConfig::DEFAULT_SHUTDOWN_GRACE.as_secs())]
    shutdown_grace_secs: u64,
    /// Non-public address ranges (CIDRs or addresses, comma-separated, e.g.
    /// `10.0.0.0/8,127.0.0.1/32`) that functions' outbound calls may reach. By default they
    /// reach only public addresses: never loopback, private networks, link-local (cloud
    /// metadata) or reserved ranges, however the address is written.
    #[arg(long, env = "WAFER_OUTBOUND_ALLOW_PRIVATE", value_delimiter = ',')]
    outbound_allow_private: Vec<AddressRange>,
    /// Outbound HTTP requests one execution may make (each redirect followed is one).
    #[arg(long, env = "WAFER_OUTBOUND_MAX_REQUESTS", default_value_t = OutboundConfig::DEFAULT_MAX_REQUESTS)]
    outbound_max_requests: u32,
    /// Outbound connections one execution may hold open at once.
    #[arg(long, env = "WAFER_OUTBOUND_MAX_CONNECTIONS", default_value_t = OutboundConfig::DEFAULT_MAX_CONNECTIONS)]
    outbound_max_connections: u32,
    /// Response body bytes one execution may read from all its outbound requests together.
    #[arg(long, env = "WAFER_OUTBOUND_MAX_RESPONSE_BYTES", default_value_t = OutboundConfig::DEFAULT_MAX_RESPONSE_BYTES)]
    outbound_max_response_bytes: u64,
    /// Address to serve Prometheus metrics on, at `/metrics` (e.g. `127.0.0.1:9090`); off
    /// when unset. Keep it off the public interface.
    #[arg(long, env = "WAFER_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Functions whose executions get metric series of their own (labelled
    /// `project/function`); executions of any more are counted under `(other)`.
    #[arg(long, env = "WAFER_METRICS_MAX_FUNCTIONS", default_value_t = Metrics::DEFAULT_MAX_FUNCTIONS)]
    metrics_max_functions: usize,
    /// How the server writes its own logs: `text` for people, or `json`, one object per line
    /// with the request and execution IDs as fields. `WAFER_LOG` filters them (default
    /// `info`). Traces are exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
    #[arg(long, env = "WAFER_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
}

impl ServeArgs {
    fn into_config(self) -> GatewayConfig {
        let mut config = GatewayConfig::new(self.data_dir);
        config.listen = self.listen;
        config.base_domain = self.base_domain;
        config.public_url = self.public_url;
        config.admin_key = self.admin_key;
        config.secret = self.secret;
        config.master_key = self.master_key;
        config.master_key_file = self.master_key_file;
        config.previous_master_key_files = self.previous_master_key_file;
        config.function_defaults.memory_mb = self.memory_mb;
        config.function_defaults.fuel = self.fuel;
        config.function_defaults.max_response_bytes = self.max_response_bytes;
        config.max_concurrent_executions = self.max_concurrency;
        config.max_concurrent_per_function = self.max_concurrency_per_function;
        config.max_request_body_bytes = self.max_body_bytes;
        config.cors_allowed_origins = self.cors_allow_origin;
        config.engine.max_memory_bytes = self.max_function_memory_mb << 20;
        config.build_timeout = Duration::from_secs(self.build_timeout_secs.max(1));
        config.sandbox_memory_budget_bytes =
            (self.sandbox_memory_budget_mb > 0).then_some(self.sandbox_memory_budget_mb << 20);
        config.function_caps.max_fuel = self.max_function_fuel;
        config.function_caps.max_timeout_secs = self.max_function_timeout_secs;
        config.function_caps.max_variables = self.max_variables;
        config.retention.execution_max_age = (self.execution_retention_days > 0)
            .then(|| Duration::from_secs(self.execution_retention_days * 86_400));
        config.retention.executions_per_function =
            (self.executions_per_function > 0).then_some(self.executions_per_function);
        config.retention.abandoned_upload_age = Duration::from_secs(self.leftover_hours * 3600);
        config.retention.failed_source_age = Duration::from_secs(self.leftover_hours * 3600);
        config.max_queued_per_function = self.max_queued_per_function;
        config.max_queued_per_project = self.max_queued_per_project;
        config.max_schedule_ahead = Duration::from_secs(self.max_schedule_ahead_days * 86_400);
        config.engine.max_concurrent_instances = self.instances;
        config.deployment_cache_capacity = self.deployment_cache.max(1);
        config.deployment_idle_timeout =
            (self.deployment_idle_secs > 0).then(|| Duration::from_secs(self.deployment_idle_secs));
        config.engine.winch_threshold_bytes =
            (self.winch_threshold_bytes > 0).then_some(self.winch_threshold_bytes);
        config.metadata_cache.ttl = Duration::from_secs(self.metadata_ttl);
        config.durable_route_records = self.durable_route_records;
        config.engine.max_idle_instances = self.warm_instances;
        config.engine.max_idle_instances_per_deployment = self.warm_instances_per_function;
        config.connections = ConnectionLimits {
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            header_read_timeout: Duration::from_secs(self.header_timeout_secs),
            body_read_timeout: Duration::from_secs(self.body_timeout_secs),
            http2_keep_alive_interval: Duration::from_secs(self.http2_ping_secs),
            http2_keep_alive_timeout: Duration::from_secs(self.http2_ping_timeout_secs),
            max_connections: self.max_connections,
        };
        config.shutdown_grace = Duration::from_secs(self.shutdown_grace_secs);
        config.metrics_listen = self.metrics_listen;
        config.metrics_max_functions = self.metrics_max_functions;
        config.outbound = OutboundConfig {
            allow_private: self.outbound_allow_private,
            max_requests: self.outbound_max_requests,
            max_connections: self.outbound_max_connections,
            max_response_bytes: self.outbound_max_response_bytes,
        };
        config
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let telemetry = wafer_gateway::init_telemetry(args.log_format)
        .context("setting up logs and trace export")?;
    let max_connections = args.max_connections;
    raise_open_file_limit(max_connections);
    let base_domain = args.base_domain.clone();
    let server = wafer_gateway::start(args.into_config())
        .await
        .context("starting the wafer server")?;
    let addr = server.local_addr;
    println!("wafer is serving");
    println!("  API:        {}", server.api_endpoint);
    if let Some(metrics) = server.metrics_addr {
        println!("  Metrics:    http://{metrics}/metrics");
    }
    println!(
        "  Functions:  http://{{functionId}}.{base_domain}:{} or http://{addr}/fn/{{functionId}}/",
        addr.port()
    );
    if let Some(key) = &server.new_admin_key {
        println!();
        println!("  Admin key of project 'default' (shown once, keep it):");
        println!("  {key}");
        println!();
        println!(
            "  Use it from the CLI: wafer login --endpoint {} --key {key}",
            server.api_endpoint
        );
    }
    server.wait().await;
    tokio::task::spawn_blocking(move || telemetry.shutdown()).await?;
    Ok(())
}

/// Every client connection, every loaded deployment's compiled code and memory image, and the
/// database hold file descriptors; a server holding thousands of functions needs more than the
/// usual soft limit of 1,024, so it raises its own to the hard limit the system allows, and
/// says so when that leaves too little room for `--max-connections` connections.
fn raise_open_file_limit(max_connections: usize) {
    /// Descriptors kept for the database, artifacts, uploads and outbound calls.
    const RESERVED_FILES: u64 = 1024;
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < max_connections as u64 + RESERVED_FILES => tracing::warn!(
            limit,
            max_connections,
            "the open-file limit leaves too little room for --max-connections: lower it, or \
             raise the limit (ulimit -n), or connections will fail before the cap is reached"
        ),
        Ok(limit) => tracing::debug!(limit, "open file limit"),
        Err(error) => tracing::warn!(%error, "could not raise the open file limit"),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    #[test]
    fn outbound_flags_reach_the_gateway_config() {
        let serve = Serve::try_parse_from([
            "serve",
            "--outbound-allow-private",
            "10.0.0.0/8,127.0.0.1/32",
            "--outbound-max-requests",
            "7",
            "--outbound-max-connections",
            "3",
            "--outbound-max-response-bytes",
            "4096",
        ])
        .expect("the flags parse");
        let outbound = serve.args.into_config().outbound;
        let ranges: Vec<String> = outbound
            .allow_private
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(ranges, ["10.0.0.0/8", "127.0.0.1/32"]);
        assert_eq!(
            (
                outbound.max_requests,
                outbound.max_connections,
                outbound.max_response_bytes
            ),
            (7, 3, 4096)
        );
    }

    #[test]
    fn outbound_calls_reach_only_public_addresses_unless_told_otherwise() {
        let serve = Serve::try_parse_from(["serve"]).expect("no flags parse");
        assert_eq!(serve.args.into_config().outbound, OutboundConfig::default());
        let bad = Serve::try_parse_from(["serve", "--outbound-allow-private", "10.0.0.0/33"]);
        assert!(bad.is_err());
    }
}
