"""`RedisTaskStore`: the task store of a fleet (every node behind a balancer shares one Redis, or
one Redis Cluster).

Needs the `redis` package (`pip install 'mcp-fastpath[redis]'`). `url`: `redis://…`, `rediss://…`,
`unix://…`, or `redis+cluster://host:port` for Redis Cluster (`mcp_fastpath._redis`: retries with
backoff on connection errors, health checks on idle connections).

Layout: tasks are spread over `buckets` (default 16) by a hash of their id; every key of a bucket
carries the bucket's hash tag, so each script touches the keys of one hash slot and Redis Cluster
spreads the buckets over its primaries. Under `prefix` (default `mcp-fastpath:task:`), for bucket
`NN` (two hex digits):

- `<prefix>{bNN}:t:<task_id>`: a hash, one field per `TaskRecord` field (absent = None; ints as
  decimal strings; `arguments`, `result`, `error`, `input_requests` as JSON).
- `<prefix>{bNN}:i:<task_id>`: a hash of the pending `input_responses`, one field per key (JSON
  values), so `tasks/update` merges with `HSET` and the runner takes them with `HGETALL` + `DEL`;
  no JSON is ever decoded inside Redis (Lua's cjson would mangle big numbers and empty arrays).
- `<prefix>{bNN}:leases`: a sorted set of the bucket's non-terminal task ids scored by lease expiry
  (0 when unleased) — `claim_orphans` reads the lapsed ones, bucket by bucket.
- `<prefix>{bNN}:expiry`: a sorted set of finished task ids scored by `finished_at_ms + ttl_ms` —
  `purge` reads it. Finished tasks also get `PEXPIRE ttl_ms`, so Redis drops them by itself even
  if nobody purges; `purge` then only cleans the index (and counts only what it deleted itself).
- `<prefix>cancel`: a pub/sub channel; `request_cancel` publishes the task id when it flags a task
  that a runner holds. `cancellations()` iterates over it. Polling `cancel_requested` (every
  `get`/`renew_lease` returns it) stays sufficient: a message is lost when no one is subscribed.

Every read-modify-write is one Lua script (`EVALSHA`, via `register_script`), so compare-and-set
transitions, lease renewal and orphan claims are atomic across nodes. A script retried after its
reply was lost (a connection that broke) gives the answer it gave the first time, or — for
`create` — is recognised as the same record.

Durability is Redis's own: `create` returns once the primary has applied the write, so every
node's next `get` sees the task (all nodes must talk to the primary, not to replicas). For tasks
that survive a Redis restart run it with `appendonly yes` (`appendfsync always` for no loss,
`everysec` for at most a second); replication is asynchronous, so a failover may lose the last
writes. The client uses a blocking pool of `max_connections` connections: a burst of concurrent
calls waits for a free connection instead of failing. When Redis cannot be reached a call raises
`StoreUnavailable` (logged once per outage, not once per call).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import AsyncIterator
from typing import Any

import orjson

from .. import _redis
from .._outage import OutageLog
from . import _rules
from .store import TERMINAL, StoreUnavailable, TaskRecord

__all__ = ["RedisTaskStore"]

logger = logging.getLogger(__name__)

_JSON = frozenset(_rules.JSON_FIELDS) - {"input_responses"}
_INTS = frozenset(
    {"created_at_ms", "updated_at_ms", "ttl_ms", "poll_interval_ms", "lease_expires_ms", "finished_at_ms"}
)
_BOOLS = frozenset({"idempotent", "cancel_requested"})
_HASH_FIELDS = tuple(name for name in _rules.FIELDS if name != "input_responses")

# Shared Lua helpers. KEYS are always: task hash, inputs hash, leases zset, expiry zset.
_LUA_LIB = """
local k, ik, leases, expiry = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local function terminal(s) return s == 'completed' or s == 'cancelled' or s == 'failed' end
local function fmt(n) return string.format('%.0f', n) end
local function reply() return {redis.call('HGETALL', k), redis.call('HGETALL', ik)} end
local function lease_index(id)
  local score = 0
  if redis.call('HGET', k, 'lease_owner') then score = redis.call('HGET', k, 'lease_expires_ms') end
  redis.call('ZADD', leases, score, id)
