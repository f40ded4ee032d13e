#!/usr/bin/env bash
# Installs Debian packages with apt-get as the project's scripts need them, or says what to
# install when it cannot (not root, or no apt-get). Usage: scripts/apt-install.sh PACKAGE...
set -euo pipefail
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing $* with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" </dev/null
else
    echo "error: $* is needed; install it (apt-get install $*) and run this again" >&2
    exit 1
fi
