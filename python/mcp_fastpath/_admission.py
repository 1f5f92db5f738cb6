"""The admitted request's identity, handed to the application by both adapters."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, NamedTuple

__all__ = ["Admission", "SCOPE_KEY", "current_admission", "set_admission"]

SCOPE_KEY = "mcp_fastpath"


class Admission(NamedTuple):
    """`principal` (a verified JWT's `Principal`, or None), `signature` (the envelope's
    `SignatureInfo`, or None) and the decoded `request`."""

    principal: Any
    signature: Any
    request: Any


_ADMISSION: ContextVar[Admission | None] = ContextVar("mcp_fastpath_admission", default=None)


def current_admission() -> Admission | None:
    """The admission of the request being served (None outside one, or when no adapter ran)."""
    return _ADMISSION.get()


def set_admission(scope: dict[str, Any], principal: Any, signature: Any, request: Any) -> Admission:
    """Record the admission in `scope[SCOPE_KEY]` and in the context variable (for this task and
    the tasks and threads it starts)."""
    admission = Admission(principal, signature, request)
    scope[SCOPE_KEY] = {"principal": principal, "signature": signature, "request": request}
    _ADMISSION.set(admission)
    return admission
