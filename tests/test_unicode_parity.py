"""Text that is not valid Unicode, end to end: a tool whose result or error holds a lone surrogate
gets the same HTTP answer from the fast app on both backends as from the SDK's own app.

The codec's encoders refuse such text with a `TypeError` on both backends (as `orjson.dumps` does),
and the adapter then writes the reply with the SDK's own JSON dump, which escapes the surrogate
(`\\ud800`). Before, the native encoder raised `UnicodeEncodeError` and the reply was an HTTP 500.

Real parts: uvicorn servers on loopback (`tests.servers.unicode_app`), a real HTTP client.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.adapter_helpers import BACKENDS, ServerSubprocess, headers_for, message

TOOLS = ["lone_text", "lone_structured", "lone_error", "lone_error_data", "lone_exception"]


@pytest.fixture(scope="module")
def servers():
    specs = [("stock", "pure")] + [("fast", backend) for backend in BACKENDS]
    procs = {
        spec: ServerSubprocess("tests.servers.unicode_app", f"{spec[0]}/{spec[1]}", spec[1], ADAPTER_MODE=spec[0])
        for spec in specs
    }
    try:
        for proc in procs.values():
            proc.wait()
        for (mode, backend), proc in procs.items():
            assert mode == "stock" or proc.backend == backend, f"{proc.label} runs {proc.backend}"
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=10) as c:
        yield c


def _call(client: httpx.Client, url: str, tool: str) -> httpx.Response:
    msg = message("tools/call", id=7, name=tool, arguments={})
    return client.post(url, content=json.dumps(msg).encode(), headers=headers_for(msg))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("tool", TOOLS)
def test_fast_app_answers_like_the_sdk(servers, client, tool, backend):
    stock = _call(client, servers["stock", "pure"].url, tool)
    fast = _call(client, servers["fast", backend].url, tool)
    assert stock.status_code != 500, stock.text  # the baseline really answers
    assert (fast.status_code, fast.headers["content-type"]) == (stock.status_code, stock.headers["content-type"])
    assert fast.content == stock.content


def test_the_surrogate_reaches_the_client_escaped(servers, client):
    """What the SDK's bytes say (so the comparison above compares something real)."""
    ok = _call(client, servers["stock", "pure"].url, "lone_text")
    assert ok.status_code == 200
    assert b"ab\\ud800cd" in ok.content
    assert json.loads(ok.content)["result"]["content"][0]["text"] == "ab\ud800cd"
    failed = _call(client, servers["stock", "pure"].url, "lone_error")
    assert failed.status_code == 400
    assert json.loads(failed.content)["error"] == {"code": -32602, "message": "bad \ud800"}
