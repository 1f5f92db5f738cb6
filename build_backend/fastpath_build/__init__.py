"""The PEP 517 backend of mcp-fastpath: the native wheel when Rust is there, the pure one otherwise.

With `cargo` on PATH the builds are maturin's, unchanged: the wheel carries the native module,
and `pip install -e .` builds it in place (release profile, from `[tool.maturin]`). Without it the
wheel is the pure-Python twin (`py3-none-any`, the same API) and one line on stderr says so, so
installing from the sdist never fails for want of a compiler. Two environment variables change
that choice:

- `MCP_FASTPATH_REQUIRE_NATIVE=1`: a missing toolchain is an error instead of a pure wheel.
- `MCP_FASTPATH_BUILD=pure`: the pure wheel even where Rust is available (scripts/build-dist.sh).

maturin is requested (through `get_requires_for_build_*`) only when it will build, and it runs
with `MATURIN_NO_INSTALL_RUST=1`: this backend never downloads a toolchain. An sdist is always
maturin's (it reads the Cargo workspace), so building one needs `cargo`.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import wheel
from .metadata import Project

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_editable",
    "prepare_metadata_for_build_wheel",
]

MATURIN = "maturin>=1.9,<2"  # 1.9: PEP 639 (`license = "MIT"`, `license-files`)
NOTICE = (
    "mcp-fastpath: no Rust toolchain (cargo) on PATH, building the pure-Python wheel "
    "(same API, slower; MCP_FASTPATH_REQUIRE_NATIVE=1 makes this an error)"
)

ConfigSettings = dict[str, Any] | None


class BuildRefused(SystemExit):
    """Ends the hook with a one-line reason instead of a traceback (pip prints it as the error)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"mcp-fastpath: {reason}")


@functools.cache
def cargo_version() -> str | None:
    """`cargo --version` of the toolchain on PATH, or None when there is none that runs."""
    cargo = shutil.which("cargo")
    if cargo is None:
        return None
    try:
        out = subprocess.run([cargo, "--version"], capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    # A rustup proxy without an installed toolchain exits non-zero here.
    return out.stdout.strip() if out.returncode == 0 and out.stdout.startswith("cargo ") else None


@functools.cache
def builds_native() -> bool:
    """Whether this build uses maturin; raises `BuildRefused` when the choice cannot be honoured."""
    mode = os.environ.get("MCP_FASTPATH_BUILD", "").strip().lower() or "auto"
    required = os.environ.get("MCP_FASTPATH_REQUIRE_NATIVE", "").strip() not in ("", "0")
    if mode not in ("auto", "pure"):
        raise BuildRefused(f"MCP_FASTPATH_BUILD must be auto or pure, not {mode!r}")
    if mode == "pure":
        if required:
            raise BuildRefused("MCP_FASTPATH_BUILD=pure and MCP_FASTPATH_REQUIRE_NATIVE=1 contradict each other")
        return False
    if cargo_version() is not None:
        return True
    if required:
        raise BuildRefused(
            "MCP_FASTPATH_REQUIRE_NATIVE=1 but no Rust toolchain (cargo) is on PATH; "
            "install one from https://rustup.rs or unset it to get the pure-Python wheel"
        )
    return False


def _maturin() -> Any:
    os.environ["MATURIN_NO_INSTALL_RUST"] = "1"  # never puccinialin's toolchain download
    import maturin

    return maturin


def _project() -> Project:
    return Project.load(Path.cwd())  # PEP 517: hooks run in the source tree


# maturin is not importable yet when these run (they say what to install). Its own answer would
# add only puccinialin (the toolchain download, off here) or cffi (not our bindings).
def get_requires_for_build_wheel(config_settings: ConfigSettings = None) -> list[str]:
    return [MATURIN] if builds_native() else []


def get_requires_for_build_editable(config_settings: ConfigSettings = None) -> list[str]:
    return [MATURIN] if builds_native() else []


def get_requires_for_build_sdist(config_settings: ConfigSettings = None) -> list[str]:
    return [MATURIN] if cargo_version() is not None else []  # build_sdist refuses without cargo


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: ConfigSettings = None) -> str:
    if builds_native():
        return _maturin().prepare_metadata_for_build_wheel(metadata_directory, config_settings)
    return wheel.write_metadata(_project(), Path(metadata_directory))


def prepare_metadata_for_build_editable(metadata_directory: str, config_settings: ConfigSettings = None) -> str:
    if builds_native():
        return _maturin().prepare_metadata_for_build_editable(metadata_directory, config_settings)
    return wheel.write_metadata(_project(), Path(metadata_directory))


def build_wheel(
    wheel_directory: str, config_settings: ConfigSettings = None, metadata_directory: str | None = None
) -> str:
    if builds_native():
        return _maturin().build_wheel(wheel_directory, config_settings, metadata_directory)
    _notice()
    return wheel.build_pure(_project(), Path(wheel_directory))


def build_editable(
    wheel_directory: str, config_settings: ConfigSettings = None, metadata_directory: str | None = None
) -> str:
    if builds_native():
        return _maturin().build_editable(wheel_directory, config_settings, metadata_directory)
    _notice()
    return wheel.build_pure(_project(), Path(wheel_directory), editable=True)


def build_sdist(sdist_directory: str, config_settings: ConfigSettings = None) -> str:
    if cargo_version() is None:
        raise BuildRefused(
            "building an sdist needs a Rust toolchain (cargo reads the workspace); "
            "a wheel does not: `pip install .` or `python -m build --wheel`"
        )
    return _maturin().build_sdist(sdist_directory, config_settings)


def _notice() -> None:
    if os.environ.get("MCP_FASTPATH_BUILD", "").strip().lower() != "pure":
        print(NOTICE, file=sys.stderr, flush=True)
