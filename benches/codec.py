"""The codec benchmark: native vs pure vs the official SDK's own path, side by side in one run.

Three deterministic `tools/call` bodies (~350 B, ~1.4 KiB, ~45 KiB), each with the routing headers a
client sends, as ASGI raw pairs. On each body the contenders are measured interleaved: every
repetition times one inner loop of each contender in turn (rotating who goes first), each inner loop
is sized to about `inner_loop_s`, and a contender's result is the median per-call time over all
repetitions. Ratios are therefore taken between numbers measured on the same machine, in the same
process, at the same moment.

Contenders
- `native decode`: `decode(body, raw_pairs)`, then `.arguments_json` is read: what a dispatcher
  needs to route the call and hand its arguments to the tool's own validator (pydantic's
  `model_validate_json`). The native `Request` validates every byte but builds `params` only when
  it is read; `arguments_json` is a slice of the body.
- `native decode + params`: the same, reading `.params` instead (the whole tree built in Python).
- `pure decode`: `decode(body, raw_pairs)`, then `.params` is read (the pure twin parses the whole
  tree with orjson anyway; its `arguments_json` would be one more `orjson.dumps`).
- `SDK path`: what `mcp.server._streamable_http_modern.handle_modern_request` (mcp 2.3.0) does with a
  POST before dispatching it: `json.loads(body)`, the notification-shape check,
  `JSONRPCRequest.model_validate(decoded)`, `find_duplicated_routing_header(pairs)` and
  `classify_inbound_request(decoded, headers=dict(pairs))`, with the headers as Starlette presents
  them (lowercase `str` pairs). Decoding the raw pairs to `str` is done once up front and not
  timed, which favours the SDK slightly.
- `native routing_keys` / `pure routing_keys` (45 KiB body only): what a gateway needs to route.

GC stays enabled (a server runs with it); `gc.collect()` runs before each body.

Library use: `rows = run(seconds_per_case=3.0)`, `print(format_table(rows))`. The command is
`mcp-fastpath bench [--quick] [--json]` from a source checkout; `benches/test_codec_bench.py` is the
pytest-benchmark suite over the same bodies (`BODIES`).
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TextIO

from mcp_fastpath import _backend
from mcp_fastpath.errors import BackendUnavailable

__all__ = [
    "BODIES",
    "Body",
    "CONTENDERS",
    "TARGETS",
    "Unavailable",
    "backend_status",
    "contenders",
    "decode_call",
    "format_table",
    "machine_info",
    "routing_keys_call",
    "run",
    "sdk_path_call",
]

PROTOCOL_VERSION = "2026-07-28"
_META_VERSION = "io.modelcontextprotocol/protocolVersion"
_META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
_META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"


# ---------------------------------------------------------------------------------------------
# Bodies
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    """One benchmark body: the bytes a client POSTs and the headers it sends with them.

    `headers` are ASGI raw pairs (`bytes`, names lowercase, as an ASGI server hands them over);
    `str_headers` are the same pairs as Starlette's `request.headers.items()` presents them.
    """

    key: str  # "350B", "1.4KiB", "45KiB": stable ids (pytest ids, JSON)
    label: str  # "350 B": for humans
    description: str
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    tool: str

    @property
    def size(self) -> int:
        return len(self.body)

    @property
    def str_headers(self) -> list[tuple[str, str]]:
        return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in self.headers]


def _meta() -> dict[str, Any]:
    return {
        _META_VERSION: PROTOCOL_VERSION,
        _META_CAPABILITIES: {"roots": {"listChanged": True}, "sampling": {}, "elicitation": {}},
        _META_CLIENT_INFO: {"name": "mcp-fastpath-bench", "version": "0.1.0"},
    }


def _tools_call(request_id: int, tool: str, arguments: dict[str, Any]) -> bytes:
    message = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments, "_meta": _meta()},
    }
    # Compact and UTF-8 as SDK clients send it (pydantic's model_dump_json).
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _headers(tool: str, body: bytes) -> tuple[tuple[bytes, bytes], ...]:
    return (
        (b"host", b"mcp.internal.example:8000"),
        (b"user-agent", b"mcp-fastpath-bench/0.1"),
        (b"accept", b"application/json, text/event-stream"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"mcp-protocol-version", PROTOCOL_VERSION.encode("ascii")),
        (b"mcp-method", b"tools/call"),
        (b"mcp-name", tool.encode("ascii")),
    )


def _small() -> Body:
    body = _tools_call(1, "add", {"a": 40, "b": 2})
    return Body("350B", "350 B", "tools/call add, 2 int args", body, _headers("add", body), "add")


def _medium() -> Body:
    arguments: dict[str, Any] = {
        "title": "Réunion d'équipe — revue trimestrielle 東京 🚀",
        "calendar_id": "team-platform@example.com",
        "start": "2026-09-14T09:30:00+02:00",
        "end": "2026-09-14T11:00:00+02:00",
        "timezone": "Europe/Paris",
        "all_day": False,
        "priority": 2,
        "duration_minutes": 90,
        "budget_eur": 1250.5,
        "attendees": [
            {"email": "ana@example.com", "optional": False, "role": "chair"},
            {"email": "bjorn@example.com", "optional": False, "role": "speaker"},
            {"email": "chiara@example.com", "optional": True, "role": "guest"},
        ],
        "location": {
            "name": "Salle Lumière",
            "address": {"street": "12 rue de la Paix", "city": "Paris", "postcode": "75002", "country": "FR"},
            "geo": {"lat": 48.8691, "lon": 2.3317},
        },
        "reminders_minutes": [10, 60, 1440],
        "recurrence": {"freq": "quarterly", "interval": 1, "count": 4},
        "tags": ["planning", "q3", "platform", "quarterly-review"],
        "visibility": "internal",
        "conference": {"provider": "meet", "url": "https://meet.example.com/abc-defg-hij", "dial_in": None},
        "agenda": "1. Résultats du trimestre\n2. Roadmap 2027 et priorités\n3. Budget — arbitrages\n4. Questions ouvertes",
        "send_invites": True,
        "color": "#3366ff",
        "external_ref": "JIRA-4821",
    }
    body = _tools_call(42, "create_event", arguments)
    return Body(
        "1.4KiB",
        "1.4 KiB",
        "tools/call, 20 args: nested objects, lists, unicode",
        body,
        _headers("create_event", body),
        "create_event",
    )


def _large() -> Body:
    arguments = {f"arg_{i:04d}": f"value {i:04d}: lorem" for i in range(1500)}
    body = _tools_call(7, "bulk_upsert", arguments)
    return Body("45KiB", "45 KiB", "tools/call, 1,500 string args", body, _headers("bulk_upsert", body), "bulk_upsert")


BODIES: tuple[Body, ...] = (_small(), _medium(), _large())
BODY_BY_KEY: dict[str, Body] = {b.key: b for b in BODIES}
ROUTING_BODY = "45KiB"  # routing_keys is measured on this body


# ---------------------------------------------------------------------------------------------
# Contenders
# ---------------------------------------------------------------------------------------------


class Unavailable(Exception):
    """A contender that cannot run here (native module not built, SDK not installed); `str()` says why."""


def backend_status() -> dict[str, tuple[ModuleType | None, str]]:
    """`{"native": (module | None, status), "pure": (...)}`; status is "available" or why not."""
    status: dict[str, tuple[ModuleType | None, str]] = {}
    for name in ("native", "pure"):
        try:
            _, module = _backend.load(name)
        except BackendUnavailable as exc:
            if name == "native" and importlib.util.find_spec(f"{__package__}._native") is None:
                status[name] = (None, "not built")
            else:
                status[name] = (None, f"import failed: {exc.__cause__ or exc}")
        except ImportError as exc:
            status[name] = (None, f"import failed: {exc}")
        else:
            status[name] = (module, "available")
    return status


def decode_call(module: ModuleType, body: Body, read: str = "params") -> Callable[[], Any]:
    """One `decode(body, raw header pairs)` with one attribute of its `Request` read
    (`params` or `arguments_json`)."""
    decode, data, headers = module.decode, body.body, list(body.headers)
    if read == "arguments_json":

        def call() -> Any:
            return decode(data, headers).arguments_json

    else:

        def call() -> Any:
            return decode(data, headers).params

    return call


def routing_keys_call(module: ModuleType, body: Body) -> Callable[[], Any]:
    routing_keys, data = module.routing_keys, body.body

    def call() -> Any:
        return routing_keys(data)

    return call


def sdk_path_call(body: Body) -> Callable[[], Any]:
    """The official SDK's handling of a 2026-07-28 POST up to dispatch (see the module docstring)."""
    try:
        from mcp.shared.inbound import InboundModernRoute, classify_inbound_request, find_duplicated_routing_header
        from mcp_types import JSONRPCRequest
    except ImportError as exc:
        raise Unavailable(f"mcp SDK not installed ({exc})") from None
    loads, validate, data, pairs = json.loads, JSONRPCRequest.model_validate, body.body, body.str_headers

    def call() -> Any:
        decoded = loads(data)
        if isinstance(decoded, dict) and "id" not in decoded:  # _is_notification_shaped
            raise AssertionError("benchmark body is a notification")
        req = validate(decoded)
        if find_duplicated_routing_header(pairs) is not None:
            raise AssertionError("benchmark headers carry a duplicated routing header")
        verdict = classify_inbound_request(decoded, headers=dict(pairs))
        return req, verdict

    _, verdict = call()
    if not isinstance(verdict, InboundModernRoute):
        raise AssertionError(f"the SDK rejects benchmark body {body.key}: {verdict!r}")
    return call


