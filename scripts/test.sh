#!/usr/bin/env bash
# The test suite, from a fresh clone: sets everything up, then the Rust core's own tests and the
# Python suite on both backends (native and pure), with the CI hypothesis profile.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
cargo test --quiet --workspace --exclude mcp-fastpath-python
.venv/bin/python -c "import mcp_fastpath._native"  # the native module must be built, never skipped
HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-ci} .venv/bin/python -m pytest -q "$@"
