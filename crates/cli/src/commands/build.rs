//! `wafer build [DIR]`: finds the language of a function's directory and builds its component
//! with the guest SDK's toolchain, into `DIR/build/NAME.wasm`. `wafer deploy FUNCTION DIR` builds
//! the same way first.
//!
//! - Rust (`Cargo.toml`): `cargo build --release --target wasm32-wasip2`, and the `.wasm` cargo
//!   reports is copied into `DIR/build/`.
//! - JavaScript (`package.json` or a `.js`/`.mjs` module): `node guest-sdks/js/build.mjs`, after
//!   `npm ci` in the SDK when componentize-js is not installed.
//! - Python (a `.py` module with `main`): `guest-sdks/python/build.py` with the SDK's venv, which
//!   is created (componentize-py installed) when missing.
//!
//! A `wafer.json` (`{"language": "js", "entrypoint": "src/main.js"}`) settles either question.
//! The toolchain's output shows as a spinner's message, and in full when the build fails.

use std::ffi::OsString;
use std::fs;
use std::io::{BufRead as _, BufReader, IsTerminal as _, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use serde_json::Value;

use crate::error::CliError;
use crate::output::{self, outln};
use crate::sdk::{self, Language};
use crate::templates::{self, MANIFEST};

/// The first bytes of a WebAssembly component (magic, then version 0x0d and layer 1).
const COMPONENT_MAGIC: &[u8] = b"\0asm\x0d\0\x01\0";
const WASM_MAGIC: &[u8] = b"\0asm";

/// `wafer build --help`.
pub const LONG_ABOUT: &str = "\
Build a function's directory into a WebAssembly component with its guest SDK's toolchain, and
print the component's path and size. The language comes from DIR/wafer.json
({\"language\": \"rust\" | \"js\" | \"python\", \"entrypoint\": \"FILE\"}), else from the files:

  Cargo.toml                 Rust: cargo build --release --target wasm32-wasip2
  package.json, *.js, *.mjs  JavaScript: node guest-sdks/js/build.mjs (componentize-js;
                             `npm ci` in the SDK first when it is not installed)
  main.py, *.py with main    Python: guest-sdks/python/build.py (componentize-py, in the SDK's
                             venv, created when missing)

The component is DIR/build/NAME.wasm (for Rust, cargo's target/wasm32-wasip2/release/CRATE.wasm
copied there). The toolchain's output shows under a spinner, and in full when the build fails;
--verbose prints it as it comes. The SDKs are found in $WAFER_SDK_DIR (the guest-sdks directory
of a wafer checkout), else next to the sources this wafer was built from.";

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The function's directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Where to write the component [default: DIR/build/NAME.wasm].
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the toolchain's output as it runs (otherwise only when the build fails).
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

pub fn run(args: BuildArgs) -> anyhow::Result<()> {
    let options = Options {
        out: args.out,
        verbose: args.verbose,
        quiet: false,
    };
    let built = build(&args.dir, &options)?;
    outln!("{}", built.summary());
    Ok(())
}

/// How to build.
#[derive(Debug, Default)]
pub struct Options {
    /// Where to write the component instead of `DIR/build/NAME.wasm`.
    pub out: Option<PathBuf>,
    /// Print the toolchain's output as it runs.
    pub verbose: bool,
    /// No spinner (for `--json` output).
    pub quiet: bool,
}

/// A component that was built.
#[derive(Debug)]
pub struct Built {
    /// The component, as the user named its directory.
    pub path: PathBuf,
    pub size: u64,
    pub language: Language,
    pub elapsed: Duration,
}

impl Built {
    pub fn summary(&self) -> String {
        format!(
            "Built {} ({}, {}) in {}.",
            self.path.display(),
            output::bytes(self.size),
            self.language.title(),
            output::duration(self.elapsed.as_secs_f64()),
        )
    }
}

/// Builds the function in `dir` into a component.
pub fn build(dir: &Path, options: &Options) -> anyhow::Result<Built> {
    let project = Project::detect(dir)?;
    let sdk = sdk::sdk_dir(project.language)?;
    let runner = Runner::new(&project, options);
    let started = Instant::now();
    let result = match project.language {
        Language::Rust => build_rust(&project, options, &runner),
        Language::Js => build_js(&project, options, &sdk, &runner),
        Language::Python => build_python(&project, options, &sdk, &runner),
    };
    runner.spinner.finish_and_clear();
    let path = result?;
    let elapsed = started.elapsed();
    check_component(&path)?;
    let size = fs::metadata(&path)
        .with_context(|| format!("Cannot read {}", path.display()))?
        .len();
    Ok(Built {
        path,
        size,
        language: project.language,
        elapsed,
    })
}

/// A function's source directory, as `wafer build` understands it.
#[derive(Debug)]
struct Project {
    /// As the user wrote it (for messages and the output's path).
    dir: PathBuf,
    /// Absolute (for the toolchains, which run in other directories).
    absolute: PathBuf,
    language: Language,
    /// The module to build, relative to `dir` (JavaScript and Python).
    entrypoint: Option<PathBuf>,
}

/// `wafer.json`: what `wafer init` records, and what a person may write to skip detection.
/// Other fields are left alone, for tools that share the file.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    language: Option<String>,
    entrypoint: Option<String>,
}

impl Project {
    fn detect(dir: &Path) -> anyhow::Result<Self> {
        if !dir.is_dir() {
            return Err(CliError::usage(format!(
                "{} is not a directory: give the directory of a function (`wafer init` starts \
                 one).",
                dir.display()
            ))
            .into());
        }
        let absolute = dir
            .canonicalize()
            .with_context(|| format!("Cannot resolve {}", dir.display()))?;
        let manifest = read_manifest(dir)?;
        let language = match &manifest.language {
            Some(key) => Language::from_key(key).ok_or_else(|| {
                CliError::usage(format!(
                    "{}: unknown language \"{key}\" (expected rust, js or python).",
                    dir.join(MANIFEST).display()
                ))
            })?,
            None => detect_language(dir)?,
        };
        let entrypoint = match language {
            Language::Rust => {
                if !dir.join("Cargo.toml").is_file() {
                    return Err(CliError::usage(format!(
                        "{} has no Cargo.toml: a Rust function is a cargo package.",
                        dir.display()
                    ))
                    .into());
                }
                None
            }
            Language::Js | Language::Python => {
                let entrypoint = match &manifest.entrypoint {
                    Some(path) => PathBuf::from(path),
                    None => detect_entrypoint(dir, language)?,
                };
                if !dir.join(&entrypoint).is_file() {
                    return Err(CliError::usage(format!(
                        "The entrypoint {} does not exist.",
                        dir.join(&entrypoint).display()
                    ))
                    .into());
                }
                Some(entrypoint)
            }
        };
        Ok(Self {
            dir: dir.to_owned(),
            absolute,
            language,
            entrypoint,
        })
    }

    /// The component's default name: `DIR/build/<directory name>.wasm`.
    fn default_out(&self, file_name: &str) -> PathBuf {
        self.dir.join("build").join(file_name)
    }

    fn stem(&self) -> String {
        let raw = self
            .absolute
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        templates::package_name(&raw, self.language)
    }
}

fn read_manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Manifest::default());
        }
        Err(error) => {
            return Err(error).with_context(|| format!("Cannot read {}", path.display()));
        }
    };
    serde_json::from_str(&text).map_err(|error| {
        CliError::usage(format!(
            "{} is not valid: {error}. It holds {{\"language\": \"rust\" | \"js\" | \"python\", \
             \"entrypoint\": \"FILE\"}}.",
            path.display()
        ))
        .into()
    })
}

