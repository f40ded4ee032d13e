#!/usr/bin/env bash
# One command for wafer's benchmarks, on loopback, on this machine, in one run. It builds what it
# needs, prints a table per section and writes the sections it ran into BENCHMARKS.md (sections
# not run keep what an earlier run wrote there).
#
# Sections (SECTIONS, comma-separated; default: all four, in this order):
#   http     wrk at a fixed concurrency, then oha at RATE_FRACTION of each target's peak:
#              A  hyper-hello         a minimal hyper 1.x "Hello, World!" (benches/hyper-hello)
#              B  wasmtime serve      wasmtime-cli 48.0.8 running a wasi:http hello component
#                                     (benches/wasi-http-hello)
#              W1 wafer /fn/hello/    `wafer serve` (release) running guest-examples/rust/hello
#              W2 wafer executions    POST /v1/functions/hello/executions {"method":"GET"}
#              WH wafer /fn/hello-http/ the same wasi:http component B serves, on wafer's route
#                                     (runtime wasi-http-0.2, streamed response)
#              JS, PY                 guest-examples/{js,python}/hello through /fn/.../
#              JSR, PYR               the same with the function's reuseInstances on (opt-in warm
#                                     instances: guest state survives between calls)
#   deploy   deploy to first execution (Rust, JavaScript, Python), fresh bytes every time
#   cold     first request after a restart (artifact on disk, nothing in memory) vs warm
#   density  RSS/VmSize/fds/mappings with 1,000 deployed functions of which 100 active, then a
#            capacity probe up to CAPACITY functions (stops at the first failure)
#
# Knobs (environment):
#   SECTIONS (http,deploy,cold,density)
#   http:    DURATION (10s), CONNECTIONS (32), THREADS (2), WARMUP (3s), TARGETS (A,B,W1,W2,WH,JS,PY,JSR,PYR),
#            RATE (1: the rate-limited oha runs; 0: skip them), RATE_FRACTION (0.8),
#            RATE_DURATION (10s)
#   deploy:  DEPLOY_SAMPLES_RUST (5), DEPLOY_SAMPLES_JS (2), DEPLOY_SAMPLES_PYTHON (1)
#   cold:    COLD_RESTARTS (5), COLD_WARM_REQUESTS (5)
#   density: DENSITY_FUNCTIONS (1000), DENSITY_ACTIVE (100), DENSITY_ACTIVE_SECONDS (10),
#            CAPACITY (10000; equal to DENSITY_FUNCTIONS skips the probe), CAPACITY_STEP (1000),
#            CAPACITY_BYTES (shared: functions past DENSITY_FUNCTIONS share one deployment's
#            bytes, fast; distinct: every function compiled on its own, ~30 min more),
#            DEPLOY_PARALLEL (8)
#   tools:   PORT_BASE (18480; four consecutive loopback ports), WAFER (an existing wafer binary:
#            skips building wafer-cli), WASMTIME (an existing wasmtime 48.0.8), INSTALL_WASMTIME
#            (1: cargo-install wasmtime-cli 48.0.8 into benches/.tools when missing, ~15-25 min on
#            2 cores; 0: skip B if missing), OHA (an existing oha), INSTALL_OHA (1: cargo-install
#            oha into benches/.tools when missing, ~5-10 min; 0: skip the rate-limited runs),
#            BUILD_GUESTS (0: run scripts/build-guests.sh only when a JS/Python hello.wasm is
#            missing; 1: always, it is incremental), OUT (BENCHMARKS.md)
#
# Examples:  benches/run.sh                       # everything (about 10 min on 2 cores)
#            SECTIONS=cold benches/run.sh          # just cold start
#            SECTIONS=http TARGETS=W1,W2 RATE=0 benches/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH=$ROOT/benches

