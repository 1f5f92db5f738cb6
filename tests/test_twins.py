"""The two backends are twins: the same public names, each with the same signature (parameter
names, kinds and defaults), and both match the native module's stub, which is what type checkers
read (`mypy.stubtest` checks the stub against the native module in scripts/lint.sh)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from tests.conftest import load_backend

native = load_backend("native")
pure = load_backend("pure")
PUBLIC = sorted(pure.__all__)
CLASSES = [n for n in PUBLIC if isinstance(getattr(pure, n), type) and not issubclass(getattr(pure, n), BaseException)]


def _public(module: Any) -> set[str]:
    return {name for name in dir(module) if not name.startswith("_")}


def test_the_same_names() -> None:
    assert set(pure.__all__) == _public(native), (
        sorted(set(pure.__all__) - _public(native)),
        sorted(_public(native) - set(pure.__all__)),
    )


def _signature(obj: Any) -> list[tuple[str, str, Any]]:
    return [(p.name, p.kind.name, p.default) for p in inspect.signature(obj).parameters.values()]


@pytest.mark.parametrize("name", PUBLIC)
def test_the_same_signature(name: str) -> None:
    ours, theirs = getattr(native, name), getattr(pure, name)
    assert callable(ours) and callable(theirs)
    if isinstance(ours, type) and issubclass(ours, BaseException):
        assert issubclass(theirs, BaseException) and ours.__mro__[1:] == theirs.__mro__[1:]
        return
    assert _signature(ours) == _signature(theirs)


@pytest.mark.parametrize("name", CLASSES)
def test_the_same_public_members(name: str) -> None:
    """A class offers the same public attributes and methods on both backends."""
    ours, theirs = getattr(native, name), getattr(pure, name)
    assert isinstance(ours, type)
    assert _public(ours) == _public(theirs), (
        sorted(_public(ours) - _public(theirs)),
        sorted(_public(theirs) - _public(ours)),
    )


def test_the_package_exports_the_backend_names() -> None:
    import mcp_fastpath

    assert set(pure.__all__) <= set(mcp_fastpath.__all__)
