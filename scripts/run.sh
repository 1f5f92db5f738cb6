#!/usr/bin/env bash
# The main job, from a fresh clone: set up, then `mcp-fastpath demo` — the example server on
# embedded defaults (fresh dev keys, in-memory replay cache), a signed client session against it,
# and a short native / pure / SDK throughput table.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
exec .venv/bin/mcp-fastpath demo "$@"