# Contender names, in table order. `SDK path` is the reference every ratio divides.
SDK = "SDK path"
CONTENDERS = (
    "native decode",
    "native decode + params",
    "pure decode",
    SDK,
    "native routing_keys",
    "pure routing_keys",
)
# What each decode contender reads from the decoded `Request`.
_DECODE_READS = {
    "native decode": "arguments_json",
    "native decode + params": "params",
    "pure decode": "params",
}

# (numerator, denominator, body key, minimum ratio): "numerator is at least X times slower".
TARGETS: tuple[tuple[str, str, str, float], ...] = (
    (SDK, "native decode", "350B", 10.0),
    (SDK, "native decode", "1.4KiB", 10.0),
    (SDK, "native decode", "45KiB", 4.0),
    (SDK, "pure decode", "350B", 1.0),
    (SDK, "pure decode", "1.4KiB", 1.0),
    (SDK, "pure decode", "45KiB", 1.0),
    (SDK, "native routing_keys", "45KiB", 10.0),
)


def contenders(
    body: Body, backends: dict[str, tuple[ModuleType | None, str]] | None = None
) -> dict[str, Callable[[], Any] | str]:
    """Contender name → its zero-argument call (already run once and its answer checked), or a
    string saying why it cannot run here ("native: not built", "error: …")."""
    backends = backends if backends is not None else backend_status()
    out: dict[str, Callable[[], Any] | str] = {}
    for backend in ("native", "pure"):
        module, status = backends[backend]
        names = [name for name in _DECODE_READS if name.startswith(backend)]
        names += [f"{backend} routing_keys"] if body.key == ROUTING_BODY else []
        for name in names:
            if module is None:
                out[name] = f"{backend}: {status}"
                continue
            if name.endswith("routing_keys"):
                call = routing_keys_call(module, body)
            else:
                call = decode_call(module, body, _DECODE_READS[name])
            try:
                result = call()  # a wrong answer must not be timed
                _check(name, body, result)
            except Exception as exc:
                out[name] = f"error: {type(exc).__name__}: {exc}"
            else:
                out[name] = call
    try:
        out[SDK] = sdk_path_call(body)
    except Unavailable as exc:
        out[SDK] = str(exc)
    except Exception as exc:
        out[SDK] = f"error: {type(exc).__name__}: {exc}"
    return {name: out[name] for name in CONTENDERS if name in out}


