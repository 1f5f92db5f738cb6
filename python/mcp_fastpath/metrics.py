"""Prometheus metrics for servers behind the adapters (`prometheus_client`: the `metrics` extra,
`pip install 'mcp-fastpath[metrics]'`).

`fast_http_app(server, metrics=True)` (or `metrics=Metrics(...)`, or `serve --metrics`) counts
every HTTP request the app serves and exposes the text format at `/metrics`:

| metric | type | labels |
|---|---|---|
| `mcp_fastpath_requests_total` | counter | `method` (JSON-RPC method, `other` for unknown ones, `-` when none was read), `outcome` (`ok`; `error`: a JSON-RPC error reply or an HTTP error after admission; `rejected`: refused by admission — codec, gate, replay check — or before it), `status` (HTTP) |
| `mcp_fastpath_rejections_total` | counter | `code` (JSON-RPC code, `none` for refusals without one: 406, 413) |
| `mcp_fastpath_admission_seconds` | histogram | — body read, transport checks, decode, gate, replay check |
| `mcp_fastpath_dispatch_seconds` | histogram | — from admission to the last byte of the reply |
| `mcp_fastpath_request_seconds` | histogram | — the whole request |
| `mcp_fastpath_replay_cache_errors_total` | counter | — the replay cache failed (not a replay: an error) |
| `mcp_fastpath_task_store_errors_total` | counter | `operation` (the `TaskStore` method that raised) |
| `mcp_fastpath_tasks_total` | counter | `status`: tasks that entered each status on this node (`working` at creation) |

Cost: label values are bounded (known methods, a few outcomes and statuses) and each label
combination's series is created once and then found by one dict lookup; the numbers are plain
Python numbers updated on the event loop (no lock per update) and become Prometheus families only
when scraped. A request costs a dict lookup, one increment and three histogram observations
(bisection into the buckets). A registry of its own by default (`registry=` to use another, such
as `prometheus_client.REGISTRY`). With `PROMETHEUS_MULTIPROC_DIR` set (`serve --workers N --metrics`
sets it), every worker writes its samples there and `/metrics` reports the sum over workers.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from typing import Any

__all__ = ["KNOWN_METHODS", "InstrumentedTaskStore", "Metrics"]

# Methods a client sends at 2026-07-28 (schema.json) and the Tasks extension's; anything else
# is counted as "other", so a client cannot grow the label set.
KNOWN_METHODS = frozenset(
    {
        "completion/complete",
        "logging/setLevel",
        "notifications/cancelled",
        "ping",
        "prompts/get",
        "prompts/list",
        "resources/list",
        "resources/read",
        "resources/subscribe",
        "resources/templates/list",
        "resources/unsubscribe",
        "server/discover",
        "subscriptions/listen",
        "tasks/cancel",
        "tasks/get",
        "tasks/update",
        "tools/call",
        "tools/list",
        "initialize",
        "notifications/initialized",
    }
)
OUTCOMES = ("ok", "error", "rejected")
# Seconds: 100 µs (a cached admission) to 10 s (a slow tool).
DEFAULT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    """The metric families above, registered in `registry` (a fresh `CollectorRegistry` by default)."""

    def __init__(self, registry: Any = None, *, namespace: str = "mcp_fastpath", buckets: Any = DEFAULT_BUCKETS):
        try:
            import prometheus_client
        except ImportError:
            raise ImportError(
                "metrics need prometheus_client: pip install 'mcp-fastpath[metrics]' (or prometheus_client)"
            ) from None
        self.multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        self.registry = registry if registry is not None else prometheus_client.CollectorRegistry()
        # Plain numbers in this process (see below), or prometheus_client's objects writing to the
        # directory shared by the workers.
        self._plain = self.multiprocess_dir is None
        if self._plain:
            kinds: Any = _LoopKinds(namespace)
            self.registry.register(kinds)
        else:
            kinds = _ClientKinds(namespace, self.registry)
        self.requests = kinds.counter(
            "requests",
            "HTTP requests served, by JSON-RPC method, outcome and HTTP status",
            ("method", "outcome", "status"),
        )
        self.rejections = kinds.counter("rejections", "Requests refused before dispatch, by JSON-RPC code", ("code",))
        self.admission_seconds = kinds.histogram(
            "admission_seconds", "Body read, transport checks, decode, gate and replay check", buckets
        )
        self.dispatch_seconds = kinds.histogram("dispatch_seconds", "From admission to the end of the reply", buckets)
        self.request_seconds = kinds.histogram("request_seconds", "The whole request", buckets)
        self.replay_cache_errors = kinds.counter("replay_cache_errors", "Replay-cache operations that failed", ())
        self.task_store_errors = kinds.counter(
            "task_store_errors", "Task-store operations that raised, by operation", ("operation",)
        )
        self.tasks = kinds.counter("tasks", "Tasks that entered each status on this node", ("status",))
        self._requests: dict[tuple[str, str, int], Any] = {}
        self._rejections: dict[int | None, Any] = {}
        # The everyday series exist from the start (a scrape sees 0, not nothing); the rest are
        # created on first use and then found by one dict lookup.
        for method in ("tools/call", "tools/list", "server/discover"):
            self.request_counter(method, "ok", 200)

    def request_counter(self, method: str | None, outcome: str, status: int) -> Any:
        """The `requests_total` child for these labels (created once, then a dict lookup)."""
        key = (method or "-", outcome, status)
        child = self._requests.get(key)
        if child is None:
            label = key[0] if key[0] in KNOWN_METHODS or key[0] == "-" else "other"
            child = self.requests.labels(label, outcome, str(status))
            if len(self._requests) < 4096:  # unknown methods share "other": keep the cache bounded
                self._requests[key] = child
        return child

    def request_done(
        self, method: str | None, refused: bool, code: int | None, status: int, start: int, admitted: int, end: int
    ) -> None:
        """Count one finished HTTP request (times: `perf_counter_ns`; `admitted` 0 when admission
        never ended, e.g. a transport refusal). Counted at once: folding requests in batches
        measured worse under load, the batch holding the GIL while worker threads (sync tools)
        wait to hand their results back."""
        if refused or (admitted == 0 and status >= 400):
            outcome = "rejected"
            self.rejection_counter(code).inc()
        elif code is not None or status >= 400:
            outcome = "error"
        else:
            outcome = "ok"
        counter = self._requests.get((method or "-", outcome, status))
        if counter is None:
            counter = self.request_counter(method, outcome, status)
        if self._plain:
            # The plain-number kinds, updated in place: no method call per series (this runs per request).
            counter.value += 1.0
            seconds = (end - start) * 1e-9
            total = self.request_seconds
            total.counts[bisect_left(total.bounds, seconds)] += 1
            total.sum += seconds
            if admitted:
                seconds = (admitted - start) * 1e-9
                histogram = self.admission_seconds
                histogram.counts[bisect_left(histogram.bounds, seconds)] += 1
                histogram.sum += seconds
                if not refused:
                    seconds = (end - admitted) * 1e-9
                    histogram = self.dispatch_seconds
                    histogram.counts[bisect_left(histogram.bounds, seconds)] += 1
                    histogram.sum += seconds
            return
        counter.inc()
        if admitted:
            self.admission_seconds.observe((admitted - start) * 1e-9)
            if not refused:
                self.dispatch_seconds.observe((end - admitted) * 1e-9)
        self.request_seconds.observe((end - start) * 1e-9)

    def rejection_counter(self, code: int | None) -> Any:
        child = self._rejections.get(code)
        if child is None:
            child = self._rejections[code] = self.rejections.labels("none" if code is None else str(code))
        return child

    def exposition(self) -> tuple[bytes, str]:
        """The text format for a scrape, and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if self.multiprocess_dir is not None:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


