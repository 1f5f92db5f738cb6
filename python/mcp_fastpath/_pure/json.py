"""Strict JSON parsing: orjson, plus the checks orjson does not make.

Twin of `rust/codec/src/json.rs`. orjson already refuses invalid UTF-8, lone surrogates, control
characters, `NaN`/`Infinity` and non-finite numbers; on top of it this module refuses duplicate keys,
nesting deeper than `Limits.max_depth` and strings longer than `Limits.max_string_bytes`. Integer
literals beyond 64 bits are read as IEEE doubles (orjson's reading, mirrored by the native parser).

Each extra check has a cheap exact test for the common body and an exact slow path for the rest,
so a 45 KiB body costs little more than `orjson.loads` itself.
"""

from __future__ import annotations

import json as _stdlib_json
from typing import Any

import orjson

from ..limits import Limits

__all__ = ["JsonError", "parse"]


class JsonError(ValueError):
    """The body is not acceptable JSON; `str()` says why."""


def parse(body: bytes, limits: Limits) -> Any:
    """Parse `body` strictly; raise `JsonError` on anything the native parser also refuses."""
    try:
        tree = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise JsonError(str(exc)) from None
    if type(tree) not in _CONTAINERS:
        if type(tree) is str:  # a top-level string is held to the same limit as any other
            _check_string(tree, limits.max_string_bytes)
        return tree
    if body.count(b"{") + body.count(b"[") > limits.max_depth:
        _check_depth(tree, limits.max_depth)
    _check_duplicate_keys(body, tree)
    if len(body) > limits.max_string_bytes:
        _check_string_lengths(tree, limits.max_string_bytes)
    return tree


_CONTAINERS = (dict, list)


def _check_depth(tree: Any, max_depth: int) -> None:
    # More brackets than the limit (some may sit inside strings): measure the real tree.
    stack: list[tuple[Any, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise JsonError(f"nesting deeper than {max_depth} levels")
        children = node.values() if type(node) is dict else node
        stack.extend((child, depth + 1) for child in children if type(child) in _CONTAINERS)


def _check_duplicate_keys(body: bytes, tree: Any) -> None:
    # (`b"\\" not in body` first: a one-byte search is far cheaper than a two-byte one.)
    if b"\\" not in body or b"\\u" not in body:
        # Colons live only after keys and inside strings, and without `\u` escapes a string holds
        # exactly as many colon bytes in the body as in orjson's re-serialisation. A dropped
        # duplicate member takes at least its own colon with it, so equal counts mean no duplicate.
        if body.count(b":") == orjson.dumps(tree).count(b":"):
            return
    try:
        _stdlib_json.loads(body, object_pairs_hook=_refuse_duplicates)
    except _DuplicateKey as dup:
        raise JsonError(f"duplicate key {dup.args[0]!r}") from None


class _DuplicateKey(Exception):
    pass


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def _check_string_lengths(tree: Any, max_bytes: int) -> None:
    stack = [tree]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            for key, value in node.items():
                _check_string(key, max_bytes)
                if type(value) is str:
                    _check_string(value, max_bytes)
                elif type(value) in _CONTAINERS:
                    stack.append(value)
        else:
            for value in node:
                if type(value) is str:
                    _check_string(value, max_bytes)
                elif type(value) in _CONTAINERS:
                    stack.append(value)


def _check_string(value: str, max_bytes: int) -> None:
    # len() counts code points: a string is over the limit in UTF-8 only if len * 4 could be.
    if len(value) * 4 > max_bytes and len(value.encode("utf-8")) > max_bytes:
        raise JsonError(f"string longer than {max_bytes} bytes")
