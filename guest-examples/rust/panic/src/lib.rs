//! Misbehaves for tests: panics, which traps the component; the standard panic hook writes the
//! message to stderr first.

use std::convert::Infallible;

use wafer_guest::{Context, Response};

fn handler(_ctx: Context) -> Result<Response, Infallible> {
    panic!("guest panicked on purpose");
}

wafer_guest::export_function!(handler);
