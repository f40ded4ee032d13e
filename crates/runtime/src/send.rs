//! Sends a guest's outgoing HTTP request the way `wasmtime_wasi_http::default_send_request`
//! does (HTTP/1.1 over TCP, TLS with the webpki roots, the guest's timeouts), except that the
//! host is resolved here, every resolved address is checked ([`check_address`]) and the
//! connection goes to that exact address, so a second resolution (DNS rebinding) cannot send it
//! elsewhere. The per-invocation caps on requests, open connections and response bytes are
//! enforced here too.

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::uri::Scheme;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};

use crate::address::{AddressRange, Forbidden, check_address, parse_ip_host};
use crate::output::SharedOutput;

/// The guest's timeouts when it sets none, as in `default_send_request`; the invocation's own
/// timeout still bounds them.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The future that drives a connection after its response head arrived.
pub(crate) type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;

/// What one send needs from the invocation: where refusals are noted, which private ranges
/// are allowed, and the shared budgets.
pub(crate) struct SendContext {
    pub(crate) errors: SharedOutput,
    pub(crate) allowed_ranges: Arc<[AddressRange]>,
    pub(crate) connection: OwnedSemaphorePermit,
    pub(crate) response_bytes: ResponseBudget,
}

/// The response body bytes an invocation may still read, shared by all its requests.
#[derive(Clone, Debug)]
pub(crate) struct ResponseBudget {
    left: Arc<AtomicU64>,
    limit: u64,
}

impl ResponseBudget {
    pub(crate) fn new(limit: u64) -> Self {
        Self {
            left: Arc::new(AtomicU64::new(limit)),
            limit,
        }
    }

    /// Takes `bytes` from the budget; false when they do not fit (the budget is then spent).
    fn take(&self, bytes: u64) -> bool {
        let taken = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            })
            .is_ok();
        if !taken {
            self.left.store(0, Ordering::Relaxed);
        }
        taken
    }
}

/// Resolves, checks, connects and sends.
pub(crate) async fn send(
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    context: SendContext,
) -> Result<(http::Response<WasiBody>, IoFuture), HttpError> {
    let uri = request.uri().clone();
    let options = options.unwrap_or_default();
    let connect_timeout = options.connect_timeout.unwrap_or(DEFAULT_TIMEOUT);
    let stream = open_stream(&uri, &context, connect_timeout).await?;
    let (mut sender, connection) = tokio::time::timeout(
        connect_timeout,
        hyper::client::conn::http1::Builder::new().handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| HttpError::ConnectionTimeout)??;

    // The request line carries only the path; the authority travels in the Host header.
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    *request.uri_mut() = path.parse().map_err(|_| HttpError::HttpRequestUriInvalid)?;

    let first_byte_timeout = options.first_byte_timeout.unwrap_or(DEFAULT_TIMEOUT);
    let mut connection = Box::pin(connection);
    let mut connection_done = false;
    let mut respond = Box::pin(tokio::time::timeout(
        first_byte_timeout,
        sender.send_request(request),
    ));
    // Drive the connection while waiting for the response head, as `default_send_request`.
    let response = std::future::poll_fn(|cx| {
        if let Poll::Ready(result) = respond.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        if !connection_done && let Poll::Ready(result) = connection.as_mut().poll(cx) {
            connection_done = true;
            if let Err(error) = result {
                return Poll::Ready(Ok(Err(error)));
            }
            return respond.as_mut().poll(cx);
        }
        Poll::Pending
    })
    .await
    .map_err(|_| HttpError::ConnectionReadTimeout)??;

    let between_bytes = options
        .between_bytes_timeout
        .unwrap_or(DEFAULT_TIMEOUT)
        .max(Duration::from_nanos(1));
    let SendContext {
        errors,
        connection: permit,
        response_bytes,
        ..
    } = context;
    let response = response.map(|incoming| {
        CappedBody {
            incoming,
            timeout: Box::pin(tokio::time::sleep(between_bytes)),
            between_bytes,
            budget: response_bytes,
            errors,
            uri: uri.to_string(),
            permit: Some(permit),
        }
        .boxed_unsync()
    });
    let io: IoFuture = Box::new(async move {
        if connection_done {
            return Ok(());
        }
        connection.await.map_err(|error| {
            if error.is_timeout() {
                HttpError::HttpResponseTimeout
            } else {
                HttpError::from(error)
            }
        })
    });
    Ok((response, io))
}

/// A connection (TLS for `https`) to an address of the URI's host that passed the check;
/// a refusal is noted in the errors.
async fn open_stream(
    uri: &http::Uri,
    context: &SendContext,
    timeout: Duration,
) -> Result<Box<dyn Stream>, HttpError> {
    let host = uri.host().ok_or(HttpError::HttpRequestUriInvalid)?;
    let use_tls = uri.scheme() == Some(&Scheme::HTTPS);
    let port = uri.port_u16().unwrap_or(if use_tls { 443 } else { 80 });
    let addresses = resolve(host, port, timeout)
        .await
        .and_then(|addresses| checked_addresses(&addresses, &context.allowed_ranges))
        .inspect_err(|error| note(&context.errors, uri, error))?;
    let stream = connect(&addresses, port, timeout).await?;
    if use_tls {
        return Ok(Box::new(tls(stream, host, timeout).await?));
    }
    Ok(Box::new(stream))
}

/// Appends a refusal to the execution's errors.
pub(crate) fn note(errors: &SharedOutput, uri: &http::Uri, reason: &impl std::fmt::Display) {
    errors
        .lock()
        .push_line(&format!("Outbound request to {uri} refused: {reason}."));
}

