//! The Appwrite starter function: "Hello, World!" for GET, a JSON motto for anything else.
//!
//! `ctx.req` is the request (`method()`, `path()`, `query()`, `headers()`, `body_json()`, …) and
//! `ctx.res` builds the response (`text`, `json`, `binary`, `empty`, `redirect`, then
//! `.with_status(…)` and `.with_header(…)`). `ctx.log(…)` and `ctx.error(…)` write a line to the
//! execution's logs and errors; returning `Err(…)` fails the execution.

use std::convert::Infallible;

use serde::Serialize;
use wafer_guest::{Context, Response};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Motto {
    motto: &'static str,
    learn: &'static str,
    connect: &'static str,
    get_inspired: &'static str,
}

fn handler(ctx: Context) -> Result<Response, Infallible> {
    ctx.log("Hello, Logs!");

    if ctx.req.method() == "GET" {
        return Ok(ctx.res.text("Hello, World!"));
    }

    Ok(ctx.res.json(&Motto {
        motto: "Build like a team of hundreds_",
        learn: "https://appwrite.io/docs",
        connect: "https://appwrite.io/discord",
        get_inspired: "https://builtwith.appwrite.io",
    }))
}

wafer_guest::export_function!(handler);
