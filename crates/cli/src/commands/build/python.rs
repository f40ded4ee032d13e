//! Python: `guest-sdks/python/build.py` with the SDK's venv, which is created (componentize-py
//! installed) when missing.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

use super::detect::Project;
use super::progress::{Runner, Tool};
use super::{Options, absolute};

pub(super) fn build_python(
    project: &Project,
    options: &Options,
    sdk: &Path,
    runner: &Runner,
) -> anyhow::Result<PathBuf> {
    let python = ensure_componentize_py(sdk, runner)?;
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| project.default_out(&format!("{}.wasm", project.stem())));
    let entrypoint = project
        .entrypoint
        .as_deref()
        .unwrap_or(Path::new("main.py"));
    let mut command = Command::new(&python);
    command
        .current_dir(&project.absolute)
        .arg(sdk.join("build.py"))
        .arg(project.absolute.join(entrypoint))
        .arg("--out")
        .arg(absolute(&out)?);
    let tool = Tool {
        what: "guest-sdks/python/build.py (componentize-py)",
        missing: "The SDK's venv has no Python: remove guest-sdks/python/.venv and build again.",
        js_paths: false,
    };
    runner
        .run(&tool, command, |_| false)?
        .check(runner, &tool)?;
    Ok(out)
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// The SDK's venv with the pinned componentize-py, created as `scripts/build-guests.sh python`
/// does when missing; returns its interpreter.
fn ensure_componentize_py(sdk: &Path, runner: &Runner) -> anyhow::Result<PathBuf> {
    let venv = sdk.join(".venv");
    let python = venv_python(&venv);
    let requirements = sdk.join("requirements.txt");
    // The copy of requirements.txt the venv was last set up with (the script's marker too).
    let marker = venv.join(".wafer-requirements.txt");
    let by_hand = format!(
        "To set it up by hand: python3 -m venv {venv} && {python} -m pip install -r {req}",
        venv = venv.display(),
        python = python.display(),
        req = requirements.display(),
    );
    if !python.is_file() {
        runner.note(&format!(
            "The Python SDK has no venv: creating {} (once).",
            venv.display()
        ));
        let interpreter = std::env::var_os("PYTHON").unwrap_or_else(|| OsString::from("python3"));
        let mut create = Command::new(interpreter);
        create.arg("-m").arg("venv").arg(&venv);
        let tool = Tool {
            what: "python3 -m venv",
            missing: "Python 3.9 or newer is needed (or set PYTHON to an interpreter).",
            js_paths: false,
        };
        runner
            .run(&tool, create, |_| false)?
            .check(runner, &tool)
            .with_context(|| by_hand.clone())?;
    }
    let wanted = fs::read(&requirements)
        .with_context(|| format!("Cannot read {}", requirements.display()))?;
    if fs::read(&marker).ok().as_deref() != Some(wanted.as_slice()) {
        runner.note(&format!(
            "Installing componentize-py into {} (pip install -r requirements.txt; once).",
            venv.display()
        ));
        let mut install = Command::new(&python);
        install
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements);
        let tool = Tool {
            what: "pip install -r guest-sdks/python/requirements.txt",
            missing: "The venv's Python does not run.",
            js_paths: false,
        };
        runner
            .run(&tool, install, |_| false)?
            .check(runner, &tool)
            .with_context(|| by_hand.clone())?;
        fs::write(&marker, &wanted)
            .with_context(|| format!("Cannot write {}", marker.display()))?;
    }
    Ok(python)
}
