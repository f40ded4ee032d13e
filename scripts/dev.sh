#!/usr/bin/env bash
# Sets up a fresh machine, builds wafer and the example functions, starts `wafer serve` and
# deploys the examples, then keeps serving until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh

echo "==> building wafer and the example functions"
cargo build -p wafer-cli
cargo build --release --target wasm32-wasip2 --manifest-path guest-examples/rust/Cargo.toml

PORT="${PORT:-8080}"
API="http://127.0.0.1:${PORT}/v1"
export WAFER_ADMIN_KEY="${WAFER_ADMIN_KEY:-dev-admin-key-change-me-0123456789abcdef}"
export WAFER_DATA_DIR="${WAFER_DATA_DIR:-.wafer}"

./target/debug/wafer serve --listen "127.0.0.1:${PORT}" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT INT TERM

export WAFER_ENDPOINT="${API}" WAFER_KEY="${WAFER_ADMIN_KEY}" WAFER_PROJECT=default
for _ in $(seq 1 100); do
    ./target/debug/wafer functions list >/dev/null 2>&1 && break
    sleep 0.2
done

wasm_dir=guest-examples/rust/target/wasm32-wasip2/release
for example in hello echo env responses; do
    ./target/debug/wafer deploy "${example}" "${wasm_dir}/${example}.wasm" \
        --runtime rust-wasi-0.2 --public --activate
done
# A standard wasi:http component, whose response streams.
./target/debug/wafer deploy events "${wasm_dir}/http_stream.wasm" \
    --runtime wasi-http-0.2 --public --activate

cat <<MSG

wafer is running with the examples deployed (admin key: ${WAFER_ADMIN_KEY}).
Console: http://127.0.0.1:${PORT}/console/ (project default, the admin key above)
Try:
  curl http://127.0.0.1:${PORT}/fn/hello/
  curl -X POST http://127.0.0.1:${PORT}/fn/hello/
  curl "http://127.0.0.1:${PORT}/fn/echo/items/7?color=red" -d 'hi'
  curl "http://127.0.0.1:${PORT}/fn/responses/?type=json"
  curl -H "Host: hello.functions.localhost" http://127.0.0.1:${PORT}/
  curl -N "http://127.0.0.1:${PORT}/fn/events/?count=5"     # server-sent events, as they happen
  WAFER_ENDPOINT=${API} WAFER_KEY=${WAFER_ADMIN_KEY} ./target/debug/wafer logs hello
Press Ctrl-C to stop.
MSG
wait "$server"
