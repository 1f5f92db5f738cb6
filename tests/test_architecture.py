"""The package's shape, checked: no module in `mcp_fastpath` imports one that imports it back
(directly or through others), whether the import is at module level or inside a function.

An import under `if TYPE_CHECKING:` is a type annotation, not an import at run time, and is left
out. A submodule's implicit import of its own package (`from .x import y` runs `pkg/__init__.py`
first) is Python's doing, not an edge: only the modules named in an import statement count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mcp_fastpath

PACKAGE_DIR = Path(mcp_fastpath.__file__).resolve().parent


def module_names() -> dict[str, Path]:
    """Every module of the package: its `.py` files, and the native module by its stub."""
    out = {}
    for path in [*PACKAGE_DIR.rglob("*.py"), *PACKAGE_DIR.rglob("*.pyi")]:
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.setdefault(".".join(parts), path)
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in modules else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return {target for target in found if target in modules and target != name}


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports_of(name, path, modules) for name, path in modules.items() if path.suffix == ".py"} | {
        name: set() for name, path in modules.items() if path.suffix == ".pyi"
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return found


def test_the_graph_sees_real_imports():
    graph = import_graph()
    # Checks of the checker: a module-level, a function-level and a relative import are all seen.
    assert "mcp_fastpath.errors" in graph["mcp_fastpath"]
    assert "mcp_fastpath.tasks" in graph["mcp_fastpath.adapters.sdk"]  # inside fast_http_app
    assert "mcp_fastpath._sdk" in graph["mcp_fastpath.tasks.runner"]


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_one_that_imports_it_back():
    assert cycles(import_graph()) == []
