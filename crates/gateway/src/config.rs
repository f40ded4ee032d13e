//! The gateway's settings, with the defaults of a single-machine install.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use wafer_runtime::{EngineConfig, RuntimeConfig};
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
    /// Executions running at once across all functions; beyond it callers get 429.
    pub max_concurrent_executions: usize,
    /// Executions running at once per function.
    pub max_concurrent_per_function: usize,
    /// Largest request body accepted (uploads arrive in 5 MiB chunks).
    pub max_request_body_bytes: usize,
    /// Longest a synchronous execution request waits.
    pub sync_timeout_cap: Duration,
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
}

impl GatewayConfig {
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
            max_concurrent_executions: 512,
            max_concurrent_per_function: 128,
            max_request_body_bytes: 30 << 20,
            sync_timeout_cap: Duration::from_secs(30),
            engine: EngineConfig::default(),
            deployment_cache_capacity: RuntimeConfig::DEFAULT_CACHE_CAPACITY,
            deployment_idle_timeout: Some(RuntimeConfig::DEFAULT_CACHE_IDLE_TIMEOUT),
            metadata_cache: CacheConfig::default(),
            durable_route_records: false,
        }
    }

    pub fn api_endpoint(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => format!("{}/v1", url.trim_end_matches('/')),
            None => format!("http://{bound}/v1"),
        }
    }
}
