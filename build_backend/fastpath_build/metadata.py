"""Core metadata (METADATA / PKG-INFO, version 2.4) from `pyproject.toml`'s static `[project]` table.

Only what this project's pyproject uses is supported; anything else (a `dynamic` field, an
unknown key) is refused rather than silently left out, so the pure wheel can never ship less
metadata than the native one. scripts/build-dist.sh checks that both wheels carry identical
METADATA.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

_SUPPORTED = {
    "name",
    "version",
    "description",
    "readme",
    "license",
    "license-files",
    "requires-python",
    "keywords",
    "classifiers",
    "urls",
    "dependencies",
    "optional-dependencies",
    "scripts",
    "gui-scripts",
    "entry-points",
    "authors",
    "maintainers",
}

# What maturin (and PyPI) call a README's content type, by file suffix.
_README_TYPES = {
    ".md": "text/markdown; charset=UTF-8; variant=GFM",
    ".rst": "text/x-rst; charset=UTF-8",
    ".txt": "text/plain; charset=UTF-8",
}


@dataclass(frozen=True)
class Project:
    """The parts of pyproject.toml a build needs: `[project]`, `[tool.maturin]`, the source root."""

    root: Path
    table: dict
    maturin: dict

    @classmethod
    def load(cls, root: Path) -> Project:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
        table = data["project"]
        if table.get("dynamic"):
            raise ValueError(f"pyproject.toml: dynamic fields are not supported here: {table['dynamic']}")
        unknown = set(table) - _SUPPORTED
        if unknown:
            raise ValueError(f"pyproject.toml: [project] keys this backend does not write: {sorted(unknown)}")
        return cls(root, table, data.get("tool", {}).get("maturin", {}))

    @property
    def name(self) -> str:
        return self.table["name"]

    @property
    def version(self) -> str:
        return self.table["version"]

    @property
    def dist_name(self) -> str:
        """The name as it appears in file names: `mcp-fastpath` → `mcp_fastpath` (PEP 427 / 503)."""
        return re.sub(r"[-_.]+", "_", self.name).lower()

    @property
    def dist_info(self) -> str:
        return f"{self.dist_name}-{self.version}.dist-info"

    @property
    def python_source(self) -> Path:
        return self.root / self.maturin.get("python-source", ".")

    @property
    def native_module(self) -> tuple[str, str]:
        """`(package, module)` of the extension maturin builds, e.g. `("mcp_fastpath", "_native")`."""
        package, _, module = self.maturin["module-name"].rpartition(".")
        return package, module

    def license_files(self) -> list[Path]:
        found: list[Path] = []
        for pattern in self.table.get("license-files", []):
            matches = sorted(p for p in self.root.glob(pattern) if p.is_file())
            if not matches:
                raise ValueError(f"pyproject.toml: license-files pattern {pattern!r} matches no file")
            found.extend(matches)
        return found

    def core_metadata(self) -> str:
        """The METADATA text (email-header style, README as the body)."""
        t = self.table
        headers: list[tuple[str, str]] = [
            ("Metadata-Version", "2.4"),
            ("Name", self.name),
            ("Version", self.version),
        ]
        headers += [("Classifier", c) for c in t.get("classifiers", [])]
        headers += [("Requires-Dist", _requirement(r)) for r in t.get("dependencies", [])]
        for extra, requirements in sorted(t.get("optional-dependencies", {}).items()):
            headers += [("Requires-Dist", _requirement(r, extra)) for r in requirements]
        headers += [("Provides-Extra", extra) for extra in sorted(t.get("optional-dependencies", {}))]
        if "description" in t:
            headers.append(("Summary", t["description"]))
        if t.get("keywords"):
            headers.append(("Keywords", ",".join(t["keywords"])))
        headers += _people(t.get("authors", []), "Author")
        headers += _people(t.get("maintainers", []), "Maintainer")
        license_ = t.get("license")
        if isinstance(license_, str):
            headers.append(("License-Expression", license_))
        elif isinstance(license_, dict) and "text" in license_:
            headers.append(("License", license_["text"]))
        headers += [("License-File", p.relative_to(self.root).as_posix()) for p in self.license_files()]
        if "requires-python" in t:
            headers.append(("Requires-Python", t["requires-python"]))
        readme_type, readme_text = self._readme()
        if readme_type:
            headers.append(("Description-Content-Type", readme_type))
        headers += [("Project-URL", f"{label}, {url}") for label, url in t.get("urls", {}).items()]
        text = "".join(f"{key}: {value}\n" for key, value in headers)
        return text + (f"\n{readme_text}\n" if readme_text else "")  # the blank line maturin ends it with

    def entry_points(self) -> str:
        """`entry_points.txt`, or "" when the project declares none."""
        t = self.table
        groups = {}
        if t.get("scripts"):
            groups["console_scripts"] = t["scripts"]
        if t.get("gui-scripts"):
            groups["gui_scripts"] = t["gui-scripts"]
        groups.update(t.get("entry-points", {}))
        return "\n".join(
            f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in entries.items())
            for group, entries in groups.items()
        )

    def _readme(self) -> tuple[str | None, str]:
        readme = self.table.get("readme")
        if readme is None:
            return None, ""
        if isinstance(readme, str):
            path = self.root / readme
            return _README_TYPES.get(path.suffix.lower(), "text/plain; charset=UTF-8"), path.read_text("utf-8")
        text = readme["text"] if "text" in readme else (self.root / readme["file"]).read_text("utf-8")
        return readme["content-type"], text


def _requirement(spec: str, extra: str | None = None) -> str:
    """A PEP 508 requirement as a Requires-Dist value, with `extra == '…'` joined to its marker."""
    requirement, _, marker = (part.strip() for part in spec.partition(";"))
    if extra is not None:
        extra_marker = f"extra == '{extra}'"
        if not marker:
            marker = extra_marker
        elif " or " in marker:
            marker = f"({marker}) and {extra_marker}"
        else:
            marker = f"{marker} and {extra_marker}"
    return f"{requirement} ; {marker}" if marker else requirement


def _people(people: list[dict], field: str) -> list[tuple[str, str]]:
    names = [p["name"] for p in people if "name" in p and "email" not in p]
    emails = [f"{p['name']} <{p['email']}>" if "name" in p else p["email"] for p in people if "email" in p]
    out = []
    if names:
        out.append((field, ", ".join(names)))
    if emails:
        out.append((f"{field}-email", ", ".join(emails)))
    return out
