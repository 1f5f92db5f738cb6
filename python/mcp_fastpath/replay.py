"""Replay caches: has this `(kid, nonce)` been seen inside the replay window — and if so, what
became of it?

Shared by both backends (it does I/O, so it is not a backend module). The `Gate` never does I/O:
it returns the envelope's `SignatureInfo`, and the caller asks the cache before serving the
request, with the `EnvelopeVerifier`'s own `max_skew_s` (the adapters take it from the gate: one
source of truth). An entry lives 2 × `max_skew_s`: a signature first seen at `t` carries an `iat`
within `max_skew_s` of `t`, so it stops verifying by `t + 2 × max_skew_s` at the latest.

**At most once, without losing the answer** (`outcomes=True`, the default of both caches). A
client whose request may have reached a node (the connection broke, a proxy answered 502/504)
sends the *same signed bytes* again, to any node. The cache keeps, per `(kid, nonce)`, for the
replay window, what became of the first copy, and the adapters answer a duplicate from it:
- `claim` → `NEW`: first sight, now *running*; the adapter serves it and then `settle`s it with
  the reply it sent (HTTP status + JSON body), or `release`s it when it answered 503 (nothing was
  dispatched: forgetting the nonce lets the same bytes be served once later), or `abandon`s it
  when the request ended without a reply.
- `RUNNING`: another copy is being served right now → HTTP 409, JSON-RPC `IN_FLIGHT` (-31001),
  `Retry-After: 1`: ask again (same bytes) for the answer.
- `ANSWERED`: served before; the reply is kept → the duplicate gets the original status and body.
- `UNKNOWN`: served before, but the reply was not kept → HTTP 409, JSON-RPC `OUTCOME_UNKNOWN`
  (-31002), final; `data.reason` says why: `"too-large"` (over `max_outcome_bytes`),
  `"node-stopped"` (the node serving it stopped renewing its claim — killed mid-request — so it may
  or may not have run), `"abandoned"` (it ended without a reply: the client left, the app failed),
  `"not-json"` (a reply that is not JSON-RPC), `"dropped"` (evicted from a full memory cache).
- A duplicate is recognised by `(kid, nonce)` *and* a fingerprint of the signature: only a request
  whose envelope verifies with the same key, nonce and signature — the exact signed message — gets
  the stored answer. That is what a wire observer already saw (over TLS: only the sender). A
  different message reusing a nonce is refused as a replay (-32012), as before.
- Kept for: the replay window (2 × `max_skew_s`). An answer over `max_outcome_bytes` (default
  64 KiB) is not kept (`UNKNOWN`, `"too-large"`). `outcomes=False` keeps only "seen" (a duplicate
  is refused with -32012, HTTP 401), the behaviour of caches without outcome memory.
- A running claim in Redis carries a lease (`running_lease_ms`, default 5 s) in a key beside it;
  the cache renews it every third of the lease while the request runs. A node killed mid-request
  stops renewing; once the lease lapses, duplicates get `UNKNOWN` (`"node-stopped"`) instead of
  waiting for ever. In memory the claim lives and dies with the process.

Memory that was lost is not memory that says "new". Each cache keeps an *epoch*: when its
memory of nonces began (the cache's creation for `MemoryReplayCache`; for Redis, a marker key per
bucket, which a Redis that comes back empty — restarted without persistence, or with its files
lost — no longer has: the marker is then rewritten with the moment that Redis process started, by
its own clock, `TIME` minus `uptime_in_seconds`). A signed request whose `iat` is older than the
epoch may have been seen before the memory began, so it is refused (`Replayed`, "signed before
the replay memory began"); its client re-signs. That costs legitimate clients the requests signed
before a restart and sent after it — and, since uptime counts whole seconds, those that reach a
bucket Redis has no marker for during its first second — and it closes the replay of a request
captured just before the restart. Such a refusal is -32012 with HTTP 503 and `Retry-After: 1`:
nothing was served, and a client that signs again is admitted. Not covered: `FLUSHALL`/`FLUSHDB`
on a running Redis (its start time does not move: restart it instead of flushing it), a failover
to a replica that never had the data, and, with `appendfsync everysec`, the nonces of the second
before a crash.

When Redis cannot be reached, a check raises `StoreUnavailable`: a `Rejection` (-32603, HTTP 503,
`Retry-After: 1`) the adapters answer as is — nothing was served — with one log line per outage.

- `MemoryReplayCache(max_entries=100_000)`: one process. Expired entries are dropped first, then the
  oldest; while fewer than `max_entries` are live, no entry is forgotten before its TTL. Kept answers
  share `outcome_budget_bytes` (64 MiB); past it the oldest answers are dropped first.
- `RedisReplayCache(url, *, prefix=...)`: every node behind a balancer; one Lua script per check,
  each touching the keys of one hash slot (Redis Cluster: `redis+cluster://host:port`).
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import Rejection, Replayed

__all__ = [
    "ANSWERED",
    "BEFORE_EPOCH",
    "IN_FLIGHT",
    "NEW",
    "OUTCOME_UNKNOWN",
    "RUNNING",
    "SEEN",
    "UNKNOWN",
    "Claim",
    "MemoryReplayCache",
    "RedisReplayCache",
    "StoreUnavailable",
    "admit_once",
]

logger = logging.getLogger(__name__)

# What a replay cache says of a `(kid, nonce)`.
NEW = "new"  # first sight within the window: remembered now
SEEN = "seen"  # seen before within the window: a replay
BEFORE_EPOCH = "before-epoch"  # signed before the cache's memory began: it cannot tell, so refused
# ... and, with outcome memory, of a duplicate of a request it has seen:
RUNNING = "running"  # another copy is being served
ANSWERED = "answered"  # served; its reply is kept (`Claim.status`, `Claim.body`)
UNKNOWN = "unknown"  # served, its reply not kept (`Claim.reason`)

# JSON-RPC codes of the duplicate answers (outside the JSON-RPC reserved range, as MCP asks of
# implementation codes).
IN_FLIGHT = -31001  # HTTP 409 + Retry-After: the first copy is still running; ask again
OUTCOME_UNKNOWN = -31002  # HTTP 409, final: it was served but its reply was not kept

DEFAULT_MAX_OUTCOME_BYTES = 64 * 1024
DEFAULT_RUNNING_LEASE_MS = 5_000


class StoreUnavailable(Rejection):
    """The replay memory cannot be reached (Redis down, restarting, failing over): -32603 with HTTP
    503 and `Retry-After: 1`. Nothing was served; the client may sign again and retry."""

    def __init__(self, message: str = "replay memory unavailable: retry shortly", **kw: Any) -> None:
        kw.setdefault("http_status", 503)
        kw.setdefault("headers", {"Retry-After": "1"})
        super().__init__(-32603, message, **kw)


@dataclass(slots=True)
class Claim:
    """What `claim` found: its `verdict`, and for `ANSWERED` the kept reply, for `UNKNOWN` why not.
    A `NEW` claim is the caller's to `settle`, `release` or `abandon` (its `holder` token names it)."""

    verdict: str
    kid: str
    nonce: str
    holder: str | None = None
    fingerprint: str = ""
    status: int | None = None
    body: bytes | None = None
    reason: str | None = None


