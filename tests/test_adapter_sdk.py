"""`fast_http_app` against the SDK's own app: real uvicorn servers on loopback, real HTTP.

Every stateless-era case is sent to the stock SDK app and to the fast app on each backend, and
the statuses and JSON bodies are compared side by side. Then: a handshake-era (2025-11-25) client
through the adapter, and a Gate (HMAC envelope + HS256 JWT) with its rejections and replay.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import mcp_fastpath as fp
import pytest

from tests.adapter_helpers import BACKENDS, ServerProcess, V, headers_for, message, meta, post, start_all, summary
from tests.servers.sdk_app import AUDIENCE, ISSUER, KID, SECRET

# ("stock" | "fast") + ("" = the SDK's defaults, SSE responses | "-json" = json_response=True)
MODES = {"sse": "", "json": "-json"}
SPECS = (
    [("stock" + m, "pure", False) for m in MODES.values()]
    + [("fast" + m, b, False) for m in MODES.values() for b in BACKENDS]
    + [("fast", b, True) for b in BACKENDS]
)


@pytest.fixture(scope="module")
def servers():
    procs = start_all(SPECS)
    try:
        for (mode, backend, _), proc in procs.items():
            if mode.startswith("fast"):
                assert proc.backend == backend, f"{proc.label} runs {proc.backend}"
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=10) as c:
        yield c


def _add(a: Any = 1, b: Any = 2, **kw: Any) -> dict[str, Any]:
    return message("tools/call", name="add", arguments={"a": a, "b": b}, **kw)


def _route(region: Any = "eu", **kw: Any) -> dict[str, Any]:
    return message("tools/call", name="route", arguments={"region": region, "n": 2}, **kw)


def _case(msg: Any, headers: dict[str, str] | None = None, raw: bytes | None = None, method: str = "POST"):
    return (msg, headers, raw, method)


CASES: dict[str, tuple] = {
    "tools/call add": _case(_add()),
    "tools/call add string id": _case(_add(id="abc")),
    "tools/list": _case(message("tools/list")),
    "resources/list": _case(message("resources/list")),
    "resources/read": _case(message("resources/read", uri="res://greeting")),
    "resources/read unknown": _case(message("resources/read", uri="res://nope")),
    "resources/templates/list": _case(message("resources/templates/list")),
    "prompts/list": _case(message("prompts/list")),
    "prompts/get": _case(message("prompts/get", name="ask", arguments={"topic": "owls"})),
    "prompts/get missing argument": _case(message("prompts/get", name="ask", arguments={})),
    "ping": _case(message("ping")),
    "server/discover": _case(message("server/discover")),
    "unknown tool": _case(message("tools/call", name="nope", arguments={})),
    "bad arguments": _case(_add(a="x")),
    "missing argument": _case(message("tools/call", name="add", arguments={"a": 1})),
    "tool raises": _case(message("tools/call", name="boom", arguments={})),
    "unknown method": _case(message("no/such/method")),
    "params not an object for tools/call": _case(
        None,
        raw=b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}',
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "MCP-Protocol-Version": V,
            "Mcp-Method": "tools/call",
        },
    ),
    "Mcp-Name mismatch": _case(_add(), headers={**headers_for(_add()), "Mcp-Name": "other"}),
    "Mcp-Method mismatch": _case(_add(), headers={**headers_for(_add()), "Mcp-Method": "tools/list"}),
    "version header mismatch": _case(_add(), headers={**headers_for(_add()), "MCP-Protocol-Version": "2099-01-01"}),
    "unsupported version": _case(
        _add(version="2099-01-01"), headers={**headers_for(_add()), "MCP-Protocol-Version": "2099-01-01"}
    ),
    "no _meta": _case(
        {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}},
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "MCP-Protocol-Version": V,
            "Mcp-Method": "tools/list",
        },
    ),
    "Mcp-Param ok": _case(_route(), headers={**headers_for(_route()), "Mcp-Param-Region": "eu"}),
    "Mcp-Param mismatch": _case(_route(), headers={**headers_for(_route()), "Mcp-Param-Region": "us"}),
    "Mcp-Param missing": _case(_route()),
    "Mcp-Param base64": _case(
        _route("é"), headers={**headers_for(_route("é")), "Mcp-Param-Region": fp.encode_header_value("é")}
    ),
    "notification": _case(
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        headers={"Content-Type": "application/json", "Accept": "application/json", "MCP-Protocol-Version": V},
    ),
    "notification unsupported version": _case(
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "MCP-Protocol-Version": "2099-01-01",
        },
    ),
    "invalid JSON": _case(
        None,
        raw=b"{nope",
        headers={"Content-Type": "application/json", "Accept": "application/json", "MCP-Protocol-Version": V},
    ),
    "batch": _case(
        None,
        raw=b"[]",
        headers={"Content-Type": "application/json", "Accept": "application/json", "MCP-Protocol-Version": V},
    ),
    "posted response": _case(
        {"jsonrpc": "2.0", "id": 1, "result": {}},
        headers={"Content-Type": "application/json", "Accept": "application/json", "MCP-Protocol-Version": V},
    ),
    "no Accept json": _case(_add(), headers={**headers_for(_add()), "Accept": "text/event-stream"}),
    "Accept wildcard": _case(_add(), headers={**headers_for(_add()), "Accept": "*/*"}),
    "wrong Content-Type": _case(_add(), headers={**headers_for(_add()), "Content-Type": "text/plain"}),
    "bad Host": _case(_add(), headers={**headers_for(_add()), "Host": "evil.example:80"}),
    "bad Origin": _case(_add(), headers={**headers_for(_add()), "Origin": "http://evil.example"}),
    "good Origin": _case(_add(), headers={**headers_for(_add()), "Origin": "http://localhost:1234"}),
    "listen without SSE accept": _case(
        message("subscriptions/listen"),
        headers={**headers_for(message("subscriptions/listen")), "Accept": "application/json"},
    ),
    "GET modern": _case(None, headers={"MCP-Protocol-Version": V, "Accept": "text/event-stream"}, method="GET"),
    "DELETE modern": _case(None, headers={"MCP-Protocol-Version": V}, method="DELETE"),
    "GET no header": _case(None, headers={"Accept": "text/event-stream"}, method="GET"),
    "oversize body": _case(
        None,
        raw=b" " * (4 * 1024 * 1024 + 1),
        headers={"Content-Type": "application/json", "Accept": "application/json", "MCP-Protocol-Version": V},
    ),
}


def _send(client: httpx.Client, url: str, case: tuple) -> tuple[int, Any]:
    msg, headers, raw, method = case
    if method != "POST":
        return summary(client.request(method, url, headers=headers))
    return summary(post(client, url, msg, headers=headers, raw=raw))


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(CASES))
def test_same_as_sdk(servers, client, backend, name, mode):
    stock = servers[("stock" + MODES[mode], "pure", False)]
    fast = servers[("fast" + MODES[mode], backend, False)]
    expected = _send(client, stock.url, CASES[name])
    got = _send(client, fast.url, CASES[name])
    assert _normalized(got) == _normalized(expected)


def _normalized(outcome: tuple[int, Any]) -> tuple[int, Any]:
    """Parse errors: the codec says where the JSON broke ("Parse error: …"), the SDK only "Parse
    error"; code, status and id must still agree."""
    status, body = outcome
    if isinstance(body, dict) and isinstance(body.get("error"), dict) and body["error"].get("code") == -32700:
        assert body["error"]["message"].startswith("Parse error")
        body = {**body, "error": {**body["error"], "message": "Parse error"}}
    return status, body


