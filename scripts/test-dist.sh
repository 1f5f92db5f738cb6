#!/usr/bin/env bash
# Installs what a user installs, the way pip installs it, and checks that it works. For every
# CPython >= 3.11 found here (TEST_DIST_PYTHONS="python3.12 /path/to/python3.13" overrides), in
# fresh virtualenvs whose PATH has no cargo or rustc:
#
#   native  `pip install --no-index --find-links dist/ mcp-fastpath`: the native and the pure wheel
#           are both offered, pip must take the platform one (skipped where dist/ has none for here)
#   pure    the py3-none-any wheel, which pip takes wherever no platform wheel matches (checked
#           first with `pip download --platform` for the platforms this machine is not)
#   sdist   `pip install --no-index dist/mcp_fastpath-V.tar.gz`: built without Rust and without
#           any download by the in-tree backend, into the pure wheel, with its one-line notice
#
# then, from a temporary directory (never the checkout): scripts/check_install.py (backend, the
# wheel pip chose, LICENSE, py.typed, a tools/call through fast_http_app on a real uvicorn server
# from a real HTTP client), `mcp-fastpath --version` and `mcp-fastpath demo --quick`.
#
#   scripts/test-dist.sh [--rebuild | --no-build]
#
# The artefacts are scripts/build-dist.sh's, rebuilt first when dist/ is missing or older than any
# tracked file (--rebuild: always; --no-build: never, test dist/ as it is, as the release workflow
# does with each platform's wheel). Dependencies come from PyPI (pip's cache makes repeat runs
# quick); mcp-fastpath itself only from dist/. Logs: target/test-dist/. Runs on Linux, macOS and
# Windows (Git Bash).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build=auto
case ${1:-} in
    --rebuild) build=always ;;
    --no-build) build=never ;;
    "") ;;
    *) echo "usage: scripts/test-dist.sh [--rebuild | --no-build]" >&2; exit 2 ;;
esac

host_python=${PYTHON:-python3}
version=$("$host_python" -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])")
sdist=dist/mcp_fastpath-$version.tar.gz
pure_wheel=dist/mcp_fastpath-$version-py3-none-any.whl

# dist/ is current when its sdist is newer than every tracked file.
dist_is_current() {
    [ -f "$sdist" ] && [ -f "$pure_wheel" ] && compgen -G "dist/mcp_fastpath-$version-cp3*.whl" >/dev/null &&
        git ls-files -z 2>/dev/null | "$host_python" -c '
import os, sys
made = os.path.getmtime(sys.argv[1])
tracked = [f for f in sys.stdin.read().split("\0") if f and os.path.exists(f)]
sys.exit(1 if not tracked or any(os.path.getmtime(f) > made for f in tracked) else 0)' "$sdist"
}
if [ $build = always ] || { [ $build = auto ] && ! dist_is_current; }; then
    scripts/build-dist.sh
elif [ $build = auto ]; then
    echo "test-dist: reusing dist/ (newer than every tracked file; --rebuild to build anew)"
fi
for artefact in "$sdist" "$pure_wheel"; do
    [ -f "$artefact" ] || { echo "test-dist: $artefact missing" >&2; exit 1; }
done

# --- interpreters --------------------------------------------------------------------------------
pythons=()
if [ -n "${TEST_DIST_PYTHONS:-}" ]; then
    read -ra pythons <<<"$TEST_DIST_PYTHONS"
else
    pyenv_root=$(pyenv root 2>/dev/null || true)
    for minor in 11 12 13 14 15; do
        for candidate in "python3.$minor" ${pyenv_root:+"$pyenv_root"/versions/3.$minor.*/bin/python3.$minor}; do
            if "$candidate" -c "import ensurepip, venv" >/dev/null 2>&1; then
                pythons+=("$(command -v "$candidate")")
                break
            fi
        done
    done
