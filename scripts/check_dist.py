"""Checks the artefacts scripts/build-dist.sh wrote, then lists them (name, tags, size, auditwheel).

    python scripts/check_dist.py DIST VERSION

Run with the build tools' interpreter (auditwheel and pyelftools importable). Exits non-zero with
the reasons when any check fails:
- exactly one sdist, one native wheel (cp3xx-abi3-manylinux…) and one pure wheel (py3-none-any);
- `auditwheel show` finds the native wheel consistent with manylinux_2_17_x86_64 (no newer glibc
  symbol, no library outside the manylinux policy) and its extension carries no symbol table;
- both wheels hold the same METADATA (field for field) and LICENSE, and the same files apart from
  the extension and maturin's SBOM (the stub `_native.pyi` is in both: it types the public names);
- the sdist holds PKG-INFO, LICENSE, README, pyproject.toml, Cargo.lock and the in-tree backend.
"""

from __future__ import annotations

import email.parser
import io
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from elftools.elf.elffile import ELFFile

EXPECTED_PLATFORM = "manylinux_2_17_x86_64"
SDIST_MUST_HOLD = [
    "PKG-INFO",
    "LICENSE",
    "README.md",
    "pyproject.toml",
    "Cargo.toml",
    "Cargo.lock",
    "build_backend/fastpath_build/__init__.py",
    "python/mcp_fastpath/__init__.py",
    "python/mcp_fastpath/py.typed",
    "rust/python/Cargo.toml",
]


def main(dist: Path, version: str) -> int:
    problems: list[str] = []
    sdists = sorted(dist.glob("*.tar.gz"))
    native = sorted(p for p in dist.glob("*.whl") if "-abi3-" in p.name or "-cp3" in p.name)
    pure = sorted(dist.glob("*-py3-none-any.whl"))
    others = sorted(set(dist.iterdir()) - set(sdists) - set(native) - set(pure))
    if [len(sdists), len(native), len(pure)] != [1, 1, 1] or others:
        print(f"check-dist: expected one sdist, one native and one pure wheel in {dist}, found:", file=sys.stderr)
        for p in sorted(dist.iterdir()):
            print(f"  {p.name}", file=sys.stderr)
        return 1
    sdist, native_wheel, pure_wheel = sdists[0], native[0], pure[0]
    dist_info = f"mcp_fastpath-{version}.dist-info"

    verdict = auditwheel_verdict(native_wheel)
    if verdict != EXPECTED_PLATFORM:
        problems.append(f"auditwheel show places {native_wheel.name} at {verdict!r}, not {EXPECTED_PLATFORM}")
    with zipfile.ZipFile(native_wheel) as zf:
        for name in zf.namelist():
            if name.endswith(".so") and has_symbol_table(zf.read(name)):
                problems.append(f"{name} in the native wheel is not stripped (it has a .symtab)")

    with zipfile.ZipFile(native_wheel) as n, zipfile.ZipFile(pure_wheel) as p:
        if metadata(n, dist_info) != metadata(p, dist_info):
            problems.append("the two wheels' METADATA differ (see diff_metadata below)")
            for line in diff_metadata(metadata(n, dist_info), metadata(p, dist_info)):
                problems.append(f"  {line}")
        for wheel in (n, p):
            if wheel.read(f"{dist_info}/licenses/LICENSE") != Path("LICENSE").read_bytes():
                problems.append(f"{wheel.filename}: dist-info/licenses/LICENSE is not the project's LICENSE")
        native_only = {f"{dist_info}/sboms/mcp-fastpath-python.cyclonedx.json"} | {
            name for name in n.namelist() if re.fullmatch(r"mcp_fastpath/_native\..*(so|pyd)", name)
        }
        if set(n.namelist()) - native_only != set(p.namelist()):
            only_n = sorted(set(n.namelist()) - native_only - set(p.namelist()))
            only_p = sorted(set(p.namelist()) - set(n.namelist()))
            problems.append(f"wheel contents differ beyond the extension: native only {only_n}, pure only {only_p}")

    with tarfile.open(sdist) as tf:
        names = {m.name.split("/", 1)[1] for m in tf.getmembers() if "/" in m.name}
    missing = [name for name in SDIST_MUST_HOLD if name not in names]
    if missing:
        problems.append(f"the sdist lacks {missing}")

    for problem in problems:
        print(f"check-dist: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"\ndist/ (version {version}):")
    for path in (sdist, native_wheel, pure_wheel):
        tags = "sdist" if path is sdist else ", ".join(wheel_tags(path, dist_info))
        audit = f"  auditwheel show: consistent with {verdict}" if path is native_wheel else ""
        print(f"  {path.name}\n      {path.stat().st_size:>9,} bytes  tags: {tags}{audit}")
    return 0


def auditwheel_verdict(wheel: Path) -> str:
    """The platform tag `auditwheel show` says the wheel is consistent with."""
    out = subprocess.run(["auditwheel", "show", str(wheel)], capture_output=True, text=True, check=False)
    match = re.search(r'consistent with the following platform tag:\s*"([^"]+)"', out.stdout.replace("\n", " "))
    return match[1] if match else f"no verdict (exit {out.returncode}): {out.stdout}{out.stderr}".strip()


def has_symbol_table(elf: bytes) -> bool:
    return ELFFile(io.BytesIO(elf)).get_section_by_name(".symtab") is not None


def metadata(wheel: zipfile.ZipFile, dist_info: str) -> tuple[list[tuple[str, str]], str]:
    """METADATA as (sorted header fields, body): the field order is each generator's own."""
    message = email.parser.Parser().parsestr(wheel.read(f"{dist_info}/METADATA").decode())
    return sorted(message.items()), message.get_payload()


def diff_metadata(a: tuple[list, str], b: tuple[list, str]) -> list[str]:
    lines = [f"native only: {f}" for f in a[0] if f not in b[0]]
    lines += [f"pure only: {f}" for f in b[0] if f not in a[0]]
    if a[1] != b[1]:
        lines.append("the descriptions (README) differ")
    return lines


def wheel_tags(wheel: Path, dist_info: str) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return [
            line.split(": ", 1)[1]
            for line in zf.read(f"{dist_info}/WHEEL").decode().splitlines()
            if line.startswith("Tag: ")
        ]


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2]))
