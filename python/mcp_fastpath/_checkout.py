"""The source checkout around an editable install: where its `benches/` directory is.

The benchmarks live beside the package, not in it (an installed wheel carries no benchmark code);
`mcp-fastpath bench` and the demo's throughput table import them from here when they are at hand.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

from .errors import FastpathError

__all__ = ["BenchesNotFound", "benches_dir", "import_benches"]


class BenchesNotFound(FastpathError):
    """The `benches/` directory of a source checkout is not at hand."""


def benches_dir() -> Path | None:
    """`$MCP_FASTPATH_BENCHES`, else `benches/` beside the package's source tree (an editable
    install: `python/mcp_fastpath/` → the repository root), else in the current directory."""
    candidates = [
        os.environ.get("MCP_FASTPATH_BENCHES"),
        str(Path(__file__).resolve().parents[2] / "benches"),
        str(Path.cwd() / "benches"),
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "__init__.py").is_file():
            return Path(candidate).resolve()
    return None


def import_benches(name: str) -> ModuleType:
    """`benches.<name>` from the source checkout; `BenchesNotFound` (a `FastpathError`) without one."""
    where = benches_dir()
    if where is None:
        raise BenchesNotFound(
            "the benchmarks live in a source checkout's benches/ directory, not in the installed package: "
            "clone the repository, `pip install -e '.[dev]'`, and run `mcp-fastpath bench` there "
            "(or set MCP_FASTPATH_BENCHES=/path/to/benches)"
        )
    if str(where.parent) not in sys.path:
        sys.path.insert(0, str(where.parent))
    return importlib.import_module(f"benches.{name}")
