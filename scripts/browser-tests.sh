#!/usr/bin/env bash
# The web console in real browsers: headless Chromium and Firefox (Debian's `chromium` and
# `firefox-esr`, installed with apt-get when missing; never a downloaded browser) driven by
# puppeteer-core (pinned in tests/browser/package.json, locked, installed with `npm ci`; CDP for
# Chromium, WebDriver BiDi for Firefox) against a real `wafer serve` on a loopback port. Failures
# leave screenshots under target/browser-screenshots/.
#
# Usage: scripts/browser-tests.sh               run tests/browser/*.test.js (node's test runner)
#        scripts/browser-tests.sh --screenshot  retake docs/console.png from a real server
# Environment: WAFER (the wafer binary; default target/debug/wafer, built), BROWSERS (default
# "chromium firefox"), CHROMIUM (default /usr/bin/chromium), FIREFOX (/usr/bin/firefox-esr).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DIR=tests/browser
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" FIREFOX="${FIREFOX:-/usr/bin/firefox-esr}"
BROWSERS="${BROWSERS:-chromium firefox}"
[ "${1:-}" = "--screenshot" ] && BROWSERS=chromium

# Debian's package for each browser asked for, installed when its binary is missing.
missing=()
for browser in $BROWSERS; do
    case "$browser" in
        chromium) [ -x "$CHROMIUM" ] || missing+=(chromium) ;;
        firefox) [ -x "$FIREFOX" ] || missing+=(firefox-esr) ;;
        *) echo "error: unknown browser '$browser' (expected chromium or firefox)" >&2; exit 1 ;;
    esac
done
[ ${#missing[@]} -eq 0 ] || scripts/apt-install.sh "${missing[@]}"

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
for browser in $BROWSERS; do
    binary="$CHROMIUM"
    [ "$browser" = firefox ] && binary="$FIREFOX"
    echo "==> the web console in headless $("$binary" --version 2>/dev/null || echo "$browser")"
    BROWSER="$browser" node --test --test-reporter=tap "$DIR"/*.test.js
done