def test_cases_cover_the_interesting_outcomes(servers, client):
    # A sanity check on the fixture server: the comparison above is not vacuous.
    stock = servers[("stock-json", "pure", False)]
    assert _send(client, stock.url, CASES["tools/call add"])[1]["result"]["structuredContent"] == {"result": 3}
    assert _send(client, stock.url, CASES["Mcp-Param mismatch"])[0] == 400
    assert _send(client, stock.url, CASES["unsupported version"])[1]["error"]["code"] == -32022
    assert _send(client, stock.url, CASES["notification"])[0] == 202
    assert _send(client, stock.url, CASES["GET modern"])[0] == 405
    assert _send(client, stock.url, CASES["unknown method"])[0] == 404
    assert _send(client, stock.url, CASES["no Accept json"])[0] == 406
    assert _send(client, stock.url, CASES["bad Host"])[0] == 421
    # SSE mode (the default) also wants `text/event-stream` in Accept.
    assert _send(client, servers[("stock", "pure", False)].url, CASES["notification"])[0] == 406


# ------------------------------------------------------------------------------------------------
# Request-scoped notifications (progress, logging): the exact response, bytes and headers.

LOG_LEVEL = "io.modelcontextprotocol/logLevel"


def _call(name: str, arguments: dict[str, Any] | None = None, id: Any = 1, **extra_meta: Any) -> dict[str, Any]:
    return message("tools/call", id=id, name=name, arguments=arguments or {}, _meta=meta(**extra_meta))


