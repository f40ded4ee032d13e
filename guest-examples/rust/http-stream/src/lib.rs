//! A `wasi:http/proxy` component that streams: server-sent events, one every `interval` ms
//! (default 300), `count` of them (default 5), each written and flushed as it happens, so a
//! client sees the first event long before the last. `?bytes=N` instead streams N bytes of `x`
//! in 64 KiB writes, as fast as the client reads them.

use wasip2::clocks::monotonic_clock;
use wasip2::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use wasip2::io::streams::OutputStream;

wasip2::http::proxy::export!(HttpStream);

struct HttpStream;

fn param(query: &str, name: &str) -> Option<u64> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .and_then(|value| value.parse().ok())
}

impl wasip2::exports::http::incoming_handler::Guest for HttpStream {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let query = path.split_once('?').map(|(_, query)| query).unwrap_or("");
        let bytes = param(query, "bytes");
        let content_type: &[u8] = if bytes.is_some() {
            b"application/octet-stream"
        } else {
            b"text/event-stream"
        };
        let headers = Fields::from_list(&[
            ("content-type".to_owned(), content_type.to_vec()),
            ("cache-control".to_owned(), b"no-cache".to_vec()),
        ])
        .expect("valid headers");
        let response = OutgoingResponse::new(headers);
        let body = response.body().expect("the body is taken once");
        ResponseOutparam::set(response_out, Ok(response));
        let stream = body.write().expect("the stream is taken once");
        match bytes {
            Some(total) => write_bytes(&stream, total),
            None => {
                let count = param(query, "count").unwrap_or(5);
                let interval = param(query, "interval").unwrap_or(300);
                write_events(&stream, count, interval);
            }
        }
        drop(stream);
        OutgoingBody::finish(body, None).expect("the body is complete");
    }
}

fn write_events(stream: &OutputStream, count: u64, interval_ms: u64) {
    for n in 1..=count {
        if n > 1 {
            monotonic_clock::subscribe_duration(interval_ms * 1_000_000).block();
        }
        let event = format!("id: {n}\ndata: event {n} of {count}\n\n");
        write(stream, event.as_bytes());
        println!("sent event {n}");
    }
}

fn write_bytes(stream: &OutputStream, total: u64) {
    let chunk = vec![b'x'; 64 << 10];
    let mut left = total as usize;
    while left > 0 {
        let n = left.min(chunk.len());
        write(stream, &chunk[..n]);
        left -= n;
    }
}

/// Writes all of `bytes`, in pieces the stream accepts, and flushes them to the client.
fn write(stream: &OutputStream, bytes: &[u8]) {
    for piece in bytes.chunks(4096) {
        stream
            .blocking_write_and_flush(piece)
            .expect("the client reads the stream");
    }
}
