//! Answers with the kind of response `?type=` names: `text` (the default), `json`, `html`,
//! `binary`, `empty`, `redirect`, or `error` for a failed execution. `?status=NNN` replaces the
//! status code and `?header=name:value` sets one more header.

use serde::Serialize;
use wafer_guest::{Context, Query, Response, ResponseBuilder};

#[derive(Serialize)]
struct JsonBody {
    r#type: &'static str,
    ok: bool,
}

fn handler(ctx: Context) -> Result<Response, String> {
    let query = ctx.req.query();
    let response = by_type(&ctx.res, query.get("type").unwrap_or("text"))?;
    customize(response, query)
}

fn by_type(res: &ResponseBuilder, kind: &str) -> Result<Response, String> {
    Ok(match kind {
        "text" => res.text("Hello, text!"),
        "json" => res.json(&JsonBody {
            r#type: "json",
            ok: true,
        }),
        "html" => res
            .text("<h1>Hello from wafer</h1>")
            .with_header("content-type", "text/html; charset=utf-8"),
        "binary" => res.binary([0, 1, 2, 3, 255]),
        "empty" => res.empty(),
        "redirect" => res.redirect("https://appwrite.io/"),
        "error" => return Err("requested failure".to_owned()),
        other => return Err(format!("unknown response type {other:?}")),
    })
}

/// Applies `?status=` and `?header=` on top of the chosen response.
fn customize(mut response: Response, query: &Query) -> Result<Response, String> {
    if let Some(status) = query.get("status") {
        let status = status
            .parse()
            .map_err(|_| format!("invalid status {status:?}"))?;
        response = response.with_status(status);
    }
    if let Some(header) = query.get("header") {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("header {header:?} is not name:value"))?;
        response = response.with_header(name.trim(), value.trim());
    }
    Ok(response)
}

wafer_guest::export_function!(handler);