STREAMED: dict[str, tuple] = {
    "progress": _case(_call("steps", progressToken="p-1")),
    "progress int token": _case(_call("steps", {"n": 2}, id="s", progressToken=7)),
    "progress without token": _case(_call("steps")),
    "progress, Accept json only": _case(
        _call("steps", progressToken="p-2"),
        headers={**headers_for(_call("steps", progressToken="p-2")), "Accept": "application/json"},
    ),
    "log at info": _case(_call("chatty", **{LOG_LEVEL: "info"})),
    "log at error": _case(_call("chatty", **{LOG_LEVEL: "error"})),
    "log at debug, with progress": _case(_call("chatty", progressToken="p-3", **{LOG_LEVEL: "debug"})),
    "log without level": _case(_call("chatty")),
    "log level not a level": _case(_call("chatty", **{LOG_LEVEL: "loud"})),
    "unrequested notification": _case(_call("nudge")),
    "error after progress": _case(_call("fail_late", progressToken="p-4")),
    "error without progress": _case(_call("fail_late")),
    "tool reads the body, progress": _case(_call("body_size", progressToken="p-7")),
    "tool reads the body": _case(_call("body_size")),
    "tools/list with progressToken": _case(message("tools/list", _meta=meta(progressToken="p-5"))),
    "unknown tool with progressToken": _case(_call("nope", progressToken="p-6")),
}
_SAME_HEADERS = (
    "content-type",
    "content-length",
    "cache-control",
    "connection",
    "x-accel-buffering",
    "transfer-encoding",
)


def _raw(client: httpx.Client, url: str, case: tuple) -> tuple[int, dict[str, str | None], bytes]:
    msg, headers, raw, _ = case
    r = post(client, url, msg, headers=headers, raw=raw)
    return r.status_code, {h: r.headers.get(h) for h in _SAME_HEADERS}, r.content


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(STREAMED))
def test_notifications_same_as_sdk(servers, client, backend, name, mode):
    """Status, headers and body bytes as the stock app's: SSE frames (`event: message`, CRLF) for
    every notification then the reply when the tool notifies, plain JSON when it does not (or in
    JSON mode, where both drop notifications)."""
    stock = servers[("stock" + MODES[mode], "pure", False)]
    fast = servers[("fast" + MODES[mode], backend, False)]
    expected = _raw(client, stock.url, STREAMED[name])
    got = _raw(client, fast.url, STREAMED[name])
    assert got == expected


