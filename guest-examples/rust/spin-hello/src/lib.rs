//! A component built with the Spin Rust SDK, unchanged from how Spin's guide writes one: wafer
//! runs it as a `wasi:http/proxy` function (runtime `wasi-http-0.2`).

use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn hello(request: Request) -> impl IntoResponse {
    Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body(format!(
            "Hello from the Spin SDK: {} {}",
            request.method(),
            request.path_and_query().unwrap_or_default()
        ))
        .build()
}
