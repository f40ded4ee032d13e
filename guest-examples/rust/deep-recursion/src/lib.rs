//! Misbehaves for tests: recurses without bound, so the guest exhausts its call stack and traps.

use std::convert::Infallible;
use std::hint::black_box;

use wafer_guest::{Context, Response};

/// Recurses `n` times. The work after each call (not an accumulator the optimizer can fold) keeps
/// it from becoming a loop, and its locals stay in wasm locals, so it is the wasm call stack that
/// runs out rather than the shadow stack in linear memory.
fn descend(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    descend(n - 1).rotate_left(7) ^ n
}

fn handler(ctx: Context) -> Result<Response, Infallible> {
    // `black_box` hides the depth from the optimizer; 2^64 calls never finish.
    let result = descend(black_box(u64::MAX));
    Ok(ctx.res.text(result.to_string()))
}

wafer_guest::export_function!(handler);
