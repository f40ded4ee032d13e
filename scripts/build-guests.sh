#!/usr/bin/env bash
# Builds the JavaScript, Python and C example functions into WebAssembly components:
#
#   guest-examples/js/<name>/index.js     -> guest-examples/js/build/<name>.wasm
#                                            (of the world named in <name>/world, if present)
#   guest-examples/python/<name>/main.py  -> guest-examples/python/build/<name>.wasm
#   guest-examples/c/<name>/*.c           -> guest-examples/c/build/<name>.wasm
#
# Usage: scripts/build-guests.sh [js] [python] [c]     (no argument: all three)
#
# Installs the pinned toolchains first: `npm ci` in guest-sdks/js (componentize-js), a venv
# with guest-sdks/python/requirements.txt (componentize-py), and for C a venv with
# guest-sdks/c/requirements.txt (zig) and `npm ci` in guest-sdks/c (jco). Idempotent and incremental: a
# toolchain is installed again only when its pin changed, and a component is rebuilt only when
# something it is built from (the example's files, the SDK, the WIT, the toolchain pin) is newer
# than it. Concurrent runs wait for each other.
#
# Environment: WAFER_GUEST_JOBS (parallel builds; default: the number of CPUs, at most 4),
# PYTHON (the interpreter that makes the venv; default python3), NPM (default npm).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JS_SDK="$ROOT/guest-sdks/js"
C_SDK="$ROOT/guest-sdks/c"
PY_SDK="$ROOT/guest-sdks/python"
PY_VENV="$PY_SDK/.venv"
JOBS="${WAFER_GUEST_JOBS:-$(n=$(nproc 2>/dev/null || echo 2); echo $((n > 4 ? 4 : n)))}"
PYTHON="${PYTHON:-python3}"
NPM="${NPM:-npm}"

log() { printf 'build-guests: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

languages=()
for arg in "$@"; do
  case "$arg" in
    js | javascript) languages+=(js) ;;
    py | python) languages+=(python) ;;
    c) languages+=(c) ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (expected js, python or c)" ;;
  esac
