"""`EnvelopeGuard` in front of the SDK's stock app: real uvicorn servers on loopback, real HTTP,
both backends."""

from __future__ import annotations

import httpx
import mcp_fastpath as fp
import pytest

from tests.adapter_helpers import BACKENDS, V, headers_for, message, post, start_all, summary
from tests.test_adapter_sdk import KEY, _add, check_duplicates, gated, signed, token

SPECS = [("guard", b, True) for b in BACKENDS]


@pytest.fixture(scope="module")
def servers():
    procs = start_all(SPECS)
    try:
        for (_, backend, _), proc in procs.items():
            assert proc.backend == backend
        yield {backend: proc for (_, backend, _), proc in procs.items()}
    finally:
        for proc in procs.values():
            proc.stop()


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=10) as c:
        yield c


@pytest.mark.parametrize("backend", BACKENDS)
def test_admitted_request_reaches_the_app_with_its_identity(servers, client, backend):
    url = servers[backend].url
    status, body, _ = gated(client, url, signed(_add(2, 3)))
    assert status == 200 and body["result"]["structuredContent"] == {"result": 5}
    # The stock SDK app runs the tool in this request's task: the context variable and the scope
    # both carry what the guard admitted.
    status, body, _ = gated(client, url, signed(message("tools/call", name="whoami", arguments={})))
    assert status == 200
    assert body["result"]["structuredContent"] == {"subject": "alice", "kid": KEY.kid, "scope_subject": "alice"}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "case",
    ["no token", "missing scope", "unsigned", "tampered", "ladder", "bad json", "unsupported version"],
)
def test_rejected_before_the_app(servers, client, backend, case):
    url = servers[backend].url
    msg = signed(_add())
    kwargs: dict = {}
    expected = {
        "no token": (401, -32010),
        "missing scope": (403, -32011),
        "unsigned": (401, -32010),
        "tampered": (401, -32010),
        "ladder": (400, -32020),
        "bad json": (400, -32700),
        "unsupported version": (400, -32022),
    }[case]
    if case == "no token":
        kwargs["bearer"] = None
    elif case == "missing scope":
        kwargs["bearer"] = token(scopes="other")
    elif case == "unsigned":
        msg = _add()
    elif case == "tampered":
        msg["params"]["arguments"]["b"] = 99
    elif case == "ladder":
        kwargs["extra"] = {"Mcp-Method": "tools/list"}
    elif case == "unsupported version":
        msg = signed(_add(version="2099-01-01"))
        kwargs["extra"] = {"MCP-Protocol-Version": "2099-01-01"}
    if case == "bad json":
        h = {**headers_for(msg), "Authorization": f"Bearer {token()}"}
        status, body = summary(post(client, url, None, headers=h, raw=b"{oops"))
        headers = {}
    else:
        status, body, headers = gated(client, url, msg, **kwargs)
    assert (status, body["error"]["code"]) == expected, body
    if case == "missing scope":
        assert 'error="insufficient_scope"' in headers["www-authenticate"]
    elif status == 401:
        assert headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("backend", BACKENDS)
def test_duplicate_gets_the_first_answer(servers, client, backend):
    check_duplicates(servers[backend].url, client)


@pytest.mark.parametrize("backend", BACKENDS)
def test_notification_passes_to_the_app(servers, client, backend):
    url = servers[backend].url
    h = {"Content-Type": "application/json", "Accept": "application/json", "MCP-Protocol-Version": V}
    r = client.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=h)
    assert r.status_code == 202


@pytest.mark.parametrize("backend", BACKENDS)
def test_handshake_era_traffic_is_refused(servers, client, backend):
    url = servers[backend].url
    # GET on the endpoint: 405, with the modern error naming the versions served.
    r = client.get(url, headers={"MCP-Protocol-Version": V, "Accept": "text/event-stream"})
    assert (r.status_code, r.headers.get("allow")) == (405, "POST")
    assert r.json()["error"]["data"]["supported"] == [V]
    # A handshake-era client, unauthenticated: refused (tests/test_downgrade.py has the whole story).
    base = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "old", "version": "1"}},
    }
    r = client.post(url, json=init, headers=base)
    assert r.status_code == 400 and "mcp-session-id" not in r.headers
    assert r.json()["error"]["code"] == -32022


@pytest.mark.parametrize("backend", BACKENDS)
def test_other_paths_pass_through_untouched(servers, client, backend):
    base = servers[backend].url.rsplit("/", 1)[0]
    r = client.get(f"{base}/elsewhere")
    assert r.status_code == 404  # the app's own answer, not the guard's


def test_guard_in_process_replays_the_body_unchanged():
    """Without sockets: the app sees exactly the bytes the client sent, and the scope entry."""
    import asyncio

    from mcp_fastpath.adapters.asgi import EnvelopeGuard

    seen = {}

    async def app(scope, receive, send):
        message_ = await receive()
        seen["body"] = message_["body"]
        seen["more"] = message_.get("more_body", False)
        seen["fp"] = scope["mcp_fastpath"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    gate = fp.Gate(jwt=fp.JwtVerifier(fp.KeyRing([KEY]), issuer="https://auth.test", audience="https://mcp.test"))
    guard = EnvelopeGuard(app, gate=gate)
    msg = _add()
    raw = (
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call",'
        + __import__("json").dumps({"params": msg["params"]})[1:].encode()
    )
    headers = [
        (k.lower().encode(), v.encode()) for k, v in {**headers_for(msg), "Authorization": f"Bearer {token()}"}.items()
    ]
    chunks = [raw[:10], raw[10:]]
    sent = []

    async def receive():
        if chunks:
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    async def send(m):
        sent.append(m)

    scope = {"type": "http", "method": "POST", "path": "/mcp", "headers": headers}
    asyncio.run(guard(scope, receive, send))
    assert sent[0]["status"] == 200
    assert seen["body"] == raw and seen["more"] is False
    assert seen["fp"]["principal"].subject == "alice" and seen["fp"]["signature"] is None
    assert "mcp_fastpath" not in scope  # the server's scope is not modified
