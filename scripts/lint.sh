#!/usr/bin/env bash
# Lint, as CI runs it: rustfmt and clippy (warnings are errors) on the Rust workspace, ruff format
# and ruff check on the Python tree, stubtest of the native module's stub. Fix with `cargo fmt --all` and `.venv/bin/ruff format . && .venv/bin/ruff check --fix .`.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --quiet --workspace --all-targets -- -D warnings
.venv/bin/ruff format --check --quiet .
.venv/bin/ruff check --quiet .
# The native module's stub must describe the built module (names, signatures, classes).
.venv/bin/python -m mypy.stubtest mcp_fastpath._native --allowlist .mypy-stubtest-allowlist
