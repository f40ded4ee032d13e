#!/usr/bin/env bash
# The web console in a real browser: headless Chromium (Debian's `chromium`, installed with
# apt-get when missing; never a downloaded browser) driven by puppeteer-core (pinned in
# tests/browser/package.json, locked, installed with `npm ci`) against a real `wafer serve` on a
# loopback port. Failures leave screenshots under target/browser-screenshots/.
#
# Usage: scripts/browser-tests.sh               run tests/browser/*.test.js (node's test runner)
#        scripts/browser-tests.sh --screenshot  retake docs/console.png from a real server
# Environment: WAFER (the wafer binary; default target/debug/wafer, built), CHROMIUM (default
# /usr/bin/chromium).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DIR=tests/browser
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$CHROMIUM" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "==> installing chromium with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium </dev/null
    else
        echo "error: $CHROMIUM is missing; install Debian's chromium (apt-get install chromium)" >&2
        exit 1
    fi
fi

stamp="$DIR/node_modules/.wafer-install-stamp"
want="$(cat "$DIR/package.json" "$DIR/package-lock.json" <(node --version) | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing puppeteer-core into $DIR/node_modules (npm ci)"
    # puppeteer-core downloads no browser; the variable only keeps any install hook quiet.
    (cd "$DIR" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error </dev/null)
    echo "$want" >"$stamp"
fi

if [ -z "${WAFER:-}" ]; then
    cargo build --locked -p wafer-cli
    export WAFER="$ROOT/target/debug/wafer"
fi
# The example components the tests deploy (the same build the Rust test suite uses).
cargo build --release --target wasm32-wasip2 --manifest-path guest-examples/rust/Cargo.toml \
    -p hello -p echo -p responses

if [ "${1:-}" = "--screenshot" ]; then
    exec node "$DIR/screenshot.js" docs/console.png
fi
echo "==> the web console in headless $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
node --test --test-reporter=tap "$DIR"/*.test.js
