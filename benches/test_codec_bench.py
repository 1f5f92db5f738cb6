"""Codec benchmarks: native vs pure vs the official SDK's request path, on the bodies of
`benches/codec.py` (~350 B, ~1.4 KiB, ~45 KiB `tools/call`).

    .venv/bin/python -m pytest benches/ --benchmark-only

One benchmark group per body, so pytest-benchmark's table compares the contenders on the same body
(`--benchmark-compare`, `--benchmark-histogram` work as usual). Outside `testpaths`, so the normal
test run never collects it; it makes no timing assertions (the targets live in `mcp-fastpath bench`).
A contender that cannot run here (native module not built, SDK not installed) is skipped with the
reason; every contender's answer is checked once before it is timed.
"""

from __future__ import annotations

from typing import Any

import pytest

from benches import codec as bench

BODIES = bench.BODIES
CONTENDERS = {
    "native": "native decode",
    "native-params": "native decode + params",
    "pure": "pure decode",
    "sdk": bench.SDK,
}
ROUTERS = {"native": "native routing_keys", "pure": "pure routing_keys", "sdk": bench.SDK}


@pytest.fixture(scope="module")
def calls() -> dict[str, dict[str, Any]]:
    """Body key → contender name → call (or the reason it cannot run)."""
    backends = bench.backend_status()
    return {body.key: bench.contenders(body, backends) for body in BODIES}


def _call(calls: dict[str, dict[str, Any]], body: bench.Body, name: str) -> Any:
    call = calls[body.key][name]
    if not callable(call):
        pytest.skip(call)
    return call


@pytest.mark.parametrize("body", BODIES, ids=[body.key for body in BODIES])
@pytest.mark.parametrize("contender", list(CONTENDERS))
def test_decode(benchmark: Any, calls: dict[str, dict[str, Any]], contender: str, body: bench.Body) -> None:
    """decode(body, raw header pairs) + .arguments_json (native) or .params, or the SDK's
    json.loads → model_validate → ladder."""
    call = _call(calls, body, CONTENDERS[contender])
    benchmark.group = f"decode {body.label} ({body.size:,} B): {body.description}"
    benchmark.extra_info.update(body=body.key, bytes=body.size, contender=CONTENDERS[contender])
    benchmark(call)


@pytest.mark.parametrize("contender", list(ROUTERS))
def test_routing_keys(benchmark: Any, calls: dict[str, dict[str, Any]], contender: str) -> None:
    """routing_keys(body) on the largest body, against the SDK's full path (what a gateway saves)."""
    body = bench.BODY_BY_KEY[bench.ROUTING_BODY]
    call = _call(calls, body, ROUTERS[contender])
    benchmark.group = f"routing keys {body.label} ({body.size:,} B): vs the SDK's full path"
    benchmark.extra_info.update(body=body.key, bytes=body.size, contender=ROUTERS[contender])
    benchmark(call)
