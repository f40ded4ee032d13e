#!/usr/bin/env bash
# Installs the toolchain pieces wafer needs on a fresh machine. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    echo "==> installing the wasm32-wasip2 Rust target"
    rustup target add wasm32-wasip2
fi
