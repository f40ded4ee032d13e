//! A small OTLP/HTTP trace receiver on the loopback interface: it takes the
//! `POST /v1/traces` requests an OpenTelemetry exporter sends (protobuf bodies), decodes them
//! and keeps the spans for a test to look at.

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub use opentelemetry_proto::tonic::trace::v1::Span;

/// The largest export request the receiver reads.
const MAX_BODY: usize = 16 << 20;

/// Spans received so far, in arrival order.
#[derive(Clone, Default)]
pub struct Received(Arc<Mutex<Vec<Span>>>);

impl Received {
    pub fn spans(&self) -> Vec<Span> {
        self.0.lock().expect("spans lock").clone()
    }
}

/// Starts the receiver; it serves until the test's runtime ends. Returns its port and the
/// spans it receives.
pub async fn receiver() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback listener");
    let port = listener.local_addr().expect("local address").port();
    let received = Received::default();
    let spans = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, spans.clone()));
        }
    });
    (port, received)
}

/// Answers export requests on one keep-alive connection until it closes.
async fn serve(mut stream: TcpStream, spans: Received) {
    let mut buffer = Vec::new();
    loop {
        let Some(head_end) = read_head(&mut stream, &mut buffer).await else {
            return;
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse::<usize>().ok())
            .unwrap_or(0)
            .min(MAX_BODY);
        let body_start = head_end + 4;
        while buffer.len() < body_start + length {
            let mut chunk = [0u8; 16 * 1024];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let body = &buffer[body_start..body_start + length];
        let status = match ExportTraceServiceRequest::decode(body) {
            Ok(request) => {
                let mut kept = spans.0.lock().expect("spans lock");
                for resource in request.resource_spans {
                    for scope in resource.scope_spans {
                        kept.extend(scope.spans);
                    }
                }
                "200 OK"
            }
            Err(_) => "400 Bad Request",
        };
        buffer.drain(..body_start + length);
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Reads until `buffer` holds a whole request head; returns where it ends.
async fn read_head(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(end);
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A span's attribute as text (numbers and booleans written out), if it has it.
pub fn attribute(span: &Span, key: &str) -> Option<String> {
    let value = span
        .attributes
        .iter()
        .find(|attribute| attribute.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()?;
    Some(match value {
        Value::StringValue(text) => text.clone(),
        Value::IntValue(number) => number.to_string(),
        Value::DoubleValue(number) => number.to_string(),
        Value::BoolValue(flag) => flag.to_string(),
        other => format!("{other:?}"),
    })
}

/// Bytes as lower-case hex, as trace and span IDs are written in `traceparent`.
pub fn hex_id(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
