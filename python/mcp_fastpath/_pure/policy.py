"""Scope policy: which scopes a method (and target name) requires. Twin of `rust/verify/src/policy.rs`.

Rule keys are `"<method>:<name>"`, `"<method>"` and `"*"`; the most specific key present wins and its
value lists the scopes that must all be held. No matching key, or an empty list, allows the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import Forbidden, Unauthenticated
from .jcs import is_unicode

__all__ = ["ScopePolicy"]

# RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E (so it can be quoted in WWW-Authenticate).
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


class ScopePolicy:
    """`ScopePolicy({"tools/call:add": ["tools.add"], "tools/list": [], "*": ["mcp"]})`."""

    __slots__ = ("_rules",)

    def __init__(self, rules: Mapping[str, Iterable[str]]) -> None:
        if not isinstance(rules, Mapping):
            raise TypeError("rules is a mapping of rule key to required scopes")
        parsed: dict[str, tuple[str, ...]] = {}
        for key, scopes in rules.items():
            if not isinstance(key, str):
                raise TypeError(f"rule keys are str, not {type(key).__name__}")
            if not is_unicode(key):
                raise ValueError(f"rule key {key!r} is not valid Unicode (it holds a lone surrogate)")
            if isinstance(scopes, (str, bytes)):
                raise TypeError(f"the scopes of rule {key!r} must be a list of str, not a single string")
            scopes = tuple(str.__str__(scope) if isinstance(scope, str) else scope for scope in scopes)
            for scope in scopes:
                if not isinstance(scope, str) or not _SCOPE_TOKEN.fullmatch(scope):
                    raise ValueError(
                        f"rule {key!r}: a scope is a non-empty RFC 6749 scope-token (printable ASCII, no space, quote or backslash)"
                    )
            # Kept as the text of a subclass (a `str, Enum` member's value), as native keeps it;
            # the messages above name the key as given (its repr), as native's do.
            parsed[str.__str__(key)] = tuple(dict.fromkeys(scopes))
        self._rules = parsed

    @property
    def rules(self) -> dict[str, tuple[str, ...]]:
        return dict(self._rules)

    def required(self, method: str, name: str | None = None) -> tuple[str, ...]:
        """The scopes the most specific matching rule requires (`()` when none matches). `method`
        and `name` are `str` (`TypeError` otherwise); text that is not Unicode matches no rule key."""
        if not isinstance(method, str) or (name is not None and not isinstance(name, str)):
            raise TypeError("method and name are str (name may be None)")
        if name is not None:
            scopes = self._rules.get(f"{method}:{name}")
            if scopes is not None:
                return scopes
        scopes = self._rules.get(method)
        if scopes is not None:
            return scopes
        return self._rules.get("*", ())

    def check(self, principal: Any, request: Any) -> None:
        """Raise `Forbidden` (-32011, 403) naming the scopes `principal` lacks for `request`, or
        `Unauthenticated` (-32010, 401, "authentication required") when scopes are required and
        there is no principal."""
        required = self.required(request.method, getattr(request, "name", None))
        if not required:
            return
        request_id = getattr(request, "id", None)
        if principal is None:
            raise Unauthenticated(
                -32010, "authentication required", request_id=request_id, headers={"WWW-Authenticate": "Bearer"}
            )
        held = set(principal.scopes)
        missing = [scope for scope in required if scope not in held]
        if missing:
            wanted = " ".join(missing)
            raise Forbidden(
                -32011,
                f"insufficient scope: {wanted}",
                request_id=request_id,
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{wanted}"'},
            )

    def __repr__(self) -> str:
        return f"ScopePolicy({self._rules!r})"
