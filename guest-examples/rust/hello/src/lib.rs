//! The Appwrite starter function: "Hello, World!" for GET, a JSON motto for anything else, and
//! one line each in the logs and the errors.

use std::convert::Infallible;

use serde::Serialize;
use wafer_guest::{Context, Response};

/// The starter template's JSON body, fields in the template's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Motto {
    motto: &'static str,
    learn: &'static str,
    connect: &'static str,
    get_inspired: &'static str,
}

const MOTTO: Motto = Motto {
    motto: "Build like a team of hundreds_",
    learn: "https://appwrite.io/docs",
    connect: "https://appwrite.io/discord",
    get_inspired: "https://builtwith.appwrite.io",
};

fn handler(ctx: Context) -> Result<Response, Infallible> {
    ctx.log("Hello, Logs!");
    ctx.error("Hello, Errors!");
    if ctx.req.method() == "GET" {
        Ok(ctx.res.text("Hello, World!"))
    } else {
        Ok(ctx.res.json(&MOTTO))
    }
}

wafer_guest::export_function!(handler);
