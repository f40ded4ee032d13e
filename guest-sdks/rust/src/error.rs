//! The SDK's error type.

use std::fmt;

/// A request body that is not the JSON a handler asked for, or a value that cannot be serialized
/// as JSON.
#[derive(Debug)]
pub struct Error {
    /// What was being done, e.g. "request body is not valid JSON".
    context: &'static str,
    source: serde_json::Error,
}

impl Error {
    pub(crate) fn json(context: &'static str, source: serde_json::Error) -> Self {
        Self { context, source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.source)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
