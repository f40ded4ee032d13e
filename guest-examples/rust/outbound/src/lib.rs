//! Makes an outgoing HTTP GET (with `wasi:http`) to `?url=...` and answers with the upstream's
//! status and body as JSON: `{"status": 200, "body": "..."}`. A request that fails is a 502 with
//! `{"error": "..."}`; a missing or malformed `url` is a 400.
//!
//! To exercise the host's outbound limits it can also repeat the GET (`&repeat=N`, one after
//! the other), send several at once before reading any (`&together=N`), and follow redirects
//! itself as a browser's `fetch` does (`&follow=1`, up to five hops, each a new request); it
//! answers with the last response.

use std::convert::Infallible;

use serde::Serialize;
use wafer_guest::{Context, Response};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    Fields, FutureIncomingResponse, IncomingBody, IncomingResponse, Method, OutgoingRequest, Scheme,
};
use wasip2::io::streams::StreamError;

/// How much to ask the body stream for at a time.
const READ_CHUNK: u64 = 64 * 1024;

/// Redirects followed with `&follow=1`.
const MAX_REDIRECTS: usize = 5;

#[derive(Serialize)]
struct Upstream {
    status: u16,
    body: String,
    #[serde(skip)]
    location: Option<String>,
}

#[derive(Serialize)]
struct Failure {
    error: String,
}

fn handler(ctx: Context) -> Result<Response, Infallible> {
    let response = match Plan::read(&ctx) {
        Err(error) => ctx.res.json(&Failure { error }).with_status(400),
        Ok(plan) => match plan.run() {
            Ok(upstream) => ctx.res.json(&upstream),
            Err(error) => ctx.res.json(&Failure { error }).with_status(502),
        },
    };
    Ok(response)
}

/// What the query asks for.
struct Plan {
    target: Target,
    repeat: usize,
    together: usize,
    follow: bool,
}

impl Plan {
    fn read(ctx: &Context) -> Result<Self, String> {
        let query = ctx.req.query();
        let url = query.get("url").ok_or("missing ?url=")?;
        let count = |name: &str| -> Result<usize, String> {
            query.get(name).map_or(Ok(1), |n| {
                n.parse()
                    .map_err(|_| format!("?{name}= must be a number, not {n:?}"))
            })
        };
        Ok(Self {
            target: Target::parse(url)?,
            repeat: count("repeat")?,
            together: count("together")?,
            follow: query.get("follow") == Some("1"),
        })
    }

    fn run(&self) -> Result<Upstream, String> {
        let mut last = None;
        for _ in 0..self.repeat {
            let pending: Vec<_> = (0..self.together)
                .map(|_| send(&self.target))
                .collect::<Result<_, _>>()?;
            for request in pending {
                last = Some(receive(request)?);
            }
        }
        let mut upstream = last.ok_or("nothing was requested")?;
        if self.follow {
            for _ in 0..MAX_REDIRECTS {
                let Some(location) = upstream.location.take() else {
                    break;
                };
                upstream = receive(send(&Target::parse(&location)?)?)?;
            }
        }
        Ok(upstream)
    }
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

/// Sends a GET to `target`.
fn send(target: &Target) -> Result<FutureIncomingResponse, String> {
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

    outgoing_handler::handle(request, None).map_err(|err| err.to_string())
}

/// Waits for a sent request's response and reads all of it.
fn receive(pending: FutureIncomingResponse) -> Result<Upstream, String> {
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or("the response is not ready after waiting for it")?
        .map_err(|()| "the response was already taken")?
        .map_err(|err| err.to_string())?;
    let status = response.status();
    let location = (300..400).contains(&status).then(|| {
        let values = response.headers().get("location");
        values
            .first()
            .map(|value| String::from_utf8_lossy(value).into_owned())
    });
    let body = read_body(&response)?;
    Ok(Upstream {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
        location: location.flatten(),
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
