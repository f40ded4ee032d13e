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

mod detect;
mod js;
mod progress;
mod python;
mod rust;
#[cfg(test)]
mod tests;

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;

use crate::error::CliError;
use crate::output::{self, outln};
use crate::sdk::{self, Language};

use self::detect::Project;
use self::js::build_js;
use self::progress::Runner;
use self::python::build_python;
use self::rust::build_rust;

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
