#!/usr/bin/env bash
# Run the codec crate's unit tests under Miri (nightly), which checks the parser's `unsafe` code
# (scratch stacks reused across lifetimes, in-place writes, moved-out tails, unchecked UTF-8) for
# undefined behaviour. Under Miri the SSE2 string scan gives way to its portable twin
# (`cfg(miri)`). The verify crate has no `unsafe` of its own and calls AWS-LC (C), which Miri
# cannot run, so it is not covered. Two tests that only repeat covered paths at scale (every
# truncation and mutation of many bodies, 600 rounds of table reuse) are skipped: they would take
# hours interpreted. Not part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo +nightly miri --version >/dev/null 2>&1; then
    rustup +nightly component add miri rust-src
fi
cargo +nightly miri test -p mcp-fastpath-codec -- \
    --skip json::tests::outlined_parse_agrees_with_parse \
    --skip json::tests::reused_key_tables_forget_the_previous_object "$@"
