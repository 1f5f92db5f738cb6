"""Writing the pure-Python wheels: `py3-none-any`, and its editable twin (a `.pth` to the source).

The package tree is taken as maturin takes it (everything under the python source except
bytecode and compiled extensions), so the pure wheel is the native wheel minus the extension. The
native module's stub `_native.pyi` stays: the package's public names are typed through it (under
TYPE_CHECKING), whichever backend runs. Entries are sorted and time-stamped 1980-01-01 (or SOURCE_DATE_EPOCH), so
the same tree always gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

from .metadata import Project

GENERATOR = "fastpath_build (in-tree backend of mcp-fastpath)"
_SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
_SKIPPED_SUFFIXES = {".pyc", ".pyo", ".so", ".pyd", ".dylib", ".dll"}


def dist_info_files(project: Project, tag: str) -> dict[str, bytes]:
    """The `.dist-info` members except RECORD, keyed by their path inside the dist-info directory."""
    files = {
        "METADATA": project.core_metadata().encode(),
        "WHEEL": (f"Wheel-Version: 1.0\nGenerator: {GENERATOR}\nRoot-Is-Purelib: true\nTag: {tag}\n").encode(),
    }
    entry_points = project.entry_points()
    if entry_points:
        files["entry_points.txt"] = entry_points.encode()
    for path in project.license_files():
        files[f"licenses/{path.relative_to(project.root).as_posix()}"] = path.read_bytes()
    return files


def package_files(project: Project) -> Iterator[tuple[str, Path]]:
    """`(name in the wheel, source path)` for every file of the pure package: no compiled extension."""
    package, _ = project.native_module
    source = project.python_source
    top = source / package.split(".")[0]
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        for filename in sorted(filenames):
            path = Path(dirpath, filename)
            if path.suffix not in _SKIPPED_SUFFIXES:
                yield path.relative_to(source).as_posix(), path


def write_wheel(directory: Path, filename: str, dist_info: str, members: dict[str, bytes]) -> str:
    """Write `members` (path in the wheel → bytes) plus RECORD to `directory/filename`; return `filename`."""
    record_name = f"{dist_info}/RECORD"
    stamp = _timestamp()
    record = []
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / filename
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(members, key=lambda n: (n.startswith(f"{dist_info}/"), n)):
            data = members[name]
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={digest},{len(data)}")
        record.append(f"{record_name},,")
        info = zipfile.ZipInfo(record_name, date_time=stamp)
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, "\n".join(record) + "\n")
    return filename


def build_pure(project: Project, directory: Path, *, editable: bool = False) -> str:
    """Build the pure wheel (or, with `editable`, a wheel whose `.pth` points at the source tree)."""
    tag = "py3-none-any"
    members: dict[str, bytes] = {}
    if editable:
        top = project.native_module[0].split(".")[0]
        members[f"{top}.pth"] = (str(project.python_source.resolve()) + "\n").encode()
    else:
        members.update((name, path.read_bytes()) for name, path in package_files(project))
    for name, data in dist_info_files(project, tag).items():
        members[f"{project.dist_info}/{name}"] = data
    filename = f"{project.dist_name}-{project.version}-{tag}.whl"
    return write_wheel(directory, filename, project.dist_info, members)


def write_metadata(project: Project, directory: Path) -> str:
    """The `prepare_metadata_for_build_wheel` hook's job: the dist-info directory, without RECORD."""
    for name, data in dist_info_files(project, "py3-none-any").items():
        path = directory / project.dist_info / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return project.dist_info


def _timestamp() -> tuple[int, int, int, int, int, int]:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return time.gmtime(max(int(epoch), 315532800))[:6]  # zip cannot go before 1980
    return (1980, 1, 1, 0, 0, 0)
