//! Invocations of `wasi:http/proxy` deployments: the request goes in as a
//! `wasi:http/incoming-request` whose body streams, and the guest's response body streams out
//! as the guest writes it, through a [`ResponseStream`] that enforces the response size limit
//! and the timeout and keeps the first bytes for the execution record.
//!
//! The guest runs on a task of its own, so its response head reaches the caller while it is
//! still writing the body. The invocation is over when both the guest's `handle` has returned
//! and the body has ended (or was cut); [`PendingOutcome`] resolves then.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wasmtime::component::Resource;
use wasmtime::{PoolConcurrencyLimitError, Store};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::{Proxy, ProxyPre};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p2::types::{HostIncomingRequest, HostResponseOutparam};

use crate::contract::Request;
use crate::host::HostState;
use crate::limits::Limits;
use crate::outcome::{ExecutionStatus, Failure, InvocationOutcome, failure_response};

/// A request body handed to a wasi:http guest as it arrives.
pub type RequestBody = http_body_util::combinators::UnsyncBoxBody<Bytes, RequestBodyError>;

/// Why a streamed request body could not be read to its end.
pub type RequestBodyError = Box<dyn std::error::Error + Send + Sync>;

/// What a streamed invocation came to once the guest answered, or failed to.
pub enum Streamed {
    /// The guest answered with a status and headers; its body streams.
    Streaming(StreamingResponse),
    /// The invocation is over without a streamed answer: a `wafer:function` deployment, or a
    /// guest that failed before it answered.
    Finished(InvocationOutcome),
}

/// A wasi:http guest's answer while its body is still being written.
pub struct StreamingResponse {
    /// The status the guest set (checked to be 200-599).
    pub status_code: u16,
    /// The headers the guest set; the caller decides which reach a client.
    pub headers: Vec<(String, String)>,
    /// The body as the guest writes it.
    pub body: ResponseStream,
    /// The outcome, once the guest has returned and the body has ended.
    pub outcome: PendingOutcome,
}

impl StreamingResponse {
    /// Reads the whole body (within the limits) and waits for the outcome, whose response then
    /// holds the body as far as it was kept.
    pub async fn collect(self) -> InvocationOutcome {
        let StreamingResponse {
            mut body, outcome, ..
        } = self;
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            if frame.is_err() {
                break;
            }
        }
        drop(body);
        outcome.await
    }
}

/// Resolves to the invocation's outcome when the guest has returned and its body has ended.
pub struct PendingOutcome(Pin<Box<dyn Future<Output = InvocationOutcome> + Send>>);

impl Future for PendingOutcome {
    type Output = InvocationOutcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<InvocationOutcome> {
        self.0.as_mut().poll(cx)
    }
}

/// Why a response stream ended early; the client sees the stream cut.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// A limit was hit or the guest failed; the execution records which.
    #[error("{0}")]
    Failed(String),
}

