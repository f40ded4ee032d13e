//! Starting and stopping the gateway: opens the store and runtime under the data directory,
//! binds the listener, and serves the router with the background workers beside it.

mod connections;
mod timeouts;
mod watchdog;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};
use wafer_runtime::{Runtime, RuntimeConfig};
use wafer_store::{CachedStore, ExecutionWriter, MetadataStore, SqliteStore, WriterConfig};

use crate::build::Builds;
use crate::config::GatewayConfig;
use crate::error::ApiError;
use crate::observe::RouteClass;
use crate::observe::metrics::Metrics;
use crate::state::{AppState, Concurrency, Shared};
use crate::{bootstrap, routes, worker};

/// A gateway serving on its listener until [`RunningServer::shutdown`].
pub struct RunningServer {
    pub local_addr: SocketAddr,
    pub api_endpoint: String,
    /// Where `/metrics` is served, when it is.
    pub metrics_addr: Option<SocketAddr>,
    /// The admin key created at this start, if this was the first start.
    pub new_admin_key: Option<String>,
    shutdown: watch::Sender<bool>,
    serving: JoinHandle<()>,
    workers: worker::Workers,
    writer: ExecutionWriter,
    recorders: TaskTracker,
    grace: Duration,
}

impl RunningServer {
    /// Stops accepting connections and claiming queued executions, lets requests and queued
    /// executions in flight finish (for at most the shutdown grace period, then cuts them off),
    /// stops the other workers, and waits until every execution record taken on is committed.
    /// A queued execution cut off stays `processing` in the store and runs again at the next
    /// start.
    pub async fn shutdown(self) {
        let deadline = tokio::time::Instant::now() + self.grace;
        let _ = self.shutdown.send(true);
        finish_by(deadline, self.serving, "requests in flight were cut off").await;
        finish_by(
            deadline,
            self.workers.queue,
            "queued executions in flight were cut off; they run again at the next start",
        )
        .await;
        self.recorders.close();
        if tokio::time::timeout_at(deadline, self.recorders.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "streamed executions were not recorded: the shutdown grace period ended"
            );
        }
        for worker in self.workers.others {
            worker.abort();
            let _ = worker.await;
        }
        if let Err(error) = self.writer.flush().await {
            tracing::error!(%error, "execution records could not be committed at shutdown");
        }
    }

    /// Serves until the task is cancelled or the process is asked to stop (SIGINT, i.e.
    /// Ctrl-C, or SIGTERM, as service managers and container runtimes send), then shuts down.
    pub async fn wait(self) {
        stop_requested().await;
        tracing::info!(
            grace_secs = self.grace.as_secs(),
            "shutting down: no new connections, requests in flight may finish"
        );
        self.shutdown().await;
        tracing::info!("stopped");
    }
}

/// Waits for `task` until `deadline`, then aborts it, saying what was `cut_off`.
async fn finish_by(deadline: tokio::time::Instant, mut task: JoinHandle<()>, cut_off: &str) {
    if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
        tracing::warn!("{cut_off}: the shutdown grace period ended");
        task.abort();
        let _ = task.await;
    }
}

/// Resolves on the first SIGINT or SIGTERM.
async fn stop_requested() {
    let interrupted = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminated) => tokio::select! {
                () = interrupted => {}
                _ = terminated.recv() => {}
            },
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                interrupted.await;
            }
        }
    }
    #[cfg(not(unix))]
    interrupted.await;
}

