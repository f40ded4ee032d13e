#!/usr/bin/env bash
# Runs wafer's whole test suite, installing what it needs first. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
./scripts/install-sdk-clients.sh

echo "==> formatting"
cargo fmt --all -- --check

echo "==> JavaScript and Python guest toolchains and example components"
./scripts/build-guests.sh

echo "==> guest SDK unit tests"
cargo test --locked --manifest-path guest-sdks/rust/Cargo.toml
(cd guest-sdks/js && node --test test/)
python3 -m unittest discover -s guest-sdks/python/tests

echo "==> workspace tests (Rust examples are built on first use)"
cargo test --locked --workspace
