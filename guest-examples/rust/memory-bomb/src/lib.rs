//! Misbehaves for tests: allocates 1 MiB after 1 MiB and writes to every page, forever, so only the
//! platform's memory limit can stop it (the failed allocation aborts, which traps).

use std::convert::Infallible;
use std::hint::black_box;

use wafer_guest::{Context, Response};

const CHUNK: usize = 1 << 20;
/// Writing one byte per 4 KiB page makes every page resident, even if zeroed memory were lazy.
const PAGE: usize = 4096;

fn handler(_ctx: Context) -> Result<Response, Infallible> {
    let mut hoard = Vec::new();
    loop {
        let mut chunk = vec![0_u8; CHUNK];
        chunk.iter_mut().step_by(PAGE).for_each(|byte| *byte = 1);
        // `black_box` keeps the optimizer from dropping memory that is never read.
        hoard.push(black_box(chunk));
    }
}

wafer_guest::export_function!(handler);
