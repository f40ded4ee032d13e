//! Makes an outgoing HTTP GET (with `wasi:http`) to `?url=...` and answers with the upstream's
//! status and body as JSON: `{"status": 200, "body": "..."}`. A request that fails is a 502 with
//! `{"error": "..."}`; a missing or malformed `url` is a 400.

use std::convert::Infallible;

use serde::Serialize;
use wafer_guest::{Context, Response};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    Fields, IncomingBody, IncomingResponse, Method, OutgoingRequest, Scheme,
};
use wasip2::io::streams::StreamError;

/// How much to ask the body stream for at a time.
const READ_CHUNK: u64 = 64 * 1024;

#[derive(Serialize)]
struct Upstream {
    status: u16,
    body: String,
}

#[derive(Serialize)]
struct Failure {
    error: String,
}

fn handler(ctx: Context) -> Result<Response, Infallible> {
    let target = match ctx.req.query().get("url").ok_or("missing ?url=") {
        Ok(url) => Target::parse(url),
        Err(err) => Err(err.to_owned()),
    };
    let response = match target {
        Err(error) => ctx.res.json(&Failure { error }).with_status(400),
        Ok(target) => match get(&target) {
            Ok(upstream) => ctx.res.json(&upstream),
            Err(error) => ctx.res.json(&Failure { error }).with_status(502),
        },
    };
    Ok(response)
}

/// The parts of an absolute URL that `wasi:http` wants separately.
struct Target {
    scheme: Scheme,
    authority: String,
    path_with_query: String,
}

impl Target {
    fn parse(url: &str) -> Result<Self, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("{url:?} is not an absolute URL"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(format!("unsupported scheme in {url:?}")),
        };
        let (authority, path_with_query) =
            rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        if authority.is_empty() {
            return Err(format!("{url:?} has no host"));
        }
        // `wasi:http` wants a path; a URL may end at the authority or go straight to `?`.
        let path_with_query = if path_with_query.starts_with('/') {
            path_with_query.to_owned()
        } else {
            format!("/{path_with_query}")
        };
        Ok(Self {
            scheme,
            authority: authority.to_owned(),
            path_with_query,
        })
    }
}

/// Sends a GET to `target` and reads the whole response.
fn get(target: &Target) -> Result<Upstream, String> {
    let request = OutgoingRequest::new(Fields::new());
    // The setters only refuse syntactically invalid values.
    request
        .set_method(&Method::Get)
        .map_err(|()| "invalid method")?;
    request
        .set_scheme(Some(&target.scheme))
        .map_err(|()| "invalid scheme")?;
    request
        .set_authority(Some(&target.authority))
        .map_err(|()| format!("invalid authority {:?}", target.authority))?;
    request
        .set_path_with_query(Some(&target.path_with_query))
        .map_err(|()| format!("invalid path {:?}", target.path_with_query))?;

    let pending = outgoing_handler::handle(request, None).map_err(|err| err.to_string())?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or("the response is not ready after waiting for it")?
        .map_err(|()| "the response was already taken")?
        .map_err(|err| err.to_string())?;
    let status = response.status();
    let body = read_body(&response)?;
    Ok(Upstream {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn read_body(response: &IncomingResponse) -> Result<Vec<u8>, String> {
    let body = response
        .consume()
        .map_err(|()| "the body was already taken")?;
    let stream = body
        .stream()
        .map_err(|()| "the body stream was already taken")?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(err)) => return Err(err.to_debug_string()),
        }
    }
    // The stream is a child of the body: it must go before the body can be finished.
    drop(stream);
    drop(IncomingBody::finish(body));
    Ok(bytes)
}

wafer_guest::export_function!(handler);
