"""Backend selection: MCP_FASTPATH_BACKEND=native|pure|auto, and a clear error when native is missing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mcp_fastpath import _backend
from mcp_fastpath.errors import BackendUnavailable

# Runs in a fresh interpreter with the native module made unimportable.
HIDE_NATIVE = """
import importlib.abc, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "mcp_fastpath._native":
            raise ImportError("hidden for the test")
sys.meta_path.insert(0, Hide())
"""


def run(code: str, backend: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MCP_FASTPATH_BACKEND"}
    if backend is not None:
        env["MCP_FASTPATH_BACKEND"] = backend
    return subprocess.run([sys.executable, "-c", HIDE_NATIVE + code], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("choice", "expected"), [("native", "native"), ("pure", "pure"), ("auto", "native"), (None, "native")])
def test_env_picks_the_backend(choice, expected):
    env = {k: v for k, v in os.environ.items() if k != "MCP_FASTPATH_BACKEND"}
    if choice is not None:
        env["MCP_FASTPATH_BACKEND"] = choice
    out = subprocess.run([sys.executable, "-c", "import mcp_fastpath as fp; print(fp.BACKEND, fp.decode.__module__)"],
                         env=env, capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert out[0] == expected
    assert out[1].startswith("mcp_fastpath._pure" if expected == "pure" else "mcp_fastpath._native")


def test_forcing_native_where_it_is_missing_says_how_to_build():
    result = run("import mcp_fastpath", "native")
    assert result.returncode != 0
    assert "BackendUnavailable" in result.stderr and "maturin develop" in result.stderr


def test_auto_falls_back_to_pure_where_native_is_missing():
    result = run("import mcp_fastpath as fp; print(fp.BACKEND)", "auto")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pure"


def test_unknown_choice_is_refused():
    with pytest.raises(ValueError, match="native, pure or auto"):
        _backend.load("fast")
    assert issubclass(BackendUnavailable, ImportError)
