use std::fs;
use std::path::{Path, PathBuf};

use super::detect::Project;
use super::js::js_paths;
use super::rust::{Artifact, cdylib_artifact, pick_artifact};
use super::{COMPONENT_MAGIC, check_component};
use crate::sdk::Language;

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
