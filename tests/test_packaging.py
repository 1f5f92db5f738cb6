"""The in-tree build backend (build_backend/fastpath_build) and the packaging metadata.

Hooks run as a PEP 517 frontend runs them: in a fresh interpreter, in the source tree, with the
backend's directory on sys.path. "No Rust" is a PATH without any directory holding `cargo`.
scripts/test-dist.sh covers the rest end to end (real pip installs of every artefact).
"""

from __future__ import annotations

import base64
import email.parser
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import mcp_fastpath
import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def path_without_cargo() -> str:
    return os.pathsep.join(d for d in os.environ["PATH"].split(os.pathsep) if not shutil.which("cargo", path=d))


def hook(name: str, *args: str, path: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Call one backend hook in a fresh interpreter; its JSON return value is the last stdout line."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MCP_FASTPATH_")}
    environ.update(env)
    if path is not None:
        environ["PATH"] = path
    code = (
        "import json, sys; sys.path.insert(0, 'build_backend'); import fastpath_build as b; "
        f"print(json.dumps(b.{name}(*sys.argv[1:])))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )


def returned(result: subprocess.CompletedProcess[str]):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def pure_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = hook("build_wheel", str(out), path=path_without_cargo())
    name = returned(result)
    assert name == f"mcp_fastpath-{PROJECT['version']}-py3-none-any.whl"
    assert result.stderr.strip().splitlines() == [
        "mcp-fastpath: no Rust toolchain (cargo) on PATH, building the pure-Python wheel "
        "(same API, slower; MCP_FASTPATH_REQUIRE_NATIVE=1 makes this an error)"
    ]
    return out / name


def test_versions_agree():
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]
    assert PROJECT["version"] == mcp_fastpath.__version__ == cargo == importlib.metadata.version("mcp-fastpath")


def test_the_package_is_typed_and_licensed():
    assert (Path(mcp_fastpath.__file__).parent / "py.typed").is_file()
    assert "Typing :: Typed" in PROJECT["classifiers"]
    assert PROJECT["license"] == "MIT" and "MIT License" in (ROOT / "LICENSE").read_text()
    assert {"Homepage", "Source", "Issues"} <= set(PROJECT["urls"])


def test_without_rust_nothing_is_required_and_with_it_maturin_is():
    assert returned(hook("get_requires_for_build_wheel", path=path_without_cargo())) == []
    assert returned(hook("get_requires_for_build_editable", path=path_without_cargo())) == []
    with_rust = returned(hook("get_requires_for_build_wheel"))  # this machine builds the native module
    assert len(with_rust) == 1 and with_rust[0].startswith("maturin")


def test_require_native_turns_a_missing_toolchain_into_an_error(tmp_path):
    result = hook("build_wheel", str(tmp_path), path=path_without_cargo(), MCP_FASTPATH_REQUIRE_NATIVE="1")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("mcp-fastpath: MCP_FASTPATH_REQUIRE_NATIVE=1 but no Rust toolchain")
    assert list(tmp_path.iterdir()) == []


def test_forcing_pure_and_requiring_native_contradict(tmp_path):
    result = hook("build_wheel", str(tmp_path), MCP_FASTPATH_BUILD="pure", MCP_FASTPATH_REQUIRE_NATIVE="1")
    assert result.returncode == 1 and "contradict" in result.stderr


def test_pure_wheel_is_the_tracked_package_without_the_extension(pure_wheel):
    tracked = subprocess.run(
        ["git", "ls-files", "python/mcp_fastpath"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    names = zipfile.ZipFile(pure_wheel).namelist()
    dist_info = f"mcp_fastpath-{PROJECT['version']}.dist-info"
    assert {n for n in names if not n.startswith(dist_info)} == {name.removeprefix("python/") for name in tracked}
    assert [n for n in names if "_native" in n] == ["mcp_fastpath/_native.pyi"]  # the stub types the public names
    assert {n.removeprefix(dist_info + "/") for n in names if n.startswith(dist_info)} == {
        "METADATA",
        "WHEEL",
        "entry_points.txt",
        "licenses/LICENSE",
        "RECORD",
    }


def test_pure_wheel_metadata_says_what_pyproject_says(pure_wheel):
    dist_info = f"mcp_fastpath-{PROJECT['version']}.dist-info"
    with zipfile.ZipFile(pure_wheel) as zf:
        meta = email.parser.Parser().parsestr(zf.read(f"{dist_info}/METADATA").decode())
        wheel = zf.read(f"{dist_info}/WHEEL").decode()
        assert zf.read(f"{dist_info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        assert "mcp-fastpath = mcp_fastpath.cli:main" in zf.read(f"{dist_info}/entry_points.txt").decode()
    assert (meta["Name"], meta["Version"]) == (PROJECT["name"], PROJECT["version"])
    assert meta["License-Expression"] == "MIT" and meta["License-File"] == "LICENSE"
    assert meta["Requires-Python"] == PROJECT["requires-python"]
    assert meta.get_all("Classifier") == PROJECT["classifiers"]
    requires = meta.get_all("Requires-Dist")
    assert requires[: len(PROJECT["dependencies"])] == PROJECT["dependencies"]
    assert "uvloop>=0.19 ; sys_platform != 'win32' and extra == 'serve'" in requires
    assert sorted(meta.get_all("Provides-Extra")) == sorted(PROJECT["optional-dependencies"])
    assert meta.get_payload().strip() == (ROOT / "README.md").read_text().strip()
    assert "Tag: py3-none-any\n" in wheel and "Root-Is-Purelib: true\n" in wheel


def test_pure_wheel_record_hashes_every_member(pure_wheel):
    with zipfile.ZipFile(pure_wheel) as zf:
        record_name = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
        rows = [line.split(",") for line in zf.read(record_name).decode().splitlines()]
        assert sorted(r[0] for r in rows) == sorted(zf.namelist())
        for name, digest, size in rows:
            if name == record_name:
                assert (digest, size) == ("", "")
                continue
            data = zf.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (f"sha256={expected}", len(data)), name


def test_pure_editable_points_at_the_source_tree(tmp_path):
    name = returned(hook("build_editable", str(tmp_path), path=path_without_cargo()))
    with zipfile.ZipFile(tmp_path / name) as zf:
        assert zf.read("mcp_fastpath.pth").decode() == f"{ROOT / 'python'}\n"
        assert not any(n.startswith("mcp_fastpath/") for n in zf.namelist())


def test_an_sdist_without_rust_is_refused_with_a_way_out(tmp_path):
    assert returned(hook("get_requires_for_build_sdist", path=path_without_cargo())) == []
    result = hook("build_sdist", str(tmp_path), path=path_without_cargo())
    assert result.returncode == 1 and "pip install ." in result.stderr
