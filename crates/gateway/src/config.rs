//! The gateway's settings, with the defaults of a single-machine install.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use wafer_runtime::{EngineConfig, OutboundConfig, RuntimeConfig};
use wafer_store::CacheConfig;

/// Defaults applied to every function unless it sets its own.
#[derive(Clone, Debug)]
pub struct FunctionDefaults {
    pub memory_mb: u32,
    pub fuel: u64,
    pub max_response_bytes: usize,
}

impl Default for FunctionDefaults {
    fn default() -> Self {
        Self {
            memory_mb: 256,
            fuel: wafer_runtime::Limits::DEFAULT_FUEL,
            max_response_bytes: wafer_runtime::Limits::DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// The largest settings a function may ask for. A value above a cap is refused (400 naming
/// the cap), never silently lowered. Memory is capped by the engine's
/// [`max_memory_bytes`](wafer_runtime::EngineConfig::max_memory_bytes).
#[derive(Clone, Debug)]
pub struct FunctionCaps {
    /// Most fuel (CPU budget) one execution may be given.
    pub max_fuel: u64,
    /// Longest timeout, in seconds.
    pub max_timeout_secs: u32,
    /// Most entries in each of `execute`, `events`, `scopes` and `outboundHosts`.
    pub max_list_entries: usize,
    /// Longest `entrypoint`, `commands`, role, event or scope, in characters.
    pub max_text_chars: usize,
    /// Most variables one function may have.
    pub max_variables: usize,
}

impl FunctionCaps {
    /// Default of [`max_fuel`](Self::max_fuel): a hundred times the default budget.
    pub const DEFAULT_MAX_FUEL: u64 = 100 * wafer_runtime::Limits::DEFAULT_FUEL;
    /// Default of [`max_timeout_secs`](Self::max_timeout_secs): 15 minutes, Appwrite's cap.
    pub const DEFAULT_MAX_TIMEOUT_SECS: u32 = 900;
    /// Default of [`max_list_entries`](Self::max_list_entries).
    pub const DEFAULT_MAX_LIST_ENTRIES: usize = 100;
    /// Default of [`max_text_chars`](Self::max_text_chars).
    pub const DEFAULT_MAX_TEXT_CHARS: usize = 8192;
    /// Default of [`max_variables`](Self::max_variables).
    pub const DEFAULT_MAX_VARIABLES: usize = 256;
}

impl Default for FunctionCaps {
    fn default() -> Self {
        Self {
            max_fuel: Self::DEFAULT_MAX_FUEL,
            max_timeout_secs: Self::DEFAULT_MAX_TIMEOUT_SECS,
            max_list_entries: Self::DEFAULT_MAX_LIST_ENTRIES,
            max_text_chars: Self::DEFAULT_MAX_TEXT_CHARS,
            max_variables: Self::DEFAULT_MAX_VARIABLES,
        }
    }
}

/// How long execution records and upload leftovers are kept; housekeeping removes the rest.
#[derive(Clone, Debug)]
pub struct Retention {
    /// Finished executions older than this are deleted; `None` keeps them.
    pub execution_max_age: Option<Duration>,
    /// Finished executions kept per function, newest first; `None` keeps all.
    pub executions_per_function: Option<u64>,
    /// A chunked upload that has not progressed for this long is deleted with its deployment.
    pub abandoned_upload_age: Duration,
    /// The uploaded source of a failed build is deleted after this long (its record and build
    /// log stay).
    pub failed_source_age: Duration,
    /// A compiled artifact no deployment refers to is deleted once it is this old. A build
    /// saves its artifact moments before its deployment refers to it, so this must be longer
    /// than a build takes to record its result.
    pub unused_artifact_age: Duration,
    /// Time between housekeeping passes.
    pub interval: Duration,
}

impl Retention {
    /// Default of [`execution_max_age`](Self::execution_max_age): 14 days, as Appwrite keeps them.
    pub const DEFAULT_EXECUTION_MAX_AGE: Duration = Duration::from_secs(14 * 24 * 3600);
    /// Default of [`executions_per_function`](Self::executions_per_function).
    pub const DEFAULT_EXECUTIONS_PER_FUNCTION: u64 = 10_000;
    /// Default of [`abandoned_upload_age`](Self::abandoned_upload_age) and
    /// [`failed_source_age`](Self::failed_source_age): one day.
    pub const DEFAULT_LEFTOVER_AGE: Duration = Duration::from_secs(24 * 3600);
    /// Default of [`unused_artifact_age`](Self::unused_artifact_age): ten minutes.
    pub const DEFAULT_UNUSED_ARTIFACT_AGE: Duration = Duration::from_secs(600);
    /// Default of [`interval`](Self::interval): ten minutes.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(600);
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            execution_max_age: Some(Self::DEFAULT_EXECUTION_MAX_AGE),
            executions_per_function: Some(Self::DEFAULT_EXECUTIONS_PER_FUNCTION),
            abandoned_upload_age: Self::DEFAULT_LEFTOVER_AGE,
            failed_source_age: Self::DEFAULT_LEFTOVER_AGE,
            unused_artifact_age: Self::DEFAULT_UNUSED_ARTIFACT_AGE,
            interval: Self::DEFAULT_INTERVAL,
        }
    }
}

/// What one client connection may hold of the server, so that idle, slow or silent peers cannot
/// use up its sockets and file descriptors.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// An HTTP/1 keep-alive connection with no request, or an HTTP/2 connection with no open
    /// stream, is closed after this long. A request in progress (a function running, a body
    /// streaming) never counts as idle. A response the client stops reading for this long is
    /// abandoned and its connection closed.
    pub idle_timeout: Duration,
    /// Longest time from the first byte of a request to the end of its headers (HTTP/1); a
    /// client that dawdles gets 408 and the connection closes.
    pub header_read_timeout: Duration,
    /// Longest wait for the next piece of a request body; a body that stops arriving fails the
    /// request with 408 and the connection closes.
    pub body_read_timeout: Duration,
    /// An HTTP/2 connection that has sent nothing for this long gets a ping...
    pub http2_keep_alive_interval: Duration,
    /// ...and is closed when the ping goes unanswered for this long.
    pub http2_keep_alive_timeout: Duration,
    /// Client connections open at once; beyond it new connections are closed at once. Keep it
    /// below the process's open-file limit, which the database and artifacts share.
    pub max_connections: usize,
}