done
[ ${#languages[@]} -gt 0 ] || languages=(js python c)

# One run at a time: parallel test binaries may call this together.
mkdir -p "$ROOT/target"
exec 9>"$ROOT/target/.build-guests.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

# Whether $1 is missing or older than any file under the other arguments.
stale() {
  local out="$1"
  shift
  [ -e "$out" ] || return 0
  [ -n "$(find "$@" -type f -newer "$out" \
    -not -path '*/node_modules/*' -not -path '*/__pycache__/*' -not -path '*/.venv/*' \
    -print -quit 2>/dev/null)" ]
}

# `npm ci` in the SDK directory $1 (naming what it installs: $2) when its lock changed.
npm_install() {
  local sdk="$1" what="$2"
  command -v node >/dev/null || die "node is not installed (Node.js 20 or newer is needed)"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || die "Node.js $major is too old: 20 or newer is needed"
  # npm writes node_modules/.package-lock.json on every install.
  if stale "$sdk/node_modules/.package-lock.json" "$sdk/package-lock.json" "$sdk/package.json"; then
    log "installing $what (npm ci in ${sdk#"$ROOT"/})"
    local npm_log
    npm_log="$(mktemp)"
    if ! (cd "$sdk" && "$NPM" ci --no-audit --no-fund --loglevel=error) >"$npm_log" 2>&1; then
      if grep -q "in sync" "$npm_log"; then
        # A lock written where the registry serves only this platform's optional packages
        # (native bindings of jco's dependencies) lacks the others, and `npm ci` refuses it.
        # `npm install --no-save` installs the same locked versions and leaves the lock alone.
        log "package-lock.json lacks other platforms' optional packages; installing the locked versions with npm install --no-save"
        (cd "$sdk" && "$NPM" install --no-save --no-audit --no-fund --loglevel=error) >&2
      else
        cat "$npm_log" >&2
        rm -f "$npm_log"
        die "npm ci failed in ${sdk#"$ROOT"/}"
      fi
    fi
    rm -f "$npm_log"
    touch "$sdk/node_modules/.package-lock.json"
  fi
}

install_js() {
  npm_install "$JS_SDK" componentize-js
}

install_python() {
  command -v "$PYTHON" >/dev/null || die "$PYTHON is not installed (Python 3.9 or newer is needed)"
  if [ ! -x "$PY_VENV/bin/python" ]; then
    log "creating the venv guest-sdks/python/.venv"
    "$PYTHON" -m venv "$PY_VENV" >&2
  fi
  local marker="$PY_VENV/.wafer-requirements.txt"
  if ! cmp -s "$PY_SDK/requirements.txt" "$marker"; then
    log "installing componentize-py (pip install -r guest-sdks/python/requirements.txt)"
    "$PY_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r "$PY_SDK/requirements.txt" >&2
    cp "$PY_SDK/requirements.txt" "$marker"
  fi
}

# C: zig (PyPI ziglang) in guest-sdks/c/.venv, jco (componentNew and the WASI preview1 adapter)
# in guest-sdks/c/node_modules, and a check that the committed bindings match wit/.
install_c() {
  command -v "$PYTHON" >/dev/null || die "$PYTHON is not installed (Python 3.9 or newer is needed for zig)"
  if [ ! -x "$C_SDK/.venv/bin/python" ]; then
    log "creating the venv guest-sdks/c/.venv"
    "$PYTHON" -m venv "$C_SDK/.venv" >&2
  fi
  if ! cmp -s "$C_SDK/requirements.txt" "$C_SDK/.venv/.wafer-requirements.txt"; then
    log "installing zig (pip install -r guest-sdks/c/requirements.txt)"
    "$C_SDK/.venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r "$C_SDK/requirements.txt" >&2
    cp "$C_SDK/requirements.txt" "$C_SDK/.venv/.wafer-requirements.txt"
  fi
  npm_install "$C_SDK" jco
  "$C_SDK/bindgen.sh" --verify || die "the C bindings are stale"
}

# Builds run as background jobs, at most $JOBS at a time; each writes its output to a log that
# is shown when it fails.
pids=()
names=()
logs=()
failed=0
LOG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/wafer-build-guests.XXXXXX")"
trap 'rm -rf "$LOG_DIR"' EXIT

reap_one() {
  local pid="$1" name="$2" logfile="$3"
  if wait "$pid"; then
    log "$(tail -n 1 "$logfile")"
  else
    failed=1
    log "FAILED: $name"
    sed 's/^/    /' "$logfile" >&2
  fi
}

wait_for_slot() {
  while [ ${#pids[@]} -ge "$JOBS" ]; do
    reap_one "${pids[0]}" "${names[0]}" "${logs[0]}"
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
    logs=("${logs[@]:1}")
  done
}

wait_all() {
  while [ ${#pids[@]} -gt 0 ]; do
    reap_one "${pids[0]}" "${names[0]}" "${logs[0]}"
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
    logs=("${logs[@]:1}")
  done
}

spawn() {
  local name="$1"
  shift
  wait_for_slot
  local logfile="$LOG_DIR/${name//\//_}.log"
  "$@" >"$logfile" 2>&1 &
  pids+=("$!")
  names+=("$name")
  logs+=("$logfile")
}

built=0
fresh=0
started=$SECONDS

for language in "${languages[@]}"; do
  case "$language" in
    js)
      install_js
      examples="$ROOT/guest-examples/js"
      for dir in "$examples"/*/; do
        name="$(basename "$dir")"
        [ -f "$dir/index.js" ] || continue
        out="$examples/build/$name.wasm"
        # An example with a `world` file targets that world (wasi:http/proxy: fetch-event).
        world=function
        [ -f "$dir/world" ] && world="$(tr -d '[:space:]' <"$dir/world")"
        if stale "$out" "$dir" "$JS_SDK/src" "$JS_SDK/build.mjs" "$JS_SDK/package-lock.json" "$ROOT/wit"; then
          built=$((built + 1))
          spawn "js/$name" node "$JS_SDK/build.mjs" "$dir/index.js" -o "$out" --world "$world"
        else
          fresh=$((fresh + 1))
        fi
      done
      ;;
    python)
      install_python
      examples="$ROOT/guest-examples/python"
      for dir in "$examples"/*/; do
        name="$(basename "$dir")"
        [ -f "$dir/main.py" ] || continue
        out="$examples/build/$name.wasm"
        if stale "$out" "$dir" "$PY_SDK/src" "$PY_SDK/build.py" "$PY_SDK/requirements.txt" "$ROOT/wit"; then
          built=$((built + 1))
          spawn "python/$name" "$PY_VENV/bin/python" "$PY_SDK/build.py" "$dir/main.py" -o "$out"
        else
          fresh=$((fresh + 1))
        fi
      done
      ;;
    c)
      install_c
      examples="$ROOT/guest-examples/c"
      for dir in "$examples"/*/; do
        name="$(basename "$dir")"
        sources=("$dir"*.c)
        [ -e "${sources[0]}" ] || continue
        out="$examples/build/$name.wasm"
        if stale "$out" "$dir" "$C_SDK/src" "$C_SDK/include" "$C_SDK/bindings" "$C_SDK/build.mjs" \
          "$C_SDK/package-lock.json" "$C_SDK/requirements.txt"; then
          built=$((built + 1))
          spawn "c/$name" node "$C_SDK/build.mjs" "${sources[@]}" -o "$out"
        else
          fresh=$((fresh + 1))
        fi
      done
      ;;
  esac
done
wait_all

[ "$failed" -eq 0 ] || die "some components did not build (see above)"
log "done in $((SECONDS - started)) s: $built built, $fresh up to date (${languages[*]})"
