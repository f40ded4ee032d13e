//! Deadlines below hyper: a request head that does not finish in time (HTTP/1 slowloris) and a
//! request body that stops arriving; and the progress of responses, which keeps a connection
//! from counting as idle while it is still sending.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::watchdog::Activity;
use crate::error::{ApiError, ErrorKind};

/// The client half of the HTTP/2 connection preface: after it, there are no HTTP/1 heads.
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Which protocol the bytes read so far show.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// The first `matched` bytes equal the start of the HTTP/2 preface.
    Detecting {
        matched: usize,
    },
    Http1,
    Http2,
}

impl Protocol {
    fn observe(self, received: &[u8]) -> Self {
        let Self::Detecting { matched } = self else {
            return self;
        };
        let expected = &HTTP2_PREFACE[matched..];
        let compared = received.len().min(expected.len());
        if received[..compared] != expected[..compared] {
            return Self::Http1;
        }
        if matched + compared == HTTP2_PREFACE.len() {
            return Self::Http2;
        }
        Self::Detecting {
            matched: matched + compared,
        }
    }
}

/// A request head being read: its deadline, and how many requests had begun before it (a new
/// one beginning means the head is complete).
struct Head {
    deadline: Instant,
    requests_before: u64,
}

/// A client socket with the header-read deadline of HTTP/1 (a timer is armed only while a
/// read waits in the middle of a request head), which reports the progress of writes.
pub(super) struct GuardedIo<I> {
    inner: I,
    activity: Arc<Activity>,
    header_read_timeout: Duration,
    protocol: Protocol,
    head: Option<Head>,
    head_timer: Option<Pin<Box<Sleep>>>,
}

impl<I> GuardedIo<I> {
    pub(super) fn new(inner: I, activity: Arc<Activity>, header_read_timeout: Duration) -> Self {
        Self {
            inner,
            activity,
            header_read_timeout,
            protocol: Protocol::Detecting { matched: 0 },
            head: None,
            head_timer: None,
        }
    }

    fn on_received(&mut self, received: &[u8]) {
        if received.is_empty() {
            return;
        }
        self.protocol = self.protocol.observe(received);
        if self.protocol == Protocol::Http2 || self.head_is_complete() {
            self.head = None;
        }
        if self.head.is_none()
            && self.protocol != Protocol::Http2
            && !self.activity.has_request_in_flight()
        {
            self.head = Some(Head {
                deadline: Instant::now() + self.header_read_timeout,
                requests_before: self.activity.requests_started(),
            });
        }
    }

    fn head_is_complete(&self) -> bool {
        self.head
            .as_ref()
            .is_some_and(|head| self.activity.requests_started() != head.requests_before)
    }

    /// While a read waits: fails it once the current request head is overdue.
    fn poll_head_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.head_is_complete() {
            self.head = None;
        }
        let Some(head) = &self.head else {
            return Poll::Pending;
        };
        if !poll_timer(&mut self.head_timer, head.deadline, cx) {
            return Poll::Pending;
        }
        self.head = None;
        tracing::debug!(timeout = ?self.header_read_timeout, "request headers timed out");
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the request headers did not arrive in time",
        )))
    }
}

impl<I: AsyncRead + AsyncWrite + Unpin> GuardedIo<I> {
    /// Tells an HTTP/1 client why its connection closes; best effort, never waits.
    fn send_header_timeout_response(&mut self, cx: &mut Context<'_>) {
        if self.protocol == Protocol::Http2 {
            return;
        }
        let response = raw_request_timeout_response(format!(
            "The request headers did not arrive within {} s.",
            self.header_read_timeout.as_secs_f64()
        ));
        let _ = Pin::new(&mut self.inner).poll_write(cx, &response);
    }
}

/// Resets `timer` to `deadline` (creating it the first time) and polls it; true once it fired.
fn poll_timer(
    timer: &mut Option<Pin<Box<Sleep>>>,
    deadline: Instant,
    cx: &mut Context<'_>,
) -> bool {
    arm_timer(timer, deadline);
    timer
        .as_mut()
        .is_some_and(|timer| timer.as_mut().poll(cx).is_ready())
}

fn arm_timer(timer: &mut Option<Pin<Box<Sleep>>>, deadline: Instant) {
    match timer {
        Some(timer) if timer.deadline() == deadline => {}
        Some(timer) => timer.as_mut().reset(deadline),
        None => *timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
    }
}

impl<I: AsyncRead + AsyncWrite + Unpin> AsyncRead for GuardedIo<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                this.on_received(&buf.filled()[before..]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => {
                let overdue = this.poll_head_deadline(cx);
                if overdue.is_ready() {
                    this.send_header_timeout_response(cx);
                }
                overdue
            }
        }
    }
}

impl<I> GuardedIo<I> {
    /// A response still being sent keeps the connection from counting as idle, even once hyper
    /// holds all of its body. The socket takes bytes in bursts as the peer reads, so a peer that
    /// reads nothing for the idle timeout is closed by the idle watchdog.
    fn after_write<T>(&self, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if result.is_ready() {
            self.activity.touch();
        }
        result
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for GuardedIo<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.after_write(result)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after_write(result)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_flush(cx);
        this.after_write(result)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.after_write(result)
    }
}

/// A whole HTTP/1 408 response in Appwrite's error format, for a connection about to close.
fn raw_request_timeout_response(message: String) -> Vec<u8> {
    let body = ApiError::new(ErrorKind::GeneralRequestTimeout, message)
        .body()
        .to_string();
    format!(
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[derive(Debug, thiserror::Error)]
#[error("no part of the request body arrived for {0:?}")]
pub(super) struct BodyReadTimedOut(Duration);

/// A request body that fails once nothing of it has arrived for `timeout`, and says so in
/// `timed_out` so the server can answer 408 whatever the handler made of the error.
pub(super) struct TimedBody {
    inner: Incoming,
    timeout: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    /// A frame arrived since the timer was last set.
    progressed: bool,
    timed_out: Arc<AtomicBool>,
}

impl TimedBody {
    pub(super) fn new(inner: Incoming, timeout: Duration, timed_out: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            timeout,
            timer: None,
            progressed: true,
            timed_out,
        }
    }
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.progressed = true;
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        if this.progressed {
            this.progressed = false;
            arm_timer(&mut this.timer, Instant::now() + this.timeout);
        }
        let fired = this
            .timer
            .as_mut()
            .is_some_and(|timer| timer.as_mut().poll(cx).is_ready());
        if !fired {
            return Poll::Pending;
        }
        this.timed_out.store(true, Ordering::SeqCst);
        Poll::Ready(Some(Err(Box::new(BodyReadTimedOut(this.timeout)))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
