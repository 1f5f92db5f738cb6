"""The demo's signed client session: discover, list the tools, call one, then show what the
gate refuses (a tampered call, a replayed call, a token from an unknown key), printing a transcript."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["run_session"]


async def run_session(url: str, keys: Any, out: Any) -> bool:
    import httpx

    from ..client import Client, ClientError

    token = keys.mint_token(subject="demo-user", scopes=["mcp"])
    signer = keys.signer()
    ok = True

    def show(arrow: str, text: str) -> None:
        print(f"  {arrow} {text}", file=out, flush=True)

    def expect_rejected(what: str, exc: ClientError | None, code: int) -> None:
        nonlocal ok
        if exc is None:
            ok = False
            show("!!", f"{what}: ACCEPTED (expected {code})")
        elif exc.code == code:
            show("✓", f"{what}: rejected with {exc.code} {exc.message!r} (HTTP {exc.http_status})")
        else:
            ok = False
            show("!!", f"{what}: {exc} (expected {code})")

    async with Client(url, signer=signer, token=token) as client:
        print("1. discover", file=out)
        info = await client.discover()
        server_info = (info.get("_meta") or {}).get("io.modelcontextprotocol/serverInfo", {})
        show(
            "←",
            f"server {server_info.get('name')!r} {server_info.get('version', '')}, versions {info.get('supportedVersions')}, "
            f"capabilities {sorted((info.get('capabilities') or {}).keys())}",
        )
        print("2. tools/list", file=out)
        tools = await client.list_tools()
        names = [t["name"] for t in tools]
        show("←", f"{len(tools)} tools: {', '.join(names[:6])}{' …' if len(names) > 6 else ''}")
        name, arguments = _demo_tool(tools)
        print(f"3. tools/call {name} {json.dumps(arguments)}  (signed, kid {signer.kid}, Bearer JWT)", file=out)
        result = await client.call_tool(name, arguments)
        text = result.get("structuredContent", None) or [
            c.get("text") for c in result.get("content", []) if c.get("type") == "text"
        ]
        show("←", f"{json.dumps(text)[:200]} (isError: {result.get('isError', False)})")

        message = client.build_message("tools/call", {"name": name, "arguments": arguments})
        body, headers = client.encode(message)
        async with httpx.AsyncClient(timeout=10) as http:
            print("4. a tampered call (arguments changed after signing)", file=out)
            tampered = json.loads(body)
            tampered["params"]["arguments"] = {**arguments, "_tampered": True} if arguments else {"x": 1}
            r = await http.post(url, content=json.dumps(tampered).encode(), headers=headers)
            expect_rejected("tampered", _error_of(r), -32010)
            print("5. the same signed bytes sent twice (a retry), then its nonce reused on another message", file=out)
            first = await http.post(url, content=body, headers=headers)
            show("←", f"first copy: HTTP {first.status_code}")
            again = await http.post(url, content=body, headers=headers)
            if again.content == first.content and again.headers.get("mcp-fastpath-outcome") == "stored":
                show("✓", f"second copy: the first one's answer, kept by the replay cache (HTTP {again.status_code})")
            elif again.status_code == 401:  # a replay cache that keeps no answers refuses the copy
                expect_rejected("second copy", _error_of(again), -32012)
            else:
                ok = False
                show("!!", f"second copy: HTTP {again.status_code} {again.text[:120]!r}")
            nonce = _nonce_of(body)
            other = client.build_message("tools/call", {"name": name, "arguments": arguments}, id=message["id"])
            other["params"]["_meta"]["dev.mcp-fastpath/replay-demo"] = True
            replayed = signer.sign_bytes(other, nonce=nonce)
            r = await http.post(url, content=replayed, headers=headers)
            expect_rejected("replayed", _error_of(r), -32012)
    print("6. a call with a bad token (signed by a key the server does not know)", file=out)
    from ..keyfile import generate

    stranger = generate("hmac", "stranger", audience=keys.audience, issuer=keys.issuer)
    async with Client(url, signer=signer, token=stranger.mint_token(subject="mallory")) as bad:
        try:
            await bad.call_tool(name, arguments)
            err = None
        except ClientError as exc:
            err = exc
        expect_rejected("bad token", err, -32010)
    return ok


def _error_of(response: Any) -> Any:
    from ..client import ClientError

    try:
        error = response.json()["error"]
    except Exception:
        return (
            None if response.status_code < 300 else ClientError(None, response.text[:200], None, response.status_code)
        )
    return ClientError(error.get("code"), error.get("message", ""), error.get("data"), response.status_code)


def _nonce_of(body: bytes) -> bytes:
    import base64

    nonce = json.loads(body)["params"]["_meta"]["dev.mcp-fastpath/sig"]["nonce"]
    return base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))


def _demo_tool(tools: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    names = {t["name"] for t in tools}
    if "add" in names:
        return "add", {"a": 2, "b": 3}
    if "test_structured_content" in names:
        return "test_structured_content", {"city": "Paris"}
    for tool in tools:
        if not (tool.get("inputSchema") or {}).get("required"):
            return tool["name"], {}
    return tools[0]["name"], {}