def _check_args(kid: Any, nonce: Any, ttl_ms: Any, iat_ms: Any = None) -> None:
    if not isinstance(kid, str) or not isinstance(nonce, str):
        raise TypeError("kid and nonce are str")
    if type(ttl_ms) is not int or ttl_ms < 1:
        raise ValueError("ttl_ms must be a positive int")
    if iat_ms is not None and type(iat_ms) is not int:
        raise TypeError("iat_ms is an int (Unix milliseconds) or None")


def _fingerprint(signature: Any) -> str:
    """32 hex characters naming the signed message (the caller passes its signature value)."""
    if not isinstance(signature, str | bytes):
        raise TypeError("fingerprint is the envelope's signature (str or bytes)")
    raw = signature.encode() if isinstance(signature, str) else signature
    return hashlib.sha256(raw).hexdigest()[:32]


def _check_reply(status: Any, body: Any) -> None:
    if type(status) is not int or not 100 <= status <= 999:
        raise ValueError("status must be an HTTP status code")
    if not isinstance(body, bytes):
        raise TypeError("body is bytes")


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


_holders = itertools.count(1)
_NODE = f"{os.getpid()}:{secrets.token_hex(4)}"


def _new_holder() -> str:
    return f"{_NODE}:{next(_holders)}"


class _Entry:
    __slots__ = ("body", "expiry", "fingerprint", "reason", "state", "status")

    def __init__(self, expiry: int, state: str, fingerprint: str = "") -> None:
        self.expiry = expiry
        self.state = state  # SEEN (no outcome memory), RUNNING, ANSWERED or UNKNOWN
        self.fingerprint = fingerprint
        self.status: int | None = None
        self.body: bytes | None = None
        self.reason: str | None = None


