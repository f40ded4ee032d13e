//! Test support shared by wafer's test suites: builds the example guest components from
//! `guest-examples/` with the real toolchain and hands out their paths. It must not fake a
//! component: every path it returns is a `.wasm` cargo just built.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository's top directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/testkit sits two levels below the repository root")
        .to_path_buf()
}

fn rust_examples_dir() -> PathBuf {
    repo_root().join("guest-examples/rust")
}

/// Builds every Rust example once per test process. Concurrent test processes are serialised
/// by cargo's own build lock, and an up-to-date build takes well under a second.
fn build_rust_examples() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = rust_examples_dir();
        cargo_build_wasm(&dir.join("Cargo.toml"), &dir.join("target"))
    })
}

/// Builds the components of the cargo workspace at `manifest` for `wasm32-wasip2`, in release,
/// into `target_dir`; returns the directory holding the `.wasm` files.
fn cargo_build_wasm(manifest: &Path, target_dir: &Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("cargo must be runnable to build the guest examples");
    assert!(
        status.success(),
        "building {} failed; is the wasm32-wasip2 target installed \
         (`rustup target add wasm32-wasip2`)?",
        manifest.display()
    );
    target_dir.join("wasm32-wasip2/release")
}

/// Bytes of the `wasi:http` hello component that `benches/run.sh` serves with `wasmtime serve`
/// (`benches/wasi-http-hello`), built as the benchmark builds it.
pub fn wasi_http_hello_bytes() -> Vec<u8> {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        // Its own workspace; its build goes beside the examples' so `target/` stays the only
        // place build products land.
        let target_dir = rust_examples_dir().join("target/benches");
        let manifest = repo_root().join("benches/wasi-http-hello/Cargo.toml");
        cargo_build_wasm(&manifest, &target_dir)
    });
    let path = dir.join("wasi_http_hello.wasm");
    std::fs::read(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

/// Path of the Rust example component `name` (its crate name, e.g. `hello`).
pub fn rust_example(name: &str) -> PathBuf {
    let path = build_rust_examples().join(format!("{}.wasm", name.replace('-', "_")));
    assert!(
        path.is_file(),
        "no component was built at {}",
        path.display()
    );
    path
}

/// Bytes of the Rust example component `name`.
pub fn rust_example_bytes(name: &str) -> Vec<u8> {
    let path = rust_example(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}
