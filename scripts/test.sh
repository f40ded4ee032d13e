#!/usr/bin/env bash
# Runs wafer's whole test suite, installing what it needs first. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
./scripts/install-sdk-clients.sh

echo "==> formatting"
cargo fmt --all -- --check

echo "==> JavaScript, Python and C guest toolchains and example components"
./scripts/build-guests.sh

# Every runner's output also goes to this log, so the run ends with one total.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

echo "==> guest SDK unit tests"
cargo test --locked --manifest-path guest-sdks/rust/Cargo.toml 2>&1 | tee -a "$log"
(cd guest-sdks/js && node --test test/*.test.js) 2>&1 | tee -a "$log"
python3 -m unittest discover -v -s guest-sdks/python/tests 2>&1 | tee -a "$log"
guest-sdks/c/test/run.sh 2>&1 | tee -a "$log"

echo "==> workspace tests (Rust examples are built on first use)"
cargo test --locked --workspace 2>&1 | tee -a "$log"

echo "==> the web console in headless Chromium"
./scripts/browser-tests.sh 2>&1 | tee -a "$log"

echo "==> schema-driven API fuzzing, bounded (scripts/fuzz-api.sh --long for a longer run)"
./scripts/fuzz-api.sh

# cargo's "test result: ok. N passed; M failed", node's "# pass N" / "# fail N", and
# unittest's "... ok" / "... FAIL|ERROR" lines.
awk '
    /^test result:/ { passed += $4; failed += $6 }
    /^# pass /      { passed += $3 }
    /^# fail /      { failed += $3 }
    / \.\.\. ok$/ && /^test_/ { passed += 1 }
    / \.\.\. (FAIL|ERROR)$/ && /^test_/ { failed += 1 }
    END { printf "total: %d passed, %d failed\n", passed, failed }
' "$log"
