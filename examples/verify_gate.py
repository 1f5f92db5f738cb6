"""A runnable tour of per-request verification: `python examples/verify_gate.py`.

A client signs a 2026-07-28 request (HMAC envelope) and carries a JWT; the server-side Gate admits
it in one call, the replay cache refuses a second copy, and tampering, a wrong audience and a
missing scope are refused with the right JSON-RPC code and HTTP status.
"""

from __future__ import annotations

import asyncio
import os
import time

import mcp_fastpath as fp
import orjson

AUDIENCE = "https://mcp.example.com"
ISSUER = "https://auth.example.com"


def request(arguments: dict) -> dict:
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "add", "arguments": arguments, "_meta": meta},
    }


def show(label: str, call) -> None:
    try:
        admitted = call()
    except fp.Rejection as r:
        print(f"  ✗ {label}: {type(r).__name__} {r.code} (HTTP {r.http_status}) {r.message!r}")
    else:
        print(
            f"  ✓ {label}: {admitted.request.method} {admitted.request.name} as {admitted.principal.subject}, key {admitted.signature.kid}"
        )


async def main() -> None:
    print(f"backend: {fp.BACKEND}")
    key = fp.HmacKey("k1", os.urandom(32))
    ring = fp.KeyRing([key])
    gate = fp.Gate(
        envelope=fp.EnvelopeVerifier(ring, audience=AUDIENCE, max_skew_s=60),
        jwt=fp.JwtVerifier(ring, issuer=ISSUER, audience=AUDIENCE),
        policy=fp.ScopePolicy({"tools/call:add": ["tools.add"]}),
    )
    replay = fp.MemoryReplayCache()
    token = fp.sign_jwt(
        key, {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "scope": "tools.add", "exp": time.time() + 300}
    )
    signer = fp.EnvelopeSigner(key, audience=AUDIENCE)

    message = request({"a": 2, "b": 3})
    body = signer.sign_bytes(message)
    headers = {**fp.request_headers("tools/call", message["params"]), "Authorization": f"Bearer {token}"}

    admitted = gate.admit(body, headers)
    await fp.admit_once(replay, admitted.signature, 60)
    show("signed call", lambda: admitted)
    try:
        await fp.admit_once(replay, gate.admit(body, headers).signature, 60)
    except fp.Replayed as r:
        print(f"  ✗ the same bytes again: Replayed {r.code} (HTTP {r.http_status})")

    tampered = orjson.loads(body)
    tampered["params"]["arguments"]["a"] = 200
    show("tampered arguments", lambda: gate.admit(orjson.dumps(tampered), headers))
    other_aud = fp.EnvelopeSigner(key, audience="https://elsewhere").sign_bytes(message)
    show("signed for another server", lambda: gate.admit(other_aud, headers))
    no_scope = fp.sign_jwt(
        key, {"iss": ISSUER, "aud": AUDIENCE, "sub": "bob", "scope": "read", "exp": time.time() + 300}
    )
    show(
        "token without the scope",
        lambda: gate.admit(signer.sign_bytes(message), {**headers, "Authorization": f"Bearer {no_scope}"}),
    )
    show(
        "no token", lambda: gate.admit(signer.sign_bytes(message), fp.request_headers("tools/call", message["params"]))
    )


if __name__ == "__main__":
    asyncio.run(main())