def test_notification_cases_are_not_vacuous(servers, client):
    stock = servers[("stock", "pure", False)]
    status, headers, body = _raw(client, stock.url, STREAMED["progress"])
    assert (status, headers["content-type"]) == (200, "text/event-stream")
    frames = body.split(b"\r\n\r\n")
    assert frames[-1] == b"" and all(f.startswith(b"event: message\r\ndata: ") for f in frames[:-1])
    assert [b'"progress":1' in f for f in frames[:-1]] == [True, False, False, False] and b'"result"' in frames[3]
    status, headers, body = _raw(client, stock.url, STREAMED["log at error"])
    assert headers["content-type"] == "text/event-stream" and body.count(b"notifications/message") == 1
    assert body.count(b"notifications/message") == 1
    assert _raw(client, stock.url, STREAMED["log at info"])[2].count(b"notifications/message") == 3
    assert _raw(client, stock.url, STREAMED["unrequested notification"])[1]["content-type"] == "text/event-stream"
    assert _raw(client, stock.url, STREAMED["log without level"])[1]["content-type"] == "application/json"
    assert _raw(client, stock.url, STREAMED["progress, Accept json only"])[0] == 406
    status, headers, body = _raw(client, stock.url, STREAMED["error after progress"])
    assert (status, headers["content-type"]) == (200, "text/event-stream") and b'"error"' in body
    assert (
        _raw(client, servers[("stock-json", "pure", False)].url, STREAMED["progress"])[1]["content-type"]
        == "application/json"
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_legacy_handshake_client(servers, client, backend):
    """A 2025-11-25 client: initialize → session → notifications/initialized → tools/call."""
    fast = servers[("fast", backend, False)]
    base = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "old", "version": "1"}},
    }
    r = client.post(fast.url, json=init, headers=base)
    assert r.status_code == 200, r.text
    session = r.headers["mcp-session-id"]
    assert "2025-11-25" in r.text
    h = {**base, "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
    assert (
        client.post(fast.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=h).status_code
        == 202
    )
    r = client.post(
        fast.url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": 20, "b": 22}},
        },
        headers=h,
    )
    assert r.status_code == 200
    assert '"structuredContent":{"result":42}' in r.text.replace(" ", "")
    assert client.delete(fast.url, headers=h).status_code in (200, 204)


# ------------------------------------------------------------------------------------------------
# With a Gate.

KEY = fp.HmacKey(KID, SECRET)
SIGNER = fp.EnvelopeSigner(KEY, audience=AUDIENCE)


