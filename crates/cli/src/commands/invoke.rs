//! `wafer invoke FUNCTION`: runs a function through the API and prints its response body (or,
//! with `--async`, the execution's ID).

use std::io::Read as _;

use anyhow::Context as _;
use clap::Args;
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::error::CliError;
use crate::models::{self, Execution};
use crate::output::{self, outln};

#[derive(Args, Debug)]
pub struct InvokeArgs {
    /// Function ID.
    pub function: String,
    /// HTTP method the function sees [default: GET, or POST with --body].
    #[arg(long, short = 'X')]
    pub method: Option<String>,
    /// Path (and query) the function sees.
    #[arg(long, default_value = "/")]
    pub path: String,
    /// A request header, `Name: value`; repeat for several.
    #[arg(long = "header", short = 'H', value_name = "NAME:VALUE")]
    pub headers: Vec<String>,
    /// Request body: text, `@FILE` for a file's content, or `@-` for stdin.
    #[arg(long, short = 'd')]
    pub body: Option<String>,
    /// Queue the execution and print its ID instead of waiting.
    #[arg(long = "async")]
    pub run_async: bool,
}

pub async fn run(args: InvokeArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let request = request_body(&args)?;
    let record = ctx
        .client
        .post(&["functions", &args.function, "executions"], &request)
        .await?;
    let execution: Execution = models::parse(&record)?;
    if ctx.json {
        output::json(&record)?;
    } else if args.run_async {
        outln!("{}", execution.id);
    } else {
        output::raw(&execution.response_body)?;
    }
    if execution.status == "failed" {
        if !ctx.json {
            print_errors(&execution);
        }
        return Err(CliError::Failed(format!(
            "Execution {} failed (status code {}); see `wafer logs {}`.",
            execution.id, execution.response_status_code, args.function
        ))
        .into());
    }
    Ok(())
}

/// The createExecution body.
fn request_body(args: &InvokeArgs) -> anyhow::Result<Value> {
    let body = args.body.as_deref().map(read_body).transpose()?;
    let method = match &args.method {
        Some(method) => method.to_ascii_uppercase(),
        None if body.is_some() => "POST".to_owned(),
        None => "GET".to_owned(),
    };
    let mut headers = Map::new();
    for raw in &args.headers {
        let (name, value) = parse_header(raw)?;
        headers.insert(name, json!(value));
    }
    Ok(json!({
        "method": method,
        "path": args.path,
        "headers": headers,
        "body": body.unwrap_or_default(),
        "async": args.run_async,
    }))
}

/// `Name: value` → (`name`, `value`).
fn parse_header(raw: &str) -> Result<(String, String), CliError> {
    match raw.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        }
        _ => Err(CliError::usage(format!(
            "The header '{raw}' is not `Name: value`."
        ))),
    }
}

/// `--body` as given, or the content of `@FILE` / `@-`.
fn read_body(raw: &str) -> anyhow::Result<String> {
    match raw.strip_prefix('@') {
        None => Ok(raw.to_owned()),
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the body from stdin (it must be UTF-8 text)")?;
            Ok(text)
        }
        Some(path) => std::fs::read_to_string(path).map_err(|error| {
            CliError::usage(format!(
                "Cannot read the body from {path}: {error} (the body must be UTF-8 text)."
            ))
            .into()
        }),
    }
}

fn print_errors(execution: &Execution) {
    let errors = execution.errors.trim_end();
    if !errors.is_empty() {
        eprintln!("{errors}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(body: Option<&str>, headers: &[&str]) -> InvokeArgs {
        InvokeArgs {
            function: "hello".into(),
            method: None,
            path: "/".into(),
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            body: body.map(str::to_owned),
            run_async: false,
        }
    }

    #[test]
    fn the_method_follows_the_body_like_curl() {
        let get = request_body(&args(None, &[])).expect("valid");
        assert_eq!(get["method"], "GET");
        assert_eq!(get["body"], "");
        let post = request_body(&args(Some("hi"), &["Content-Type: text/plain"])).expect("valid");
        assert_eq!(post["method"], "POST");
        assert_eq!(post["headers"], json!({"content-type": "text/plain"}));
    }

    #[test]
    fn a_body_is_text_or_a_file_after_an_at_sign() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("body.json");
        std::fs::write(&path, "{\"a\":1}").expect("writes");
        let from_file = format!("@{}", path.display());
        assert_eq!(read_body(&from_file).expect("reads"), "{\"a\":1}");
        assert_eq!(read_body("plain").expect("as is"), "plain");
        assert!(read_body("@/no/such/file").is_err());
    }

    #[test]
    fn a_header_needs_a_colon_and_a_name() {
        assert!(parse_header("x-a:b").is_ok());
        assert!(parse_header("x-a").is_err());
        assert!(parse_header(": b").is_err());
    }
}
