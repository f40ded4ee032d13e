#!/usr/bin/env bash
# Generates the C bindings of the `function` world (wit/) into guest-sdks/c/bindings with
# wit-bindgen's C generator, at the version the Rust SDK pins (wit-bindgen-cli, from crates.io):
#
#   guest-sdks/c/bindgen.sh            regenerate bindings/ (installs wit-bindgen-cli first)
#   guest-sdks/c/bindgen.sh --check    regenerate into a scratch directory; fail if bindings/ differs
#   guest-sdks/c/bindgen.sh --verify   without wit-bindgen: fail if wit/ changed since bindings/
#                                      were generated (scripts/build-guests.sh c runs this)
#
# The bindings are committed (building wit-bindgen-cli takes 5 CPU-minutes, too long for every CI
# run); bindings/INPUTS records what they were generated from: the generator and a SHA-256 of
# every file under wit/. Never edit bindings/ by hand: change wit/ and run this script.
#
# wit-bindgen-cli is installed with `cargo install --locked` into
# ${WAFER_CACHE:-${XDG_CACHE_HOME:-~/.cache}/wafer}/wit-bindgen-cli-VERSION, once.
set -euo pipefail

VERSION=0.61.1
SDK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SDK/../.." && pwd)"
OUT="$SDK/bindings"
CACHE="${WAFER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wafer}"
TOOL_ROOT="$CACHE/wit-bindgen-cli-$VERSION"
# The options bindings/ is generated with; part of INPUTS.
OPTIONS=(--world function)

log() { printf 'bindgen: %s\n' "$*" >&2; }

# What the bindings are generated from, as text: the generator and a hash of each WIT file.
inputs() {
  printf 'wit-bindgen-cli %s c %s\n' "$VERSION" "${OPTIONS[*]}"
  (cd "$ROOT" && find wit -type f -name '*.wit' | LC_ALL=C sort | xargs sha256sum)
}

install_tool() {
  if [ ! -x "$TOOL_ROOT/bin/wit-bindgen" ]; then
    command -v cargo >/dev/null || { log "error: cargo is needed to install wit-bindgen-cli"; exit 1; }
    log "installing wit-bindgen-cli $VERSION (C generator only) into $TOOL_ROOT; this takes a few minutes"
    cargo install --locked --quiet "wit-bindgen-cli@$VERSION" --no-default-features --features c \
      --root "$TOOL_ROOT" >&2
  fi
}

generate() {
  local dir="$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  "$TOOL_ROOT/bin/wit-bindgen" c "$ROOT/wit" "${OPTIONS[@]}" --out-dir "$dir" >/dev/null
  inputs >"$dir/INPUTS"
}

case "${1:-}" in
  "")
    install_tool
    generate "$OUT"
    log "generated $(cd "$OUT" && ls | tr '\n' ' ')in guest-sdks/c/bindings"
    ;;
  --check)
    install_tool
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    generate "$scratch/bindings"
    if ! diff -r "$OUT" "$scratch/bindings" >/dev/null; then
      diff -r "$OUT" "$scratch/bindings" | head -40 >&2 || true
      log "error: guest-sdks/c/bindings is not what wit-bindgen $VERSION generates from wit/: run guest-sdks/c/bindgen.sh"
      exit 1
    fi
    log "guest-sdks/c/bindings is current"
    ;;
  --verify)
    if ! diff <(inputs) "$OUT/INPUTS" >/dev/null 2>&1; then
      diff <(inputs) "$OUT/INPUTS" >&2 || true
      log "error: wit/ changed since guest-sdks/c/bindings was generated: run guest-sdks/c/bindgen.sh"
      exit 1
    fi
    ;;
  *)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
