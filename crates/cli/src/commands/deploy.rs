//! `wafer deploy FUNCTION FILE|DIR`: builds a function's directory first (as `wafer build`),
//! creates the function when it is missing, uploads the component (in 5 MiB chunks, as the SDKs
//! do, when it is larger), follows the build, and says where the function answers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use super::Ctx;
use super::build;
use super::functions::{self, Settings};
use crate::error::CliError;
use crate::models::{self, Deployment, Function};
use crate::output::{self, outln};

/// The SDKs' chunk size; a file up to this size goes in one request.
pub const CHUNK_SIZE: usize = 5 * 1024 * 1024;
const POLL_INTERVAL: Duration = Duration::from_millis(250);
const BUILD_DEADLINE: Duration = Duration::from_secs(15 * 60);

#[derive(Args, Debug)]
pub struct DeployArgs {
    /// Function ID; the function is created when it does not exist.
    pub function: String,
    /// A WASI 0.2 component (.wasm), a .tar.gz holding one, or a function's directory (built
    /// first, as `wafer build DIR` does).
    #[arg(value_name = "FILE|DIR")]
    pub file: PathBuf,
    /// Make the deployment active once it is built (otherwise the active one stays).
    #[arg(long)]
    pub activate: bool,
    /// Runtime of a function created here [default: the directory's language's, e.g.
    /// javascript-wasi-0.2, else wasi-0.2].
    #[arg(long)]
    pub runtime: Option<String>,
    /// Name of a function created here [default: its ID].
    #[arg(long)]
    pub name: Option<String>,
    /// Let anyone run the function, on its own URLs too (its execute roles get `any`).
    #[arg(long)]
    pub public: bool,
    /// The component's entrypoint inside a .tar.gz.
    #[arg(long)]
    pub entrypoint: Option<String>,
}

pub async fn run(mut args: DeployArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let file = if args.file.is_dir() {
        let built = build_first(ctx, args.file.clone()).await?;
        args.runtime
            .get_or_insert_with(|| built.language.runtime().to_owned());
        built.path
    } else {
        args.file.clone()
    };
    let code = read_code(&file)?;
    let function = ensure_function(ctx, &args).await?;
    let file_name = file_name(&file);
    let uploaded = upload(ctx, &args, &file_name, &code).await?;
    let deployment_id = models::parse::<Deployment>(&uploaded)?.id;
    let record = follow_build(ctx, &args.function, &deployment_id).await?;
    let deployment: Deployment = models::parse(&record)?;
    if ctx.json {
        output::json(&record)?;
    } else {
        report(ctx, &function, &deployment)?;
    }
    ensure_ready(ctx, &deployment)
}

/// Builds a function's directory (off the async runtime) and says what it built.
async fn build_first(ctx: &Ctx, dir: PathBuf) -> anyhow::Result<build::Built> {
    let options = build::Options {
        quiet: ctx.json,
        ..build::Options::default()
    };
    let built = tokio::task::spawn_blocking(move || build::build(&dir, &options)).await??;
    if !ctx.json {
        eprintln!("{}", built.summary());
    }
    Ok(built)
}

/// A build that did not end `ready` is a failure; people get its logs on stderr.
fn ensure_ready(ctx: &Ctx, deployment: &Deployment) -> anyhow::Result<()> {
    let outcome = match deployment.status.as_str() {
        "ready" => return Ok(()),
        "failed" if ctx.json => "failed (see `buildLogs`)".to_owned(),
        "failed" => {
            print_build_logs(deployment);
            "failed; its logs are above".to_owned()
        }
        other => format!("ended as {other}"),
    };
    Err(CliError::Failed(format!(
        "The build of deployment {} {outcome}.",
        deployment.id
    ))
    .into())
}

fn read_code(path: &Path) -> anyhow::Result<Vec<u8>> {
    let code = std::fs::read(path)
        .map_err(|error| CliError::usage(format!("Cannot read {}: {error}.", path.display())))?;
    // Checked here too so that a wrong file does not leave a new function behind.
    let wasm = code.starts_with(b"\0asm");
    let gzip = code.starts_with(&[0x1f, 0x8b]);
    if !wasm && !gzip {
        return Err(CliError::usage(format!(
            "{} is neither a WebAssembly component (.wasm) nor a .tar.gz holding one.",
            path.display()
        ))
        .into());
    }
    Ok(code)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "code.wasm".to_owned())
}

/// The function, created when missing and made public when `--public` asks for it.
async fn ensure_function(ctx: &Ctx, args: &DeployArgs) -> anyhow::Result<Function> {
    let settings = Settings {
        name: args.name.clone(),
        runtime: args.runtime.clone(),
        public: args.public,
        ..Settings::default()
    };
    match functions::get(ctx, &args.function).await {
        Ok(record) => {
            let function: Function = models::parse(&record)?;
            if args.public && !function.is_public() {
                let public = Settings {
                    public: true,
                    ..Settings::default()
                };
                let updated = functions::update(ctx, &args.function, &public, false).await?;
                return models::parse(&updated);
            }
            Ok(function)
        }
        Err(error) if is_not_found(&error) => {
            let created = functions::create(ctx, &args.function, &settings).await?;
            let function: Function = models::parse(&created)?;
            if !ctx.json {
                eprintln!("Created function {} ({}).", function.id, function.runtime);
            }
            Ok(function)
        }
        Err(error) => Err(error),
    }
}

