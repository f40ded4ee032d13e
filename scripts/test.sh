#!/usr/bin/env bash
# Runs wafer's whole test suite, installing what it needs first. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
./scripts/install-sdk-clients.sh

echo "==> formatting"
cargo fmt --all -- --check

echo "==> guest SDK unit tests (host target)"
cargo test --locked --manifest-path guest-sdks/rust/Cargo.toml

echo "==> workspace tests (builds the example guests on first use)"
cargo test --locked --workspace
