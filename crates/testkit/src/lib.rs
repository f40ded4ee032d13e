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
        let target_dir = dir.join("target");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir)
            .env_remove("CARGO_BUILD_TARGET")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("cargo must be runnable to build the guest examples");
        assert!(
            status.success(),
            "building guest-examples/rust failed; is the wasm32-wasip2 target installed \
             (`rustup target add wasm32-wasip2`)?"
        );
        target_dir.join("wasm32-wasip2/release")
    })
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
