"""One way to open Redis for the replay cache and the task store: standalone or Redis Cluster, with
the retry and health-check policy a fleet needs.

- URLs: `redis://`, `rediss://`, `unix://` open one Redis (a primary); `redis+cluster://host:port`
  (or `rediss+cluster://`) opens Redis Cluster from any one of its nodes (the client discovers the
  others and routes every command to the slot's primary). Every script of this package touches the
  keys of one hash slot, so it runs unchanged on both.
- Retries: a command that fails with a connection error or a timeout is retried `RETRIES` times on a
  fresh connection, after a short jittered backoff (`BACKOFF_BASE_S` doubling, capped at
  `BACKOFF_CAP_S`). That is what keeps the first command on every pooled connection from failing
  after Redis restarts (the pooled socket is dead; the retry reconnects), and bounds how long a
  request waits while Redis is really down (well under a second) before it is answered 503.
  The policy is explicit, so it does not change with redis-py's own defaults.
- `health_check_interval`: a connection idle for that long is PINGed before it is used, so a dead
  one is replaced before a command is sent on it.
- A retried script may have run once already (the reply, not the request, was lost): every script
  here is written to give the same answer when it runs twice.

`unavailable_errors()` are the redis-py errors that mean "Redis cannot serve us right now" (as
opposed to a bug): callers map them to HTTP 503 with `Retry-After`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

__all__ = [
    "BACKOFF_BASE_S",
    "BACKOFF_CAP_S",
    "HEALTH_CHECK_INTERVAL_S",
    "RETRIES",
    "connect",
    "is_cluster_url",
    "ClusterAccess",
    "access",
    "redacted",
    "unavailable_errors",
]

RETRIES = 3
BACKOFF_BASE_S = 0.01
BACKOFF_CAP_S = 0.25
HEALTH_CHECK_INTERVAL_S = 5
CONNECT_TIMEOUT_S = 1.0
SOCKET_TIMEOUT_S = 5.0

_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def is_cluster_url(url: str) -> bool:
    return url.split("://", 1)[0].lower() in _CLUSTER_SCHEMES


def unavailable_errors() -> tuple[type[BaseException], ...]:
    """The redis-py exceptions that mean Redis cannot serve us right now (down, restarting, loading
    its data set, failing over, full): a connection error, a timeout, a cluster with no primary for
    the slot, a replica answering writes (`READONLY`, mid-failover), `OOM` (`maxmemory` reached
    under `noeviction`)."""
    from redis import exceptions as e

    return (
        e.ConnectionError,
        e.TimeoutError,
        e.ClusterDownError,
        e.TryAgainError,
        e.SlotNotCoveredError,
        e.RedisClusterException,  # "cannot be connected": no node of the cluster answers
        e.ReadOnlyError,
        e.OutOfMemoryError,
    )


def _retry() -> Any:
    from redis.asyncio.retry import Retry
    from redis.backoff import EqualJitterBackoff
    from redis.exceptions import ConnectionError, TimeoutError

    return Retry(
        EqualJitterBackoff(cap=BACKOFF_CAP_S, base=BACKOFF_BASE_S),
        RETRIES,
        supported_errors=(ConnectionError, TimeoutError),
    )


class ClusterAccess:
    """What a store holds around each command on Redis Cluster (`async with access:`).

    redis-py's asyncio cluster client (8.1) breaks when many commands start together on a client
    that has not mapped the cluster yet (its first use, or the first after a connection error
    made it re-map): concurrent initialisations race, and commands fail with `AttributeError` from
    a connection another task reset. So the first command (and the first after an outage) maps the
    cluster alone, under a lock, and at most `max_connections` commands are in flight (the cluster
    client has no blocking pool: past its per-node `max_connections` it raises)."""

    def __init__(self, client: Any, max_connections: int) -> None:
        self._client = client
        self._slots = asyncio.Semaphore(max_connections)
        self._lock = asyncio.Lock()
        self._mapped = False
        self._unavailable = unavailable_errors()

    async def __aenter__(self) -> None:
        if not self._mapped:
            async with self._lock:
                if not self._mapped:
                    await self._client.initialize()
                    self._mapped = True
        await self._slots.acquire()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._slots.release()
        if exc_type is not None and issubclass(exc_type, self._unavailable):
            self._mapped = False  # the client re-maps the cluster: once, before the next command


def access(client: Any, url: str, max_connections: int) -> Any:
    """`ClusterAccess` for a Redis Cluster client, else nothing to hold (`nullcontext`)."""
    return ClusterAccess(client, max_connections) if is_cluster_url(url) else contextlib.nullcontext()


def connect(url: str, *, max_connections: int | None = None, blocking_pool: bool = False) -> Any:
    """A `redis.asyncio` client for `url` (see the module docstring): `Redis` or `RedisCluster`.

    `max_connections`: the pool size (per cluster node for a cluster); `blocking_pool`: a burst of
    more concurrent commands than connections waits for a free one instead of failing (standalone;
    a cluster client always waits)."""
    try:
        import redis.asyncio as redis_asyncio
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Redis support needs the redis package: pip install 'mcp-fastpath[redis]'") from exc
    if not isinstance(url, str):
        raise TypeError("the Redis URL is a str")
    options: dict[str, Any] = {
        "retry": _retry(),
        "health_check_interval": HEALTH_CHECK_INTERVAL_S,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_timeout": SOCKET_TIMEOUT_S,
    }
    scheme, sep, rest = url.partition("://")
    if scheme.lower() in _CLUSTER_SCHEMES:
        from redis.asyncio.cluster import RedisCluster

        if max_connections is not None:
            options["max_connections"] = max_connections
        return RedisCluster.from_url(f"{_CLUSTER_SCHEMES[scheme.lower()]}{sep}{rest}", **options)
    if blocking_pool:
        pool = redis_asyncio.BlockingConnectionPool.from_url(url, max_connections=max_connections or 50, **options)
        return redis_asyncio.Redis.from_pool(pool)
    if max_connections is not None:
        options["max_connections"] = max_connections
    return redis_asyncio.Redis.from_url(url, **options)


def redacted(url: str) -> str:
    """`url` without its password, for log lines."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user + ':***' if user else '***'}@{host}"