fn is_not_found(error: &anyhow::Error) -> bool {
    matches!(
        error.downcast_ref::<CliError>(),
        Some(CliError::Api { kind, .. }) if kind == "function_not_found"
    )
}

/// Sends the file: one request up to 5 MiB, else 5 MiB chunks with `Content-Range`, the first
/// creating the deployment and the others naming it in `x-appwrite-id`. Returns the last answer.
async fn upload(
    ctx: &Ctx,
    args: &DeployArgs,
    file_name: &str,
    code: &[u8],
) -> anyhow::Result<Value> {
    let total = code.len();
    let bar = progress_bar(ctx, total as u64);
    let mut upload_id: Option<String> = None;
    let mut answer = Value::Null;
    for (index, chunk) in code.chunks(CHUNK_SIZE).enumerate() {
        let start = index * CHUNK_SIZE;
        let mut request = ctx
            .client
            .request(Method::POST, &["functions", &args.function, "deployments"])
            .multipart(form(args, file_name, chunk)?);
        if total > CHUNK_SIZE {
            let end = start + chunk.len() - 1;
            request = request.header("content-range", format!("bytes {start}-{end}/{total}"));
        }
        if let Some(id) = &upload_id {
            request = request.header("x-appwrite-id", id);
        }
        answer = ctx
            .client
            .send(request)
            .await
            .inspect_err(|_| bar.abandon())?;
        if upload_id.is_none() {
            upload_id = Some(models::parse::<Deployment>(&answer)?.id);
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(answer)
}

/// The form fields every chunk repeats.
fn form(args: &DeployArgs, file_name: &str, chunk: &[u8]) -> anyhow::Result<Form> {
    let part = Part::bytes(chunk.to_vec())
        .file_name(file_name.to_owned())
        .mime_str("application/octet-stream")?;
    let mut form = Form::new()
        .part("code", part)
        .text("activate", args.activate.to_string());
    if let Some(entrypoint) = &args.entrypoint {
        form = form.text("entrypoint", entrypoint.clone());
    }
    Ok(form)
}

/// An upload bar on stderr; hidden for `--json` and when stderr is not a terminal.
fn progress_bar(ctx: &Ctx, total: u64) -> ProgressBar {
    if ctx.json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "Uploading {bar:30} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Polls the deployment until its build is over, and returns its record.
async fn follow_build(ctx: &Ctx, function_id: &str, deployment_id: &str) -> anyhow::Result<Value> {
    let spinner = if ctx.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    spinner.enable_steady_tick(Duration::from_millis(120));
    let started = Instant::now();
    let path = ["functions", function_id, "deployments", deployment_id];
    loop {
        let record = ctx
            .client
            .get(&path, &[])
            .await
            .inspect_err(|_| spinner.abandon())?;
        let deployment: Deployment = models::parse(&record)?;
        if deployment.is_final() {
            spinner.finish_and_clear();
            return Ok(record);
        }
        spinner.set_message(format!(
            "Building deployment {deployment_id}: {}",
            deployment.status
        ));
        if started.elapsed() > BUILD_DEADLINE {
            spinner.abandon();
            return Err(CliError::Failed(format!(
                "Deployment {deployment_id} is still {} after {} minutes; follow it with `wafer \
                 functions get {function_id}`.",
                deployment.status,
                BUILD_DEADLINE.as_secs() / 60
            ))
            .into());
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

fn print_build_logs(deployment: &Deployment) {
    let logs = deployment.build_logs.trim_end();
    if !logs.is_empty() {
        eprintln!("Build logs:");
        for line in logs.lines() {
            eprintln!("  {line}");
        }
    }
}

/// The outcome for people: the deployment, whether it is active, and the function's URLs.
fn report(ctx: &Ctx, function: &Function, deployment: &Deployment) -> anyhow::Result<()> {
    if deployment.status != "ready" {
        outln!("Deployment {} {}.", deployment.id, deployment.status);
        return Ok(());
    }
    let took = if deployment.build_duration < 1.0 {
        "under a second".to_owned()
    } else {
        output::duration(deployment.build_duration)
    };
    outln!(
        "Deployment {} is ready (built in {took}; {} uploaded, {} compiled).",
        deployment.id,
        output::bytes(deployment.source_size),
        output::bytes(deployment.build_size),
    );
    if deployment.activate {
        outln!("It is the active deployment of {}.", function.id);
    } else {
        outln!(
            "It is not active; deploy with --activate to make it serve {}.",
            function.id
        );
    }
    let [by_path, by_host] =
        output::function_urls(ctx.client.endpoint(), &function.id, &output::base_domain());
    outln!("Invoke:  wafer invoke {}", function.id);
    if function.is_public() {
        outln!("URLs:    {by_path}");
        outln!("         {by_host}");
    } else {
        outln!(
            "URLs:    {by_path} (once public: `wafer functions update {} --public`)",
            function.id
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_components_and_gzip_archives_are_uploaded() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let check = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).expect("writes");
            read_code(&path).is_ok()
        };
        assert!(check("a.wasm", b"\0asm\x0d\0\x01\0"));
        assert!(check("a.tar.gz", &[0x1f, 0x8b, 8, 0]));
        assert!(!check("a.txt", b"fn main() {}"));
        assert!(!check("empty.wasm", b""));
        assert!(read_code(&dir.path().join("missing.wasm")).is_err());
    }

    #[test]
    fn file_names_come_from_the_path() {
        assert_eq!(file_name(Path::new("target/hello.wasm")), "hello.wasm");
        assert_eq!(file_name(Path::new("/")), "code.wasm");
    }
}
