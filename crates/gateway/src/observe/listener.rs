//! The metrics listener (`--metrics-listen`): `GET /metrics` in the Prometheus text format, on
//! an address of its own so that it can stay off the public interface.

use std::future::Future;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
use tokio::net::TcpListener;
use wafer_store::Timestamp;

use super::metrics::Snapshot;
use crate::state::AppState;

/// Serves the metrics on `listener` until `stop` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(state);
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::error!(%error, "the metrics listener failed");
    }
}

async fn scrape(State(state): State<AppState>) -> Response {
    let now = Timestamp::now();
    let queue = match state.store.due_queue(now).await {
        Ok(queue) => Some(queue),
        Err(error) => {
            tracing::warn!(%error, "the queue's depth could not be read for the metrics");
            None
        }
    };
    let snapshot = Snapshot {
        runtime: state.runtime.stats(),
        queue,
        now,
        running: state.concurrency.running(),
    };
    match state.metrics.encode(&snapshot) {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics could not be encoded",
        )
            .into_response(),
    }
}
