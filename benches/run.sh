#!/usr/bin/env bash
# One-command HTTP throughput/latency benchmark of wafer against two baselines, with wrk on loopback:
#   A  hyper-hello          a minimal hyper 1.x "Hello, World!" server (benches/hyper-hello)
#   B  wasmtime serve       wasmtime-cli 48.0.8 running a wasi:http hello component
#                           (benches/wasi-http-hello)
#   wafer /fn/hello/        `wafer serve` (release) running guest-examples/rust/hello, HTTP route
#   wafer executions API    POST /v1/functions/hello/executions {"method":"GET"} with the API key
# Prints a markdown table and regenerates BENCHMARKS.md at the repository root.
#
# Knobs (environment): DURATION (10s), CONNECTIONS (32), THREADS (2), WARMUP (3s),
#   PORT_BASE (18480; four consecutive loopback ports), INSTALL_WASMTIME (1: cargo-install
#   wasmtime-cli 48.0.8 into benches/.tools when missing, ~15-25 min on 2 cores; 0: skip B if
#   missing), WASMTIME (path to an existing wasmtime 48.0.8 binary), OUT (BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH=$ROOT/benches

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-3s}
PORT_BASE=${PORT_BASE:-18480}
INSTALL_WASMTIME=${INSTALL_WASMTIME:-1}
WASMTIME_VERSION=48.0.8
OUT=${OUT:-$ROOT/BENCHMARKS.md}
HOST=127.0.0.1

started=$(date +%s)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/wafer-bench.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '==> %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# Tools
if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk (apt)"
    SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq wrk >/dev/null
fi
command -v curl >/dev/null || { echo "curl is required" >&2; exit 1; }
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

# ---------------------------------------------------------------------------------------------
# Builds (all incremental: a second run only checks)
log "building benches/hyper-hello (release)"
cargo build --quiet --release --manifest-path "$BENCH/hyper-hello/Cargo.toml" \
    --target-dir "$BENCH/.target"
HYPER_HELLO=$BENCH/.target/release/hyper-hello

log "building benches/wasi-http-hello (wasm32-wasip2, release)"
cargo build --quiet --release --target wasm32-wasip2 \
    --manifest-path "$BENCH/wasi-http-hello/Cargo.toml" --target-dir "$BENCH/.target"
WASI_HELLO=$BENCH/.target/wasm32-wasip2/release/wasi_http_hello.wasm

log "building wafer-cli (release)"
cargo build --quiet --release -p wafer-cli
WAFER=$ROOT/target/release/wafer

log "building guest-examples/rust (wasm32-wasip2, release)"
cargo build --quiet --release --target wasm32-wasip2 \
    --manifest-path guest-examples/rust/Cargo.toml
HELLO_WASM=$ROOT/guest-examples/rust/target/wasm32-wasip2/release/hello.wasm

WASMTIME=${WASMTIME:-$BENCH/.tools/bin/wasmtime}
B_SKIP=
if [ -x "$WASMTIME" ] && "$WASMTIME" --version 2>/dev/null | grep -q "^wasmtime $WASMTIME_VERSION"; then
    :
elif [ "$INSTALL_WASMTIME" = 1 ]; then
    log "installing wasmtime-cli $WASMTIME_VERSION into benches/.tools (slow: 15+ min on 2 cores)"
    if ! cargo install wasmtime-cli --version "$WASMTIME_VERSION" --locked \
        --root "$BENCH/.tools" >"$TMP/wasmtime-install.log" 2>&1; then
        tail -n 20 "$TMP/wasmtime-install.log" >&2
        B_SKIP="cargo install wasmtime-cli $WASMTIME_VERSION failed"
    fi
    WASMTIME=$BENCH/.tools/bin/wasmtime
else
    B_SKIP="wasmtime $WASMTIME_VERSION not installed in benches/.tools (INSTALL_WASMTIME=0)"
fi
if [ -n "$B_SKIP" ]; then
    log "baseline B skipped: $B_SKIP"
fi