def _check(name: str, body: Body, result: Any) -> None:
    expected = json.loads(body.body)
    if name.endswith("routing_keys"):
        got = (result.method, result.name, result.protocol_version, result.id)
        want = ("tools/call", body.tool, PROTOCOL_VERSION, expected["id"])
    elif _DECODE_READS[name] == "arguments_json":
        got, want = json.loads(result), expected["params"]["arguments"]
    else:
        got, want = result, expected["params"]
    if got != want:
        raise AssertionError(f"{name} returned {got!r:.120}, expected {want!r:.120}")


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


def _loop(call: Callable[[], Any], n: int) -> int:
    """Nanoseconds for `n` calls."""
    it = range(n)
    start = time.perf_counter_ns()
    for _ in it:
        call()
    return time.perf_counter_ns() - start


def _calibrate(call: Callable[[], Any], inner_loop_s: float) -> int:
    """The number of calls that takes about `inner_loop_s` (after a warm-up)."""
    target = inner_loop_s * 1e9
    n = 1
    while True:
        elapsed = _loop(call, n)
        if elapsed >= target / 4 or n >= 1 << 24:
            return max(1, round(n * target / max(elapsed, 1)))
        n *= 4


def _measure(
    calls: dict[str, Callable[[], Any]], seconds: float, inner_loop_s: float, min_reps: int
) -> dict[str, dict[str, Any]]:
    """Interleaved repetitions: each repetition runs one inner loop of every contender, rotating
    the order; per contender the median, minimum and inter-quartile range of ns per call."""
    names = list(calls)
    if not names:
        return {}
    sizes = {name: _calibrate(calls[name], inner_loop_s) for name in names}
    samples: dict[str, list[float]] = {name: [] for name in names}
    gc.collect()
    deadline = time.perf_counter() + seconds
    rep = 0
    while rep < min_reps or time.perf_counter() < deadline:
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(_loop(calls[name], sizes[name]) / sizes[name])
        rep += 1
    out = {}
    for name, values in samples.items():
        q1, _, q3 = statistics.quantiles(values, n=4) if len(values) >= 2 else (values[0],) * 3
        median = statistics.median(values)
        out[name] = {
            "us": median / 1000,
            "min_us": min(values) / 1000,
            "iqr_pct": 100 * (q3 - q1) / median if median else 0.0,
            "calls_per_rep": sizes[name],
            "reps": len(values),
        }
    return out


