"""What every `mcp-fastpath` command shares: the registry that builds the parser, and small
argument and input helpers.

A command module registers its subcommand with `@command`: a function that receives argparse's
subparsers object, adds its parser and sets `handler=<function(args) -> int>` with
`set_defaults`. The handler imports what it needs itself, so `mcp-fastpath --help` stays fast
and one command's optional dependency never breaks another.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["KEYFILE_HELP", "PROG", "command", "ensure_backend", "positive_float", "read_json_input", "registrars"]

PROG = "mcp-fastpath"

Subparsers = Any  # argparse._SubParsersAction (private in typeshed)
Registrar = Callable[[Subparsers], None]

_REGISTRARS: list[Registrar] = []


def command(register: Registrar) -> Registrar:
    """Register a subcommand. Order of registration is help order."""
    _REGISTRARS.append(register)
    return register


def registrars() -> list[Registrar]:
    return list(_REGISTRARS)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


KEYFILE_HELP = """\
key file (--keys): one JSON object, written by `mcp-fastpath keygen`:
  {
    "format": "mcp-fastpath/keys/v1",
    "jwks": {"keys": [<JWK>, ...]},   required: oct (HS256 / hmac-sha256) or OKP Ed25519 keys;
                                       a server needs the HMAC secret ("k") or the Ed25519 public
                                       "x"; a client signing requests needs "k" or "d"
    "audience": "https://mcp.example.com",  optional: envelope "aud" (signed, then required)
                                       and the JWT audience
    "issuer": "https://auth.example.com",   optional: turns JWT checking on (needs "audience")
    "envelope": true,                  optional (default true): require a signed envelope
    "token": true,                     optional (default: true when "issuer" is set)
    "max_skew_s": 60, "leeway_s": 30,  optional: envelope time window, JWT leeway
    "policy": {"tools/call:add": ["tools.add"], "*": []},   optional: ScopePolicy rules
    "signing_kid": "k1"                optional: the key a client signs with
  }
"""


def read_json_input(source: str | None) -> tuple[bytes, Any]:
    """(raw bytes, parsed JSON) of a file, or stdin for None / "-"."""
    from ..errors import FastpathError

    if source in (None, "-"):
        raw = sys.stdin.buffer.read()
    else:
        try:
            with open(source, "rb") as f:
                raw = f.read()
        except OSError as exc:
            raise FastpathError(f"cannot read {source}: {exc.strerror or exc}") from None
    try:
        return raw, json.loads(raw)
    except ValueError as exc:
        raise FastpathError(f"not JSON: {exc}") from None


def ensure_backend(desired: str | None, argv: Sequence[str]) -> None:
    """Re-run this command in a fresh process when `--backend` differs from the loaded backend
    (the backend is chosen once, at import). `native` missing is an error, not a fallback."""
    import os

    from .. import BACKEND, _backend

    if not desired:
        return
    env_choice = (os.environ.get("MCP_FASTPATH_BACKEND") or "auto").strip().lower()
    if desired == "native":
        _backend.load("native")  # raises BackendUnavailable with the build hint
    if desired == env_choice or (desired == BACKEND and desired != "auto"):
        return
    os.environ["MCP_FASTPATH_BACKEND"] = desired
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "mcp_fastpath", *argv])