end
-- the task just became terminal: leave the lease index, enter the expiry index, expire by itself
local function finished(id)
  local ttl = tonumber(redis.call('HGET', k, 'ttl_ms'))
  local at = tonumber(redis.call('HGET', k, 'finished_at_ms')) + ttl
  redis.call('ZREM', leases, id)
  redis.call('ZADD', expiry, fmt(at), id)
  local out = reply()
  redis.call('PEXPIRE', k, fmt(math.max(ttl, 1)))
  if redis.call('EXISTS', ik) == 1 then redis.call('PEXPIRE', ik, fmt(math.max(ttl, 1))) end
  return out
end
"""

# ARGV: id, n, field/value * n, m, key/value * m
_CREATE = (
    _LUA_LIB
    + """
if redis.call('EXISTS', k) == 1 then return 0 end
local id = ARGV[1]
local n = tonumber(ARGV[2])
redis.call('HSET', k, unpack(ARGV, 3, 2 + 2 * n))
local m = tonumber(ARGV[3 + 2 * n])
redis.call('DEL', ik)
if m > 0 then redis.call('HSET', ik, unpack(ARGV, 4 + 2 * n, 3 + 2 * n + 2 * m)) end
redis.call('ZREM', expiry, id)
if terminal(redis.call('HGET', k, 'status')) then finished(id) else lease_index(id) end
return 1
"""
)

_READ = (
    _LUA_LIB
    + """
return reply()
"""
)

# ARGV: id, now, expect ('' or '|a|b|'), n, field/value * n, d, field * d, replace_inputs ('0'/'1'), m, key/value * m
_TRANSITION = (
    _LUA_LIB
    + """
if redis.call('EXISTS', k) == 0 then return false end
local id, now, expect = ARGV[1], ARGV[2], ARGV[3]
local status = redis.call('HGET', k, 'status')
if terminal(status) then return false end
if expect ~= '' and not string.find(expect, '|' .. status .. '|', 1, true) then return false end
redis.call('HSET', k, 'updated_at_ms', now)
local i = 4
local n = tonumber(ARGV[i])
if n > 0 then redis.call('HSET', k, unpack(ARGV, i + 1, i + 2 * n)) end
i = i + 2 * n + 1
local d = tonumber(ARGV[i])
if d > 0 then redis.call('HDEL', k, unpack(ARGV, i + 1, i + d)) end
i = i + d + 1
if ARGV[i] == '1' then
  local m = tonumber(ARGV[i + 1])
  redis.call('DEL', ik)
  if m > 0 then redis.call('HSET', ik, unpack(ARGV, i + 2, i + 1 + 2 * m)) end
end
if terminal(redis.call('HGET', k, 'status')) then
  redis.call('HSET', k, 'finished_at_ms', now)
  return finished(id)
end
lease_index(id)
return reply()
"""
)

# ARGV: now, key/value * m
_ADD_INPUTS = (
    _LUA_LIB
    + """
if redis.call('EXISTS', k) == 0 or terminal(redis.call('HGET', k, 'status')) then return false end
if #ARGV > 1 then redis.call('HSET', ik, unpack(ARGV, 2)) end
redis.call('HSET', k, 'updated_at_ms', ARGV[1])
return reply()
"""
)

_TAKE_INPUTS = (
    _LUA_LIB
    + """
if redis.call('EXISTS', k) == 0 or terminal(redis.call('HGET', k, 'status')) then return {} end
local taken = redis.call('HGETALL', ik)
redis.call('DEL', ik)
return taken
"""
)

# ARGV: id, now, channel
_CANCEL = (
    _LUA_LIB
    + """
if redis.call('EXISTS', k) == 0 then return false end
local id, now, channel = ARGV[1], ARGV[2], ARGV[3]
if terminal(redis.call('HGET', k, 'status')) then return reply() end
local live = false
if redis.call('HGET', k, 'lease_owner') then
  live = tonumber(redis.call('HGET', k, 'lease_expires_ms')) > tonumber(now)
end
if live and redis.call('HGET', k, 'cancel_requested') == '1' then return reply() end
redis.call('HSET', k, 'cancel_requested', '1', 'updated_at_ms', now)
if live then
  redis.call('PUBLISH', channel, id)
  return reply()
