#!/usr/bin/env bash
# Schema-driven fuzzing of the /v1 API: schemathesis (pinned in tests/fuzz/requirements.txt)
# generates positive and negative requests for every operation of a live server's
# /v1/openapi.json, sent with a real admin key, and checks that no answer is a 5xx and that every
# answer conforms to the document (its status codes, body schemas, content types and headers).
#
# Usage: scripts/fuzz-api.sh [--long]
#   default: a bounded run (20 examples per operation, about ten seconds), as CI runs it;
#   --long:  500 examples per operation (minutes).
# Environment: WAFER (the wafer binary; default target/debug/wafer, built when missing),
# PYTHON (the interpreter that makes the venv; default python3).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

EXAMPLES=20
[ "${1:-}" = "--long" ] && EXAMPLES=500
PYTHON="${PYTHON:-python3}"
VENV=tests/fuzz/.venv
WAFER="${WAFER:-$ROOT/target/debug/wafer}"

stamp="$VENV/.wafer-install-stamp"
want="$(cat tests/fuzz/requirements.txt <("$PYTHON" --version) | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -x "$VENV/bin/st" ]; then
    echo "==> installing schemathesis into $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install --quiet \
        --requirement tests/fuzz/requirements.txt </dev/null
    echo "$want" >"$stamp"
fi
[ -x "$WAFER" ] || cargo build --locked -p wafer-cli

data="$(mktemp -d)"
port="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
key="$("$PYTHON" -c 'import secrets; print(secrets.token_hex(24))')"
"$WAFER" serve --listen "127.0.0.1:$port" --data-dir "$data/wafer" --admin-key "$key" \
    >"$data/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT

base="http://127.0.0.1:$port"
ready() { "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
    "$base/v1/openapi.json" 2>/dev/null; }
for _ in $(seq 1 100); do ready && break; sleep 0.1; done
ready || { echo "wafer did not start:"; cat "$data/server.log"; exit 1; }

echo "==> schemathesis against $base/v1/openapi.json ($EXAMPLES examples per operation)"
"$VENV/bin/st" run "$base/v1/openapi.json" \
    --header "x-appwrite-key: $key" --header "x-appwrite-project: default" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance,response_headers_conformance \
    --max-examples "$EXAMPLES" --workers 1 --no-color
