//! Answers with everything it was given, as JSON, so tests can see the request a guest receives.

use std::collections::BTreeMap;
use std::convert::Infallible;

use serde::Serialize;
use wafer_guest::{Context, Pairs, Request, Response};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Echo<'a> {
    method: &'a str,
    scheme: &'a str,
    host: &'a str,
    port: u16,
    path: &'a str,
    query_string: &'a str,
    query: BTreeMap<&'a str, &'a str>,
    url: String,
    headers: BTreeMap<&'a str, &'a str>,
    body: String,
}

impl<'a> Echo<'a> {
    fn new(req: &'a Request) -> Self {
        Self {
            method: req.method(),
            scheme: req.scheme(),
            host: req.host(),
            port: req.port(),
            path: req.path(),
            query_string: req.query_string(),
            query: first_values(req.query().iter()),
            url: req.url(),
            headers: first_values(req.headers().iter()),
            body: req.body_text(),
        }
    }
}

/// A JSON object needs one value per name: keep the first, as `get` does.
fn first_values(pairs: Pairs<'_>) -> BTreeMap<&str, &str> {
    let mut map = BTreeMap::new();
    for (name, value) in pairs {
        map.entry(name).or_insert(value);
    }
    map
}

fn handler(ctx: Context) -> Result<Response, Infallible> {
    ctx.log(format_args!("echo {} {}", ctx.req.method(), ctx.req.path()));
    Ok(ctx.res.json(&Echo::new(&ctx.req)))
}

wafer_guest::export_function!(handler);