/// The language of a directory without `wafer.json`, from the files it holds.
fn detect_language(dir: &Path) -> anyhow::Result<Language> {
    if dir.join("Cargo.toml").is_file() {
        return Ok(Language::Rust);
    }
    if dir.join("package.json").is_file() || js_entrypoint(dir)?.is_some() {
        return Ok(Language::Js);
    }
    if python_entrypoint(dir)?.is_some() {
        return Ok(Language::Python);
    }
    Err(CliError::usage(format!(
        "Cannot tell which language {} is written in: it has no Cargo.toml (Rust), package.json \
         or .js/.mjs module (JavaScript), nor .py module with a main function (Python).\nStart a \
         function with `wafer init rust|js|python DIR`, or name the language in {}: \
         {{\"language\": \"js\", \"entrypoint\": \"index.js\"}}.",
        dir.display(),
        MANIFEST
    ))
    .into())
}

fn detect_entrypoint(dir: &Path, language: Language) -> anyhow::Result<PathBuf> {
    let found = match language {
        Language::Js => js_entrypoint(dir)?,
        Language::Python => python_entrypoint(dir)?,
        Language::Rust => None,
    };
    found.ok_or_else(|| {
        let expected = match language {
            Language::Js => "package.json's \"main\", index.js, index.mjs, main.js or main.mjs",
            _ => "main.py, or one .py module defining main",
        };
        CliError::usage(format!(
            "{} has no {} module to build: expected {expected}, or an \"entrypoint\" in {}.",
            dir.display(),
            language.title(),
            MANIFEST,
        ))
        .into()
    })
}

