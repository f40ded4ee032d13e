//! The failures the CLI reports on its own terms, each with its exit code and a hint at what to
//! do next. Anything else (a file that cannot be read, …) exits with 1.

use std::fmt;

/// Exit codes, as documented in `wafer --help`.
pub mod exit {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const UNREACHABLE: u8 = 3;
    pub const NOT_FOUND: u8 = 4;
    pub const AUTH: u8 = 5;
}

#[derive(Debug)]
pub enum CliError {
    /// The server answered with an Appwrite error (`{message, code, type}`).
    Api {
        status: u16,
        kind: String,
        message: String,
    },
    /// The server did not answer at all.
    Unreachable { endpoint: String, detail: String },
    /// An argument the parser could not check (a header without `:`, an unusable URL, …).
    Usage(String),
    /// No API key was given anywhere.
    NoKey,
    /// The request worked but what it started failed: a build, an execution.
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Api { status: 401, .. } | Self::NoKey => exit::AUTH,
            Self::Api { status: 404, .. } => exit::NOT_FOUND,
            Self::Api { .. } | Self::Failed(_) => exit::FAILURE,
            Self::Unreachable { .. } => exit::UNREACHABLE,
            Self::Usage(_) => exit::USAGE,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }
}

/// What to do about an API error, by its type (or status when the type is unknown).
fn api_hint(status: u16, kind: &str) -> Option<&'static str> {
    match kind {
        "project_not_found" => Some("Check --project / WAFER_PROJECT or `wafer login`."),
        "function_not_found" => Some("See the project's functions with `wafer functions list`."),
        "general_unauthorized_scope" => Some(
            "The key lacks a scope this needs: use a key that has it (`wafer keys create NAME \
             --scope SCOPE`) or the admin key.",
        ),
        "general_route_not_found" => {
            Some("Is --endpoint a wafer server's API URL (ending in /v1)?")
        }
        "general_rate_limit_exceeded" => Some("The server is busy; try again shortly."),
        "function_disabled" => {
            Some("Enable it with `wafer functions update FUNCTION --enabled true`.")
        }
        "deployment_not_found" => Some(
            "Deploy and activate one with `wafer deploy FUNCTION FILE.wasm --activate`; `wafer \
             functions get FUNCTION` shows its deployments.",
        ),
        "build_not_ready" => Some("Wait for the build to finish (`wafer functions get FUNCTION`)."),
        _ if status == 401 => Some("Check --key / WAFER_KEY or `wafer login`."),
        _ => None,
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Api {
                status,
                kind,
                message,
            } => {
                let kind = if kind.is_empty() { "no type" } else { kind };
                if *status == 401 && kind != "general_unauthorized_scope" {
                    write!(f, "The key was refused ({kind}): {message}")?;
                } else {
                    write!(f, "{message} ({kind}, HTTP {status})")?;
                }
                if let Some(hint) = api_hint(*status, kind) {
                    write!(f, "\n{hint}")?;
                }
                Ok(())
            }
            Self::Unreachable { endpoint, detail } => write!(
                f,
                "Cannot reach the wafer server at {endpoint}: {detail}.\nIs `wafer serve` \
                 running? Set --endpoint or WAFER_ENDPOINT (or run `wafer login`)."
            ),
            Self::Usage(message) | Self::Failed(message) => f.write_str(message),
            Self::NoKey => f.write_str(
                "No API key: pass --key, set WAFER_KEY, or save one with `wafer login --key \
                 KEY`.\nThe admin key of project 'default' is printed by the first `wafer serve`.",
            ),
        }
    }
}

impl std::error::Error for CliError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, kind: &str) -> CliError {
        CliError::Api {
            status,
            kind: kind.to_owned(),
            message: "m".to_owned(),
        }
    }

    #[test]
    fn exit_codes_follow_the_kind_of_failure() {
        assert_eq!(api(401, "user_unauthorized").exit_code(), exit::AUTH);
        assert_eq!(api(404, "function_not_found").exit_code(), exit::NOT_FOUND);
        assert_eq!(api(403, "function_disabled").exit_code(), exit::FAILURE);
        assert_eq!(
            api(400, "general_argument_invalid").exit_code(),
            exit::FAILURE
        );
        assert_eq!(CliError::NoKey.exit_code(), exit::AUTH);
        assert_eq!(CliError::usage("x").exit_code(), exit::USAGE);
        let unreachable = CliError::Unreachable {
            endpoint: "http://127.0.0.1:9/v1".into(),
            detail: "refused".into(),
        };
        assert_eq!(unreachable.exit_code(), exit::UNREACHABLE);
    }

    #[test]
    fn a_refused_key_says_what_to_check() {
        let text = api(401, "user_unauthorized").to_string();
        assert!(
            text.starts_with("The key was refused (user_unauthorized): m"),
            "{text}"
        );
        assert!(text.contains("wafer login"), "{text}");
    }
}