def token(scopes: str = "tools.add", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": now + 300, "iat": now, "scope": scopes}
    body.update(claims)
    return fp.sign_jwt(KEY, body)


def signed(msg: dict[str, Any], signer: Any = SIGNER) -> dict[str, Any]:
    return signer.sign(msg)


def gated(
    client, url, msg, *, bearer: str | None = "default", extra: dict[str, str] | None = None
) -> tuple[int, Any, httpx.Headers]:
    h = headers_for(msg)
    if bearer == "default":
        bearer = token()
    if bearer is not None:
        h["Authorization"] = f"Bearer {bearer}"
    h.update(extra or {})
    r = post(client, url, msg, headers=h)
    status, body = summary(r)
    return status, body, r.headers


@pytest.mark.parametrize("backend", BACKENDS)
def test_gate_accepts_and_hands_identity_to_the_tool(servers, client, backend):
    url = servers[("fast", backend, True)].url
    status, body, _ = gated(client, url, signed(_add(2, 3)))
    assert status == 200 and body["result"]["structuredContent"] == {"result": 5}
    status, body, _ = gated(client, url, signed(message("tools/call", name="whoami", arguments={})))
    assert status == 200
    assert body["result"]["structuredContent"] == {"subject": "alice", "kid": KID, "scope_subject": "alice"}


def _rejections() -> dict[str, tuple[dict[str, Any], dict[str, Any], int, int]]:
    other = fp.EnvelopeSigner(fp.HmacKey(KID, b"x" * 32), audience=AUDIENCE)
    wrong_aud = fp.EnvelopeSigner(KEY, audience="https://elsewhere")
    tampered = signed(_add(2, 3))
    tampered["params"]["arguments"]["a"] = 200
    stale = SIGNER.sign(_add(), now=time.time() - 3600)
    return {
        # name: (message, gated() kwargs, HTTP status, JSON-RPC code)
        "no token": (signed(_add()), {"bearer": None}, 401, -32010),
        "malformed token": (signed(_add()), {"bearer": "a.b"}, 401, -32010),
        "expired token": (signed(_add()), {"bearer": token(exp=int(time.time()) - 3600)}, 401, -32010),
        "token wrong audience": (signed(_add()), {"bearer": token(aud="https://elsewhere")}, 401, -32010),
        "token bad signature": (
            signed(_add()),
            {
                "bearer": fp.sign_jwt(
                    fp.HmacKey(KID, b"y" * 32), {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}
                )
            },
            401,
            -32010,
        ),
        "missing scope": (signed(_add()), {"bearer": token(scopes="other")}, 403, -32011),
        "unsigned": (_add(), {}, 401, -32010),
        "bad signature": (signed(_add(), other), {}, 401, -32010),
        "tampered body": (tampered, {}, 401, -32010),
        "stale signature": (stale, {}, 401, -32010),
        "envelope wrong audience": (signed(_add(), wrong_aud), {}, 401, -32010),
        "ladder first": (signed(_add()), {"extra": {"Mcp-Name": "other"}}, 400, -32020),
    }


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(_rejections()))
def test_gate_rejections(servers, client, backend, name):
    url = servers[("fast", backend, True)].url
    msg, kwargs, status, code = _rejections()[name]
    got_status, body, headers = gated(client, url, msg, **kwargs)
    assert (got_status, body["error"]["code"]) == (status, code), body
    assert body["id"] == msg["id"]
    if status == 401:
        assert headers["www-authenticate"].startswith("Bearer")
    if status == 403:
        assert 'error="insufficient_scope"' in headers["www-authenticate"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_gate_duplicate_gets_the_first_answer(servers, client, backend):
    check_duplicates(servers[("fast", backend, True)].url, client)


def _tick(key: str) -> dict[str, Any]:
    return message("tools/call", name="tick", arguments={"key": key})


def check_duplicates(url: str, client: httpx.Client) -> None:
    """The same signed bytes twice: the second copy gets the first one's answer, kept by the replay
    cache, and the tool ran once; the nonce reused on another message is refused (-32012); a
    re-signed copy (fresh nonce) is a new request and runs again."""
    import uuid

    key = uuid.uuid4().hex
    first = signed(_tick(key))
    status, body, headers = gated(client, url, first, bearer=token(scopes="tools.add"))
    assert (status, body["result"]["structuredContent"]) == (200, {"result": 1})
    assert "mcp-fastpath-outcome" not in headers
    status, again, headers = gated(client, url, first, bearer=token(scopes="tools.add"))
    assert (status, again, headers["mcp-fastpath-outcome"]) == (200, body, "stored")
    nonce = first["params"]["_meta"]["dev.mcp-fastpath/sig"]["nonce"]
    other = SIGNER.sign(_tick(key + "-other"), nonce=fp_b64(nonce))
    status, refused, headers = gated(client, url, other)
    assert (status, refused["error"]["code"]) == (401, -32012)
    assert headers["www-authenticate"].startswith("Bearer")
    status, fresh, _ = gated(client, url, signed(_tick(key)))  # re-signed: a fresh nonce, a new call
    assert (status, fresh["result"]["structuredContent"]) == (200, {"result": 2})


def fp_b64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.mark.parametrize("backend", BACKENDS)
def test_gate_refuses_the_handshake_era(servers, client, backend):
    """With a gate, a handshake-era client is refused (tests/test_downgrade.py has the whole story)."""
    url = servers[("fast", backend, True)].url
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "old", "version": "1"}},
    }
    r = client.post(
        url, json=init, headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    )
    assert r.status_code == 400 and "mcp-session-id" not in r.headers
    assert r.json()["error"]["code"] == -32022
    assert r.json()["error"]["data"] == {"supported": ["2026-07-28"], "requested": "2025-11-25"}


