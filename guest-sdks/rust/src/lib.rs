//! Write wafer functions in Rust.
//!
//! A wafer function is a WebAssembly component (target `wasm32-wasip2`) that exports the
//! `wafer:function/handler` interface. This crate hides the generated bindings behind an API shaped
//! like Appwrite's function context: a handler receives a [`Context`] holding the request
//! ([`Context::req`]) and a response builder ([`Context::res`]), and returns a [`Response`].
//!
//! # Example
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! wafer-guest = { path = "../guest-sdks/rust" }
//! serde = { version = "1", features = ["derive"] }
//! ```
//!
//! `src/lib.rs`:
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use wafer_guest::{Context, Response};
//!
//! #[derive(Deserialize)]
//! struct Greeting {
//!     name: String,
//! }
//!
//! #[derive(Serialize)]
//! struct Reply {
//!     message: String,
//! }
//!
//! fn handler(ctx: Context) -> Result<Response, wafer_guest::Error> {
//!     ctx.log(format_args!("{} {}", ctx.req.method(), ctx.req.url()));
//!     match ctx.req.method() {
//!         "GET" => {
//!             let name = ctx.req.query().get("name").unwrap_or("World");
//!             Ok(ctx.res.text(format!("Hello, {name}!")))
//!         }
//!         "POST" => {
//!             // A body that is not valid JSON fails the execution with the parse error.
//!             let greeting: Greeting = ctx.req.body_json()?;
//!             let reply = Reply { message: format!("Hello, {}!", greeting.name) };
//!             Ok(ctx.res.json(&reply).with_status(201).with_header("x-greeted", greeting.name))
//!         }
//!         _ => Ok(ctx.res.empty().with_status(405).with_header("allow", "GET, POST")),
//!     }
//! }
//!
//! wafer_guest::export_function!(handler);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`; the component is
//! `target/wasm32-wasip2/release/<crate_name>.wasm`.
//!
//! # Failures
//!
//! - Returning `Err(e)` fails the execution: status 500, with `e.to_string()` in its errors.
//! - A panic traps the component; the host reports the trap (and the panic message, which the
//!   standard panic hook writes to stderr).
//!
//! # Logging
//!
//! [`log`] and [`error`] (also available as [`Context::log`] and [`Context::error`]) append a line
//! to the execution's logs or errors. Anything written to stdout and stderr is captured as well.
//!
//! # WASI
//!
//! Functions may use the standard library's environment (`std::env::vars`), clocks, randomness,
//! stdout/stderr, and make outgoing HTTP requests with `wasi:http`. There is no filesystem and no
//! sockets.

mod context;
mod error;
mod request;
mod response;

pub use context::{Context, error, log};
pub use error::Error;
pub use request::{Headers, Pairs, Query, Request};
pub use response::{Response, ResponseBuilder};

/// The bindings generated from `wit/function.wit`. Public only so that [`export_function!`] can
/// reach them from the function's crate.
#[doc(hidden)]
pub mod bindings {
    // `generate_all` because the world imports WASI interfaces, which need bindings generated or
    // mapped; nothing here calls them, so they add no imports to a component.
    wit_bindgen::generate!({
        path: "../../wit",
        world: "function",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "__export_wafer_function",
        default_bindings_module: "wafer_guest::bindings",
    });
}

/// Exports a handler as the component's `wafer:function/handler`.
///
/// The handler is any function or closure `FnOnce(Context) -> Result<Response, E>` where
/// `E: Display`; an `Err` becomes a failed execution carrying the error's text. Invoke the macro
/// once, at the root of a `cdylib` crate:
///
/// ```no_run
/// use wafer_guest::{Context, Response};
///
/// fn handler(ctx: Context) -> Result<Response, String> {
///     Ok(ctx.res.text("Hello, World!"))
/// }
///
/// wafer_guest::export_function!(handler);
/// ```
#[macro_export]
macro_rules! export_function {
    ($handler:expr $(,)?) => {
        const _: () = {
            struct WaferFunction;

            impl $crate::__private::Guest for WaferFunction {
                fn handle(
                    req: $crate::__private::WitRequest,
                ) -> ::core::result::Result<$crate::__private::WitResponse, ::std::string::String>
                {
                    $crate::__private::handle(req, $handler)
                }
            }

            $crate::bindings::__export_wafer_function!(
                WaferFunction with_types_in $crate::bindings
            );
        };
    };
}

/// Support for [`export_function!`]; not part of the public API.
#[doc(hidden)]
pub mod __private {
    use std::fmt::Display;

    pub use crate::bindings::exports::wafer::function::handler::Guest;
    pub use crate::bindings::wafer::function::types::{
        Request as WitRequest, Response as WitResponse,
    };
    use crate::{Context, Request, Response};

    /// Runs `handler` on one invocation and converts its outcome into the WIT result.
    pub fn handle<E: Display>(
        req: WitRequest,
        handler: impl FnOnce(Context) -> Result<Response, E>,
    ) -> Result<WitResponse, String> {
        handler(Context::new(Request::from(req)))
            .map(WitResponse::from)
            .map_err(|err| err.to_string())
    }
}