pub async fn start(config: GatewayConfig) -> anyhow::Result<RunningServer> {
    let data_dir = config.data_dir.clone();
    bootstrap::check_admin_key(config.admin_key.as_deref())?;
    bootstrap::data_dir(&data_dir)?;
    let jwt_secret = bootstrap::jwt_secret(&data_dir, config.secret.as_deref())?;
    let uploads_dir = data_dir.join("uploads");
    bootstrap::data_dir(&uploads_dir)?;

    let database: Arc<dyn MetadataStore> = Arc::new(
        SqliteStore::open(data_dir.join("wafer.db"))
            .await
            .context("opening the metadata database")?,
    );
    let sealed = bootstrap::seal_secrets(&config, database).await?;
    let store: Arc<dyn MetadataStore> =
        Arc::new(CachedStore::new(Arc::new(sealed), config.metadata_cache));
    let new_admin_key = bootstrap::admin_key(store.as_ref(), config.admin_key.as_deref()).await?;
    let requeued = store.requeue_processing().await?;
    if requeued > 0 {
        tracing::warn!(
            requeued,
            "executions interrupted by the last stop were queued again"
        );
    }
    let writer = store.spawn_execution_writer(WriterConfig::default())?;
    let metrics = Arc::new(Metrics::new(config.metrics_max_functions));
    writer.observe(metrics.clone());
    let grace = config.shutdown_grace;
    let runtime = Runtime::new(RuntimeConfig {
        engine: config.engine.clone(),
        cache_capacity: config.deployment_cache_capacity,
        cache_idle_timeout: config.deployment_idle_timeout,
        outbound: config.outbound.clone(),
        memory_budget_bytes: config.sandbox_memory_budget_bytes,
        observer: Some(metrics.clone()),
        ..RuntimeConfig::new(data_dir.join("artifacts"))
    })?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let local_addr = listener.local_addr()?;
    let api_endpoint = config.api_endpoint(local_addr);
    let metrics_listener = match config.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the metrics listener {addr}"))?,
        ),
        None => None,
    };
    let metrics_addr = metrics_listener
        .as_ref()
        .map(tokio::net::TcpListener::local_addr)
        .transpose()?;

    let state = AppState::new(Shared {
        concurrency: Concurrency::new(
            config.max_concurrent_executions,
            config.max_concurrent_per_function,
        ),
        config,
        api_endpoint: api_endpoint.clone(),
        store,
        writer: writer.clone(),
        runtime: Arc::new(runtime),
        jwt_secret,
        queue: Notify::new(),
        uploads_dir,
        builds: Builds::default(),
        recorders: TaskTracker::new(),
        metrics,
    });

    crate::build::resume_interrupted_builds(&state).await;
    let (shutdown, mut stopped) = watch::channel(false);
    let mut workers = worker::spawn(state.clone(), shutdown.subscribe());
    if let Some(listener) = metrics_listener {
        let mut stopped = shutdown.subscribe();
        let stop = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let serving = crate::observe::listener::serve(listener, state.clone(), stop);
        workers.others.push(tokio::spawn(serving));
        tracing::info!(metrics_addr = ?metrics_addr, "metrics listening");
    }
    let limits = state.config.connections.clone();
    let recorders = state.recorders.clone();
    let app = router(state);
    let serving = tokio::spawn(async move {
        let stop = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        connections::serve(listener, app, limits, stop).await;
    });
    tracing::info!(%local_addr, %api_endpoint, "wafer gateway listening");
    Ok(RunningServer {
        local_addr,
        api_endpoint,
        metrics_addr,
        new_admin_key,
        shutdown,
        serving,
        workers,
        writer,
        recorders,
        grace,
    })
}

/// The API authenticates with headers, never cookies, so any origin may call it without
/// credentials. Browsers send credentials (as Appwrite's web SDK does) only to the origins the
/// operator trusts; an arbitrary origin is never answered with
/// `Access-Control-Allow-Credentials`.
fn cors_origins(cors: CorsLayer, trusted: &[HeaderValue]) -> CorsLayer {
    if trusted.is_empty() {
        return cors.allow_origin(AllowOrigin::any());
    }
    cors.allow_origin(AllowOrigin::list(trusted.iter().cloned()))
        .allow_credentials(true)
}

fn router(state: AppState) -> Router {
    let body_limit = state.config.max_request_body_bytes;
    let cors = cors_origins(CorsLayer::new(), &state.config.cors_allowed_origins)
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            http::HeaderName::from_static("x-appwrite-execution-id"),
            http::HeaderName::from_static("x-appwrite-id"),
            http::header::RETRY_AFTER,
        ]);
    // CORS covers the API only: a function's own routes pass OPTIONS through to the function.
    Router::new()
        .merge(routes::api_router().layer(cors))
        .merge(routes::http::router())
        .merge(routes::console::router())
        .fallback(route_not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            function_domains,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::observe::observe_request,
        ))
        .with_state(state)
}

async fn route_not_found() -> ApiError {
    ApiError::route_not_found()
}

/// Requests to `{functionId}.{base_domain}` go to the function, whatever their path.
async fn function_domains(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match crate::routes::http::function_for_host(&state, &request) {
        Some(function_id) => {
            let mut response =
                crate::routes::http::invoke_by_host(state, function_id, request).await;
            response.extensions_mut().insert(RouteClass::Function);
            response
        }
        None => next.run(request).await,
    }
}