fi
if [ ${#pythons[@]} -eq 0 ]; then
    echo "test-dist: no CPython >= 3.11 with venv found" >&2
    exit 1
fi

# --- a PATH without Rust -------------------------------------------------------------------------
no_rust_path=
IFS=: read -ra path_dirs <<<"$PATH"
for dir in "${path_dirs[@]}"; do
    for tool in cargo rustc cargo.exe rustc.exe; do
        [ -e "$dir/$tool" ] && continue 2
    done
    no_rust_path=${no_rust_path:+$no_rust_path:}$dir
done

work=$(mktemp -d "${TMPDIR:-/tmp}/mcp-fastpath-test-dist.XXXXXX")
logs=$root/target/test-dist
rm -rf "$logs"
mkdir -p "$logs"
trap 'rm -rf "$work"' EXIT

# in_user_env CMD...: CMD from the temporary directory, with no Rust on PATH and nothing of the
# checkout on PYTHONPATH, as a user's shell would run it.
in_user_env() {
    (cd "$work" && env -u CARGO -u RUSTC -u PYTHONPATH -u MCP_FASTPATH_BACKEND PATH="$no_rust_path" "$@")
}

# --- pip's choice, for this platform and the others ----------------------------------------------
# platform tag for `pip download --platform` / the native wheel in dist/ that must win there
platforms=(
    "manylinux2014_x86_64 *-manylinux*_x86_64*.whl"
    "manylinux2014_aarch64 *-manylinux*_aarch64*.whl"
    "musllinux_1_2_x86_64 *-musllinux_*_x86_64*.whl"
    "musllinux_1_2_aarch64 *-musllinux_*_aarch64*.whl"
    "macosx_11_0_arm64 *-macosx_*_arm64.whl"
    "macosx_11_0_x86_64 *-macosx_*_x86_64.whl"
    "win_amd64 *-win_amd64.whl"
)
checked=()
for entry in "${platforms[@]}"; do
    platform=${entry%% *}
    want=$(cd dist && compgen -G "mcp_fastpath-$version-cp3${entry#* }" || basename "$pure_wheel")
    picked=$(in_user_env "${pythons[0]}" -m pip download --quiet --no-index --find-links "$root/dist" --no-deps \
        --only-binary=:all: --platform "$platform" --python-version 3.12 --dest "$work/download-$platform" \
        "mcp-fastpath==$version" && ls "$work/download-$platform")
    if [ "$picked" != "$want" ]; then
        echo "test-dist: for $platform pip picked '$picked', expected $want" >&2
        exit 1
    fi
    checked+=("$platform → ${want#mcp_fastpath-$version-}")
done
printf 'test-dist: pip download --platform picks:\n'
printf '    %s\n' "${checked[@]}"

# --- one fresh virtualenv per interpreter and artefact ------------------------------------------
failed=0
for python in "${pythons[@]}"; do
    pyver=$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
    # Is a native wheel in dist/ installable here? Ask this interpreter's pip, as a user's would.
    here=$(in_user_env "$python" -m pip download --quiet --no-index --find-links "$root/dist" --no-deps \
        --dest "$work/here-$pyver" "mcp-fastpath==$version" && ls "$work/here-$pyver")
    kinds=(pure sdist)
    if [ "$here" != "$(basename "$pure_wheel")" ]; then
        kinds=(native pure sdist)
    else
        echo "test-dist: no native wheel in dist/ for CPython $pyver on this platform: pure and sdist only"
    fi
    for kind in "${kinds[@]}"; do
        label=py$pyver-$kind
        venv=$work/$label
        bin=$venv/bin
        log=$logs/$label.log
        started=$SECONDS
        case $kind in
            native) install=(--find-links "$root/dist" "mcp-fastpath==$version") backend=native ;;
            pure) install=("$root/$pure_wheel") backend=pure ;;
            sdist) install=(-v "$root/$sdist") backend=pure ;;
        esac
        if ! {
            in_user_env "$python" -m venv "$venv" &&
                { [ -d "$bin" ] || bin=$venv/Scripts; } &&
                in_user_env "$bin/python" -m pip install --disable-pip-version-check --no-cache-dir --no-index \
                    --no-deps "${install[@]}" &&
                in_user_env "$bin/python" -m pip install --disable-pip-version-check --quiet \
                    "mcp-fastpath[serve]==$version" &&
                { [ $kind != sdist ] || grep -q "mcp-fastpath: no Rust toolchain (cargo) on PATH" "$log"; } &&
                in_user_env "$bin/python" "$root/scripts/check_install.py" $backend >"$log.summary" &&
                in_user_env "$bin/mcp-fastpath" --version &&
                in_user_env "$bin/mcp-fastpath" demo --quick
        } >>"$log" 2>&1; then
            echo "test-dist: FAIL $label (log: $log)" >&2
            tail -n 25 "$log" >&2
            failed=1
            continue
        fi
        echo "test-dist: ok   $label ($((SECONDS - started)) s): $(cat "$log.summary")"
    done
done
exit $failed