end
redis.call('HSET', k, 'status', 'cancelled', 'finished_at_ms', now)
return finished(id)
"""
)

# ARGV: id, now, node, lease_ms
_RENEW = (
    _LUA_LIB
    + """
if redis.call('EXISTS', k) == 0 then return false end
local id, now, node, lease_ms = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
if terminal(redis.call('HGET', k, 'status')) or redis.call('HGET', k, 'lease_owner') ~= node then return false end
local until_ms = fmt(now + lease_ms)
redis.call('HSET', k, 'lease_expires_ms', until_ms)
redis.call('ZADD', leases, until_ms, id)
return reply()
"""
)

# KEYS: leases (ARGV: now, node, lease_ms, limit, task key prefix, inputs key prefix)
_CLAIM = """
local leases = KEYS[1]
local now, node, lease_ms, limit = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local tp, ip = ARGV[5], ARGV[6]
local until_ms = string.format('%.0f', now + lease_ms)
local out = {}
while #out < limit do
  local ids = redis.call('ZRANGEBYSCORE', leases, '-inf', ARGV[1], 'LIMIT', 0, limit - #out)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    local k = tp .. id
    local status = redis.call('HGET', k, 'status')
    if (not status) or status == 'completed' or status == 'cancelled' or status == 'failed' then
      redis.call('ZREM', leases, id)
    else
      local owner = redis.call('HGET', k, 'lease_owner')
      local expires = tonumber(redis.call('HGET', k, 'lease_expires_ms'))
      if owner and expires > now then
        redis.call('ZADD', leases, expires, id)  -- a stale score: re-index, not an orphan
      else
        redis.call('HSET', k, 'lease_owner', node, 'lease_expires_ms', until_ms)
        redis.call('ZADD', leases, until_ms, id)
        out[#out + 1] = {redis.call('HGETALL', k), redis.call('HGETALL', ip .. id)}
      end
    end
  end
end
return out
"""

# KEYS: expiry (ARGV: now, batch, task key prefix, inputs key prefix) → {deleted, seen}
_PURGE = """
local expiry = KEYS[1]
local now = tonumber(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', expiry, '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local deleted = 0
for _, id in ipairs(ids) do
  local k = ARGV[3] .. id
  local finished = redis.call('HGET', k, 'finished_at_ms')
  if finished and tonumber(finished) + tonumber(redis.call('HGET', k, 'ttl_ms')) > now then
    redis.call('ZADD', expiry, string.format('%.0f', tonumber(finished) + tonumber(redis.call('HGET', k, 'ttl_ms'))), id)
  else
    deleted = deleted + redis.call('DEL', k)
    redis.call('DEL', ARGV[4] .. id)
    redis.call('ZREM', expiry, id)
  end
end
return {deleted, #ids}
"""


def _encode(name: str, value: Any) -> bytes | None:
    """A hash field's value, None for an absent field."""
    if value is None:
        return None
    if name in _JSON:
        return orjson.dumps(value)
    if name in _BOOLS:
        return b"1" if value else b"0"
    if name in _INTS:
        if type(value) is not int:
            raise ValueError(f"{name} must be an int")
        return str(value).encode()
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str")
    return value.encode()


def _input_pairs(responses: dict[str, Any] | None) -> list[bytes | str]:
    pairs: list[bytes | str] = []
    for key, value in (responses or {}).items():
        if not isinstance(key, str):
            raise TypeError("input response keys are str")
        pairs += [key, orjson.dumps(value)]
    return pairs


def _pairs(flat: list[bytes]) -> dict[str, bytes]:
    return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}


def _decode(reply: Any) -> TaskRecord | None:
    if not reply:
        return None
    fields_raw, inputs_raw = reply
    raw = _pairs(fields_raw)
    if "status" not in raw:
        return None  # vanished (expired by Redis) between calls
    values: dict[str, Any] = {}
    for name in _HASH_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if name in _JSON:
            values[name] = orjson.loads(value)
        elif name in _BOOLS:
            values[name] = value == b"1"
        elif name in _INTS:
            values[name] = int(value)
        else:
            values[name] = value.decode()
    values.setdefault("arguments", {})
    values.setdefault("owner", None)
    inputs = _pairs(inputs_raw)
    if inputs:
        values["input_responses"] = {key: orjson.loads(value) for key, value in inputs.items()}
    return TaskRecord(**values)


class RedisTaskStore:
    """A `TaskStore` in Redis (or Redis Cluster), shared by every node of a fleet."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "mcp-fastpath:task:",
        max_connections: int = 50,
        buckets: int = 16,
    ) -> None:
        if not isinstance(url, str) or not isinstance(prefix, str):
            raise TypeError("url and prefix are str")
        if "{" in prefix or "}" in prefix:
            raise ValueError("prefix must not contain braces (they would change the keys' hash slots)")
        if type(max_connections) is not int or max_connections < 1:
            raise ValueError("max_connections must be a positive int")
        if type(buckets) is not int or not 1 <= buckets <= 256:
            raise ValueError("buckets must be an int from 1 to 256 (every node of a fleet must use the same)")
        self.url = url
        self.prefix = prefix
        self.buckets = buckets
        self.channel = f"{prefix}cancel"
        self._next_bucket = 0
        self._client = _redis.connect(url, max_connections=max_connections, blocking_pool=True)
        self._limit = _redis.access(self._client, url, max_connections)
        self._unavailable = _redis.unavailable_errors()
        self.outage = OutageLog(f"task store ({_redis.redacted(url)})", logger)
        register = self._client.register_script
        self._create = register(_CREATE)
        self._read = register(_READ)
        self._transition = register(_TRANSITION)
        self._add_inputs = register(_ADD_INPUTS)
        self._take_inputs = register(_TAKE_INPUTS)
        self._cancel = register(_CANCEL)
        self._renew = register(_RENEW)
        self._claim = register(_CLAIM)
        self._purge = register(_PURGE)

    def bucket_tag(self, bucket: int) -> str:
        """The key prefix of `bucket`, with its hash tag."""
        return f"{self.prefix}{{b{bucket:02x}}}:"

    def bucket_of(self, task_id: str) -> int:
        return zlib.crc32(task_id.encode()) % self.buckets

    def task_key(self, task_id: str) -> str:
        return f"{self.bucket_tag(self.bucket_of(task_id))}t:{task_id}"

    def inputs_key(self, task_id: str) -> str:
        return f"{self.bucket_tag(self.bucket_of(task_id))}i:{task_id}"

    def _keys(self, task_id: str) -> list[str]:
        if not isinstance(task_id, str):
            raise TypeError("task_id is a str")
        tag = self.bucket_tag(self.bucket_of(task_id))
        return [f"{tag}t:{task_id}", f"{tag}i:{task_id}", f"{tag}leases", f"{tag}expiry"]

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            async with self._limit:
                reply = await script(keys=keys, args=args)
        except self._unavailable as exc:
            self.outage.failed(exc)
            raise StoreUnavailable(f"task store unreachable: {type(exc).__name__}") from None
        self.outage.ok()
        return reply

    @staticmethod
    def _live(reply: Any, now_ms: int) -> TaskRecord | None:
        record = _decode(reply)
        if record is None or _rules.expired(record, now_ms):
            return None
        return record

    async def create(self, record: TaskRecord) -> None:
        _rules.check_record(record)
        args: list[Any] = [record.task_id]
        fields: list[Any] = []
        for name in _HASH_FIELDS:
            value = _encode(name, getattr(record, name))
            if value is not None:
                fields += [name, value]
        inputs = _input_pairs(record.input_responses)
        args += [len(fields) // 2, *fields, len(inputs) // 2, *inputs]
        keys = self._keys(record.task_id)
        if await self._call(self._create, keys, args):
            return
        # Ours already, if a retry re-ran the script after the first run's reply was lost.
        existing = _decode(await self._call(self._read, keys, []))
        if existing is None or (existing.created_at_ms, existing.lease_owner, existing.tool) != (
            record.created_at_ms,
            record.lease_owner,
            record.tool,
        ):
            raise ValueError(f"task {record.task_id!r} already exists")

    async def get(self, task_id: str, *, now_ms: int) -> TaskRecord | None:
        return self._live(await self._call(self._read, self._keys(task_id), []), now_ms)

    async def transition(
        self, task_id: str, *, now_ms: int, expect: frozenset[str] | None = None, **changes: Any
    ) -> TaskRecord | None:
        _rules.check_changes(changes)
        sets: list[Any] = []
        deletes: list[str] = []
        for name, value in changes.items():
            if name == "input_responses":
                continue
            encoded = _encode(name, value)
            if encoded is None:
                deletes.append(name)
            else:
                sets += [name, encoded]
        replace_inputs = "input_responses" in changes
        inputs = _input_pairs(changes.get("input_responses"))
        expect_arg = "" if expect is None else "|" + "|".join(sorted(expect)) + "|"
        args = [task_id, now_ms, expect_arg, len(sets) // 2, *sets, len(deletes), *deletes]
        args += ["1" if replace_inputs else "0", len(inputs) // 2, *inputs]
        return _decode(await self._call(self._transition, self._keys(task_id), args))

    async def add_input_responses(self, task_id: str, responses: dict[str, Any], *, now_ms: int) -> TaskRecord | None:
        reply = await self._call(self._add_inputs, self._keys(task_id), [now_ms, *_input_pairs(dict(responses))])
        return self._live(reply, now_ms)

    async def take_input_responses(self, task_id: str, *, now_ms: int) -> dict[str, Any]:
        taken = _pairs(await self._call(self._take_inputs, self._keys(task_id), []))
        return {key: orjson.loads(value) for key, value in taken.items()}

    async def request_cancel(self, task_id: str, *, now_ms: int) -> TaskRecord | None:
        reply = await self._call(self._cancel, self._keys(task_id), [task_id, now_ms, self.channel])
        return self._live(reply, now_ms)

    async def renew_lease(self, task_id: str, node_id: str, *, lease_ms: int, now_ms: int) -> TaskRecord | None:
        _rules.check_lease_args(node_id, lease_ms)
        reply = await self._call(self._renew, self._keys(task_id), [task_id, now_ms, node_id, lease_ms])
        return _decode(reply)

    async def claim_orphans(self, node_id: str, *, lease_ms: int, now_ms: int, limit: int = 100) -> list[TaskRecord]:
        _rules.check_lease_args(node_id, lease_ms)
        if limit < 1:
            return []
        claimed: list[TaskRecord] = []
        # Bucket by bucket, starting one further each time, so no bucket waits behind the others.
        start, self._next_bucket = self._next_bucket, (self._next_bucket + 1) % self.buckets
        for i in range(self.buckets):
            tag = self.bucket_tag((start + i) % self.buckets)
            replies = await self._call(
                self._claim, [f"{tag}leases"], [now_ms, node_id, lease_ms, limit - len(claimed), f"{tag}t:", f"{tag}i:"]
            )
            claimed += [record for record in map(_decode, replies) if record is not None]
            if len(claimed) >= limit:
                break
        return claimed

    async def purge(self, *, now_ms: int, batch: int = 1000) -> int:
        total = 0
        for bucket in range(self.buckets):
            tag = self.bucket_tag(bucket)
            while True:
                deleted, seen = await self._call(self._purge, [f"{tag}expiry"], [now_ms, batch, f"{tag}t:", f"{tag}i:"])
                total += int(deleted)
                if int(seen) < batch:
                    break
        return total

    async def ping(self) -> None:
        """Readiness: raises `StoreUnavailable` when Redis does not answer."""
        try:
            await self._client.ping()
        except self._unavailable as exc:
            self.outage.failed(exc)
            raise StoreUnavailable(f"task store unreachable: {type(exc).__name__}") from None
        self.outage.ok()

    async def cancellations(self) -> AsyncIterator[str]:
        """Task ids as `request_cancel` flags them on any node (pub/sub on `<prefix>cancel`).

        Optional and lossy (a message published while nobody listens is gone); a runner still
        checks `cancel_requested` on every `renew_lease`. Usage::

            async for task_id in store.cancellations():
                running.get(task_id, noop).cancel()
        """
        pubsub = self._client.pubsub()
        await pubsub.subscribe(self.channel)
        try:
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    data = message["data"]
                    yield data.decode() if isinstance(data, bytes) else str(data)
        finally:
            await pubsub.unsubscribe(self.channel)
            await pubsub.aclose()

    async def close(self) -> None:
        await self._client.aclose()

    def __repr__(self) -> str:
        return f"RedisTaskStore(prefix={self.prefix!r}, buckets={self.buckets})"


# the statuses the Lua scripts hard-code
assert TERMINAL == {"completed", "cancelled", "failed"}