/// `package.json`'s `main`, a conventional name, or the directory's only module.
fn js_entrypoint(dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    if let Ok(text) = fs::read_to_string(dir.join("package.json"))
        && let Ok(package) = serde_json::from_str::<Value>(&text)
        && let Some(main) = package.get("main").and_then(Value::as_str)
        && dir.join(main).is_file()
    {
        return Ok(Some(PathBuf::from(main)));
    }
    for name in ["index.js", "index.mjs", "main.js", "main.mjs"] {
        if dir.join(name).is_file() {
            return Ok(Some(PathBuf::from(name)));
        }
    }
    let modules = files_with_extension(dir, &["js", "mjs"])?;
    only_one(dir, modules, "JavaScript modules")
}

/// `main.py`, or the directory's only module that defines `main`.
fn python_entrypoint(dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    if dir.join("main.py").is_file() {
        return Ok(Some(PathBuf::from("main.py")));
    }
    let mut modules = Vec::new();
    for name in files_with_extension(dir, &["py"])? {
        let text = fs::read_to_string(dir.join(&name)).unwrap_or_default();
        let defines_main = text
            .lines()
            .any(|line| line.starts_with("def main(") || line.starts_with("async def main("));
        if defines_main {
            modules.push(name);
        }
    }
    only_one(dir, modules, "Python modules defining main")
}

fn only_one(dir: &Path, mut found: Vec<PathBuf>, what: &str) -> anyhow::Result<Option<PathBuf>> {
    match found.len() {
        0 | 1 => Ok(found.pop()),
        _ => {
            found.sort();
            let names: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
            Err(CliError::usage(format!(
                "{} has several {what} ({}): name the one to build in {MANIFEST}, e.g. \
                 {{\"entrypoint\": \"{}\"}}.",
                dir.display(),
                names.join(", "),
                names[0],
            ))
            .into())
        }
    }
}

/// The names of the files directly in `dir` that end in one of `extensions`.
fn files_with_extension(dir: &Path, extensions: &[&str]) -> anyhow::Result<Vec<PathBuf>> {
    let entries = fs::read_dir(dir).with_context(|| format!("Cannot list {}", dir.display()))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("Cannot list {}", dir.display()))?;
        let path = PathBuf::from(entry.file_name());
        let matches = path
            .extension()
            .and_then(|extension| extension.to_str())
            .is_some_and(|extension| extensions.contains(&extension));
        if matches && entry.file_type().is_ok_and(|kind| kind.is_file()) {
            found.push(path);
        }
    }
    Ok(found)
}

// --- Rust -------------------------------------------------------------------------------------

