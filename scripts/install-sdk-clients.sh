#!/usr/bin/env bash
# Installs the official Appwrite SDKs that tests/tests/all/official_sdks.rs drives wafer with,
# and the test suite's Python tools (tests/tools/requirements.txt, into tests/tools/.venv):
#   - npm `node-appwrite` (pinned in tests/sdk/node/package.json, locked by package-lock.json)
#     into tests/sdk/node/node_modules, with `npm ci`;
#   - PyPI `appwrite` (pinned with its dependencies in tests/sdk/python/requirements.txt) into
#     the virtualenv tests/sdk/python/.venv.
# Safe to run again: each half is skipped while its pins are unchanged since the last install.
# Works non-interactively (CI=true, no stdin) from a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_DIR=tests/sdk/node
PY_DIR=tests/sdk/python
VENV="$PY_DIR/.venv"

export CI="${CI:-true}"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1

fingerprint() {
    # What a finished install was made from: the pin files and the tool's own version.
    { cat "$@"; } | sha256sum | cut -d' ' -f1
}

apt_install() {
    scripts/apt-install.sh "$@"
}

# --- Node.js: node-appwrite -------------------------------------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 18 ]; then
    echo "error: node-appwrite needs Node.js 18 or later; found $(node --version)" >&2
    exit 1
fi

node_stamp="$NODE_DIR/node_modules/.wafer-install-stamp"
node_want="$(fingerprint "$NODE_DIR/package.json" "$NODE_DIR/package-lock.json" <(node --version))"
if [ -f "$node_stamp" ] && [ "$(cat "$node_stamp")" = "$node_want" ] \
    && [ -f "$NODE_DIR/node_modules/node-appwrite/package.json" ]; then
    echo "==> node-appwrite already installed in $NODE_DIR/node_modules"
else
    echo "==> installing node-appwrite into $NODE_DIR/node_modules (npm ci)"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
    echo "$node_want" >"$node_stamp"
fi
(cd "$NODE_DIR" && node -e '
    const v = require("./node_modules/node-appwrite/package.json").version;
    const want = require("./package.json").dependencies["node-appwrite"];
    if (v !== want) { console.error(`node-appwrite ${v} installed, ${want} pinned`); process.exit(1); }
    console.log(`    node-appwrite ${v} (Node.js ${process.version})`);
')

# --- Python: appwrite -------------------------------------------------------------------------
PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null; then
    apt_install python3 python3-venv
fi

py_stamp="$VENV/.wafer-install-stamp"
py_want="$(fingerprint "$PY_DIR/requirements.txt" <("$PYTHON" --version))"
if [ -f "$py_stamp" ] && [ "$(cat "$py_stamp")" = "$py_want" ] && [ -x "$VENV/bin/python" ]; then
    echo "==> PyPI appwrite already installed in $VENV"
else
    echo "==> creating $VENV and installing PyPI appwrite"
    rm -rf "$VENV"
    if ! "$PYTHON" -m venv "$VENV"; then
        # Debian's own python3 needs the venv module as a separate package.
        rm -rf "$VENV"
        apt_install python3-venv
        "$PYTHON" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --requirement "$PY_DIR/requirements.txt" </dev/null
    echo "$py_want" >"$py_stamp"
fi
"$VENV/bin/python" - "$PY_DIR/requirements.txt" <<'EOF'
import importlib.metadata
import re
import sys

pinned = re.search(r"^appwrite==(\S+)", open(sys.argv[1]).read(), re.M).group(1)
installed = importlib.metadata.version("appwrite")
if installed != pinned:
    sys.exit(f"appwrite {installed} installed, {pinned} pinned")
import appwrite.services.functions  # noqa: E402,F401 - the SDK imports cleanly
print(f"    appwrite {installed} (Python {sys.version.split()[0]})")
EOF

# --- Python: the test suite's tools (openapi-spec-validator) -----------------------------------
TOOLS_DIR=tests/tools
TOOLS_VENV="$TOOLS_DIR/.venv"
tools_stamp="$TOOLS_VENV/.wafer-install-stamp"
tools_want="$(fingerprint "$TOOLS_DIR/requirements.txt" <("$PYTHON" --version))"
if [ -f "$tools_stamp" ] && [ "$(cat "$tools_stamp")" = "$tools_want" ] && [ -x "$TOOLS_VENV/bin/python" ]; then
    echo "==> test tools already installed in $TOOLS_VENV"
else
    echo "==> creating $TOOLS_VENV and installing openapi-spec-validator"
    rm -rf "$TOOLS_VENV"
    "$PYTHON" -m venv "$TOOLS_VENV"
    "$TOOLS_VENV/bin/python" -m pip install --quiet --requirement "$TOOLS_DIR/requirements.txt" </dev/null
    echo "$tools_want" >"$tools_stamp"
fi
"$TOOLS_VENV/bin/python" -c 'import openapi_spec_validator; print("    openapi-spec-validator installed")'