# ---- two ways to hold the numbers -------------------------------------------------------------------
#
# In one process (the usual case) the numbers are plain Python numbers updated on the event loop:
# no lock per update (prometheus_client's own objects take a lock per increment, 7 per request
# here), and a collector turns them into families when Prometheus scrapes. With
# PROMETHEUS_MULTIPROC_DIR set, prometheus_client's objects write to its shared files instead.


class _Cell:
    """One counter series."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class _CounterFamily:
    __slots__ = ("name", "doc", "labelnames", "children", "_unlabelled")

    def __init__(self, name: str, doc: str, labelnames: tuple[str, ...]) -> None:
        self.name, self.doc, self.labelnames = name, doc, labelnames
        self.children: dict[tuple[str, ...], _Cell] = {}
        self._unlabelled = None if labelnames else self.labels()

    def labels(self, *values: str) -> _Cell:
        child = self.children.get(values)
        if child is None:
            child = self.children[values] = _Cell()
        return child

    def inc(self, amount: float = 1.0) -> None:
        """For a family without labels."""
        self._unlabelled.inc(amount)  # type: ignore[union-attr]

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily

        family = CounterMetricFamily(self.name, self.doc, labels=self.labelnames)
        for values, cell in self.children.items():
            family.add_metric(values, cell.value)
        return family


class _Histogram:
    """One histogram series: a count per bucket (found by bisection), and the sum."""

    __slots__ = ("name", "doc", "bounds", "counts", "sum")

    def __init__(self, name: str, doc: str, buckets: Any) -> None:
        self.name, self.doc = name, doc
        self.bounds = tuple(float(b) for b in buckets)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def collect(self) -> Any:
        from prometheus_client.core import HistogramMetricFamily

        cumulative, running = [], 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            cumulative.append((_bucket_label(bound), running))
        family = HistogramMetricFamily(self.name, self.doc)
        family.add_metric([], cumulative, self.sum)
        return family


def _bucket_label(bound: float) -> str:
    from prometheus_client.utils import floatToGoString

    return floatToGoString(bound)


class _LoopKinds:
    """Makes the plain-number metrics and is the registry's collector for them."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.metrics: list[Any] = []

    def counter(self, name: str, doc: str, labelnames: tuple[str, ...]) -> _CounterFamily:
        family = _CounterFamily(f"{self.namespace}_{name}", doc, labelnames)
        self.metrics.append(family)
        return family

    def histogram(self, name: str, doc: str, buckets: Any) -> _Histogram:
        histogram = _Histogram(f"{self.namespace}_{name}", doc, buckets)
        self.metrics.append(histogram)
        return histogram

    def collect(self) -> Any:
        for metric in self.metrics:
            yield metric.collect()