impl ConnectionLimits {
    /// Above the 60 s idle timeout of common load balancers, so they close first.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
    pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
    pub const DEFAULT_HTTP2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
    pub const DEFAULT_HTTP2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);
    pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: Self::DEFAULT_BODY_READ_TIMEOUT,
            http2_keep_alive_interval: Self::DEFAULT_HTTP2_KEEP_ALIVE_INTERVAL,
            http2_keep_alive_timeout: Self::DEFAULT_HTTP2_KEEP_ALIVE_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

#[derive(Clone, Debug)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    /// Where the database, uploads and compiled artifacts live.
    pub data_dir: PathBuf,
    /// The URL clients use to reach this server's API (given to functions as
    /// `APPWRITE_FUNCTION_API_ENDPOINT`). Derived from `listen` when unset.
    pub public_url: Option<String>,
    /// Functions answer on `{functionId}.{base_domain}`.
    pub base_domain: String,
    /// Signs user JWTs (HS256). Generated and kept in the data directory when unset.
    pub secret: Option<String>,
    /// The bootstrap admin key of the `default` project. Generated and printed once when unset.
    pub admin_key: Option<String>,
    /// The key that seals secret variables at rest, as 64 hex digits. When unset, it is read
    /// from `master_key_file`, or from `data_dir/master-key` (created on first start).
    pub master_key: Option<String>,
    pub master_key_file: Option<PathBuf>,
    /// Keys secret variables may still be sealed under (rotation): at start, what they open is
    /// sealed again under the current key.
    pub previous_master_key_files: Vec<PathBuf>,
    pub function_defaults: FunctionDefaults,
    /// The largest settings a function may ask for.
    pub function_caps: FunctionCaps,
    /// Executions running at once across all functions; beyond it callers get 429.
    pub max_concurrent_executions: usize,
    /// Executions running at once per function.
    pub max_concurrent_per_function: usize,
    /// Largest request body accepted (uploads arrive in 5 MiB chunks).
    pub max_request_body_bytes: usize,
    /// Longest a synchronous execution request waits.
    pub sync_timeout_cap: Duration,
    /// Executions one function may have waiting in the async queue (`waiting` or
    /// `scheduled`); beyond it enqueuing is refused with 429.
    pub max_queued_per_function: u64,
    /// Executions one project may have waiting in the async queue, all functions together.
    pub max_queued_per_project: u64,
    /// How far ahead `scheduledAt` may be.
    pub max_schedule_ahead: Duration,
    /// How far ahead `scheduledAt` must be at least (Appwrite: a minute).
    pub min_schedule_ahead: Duration,
    /// Browser origins (`https://app.example.com`) allowed to call the API with credentials;
    /// empty lets every origin call it without them.
    pub cors_allowed_origins: Vec<http::HeaderValue>,
    /// How long records and leftovers are kept.
    pub retention: Retention,
    /// Longest a deployment's compile and trial instantiation may take; past it the build
    /// fails with the reason.
    pub build_timeout: Duration,
    /// Linear memory all running sandboxes together may hold; a growth past it fails that
    /// execution. `None` leaves only each function's own limit.
    pub sandbox_memory_budget_bytes: Option<u64>,
    pub engine: EngineConfig,
    /// Deployments the runtime keeps instantiation-ready in memory (least recently used first
    /// out); the others wait on disk as compiled artifacts.
    pub deployment_cache_capacity: usize,
    /// A deployment not called for this long leaves memory (its compiled artifact stays on
    /// disk; the next call loads it); `None` keeps it until capacity pushes it out.
    pub deployment_idle_timeout: Option<Duration>,
    /// The in-memory copy of functions, deployments, variables and keys. Its TTL bounds how
    /// long a change made by another gateway sharing the database can go unseen.
    pub metadata_cache: CacheConfig,
    /// Whether a function route waits until its execution record is durable before answering.
    /// Off by default: the record is committed within milliseconds by the batching writer, and
    /// a crash in that window loses it. The executions API always waits.
    pub durable_route_records: bool,
    /// Timeouts and the cap on client connections.
    pub connections: ConnectionLimits,
    /// How long a stopping server lets requests in flight finish before it closes their
    /// connections anyway.
    pub shutdown_grace: Duration,
    /// Non-public address ranges functions' outbound calls may reach, and the per-execution
    /// caps on outbound requests, connections and response bytes.
    pub outbound: OutboundConfig,
    /// Where `/metrics` is served (Prometheus text format); `None` serves no metrics.
    pub metrics_listen: Option<SocketAddr>,
    /// Functions whose executions get metric series of their own; the rest share `(other)`.
    pub metrics_max_functions: usize,
}