# ---------------------------------------------------------------------------------------------
# Helpers
port_free() { ! (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
for p in 0 1 2 3; do
    port_free $((PORT_BASE + p)) || { echo "port $((PORT_BASE + p)) is in use (set PORT_BASE)" >&2; exit 1; }
done

# wait_http URL [curl args...]: until the URL answers 2xx, for up to 30 s
wait_http() {
    local url=$1; shift
    for _ in $(seq 1 300); do
        curl -fsS -o /dev/null "$@" "$url" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "no answer from $url" >&2
    return 1
}

# to_ms "1.23ms" -> 1.23 (wrk prints us, ms, s and m)
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.3f", n }'
}

declare -A RPS P50 P99 REQS ERRS NOTE
TARGETS=()

# bench KEY LABEL URL [wrk args...]: warm up, then one measured wrk run
bench() {
    local key=$1 label=$2 url=$3; shift 3
    local out=$TMP/wrk-$key.txt
    log "wrk $label: warm-up $WARMUP, then ${DURATION}, ${CONNECTIONS} connections, ${THREADS} threads"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$@" "$url" >/dev/null
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url" | tee "$out" >&2
    TARGETS+=("$key")
    NOTE[$key]=$label
    RPS[$key]=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    P50[$key]=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
    P99[$key]=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
    REQS[$key]=$(awk '/requests in/ {print $1}' "$out")
    # socket errors and non-2xx/3xx answers, summed
    ERRS[$key]=$(awk '
        /Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx responses:/ { e += $5 }
        END { print e + 0 }' "$out")
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# ---------------------------------------------------------------------------------------------
# A: hyper-hello
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
PORT_A=$PORT_BASE
"$HYPER_HELLO" "$HOST:$PORT_A" >"$TMP/hyper-hello.log" 2>&1 &
PID_A=$!; PIDS+=("$PID_A")
wait_http "http://$HOST:$PORT_A/"
[ "$(curl -fsS "http://$HOST:$PORT_A/")" = "Hello, World!" ]
bench A "A: hyper-hello" "http://$HOST:$PORT_A/"
stop "$PID_A"

# B: wasmtime serve
PORT_B=$((PORT_BASE + 1))
if [ -z "$B_SKIP" ]; then
    WASMTIME_VERSION_LINE=$("$WASMTIME" --version)
    "$WASMTIME" serve -S cli --addr "$HOST:$PORT_B" "$WASI_HELLO" >"$TMP/wasmtime-serve.log" 2>&1 &
    PID_B=$!; PIDS+=("$PID_B")
    wait_http "http://$HOST:$PORT_B/"
    [ "$(curl -fsS "http://$HOST:$PORT_B/")" = "Hello, World!" ]
    bench B "B: wasmtime serve" "http://$HOST:$PORT_B/"
    stop "$PID_B"
else
    WASMTIME_VERSION_LINE="(not available: $B_SKIP)"
fi

# wafer
PORT_W=$((PORT_BASE + 2))
export WAFER_ADMIN_KEY="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
WAFER_DATA_DIR=$TMP/wafer-data WAFER_LISTEN=$HOST:$PORT_W \
    "$WAFER" serve >"$TMP/wafer-serve.log" 2>&1 &
PID_W=$!; PIDS+=("$PID_W")
export WAFER_ENDPOINT=http://$HOST:$PORT_W/v1 WAFER_KEY=$WAFER_ADMIN_KEY WAFER_PROJECT=default
for _ in $(seq 1 300); do
    "$WAFER" functions list >/dev/null 2>&1 && break
    sleep 0.1
done
log "deploying hello to wafer"
"$WAFER" deploy hello "$HELLO_WASM" --runtime rust-wasi-0.2 --public --activate >&2
wait_http "http://$HOST:$PORT_W/fn/hello/"
[ "$(curl -fsS "http://$HOST:$PORT_W/fn/hello/")" = "Hello, World!" ]

cat >"$TMP/execution.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"method":"GET"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Appwrite-Project"] = "default"
wrk.headers["X-Appwrite-Key"] = "$WAFER_ADMIN_KEY"
LUA
EXEC_URL=http://$HOST:$PORT_W/v1/functions/hello/executions
curl -fsS -X POST -H 'content-type: application/json' -H 'x-appwrite-project: default' \
    -H "x-appwrite-key: $WAFER_ADMIN_KEY" -d '{"method":"GET"}' "$EXEC_URL" >"$TMP/execution.json"
grep -q '"responseBody":"Hello, World!"' "$TMP/execution.json" || {
    echo "unexpected execution: $(cat "$TMP/execution.json")" >&2; exit 1; }

bench W1 "wafer: GET /fn/hello/" "http://$HOST:$PORT_W/fn/hello/"
bench W2 "wafer: POST /v1/functions/hello/executions" "$EXEC_URL" -s "$TMP/execution.lua"
WAFER_VERSION_LINE=$("$WAFER" --version 2>/dev/null || echo "wafer (version unknown)")
stop "$PID_W"

# ---------------------------------------------------------------------------------------------
# Report
ratio() { # ratio NUM DEN -> NUM/DEN with 3 decimals, or n/a
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.3f", a / b }'
}
table() {
    echo "| target | requests/s | p50 (ms) | p99 (ms) | requests | errors / non-2xx |"
    echo "|---|---:|---:|---:|---:|---:|"
    local k
    for k in "${TARGETS[@]}"; do
        printf '| %s | %.0f | %s | %s | %s | %s |\n' "${NOTE[$k]}" "${RPS[$k]}" "${P50[$k]}" \
            "${P99[$k]}" "${REQS[$k]}" "${ERRS[$k]}"
    done
    if [ -n "$B_SKIP" ]; then
        echo "| B: wasmtime serve | skipped: $B_SKIP | | | | |"
    fi
    echo
    echo "| ratio | requests/s | p50 | p99 |"
    echo "|---|---:|---:|---:|"
    local w base
    for w in W1 W2; do
        for base in A B; do
            if [ -z "${RPS[$base]:-}" ]; then
                printf '| %s / %s | n/a | n/a | n/a |\n' "$w" "$base"
                continue
            fi
            printf '| %s / %s | %s | %s | %s |\n' "$w" "$base" \
                "$(ratio "${RPS[$w]}" "${RPS[$base]}")" \
                "$(ratio "${P50[$w]}" "${P50[$base]}")" \
                "$(ratio "${P99[$w]}" "${P99[$base]}")"
        done
    done
    echo
    echo "W1 = wafer \`GET /fn/hello/\`, W2 = wafer \`POST /v1/functions/hello/executions\`."
    echo "A ratio of requests/s below 1 means wafer serves fewer requests; a latency ratio above 1"
    echo "means wafer is slower."
}

elapsed=$(($(date +%s) - started))
TABLE=$(table)
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
HYPER_VERSION=$(awk '/^name = "hyper"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' "$BENCH/hyper-hello/Cargo.lock")
WRK_VERSION=$(wrk -v 2>&1 | head -n 1 | awk '{print $1, $2}' || true)

{
    cat <<EOF
# Benchmarks

Generated by \`benches/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') (whole run, builds included:
${elapsed} s). Rerun the script to regenerate this file; do not edit it by hand.

Every target answers \`Hello, World!\` (13 bytes, \`text/plain\`) to a GET over HTTP/1.1 keep-alive.
Each is measured alone, after a ${WARMUP} warm-up, with
\`wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION} --latency\` on loopback (127.0.0.1); wrk and the
server share the machine's cores.

- **A: hyper-hello**: \`benches/hyper-hello\`, a minimal hyper ${HYPER_VERSION} server on a
  multi-threaded tokio runtime (release build). The ceiling for any hyper-based server here.
- **B: wasmtime serve**: \`wasmtime serve\` (default settings) running \`benches/wasi-http-hello\`,
  a \`wasi:http/incoming-handler\` component built from Rust with the \`wasip2\` crate: a fresh
  instance per request, no platform around it.
- **wafer: GET /fn/hello/**: \`target/release/wafer serve\` (default settings, data dir in a temp
  dir) with \`guest-examples/rust/hello\` deployed public; the function's plain HTTP route.
- **wafer: POST /v1/functions/hello/executions**: the same deployment through the Appwrite
  executions API, body \`{"method":"GET"}\`, with the project and API key headers. Every request
  writes an execution record to SQLite (the server always persists them).

## Results

${TABLE}

## Machine and versions

- CPU: ${CPU_MODEL}, \`nproc\` = $(nproc)
- Kernel: \`uname -r\` = $(uname -r)
- Load average (1/5/15 min) when the measurements began: ${LOAD_BEFORE} (anything else
  running on the machine competes with wrk and the servers; compare runs on an idle machine)
- Memory: $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
- wafer: ${WAFER_VERSION_LINE}, commit ${COMMIT}${DIRTY}, wasmtime 48.0.8 (embedded)
- wasmtime-cli: ${WASMTIME_VERSION_LINE}
- hyper (baseline A): ${HYPER_VERSION}
- $(rustc --version)
- ${WRK_VERSION}
EOF
} >"$OUT"

echo
echo "$TABLE"
echo
log "wrote ${OUT#"$ROOT"/} (run took ${elapsed} s)"