fn build_rust(project: &Project, options: &Options, runner: &Runner) -> anyhow::Result<PathBuf> {
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
struct Artifact {
    manifest_path: PathBuf,
    wasm: PathBuf,
}

/// The `.wasm` of a `compiler-artifact` message of `--message-format=json`, if it is a cdylib's.
fn cdylib_artifact(line: &str) -> Option<Artifact> {
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
fn pick_artifact(artifacts: &[Artifact], manifest: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
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

// --- JavaScript -------------------------------------------------------------------------------

fn build_js(
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

// --- Python -----------------------------------------------------------------------------------

fn build_python(
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

// --- Running the toolchains -------------------------------------------------------------------

/// A program the build runs, for messages.
#[derive(Clone, Copy)]
struct Tool {
    /// The command, as people would type it.
    what: &'static str,
    /// What to do when the program is not there.
    missing: &'static str,
    /// Its output names the function's files as the JavaScript SDK's build does.
    js_paths: bool,
}

/// Runs toolchain programs under the spinner, keeping their output for when they fail.
struct Runner {
    spinner: ProgressBar,
    verbose: bool,
    /// The function's directory as the user named it, for paths in the tools' messages.
    dir: PathBuf,
}

/// How a program ended, and what it printed.
struct Outcome {
    status: ExitStatus,
    transcript: Vec<String>,
}

impl Runner {
    fn new(project: &Project, options: &Options) -> Self {
        let what = format!(
            "Building {} ({})",
            project.dir.display(),
            project.language.title()
        );
        let spinner = if options.quiet {
            ProgressBar::hidden()
        } else {
            if !std::io::stderr().is_terminal() {
                eprintln!("{what}…");
            }
            let spinner = ProgressBar::new_spinner();
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {prefix} [{elapsed}] {wide_msg}")
            {
                spinner.set_style(style);
            }
            spinner.set_prefix(what);
            spinner.enable_steady_tick(Duration::from_millis(120));
            spinner
        };
        Self {
            spinner,
            verbose: options.verbose,
            dir: project.dir.clone(),
        }
    }

    /// A line for people, above the spinner.
    fn note(&self, text: &str) {
        self.spinner.suspend(|| eprintln!("{text}"));
    }

    /// Runs `command` to its end. Each line of its stdout goes to `take_stdout` first (which
    /// returns whether it used it); the rest, with stderr, is the transcript. Fails only when the
    /// program cannot start.
    fn run(
        &self,
        tool: &Tool,
        mut command: Command,
        mut take_stdout: impl FnMut(&str) -> bool,
    ) -> anyhow::Result<Outcome> {
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| {
                CliError::Failed(format!(
                    "Cannot run {program} ({error}). {missing}",
                    missing = tool.missing
                ))
            })?;
        let stdout = child.stdout.take().context("the program's stdout")?;
        let stderr = child.stderr.take().context("the program's stderr")?;
        let transcript = Mutex::new(Vec::new());
        let keep = |line: String| {
            transcript
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(line);
        };
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for_each_line(stderr, |line| {
                    self.show(tool, &line);
                    keep(line);
                });
            });
            for_each_line(stdout, |line| {
                if !take_stdout(&line) {
                    self.show(tool, &line);
                    keep(line);
                }
            });
        });
        let status = child
            .wait()
            .with_context(|| format!("Waiting for {program}"))?;
        Ok(Outcome {
            status,
            transcript: transcript
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        })
    }

    /// A line of a program's output: the spinner's message, and printed with `--verbose`.
    fn show(&self, tool: &Tool, line: &str) {
        if self.verbose {
            let line = self.readable(tool, line);
            self.spinner.suspend(|| eprintln!("{line}"));
        }
        let trimmed = line.trim();
        if !trimmed.is_empty() {
            self.spinner.set_message(trimmed.to_owned());
        }
    }

    /// A line of a program's output, for people.
    fn readable(&self, tool: &Tool, line: &str) -> String {
        if tool.js_paths {
            js_paths(line, &self.dir)
        } else {
            line.to_owned()
        }
    }
}

