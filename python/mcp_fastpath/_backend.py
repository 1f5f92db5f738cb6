"""Picks the backend: `MCP_FASTPATH_BACKEND=native|pure|auto` (default auto: native if importable),
and says how the native module was built (`mcp-fastpath --version`)."""

from __future__ import annotations

import importlib
import os
import platform
from types import ModuleType

from .errors import BackendUnavailable

_NATIVE = f"{__package__}._native"

_NOT_INSTALLED = (
    f"MCP_FASTPATH_BACKEND=native, but this installation has no native module ({_NATIVE}): it is the "
    "pure-Python build, which pip installs where no platform wheel matches and builds from the sdist "
    "when no Rust toolchain is found. Install a platform wheel, rebuild with Rust "
    "(`MCP_FASTPATH_REQUIRE_NATIVE=1 pip install --no-binary mcp-fastpath mcp-fastpath`; in a checkout "
    "`maturin develop --release`), or set MCP_FASTPATH_BACKEND=auto or pure"
)
_FAILED_TO_LOAD = (
    f"MCP_FASTPATH_BACKEND=native, but the native module {_NATIVE} failed to load: {{reason}}. "
    "Reinstall a wheel for this platform or rebuild it (in a checkout `maturin develop --release`), "
    "or set MCP_FASTPATH_BACKEND=auto or pure"
)


def load(choice: str | None = None) -> tuple[str, ModuleType]:
    """Return `(name, module)` of the backend to use; raise `BackendUnavailable` when `native`
    is forced and missing, `ValueError` for an unknown choice."""
    choice = (choice or os.environ.get("MCP_FASTPATH_BACKEND") or "auto").strip().lower()
    if choice not in ("native", "pure", "auto"):
        raise ValueError(f"MCP_FASTPATH_BACKEND must be native, pure or auto, not {choice!r}")
    if choice != "pure":
        try:
            return "native", _import_native()
        except ImportError as exc:
            if choice == "native":
                raise BackendUnavailable(_unavailable(exc)) from exc
    from . import _pure

    return "pure", _pure


def native_build() -> str:
    """One line on the native module: how it was built (version, abi3 or per-version, cargo profile,
    target, compiler), or why there is none. Safe to call whichever backend is active."""
    try:
        native = _import_native()
    except ImportError as exc:
        return "none (pure-Python installation)" if _is_absent(exc) else f"fails to load ({exc})"
    info = native._BUILD_INFO
    abi = f"abi3 for CPython >= {info['python']}" if info["abi3"] else f"CPython {info['python']} only"
    checks = ", debug assertions" if info["debug_assertions"] else ""
    return (
        f"{info['version']}, {abi}, {info['profile']} profile (opt-level {info['opt_level']}{checks}), "
        f"{info['target']}, {info['rustc']}"
    )


def version_report(version: str, backend: str) -> str:
    """What `mcp-fastpath --version` prints: the version, the active backend, the native build
    (`native_build`) and the interpreter, one per line."""
    choice = os.environ.get("MCP_FASTPATH_BACKEND") or "auto"
    return (
        f"mcp-fastpath {version}\n"
        f"backend: {backend} (MCP_FASTPATH_BACKEND={choice})\n"
        f"native module: {native_build()}\n"
        f"python: {platform.python_implementation()} {platform.python_version()} on {platform.machine()} {platform.system()}"
    )


def _import_native() -> ModuleType:
    # Not `from . import _native`: run while the package itself is being imported, that statement
    # reports a missing module as "cannot import name '_native' from partially initialized module
    # (most likely due to a circular import)", which sends the reader the wrong way.
    return importlib.import_module(_NATIVE)


def _is_absent(exc: ImportError) -> bool:
    return isinstance(exc, ModuleNotFoundError) and exc.name == _NATIVE


def _unavailable(exc: ImportError) -> str:
    return _NOT_INSTALLED if _is_absent(exc) else _FAILED_TO_LOAD.format(reason=exc)
