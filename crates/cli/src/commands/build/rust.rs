//! Rust: `cargo build --release --target wasm32-wasip2`, and the component cargo reports copied
//! into `DIR/build/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;
use serde_json::Value;

use super::Options;
use super::detect::Project;
use super::progress::{Runner, Tool};
use crate::error::CliError;

pub(super) fn build_rust(
    project: &Project,
    options: &Options,
    runner: &Runner,
) -> anyhow::Result<PathBuf> {
    // `cargo` from PATH (not $CARGO), so that rustup honours the function's rust-toolchain.toml.
    let mut command = Command::new("cargo");
    command.current_dir(&project.absolute).args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--message-format=json-render-diagnostics",
    ]);
    let tool = Tool {
        what: "cargo build --release --target wasm32-wasip2",
        missing: "Install Rust (https://rustup.rs), then `rustup target add wasm32-wasip2`.",
        js_paths: false,
    };
    let mut artifacts = Vec::new();
    runner
        .run(&tool, command, |line| match cdylib_artifact(line) {
            Some(artifact) => {
                artifacts.push(artifact);
                true
            }
            // Cargo's other JSON messages (build scripts, the final status) are not for people.
            None => line.starts_with('{'),
        })?
        .check(runner, &tool)?;
    let manifest = project.absolute.join("Cargo.toml");
    let wasm = pick_artifact(&artifacts, &manifest, &project.dir)?;
    let file_name = wasm.file_name().map_or_else(
        || format!("{}.wasm", project.stem()),
        |name| name.to_string_lossy().into_owned(),
    );
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| project.default_out(&file_name));
    if let Some(parent) = out.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .with_context(|| format!("Cannot create {}", parent.display()))?;
    }
    fs::copy(&wasm, &out)
        .with_context(|| format!("Cannot copy {} to {}", wasm.display(), out.display()))?;
    Ok(out)
}

/// A `.wasm` file cargo built for a `cdylib` target.
#[derive(Debug, PartialEq)]
pub(super) struct Artifact {
    pub(super) manifest_path: PathBuf,
    pub(super) wasm: PathBuf,
}

/// The `.wasm` of a `compiler-artifact` message of `--message-format=json`, if it is a cdylib's.
pub(super) fn cdylib_artifact(line: &str) -> Option<Artifact> {
    if !line.starts_with('{') {
        return None;
    }
    let message: Value = serde_json::from_str(line).ok()?;
    if message.get("reason")?.as_str()? != "compiler-artifact" {
        return None;
    }
    let crate_types = message.pointer("/target/crate_types")?.as_array()?;
    if !crate_types.iter().any(|kind| kind == "cdylib") {
        return None;
    }
    let wasm = message
        .get("filenames")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find(|name| name.ends_with(".wasm"))?;
    Some(Artifact {
        manifest_path: PathBuf::from(message.get("manifest_path")?.as_str()?),
        wasm: PathBuf::from(wasm),
    })
}

/// The component of the package in `manifest`, or the only one cargo built.
pub(super) fn pick_artifact(
    artifacts: &[Artifact],
    manifest: &Path,
    dir: &Path,
) -> anyhow::Result<PathBuf> {
    let same = |path: &Path| path == manifest || path.canonicalize().is_ok_and(|p| p == manifest);
    if let Some(own) = artifacts
        .iter()
        .find(|artifact| same(&artifact.manifest_path))
    {
        return Ok(own.wasm.clone());
    }
    match artifacts {
        [only] => Ok(only.wasm.clone()),
        [] => Err(CliError::Failed(format!(
            "cargo built no component in {}: a function's Cargo.toml needs [lib] crate-type = \
             [\"cdylib\"].",
            dir.display()
        ))
        .into()),
        several => {
            let names: Vec<String> = several
                .iter()
                .map(|artifact| artifact.wasm.display().to_string())
                .collect();
            Err(CliError::Failed(format!(
                "{} builds several components ({}): run `wafer build` in one package's directory.",
                dir.display(),
                names.join(", ")
            ))
            .into())
        }
    }
}