# ------------------------------------------------------------------------------------------------
# FastTokenVerifier (the SDK's TokenVerifier protocol), in process.


def test_fast_token_verifier():
    import asyncio

    from mcp.server.auth.provider import AccessToken
    from mcp_fastpath.adapters.sdk import FastTokenVerifier

    verifier = FastTokenVerifier(fp.JwtVerifier(fp.KeyRing([KEY]), issuer=ISSUER, audience=AUDIENCE))
    good = token("tools.add mcp", client_id="app-1")
    access = asyncio.run(verifier.verify_token(good))
    assert isinstance(access, AccessToken)
    assert (access.token, access.client_id, access.subject, access.resource) == (good, "app-1", "alice", AUDIENCE)
    assert access.scopes == ["tools.add", "mcp"] and isinstance(access.expires_at, int)
    assert access.claims["iss"] == ISSUER
    for bad in ("", "a.b.c", token(aud="https://elsewhere"), token(exp=int(time.time()) - 3600)):
        assert asyncio.run(verifier.verify_token(bad)) is None


# ------------------------------------------------------------------------------------------------
# The SSE keepalive: a handler silent past the window commits `text/event-stream` with `: ping`
# comments. Both apps on a 0.2 s interval (ADAPTER_SSE_PING) instead of the SDK's 15 s.

PING = 0.2


@pytest.fixture(scope="module")
def ping_servers():
    procs = {}
    try:
        for spec in [("stock", "pure")] + [("fast", b) for b in BACKENDS]:
            procs[spec] = ServerProcess(*spec, ADAPTER_SSE_PING=str(PING))
        for proc in procs.values():
            proc.wait()
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()


def _collapse_pings(body: bytes) -> bytes:
    """How many pings fit in a silent stretch depends on scheduling; their place does not."""
    ping = b": ping\r\n\r\n"
    while ping + ping in body:
        body = body.replace(ping + ping, ping)
    return body


KEEPALIVE = {
    # the request may notify (a progressToken): the deferred writer, then silence
    "silent, progressToken": _call("sleepy", {"seconds": PING * 2.5}, progressToken="k-1"),
    "progress then silent": _call("sleepy", {"seconds": PING * 2.5, "early": True}, progressToken="k-2"),
    # it may not: the inline path, whose keepalive starts only when the timer fires
    "silent, no token": _call("sleepy", {"seconds": PING * 2.5}),
    "quick, no token": _call("sleepy", {"seconds": 0}),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(KEEPALIVE))
def test_keepalive_same_as_sdk(ping_servers, client, backend, name):
    case = _case(KEEPALIVE[name])
    status, headers, body = _raw(client, ping_servers[("stock", "pure")].url, case)
    got_status, got_headers, got_body = _raw(client, ping_servers[("fast", backend)].url, case)
    assert (got_status, got_headers) == (status, headers)
    assert _collapse_pings(got_body) == _collapse_pings(body)
    if name != "quick, no token":
        assert headers["content-type"] == "text/event-stream" and b": ping\r\n\r\n" in got_body


@pytest.mark.parametrize("backend", BACKENDS)
def test_discover_advertises_the_signed_envelope_extension(servers, client, backend):
    status, body, _ = gated(client, servers[("fast", backend, True)].url, signed(message("server/discover")))
    assert status == 200, body
    ext = body["result"]["capabilities"]["extensions"]["dev.mcp-fastpath/signed-envelope"]
    assert ext["algorithms"] == ["hmac-sha256", "ed25519"] and ext["required"] is True
    assert ext["audience"] == AUDIENCE and ext["maxSkewMs"] > 0
