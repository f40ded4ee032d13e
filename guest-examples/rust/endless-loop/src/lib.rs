//! Misbehaves for tests: spins forever without calling the host, so only the platform's CPU and
//! wall-clock limits can stop it.

use std::convert::Infallible;
use std::hint::black_box;

use wafer_guest::{Context, Response};

fn handler(_ctx: Context) -> Result<Response, Infallible> {
    let mut spins = 0_u64;
    loop {
        // `black_box` keeps the optimizer from removing the loop body (and so the loop).
        spins = black_box(spins.wrapping_add(1));
    }
}

wafer_guest::export_function!(handler);
