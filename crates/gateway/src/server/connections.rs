//! Serving client connections: the accept loop under the connection cap, hyper's settings, and
//! the service that counts requests in flight and answers 408 for a body that stopped arriving.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use hyper::body::{Body as _, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::Service;

use super::timeouts::{GuardedIo, TimedBody};
use super::watchdog::{self, Activity, InFlight};
use crate::config::ConnectionLimits;
use crate::error::{ApiError, ErrorKind};

/// How often the warning that the connection cap was reached may repeat.
const CAP_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// Bounds on what a client may send before its request is refused by hyper itself.
const MAX_HEADER_BYTES: usize = 64 << 10;
const MAX_HEADERS: usize = 100;

/// Accepts connections until `stop`, up to the connection cap, serving each with hyper under
/// header limits and the connection timeouts, then lets open connections finish their requests.
pub(super) async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
) {
    let builder = http_builder(&limits);
    let mut cap = ConnectionCap::new(limits.max_connections);
    let (closing, closing_requested) = watch::channel(false);
    tokio::pin!(stop);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // Beyond the cap the socket is closed at once, so a flood costs no descriptors.
        let Some(place) = cap.admit() else {
            continue;
        };
        let activity = Activity::new();
        let io = GuardedIo::new(stream, Arc::clone(&activity), limits.header_read_timeout);
        let service = request_service(
            app.clone(),
            remote,
            Arc::clone(&activity),
            limits.body_read_timeout,
        );
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let closing_requested = closing_requested.clone();
        let idle_timeout = limits.idle_timeout;
        tokio::spawn(async move {
            let _place = place;
            tokio::pin!(connection);
            watchdog::supervise(
                connection,
                |connection| connection.graceful_shutdown(),
                &activity,
                idle_timeout,
                closing_requested,
            )
            .await;
        });
    }
    drop(listener);
    let _ = closing.send(true);
    cap.all_closed().await;
}

fn http_builder(limits: &ConnectionLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Request heads are timed by `GuardedIo`: hyper's own header timer also runs while a
    // keep-alive connection waits for its next request, which would cut the idle timeout short.
    builder
        .http1()
        .max_buf_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS)
        .header_read_timeout(None);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.http2_keep_alive_interval)
        .keep_alive_timeout(limits.http2_keep_alive_timeout);
    builder
}

/// The router as hyper's service for one connection: each request counts as in flight until
/// its response body is sent, and its body is read under the body timeout.
fn request_service(
    app: Router,
    remote: SocketAddr,
    activity: Arc<Activity>,
    body_read_timeout: Duration,
) -> impl hyper::service::Service<
    http::Request<Incoming>,
    Response = Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<Response, std::convert::Infallible>> + Send + 'static,
> + Clone {
    hyper::service::service_fn(move |request: http::Request<Incoming>| {
        let in_flight = activity.request_started();
        let mut app = app.clone();
        async move {
            let version = request.version();
            let body_timed_out = Arc::new(AtomicBool::new(false));
            let mut request = request.map(|body| {
                if body.is_end_stream() {
                    return Body::new(body);
                }
                Body::new(TimedBody::new(
                    body,
                    body_read_timeout,
                    Arc::clone(&body_timed_out),
                ))
            });
            request.extensions_mut().insert(ConnectInfo(remote));
            let response = app.call(request).await?;
            let response = if body_timed_out.load(Ordering::SeqCst) {
                body_timeout_response(version, body_read_timeout)
            } else {
                response
            };
            Ok(response.map(|body| Body::new(InFlightBody::new(body, in_flight))))
        }
    })
}

/// 408 for a request whose body stopped arriving; an HTTP/1 connection closes after it.
fn body_timeout_response(version: http::Version, timeout: Duration) -> Response {
    let message = format!(
        "The request body stopped arriving: nothing of it came for {} s.",
        timeout.as_secs_f64()
    );
    let mut response = ApiError::new(ErrorKind::GeneralRequestTimeout, message).into_response();
    if version < http::Version::HTTP_2 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A response body that keeps its request in flight until hyper is done sending it.
struct InFlightBody {
    inner: Body,
    _in_flight: InFlight,
}

impl InFlightBody {
    fn new(inner: Body, in_flight: InFlight) -> Self {
        Self {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl hyper::body::Body for InFlightBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// The places for open connections: each connection holds a permit until it ends.
pub(super) struct ConnectionCap {
    slots: Arc<Semaphore>,
    max: u32,
    warned_at: Option<Instant>,
    refused_since_warning: u64,
}

impl ConnectionCap {
    pub(super) fn new(max_connections: usize) -> Self {
        let max = u32::try_from(max_connections.max(1)).unwrap_or(u32::MAX);
        Self {
            slots: Arc::new(Semaphore::new(max as usize)),
            max,
            warned_at: None,
            refused_since_warning: 0,
        }
    }

    /// A place for a new connection, or `None` (and a warning now and then) at the cap.
    pub(super) fn admit(&mut self) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Some(permit);
        }
        self.refused_since_warning += 1;
        let due = self
            .warned_at
            .is_none_or(|at| at.elapsed() >= CAP_WARNING_INTERVAL);
        if due {
            tracing::warn!(
                max_connections = self.max,
                refused = self.refused_since_warning,
                "connection cap reached: new connections are closed until open ones end \
                 (raise --max-connections if the open-file limit allows)"
            );
            self.warned_at = Some(Instant::now());
            self.refused_since_warning = 0;
        }
        None
    }

    /// Waits until every admitted connection has ended.
    pub(super) async fn all_closed(&self) {
        let _ = self.slots.acquire_many(self.max).await;
    }
}