SECTIONS=${SECTIONS:-http,deploy,cold,density}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-3s}
TARGETS_WANTED=${TARGETS:-A,B,W1,W2,WH,JS,PY,JSR,PYR}
RATE=${RATE:-1}
RATE_FRACTION=${RATE_FRACTION:-0.8}
RATE_DURATION=${RATE_DURATION:-10s}
DEPLOY_SAMPLES_RUST=${DEPLOY_SAMPLES_RUST:-5}
DEPLOY_SAMPLES_JS=${DEPLOY_SAMPLES_JS:-2}
DEPLOY_SAMPLES_PYTHON=${DEPLOY_SAMPLES_PYTHON:-1}
COLD_RESTARTS=${COLD_RESTARTS:-5}
COLD_WARM_REQUESTS=${COLD_WARM_REQUESTS:-5}
DENSITY_FUNCTIONS=${DENSITY_FUNCTIONS:-1000}
DENSITY_ACTIVE=${DENSITY_ACTIVE:-100}
DENSITY_ACTIVE_SECONDS=${DENSITY_ACTIVE_SECONDS:-10}
CAPACITY=${CAPACITY:-10000}
CAPACITY_STEP=${CAPACITY_STEP:-1000}
CAPACITY_BYTES=${CAPACITY_BYTES:-shared}
DEPLOY_PARALLEL=${DEPLOY_PARALLEL:-8}
PORT_BASE=${PORT_BASE:-18480}
INSTALL_WASMTIME=${INSTALL_WASMTIME:-1}
INSTALL_OHA=${INSTALL_OHA:-1}
BUILD_GUESTS=${BUILD_GUESTS:-0}
WASMTIME_VERSION=48.0.8
OUT=${OUT:-$ROOT/BENCHMARKS.md}
HOST=127.0.0.1

die() { printf 'benches/run.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf '==> %s\n' "$*" >&2; }

declare -A WANT=()
IFS=, read -r -a _sections <<<"$SECTIONS"
for s in "${_sections[@]}"; do
    case "$s" in
        http | deploy | cold | density) WANT[$s]=1 ;;
        '') ;;
        *) die "unknown section '$s' in SECTIONS (expected http, deploy, cold, density)" ;;
    esac
done
[ ${#WANT[@]} -gt 0 ] || die "SECTIONS is empty"
want() { [ -n "${WANT[$1]:-}" ]; }
declare -A WANT_TARGET=()
IFS=, read -r -a _targets <<<"$TARGETS_WANTED"
for t in "${_targets[@]}"; do
    case "$t" in
        A | B | W1 | W2 | WH | JS | PY | JSR | PYR) WANT_TARGET[$t]=1 ;;
        '') ;;
        *) die "unknown target '$t' in TARGETS (expected A, B, W1, W2, WH, JS, PY, JSR, PYR)" ;;
    esac
done
want_target() { [ -n "${WANT_TARGET[$1]:-}" ]; }
case "$CAPACITY_BYTES" in shared | distinct) ;; *) die "CAPACITY_BYTES must be shared or distinct" ;; esac

started=$(date +%s)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/wafer-bench.XXXXXX")
FRAG=$TMP/fragments
mkdir -p "$FRAG"
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

# ---------------------------------------------------------------------------------------------
# Tools
command -v curl >/dev/null || die "curl is required"
command -v python3 >/dev/null || die "python3 is required"
if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk (apt)"
    SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq wrk >/dev/null
fi
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

# oha: the rate-limited runs (wrk2 is not packaged in Debian; oha is on crates.io, takes a fixed
# request rate with -q, corrects for coordinated omission and reports percentiles).
OHA=${OHA:-$BENCH/.tools/bin/oha}
RATE_SKIP=
if want http && [ "$RATE" = 1 ]; then
    if [ -x "$OHA" ]; then
        :
    elif command -v oha >/dev/null 2>&1; then
        OHA=$(command -v oha)
    elif [ "$INSTALL_OHA" = 1 ]; then
        log "installing oha into benches/.tools (cargo install --locked; a few minutes)"
        if ! cargo install oha --locked --root "$BENCH/.tools" >"$TMP/oha-install.log" 2>&1; then
            tail -n 20 "$TMP/oha-install.log" >&2
            RATE_SKIP="cargo install oha failed"
        fi
        OHA=$BENCH/.tools/bin/oha
    else
        RATE_SKIP="oha not installed (INSTALL_OHA=0)"
    fi
elif want http; then
    RATE_SKIP="RATE=0"
fi

