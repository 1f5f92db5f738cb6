#!/usr/bin/env bash
# The test suite, from a fresh clone: sets everything up, then the Rust core's own tests and the
# Python suite on both backends (native and pure), with the CI hypothesis profile, then the
# distribution test: the sdist and both wheels built by scripts/build-dist.sh, installed into fresh
# virtualenvs without Rust on every CPython >= 3.11 found, and run (scripts/test-dist.sh, a few
# minutes). Arguments go to pytest; a run narrowed by them skips the distribution test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
scripts/lint.sh
cargo test --quiet --workspace --exclude mcp-fastpath-python
.venv/bin/python -c "import mcp_fastpath._native"  # the native module must be built, never skipped
HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-ci} .venv/bin/python -m pytest -q "$@"
if [ $# -eq 0 ]; then
    scripts/test-dist.sh
fi