class _ClientKinds:
    """prometheus_client's own metric objects (multiprocess mode)."""

    def __init__(self, namespace: str, registry: Any) -> None:
        self.options = {"namespace": namespace, "registry": registry}

    def counter(self, name: str, doc: str, labelnames: tuple[str, ...]) -> Any:
        from prometheus_client import Counter

        return Counter(name, doc, list(labelnames), **self.options)

    def histogram(self, name: str, doc: str, buckets: Any) -> Any:
        from prometheus_client import Histogram

        return Histogram(name, doc, buckets=buckets, **self.options)


_STORE_METHODS = (
    "create",
    "get",
    "transition",
    "add_input_responses",
    "take_input_responses",
    "request_cancel",
    "renew_lease",
    "claim_orphans",
    "purge",
    "close",
)


class InstrumentedTaskStore:
    """A `TaskStore` that counts what passes through it: errors per operation, and tasks entering
    each status (`create`, a `transition` that set a status, a `request_cancel` that settled the
    task). Everything else is the wrapped store's."""

    def __init__(self, store: Any, metrics: Metrics) -> None:
        self.store = store
        self.metrics = metrics
        self._errors = {name: metrics.task_store_errors.labels(name) for name in _STORE_METHODS}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await getattr(self.store, name)(*args, **kwargs)
        except Exception:
            self._errors[name].inc()
            raise

    async def create(self, record: Any) -> None:
        await self._call("create", record)
        self.metrics.tasks.labels(record.status).inc()

    async def get(self, task_id: str, *, now_ms: int) -> Any:
        return await self._call("get", task_id, now_ms=now_ms)

    async def transition(self, task_id: str, *, now_ms: int, expect: Any = None, **changes: Any) -> Any:
        record = await self._call("transition", task_id, now_ms=now_ms, expect=expect, **changes)
        if record is not None and "status" in changes:
            self.metrics.tasks.labels(record.status).inc()
        return record

    async def add_input_responses(self, task_id: str, responses: Any, *, now_ms: int) -> Any:
        return await self._call("add_input_responses", task_id, responses, now_ms=now_ms)

    async def take_input_responses(self, task_id: str, *, now_ms: int) -> Any:
        return await self._call("take_input_responses", task_id, now_ms=now_ms)

    async def request_cancel(self, task_id: str, *, now_ms: int) -> Any:
        record = await self._call("request_cancel", task_id, now_ms=now_ms)
        if record is not None and record.status == "cancelled" and record.finished_at_ms == now_ms:
            self.metrics.tasks.labels("cancelled").inc()  # settled by this call (no live lease)
        return record

    async def renew_lease(self, task_id: str, node_id: str, *, lease_ms: int, now_ms: int) -> Any:
        return await self._call("renew_lease", task_id, node_id, lease_ms=lease_ms, now_ms=now_ms)

    async def claim_orphans(self, node_id: str, *, lease_ms: int, now_ms: int, limit: int = 100) -> Any:
        return await self._call("claim_orphans", node_id, lease_ms=lease_ms, now_ms=now_ms, limit=limit)

    async def purge(self, *, now_ms: int) -> int:
        return await self._call("purge", now_ms=now_ms)

    async def close(self) -> None:
        await self._call("close")