impl GatewayConfig {
    /// Default of [`build_timeout`](Self::build_timeout): ten minutes, far above the 12-17 s
    /// Cranelift takes for the largest (JavaScript, Python) components.
    pub const DEFAULT_BUILD_TIMEOUT: Duration = Duration::from_secs(600);
    /// Default of [`max_queued_per_function`](Self::max_queued_per_function).
    pub const DEFAULT_MAX_QUEUED_PER_FUNCTION: u64 = 1_000;
    /// Default of [`max_queued_per_project`](Self::max_queued_per_project).
    pub const DEFAULT_MAX_QUEUED_PER_PROJECT: u64 = 10_000;
    /// Default of [`max_schedule_ahead`](Self::max_schedule_ahead): 30 days.
    pub const DEFAULT_MAX_SCHEDULE_AHEAD: Duration = Duration::from_secs(30 * 24 * 3600);
    /// Default of [`shutdown_grace`](Self::shutdown_grace): as long as the longest synchronous
    /// execution may take ([`sync_timeout_cap`](Self::sync_timeout_cap)).
    pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

    /// Three quarters of the machine's memory, leaving the rest to the server itself, the
    /// database and the page cache; `None` where the machine's memory cannot be read.
    pub fn default_sandbox_memory_budget() -> Option<u64> {
        let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
        let kib: u64 = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024 / 4 * 3)
    }

    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: data_dir.into(),
            public_url: None,
            base_domain: "functions.localhost".to_owned(),
            secret: None,
            admin_key: None,
            master_key: None,
            master_key_file: None,
            previous_master_key_files: Vec::new(),
            function_defaults: FunctionDefaults::default(),
            function_caps: FunctionCaps::default(),
            max_concurrent_executions: 512,
            max_concurrent_per_function: 128,
            max_request_body_bytes: 30 << 20,
            sync_timeout_cap: Duration::from_secs(30),
            max_queued_per_function: Self::DEFAULT_MAX_QUEUED_PER_FUNCTION,
            max_queued_per_project: Self::DEFAULT_MAX_QUEUED_PER_PROJECT,
            max_schedule_ahead: Self::DEFAULT_MAX_SCHEDULE_AHEAD,
            min_schedule_ahead: Duration::from_secs(60),
            cors_allowed_origins: Vec::new(),
            retention: Retention::default(),
            build_timeout: Self::DEFAULT_BUILD_TIMEOUT,
            sandbox_memory_budget_bytes: Self::default_sandbox_memory_budget(),
            engine: EngineConfig::default(),
            deployment_cache_capacity: RuntimeConfig::DEFAULT_CACHE_CAPACITY,
            deployment_idle_timeout: Some(RuntimeConfig::DEFAULT_CACHE_IDLE_TIMEOUT),
            metadata_cache: CacheConfig::default(),
            durable_route_records: false,
            connections: ConnectionLimits::default(),
            shutdown_grace: Self::DEFAULT_SHUTDOWN_GRACE,
            outbound: OutboundConfig::default(),
            metrics_listen: None,
            metrics_max_functions: crate::observe::metrics::Metrics::DEFAULT_MAX_FUNCTIONS,
        }
    }

    pub fn api_endpoint(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => format!("{}/v1", url.trim_end_matches('/')),
            None => format!("http://{bound}/v1"),
        }
    }
}