class MemoryReplayCache:
    """An in-process replay cache of at most `max_entries` `(kid, nonce)` pairs.

    `outcomes`: keep what became of each signed request (see the module docstring; default on);
    `max_outcome_bytes`: the largest reply kept; `outcome_budget_bytes`: all kept replies together
    (past it the oldest are dropped). `clock` (monotonic nanoseconds) times the entries and
    `wall_clock` (Unix milliseconds) sets the epoch; both are injectable for tests."""

    def __init__(
        self,
        max_entries: int = 100_000,
        *,
        outcomes: bool = True,
        max_outcome_bytes: int = DEFAULT_MAX_OUTCOME_BYTES,
        outcome_budget_bytes: int = 64 * 1024 * 1024,
        clock: Callable[[], int] = time.monotonic_ns,
        wall_clock: Callable[[], int] = _wall_ms,
    ) -> None:
        if type(max_entries) is not int or max_entries < 1:
            raise ValueError("max_entries must be a positive int")
        for name, value in (("max_outcome_bytes", max_outcome_bytes), ("outcome_budget_bytes", outcome_budget_bytes)):
            if type(value) is not int or value < 0:
                raise ValueError(f"{name} must be a non-negative int")
        self.max_entries = max_entries
        self.outcomes = bool(outcomes)
        self.max_outcome_bytes = max_outcome_bytes
        self.outcome_budget_bytes = outcome_budget_bytes
        self._clock = clock
        # Nonces from before this moment were never recorded here.
        self.epoch_ms = int(wall_clock())
        # (kid, nonce) → entry, in insertion order (oldest first).
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        # (expiry, key) min-heap; an item is stale when the entry's expiry differs.
        self._expiries: list[tuple[int, tuple[str, str]]] = []
        # Kept replies in the order they were kept, with their sizes (for the budget).
        self._answers: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._answer_bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._purge(self._clock())
            return len(self._entries)

    def _purge(self, now: int) -> None:
        heap = self._expiries
        entries = self._entries
        while heap and heap[0][0] <= now:
            expiry, key = heapq.heappop(heap)
            entry = entries.get(key)
            if entry is not None and entry.expiry == expiry:
                del entries[key]
                self._forget_answer(key)
        # Keep stale heap items from piling up when entries are evicted early.
        if len(heap) > 2 * len(entries) + 64:
            self._expiries = [(entry.expiry, key) for key, entry in entries.items()]
            heapq.heapify(self._expiries)

    def _forget_answer(self, key: tuple[str, str]) -> None:
        size = self._answers.pop(key, None)
        if size is not None:
            self._answer_bytes -= size

    def _remember(self, key: tuple[str, str], ttl_ms: int, state: str, fingerprint: str = "") -> None:
        now = self._clock()
        while len(self._entries) >= self.max_entries:
            old, _ = self._entries.popitem(last=False)  # the oldest live entry (its heap item goes stale)
            self._forget_answer(old)
        entry = _Entry(now + ttl_ms * 1_000_000, state, fingerprint)
        self._entries[key] = entry
        heapq.heappush(self._expiries, (entry.expiry, key))

    def check_now(self, kid: str, nonce: str, ttl_ms: int, *, iat_ms: int | None = None) -> str:
        """Synchronous `check`: `NEW` (now remembered for `ttl_ms`), `SEEN` or `BEFORE_EPOCH`."""
        _check_args(kid, nonce, ttl_ms, iat_ms)
        if iat_ms is not None and iat_ms < self.epoch_ms:
            return BEFORE_EPOCH
        key = (kid, nonce)
        with self._lock:
            self._purge(self._clock())
            if key in self._entries:
                return SEEN
            self._remember(key, ttl_ms, SEEN)
            return NEW

    def seen(self, kid: str, nonce: str, ttl_ms: int) -> bool:
        """True when `(kid, nonce)` is new (and now stored); False on a repeat."""
        return self.check_now(kid, nonce, ttl_ms) == NEW

    async def check(self, kid: str, nonce: str, ttl_ms: int, *, iat_ms: int | None = None) -> str:
        """`NEW` the first time `(kid, nonce)` is seen within `ttl_ms`, `SEEN` on a repeat,
        `BEFORE_EPOCH` when `iat_ms` predates this cache's memory."""
        return self.check_now(kid, nonce, ttl_ms, iat_ms=iat_ms)

    async def check_and_store(self, kid: str, nonce: str, ttl_ms: int) -> bool:
        """True the first time `(kid, nonce)` is seen within `ttl_ms`; False on a repeat."""
        return self.check_now(kid, nonce, ttl_ms) == NEW

    # -- outcome memory ------------------------------------------------------------------------------

    async def claim(
        self, kid: str, nonce: str, ttl_ms: int, *, iat_ms: int | None = None, signature: str | bytes
    ) -> Claim:
        """What became of the signed request `(kid, nonce)` with envelope signature `signature`:
        a `Claim` whose verdict is `NEW` (now running, the caller's to settle), `RUNNING`,
        `ANSWERED`, `UNKNOWN`, `SEEN` (seen, but no outcome kept for this message) or
        `BEFORE_EPOCH`. With `outcomes=False`, as `check` (`NEW`, `SEEN`, `BEFORE_EPOCH`)."""
        _check_args(kid, nonce, ttl_ms, iat_ms)
        fingerprint = _fingerprint(signature)
        if not self.outcomes:
            return Claim(self.check_now(kid, nonce, ttl_ms, iat_ms=iat_ms), kid, nonce)
        if iat_ms is not None and iat_ms < self.epoch_ms:
            return Claim(BEFORE_EPOCH, kid, nonce)
        key = (kid, nonce)
        with self._lock:
            self._purge(self._clock())
            entry = self._entries.get(key)
            if entry is None:
                self._remember(key, ttl_ms, RUNNING, fingerprint)
                return Claim(NEW, kid, nonce, holder=_new_holder(), fingerprint=fingerprint)
            if entry.state == SEEN or entry.fingerprint != fingerprint:
                return Claim(SEEN, kid, nonce)
            return Claim(entry.state, kid, nonce, status=entry.status, body=entry.body, reason=entry.reason)

    def _settled_entry(self, claim: Claim) -> _Entry | None:
        entry = self._entries.get((claim.kid, claim.nonce))
        if entry is None or entry.state == SEEN or entry.fingerprint != claim.fingerprint:
            return None  # expired meanwhile (a request that ran for longer than the window)
        return entry

    async def settle(self, claim: Claim, status: int, body: bytes) -> None:
        """Keep the reply to a `NEW` claim (or mark it `UNKNOWN`, `"too-large"`, when over the cap)."""
        _check_reply(status, body)
        key = (claim.kid, claim.nonce)
        with self._lock:
            entry = self._settled_entry(claim)
            if entry is None:
                return
            self._forget_answer(key)
            if len(body) > self.max_outcome_bytes or len(body) > self.outcome_budget_bytes:
                entry.state, entry.reason, entry.status, entry.body = UNKNOWN, "too-large", None, None
                return
            while self._answers and self._answer_bytes + len(body) > self.outcome_budget_bytes:
                old, size = self._answers.popitem(last=False)
                self._answer_bytes -= size
                evicted = self._entries.get(old)
                if evicted is not None and evicted.state == ANSWERED:
                    evicted.state, evicted.reason, evicted.status, evicted.body = UNKNOWN, "dropped", None, None
            entry.state, entry.status, entry.body, entry.reason = ANSWERED, status, body, None
            self._answers[key] = len(body)
            self._answer_bytes += len(body)

    async def release(self, claim: Claim) -> None:
        """Forget a `NEW` claim that was answered 503 (nothing dispatched): the same bytes may be
        served once later."""
        key = (claim.kid, claim.nonce)
        with self._lock:
            entry = self._settled_entry(claim)
            if entry is not None and entry.state == RUNNING:
                del self._entries[key]

    async def abandon(self, claim: Claim, reason: str = "abandoned") -> None:
        """A `NEW` claim that ended without a reply: duplicates get `UNKNOWN` with `reason`."""
        with self._lock:
            entry = self._settled_entry(claim)
            if entry is not None and entry.state == RUNNING:
                entry.state, entry.reason = UNKNOWN, reason

    async def ping(self) -> None:
        """Readiness: memory is always there."""

    async def aclose(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"MemoryReplayCache(max_entries={self.max_entries}, outcomes={self.outcomes})"


# One round trip, atomic, keys of one hash slot: the bucket's epoch marker (created when missing —
# the store is new, or lost its memory — as the moment this Redis started, by its own clock: its
# memory cannot be older; `uptime_in_seconds` counts whole seconds, so that is the latest moment it
# can have been), then SET NX PX on the nonce. KEYS[1] epoch marker, KEYS[2] nonce key; ARGV[1] ttl
# ms, ARGV[2] iat ms or "".
_EPOCH = """
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  local now = redis.call('TIME')
  local up = tonumber(string.match(redis.call('INFO', 'server'), 'uptime_in_seconds:(%d+)'))
  epoch = string.format('%.0f', (tonumber(now[1]) - up) * 1000 + math.floor(tonumber(now[2]) / 1000))
  redis.call('SET', KEYS[1], epoch)
end
if ARGV[2] ~= '' and tonumber(ARGV[2]) < tonumber(epoch) then
  return {2}
end
"""
_CHECK_SCRIPT = (
    _EPOCH
    + """
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then
  return {1}
end
return {0}
"""
)

# Entries: '1' (seen, no outcome kept), 'R'..fp (running), 'A'..fp..status(3)..body (answered),
# 'U'..fp..reason (unknown); fp is 32 characters. KEYS[3]: the running claim's lease, holding its
# holder token. ARGV[3] fingerprint, ARGV[4] holder, ARGV[5] lease ms.
# Replies: {1} new, {0} seen, {2} before epoch, {3} running, {4, entry} answered or unknown.
# Run twice (a retry after a lost reply), it answers "new" again: the lease names this holder.
_CLAIM_SCRIPT = (
    _EPOCH
    + """
local entry = redis.call('GET', KEYS[2])
if not entry then
  redis.call('SET', KEYS[2], 'R' .. ARGV[3], 'PX', ARGV[1])
  redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[5])
  return {1}
end
local state = string.sub(entry, 1, 1)
if state == '1' or string.sub(entry, 2, 33) ~= ARGV[3] then
  return {0}
end
if state == 'R' then
  local holder = redis.call('GET', KEYS[3])
  if holder == ARGV[4] then return {1} end
  if holder then return {3} end
  entry = 'U' .. ARGV[3] .. 'node-stopped'
  redis.call('SET', KEYS[2], entry, 'KEEPTTL')
end
return {4, entry}
"""
)

# KEYS[1] nonce key, KEYS[2] lease; ARGV[1] holder, ARGV[2] fingerprint, ARGV[3] the new entry ('' =
# release: forget the claim). Only the claim's own entry is touched (same fingerprint: no other
# request can have written it); a kept answer is never overwritten, and an answer arriving after
# the lease lapsed replaces the "node-stopped" verdict.
_SETTLE_SCRIPT = """
local entry = redis.call('GET', KEYS[1])
if not entry or string.sub(entry, 2, 33) ~= ARGV[2] then return 0 end
local state = string.sub(entry, 1, 1)
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if ARGV[3] == '' then
  if state == 'R' then redis.call('DEL', KEYS[1]) end
  return 1
end
if state == 'A' then return 0 end
if string.sub(ARGV[3], 1, 1) == 'U' and state ~= 'R' then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'KEEPTTL')
return 1
"""

# KEYS[1] lease; ARGV[1] holder, ARGV[2] lease ms.
_RENEW_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

_VERDICTS = {1: NEW, 0: SEEN, 2: BEFORE_EPOCH, 3: RUNNING}


def _parse_entry(claim: Claim, entry: bytes) -> Claim:
    state = entry[:1]
    if state == b"A":
        claim.verdict, claim.status, claim.body = ANSWERED, int(entry[33:36]), entry[36:]
    else:
        claim.verdict, claim.reason = UNKNOWN, entry[33:].decode("utf-8", "replace")
    return claim


class RedisReplayCache:
    """A replay cache in Redis, shared by every node.

    Keys: `<prefix>{<bucket>}:<len(kid)>:<kid>:<nonce>` for a nonce (and `…:run` for the lease of a
    running claim), `<prefix>{<bucket>}:epoch` for its bucket's epoch marker (Unix ms), where the bucket is the
    nonce's first two characters (random: 4,096 buckets) in a hash tag, so a check touches one slot
    and Redis Cluster spreads the load. The marker has no TTL; see the module docstring for what it
    buys. The length prefix keeps two `(kid, nonce)` pairs from sharing a key.

    `url`: `redis://…`, `rediss://…`, `unix://…`, or `redis+cluster://host:port` for Redis Cluster
    (`mcp_fastpath._redis`: retries with backoff on connection errors, health checks). `outcomes`,
    `max_outcome_bytes`, `running_lease_ms`: see the module docstring. `max_connections`: the
    connection pool (per node of a cluster), blocking: a burst of more concurrent checks waits for
    a free connection instead of failing. Needs the `redis` package
    (`pip install mcp-fastpath[redis]`).
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "mcp-fastpath:replay:",
        outcomes: bool = True,
        max_outcome_bytes: int = DEFAULT_MAX_OUTCOME_BYTES,
        running_lease_ms: int = DEFAULT_RUNNING_LEASE_MS,
        max_connections: int = 100,
    ) -> None:
        from . import _redis
        from ._outage import OutageLog

        if not isinstance(url, str) or not isinstance(prefix, str):
            raise TypeError("url and prefix are str")
        if type(max_outcome_bytes) is not int or max_outcome_bytes < 0:
            raise ValueError("max_outcome_bytes must be a non-negative int")
        if type(running_lease_ms) is not int or running_lease_ms < 3:
            raise ValueError("running_lease_ms must be an int of at least 3")
        if type(max_connections) is not int or max_connections < 1:
            raise ValueError("max_connections must be a positive int")
        self.url = url
        self.prefix = prefix
        self.outcomes = bool(outcomes)
        self.max_outcome_bytes = max_outcome_bytes
        self.running_lease_ms = running_lease_ms
        self._client = _redis.connect(url, max_connections=max_connections, blocking_pool=True)
        self._limit = _redis.access(self._client, url, max_connections)
        self._unavailable = _redis.unavailable_errors()
        self.outage = OutageLog(f"replay cache ({_redis.redacted(url)})", logger)
        self._check_script = self._client.register_script(_CHECK_SCRIPT)
        self._claim_script = self._client.register_script(_CLAIM_SCRIPT)
        self._settle_script = self._client.register_script(_SETTLE_SCRIPT)
        self._renew_script = self._client.register_script(_RENEW_SCRIPT)
        # Running claims of this process: lease key → (holder, monotonic time of the last renewal).
        self._running: dict[str, tuple[str, float]] = {}
        self._renewer: asyncio.Task[None] | None = None

    def _tag(self, nonce: str) -> str:
        return f"{self.prefix}{{{nonce[:2]}}}"

    def key(self, kid: str, nonce: str) -> str:
        """The Redis key remembering `(kid, nonce)`."""
        return f"{self._tag(nonce)}:{len(kid)}:{kid}:{nonce}"

    def lease_key(self, kid: str, nonce: str) -> str:
        """The lease of a running claim on `(kid, nonce)` (same hash slot as its key)."""
        return f"{self.key(kid, nonce)}:run"

    def epoch_key(self, nonce: str) -> str:
        """The epoch marker of `nonce`'s bucket."""
        return f"{self._tag(nonce)}:epoch"

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            async with self._limit:
                reply = await script(keys=keys, args=args)
        except self._unavailable as exc:
            self.outage.failed(exc)
            raise StoreUnavailable() from None
        self.outage.ok()
        return reply

    async def check(self, kid: str, nonce: str, ttl_ms: int, *, iat_ms: int | None = None) -> str:
        """`NEW` the first time `(kid, nonce)` is seen within `ttl_ms`, `SEEN` on a repeat,
        `BEFORE_EPOCH` when `iat_ms` predates the bucket's epoch (when its Redis started, if the bucket's
        marker had been lost). Raises `StoreUnavailable`
        when Redis cannot be reached."""
        _check_args(kid, nonce, ttl_ms, iat_ms)
        args = [ttl_ms, "" if iat_ms is None else iat_ms]
        reply = await self._call(self._check_script, [self.epoch_key(nonce), self.key(kid, nonce)], args)
        return _VERDICTS[int(reply[0])]

    async def check_and_store(self, kid: str, nonce: str, ttl_ms: int) -> bool:
        """True the first time `(kid, nonce)` is seen within `ttl_ms`; False on a repeat."""
        return await self.check(kid, nonce, ttl_ms) == NEW

    # -- outcome memory ------------------------------------------------------------------------------

    async def claim(
        self, kid: str, nonce: str, ttl_ms: int, *, iat_ms: int | None = None, signature: str | bytes
    ) -> Claim:
        """See `MemoryReplayCache.claim`. Raises `StoreUnavailable` when Redis cannot be reached."""
        _check_args(kid, nonce, ttl_ms, iat_ms)
        fingerprint = _fingerprint(signature)
        if not self.outcomes:
            return Claim(await self.check(kid, nonce, ttl_ms, iat_ms=iat_ms), kid, nonce)
        holder = _new_holder()
        lease = self.lease_key(kid, nonce)
        args = [
            ttl_ms,
            "" if iat_ms is None else iat_ms,
            fingerprint,
            holder,
            self.running_lease_ms,
        ]
        reply = await self._call(self._claim_script, [self.epoch_key(nonce), self.key(kid, nonce), lease], args)
        code = int(reply[0])
        claim = Claim(_VERDICTS.get(code, UNKNOWN), kid, nonce, fingerprint=fingerprint)
        if code == 4:
            return _parse_entry(claim, reply[1])
        if code == 1:
            claim.holder = holder
            self._track(lease, holder)
        return claim

    async def _write(self, claim: Claim, entry: bytes | str) -> None:
        lease = self.lease_key(claim.kid, claim.nonce)
        self._running.pop(lease, None)
        keys = [self.key(claim.kid, claim.nonce), lease]
        try:
            await self._call(self._settle_script, keys, [claim.holder or "", claim.fingerprint, entry])
        except StoreUnavailable:
            # The reply still goes out; duplicates will find the claim's lease lapsed (UNKNOWN).
            pass

    async def settle(self, claim: Claim, status: int, body: bytes) -> None:
        """Keep the reply to a `NEW` claim (`UNKNOWN`, `"too-large"`, over `max_outcome_bytes`).
        Never raises for an unreachable Redis (the outage is logged once)."""
        _check_reply(status, body)
        if len(body) > self.max_outcome_bytes:
            await self._write(claim, f"U{claim.fingerprint}too-large")
        else:
            await self._write(claim, b"A" + claim.fingerprint.encode() + b"%03d" % status + body)

    async def release(self, claim: Claim) -> None:
        """Forget a `NEW` claim answered 503 (nothing dispatched)."""
        await self._write(claim, "")

    async def abandon(self, claim: Claim, reason: str = "abandoned") -> None:
        """A `NEW` claim that ended without a reply: duplicates get `UNKNOWN` with `reason`."""
        await self._write(claim, f"U{claim.fingerprint}{reason}")

    # -- leases of running claims ---------------------------------------------------------------------

    def _track(self, lease: str, holder: str) -> None:
        self._running[lease] = (holder, time.monotonic())
        loop = asyncio.get_running_loop()
        if self._renewer is None or self._renewer.done() or self._renewer.get_loop() is not loop:
            self._renewer = loop.create_task(self._renew_forever())

    async def _renew_forever(self) -> None:
        """Renew the lease of every claim of this process that has run for a third of it."""
        period = self.running_lease_ms / 3000
        while self._running:
            await asyncio.sleep(period)
            now = time.monotonic()
            due = [(lease, holder) for lease, (holder, last) in list(self._running.items()) if now - last >= period]
            for lease, holder in due:
                try:
                    await self._call(self._renew_script, [lease], [holder, self.running_lease_ms])
                except StoreUnavailable:
                    break  # logged once per outage; try again next period
                if lease in self._running:
                    self._running[lease] = (holder, now)

    async def ping(self) -> None:
        """Readiness: raises `StoreUnavailable` when Redis does not answer."""
        try:
            await self._client.ping()
        except self._unavailable as exc:
            self.outage.failed(exc)
            raise StoreUnavailable() from None
        self.outage.ok()

    async def aclose(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            self._renewer = None
        await self._client.aclose()

    def __repr__(self) -> str:
        return f"RedisReplayCache(prefix={self.prefix!r}, outcomes={self.outcomes})"


async def admit_once(cache: Any, signature: Any, max_skew_s: float, *, request_id: int | str | None = None) -> None:
    """Raise `Replayed` (-32012, HTTP 401) when the envelope's `(kid, nonce)` was already seen, or
    when it was signed before the cache's memory began (see the module docstring); remember it for
    2 × `max_skew_s` (the whole window in which its `iat` is acceptable). Pass the verifier's own
    `max_skew_s`. `signature=None` (an unsigned request that was allowed through) passes. A cache
    with only `check_and_store(kid, nonce, ttl_ms) -> bool` works too (no epoch check then).

    This is the check without outcome memory (a duplicate is refused); the adapters use
    `adapters._outcomes.admit_signed`, which answers duplicates from the cache's `claim`."""
    if signature is None:
        return
    ttl_ms = replay_ttl_ms(max_skew_s)
    check = getattr(cache, "check", None)
    if check is not None:
        verdict = await check(signature.kid, signature.nonce, ttl_ms, iat_ms=getattr(signature, "iat", None))
    else:
        verdict = NEW if await cache.check_and_store(signature.kid, signature.nonce, ttl_ms) else SEEN
    if verdict == NEW:
        return
    if verdict == SEEN:
        raise replayed(request_id)
    raise before_epoch(request_id)


def replay_ttl_ms(max_skew_s: float) -> int:
    """How long a nonce is remembered: the whole window in which its `iat` is acceptable."""
    return max(1, int(2 * max_skew_s * 1000))


def replayed(request_id: int | str | None) -> Replayed:
    return Replayed(-32012, "request replayed", request_id=request_id, headers={"WWW-Authenticate": "Bearer"})


def before_epoch(request_id: int | str | None) -> Replayed:
    # Not served, and safe to send again once signed again: 503 is what clients and proxies retry.
    # After one second: a bucket Redis has no marker for during its first second of uptime refuses
    # every iat until then (uptime counts whole seconds), and a re-signed retry lands in a new bucket.
    return Replayed(
        -32012,
        "signed before this server's replay memory began: sign the request again",
        request_id=request_id,
        http_status=503,
        headers={"Retry-After": "1"},
    )
