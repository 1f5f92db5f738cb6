#!/usr/bin/env bash
# Fuzz the pure-Rust cores (fuzz/: cargo-fuzz, libFuzzer, AddressSanitizer) for FUZZ_SECONDS per
# target (default 60); targets named as arguments narrow the run. Not part of scripts/test.sh:
# it needs the nightly toolchain and takes minutes. Each target starts from its committed seeds in
# fuzz/corpus/<target>/ and writes what it discovers to fuzz/work/<target>/ (ignored by git), so
# the committed seeds only change by hand. A crash stops that target, leaves its input in
# fuzz/artifacts/<target>/, and makes the script exit non-zero once every target has run.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${FUZZ_SECONDS:-60}
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo +nightly install cargo-fuzz --locked
fi
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

cargo +nightly fuzz build
failed=()
summary=()
for target in "${targets[@]}"; do
    echo "== $target: ${seconds}s (log: fuzz/work/$target.log)"
    mkdir -p "work/$target"
    log="work/$target.log"
    # libFuzzer reports every new input; the log keeps that, the terminal gets the summary.
    if ! cargo +nightly fuzz run "$target" "work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 \
        >"$log" 2>&1; then
        failed+=("$target")
        tail -n 40 "$log" >&2
    fi
    # The last status line holds the coverage (cov: edges, ft: features, corp: inputs kept).
    status=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [^ ]+' || true)
    runs=$(grep -oE 'number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
    speed=$(grep -oE 'average_exec_per_sec: +[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
    summary+=("$target: $runs runs ($speed/s), $status")
    echo "${summary[-1]}"
done

echo "== summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in: ${failed[*]} (inputs in fuzz/artifacts/<target>/)" >&2
    exit 1
fi
echo "fuzz: no crash in ${#targets[@]} targets"