/// The JavaScript SDK's build names the function's files `fn/…` (its staging directory is mapped
/// to `/`, or shows as `…/wafer-js-XXXXXX/fn/…`): this names them after the function's
/// directory instead.
fn js_paths(line: &str, dir: &Path) -> String {
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

impl Outcome {
    /// Success, or the program's output on stderr and a failure.
    fn check(self, runner: &Runner, tool: &Tool) -> anyhow::Result<()> {
        if self.status.success() {
            return Ok(());
        }
        runner.spinner.finish_and_clear();
        if !runner.verbose {
            for line in &self.transcript {
                eprintln!("{}", runner.readable(tool, line));
            }
        }
        let status = match self.status.code() {
            Some(code) => format!("exited with status {code}"),
            None => "was killed".to_owned(),
        };
        Err(CliError::Failed(format!(
            "The build of {} failed: `{}` {status}; its output is above.",
            runner.dir.display(),
            tool.what
        ))
        .into())
    }
}

/// Calls `each` with every line `reader` gives (lossy UTF-8, without the line ending).
fn for_each_line(reader: impl Read, mut each: impl FnMut(String)) {
    let mut reader = BufReader::new(reader);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buffer);
                each(line.trim_end_matches(['\n', '\r']).to_owned());
            }
        }
    }
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("Cannot resolve {}", path.display()))
}

