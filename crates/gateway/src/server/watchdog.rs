//! When a client connection is idle: the requests in flight on it, and the watchdog that closes
//! it once nothing has happened on it for the idle timeout.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// A connection asked to close (idle, or the server stopping) that still has nothing in flight
/// after this long is dropped: a peer that never acknowledges HTTP/2's GOAWAY cannot keep it.
const CLOSING_GRACE: Duration = Duration::from_secs(5);

/// The requests in progress on one connection, shared by its service, its IO and its watchdog.
pub(super) struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    requests_started: AtomicU64,
    /// When a request last began or ended, or a response last made progress, in milliseconds
    /// since `opened`.
    last_change_ms: AtomicU64,
}

impl Activity {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            requests_started: AtomicU64::new(0),
            last_change_ms: AtomicU64::new(0),
        })
    }

    /// Marks a request as begun; it counts until the returned guard is dropped (after its
    /// response body was sent).
    pub(super) fn request_started(self: &Arc<Self>) -> InFlight {
        self.requests_started.fetch_add(1, Ordering::SeqCst);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.touch();
        InFlight(Arc::clone(self))
    }

    /// How many requests began on this connection so far.
    pub(super) fn requests_started(&self) -> u64 {
        self.requests_started.load(Ordering::SeqCst)
    }

    pub(super) fn has_request_in_flight(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) > 0
    }

    /// Since when the connection has had no request in flight; `None` while one is.
    fn idle_since(&self) -> Option<Instant> {
        let started = self.requests_started();
        let in_flight = self.has_request_in_flight();
        let last_change = self.last_change_ms.load(Ordering::SeqCst);
        if in_flight || self.requests_started() != started {
            return None;
        }
        Some(self.opened + Duration::from_millis(last_change))
    }

    /// Restarts the idle countdown: a request began or ended, or a response made progress.
    pub(super) fn touch(&self) {
        let elapsed = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_change_ms.store(elapsed, Ordering::SeqCst);
    }
}

/// A request in progress; dropping it ends the request.
pub(super) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.touch();
    }
}

/// Drives `connection` to its end, asking it to close once it has had nothing in flight for
/// `idle_timeout` or when `shutdown` turns true, and dropping it if it is still open and idle
/// a short grace after that.
pub(super) async fn supervise<C, E>(
    mut connection: Pin<&mut C>,
    begin_close: impl Fn(Pin<&mut C>),
    activity: &Activity,
    idle_timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
) where
    C: Future<Output = Result<(), E>>,
    E: Display,
{
    let grace = idle_timeout.min(CLOSING_GRACE);
    let mut closing_since: Option<Instant> = None;
    loop {
        let allowed = if closing_since.is_some() {
            grace
        } else {
            idle_timeout
        };
        let check_at = quiet_since(activity, closing_since)
            .map_or_else(|| Instant::now() + allowed, |since| since + allowed);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            _ = shutdown.wait_for(|stop| *stop), if closing_since.is_none() => {
                begin_close(connection.as_mut());
                closing_since = Some(Instant::now());
            }
            () = tokio::time::sleep_until(check_at) => {
                let quiet = quiet_since(activity, closing_since);
                if quiet.is_none_or(|since| since + allowed > Instant::now()) {
                    continue;
                }
                if closing_since.is_some() {
                    tracing::debug!("dropping a connection that stayed idle after it was asked to close");
                    return;
                }
                tracing::debug!(?idle_timeout, "closing an idle connection");
                begin_close(connection.as_mut());
                closing_since = Some(Instant::now());
            }
        }
    }
}

/// Since when nothing has happened on the connection: no request in flight, and (once it was
/// asked to close) not since that moment.
fn quiet_since(activity: &Activity, closing_since: Option<Instant>) -> Option<Instant> {
    let idle_since = activity.idle_since()?;
    Some(closing_since.map_or(idle_since, |closing| closing.max(idle_since)))
}