/// Runs one invocation of a wasi:http deployment whose store is ready. `keep_bytes` is how
/// much of the body the outcome keeps.
pub(crate) async fn invoke(
    proxy_pre: &ProxyPre<HostState>,
    mut store: Store<HostState>,
    request: &Request,
    body: RequestBody,
    limits: &Limits,
    keep_bytes: usize,
) -> Result<Streamed, Overloaded> {
    let started = Instant::now();
    let deadline = started + limits.timeout;
    let proxy = match proxy_pre.instantiate_async(&mut store).await {
        Ok(proxy) => proxy,
        Err(error) if error.is::<PoolConcurrencyLimitError>() => return Err(Overloaded),
        Err(error) => {
            let failure = Failure::from_wasm_error(error, limits);
            return Ok(Streamed::Finished(finished(
                &mut store, failure, limits, started,
            )));
        }
    };
    let (head_tx, head_rx) = oneshot::channel();
    let resources = incoming_request(&mut store, request, body).and_then(|incoming| {
        let outparam = store.data_mut().http().new_response_outparam(head_tx)?;
        Ok((incoming, outparam))
    });
    let (incoming, outparam) = match resources {
        Ok(resources) => resources,
        Err(error) => {
            let failure = Failure::Trap(format!("the request could not be handed over: {error:#}"));
            return Ok(Streamed::Finished(finished(
                &mut store, failure, limits, started,
            )));
        }
    };
    let (done_tx, done_rx) = oneshot::channel();
    let (cancel_tx, cancel_rx) = oneshot::channel();
    let guest = tokio::spawn(run_guest(GuestCall {
        store,
        proxy,
        incoming,
        outparam,
        limits: limits.clone(),
        deadline,
        cancel: cancel_rx,
        done: done_tx,
    }));
    let head = match head_rx.await {
        Ok(Ok(head)) => head,
        Ok(Err(code)) => {
            // The guest answered with an error instead of a response.
            let failure = Failure::Guest(format!("The function answered with an error: {code:?}"));
            return Ok(Streamed::Finished(
                settle_without_body(guest, failure, started).await,
            ));
        }
        Err(_) => {
            // The guest ended (or failed) without setting a response.
            let failure =
                Failure::Guest("The function returned without sending a response.".to_owned());
            return Ok(Streamed::Finished(
                settle_without_body(guest, failure, started).await,
            ));
        }
    };
    let (parts, inner) = head.into_parts();
    let status_code = parts.status.as_u16();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let (report_tx, report_rx) = oneshot::channel();
    let mut body = ResponseStream {
        inner: Some(inner),
        deadline: Box::pin(tokio::time::sleep_until(deadline.into())),
        limit: limits.max_response_bytes,
        sent: 0,
        keep: keep_bytes,
        kept: Vec::new(),
        guest_done: Some(done_rx),
        cancel: Some(cancel_tx),
        report: Some(report_tx),
    };
    let outcome_head = (status_code, headers.clone());
    let outcome = PendingOutcome(Box::pin(settle(guest, report_rx, outcome_head, started)));
    // 1xx statuses belong to the server's framing, never to data (as for wafer functions).
    if !(200..=599).contains(&status_code) {
        body.stop(Failure::InvalidStatusCode(status_code));
        drop(body);
        return Ok(Streamed::Finished(outcome.await));
    }
    Ok(Streamed::Streaming(StreamingResponse {
        status_code,
        headers,
        body,
        outcome,
    }))
}

/// Every pool slot is taken: not the guest's fault, so not an execution failure.
pub(crate) struct Overloaded;

fn incoming_request(
    store: &mut Store<HostState>,
    request: &Request,
    body: RequestBody,
) -> wasmtime::Result<Resource<HostIncomingRequest>> {
    // The scheme and host come from client headers (`x-forwarded-proto`, `Host`) and the path
    // from the executions API: whatever they hold, the guest gets a well-formed URL.
    let https = request.scheme.eq_ignore_ascii_case("https");
    let (scheme, default_port) = if https {
        (Scheme::Https, 443)
    } else {
        (Scheme::Http, 80)
    };
    let authority = if request.port == default_port || request.port == 0 {
        request.host.clone()
    } else {
        format!("{}:{}", request.host, request.port)
    };
    let authority = http::uri::Authority::try_from(authority)
        .unwrap_or_else(|_| http::uri::Authority::from_static("localhost"));
    let mut path_and_query = encode_uri_part(&request.path);
    if !path_and_query.starts_with('/') {
        path_and_query.insert(0, '/');
    }
    if !request.query_string.is_empty() {
        path_and_query.push('?');
        path_and_query.push_str(&encode_uri_part(&request.query_string));
    }
    let uri = http::Uri::builder()
        .scheme(if https { "https" } else { "http" })
        .authority(authority)
        .path_and_query(path_and_query)
        .build()?;
    let mut builder = hyper::Request::builder()
        .method(request.method.as_str())
        .uri(uri);
    for (name, value) in &request.headers {
        // Names and values the HTTP layer would refuse cannot come from a client; a record
        // replayed from the queue may hold anything, and a bad one is left out, not fatal.
        let (Ok(name), Ok(value)) = (
            http::HeaderName::try_from(name.as_str()),
            http::HeaderValue::try_from(value.as_str()),
        ) else {
            continue;
        };
        builder = builder.header(name, value);
    }
    let body = http_body_util::BodyExt::map_err(body, request_body_error);
    let request = builder.body(body)?;
    store
        .data_mut()
        .http()
        .new_incoming_request(scheme, request)
}