/// The build's output must be a component, not a core module or anything else.
fn check_component(path: &Path) -> anyhow::Result<()> {
    let mut head = [0u8; 8];
    let read = fs::File::open(path)
        .and_then(|mut file| file.read(&mut head))
        .with_context(|| format!("Cannot read {}", path.display()))?;
    let head = &head[..read];
    if head == COMPONENT_MAGIC {
        return Ok(());
    }
    let what = if head.starts_with(WASM_MAGIC) {
        "a core WebAssembly module, not a component (is the target wasm32-wasip2?)"
    } else {
        "not WebAssembly"
    };
    Err(CliError::Failed(format!("{} is {what}.", path.display())).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temporary directory");
        for (name, text) in files {
            let path = dir.path().join(name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).expect("creates");
            }
            fs::write(path, text).expect("writes");
        }
        dir
    }

    fn detect(files: &[(&str, &str)]) -> Result<(Language, Option<String>), String> {
        let dir = dir_with(files);
        Project::detect(dir.path())
            .map(|project| {
                let entry = project.entrypoint.map(|path| path.display().to_string());
                (project.language, entry)
            })
            .map_err(|error| error.to_string())
    }

    #[test]
    fn the_language_comes_from_the_files() {
        let rust = detect(&[("Cargo.toml", ""), ("index.js", "")]);
        assert_eq!(rust, Ok((Language::Rust, None)));
        let package = detect(&[
            ("package.json", r#"{"main": "src/app.mjs"}"#),
            ("src/app.mjs", ""),
        ]);
        assert_eq!(package, Ok((Language::Js, Some("src/app.mjs".into()))));
        let js = detect(&[("main.js", ""), ("util.js", "")]);
        assert_eq!(js, Ok((Language::Js, Some("main.js".into()))));
        let lone = detect(&[("handler.mjs", "")]);
        assert_eq!(lone, Ok((Language::Js, Some("handler.mjs".into()))));
        let python = detect(&[
            ("util.py", "x = 1\n"),
            ("app.py", "def main(context):\n  pass\n"),
        ]);
        assert_eq!(python, Ok((Language::Python, Some("app.py".into()))));
    }

    #[test]
    fn wafer_json_settles_the_language_and_the_entrypoint() {
        let files = [
            (
                "wafer.json",
                r#"{"language": "python", "entrypoint": "src/fn.py"}"#,
            ),
            ("src/fn.py", "def main(context): pass\n"),
            ("index.js", ""),
        ];
        assert_eq!(
            detect(&files),
            Ok((Language::Python, Some("src/fn.py".into())))
        );
        let missing = detect(&[("wafer.json", r#"{"language": "js", "entrypoint": "no.js"}"#)]);
        assert!(missing.is_err_and(|error| error.contains("no.js")));
        let unknown = detect(&[("wafer.json", r#"{"language": "cobol"}"#)]);
        assert!(unknown.is_err_and(|error| error.contains("unknown language \"cobol\"")));
        let bad = detect(&[("wafer.json", r#"{"language": "js",}"#)]);
        assert!(bad.is_err_and(|error| error.contains("is not valid")));
    }

    #[test]
    fn an_unknown_or_ambiguous_directory_says_what_it_expects() {
        let empty = detect(&[("README.md", "")]).expect_err("no language");
        assert!(empty.contains("Cannot tell which language"), "{empty}");
        assert!(empty.contains("wafer init"), "{empty}");
        let two = detect(&[
            ("a.py", "def main(c): pass\n"),
            ("b.py", "async def main(c): pass\n"),
        ]);
        let two = two.expect_err("ambiguous");
        assert!(two.contains("a.py, b.py"), "{two}");
        let not_a_dir = Project::detect(Path::new("/nonexistent/wafer")).expect_err("missing");
        assert!(not_a_dir.to_string().contains("is not a directory"));
    }

    #[test]
    fn cargo_messages_name_the_component() {
        let line = r#"{"reason":"compiler-artifact","manifest_path":"/f/Cargo.toml","target":{"kind":["cdylib"],"crate_types":["cdylib"],"name":"f"},"filenames":["/t/wasm32-wasip2/release/f.wasm"]}"#;
        assert_eq!(
            cdylib_artifact(line),
            Some(Artifact {
                manifest_path: "/f/Cargo.toml".into(),
                wasm: "/t/wasm32-wasip2/release/f.wasm".into(),
            })
        );
        let rlib = r#"{"reason":"compiler-artifact","manifest_path":"/s/Cargo.toml","target":{"crate_types":["lib"]},"filenames":["/t/libs.rlib"]}"#;
        assert_eq!(cdylib_artifact(rlib), None);
        assert_eq!(
            cdylib_artifact(r#"{"reason":"build-finished","success":true}"#),
            None
        );
        assert_eq!(cdylib_artifact("   Compiling f v0.1.0"), None);

        let artifact = |manifest: &str, wasm: &str| Artifact {
            manifest_path: manifest.into(),
            wasm: wasm.into(),
        };
        let both = [
            artifact("/a/Cargo.toml", "/t/a.wasm"),
            artifact("/b/Cargo.toml", "/t/b.wasm"),
        ];
        let dir = Path::new("/b");
        assert_eq!(
            pick_artifact(&both, Path::new("/b/Cargo.toml"), dir).ok(),
            Some(PathBuf::from("/t/b.wasm"))
        );
        assert!(pick_artifact(&both, Path::new("/w/Cargo.toml"), dir).is_err());
        assert!(pick_artifact(&[], Path::new("/w/Cargo.toml"), dir).is_err());
    }

    #[test]
    fn messages_name_the_users_files_not_the_staging_directory() {
        let dir = Path::new("hello");
        let cases = [
            (
                "fn/index.js:12:3 SyntaxError: missing )",
                "hello/index.js:12:3 SyntaxError: missing )",
            ),
            ("wafer-js-PhJavL/fn/index.js:3:1 ^", "hello/index.js:3:1 ^"),
            (
                "at main (/tmp/wafer-js-abc123/fn/lib/a.js:1:2) and fn/b.js",
                "at main (hello/lib/a.js:1:2) and hello/b.js",
            ),
            (
                "see src/fn/x.js or wafer-js-/fn/y",
                "see src/fn/x.js or wafer-js-/fn/y",
            ),
            ("plain", "plain"),
        ];
        for (line, readable) in cases {
            assert_eq!(js_paths(line, dir), readable);
        }
    }

    #[test]
    fn only_components_pass() {
        let dir = dir_with(&[]);
        let check = |bytes: &[u8]| {
            let path = dir.path().join("x.wasm");
            fs::write(&path, bytes).expect("writes");
            check_component(&path).map_err(|error| error.to_string())
        };
        assert!(check(COMPONENT_MAGIC).is_ok());
        assert!(check(b"\0asm\x01\0\0\0").is_err_and(|error| error.contains("core")));
        assert!(check(b"").is_err_and(|error| error.contains("not WebAssembly")));
    }
}