# ---------------------------------------------------------------------------------------------
# Machine and run
# ---------------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine_info(backends: dict[str, tuple[ModuleType | None, str]] | None = None) -> dict[str, Any]:
    backends = backends if backends is not None else backend_status()
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 0
    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count() or 0,
        "cpus_usable": usable,
        "platform": f"{platform.system()} {platform.machine()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "mcp": _version("mcp"),
        "orjson": _version("orjson"),
        "load_avg": _load_avg(),
        "backends": {name: status for name, (_, status) in backends.items()},
    }


def _load_avg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def run(
    seconds_per_case: float = 3.0,
    stream: TextIO | None = sys.stdout,
    *,
    inner_loop_s: float = 0.02,
    min_reps: int = 7,
    bodies: tuple[Body, ...] = BODIES,
) -> list[dict[str, Any]]:
    """Measure every contender on every body; one dict per body (see `format_table`).

    Each row: `body`, `label`, `description`, `bytes`, `results` (contender → `{"us", "min_us",
    "iqr_pct", "calls_per_rep", "reps"}` or `{"unavailable": reason}`), `ratios` (one per target
    on this body: `{"name", "value" (None when a side is missing), "target", "met"}`) and `machine`.
    Progress goes to `stream` (None for silence).
    """
    backends = backend_status()
    machine = machine_info(backends)
    rows = []
    for body in bodies:
        calls = contenders(body, backends)
        runnable = {name: c for name, c in calls.items() if callable(c)}
        if stream is not None:
            print(
                f"bench: {body.label} ({body.size} bytes): {', '.join(runnable) or 'nothing to run'} …",
                file=stream,
                flush=True,
            )
        measured = _measure(runnable, seconds_per_case, inner_loop_s, min_reps)
        results: dict[str, dict[str, Any]] = {}
        for name, c in calls.items():
            results[name] = measured[name] if callable(c) else {"unavailable": c}
        ratios = []
        for numerator, denominator, key, target in TARGETS:
            if key != body.key:
                continue
            num, den = results.get(numerator, {}).get("us"), results.get(denominator, {}).get("us")
            value = num / den if num and den else None
            ratios.append(
                {
                    "name": f"{numerator} / {denominator}",
                    "numerator": numerator,
                    "denominator": denominator,
                    "value": value,
                    "target": target,
                    "met": None if value is None else value >= target,
                }
            )
        rows.append(
            {
                "body": body.key,
                "label": body.label,
                "description": body.description,
                "bytes": body.size,
                "results": results,
                "ratios": ratios,
                "machine": machine,
                "seconds_per_case": seconds_per_case,
                "inner_loop_s": inner_loop_s,
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------------------------


def _us(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(value: float) -> str:
    if value < 10:
        return f"{value:.2f}×"
    return f"{value:.1f}×" if value < 100 else f"{value:,.0f}×"


def header_line(machine: dict[str, Any]) -> str:
    backends = ", ".join(
        f"{name} {'✓' if status == 'available' else '✗ (' + status + ')'}"
        for name, status in machine["backends"].items()
    )
    cpus = f"{machine['cpus']} CPUs" + (
        f" ({machine['cpus_usable']} usable)" if machine["cpus_usable"] != machine["cpus"] else ""
    )
    return (
        f"**Machine:** {machine['cpu']}, {cpus}, {machine['platform']} · {machine['python']} · "
        f"mcp {machine['mcp'] or 'not installed'} · orjson {machine['orjson'] or 'not installed'} · backends: {backends}"
        + (f" · load avg {machine['load_avg']:g} at start" if machine.get("load_avg") is not None else "")
    )


def format_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of `run()`'s rows: µs per call per contender and body, the speed-up over
    the SDK path, and the target with a ✓/✗ mark; preceded by the machine line."""
    if not rows:
        return "(no measurements)"
    lines = [header_line(rows[0]["machine"]), ""]
    lines.append("| body | contender | µs / call | ± IQR | SDK path / contender | target |")
    lines.append("|---|---|---:|---:|---:|---|")
    for row in rows:
        body = f"{row['label']} ({row['bytes']:,} B)"
        sdk = row["results"].get(SDK, {}).get("us")
        targets = {r["denominator"]: r for r in row["ratios"]}
        for name in sorted(row["results"], key=lambda n: (n != SDK, CONTENDERS.index(n))):
            result = row["results"][name]
            target = targets.get(name)
            want = f"≥ {target['target']:.1f}×" if target else ""
            if "unavailable" in result:
                lines.append(
                    f"| {body} | {name} | {result['unavailable']} | | — | {want + ' — not measured' if want else ''} |"
                )
                continue
            if name == SDK:
                speedup = "1.0× (reference)"
            elif sdk:
                speedup = _ratio(sdk / result["us"])
            else:
                speedup = "— (SDK not measured)"
            mark = ""
            if target and target["met"] is not None:
                mark = " ✓" if target["met"] else " ✗"
            lines.append(
                f"| {body} | {name} | {_us(result['us'])} | {result['iqr_pct']:.0f}% | {speedup} | {want}{mark} |"
            )
    seconds = rows[0].get("seconds_per_case")
    inner = rows[0].get("inner_loop_s")
    lines.append("")
    lines.append(
        "Median of interleaved repetitions"
        + (f" (~{seconds:g} s per body, inner loops of ~{inner * 1000:g} ms)" if seconds and inner else "")
        + "; SDK path = `json.loads` + `JSONRPCRequest.model_validate` + `find_duplicated_routing_header`"
        " + `classify_inbound_request` as in `handle_modern_request` (mcp 2.3.0); routing_keys is measured on the"
        f" {BODY_BY_KEY[ROUTING_BODY].label} body against the SDK's full path."
    )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - `mcp-fastpath bench` is the entry point
    print(format_table(run(stream=sys.stderr)))
