#!/usr/bin/env bash
# Sets up a fresh machine for this project, idempotently: the .venv virtualenv with the project
# installed editable (the native module built by maturin, release profile) and its dev extras,
# and the Debian redis-server and nginx the tests start on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

# redis-server for the Redis tests (and Redis Cluster: redis-cli comes with it); nginx for the
# fleet test (tests/test_fleet.py, scripts/fleet.sh), which runs the nodes behind it.
missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx"
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        # shellcheck disable=SC2086
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    else
        echo "bootstrap: missing$missing and not root; the tests that need them will fail" >&2
    fi
fi
