"""Picks the backend: `MCP_FASTPATH_BACKEND=native|pure|auto` (default auto: native if importable)."""

from __future__ import annotations

import os
from types import ModuleType

from .errors import BackendUnavailable

_BUILD_HINT = (
    "the native module mcp_fastpath._native is not built; build it with `maturin develop --release` "
    "(or `pip install -e .`) from the project root, or set MCP_FASTPATH_BACKEND=pure"
)


def load(choice: str | None = None) -> tuple[str, ModuleType]:
    """Return `(name, module)` of the backend to use; raise `BackendUnavailable` when `native`
    is forced and missing, `ValueError` for an unknown choice."""
    choice = (choice or os.environ.get("MCP_FASTPATH_BACKEND") or "auto").strip().lower()
    if choice not in ("native", "pure", "auto"):
        raise ValueError(f"MCP_FASTPATH_BACKEND must be native, pure or auto, not {choice!r}")
    if choice != "pure":
        try:
            from . import _native
        except ImportError as exc:
            if choice == "native":
                raise BackendUnavailable(f"{_BUILD_HINT} ({exc})") from exc
        else:
            return "native", _native
    from . import _pure

    return "pure", _pure
