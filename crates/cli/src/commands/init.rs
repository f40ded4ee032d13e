//! `wafer init LANGUAGE DIR`: writes a ready-to-build function from a guest SDK's template.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;

use crate::error::CliError;
use crate::output::outln;
use crate::sdk::{self, Language};
use crate::templates::{self, MANIFEST, Values};

/// `wafer init --help`.
pub const LONG_ABOUT: &str = concat!(
    "Write a new function from the starter template of a guest SDK: the Appwrite starter, which
answers GET with \"Hello, World!\" and any other method with a JSON motto, and logs
\"Hello, Logs!\".

  rust    Cargo.toml and src/lib.rs: a cdylib crate using the wafer-guest SDK
  js      index.js and package.json: an ES module for componentize-js
  python  main.py: a main(context) for componentize-py

Each also gets a .gitignore and a wafer.json that records the language and the entrypoint for
`wafer build`. DIR is created when missing; it must be empty unless --force.

The Rust template depends on the SDK by path: Cargo.toml gets the absolute path of
guest-sdks/rust in a wafer checkout. The guest-sdks directory is $WAFER_SDK_DIR when it is set,
else the one next to the sources this wafer was built from:
  ",
    env!("CARGO_MANIFEST_DIR"),
    "/../../guest-sdks
`wafer build` finds the JavaScript and Python SDKs the same way.

Next: `wafer build DIR`, then `wafer deploy FUNCTION DIR --activate`."
);

/// The `wafer.json` a new function gets (`wafer build` reads it).
#[derive(Serialize)]
struct Manifest {
    language: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    entrypoint: Option<&'static str>,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The function's language.
    #[arg(value_enum)]
    pub language: Language,
    /// The directory to write; created when missing.
    pub dir: PathBuf,
    /// The package (and Rust crate) name [default: the directory's name].
    #[arg(long)]
    pub name: Option<String>,
    /// Write into a directory that is not empty, replacing files of the template's names.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: InitArgs) -> anyhow::Result<()> {
    check_target(&args.dir, args.force)?;
    // Found before anything is written, so that a missing SDK leaves nothing behind.
    let sdk_path = match args.language {
        Language::Rust => sdk::sdk_dir(Language::Rust)?.to_string_lossy().into_owned(),
        Language::Js | Language::Python => String::new(),
    };
    fs::create_dir_all(&args.dir)
        .with_context(|| format!("Cannot create {}", args.dir.display()))?;
    let raw_name = match &args.name {
        Some(name) => name.clone(),
        None => directory_name(&args.dir)?,
    };
    let name = templates::package_name(&raw_name, args.language);
    let values = Values {
        name: &name,
        sdk_path: &sdk_path,
    };

    let mut written = Vec::new();
    for file in templates::files(args.language) {
        let replaced = write(&args.dir, file.path, &file.render(&values))?;
        written.push((file.path, replaced));
    }
    let manifest = Manifest {
        language: args.language.key(),
        entrypoint: templates::entrypoint(args.language),
    };
    let manifest = format!("{}\n", serde_json::to_string_pretty(&manifest)?);
    let replaced = write(&args.dir, MANIFEST, &manifest)?;
    written.push((MANIFEST, replaced));

    let dir = args.dir.display();
    outln!("Created a {} function in {dir}:", args.language.title());
    for (path, replaced) in written {
        let note = if replaced { " (replaced)" } else { "" };
        outln!("  {path}{note}");
    }
    if args.language == Language::Rust {
        outln!("It uses the SDK at {sdk_path}.");
    }
    outln!();
    outln!("Build it:   wafer build {dir}");
    outln!("Deploy it:  wafer deploy {name} {dir} --activate");
    Ok(())
}

/// The target must be missing, or an empty directory (any directory with `--force`).
fn check_target(dir: &Path, force: bool) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(
            CliError::usage(format!("{} exists and is not a directory.", dir.display())).into(),
        );
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => {
            return Err(error).with_context(|| format!("Cannot list {}", dir.display()));
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    if names.is_empty() || force {
        return Ok(());
    }
    names.sort();
    let shown = names.len().min(3);
    let more = if names.len() > shown { ", …" } else { "" };
    Err(CliError::usage(format!(
        "{} is not empty (it holds {}{more}): choose a new directory, or pass --force to write \
         the template into it (replacing files of the same names).",
        dir.display(),
        names[..shown].join(", "),
    ))
    .into())
}

/// The last component of the directory's real path (so that `.` names the current directory).
fn directory_name(dir: &Path) -> anyhow::Result<String> {
    let real = dir
        .canonicalize()
        .with_context(|| format!("Cannot resolve {}", dir.display()))?;
    Ok(real
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default())
}

/// Writes one file under `dir`; returns whether it replaced one.
fn write(dir: &Path, relative: &str, contents: &str) -> anyhow::Result<bool> {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("Cannot create {}", parent.display()))?;
    }
    let replaced = path.exists();
    fs::write(&path, contents).with_context(|| format!("Cannot write {}", path.display()))?;
    Ok(replaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_directory_is_a_target() {
        let dir = tempfile::tempdir().expect("temporary directory");
        assert!(check_target(&dir.path().join("new"), false).is_ok());
        assert!(check_target(dir.path(), false).is_ok());
        fs::write(dir.path().join("notes.txt"), "x").expect("writes");
        let refused = check_target(dir.path(), false).expect_err("not empty");
        assert!(refused.to_string().contains("notes.txt"), "{refused}");
        assert!(refused.to_string().contains("--force"), "{refused}");
        assert!(check_target(dir.path(), true).is_ok());
        let file = check_target(&dir.path().join("notes.txt"), true).expect_err("a file");
        assert!(file.to_string().contains("not a directory"), "{file}");
    }
}
