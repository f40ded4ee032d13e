//! Answers with the environment the function was given, so tests can check what a guest sees.

use std::collections::BTreeMap;
use std::convert::Infallible;

use serde::Serialize;
use wafer_guest::{Context, Response};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Environment {
    /// `APPWRITE_FUNCTION_ID`, or `null` when it is not set.
    function_id: Option<String>,
    env: BTreeMap<String, String>,
}

fn handler(ctx: Context) -> Result<Response, Infallible> {
    // WASI environment entries are WIT strings, so `vars` (which panics on non-UTF-8) is safe.
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let function_id = env.get("APPWRITE_FUNCTION_ID").cloned();
    Ok(ctx.res.json(&Environment { function_id, env }))
}

wafer_guest::export_function!(handler);
