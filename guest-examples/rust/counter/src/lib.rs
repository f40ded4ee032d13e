//! Counts its calls in a global, so a test can see whether an instance's state outlived a call:
//! a fresh instance per invocation always answers 1. `?spin` then loops forever (for fuel and
//! timeouts), `?grow=<MiB>` allocates that much, and `?trap` panics, each after counting.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};

use wafer_guest::{Context, Response};

static CALLS: AtomicU64 = AtomicU64::new(0);

fn handler(ctx: Context) -> Result<Response, Infallible> {
    let calls = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
    let query = ctx.req.query();
    if query.contains("spin") {
        let mut n: u64 = calls;
        loop {
            n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    if let Some(mib) = query.get("grow").and_then(|m| m.parse::<usize>().ok()) {
        let block = vec![1u8; mib << 20];
        std::hint::black_box(&block);
    }
    if query.contains("trap") {
        panic!("trap requested after call {calls}");
    }
    Ok(ctx.res.text(calls.to_string()))
}

wafer_guest::export_function!(handler);
