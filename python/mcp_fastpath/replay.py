"""Replay caches: has this `(kid, nonce)` been seen inside the replay window?

Shared by both backends (it does I/O, so it is not a backend module). The `Gate` never does I/O:
it returns the envelope's `SignatureInfo`, and the caller runs `await admit_once(cache, signature,
max_skew_s)` before serving the request.

- `MemoryReplayCache(max_entries=100_000)`: one process. Expired entries are dropped first, then the
  oldest; while fewer than `max_entries` are live, no entry is forgotten before its TTL.
- `RedisReplayCache(url, *, prefix=...)`: every node behind a balancer, `SET key 1 NX PX ttl`.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import OrderedDict
from typing import Any

from .errors import Replayed

__all__ = ["MemoryReplayCache", "RedisReplayCache", "admit_once"]


def _check_args(kid: Any, nonce: Any, ttl_ms: Any) -> None:
    if not isinstance(kid, str) or not isinstance(nonce, str):
        raise TypeError("kid and nonce are str")
    if type(ttl_ms) is not int or ttl_ms < 1:
        raise ValueError("ttl_ms must be a positive int")


class MemoryReplayCache:
    """An in-process replay cache of at most `max_entries` `(kid, nonce)` pairs."""

    def __init__(self, max_entries: int = 100_000) -> None:
        if type(max_entries) is not int or max_entries < 1:
            raise ValueError("max_entries must be a positive int")
        self.max_entries = max_entries
        # (kid, nonce) → expiry (monotonic ns), in insertion order (oldest first).
        self._entries: OrderedDict[tuple[str, str], int] = OrderedDict()
        # (expiry, key) min-heap; an item is stale when the entry's expiry differs.
        self._expiries: list[tuple[int, tuple[str, str]]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._purge(time.monotonic_ns())
            return len(self._entries)

    def _purge(self, now: int) -> None:
        heap = self._expiries
        entries = self._entries
        while heap and heap[0][0] <= now:
            expiry, key = heapq.heappop(heap)
            if entries.get(key) == expiry:
                del entries[key]
        # Keep stale heap items from piling up when entries are evicted early.
        if len(heap) > 2 * len(entries) + 64:
            self._expiries = [(expiry, key) for key, expiry in entries.items()]
            heapq.heapify(self._expiries)

    def seen(self, kid: str, nonce: str, ttl_ms: int) -> bool:
        """Synchronous `check_and_store`: True when `(kid, nonce)` is new (and now stored)."""
        _check_args(kid, nonce, ttl_ms)
        now = time.monotonic_ns()
        key = (kid, nonce)
        with self._lock:
            self._purge(now)
            if key in self._entries:
                return False
            while len(self._entries) >= self.max_entries:
                self._entries.popitem(last=False)  # the oldest live entry (its heap item goes stale)
            expiry = now + ttl_ms * 1_000_000
            self._entries[key] = expiry
            heapq.heappush(self._expiries, (expiry, key))
            return True

    async def check_and_store(self, kid: str, nonce: str, ttl_ms: int) -> bool:
        """True the first time `(kid, nonce)` is seen within `ttl_ms`; False on a repeat."""
        return self.seen(kid, nonce, ttl_ms)

    async def aclose(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"MemoryReplayCache(max_entries={self.max_entries})"


class RedisReplayCache:
    """A replay cache in Redis, shared by every node: `SET <prefix><kid>:<nonce> 1 NX PX <ttl>`.

    The key is `<prefix><len(kid)>:<kid>:<nonce>` so that no two `(kid, nonce)` pairs share one.
    Needs the `redis` package (`pip install mcp-fastpath[redis]`).
    """

    def __init__(self, url: str, *, prefix: str = "mcp-fastpath:replay:") -> None:
        try:
            import redis.asyncio as redis_asyncio
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("RedisReplayCache needs the redis package: pip install 'mcp-fastpath[redis]'") from exc
        if not isinstance(url, str) or not isinstance(prefix, str):
            raise TypeError("url and prefix are str")
        self.url = url
        self.prefix = prefix
        self._client = redis_asyncio.Redis.from_url(url)

    def key(self, kid: str, nonce: str) -> str:
        return f"{self.prefix}{len(kid)}:{kid}:{nonce}"

    async def check_and_store(self, kid: str, nonce: str, ttl_ms: int) -> bool:
        """True the first time `(kid, nonce)` is seen within `ttl_ms`; False on a repeat."""
        _check_args(kid, nonce, ttl_ms)
        stored = await self._client.set(self.key(kid, nonce), b"1", nx=True, px=ttl_ms)
        return bool(stored)

    async def aclose(self) -> None:
        await self._client.aclose()

    def __repr__(self) -> str:
        return f"RedisReplayCache(prefix={self.prefix!r})"


async def admit_once(cache: Any, signature: Any, max_skew_s: float, *, request_id: int | str | None = None) -> None:
    """Raise `Replayed` (-32012, HTTP 401) when the envelope's `(kid, nonce)` was already seen;
    remember it for 2 × `max_skew_s` (the whole window in which its `iat` is acceptable).
    `signature=None` (an unsigned request that was allowed through) passes."""
    if signature is None:
        return
    ttl_ms = max(1, int(2 * max_skew_s * 1000))
    if not await cache.check_and_store(signature.kid, signature.nonce, ttl_ms):
        raise Replayed(
            -32012,
            "request replayed",
            request_id=request_id,
            headers={"WWW-Authenticate": "Bearer"},
        )
