#!/usr/bin/env bash
# The main job, from a fresh clone: set up, then the side-by-side benchmark of native, pure and
# the official SDK's request path.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
exec .venv/bin/mcp-fastpath bench "$@"
