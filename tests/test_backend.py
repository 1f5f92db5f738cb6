"""Backend selection: MCP_FASTPATH_BACKEND=native|pure|auto, and a clear error when native is missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mcp_fastpath
import pytest
from mcp_fastpath import _backend
from mcp_fastpath.errors import BackendUnavailable

ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter with the native module made unimportable.
HIDE_NATIVE = """
import importlib.abc, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "mcp_fastpath._native":
            raise ImportError("hidden for the test")
sys.meta_path.insert(0, Hide())
"""


def run(code: str, backend: str | None, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter; with `pythonpath`, the package is imported from there instead
    and nothing is hidden (that tree itself lacks what the test is about)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MCP_FASTPATH_BACKEND", "PYTHONPATH")}
    if backend is not None:
        env["MCP_FASTPATH_BACKEND"] = backend
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    else:
        code = HIDE_NATIVE + code
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def pure_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package without the compiled extension: what the pure wheel installs."""
    root = tmp_path_factory.mktemp("pure-tree")
    source = Path(mcp_fastpath.__file__).parent
    shutil.copytree(
        source, root / "mcp_fastpath", ignore=shutil.ignore_patterns("_native*.so", "_native*.pyd", "__pycache__")
    )
    return root


@pytest.mark.parametrize(
    ("choice", "expected"), [("native", "native"), ("pure", "pure"), ("auto", "native"), (None, "native")]
)
def test_env_picks_the_backend(choice, expected):
    env = {k: v for k, v in os.environ.items() if k != "MCP_FASTPATH_BACKEND"}
    if choice is not None:
        env["MCP_FASTPATH_BACKEND"] = choice
    out = subprocess.run(
        [sys.executable, "-c", "import mcp_fastpath as fp; print(fp.BACKEND, fp.decode.__module__)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert out[0] == expected
    assert out[1].startswith("mcp_fastpath._pure" if expected == "pure" else "mcp_fastpath._native")


def test_forcing_native_where_it_is_missing_says_how_to_build():
    result = run("import mcp_fastpath", "native")
    assert result.returncode != 0
    assert "BackendUnavailable" in result.stderr and "maturin develop" in result.stderr


def test_forcing_native_in_a_pure_installation_says_so_without_blaming_a_circular_import(pure_tree):
    result = run("import mcp_fastpath", "native", pythonpath=pure_tree)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("mcp_fastpath.errors.BackendUnavailable: MCP_FASTPATH_BACKEND=native, but this installation")
    assert "has no native module (mcp_fastpath._native)" in last and "MCP_FASTPATH_BACKEND=auto or pure" in last
    assert "circular import" not in result.stderr and "partially initialized" not in result.stderr


def test_a_pure_installation_picks_pure_and_reports_no_native_build(pure_tree):
    code = "import mcp_fastpath as fp; from mcp_fastpath._backend import native_build; print(fp.BACKEND); print(native_build())"
    result = run(code, None, pythonpath=pure_tree)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["pure", "none (pure-Python installation)"]


def test_native_build_info_describes_this_build(native):
    info = native._BUILD_INFO
    assert info["version"] == mcp_fastpath.__version__
    # abi3 exactly when rust/python/Cargo.toml turns on pyo3's abi3-py3XX feature, for that floor.
    abi3 = re.search(r'"abi3-py3(\d+)"', (ROOT / "rust" / "python" / "Cargo.toml").read_text())
    assert info["abi3"] is (abi3 is not None)
    assert info["python"] == (f"3.{abi3[1]}" if abi3 else "{}.{}".format(*sys.version_info[:2]))
    assert info["profile"] == "release" and info["debug_assertions"] is False  # scripts/bootstrap.sh builds release
    assert info["rustc"].startswith("rustc ") and info["target"]
    line = _backend.native_build()
    assert line.startswith(
        f"{info['version']}, abi3 for CPython >= 3.11, release profile (opt-level {info['opt_level']})"
    )


def test_auto_falls_back_to_pure_where_native_is_missing():
    result = run("import mcp_fastpath as fp; print(fp.BACKEND)", "auto")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pure"


def test_unknown_choice_is_refused():
    with pytest.raises(ValueError, match="native, pure or auto"):
        _backend.load("fast")
    assert issubclass(BackendUnavailable, ImportError)