/// Why a host could not be turned into addresses the guest may reach.
#[derive(Debug)]
enum Unreachable {
    BadHost(String),
    Dns(String, std::io::Error),
    DnsTimeout(String),
    Forbidden(Forbidden),
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadHost(reason) => f.write_str(reason),
            Self::Dns(host, error) => write!(f, "{host} could not be resolved ({error})"),
            Self::DnsTimeout(host) => write!(f, "resolving {host} timed out"),
            Self::Forbidden(forbidden) => write!(f, "{forbidden}"),
        }
    }
}

impl From<Unreachable> for HttpError {
    fn from(error: Unreachable) -> Self {
        match error {
            Unreachable::BadHost(_) => HttpError::HttpRequestUriInvalid,
            Unreachable::Dns(..) => HttpError::DnsError {
                rcode: Some("address not found".to_owned()),
                info_code: None,
            },
            Unreachable::DnsTimeout(_) => HttpError::DnsTimeout,
            Unreachable::Forbidden(_) => HttpError::DestinationIpProhibited,
        }
    }
}

/// The addresses `host` stands for: itself when it is an IP in any textual form, else what
/// DNS answers.
async fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<IpAddr>, Unreachable> {
    if let Some(ip) = parse_ip_host(host).map_err(Unreachable::BadHost)? {
        return Ok(vec![ip]);
    }
    let lookup = tokio::net::lookup_host((host, port));
    let found = tokio::time::timeout(timeout, lookup)
        .await
        .map_err(|_| Unreachable::DnsTimeout(host.to_owned()))?
        .map_err(|error| Unreachable::Dns(host.to_owned(), error))?;
    Ok(found.map(|address| address.ip()).collect())
}

/// The addresses that pass the check; none passing is a refusal that
/// names the first address.
fn checked_addresses(
    addresses: &[IpAddr],
    allowed: &[AddressRange],
) -> Result<Vec<IpAddr>, Unreachable> {
    let mut passed = Vec::new();
    let mut first_refusal = None;
    for &ip in addresses {
        match check_address(ip, allowed) {
            Ok(ip) => passed.push(ip),
            Err(forbidden) => {
                first_refusal.get_or_insert(forbidden);
            }
        }
    }
    match (passed.is_empty(), first_refusal) {
        (true, Some(forbidden)) => Err(Unreachable::Forbidden(forbidden)),
        (true, None) => Err(Unreachable::BadHost("the host has no address".to_owned())),
        (false, _) => Ok(passed),
    }
}

/// Connects to the first address that answers.
async fn connect(
    addresses: &[IpAddr],
    port: u16,
    timeout: Duration,
) -> Result<TcpStream, HttpError> {
    let mut last_error = HttpError::ConnectionRefused;
    for &ip in addresses {
        let address = SocketAddr::new(ip, port);
        match tokio::time::timeout(timeout, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(error)) => last_error = HttpError::Connect(error),
            Err(_) => last_error = HttpError::ConnectionTimeout,
        }
    }
    Err(last_error)
}

trait Stream: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static {}
impl<T> Stream for T where T: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static {}

static TLS_CONFIG: LazyLock<Result<Arc<rustls::ClientConfig>, rustls::Error>> =
    LazyLock::new(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    });

/// TLS over the checked connection, verifying the certificate against the host the guest
/// named (its SNI), not the address it resolved to.
async fn tls(
    stream: TcpStream,
    host: &str,
    timeout: Duration,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, HttpError> {
    let config = TLS_CONFIG
        .as_ref()
        .map_err(|error| HttpError::InternalError(Some(error.to_string())))?;
    let server_name = match parse_ip_host(host) {
        Ok(Some(ip)) => ServerName::from(ip),
        _ => ServerName::try_from(host.to_owned())?,
    };
    let connector = tokio_rustls::TlsConnector::from(config.clone());
    tokio::time::timeout(timeout, connector.connect(server_name, stream))
        .await
        .map_err(|_| HttpError::ConnectionTimeout)?
        .map_err(HttpError::Tls)
}

/// A response body under the guest's between-bytes timeout and the invocation's byte budget.
/// It holds the request's place among the invocation's open connections until the guest has
/// read it to its end or dropped it, whenever hyper closes the socket itself.
struct CappedBody {
    incoming: Incoming,
    timeout: Pin<Box<tokio::time::Sleep>>,
    between_bytes: Duration,
    budget: ResponseBudget,
    errors: SharedOutput,
    uri: String,
    permit: Option<OwnedSemaphorePermit>,
}

impl CappedBody {
    /// The body is over: its connection no longer counts.
    fn end<T>(&mut self, last: T) -> Poll<T> {
        self.permit = None;
        Poll::Ready(last)
    }
}

impl Body for CappedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(None) => self.end(None),
            Poll::Ready(Some(Err(error))) if error.is_timeout() => {
                self.end(Some(Err(HttpError::HttpResponseTimeout)))
            }
            Poll::Ready(Some(Err(error))) => self.end(Some(Err(HttpError::from(error)))),
            Poll::Ready(Some(Ok(frame))) => {
                let size = frame.data_ref().map_or(0, |data| data.len() as u64);
                if !self.budget.take(size) {
                    let limit = self.budget.limit;
                    self.errors.lock().push_line(&format!(
                        "Outbound response from {} cut off: the execution's outbound responses \
                         exceeded the limit of {limit} bytes (max_response_bytes).",
                        self.uri
                    ));
                    return self.end(Some(Err(HttpError::HttpResponseBodySize(Some(limit)))));
                }
                let deadline = tokio::time::Instant::now() + self.between_bytes;
                self.timeout.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                ready!(self.timeout.as_mut().poll(cx));
                self.end(Some(Err(HttpError::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}
