#!/usr/bin/env bash
# Builds what a release uploads for x86_64 Linux into dist/ (emptied first), every file from one sdist:
#
#   mcp_fastpath-V.tar.gz          the sdist (maturin's: the Cargo workspace, python/, LICENSE, README,
#                                  and the in-tree build backend build_backend/fastpath_build)
#   mcp_fastpath-V-cp311-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
#                                  the native wheel: maturin --release --zig for glibc 2.17 (the oldest
#                                  glibc Rust's std supports), stripped, built from the unpacked sdist
#   mcp_fastpath-V-py3-none-any.whl  the pure wheel, from the same sdist through the in-tree backend
#                                  (MCP_FASTPATH_BUILD=pure): the same package without the extension
#
# then checks them (scripts/check_dist.py): `auditwheel show` places the native wheel at
# manylinux_2_17_x86_64 and its extension has no symbol table; both wheels carry identical METADATA
# and LICENSE, and the same files but the extension; the sdist holds what both builds need.
#
# Needs Python >= 3.11 (PYTHON, default python3) and cargo. The build tools are pinned below and
# installed from PyPI into target/dist-tools/ (zig comes as the `ziglang` wheel).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

MATURIN_VERSION=1.16.0
ZIGLANG_VERSION=0.17.1
AUDITWHEEL_VERSION=6.8.2
BUILD_VERSION=1.6.1
MANYLINUX=manylinux2014
TARGET=x86_64-unknown-linux-gnu

python=${PYTHON:-python3}
tools=$root/target/dist-tools
if [ ! -x "$tools/bin/python" ]; then
    "$python" -m venv "$tools"
fi
"$tools/bin/python" -m pip install --quiet --disable-pip-version-check \
    "maturin==$MATURIN_VERSION" "ziglang==$ZIGLANG_VERSION" "auditwheel==$AUDITWHEEL_VERSION" "build==$BUILD_VERSION"
export PATH="$tools/bin:$PATH"

logs=$root/target/dist-logs
mkdir -p "$logs"
# step LABEL CMD...: run CMD with its output in target/dist-logs/LABEL.log, shown only if it fails
# (maturin and cargo are chatty, and warn that pip will not call maturin directly: by design).
step() {
    local label=$1
    shift
    echo "build-dist: $label"
    if ! "$@" >"$logs/$label.log" 2>&1; then
        cat "$logs/$label.log" >&2
        echo "build-dist: $label failed (log: $logs/$label.log)" >&2
        exit 1
    fi
}

version=$("$tools/bin/python" -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])")
dist=$root/dist
rm -rf "$dist"
mkdir -p "$dist"

step sdist python -m build --sdist --outdir "$dist" .
sdist=$dist/mcp_fastpath-$version.tar.gz

# Both wheels come from the unpacked sdist, so a missing file there fails here, not on a user's
# machine. `tar -m`: fresh mtimes, or cargo could take an older build of changed sources as current.
unpacked=$root/target/dist-sdist
rm -rf "$unpacked"
mkdir -p "$unpacked"
tar -xzmf "$sdist" -C "$unpacked"
src=$unpacked/mcp_fastpath-$version

native_wheel() (
    cd "$src" && maturin build --release --zig --strip --compatibility "$MANYLINUX" --auditwheel check --target "$TARGET" \
        --interpreter "$tools/bin/python" --target-dir "$root/target/dist-cargo" --out "$dist"
)
step native-wheel native_wheel

step pure-wheel env MCP_FASTPATH_BUILD=pure python -m build --wheel --outdir "$dist" "$src"

python scripts/check_dist.py "$dist" "$version"