# ---------------------------------------------------------------------------------------------
# Builds (all incremental: a second run only checks)
WAFER_GIVEN=${WAFER:-}
if [ -n "${WAFER:-}" ]; then
    [ -x "$WAFER" ] || die "WAFER=$WAFER is not an executable"
    log "using WAFER=$WAFER (not building wafer-cli)"
else
    log "building wafer-cli (release)"
    cargo build --quiet --release -p wafer-cli || die "cargo build --release -p wafer-cli failed"
    WAFER=$ROOT/target/release/wafer
fi
# The tree the binary was built from (recorded now: commits may land while the run goes on).
BUILT_FROM="commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain --untracked-files=no -- crates Cargo.toml Cargo.lock 2>/dev/null)" ]; then
    BUILT_FROM="$BUILT_FROM with uncommitted changes in crates/"
fi
[ -z "${WAFER_GIVEN:-}" ] || BUILT_FROM="given as WAFER=$WAFER_GIVEN; tree at $BUILT_FROM"
# A private copy: a build landing in target/ during the run must not change the server under
# test between two of its restarts.
cp "$WAFER" "$TMP/wafer"
WAFER_VERSION_LINE=$("$TMP/wafer" --version 2>/dev/null || echo "wafer (version unknown)")
WAFER=$TMP/wafer

log "building guest-examples/rust (wasm32-wasip2, release)"
cargo build --quiet --release --target wasm32-wasip2 \
    --manifest-path guest-examples/rust/Cargo.toml
HELLO_WASM=$ROOT/guest-examples/rust/target/wasm32-wasip2/release/hello.wasm
JS_WASM=$ROOT/guest-examples/js/build/hello.wasm
PY_WASM=$ROOT/guest-examples/python/build/hello.wasm
if want deploy || want cold || { want http && { want_target JS || want_target PY || want_target JSR || want_target PYR; }; }; then
    if [ "$BUILD_GUESTS" = 1 ] || [ ! -f "$JS_WASM" ] || [ ! -f "$PY_WASM" ]; then
        log "building the JavaScript and Python examples (scripts/build-guests.sh)"
        scripts/build-guests.sh || die "scripts/build-guests.sh failed"
    fi
    [ -f "$JS_WASM" ] || die "$JS_WASM is missing after scripts/build-guests.sh"
    [ -f "$PY_WASM" ] || die "$PY_WASM is missing after scripts/build-guests.sh"
fi

B_SKIP=
WASMTIME_VERSION_LINE="(not used)"
if want http; then
    log "building benches/hyper-hello (release)"
    cargo build --quiet --release --manifest-path "$BENCH/hyper-hello/Cargo.toml" \
        --target-dir "$BENCH/.target"
    HYPER_HELLO=$BENCH/.target/release/hyper-hello

    if want_target B || want_target WH; then
        log "building benches/wasi-http-hello (wasm32-wasip2, release)"
        cargo build --quiet --release --target wasm32-wasip2 \
            --manifest-path "$BENCH/wasi-http-hello/Cargo.toml" --target-dir "$BENCH/.target"
        WASI_HELLO=$BENCH/.target/wasm32-wasip2/release/wasi_http_hello.wasm
    fi
    if want_target B; then

        WASMTIME=${WASMTIME:-$BENCH/.tools/bin/wasmtime}
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
        else
            WASMTIME_VERSION_LINE=$("$WASMTIME" --version)
        fi
    fi
fi

