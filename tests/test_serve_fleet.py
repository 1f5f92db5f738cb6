"""`mcp-fastpath serve` behind a proxy and in a fleet: `--allowed-host`/`--allowed-origin`, the
`/livez` and `/healthz` probes, `--no-replay-outcomes`. Real `serve` processes on loopback."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from mcp_fastpath import keyfile
from mcp_fastpath.adapters.health import HealthCheck

from tests.fleet_helpers import ServeNode, free_port, start_nodes

AUDIENCE = "https://serve.test/mcp"


@pytest.fixture(scope="module")
def nodes(redis_url, tmp_path_factory):
    directory = tmp_path_factory.mktemp("serve-fleet")
    keys = keyfile.generate("hmac", "client", audience=AUDIENCE)
    path = str(keys.write(directory / "keys.json"))
    counter = redis_url.rsplit("/", 1)[0] + "/3"
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    started = start_nodes(
        [
            ServeNode(directory, "plain", "--keys", path, FLEET_COUNTER_URL=counter),
            ServeNode(
                directory,
                "proxied",
                "--keys",
                path,
                "--allowed-host",
                "mcp.example.test",
                "--allowed-origin",
                "https://app.example.test",
                "--no-replay-outcomes",
                FLEET_COUNTER_URL=counter,
            ),
            ServeNode(directory, "no-redis", "--keys", path, "--replay", dead, "--task-store", dead),
        ]
    )
    try:
        yield {node.name: node for node in started} | {"keys": keys}
    finally:
        for node in started:
            node.stop()


def _signed(nodes, **headers: str) -> tuple[bytes, dict[str, str]]:
    from mcp_fastpath.client import Client

    client = Client("http://unused/mcp", signer=nodes["keys"].signer())
    body, signed_headers = client.encode(client.build_message("tools/list", {}))
    asyncio.run(client.aclose())
    return body, {**signed_headers, **headers}


def test_probes(nodes):
    with httpx.Client(timeout=10) as http:
        live = http.get(f"http://127.0.0.1:{nodes['plain'].port}/livez")
        ready = http.get(f"http://127.0.0.1:{nodes['plain'].port}/healthz")
        head = http.head(f"http://127.0.0.1:{nodes['plain'].port}/healthz")
        down = http.get(f"http://127.0.0.1:{nodes['no-redis'].port}/healthz")
        down_live = http.get(f"http://127.0.0.1:{nodes['no-redis'].port}/livez")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert live.headers["cache-control"] == "no-store"
    # fleet_app declares task tools: readiness checks the replay cache and the task store.
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "checks": {"replay": "ok", "tasks": "ok"}})
    assert (head.status_code, head.content) == (200, b"")
    assert down.status_code == 503 and down.headers["retry-after"] == "1"
    assert down.json()["status"] == "unavailable"
    assert {name: value.split(":")[0] for name, value in down.json()["checks"].items()} == {
        "replay": "unavailable",
        "tasks": "unavailable",
    }
    assert down_live.status_code == 200  # liveness does no I/O: a Redis outage restarts nothing


def test_allowed_host_and_origin(nodes):
    """Behind a proxy that passes the public Host, a loopback bind refuses it (DNS-rebinding
    protection) unless `--allowed-host` names it; the loopback Host still works."""
    body, headers = _signed(nodes, Host="mcp.example.test")
    with httpx.Client(timeout=10) as http:
        refused = http.post(nodes["plain"].url, content=body, headers=headers)
        body, headers = _signed(nodes, Host="mcp.example.test", Origin="https://app.example.test")
        admitted = http.post(nodes["proxied"].url, content=body, headers=headers)
        body, headers = _signed(nodes, Host="mcp.example.test", Origin="https://evil.example.test")
        bad_origin = http.post(nodes["proxied"].url, content=body, headers=headers)
        body, headers = _signed(nodes)
        loopback = http.post(nodes["proxied"].url, content=body, headers=headers)
    assert refused.status_code == 421
    assert admitted.status_code == 200 and "tools" in admitted.json()["result"]
    assert bad_origin.status_code == 403
    assert loopback.status_code == 200


def test_no_replay_outcomes_refuses_a_duplicate(nodes):
    body, headers = _signed(nodes)
    with httpx.Client(timeout=10) as http:
        first = http.post(nodes["proxied"].url, content=body, headers=headers)
        again = http.post(nodes["proxied"].url, content=body, headers=headers)
        on_plain = [http.post(nodes["plain"].url, content=body, headers=headers) for _ in range(2)]
    assert first.status_code == 200
    assert (again.status_code, again.json()["error"]["code"]) == (401, -32012)
    # With outcomes (the default), the copy gets the first answer.
    assert [r.status_code for r in on_plain] == [200, 200]
    assert on_plain[1].content == on_plain[0].content and on_plain[1].headers["mcp-fastpath-outcome"] == "stored"


def test_health_check_in_process():
    """`HealthCheck` itself: checks run concurrently, a slow one times out, other paths pass."""
    from tests.asgi_driver import post

    async def ok() -> None:
        return None

    async def slow() -> None:
        await asyncio.sleep(5)

    async def broken() -> None:
        raise RuntimeError("no")

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    health = HealthCheck(app, checks={"a": ok, "b": slow, "c": broken}, timeout_s=0.2)

    async def get(path: str) -> tuple[int, bytes]:
        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        await health({"type": "http", "method": "GET", "path": path, "headers": []}, receive, send)
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    status, body = asyncio.run(get("/healthz"))
    assert status == 503
    assert json.loads(body)["checks"] == {
        "a": "ok",
        "b": "unavailable: no answer within 0.2 s",
        "c": "unavailable: RuntimeError",
    }
    assert asyncio.run(get("/livez")) == (200, b'{"status":"ok"}')
    assert asyncio.run(get("/other"))[0] == 204
    assert asyncio.run(post(health, "/mcp", b"{}", {}))[0] == 204  # POSTs go to the app
