//! `wafer serve`: runs the platform with embedded defaults (SQLite and deployments under a local
//! data directory). It parses settings and hands them to the gateway.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use wafer_gateway::{CacheConfig, GatewayConfig};
use wafer_runtime::RuntimeConfig;

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
        config
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WAFER_LOG")
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    raise_open_file_limit();
    let base_domain = args.base_domain.clone();
    let server = wafer_gateway::start(args.into_config())
        .await
        .context("starting the wafer server")?;
    let addr = server.local_addr;
    println!("wafer is serving");
    println!("  API:        {}", server.api_endpoint);
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
    Ok(())
}

/// Every client connection, every loaded deployment's compiled code and memory image, and the
/// database hold file descriptors; a server holding thousands of functions needs more than the
/// usual soft limit of 1,024, so it raises its own to the hard limit the system allows.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open file limit"),
        Err(error) => tracing::warn!(%error, "could not raise the open file limit"),
    }
}
