//! Misbehaves for tests: answers with `?bytes=N` bytes of `x` (20 MiB by default), to exceed the
//! platform's response size limit.

use wafer_guest::{Context, Response};

const DEFAULT_BYTES: usize = 20 * 1024 * 1024;

fn handler(ctx: Context) -> Result<Response, String> {
    let bytes = match ctx.req.query().get("bytes") {
        None => DEFAULT_BYTES,
        Some(bytes) => bytes
            .parse()
            .map_err(|err| format!("invalid bytes {bytes:?}: {err}"))?,
    };
    Ok(ctx.res.send(vec![b'x'; bytes]))
}

wafer_guest::export_function!(handler);
