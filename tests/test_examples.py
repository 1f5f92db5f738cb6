"""The README's runnable examples stay runnable, on both backends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("backend", ["native", "pure"])
def test_verify_gate_example(backend):
    env = {**os.environ, "MCP_FASTPATH_BACKEND": backend}
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "verify_gate.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert f"backend: {backend}" in out
    assert "✓ signed call: tools/call add as alice, key k1" in out
    for expected in [
        "Replayed -32012 (HTTP 401)",
        "tampered arguments: Unauthenticated -32010 (HTTP 401) 'bad signature'",
        "'wrong audience'",
        "Forbidden -32011 (HTTP 403)",
        "no token: Unauthenticated -32010",
    ]:
        assert expected in out, out
