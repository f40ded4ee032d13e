//! JavaScript: `node guest-sdks/js/build.mjs`, after `npm ci` in the SDK when componentize-js is
//! not installed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::detect::Project;
use super::progress::{Runner, Tool};
use super::{Options, absolute};

pub(super) fn build_js(
    project: &Project,
    options: &Options,
    sdk: &Path,
    runner: &Runner,
) -> anyhow::Result<PathBuf> {
    ensure_componentize_js(sdk, runner)?;
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| project.default_out(&format!("{}.wasm", project.stem())));
    let entrypoint = project
        .entrypoint
        .as_deref()
        .unwrap_or(Path::new("index.js"));
    let mut command = Command::new(node());
    command
        .current_dir(&project.absolute)
        .arg(sdk.join("build.mjs"))
        .arg(project.absolute.join(entrypoint))
        .arg("--out")
        .arg(absolute(&out)?)
        .arg("--root")
        .arg(&project.absolute);
    let tool = Tool {
        what: "node guest-sdks/js/build.mjs (componentize-js)",
        missing: NODE_MISSING,
        js_paths: true,
    };
    runner
        .run(&tool, command, |_| false)?
        .check(runner, &tool)?;
    Ok(out)
}

const NODE_MISSING: &str = "Node.js 20 or newer is needed: https://nodejs.org.";

fn node() -> OsString {
    std::env::var_os("NODE").unwrap_or_else(|| OsString::from("node"))
}

/// Installs the SDK's pinned componentize-js when it is missing, as `scripts/build-guests.sh js`
/// does.
fn ensure_componentize_js(sdk: &Path, runner: &Runner) -> anyhow::Result<()> {
    let installed = sdk.join("node_modules/@bytecodealliance/componentize-js/package.json");
    if installed.is_file() {
        return Ok(());
    }
    runner.note(&format!(
        "componentize-js is not installed: running `npm ci` in {} (once).",
        sdk.display()
    ));
    let npm = std::env::var_os("NPM").unwrap_or_else(|| OsString::from("npm"));
    let tool = Tool {
        what: "npm ci",
        missing: "npm (with Node.js 20 or newer) is needed: https://nodejs.org.",
        js_paths: false,
    };
    let mut ci = Command::new(&npm);
    ci.current_dir(sdk)
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
    let outcome = runner.run(&tool, ci, |_| false)?;
    if outcome.status.success() {
        return Ok(());
    }
    if outcome
        .transcript
        .iter()
        .any(|line| line.contains("in sync"))
    {
        // A lock written where the registry serves only one platform's optional packages lacks
        // the others and `npm ci` refuses it; `npm install --no-save` installs the same versions.
        let tool = Tool {
            what: "npm install --no-save",
            ..tool
        };
        let mut install = Command::new(&npm);
        install.current_dir(sdk).args([
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]);
        return runner.run(&tool, install, |_| false)?.check(runner, &tool);
    }
    outcome.check(runner, &tool)
}

/// The JavaScript SDK's build names the function's files `fn/…` (its staging directory is mapped
/// to `/`, or shows as `…/wafer-js-XXXXXX/fn/…`): this names them after the function's
/// directory instead.
pub(super) fn js_paths(line: &str, dir: &Path) -> String {
    let dir = dir.join("");
    let dir = dir.to_string_lossy();
    let mut text = String::with_capacity(line.len());
    let mut copied = 0;
    for (at, _) in line.match_indices("fn/") {
        // The path holding this `fn/` starts after the last separator before it.
        let start = line[..at]
            .char_indices()
            .rev()
            .find(|&(_, c)| c.is_whitespace() || matches!(c, '(' | '"' | '\'' | '@' | '['))
            .map_or(0, |(index, c)| index + c.len_utf8());
        let prefix = &line[start..at];
        if start >= copied && (prefix.is_empty() || is_js_stage(prefix)) {
            text.push_str(&line[copied..start]);
            text.push_str(&dir);
            copied = at + "fn/".len();
        }
    }
    text.push_str(&line[copied..]);
    text
}

/// Whether `prefix` is the JavaScript SDK's staging directory, `[…/]wafer-js-XXXXXX/`.
fn is_js_stage(prefix: &str) -> bool {
    let Some(path) = prefix.strip_suffix('/') else {
        return false;
    };
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_prefix("wafer-js-")
        .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()))
}
