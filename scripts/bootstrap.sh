#!/usr/bin/env bash
# Sets up a fresh machine for this project, idempotently: the .venv virtualenv with the project
# installed editable (the native module built by maturin, release profile) and its dev extras,
# and the Debian redis-server the tests start on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

if ! command -v redis-server >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    else
        echo "bootstrap: redis-server missing and not root; the Redis tests will fail" >&2
    fi
fi