# ---------------------------------------------------------------------------------------------
# Helpers
port_free() { ! (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
for p in 0 1 2 3; do
    port_free $((PORT_BASE + p)) || die "port $((PORT_BASE + p)) is in use (set PORT_BASE)"
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

stamp() { # stamp: one line saying when, on which build and under which load a section ran
    echo "_Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`benches/run.sh\` (${WAFER_VERSION_LINE}, ${BUILT_FROM}); load average (1/5/15 min) at the start of the section: $(cut -d' ' -f1-3 /proc/loadavg)._"
}

declare -A RPS P50 P99 REQS ERRS NOTE URL ARGS_OHA
declare -A R_RATE R_RPS R_P50 R_P99 R_ERR
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
    URL[$key]=$url
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

# bench_rate KEY [oha args...]: oha at RATE_FRACTION of KEY's wrk peak, same connections,
# latency corrected for coordinated omission (each request timed from when it was due)
bench_rate() {
    local key=$1; shift
    [ -z "$RATE_SKIP" ] || return 0
    local qps out=$TMP/oha-$key.json
    qps=$(awk -v r="${RPS[$key]}" -v f="$RATE_FRACTION" 'BEGIN { printf "%d", r * f }')
    [ "$qps" -gt 0 ] || return 0
    log "oha ${NOTE[$key]}: ${qps} requests/s (${RATE_FRACTION} of ${RPS[$key]}) for ${RATE_DURATION}"
    if ! "$OHA" -z "$RATE_DURATION" -c "$CONNECTIONS" -q "$qps" --latency-correction --no-tui \
        --output-format json "$@" "${URL[$key]}" >"$out" 2>"$TMP/oha-$key.err"; then
        cat "$TMP/oha-$key.err" >&2
        die "oha failed for ${NOTE[$key]}"
    fi
    R_RATE[$key]=$qps
    read -r R_RPS[$key] R_P50[$key] R_P99[$key] R_ERR[$key] < <(python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s, p = d["summary"], d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
# requests still in flight when -z ends are "aborted due to deadline": not failures
errors = {k: n for k, n in d.get("errorDistribution", {}).items() if "deadline" not in k}
bad = sum(n for c, n in codes.items() if not str(c).startswith("2")) + sum(errors.values())
print(f'{s["requestsPerSec"]:.0f} {p["p50"] * 1000:.3f} {p["p99"] * 1000:.3f} {bad}')
PY
)
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# ---------------------------------------------------------------------------------------------
# http
if want http; then
    HTTP_STAMP=$(stamp)
    if want_target A; then
        PORT_A=$PORT_BASE
        "$HYPER_HELLO" "$HOST:$PORT_A" >"$TMP/hyper-hello.log" 2>&1 &
        PID_A=$!; PIDS+=("$PID_A")
        wait_http "http://$HOST:$PORT_A/"
        [ "$(curl -fsS "http://$HOST:$PORT_A/")" = "Hello, World!" ] || die "hyper-hello answers wrong"
        bench A "A: hyper-hello" "http://$HOST:$PORT_A/"
        bench_rate A
        stop "$PID_A"
    fi

    PORT_B=$((PORT_BASE + 1))
    if want_target B && [ -z "$B_SKIP" ]; then
        "$WASMTIME" serve -S cli --addr "$HOST:$PORT_B" "$WASI_HELLO" >"$TMP/wasmtime-serve.log" 2>&1 &
        PID_B=$!; PIDS+=("$PID_B")
        wait_http "http://$HOST:$PORT_B/"
        [ "$(curl -fsS "http://$HOST:$PORT_B/")" = "Hello, World!" ] || die "wasmtime serve answers wrong"
        bench B "B: wasmtime serve" "http://$HOST:$PORT_B/"
        bench_rate B
        stop "$PID_B"
    fi

    if want_target W1 || want_target W2 || want_target WH || want_target JS || want_target PY || want_target JSR || want_target PYR; then
        PORT_W=$((PORT_BASE + 2))
        ADMIN_KEY="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
        WAFER_ADMIN_KEY=$ADMIN_KEY WAFER_DATA_DIR=$TMP/wafer-data WAFER_LISTEN=$HOST:$PORT_W \
            "$WAFER" serve >"$TMP/wafer-serve.log" 2>&1 &
        PID_W=$!; PIDS+=("$PID_W")
        export WAFER_ENDPOINT=http://$HOST:$PORT_W/v1 WAFER_KEY=$ADMIN_KEY WAFER_PROJECT=default
        for _ in $(seq 1 300); do
            "$WAFER" functions list >/dev/null 2>&1 && break
            sleep 0.1
        done
        # deploy_fn ID WASM RUNTIME: deploys through the CLI and checks the route answers hello
        deploy_fn() {
            log "deploying $1 to wafer ($(du -h "$2" | cut -f1))"
            "$WAFER" deploy "$1" "$2" --runtime "$3" --public --activate >&2 \
                || { tail -n 30 "$TMP/wafer-serve.log" >&2; die "wafer deploy $1 failed"; }
            wait_http "http://$HOST:$PORT_W/fn/$1/"
            [ "$(curl -fsS "http://$HOST:$PORT_W/fn/$1/")" = "Hello, World!" ] \
                || die "/fn/$1/ does not answer Hello, World!"
        }
        if want_target W1 || want_target W2; then
            deploy_fn hello "$HELLO_WASM" rust-wasi-0.2
        fi
        if want_target W1; then
            bench W1 "wafer: GET /fn/hello/ (Rust)" "http://$HOST:$PORT_W/fn/hello/"
            bench_rate W1
        fi
        if want_target W2; then
            cat >"$TMP/execution.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"method":"GET"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Appwrite-Project"] = "default"
wrk.headers["X-Appwrite-Key"] = "$ADMIN_KEY"
LUA
            EXEC_URL=http://$HOST:$PORT_W/v1/functions/hello/executions
            curl -fsS -X POST -H 'content-type: application/json' -H 'x-appwrite-project: default' \
                -H "x-appwrite-key: $ADMIN_KEY" -d '{"method":"GET"}' "$EXEC_URL" >"$TMP/execution.json"
            grep -q '"responseBody":"Hello, World!"' "$TMP/execution.json" || die "unexpected execution: $(cat "$TMP/execution.json")"
            bench W2 "wafer: POST /v1/functions/hello/executions (Rust)" "$EXEC_URL" -s "$TMP/execution.lua"
            bench_rate W2 -m POST -H 'content-type: application/json' -H 'x-appwrite-project: default' \
                -H "x-appwrite-key: $ADMIN_KEY" -d '{"method":"GET"}'
        fi
        if want_target WH; then
            deploy_fn hello-http "$WASI_HELLO" wasi-http-0.2
            bench WH "wafer: GET /fn/hello-http/ (wasi:http, B's component)" "http://$HOST:$PORT_W/fn/hello-http/"
            bench_rate WH
        fi
        if want_target JS; then
            deploy_fn hello-js "$JS_WASM" javascript-wasi-0.2
            bench JS "wafer: GET /fn/hello-js/ (JavaScript)" "http://$HOST:$PORT_W/fn/hello-js/"
            bench_rate JS
        fi
        if want_target PY; then
            deploy_fn hello-py "$PY_WASM" python-wasi-0.2
            bench PY "wafer: GET /fn/hello-py/ (Python)" "http://$HOST:$PORT_W/fn/hello-py/"
            bench_rate PY
        fi
        # warm_fn ID WASM RUNTIME: deploys with reuseInstances on
        warm_fn() {
            deploy_fn "$1" "$2" "$3"
            "$WAFER" functions update "$1" --reuse-instances true >/dev/null \
                || die "wafer functions update $1 --reuse-instances true failed"
        }
        if want_target JSR; then
            warm_fn hello-js-warm "$JS_WASM" javascript-wasi-0.2
            bench JSR "wafer: GET /fn/hello-js-warm/ (JavaScript, reuseInstances)" "http://$HOST:$PORT_W/fn/hello-js-warm/"
            bench_rate JSR
        fi
        if want_target PYR; then
            warm_fn hello-py-warm "$PY_WASM" python-wasi-0.2
            bench PYR "wafer: GET /fn/hello-py-warm/ (Python, reuseInstances)" "http://$HOST:$PORT_W/fn/hello-py-warm/"
            bench_rate PYR
        fi
        stop "$PID_W"
    fi

    ratio() { # ratio NUM DEN -> NUM/DEN with 3 decimals, or n/a
        awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.3f", a / b }'
    }
    # verdict OK-CONDITION(awk expression over x) VALUE
    verdict() {
        [ "$2" = n/a ] || [ -z "$2" ] && { echo "n/a"; return; }
        awk -v x="$2" "BEGIN { print (($1) ? \"met\" : \"not met\") }"
    }
    {
        echo "$HTTP_STAMP"
        echo
        echo "| target | requests/s | p50 (ms) | p99 (ms) | requests | errors / non-2xx |"
        echo "|---|---:|---:|---:|---:|---:|"
        for k in "${TARGETS[@]}"; do
            printf '| %s | %.0f | %s | %s | %s | %s |\n' "${NOTE[$k]}" "${RPS[$k]}" "${P50[$k]}" \
                "${P99[$k]}" "${REQS[$k]}" "${ERRS[$k]}"
        done
        if want_target B && [ -n "$B_SKIP" ]; then
            echo "| B: wasmtime serve | skipped: $B_SKIP | | | | |"
        fi
        echo
        echo "Each target alone, after a ${WARMUP} warm-up: \`wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION} --latency\`."
        echo
        if [ -n "$RATE_SKIP" ]; then
            echo "Rate-limited runs skipped: $RATE_SKIP."
        elif [ ${#R_RATE[@]} -gt 0 ]; then
            echo "At ${RATE_FRACTION} of each target's peak (the wrk requests/s above), with \`oha -z ${RATE_DURATION} -c ${CONNECTIONS} -q RATE --latency-correction\`:"
            echo
            echo "| target | offered requests/s | served requests/s | p50 (ms) | p99 (ms) | errors / non-2xx |"
            echo "|---|---:|---:|---:|---:|---:|"
            for k in "${TARGETS[@]}"; do
                [ -n "${R_RATE[$k]:-}" ] || continue
                printf '| %s | %s | %s | %s | %s | %s |\n' "${NOTE[$k]}" "${R_RATE[$k]}" "${R_RPS[$k]}" \
                    "${R_P50[$k]}" "${R_P99[$k]}" "${R_ERR[$k]}"
            done
        fi
        echo
        echo "| ratio (requests/s at the fixed concurrency) | value |"
        echo "|---|---:|"
        for pair in W1/A W1/B W2/A W2/B W2/W1 WH/B WH/W1 JS/B PY/B JSR/JS PYR/PY; do
            n=${pair%/*} d=${pair#*/}
            [ -n "${RPS[$n]:-}" ] && [ -n "${RPS[$d]:-}" ] || continue
            printf '| %s / %s | %s |\n' "$n" "$d" "$(ratio "${RPS[$n]}" "${RPS[$d]}")"
        done
        echo
        echo "W1 = wafer's route (Rust), W2 = createExecution (Rust), WH = wafer's route serving B's own"
        echo "wasi:http component, JS/PY = wafer's route with the"
        echo "JavaScript/Python hello (a fresh instance per call), JSR/PYR = the same with the function's"
        echo "opt-in reuseInstances. Below 1: wafer serves fewer requests per second."
        echo
        echo "| target (issue) | measured | |"
        echo "|---|---:|---|"
        r=$(ratio "${RPS[W1]:-}" "${RPS[B]:-}"); echo "| route ≥ 1.5 × B requests/s | $r | $(verdict 'x >= 1.5' "$r") |"
        r=$(ratio "${RPS[W1]:-}" "${RPS[A]:-}"); echo "| route ≥ 0.40 × A requests/s | $r | $(verdict 'x >= 0.4' "$r") |"
        r=${R_P99[W1]:-n/a}; echo "| route p99 ≤ 2 ms at ${RATE_FRACTION} of peak | $r$([ "$r" = n/a ] || echo ' ms') | $(verdict 'x <= 2' "$r") |"
        r=$(ratio "${RPS[W2]:-}" "${RPS[W1]:-}"); echo "| createExecution ≥ 0.70 × route requests/s | $r | $(verdict 'x >= 0.7' "$r") |"
        r=${RPS[JS]:-n/a}; echo "| JavaScript route ≥ 3,000 requests/s (fresh instances) | $r | $(verdict 'x >= 3000' "$r") |"
        r=${RPS[JSR]:-n/a}; echo "| JavaScript route ≥ 3,000 requests/s (reuseInstances) | $r | $(verdict 'x >= 3000' "$r") |"
        r=${RPS[PY]:-n/a}; echo "| Python route ≥ 2,000 requests/s (fresh instances) | $r | $(verdict 'x >= 2000' "$r") |"
        r=${RPS[PYR]:-n/a}; echo "| Python route ≥ 2,000 requests/s (reuseInstances) | $r | $(verdict 'x >= 2000' "$r") |"
    } >"$FRAG/http.md"
fi

# ---------------------------------------------------------------------------------------------
# deploy, cold, density (benches/wafer_bench.py drives its own wafer servers)
PY_SECTIONS=
for s in deploy cold density; do
    want "$s" && PY_SECTIONS=${PY_SECTIONS:+$PY_SECTIONS,}$s
done
PY_STATUS=0
if [ -n "$PY_SECTIONS" ]; then
    PY_STAMP=$(stamp)
    log "wafer_bench.py: $PY_SECTIONS"
    python3 "$BENCH/wafer_bench.py" "$PY_SECTIONS" --wafer "$WAFER" --port $((PORT_BASE + 3)) \
        --workdir "$TMP/py" --outdir "$TMP/py-out" \
        --rust "$HELLO_WASM" --js "$JS_WASM" --python "$PY_WASM" \
        --deploy-samples-rust "$DEPLOY_SAMPLES_RUST" --deploy-samples-js "$DEPLOY_SAMPLES_JS" \
        --deploy-samples-python "$DEPLOY_SAMPLES_PYTHON" \
        --restarts "$COLD_RESTARTS" --warm-requests "$COLD_WARM_REQUESTS" \
        --functions "$DENSITY_FUNCTIONS" --active "$DENSITY_ACTIVE" \
        --active-seconds "$DENSITY_ACTIVE_SECONDS" --capacity "$CAPACITY" \
        --capacity-step "$CAPACITY_STEP" --capacity-bytes "$CAPACITY_BYTES" \
        --parallel "$DEPLOY_PARALLEL" --connections "$CONNECTIONS" --threads "$THREADS" \
        || PY_STATUS=$?
    for s in deploy cold density; do
        if want "$s" && [ -f "$TMP/py-out/$s.md" ]; then
            { echo "$PY_STAMP"; echo; cat "$TMP/py-out/$s.md"; } >"$FRAG/$s.md"
        fi
    done
    if [ "$PY_STATUS" -ne 0 ] && [ -d "$TMP/py" ]; then
        mkdir -p "$BENCH/.target"
        rm -rf "$BENCH/.target/last-failure"
        cp -r "$TMP/py" "$BENCH/.target/last-failure"
        find "$BENCH/.target/last-failure" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
        log "wafer_bench.py exited with $PY_STATUS; server logs kept in benches/.target/last-failure/"
    fi
fi

# ---------------------------------------------------------------------------------------------
# Report: splice the sections run into OUT, keeping the others
elapsed=$(($(date +%s) - started))
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
HYPER_VERSION=$(awk '/^name = "hyper"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' "$BENCH/hyper-hello/Cargo.lock")
WRK_VERSION=$(wrk -v 2>&1 | head -n 1 | awk '{print $1, $2}' || true)
OHA_VERSION=$({ [ -x "$OHA" ] && "$OHA" --version 2>/dev/null; } || echo "oha (not used)")
{
    cat <<EOF
- CPU: ${CPU_MODEL}, \`nproc\` = $(nproc); memory $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
- Kernel: \`uname -r\` = $(uname -r); \`ulimit -n\` = $(ulimit -n); \`vm.max_map_count\` = $(cat /proc/sys/vm/max_map_count)
- wafer: ${WAFER_VERSION_LINE} (${BUILT_FROM}), wasmtime 48.0.8 (embedded)
- wasmtime-cli (baseline B): ${WASMTIME_VERSION_LINE/#(not used)/$WASMTIME_VERSION, pinned (not run by the last run)}
- hyper (baseline A): ${HYPER_VERSION}
- $(rustc --version); Python $(python3 -c 'import platform; print(platform.python_version())')
- load generators: ${WRK_VERSION}; ${OHA_VERSION}
- Last run: $(date -u '+%Y-%m-%d %H:%M UTC'), sections ${SECTIONS}, ${elapsed} s including builds
EOF
} >"$FRAG/machine.md"

python3 "$BENCH/wafer_bench.py" splice "$OUT" "$FRAG"

echo
for s in http deploy cold density; do
    if [ -f "$FRAG/$s.md" ]; then
        echo "## $s"
        echo
        cat "$FRAG/$s.md"
        echo
    fi
done
log "wrote ${OUT#"$ROOT"/} (sections: ${SECTIONS}; run took ${elapsed} s)"
[ "$PY_STATUS" -eq 0 ] || die "a wafer section failed (exit $PY_STATUS); see above and benches/.target/last-failure/"