/// `part` with every byte a URL's path or query may not hold percent-encoded.
fn encode_uri_part(part: &str) -> String {
    let mut encoded = String::with_capacity(part.len());
    for byte in part.bytes() {
        let allowed = byte > b' '
            && byte < 0x7f
            && !matches!(
                byte,
                b'"' | b'#' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
            );
        if allowed {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn request_body_error(error: RequestBodyError) -> wasmtime_wasi_http::Error {
    if error.is::<http_body_util::LengthLimitError>() {
        return wasmtime_wasi_http::Error::HttpRequestBodySize(None);
    }
    wasmtime_wasi_http::Error::InternalError(Some(format!(
        "the request body could not be read: {error}"
    )))
}

/// Everything the guest's task owns.
struct GuestCall {
    store: Store<HostState>,
    proxy: Proxy,
    incoming: Resource<HostIncomingRequest>,
    outparam: Resource<HostResponseOutparam>,
    limits: Limits,
    deadline: Instant,
    /// Fires when the response stream stopped early: nobody reads what the guest writes.
    cancel: oneshot::Receiver<()>,
    /// Says whether `handle` returned without failing.
    done: oneshot::Sender<bool>,
}

/// What the guest's task leaves for the outcome.
struct GuestEnd {
    failure: Option<Failure>,
    logs: String,
    errors: String,
    fuel_consumed: u64,
    peak_memory_bytes: u64,
}

async fn run_guest(call: GuestCall) -> GuestEnd {
    let GuestCall {
        mut store,
        proxy,
        incoming,
        outparam,
        limits,
        deadline,
        cancel,
        done,
    } = call;
    let failure = {
        let handle = proxy
            .wasi_http_incoming_handler()
            .call_handle(&mut store, incoming, outparam);
        // The epoch deadline stops a guest that computes; this stops one that waits (on a
        // sleep, an outbound call or a client that reads slowly) past its time.
        tokio::select! {
            result = tokio::time::timeout_at(deadline.into(), handle) => match result {
                Ok(Ok(())) => None,
                Ok(Err(error)) => Some(Failure::from_wasm_error(error, &limits)),
                Err(_elapsed) => Some(Failure::Timeout),
            },
            Ok(()) = cancel => None,
        }
    };
    let _ = done.send(failure.is_none());
    let fuel_consumed = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
    let state = store.data();
    GuestEnd {
        failure,
        logs: state.logs.take_text(),
        errors: state.errors.take_text(),
        fuel_consumed,
        peak_memory_bytes: state.memory.peak,
    }
}

/// How the response stream ended.
struct StreamReport {
    kept: Vec<u8>,
    /// A limit hit or the guest's abort of its body.
    failure: Option<Failure>,
    /// Bytes sent when the client went away before the end.
    client_gone_after: Option<usize>,
}

/// A wasi:http guest's response body on its way to the client, cut at the response size limit
/// or the timeout. It ends cleanly only once the guest's `handle` has returned without failing,
/// so a client never mistakes a failed execution's partial body for a whole one.
pub struct ResponseStream {
    inner: Option<HyperOutgoingBody>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    limit: usize,
    sent: usize,
    keep: usize,
    kept: Vec<u8>,
    guest_done: Option<oneshot::Receiver<bool>>,
    cancel: Option<oneshot::Sender<()>>,
    report: Option<oneshot::Sender<StreamReport>>,
}

impl ResponseStream {
    /// Ends the stream early for `failure`: the guest is stopped and the outcome records it.
    fn stop(&mut self, failure: Failure) -> StreamError {
        let error = StreamError::Failed(failure.message());
        self.end(Some(failure), None);
        error
    }

    fn end(&mut self, failure: Option<Failure>, client_gone_after: Option<usize>) {
        self.inner = None;
        if let Some(cancel) = self.cancel.take()
            && (failure.is_some() || client_gone_after.is_some())
        {
            let _ = cancel.send(());
        }
        if let Some(report) = self.report.take() {
            let _ = report.send(StreamReport {
                kept: std::mem::take(&mut self.kept),
                failure,
                client_gone_after,
            });
        }
    }

    fn keep(&mut self, data: &Bytes) {
        let room = self.keep.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&data[..room.min(data.len())]);
    }

    /// The end of the guest's body: clean once `handle` returned without failing.
    fn poll_guest_done(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamError>>> {
        let Some(done) = self.guest_done.as_mut() else {
            return Poll::Ready(None);
        };
        let succeeded = match Pin::new(done).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result.unwrap_or(false),
        };
        self.guest_done = None;
        self.end(None, None);
        if succeeded {
            Poll::Ready(None)
        } else {
            Poll::Ready(Some(Err(StreamError::Failed(
                "the function failed before finishing its response".to_owned(),
            ))))
        }
    }
}

impl Body for ResponseStream {
    type Data = Bytes;
    type Error = StreamError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamError>>> {
        let this = &mut *self;
        if this.report.is_none() {
            return Poll::Ready(None);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(this.stop(Failure::Timeout))));
        }
        let Some(inner) = this.inner.as_mut() else {
            return this.poll_guest_done(cx);
        };
        match Pin::new(inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                this.inner = None;
                this.poll_guest_done(cx)
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(this.stop(Failure::Guest(
                format!("The function aborted its response body: {error}"),
            ))))),
            Poll::Ready(Some(Ok(frame))) => {
                let Some(data) = frame.data_ref() else {
                    return Poll::Ready(Some(Ok(frame)));
                };
                this.sent = this.sent.saturating_add(data.len());
                if this.sent > this.limit {
                    let limit = this.limit;
                    return Poll::Ready(Some(Err(this.stop(Failure::StreamTooLarge { limit }))));
                }
                let data = data.clone();
                this.keep(&data);
                Poll::Ready(Some(Ok(frame)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.report.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map(|inner| {
                let mut hint = SizeHint::new();
                hint.set_lower(inner.size_hint().lower());
                hint
            })
            .unwrap_or_default()
    }
}

impl Drop for ResponseStream {
    fn drop(&mut self) {
        // Dropped before its end: the client went away (or never wanted the body, as for
        // `HEAD`). The guest is stopped; nobody reads what it writes.
        if self.report.is_some() {
            let sent = self.sent;
            self.end(None, Some(sent));
        }
    }
}

/// The outcome of an invocation whose guest could not be started or handed the request.
fn finished(
    store: &mut Store<HostState>,
    failure: Failure,
    limits: &Limits,
    started: Instant,
) -> InvocationOutcome {
    let fuel_consumed = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
    let state = store.data();
    let end = GuestEnd {
        failure: None,
        logs: state.logs.take_text(),
        errors: state.errors.take_text(),
        fuel_consumed,
        peak_memory_bytes: state.memory.peak,
    };
    outcome(end, Some(failure), failure_response(), started)
}

/// The outcome of a guest that ended without a response it could stream.
async fn settle_without_body(
    guest: JoinHandle<GuestEnd>,
    failure: Failure,
    started: Instant,
) -> InvocationOutcome {
    let end = guest_end(guest).await;
    // A trap or limit is the better reason; "no response" only when the guest returned.
    let failure = end.failure.clone().unwrap_or(failure);
    outcome(end, Some(failure), failure_response(), started)
}

async fn settle(
    guest: JoinHandle<GuestEnd>,
    report: oneshot::Receiver<StreamReport>,
    (status_code, headers): (u16, Vec<(String, String)>),
    started: Instant,
) -> InvocationOutcome {
    let report = report.await.unwrap_or(StreamReport {
        kept: Vec::new(),
        failure: None,
        client_gone_after: Some(0),
    });
    let mut end = guest_end(guest).await;
    if let Some(sent) = report.client_gone_after {
        // Stopped because nobody listened: the function did not fail.
        end.failure = None;
        push_line(
            &mut end.errors,
            &format!(
                "The client closed the connection after {sent} bytes of the response; the \
                 function was stopped."
            ),
        );
    }
    let failure = report.failure.or(end.failure.take());
    let response = crate::contract::Response {
        status_code,
        headers,
        body: report.kept,
    };
    outcome(end, failure, response, started)
}

async fn guest_end(guest: JoinHandle<GuestEnd>) -> GuestEnd {
    guest.await.unwrap_or_else(|error| GuestEnd {
        failure: Some(Failure::Trap(format!(
            "the invocation task failed: {error}"
        ))),
        logs: String::new(),
        errors: String::new(),
        fuel_consumed: 0,
        peak_memory_bytes: 0,
    })
}

fn push_line(text: &mut String, line: &str) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(line);
}

fn outcome(
    mut end: GuestEnd,
    failure: Option<Failure>,
    response: crate::contract::Response,
    started: Instant,
) -> InvocationOutcome {
    if let Some(failure) = &failure {
        push_line(&mut end.errors, &failure.message());
    }
    let status = if failure.is_none() && response.status_code < 500 {
        ExecutionStatus::Completed
    } else {
        ExecutionStatus::Failed
    };
    InvocationOutcome {
        status,
        response,
        logs: end.logs,
        errors: end.errors,
        failure,
        duration: started.elapsed(),
        fuel_consumed: end.fuel_consumed,
        peak_memory_bytes: end.peak_memory_bytes,
    }
}
