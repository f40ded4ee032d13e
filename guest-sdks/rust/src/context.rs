//! The value a handler receives, and the host's logging services.

use std::fmt::Display;

use crate::bindings::wafer::function::context as host;
use crate::{Request, ResponseBuilder};

/// Everything a handler gets for one invocation: the request and a response builder.
///
/// The fields are public so a handler can take them apart (`let Context { req, res } = ctx;`).
#[derive(Debug)]
pub struct Context {
    /// The incoming request.
    pub req: Request,
    /// Builds the response the handler returns.
    pub res: ResponseBuilder,
}

impl Context {
    pub(crate) fn new(req: Request) -> Self {
        Self {
            req,
            res: ResponseBuilder::new(),
        }
    }

    /// Appends a line to the execution's logs. Same as [`log`].
    pub fn log(&self, message: impl Display) {
        log(message);
    }

    /// Appends a line to the execution's errors. Same as [`error`].
    pub fn error(&self, message: impl Display) {
        error(message);
    }
}

/// Appends a line to the execution's logs.
pub fn log(message: impl Display) {
    host::log(&message.to_string());
}

/// Appends a line to the execution's errors.
pub fn error(message: impl Display) {
    host::error(&message.to_string());
}
