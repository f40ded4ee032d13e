//! Writes one line to stdout and one to stderr, which the platform captures as logs and errors.

use std::convert::Infallible;

use wafer_guest::{Context, Response};

fn handler(ctx: Context) -> Result<Response, Infallible> {
    println!("to stdout");
    eprintln!("to stderr");
    Ok(ctx.res.text("ok"))
}

wafer_guest::export_function!(handler);
