"""Operations: the access log (`serve`, on by default), Prometheus metrics (`serve --metrics`,
`fast_http_app(metrics=...)`), task-store instrumentation, and OpenTelemetry spans with an SDK
tracer provider installed (the in-memory exporter, through `fast_http_app`). Real servers on
loopback, both backends."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import httpx
import mcp_fastpath as fp
import pytest
from mcp_fastpath.demo.processes import free_port
from mcp_fastpath.keyfile import KeyFile
from mcp_fastpath.metrics import InstrumentedTaskStore, Metrics
from mcp_fastpath.tasks.memory import MemoryTaskStore
from mcp_fastpath.tasks.store import TaskRecord
from prometheus_client.parser import text_string_to_metric_families

from tests.adapter_helpers import BACKENDS, ServerSubprocess, headers_for, message
from tests.test_gates import Serve, until

ISSUER = "https://auth.test"
POLICY = {"tools/call:add": ["tools.add"], "*": []}


@pytest.fixture(scope="module", params=BACKENDS)
def served(request, tmp_path_factory):
    """`serve --keys --metrics` (JWT + signed envelopes optional, a policy), access log on."""
    tmp = tmp_path_factory.mktemp("ops")
    key = fp.HmacKey("k1", os.urandom(32))
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    path = tmp / "keys.json"
    KeyFile(
        jwks={"keys": [key.to_jwk(private=True)]},
        issuer=ISSUER,
        audience=url,
        envelope=False,
        token=True,
        policy=POLICY,
    ).write(path)
    proc = Serve(tmp, request.param, "--keys", str(path), "--metrics", port=port)
    try:
        yield proc, key
    finally:
        proc.stop()


def bearer(key: Any, audience: str, scopes: str = "tools.add", sub: str = "alice") -> str:
    now = int(time.time())
    return fp.sign_jwt(key, {"iss": ISSUER, "aud": audience, "sub": sub, "exp": now + 300, "scope": scopes})


def call(url: str, msg: dict[str, Any], token: str | None = None, signer: Any = None) -> httpx.Response:
    if signer is not None:
        msg = signer.sign(msg)
    headers = headers_for(msg)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(url, content=json.dumps(msg), headers=headers, timeout=10)


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = httpx.get(url.removesuffix("/mcp") + "/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def access_lines(proc: Serve) -> list[str]:
    return [line for line in proc.stderr().splitlines() if " POST /mcp " in line]


def test_one_access_line_per_request_and_never_a_credential(served):
    proc, key = served
    before = len(access_lines(proc))
    good = bearer(key, proc.url, sub="alice")
    signer = fp.EnvelopeSigner(key, audience=proc.url)
    add = message("tools/call", name="add", arguments={"a": 1, "b": 2})
    assert call(proc.url, add, good, signer).status_code == 200  # signed and with a token
    assert call(proc.url, add).status_code == 401  # no token
    expired = fp.sign_jwt(key, {"iss": ISSUER, "aud": proc.url, "sub": "x", "exp": int(time.time()) - 3600})
    assert call(proc.url, add, expired).status_code == 401
    assert call(proc.url, add, bearer(key, proc.url, scopes="")).status_code == 403
    unknown = message("prompts/get", name="nope")
    r = call(proc.url, unknown, good)
    assert r.status_code == 200 and r.json()["error"]["code"] == -32603  # a JSON-RPC error with HTTP 200
    sneaky = message("tools/call", name='x" status=200\nFAKE line', arguments={})
    call(proc.url, sneaky, good)

    # A line is written when the request's handling ends, which may be just after its reply left.
    assert until(lambda: len(access_lines(proc)) >= before + 6)
    lines = access_lines(proc)[before:]
    assert len(lines) == 6, lines
    ok, missing, stale, scope, error, escaped = lines
    assert "status=200 method=tools/call name=add" in ok and "sub=alice" in ok and "kid=k1" in ok
    assert "code=" not in ok and "admission_ms=" in ok
    assert "status=401 method=tools/call name=add code=-32010" in missing
    assert 'rejected="authentication required"' in missing
    assert "code=-32010" in stale and 'rejected="token expired"' in stale
    assert "status=403" in scope and "code=-32011" in scope and 'rejected="insufficient scope: tools.add"' in scope
    assert "status=200 method=prompts/get name=nope code=-32603" in error
    assert 'name="x\\" status=200\\nFAKE line"' in escaped  # one line, the client's text quoted
    log = proc.stderr()
    for credential in (good, expired):
        assert credential not in log and credential.split(".")[2] not in log


def test_metrics_count_requests_rejections_and_latency(served):
    proc, key = served
    before = scrape(proc.url)
    good = bearer(key, proc.url)
    add = message("tools/call", name="add", arguments={"a": 1, "b": 2})
    for _ in range(3):
        assert call(proc.url, add, good).status_code == 200
    assert call(proc.url, add).status_code == 401
    assert call(proc.url, add, bearer(key, proc.url, scopes="")).status_code == 403
    assert call(proc.url, message("prompts/get", name="nope"), good).json()["error"]["code"] == -32603
    # Counted when each request's handling ends, which may be just after its reply left.
    assert until(
        lambda: (
            value(scrape(proc.url), "mcp_fastpath_request_seconds_count")
            >= value(before, "mcp_fastpath_request_seconds_count") + 6
        )
    )
    after = scrape(proc.url)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    total = "mcp_fastpath_requests_total"
    assert delta(total, method="tools/call", outcome="ok", status="200") == 3
    assert delta(total, method="tools/call", outcome="rejected", status="401") == 1
    assert delta(total, method="tools/call", outcome="rejected", status="403") == 1
    assert delta(total, method="prompts/get", outcome="error", status="200") == 1
    assert delta("mcp_fastpath_rejections_total", code="-32010") == 1
    assert delta("mcp_fastpath_rejections_total", code="-32011") == 1
    # Every request is timed; admission for all six, dispatch for the four admitted.
    assert delta("mcp_fastpath_request_seconds_count") == 6
    assert delta("mcp_fastpath_admission_seconds_count") == 6
    assert delta("mcp_fastpath_dispatch_seconds_count") == 4
    assert delta("mcp_fastpath_request_seconds_sum") > 0
    assert value(after, "mcp_fastpath_replay_cache_errors_total") == 0
    # The scrape itself is neither logged nor counted: once a request made after the scrapes has its
    # line (the log writes in batches), no scrape has one.
    lines = len(access_lines(proc))
    assert call(proc.url, add, good).status_code == 200
    assert until(lambda: len(access_lines(proc)) > lines)
    assert "GET /metrics" not in proc.stderr()


def test_metrics_label_values_stay_bounded(served):
    proc, key = served
    good = bearer(key, proc.url)
    for i in range(5):
        call(proc.url, message(f"custom/method-{i}"), good)
    samples = scrape(proc.url)
    methods = {dict(labels).get("method") for (name, labels) in samples if name == "mcp_fastpath_requests_total"}
    assert "other" in methods and not any(m and m.startswith("custom/") for m in methods)


def test_no_access_log(tmp_path):
    proc = Serve(tmp_path, "native", "--no-access-log")
    try:
        assert call(proc.url, message("tools/list")).status_code == 200
        assert httpx.get(proc.url.removesuffix("/mcp") + "/metrics", timeout=10).status_code == 404  # not asked for
    finally:
        proc.stop()
    assert " POST /mcp " not in proc.stderr()


def test_replay_cache_errors_are_counted(backend):
    from mcp.server.mcpserver import MCPServer
    from mcp_fastpath.adapters.sdk import fast_http_app

    from tests import asgi_driver

    key = backend.HmacKey("k1", b"k" * 32)
    gate = backend.Gate(envelope=backend.EnvelopeVerifier(backend.KeyRing([key]), audience="https://mcp.test"))

    class BrokenCache:
        async def check(self, kid: str, nonce: str, ttl_ms: int, *, iat_ms: Any = None) -> str:
            raise ConnectionError("replay store unreachable")

    metrics = Metrics()
    server = MCPServer("replay")
    server.tool(name="add")(lambda a, b: a + b)
    app = fast_http_app(server, gate=gate, replay=BrokenCache(), metrics=metrics, json_response=True)
    msg = backend.EnvelopeSigner(key, audience="https://mcp.test").sign(
        message("tools/call", name="add", arguments={"a": 1, "b": 2})
    )

    async def scenario() -> None:
        async with asgi_driver.lifespan(app):
            try:
                headers = {**headers_for(msg), "Host": "127.0.0.1:8000"}
                await asgi_driver.post(app, "/mcp", json.dumps(msg).encode(), headers)
            except Exception:
                pass  # how an unreachable cache is answered is not this test's business: counting it is

    asyncio.run(scenario())
    assert metrics.registry.get_sample_value("mcp_fastpath_replay_cache_errors_total") == 1


def test_task_store_instrumentation():
    metrics = Metrics()
    store = InstrumentedTaskStore(MemoryTaskStore(), metrics)

    def record(task_id: str) -> TaskRecord:
        return TaskRecord(
            task_id=task_id,
            owner=None,
            status="working",
            created_at_ms=1,
            updated_at_ms=1,
            ttl_ms=60_000,
            poll_interval_ms=100,
            tool="t",
            lease_owner="node",
            lease_expires_ms=10_000,
        )

    def count(status: str) -> float:
        return metrics.registry.get_sample_value("mcp_fastpath_tasks_total", {"status": status}) or 0.0

    async def scenario() -> None:
        await store.create(record("a"))
        await store.create(record("b"))
        await store.create(record("c"))
        await store.transition("a", now_ms=2, status="completed", result={"content": []})
        assert await store.transition("a", now_ms=3, status="failed") is None  # terminal: nothing entered
        await store.transition("b", now_ms=2, status_message="still going")  # no status change
        await store.request_cancel("c", now_ms=20_000)  # lease lapsed: settled at once
        await store.request_cancel("c", now_ms=20_001)  # idempotent: not counted twice
        with pytest.raises(ValueError):
            await store.create(record("a"))  # a duplicate id: the store's error, counted

    asyncio.run(scenario())
    assert count("working") == 3 and count("completed") == 1 and count("failed") == 0 and count("cancelled") == 1
    errors = metrics.registry.get_sample_value("mcp_fastpath_task_store_errors_total", {"operation": "create"})
    assert errors == 1


def test_fast_http_app_counts_the_servers_tasks():
    from mcp.server.mcpserver import MCPServer
    from mcp_fastpath.adapters.sdk import fast_http_app
    from mcp_fastpath.tasks import TaskSupport

    server = MCPServer("tasks")
    server.tool(name="slow")(lambda: "done")
    support = TaskSupport(server, tools={"slow": "optional"})
    fast_http_app(server, metrics=True)
    assert isinstance(support.active_store(), InstrumentedTaskStore)


# ---- OpenTelemetry -----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_spans_are_recorded_when_a_tracer_provider_is_installed(backend):
    proc = ServerSubprocess("tests.servers.otel_app", f"otel/{backend}", backend).wait()
    try:
        trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
        msg = message(
            "tools/call",
            id=41,
            name="add",
            arguments={"a": 2, "b": 3},
            _meta={
                **message("x")["params"]["_meta"],
                "traceparent": f"00-{trace_id}-{parent_id}-01",
            },
        )
        assert call(proc.url, msg).json()["result"]["structuredContent"] == {"result": 5}
        assert call(proc.url, message("tools/call", name="boom", arguments={})).status_code == 200
        spans = httpx.get(proc.url.removesuffix("/mcp") + "/spans", timeout=10).json()
        metrics_text = httpx.get(proc.url.removesuffix("/mcp") + "/metrics", timeout=10).text
    finally:
        proc.stop()
    by_name = {span["name"]: span for span in spans}
    add = by_name["tools/call add"]
    assert add["kind"] == "SERVER" and add["trace_id"] == trace_id and add["parent_span_id"] == parent_id
    assert add["attributes"]["mcp.method.name"] == "tools/call"
    assert add["attributes"]["gen_ai.tool.name"] == "add" and add["attributes"]["jsonrpc.request.id"] == "41"
    assert by_name["tools/call boom"]["status"] == "ERROR"  # the tool's error, as the SDK marks it
    # Metrics ran alongside the spans.
    assert 'mcp_fastpath_requests_total{method="tools/call",outcome="ok",status="200"} 2.0' in metrics_text


def test_access_log_reads_the_code_of_an_error_sent_over_sse(caplog):
    """A request with a progress token is answered as an SSE stream; the error that ends it is in
    the last frame, and the log line still has its code."""
    from mcp_fastpath.adapters.sdk import fast_http_app

    from tests import asgi_driver
    from tests.servers.sdk_app import build_server

    app = fast_http_app(build_server(), access_log=True)
    msg = message("tools/call", name="fail_late", arguments={})
    msg["params"]["_meta"]["progressToken"] = "p1"
    headers = {**headers_for(msg), "Host": "127.0.0.1:8000"}

    async def scenario() -> tuple[int, dict[str, str], bytes]:
        async with asgi_driver.lifespan(app):
            return await asgi_driver.post(app, "/mcp", json.dumps(msg).encode(), headers)

    with caplog.at_level("INFO", logger="mcp_fastpath.access"):
        status, headers_out, body = asyncio.run(scenario())
    assert status == 200 and headers_out["content-type"].startswith("text/event-stream")
    assert b'"error":{"code":-32602' in body
    [line] = [r for r in caplog.records if r.name == "mcp_fastpath.access"]
    assert line.mcp_fastpath["code"] == -32602 and line.mcp_fastpath["name"] == "fail_late"
    assert "status=200 method=tools/call name=fail_late code=-32602" in line.getMessage()


def test_metrics_sum_over_workers(tmp_path):
    """`serve --workers 2 --metrics`: the workers share a multiprocess directory, and whichever
    worker answers a scrape reports the count over both."""
    proc = Serve(tmp_path, "native", "--workers", "2", "--metrics", "--no-access-log")
    try:
        for _ in range(20):
            assert call(proc.url, message("tools/list")).status_code == 200

        def counted() -> float:
            return value(
                scrape(proc.url), "mcp_fastpath_requests_total", method="tools/list", outcome="ok", status="200"
            )

        assert until(lambda: counted() == 20)
        assert all(counted() == 20 for _ in range(6))  # any worker answers the scrape, with the sum
    finally:
        proc.stop()
