"""A fleet on loopback, with faults: does it lose nothing and run nothing twice?

Run it with `scripts/fleet.sh` (sets up the checkout, installs nginx, then runs this file). It
starts, in a fresh run directory:
- Redis for the fleet (replay cache + task store; AOF `appendfsync everysec`), and a second Redis,
  the application's database, holding the side-effect counter (`fleet:runs`, see
  `scripts/fleet_app.py`): every execution of every call is counted there;
- three nodes, `mcp-fastpath serve scripts/fleet_app.py:mcp --keys … --replay redis://…
  --task-store redis://… --allowed-host mcp.fleet.test`;
- nginx in front (`scripts/fleet/nginx.conf`: round robin, `proxy_next_upstream … non_idempotent`,
  `Host $host`, JSON-RPC error pages);
and drives it with the project's `Client` (every request signed, with a bearer JWT) through
nginx: `--workers` concurrent callers of `bump` (a tool that works, then counts), and two callers
that run `bump_task` as tasks and poll them.

Scenarios (each with its own calls, counted separately):
- steady: no fault;
- kill: SIGKILL a node mid-run, restart it a second later;
- redis-outage: stop Redis (SIGTERM), start it again (same AOF) `--outage-s` later;
- redis-wipe: restart Redis empty (no persistence), then replay request bytes captured before;
- same-bytes: each signed request sent, as the same bytes, to all three nodes at once.

It prints one table: sent, answered, failed by kind, how many calls ran 0 / 1 / 2+ times, lost,
duplicated, 5xx seen by nginx; and checks the targets (0 lost, 0 duplicated, no 500, no 5xx for
requests started after Redis came back, the first answer within 2 s of it). Exit status 0 when
every target is met. `--quick` is the short run the test suite uses; `--json FILE` writes the
results. Lost means: the client was told it succeeded but it never ran, or it was told it did not
run (503, unreachable) but it did. In doubt means the server said "may or may not have run" (a
node killed mid-request): shown with what really happened.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_fastpath.demo.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
HOST = "mcp.fleet.test"
AUDIENCE = f"http://{HOST}/mcp"
ISSUER = "https://auth.fleet.test"
TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
REPLAY_LEASE_S = 5.0  # mcp_fastpath.replay.DEFAULT_RUNNING_LEASE_MS


# ---- processes ---------------------------------------------------------------------------------


def answers(port: int, probe: bytes, expect: bytes) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3) as sock:
            sock.sendall(probe)
            return sock.recv(64).startswith(expect)
    except OSError:
        return False


class Proc:
    """A child process with its output in `<run dir>/<name>.log`."""

    def __init__(self, name: str, argv: list[str], run_dir: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.run_dir = run_dir
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.run_dir / f"{self.name}.log", "ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=ROOT)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        if not self.alive:
            return
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


class RedisServer(Proc):
    def __init__(self, name: str, run_dir: Path, *, persist: bool) -> None:
        self.port = free_port()
        self.data = run_dir / name
        self.data.mkdir(exist_ok=True)
        super().__init__(name, [], run_dir)
        self.persist = persist

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.argv = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data),
            "--save",
            "",
            "--appendonly",
            "yes" if self.persist else "no",
            "--appendfsync",
            "everysec",
        ]
        super().start()
        self.wait_ready()

    def wait_ready(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not answers(self.port, b"PING\r\n", b"+PONG"):
            if not self.alive or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start (see {self.run_dir / self.name}.log)")
            time.sleep(0.02)

    def wipe(self) -> None:
        """Forget everything on disk (the next start comes back empty)."""
        shutil.rmtree(self.data)
        self.data.mkdir()


class Node(Proc):
    def __init__(self, name: str, run_dir: Path, *, keys: Path, store_url: str, counter_url: str, backend: str):
        self.port = free_port()
        argv = [
            str(ROOT / ".venv" / "bin" / "mcp-fastpath"),
            "serve",
            "scripts/fleet_app.py:mcp",
            "--port",
            str(self.port),
            "--keys",
            str(keys),
            "--replay",
            store_url,
            "--task-store",
            store_url,
            "--allowed-host",
            HOST,
            "--backend",
            backend,
            "--log-level",
            "warning",
        ]
        env = {"FLEET_COUNTER_URL": counter_url, "PYTHONUNBUFFERED": "1"}
        super().__init__(name, argv, run_dir, env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        probe = b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        while not answers(self.port, probe, b"HTTP/1.1 200"):
            if not self.alive or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start (see {self.run_dir / self.name}.log)")
            time.sleep(0.05)


class Nginx(Proc):
    def __init__(self, run_dir: Path, nodes: list[Node]) -> None:
        self.port = free_port()
        (run_dir / "nginx-tmp").mkdir(exist_ok=True)
        upstreams = "\n".join(f"        server 127.0.0.1:{node.port} max_fails=1 fail_timeout=2s;" for node in nodes)
        values = {
            "RUN_DIR": str(run_dir),
            "LISTEN_PORT": str(self.port),
            "UPSTREAM_SERVERS": upstreams,
            # As root, nginx's workers would run as nobody, who cannot use this run directory.
            "USER_DIRECTIVE": "user root;" if os.geteuid() == 0 else "",
        }
        template = (ROOT / "scripts" / "fleet" / "nginx.conf").read_text()
        self.conf = run_dir / "nginx.conf"
        self.conf.write_text(re.sub(r"\$\{([A-Z_]+)\}", lambda m: values[m.group(1)], template))
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        super().__init__("nginx", [binary, "-p", str(run_dir), "-c", str(self.conf), "-g", "daemon off;"], run_dir)
        self.log = run_dir / "nginx-access.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def wait_ready(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not answers(self.port, b"GET / HTTP/1.0\r\n\r\n", b"HTTP/1.1"):
            if not self.alive or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start (see {self.run_dir}/nginx.log, nginx-error.log)")
            time.sleep(0.02)

    def statuses(self, since: float, until: float) -> list[tuple[float, int, str, str]]:
        """(start time, status, upstream statuses, Retry-After) of the requests nginx finished in
        [since, until]."""
        out = []
        if not self.log.exists():
            return out
        for line in self.log.read_text().splitlines():
            match = _LOG_LINE.match(line)
            if match is None:
                continue
            end, status, upstream, took, retry_after = match.groups()
            if since <= float(end) <= until:
                out.append((float(end) - float(took), int(status), upstream, retry_after))
        return out


_LOG_LINE = re.compile(r'^(\S+) (\d+) "([^"]*)" (\S+) "([^"]*)"$')


# ---- the fleet ---------------------------------------------------------------------------------


class Fleet:
    def __init__(self, run_dir: Path, backend: str) -> None:
        from mcp_fastpath import keyfile

        self.run_dir = run_dir
        self.keys = keyfile.generate("hmac", "fleet-client", audience=AUDIENCE, issuer=ISSUER)
        self.keys_path = self.keys.write(run_dir / "keys.json")
        self.store = RedisServer("redis-fleet", run_dir, persist=True)
        self.counter = RedisServer("redis-counter", run_dir, persist=False)
        self.nodes: list[Node] = []
        self.backend = backend
        self.nginx: Nginx | None = None

    def start(self) -> None:
        self.store.start()
        self.counter.start()
        for i in range(3):
            self.nodes.append(
                Node(
                    f"node-{i + 1}",
                    self.run_dir,
                    keys=self.keys_path,
                    store_url=self.store.url,
                    counter_url=self.counter.url,
                    backend=self.backend,
                )
            )
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.wait_ready()
        self.nginx = Nginx(self.run_dir, self.nodes)
        self.nginx.start()
        self.nginx.wait_ready()

    def stop(self) -> None:
        for proc in [self.nginx, *self.nodes, self.store, self.counter]:
            if proc is not None:
                with contextlib.suppress(Exception):
                    proc.stop()

    def client(self, *, tasks: bool = False, **options: Any) -> Any:
        from mcp_fastpath.client import Client

        assert self.nginx is not None
        token = self.keys.mint_token(subject="fleet", scopes=["mcp"], ttl_s=3600)
        defaults: dict[str, Any] = {
            "signer": self.keys.signer(),
            "token": token,
            "headers": {"Host": HOST},
            "retries": 10,
            "backoff_s": 0.05,
            "max_backoff_s": 1.0,
            "timeout_s": 20,
            "running_wait_s": 20,
            "capabilities": {"extensions": {TASKS_EXTENSION: {}}} if tasks else {},
        }
        defaults.update(options)
        return Client(self.nginx.url, **defaults)

    async def runs(self, calls: list[str]) -> dict[str, int]:
        import redis.asyncio as redis_asyncio

        client = redis_asyncio.Redis.from_url(self.counter.url)
        try:
            values = await client.hmget("fleet:runs", calls) if calls else []
        finally:
            await client.aclose()
        return {call: int(value or 0) for call, value in zip(calls, values, strict=True)}


# ---- load --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the client learned of one call."""

    answered: bool
    kind: str = ""  # for a failure: what kind
    verdict: str = "answered"  # answered | not-run | in-doubt | error


def classify(exc: BaseException) -> Outcome:
    from mcp_fastpath.client import ClientError, InDoubt, Unreachable

    if isinstance(exc, InDoubt):
        reason = (exc.data or {}).get("reason") if isinstance(exc.data, dict) else None
        return Outcome(False, f"in doubt ({reason or 'client'})", "in-doubt")
    if isinstance(exc, Unreachable):
        return Outcome(False, f"unreachable (HTTP {exc.http_status})", "not-run")
    if isinstance(exc, ClientError):
        return Outcome(False, f"HTTP {exc.http_status} {exc.code}", "error")
    return Outcome(False, type(exc).__name__, "error")


@dataclass
class Scenario:
    name: str
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    task_outcomes: dict[str, str] = field(default_factory=dict)  # call → terminal status (or failure)
    runs: dict[str, int] = field(default_factory=dict)
    task_runs: dict[str, int] = field(default_factory=dict)
    nginx: list[tuple[float, int, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    started: float = 0.0
    ended: float = 0.0

    def summary(self) -> dict[str, Any]:
        failed = Counter(o.kind for o in self.outcomes.values() if not o.answered)
        ran = Counter(min(self.runs.get(call, 0), 2) for call in self.outcomes)
        lost = sum(
            1
            for call, o in self.outcomes.items()
            if (o.answered and self.runs.get(call, 0) == 0) or (o.verdict == "not-run" and self.runs.get(call, 0) > 0)
        )
        in_doubt = Counter(
            min(self.runs.get(call, 0), 2) for call, o in self.outcomes.items() if o.verdict == "in-doubt"
        )
        tasks = Counter(self.task_outcomes.values())
        task_ran = Counter(min(self.task_runs.get(call, 0), 2) for call in self.task_outcomes)
        return {
            "scenario": self.name,
            "sent": len(self.outcomes),
            "answered": sum(o.answered for o in self.outcomes.values()),
            "failed": dict(failed),
            "ran0": ran[0],
            "ran1": ran[1],
            "ran2+": ran[2],
            "in_doubt_ran": {"0": in_doubt[0], "1": in_doubt[1]},
            "lost": lost,
            "duplicated": ran[2],
            "http500": sum(1 for _, status, up, _ in self.nginx if status == 500 or "500" in up),
            "http5xx": sum(1 for _, status, _, _ in self.nginx if status >= 500),
            "http503": sum(1 for _, status, _, _ in self.nginx if status == 503),
            "tasks": dict(tasks),
            "tasks_ran": {"0": task_ran[0], "1": task_ran[1], "2+": task_ran[2]},
            "notes": self.notes,
            "checks": self.checks,
            "seconds": round(self.ended - self.started, 1),
        }


class Load:
    """`workers` callers of `bump` and `task_workers` callers of `bump_task`, through nginx, until
    stopped."""

    def __init__(self, fleet: Fleet, scenario: Scenario, *, workers: int, task_workers: int, work_ms: int) -> None:
        self.fleet = fleet
        self.scenario = scenario
        self.workers = workers
        self.task_workers = task_workers
        self.work_ms = work_ms
        self.stopping = asyncio.Event()
        self.prefix = f"{scenario.name}-{uuid.uuid4().hex[:6]}"
        self._n = 0

    def _next(self, kind: str) -> str:
        self._n += 1
        return f"{self.prefix}-{kind}{self._n:05d}"

    async def _caller(self, client: Any) -> None:
        while not self.stopping.is_set():
            call = self._next("c")
            try:
                result = await client.call_tool("bump", {"call": call, "work_ms": self.work_ms})
                outcome = Outcome(True) if not result.get("isError") else Outcome(False, "tool error", "error")
            except Exception as exc:
                outcome = classify(exc)
            self.scenario.outcomes[call] = outcome

    async def _tasker(self, client: Any) -> None:
        while not self.stopping.is_set():
            call = self._next("t")
            try:
                created = await client.call_tool("bump_task", {"call": call, "work_ms": 1500})
                task_id = created["taskId"]
                while True:
                    await asyncio.sleep(0.2)
                    task = await client.request("tasks/get", {"taskId": task_id})
                    if task["status"] in ("completed", "failed", "cancelled"):
                        break
                status = task["status"]
                if status == "failed":
                    message = task.get("statusMessage", "")
                    status = "failed: task lost (lease lapsed)" if message.startswith("Task lost") else "failed"
            except Exception as exc:
                status = f"client: {classify(exc).kind}"
            self.scenario.task_outcomes[call] = status

    async def run(self, fault: Any) -> None:
        async with self.fleet.client() as client, self.fleet.client(tasks=True) as task_client:
            callers = [asyncio.create_task(self._caller(client)) for _ in range(self.workers)]
            callers += [asyncio.create_task(self._tasker(task_client)) for _ in range(self.task_workers)]
            try:
                await fault()
            finally:
                self.stopping.set()
                await asyncio.gather(*callers)


# ---- scenarios ---------------------------------------------------------------------------------


async def measure(fleet: Fleet, scenario: Scenario, load: Load | None, fault: Any) -> Scenario:
    scenario.started = time.time()
    if load is not None:
        await load.run(fault)
    else:
        await fault()
    scenario.ended = time.time()
    await asyncio.sleep(0.5)  # let nginx write its last lines
    calls = list(scenario.outcomes)
    scenario.runs = await fleet.runs(calls)
    scenario.task_runs = await fleet.runs(list(scenario.task_outcomes))
    assert fleet.nginx is not None
    scenario.nginx = fleet.nginx.statuses(scenario.started, time.time())
    summary = scenario.summary()
    scenario.checks.update(
        {"0 lost": summary["lost"] == 0, "0 duplicated": summary["duplicated"] == 0, "no 500": summary["http500"] == 0}
    )
    if scenario.task_outcomes:
        scenario.checks["tasks: none ran twice"] = summary["tasks_ran"]["2+"] == 0
    return scenario


async def steady(fleet: Fleet, args: argparse.Namespace) -> Scenario:
    scenario = Scenario("steady")
    load = Load(fleet, scenario, workers=args.workers, task_workers=2, work_ms=args.work_ms)
    await measure(fleet, scenario, load, lambda: asyncio.sleep(args.duration_s))
    return scenario


async def kill(fleet: Fleet, args: argparse.Namespace) -> Scenario:
    scenario = Scenario("kill")
    load = Load(fleet, scenario, workers=args.workers, task_workers=2, work_ms=args.work_ms)
    victim = fleet.nodes[1]

    async def fault() -> None:
        await asyncio.sleep(args.duration_s / 3)
        victim.kill()
        scenario.notes.append(f"{victim.name} SIGKILLed at +{time.time() - scenario.started:.1f} s")
        await asyncio.sleep(1.0)
        victim.start()
        await asyncio.to_thread(victim.wait_ready)
        scenario.notes.append(f"{victim.name} serving again at +{time.time() - scenario.started:.1f} s")
        await asyncio.sleep(max(0.0, args.duration_s - (time.time() - scenario.started)))

    await measure(fleet, scenario, load, fault)
    return scenario


async def redis_outage(fleet: Fleet, args: argparse.Namespace) -> Scenario:
    scenario = Scenario("redis-outage")
    load = Load(fleet, scenario, workers=args.workers, task_workers=2, work_ms=args.work_ms)
    back: list[float] = []

    async def fault() -> None:
        await asyncio.sleep(args.duration_s / 3)
        fleet.store.stop()  # SIGTERM: Redis writes its AOF and exits
        down = time.time()
        await asyncio.sleep(args.outage_s)
        fleet.store.start()  # same port, same AOF
        back.append(time.time())
        scenario.notes.append(f"Redis down {back[0] - down:.1f} s")
        await asyncio.sleep(max(2.5, args.duration_s / 3))

    log_sizes = {node.name: _size(fleet.run_dir / f"{node.name}.log") for node in fleet.nodes}
    await measure(fleet, scenario, load, fault)
    t_back = back[0]
    after = [(start, status, retry) for start, status, _, retry in scenario.nginx if start >= t_back]
    # In Redis's first second of uptime, a request for a nonce bucket it has no marker for is refused
    # as "signed before this Redis started: sign again" (503 -32012, Retry-After: 1; uptime counts
    # whole seconds, see mcp_fastpath.replay). At the proxy that looks like an outage 503 (same status,
    # same Retry-After; the JSON-RPC code is in the body), so 503s in that second are counted apart
    # and not failed; any 5xx after it is a failure. (tests/test_outages.py checks, node by node and
    # by JSON-RPC code, that nothing fails once Redis is back.)
    first_second_end = t_back + 1.0
    sign_again = [start for start, status, retry in after if status == 503 and start < first_second_end]
    errors_after = [
        (start, status, retry)
        for start, status, retry in after
        if status >= 500 and not (status == 503 and start < first_second_end)
    ]
    first_ok = min((start for start, status, _ in after if status == 200), default=None)
    first_ok_s = None if first_ok is None else first_ok - t_back
    scenario.notes.append(
        f"after Redis was back: {len(errors_after)} 5xx, {len(sign_again)} 503 in its first second (sign again); "
        + (f"first answer +{first_ok_s:.2f} s" if first_ok_s is not None else "no answer")
    )
    if errors_after:  # what they were, for whoever reads a failed run
        scenario.notes.append(
            "5xx after Redis was back (+s, status, Retry-After): "
            + ", ".join(
                f"(+{start - t_back:.3f}, {status}, {retry or '-'})" for start, status, retry in errors_after[:10]
            )
        )
    lines = {node.name: _new_lines(fleet.run_dir / f"{node.name}.log", log_sizes[node.name]) for node in fleet.nodes}
    scenario.notes.append(
        "log lines per node during the outage: " + ", ".join(f"{n} {len(v)}" for n, v in sorted(lines.items()))
    )
    scenario.checks["no 5xx once Redis is back"] = not errors_after
    scenario.checks["answering within 2 s of Redis back"] = first_ok_s is not None and first_ok_s <= 2.0
    scenario.checks["no traceback in node logs"] = not any(
        "Traceback" in line for node_lines in lines.values() for line in node_lines
    )
    return scenario


async def redis_wipe(fleet: Fleet, args: argparse.Namespace) -> Scenario:
    """Redis restarted without its data: the replay memory is gone. Requests captured before
    (already answered once) are replayed to every node after the restart: none may run again."""
    import httpx

    scenario = Scenario("redis-wipe")
    captured: list[tuple[str, bytes, dict[str, str]]] = []
    async with fleet.client() as client, httpx.AsyncClient(timeout=10) as http:
        for _ in range(args.captured):
            call = f"wipe-{uuid.uuid4().hex[:8]}"
            message = client.build_message("tools/call", {"name": "bump", "arguments": {"call": call}})
            body, headers = client.encode(message)
            response = await http.post(fleet.nodes[0].url, content=body, headers=headers)
            assert response.status_code == 200, response.text
            captured.append((call, body, headers))
    load = Load(fleet, scenario, workers=args.workers, task_workers=0, work_ms=args.work_ms)
    replays: Counter[str] = Counter()

    async def fault() -> None:
        await asyncio.sleep(args.duration_s / 3)
        fleet.store.stop()
        fleet.store.wipe()
        fleet.store.persist = False  # from now on, as a Redis run without persistence
        fleet.store.start()
        scenario.notes.append(f"Redis restarted empty at +{time.time() - scenario.started:.1f} s")
        async with httpx.AsyncClient(timeout=10) as http:
            for _call, body, headers in captured:
                for node in fleet.nodes:
                    r = await http.post(node.url, content=body, headers=headers)
                    code = (r.json().get("error") or {}).get("code") if r.content else None
                    replays[f"HTTP {r.status_code} {code}"] += 1
        await asyncio.sleep(max(0.0, args.duration_s - (time.time() - scenario.started)))

    await measure(fleet, scenario, load, fault)
    runs = await fleet.runs([call for call, _, _ in captured])
    scenario.notes.append(
        f"{len(captured)} captured requests replayed to 3 nodes each: {dict(replays)}; "
        f"ran {sorted(Counter(runs.values()).items())} (times, calls)"
    )
    scenario.checks["replayed bytes never ran again"] = all(n == 1 for n in runs.values())
    scenario.checks["replays refused as signed before the memory began"] = set(replays) == {"HTTP 503 -32012"}
    return scenario


async def same_bytes(fleet: Fleet, args: argparse.Namespace) -> Scenario:
    """Each signed request, as the same bytes, to all three nodes at once: one runs it, the other
    copies get its answer (after "still running" while it runs)."""
    import httpx

    scenario = Scenario("same-bytes")
    identical = 0

    async def one_copy(http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> bytes:
        for _ in range(200):
            r = await http.post(url, content=body, headers=headers)
            if r.status_code == 409 and r.json()["error"]["code"] == -31001:
                await asyncio.sleep(0.05)
                continue
            return r.content
        raise RuntimeError("still running after 200 polls")

    async def fault() -> None:
        nonlocal identical
        async with fleet.client() as client, httpx.AsyncClient(timeout=20) as http:
            for _ in range(args.same_bytes):
                call = f"same-{uuid.uuid4().hex[:8]}"
                message = client.build_message(
                    "tools/call", {"name": "bump", "arguments": {"call": call, "work_ms": 50}}
                )
                body, headers = client.encode(message)
                replies = await asyncio.gather(*(one_copy(http, node.url, body, headers) for node in fleet.nodes))
                answered = all(b'"isError":false' in reply for reply in replies)
                scenario.outcomes[call] = Outcome(True) if answered else Outcome(False, "error", "error")
                identical += len(set(replies)) == 1

    await measure(fleet, scenario, None, fault)
    scenario.notes.append(f"{identical}/{args.same_bytes} requests: all 3 copies got the same bytes")
    scenario.checks["every copy got the one answer"] = identical == args.same_bytes
    return scenario


SCENARIOS = {
    "steady": steady,
    "kill": kill,
    "redis-outage": redis_outage,
    "redis-wipe": redis_wipe,
    "same-bytes": same_bytes,
}


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _new_lines(path: Path, since: int) -> list[str]:
    if not path.exists():
        return []
    with path.open("rb") as f:
        f.seek(since)
        return f.read().decode("utf-8", "replace").splitlines()


# ---- report ------------------------------------------------------------------------------------


def table(results: list[dict[str, Any]]) -> str:
    head = (
        "| scenario | sent | answered | failed (kind: n) | ran 0 | ran 1 | ran 2+ | lost | dup "
        "| 5xx (500; 503) | tasks (ran 0/1/2+) |"
    )
    rows = [head, "|" + "---|" * 11]
    for r in results:
        failed = ", ".join(f"{k}: {v}" for k, v in sorted(r["failed"].items())) or "0"
        doubt = r["in_doubt_ran"]
        if doubt["0"] or doubt["1"]:
            failed += f" [in doubt: ran 0 ×{doubt['0']}, ran 1 ×{doubt['1']}]"
        tasks = ", ".join(f"{k}: {v}" for k, v in sorted(r["tasks"].items()))
        tasks = f"{tasks} ({r['tasks_ran']['0']}/{r['tasks_ran']['1']}/{r['tasks_ran']['2+']})" if tasks else "–"
        rows.append(
            f"| {r['scenario']} | {r['sent']} | {r['answered']} | {failed} | {r['ran0']} | {r['ran1']} | "
            f"{r['ran2+']} | {r['lost']} | {r['duplicated']} | {r['http5xx']} ({r['http500']}; {r['http503']}) | {tasks} |"
        )
    return "\n".join(rows)


async def run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir or tempfile.mkdtemp(prefix="mcp-fastpath-fleet-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        run_dir.chmod(0o755)
    fleet = Fleet(run_dir, args.backend)
    results: list[dict[str, Any]] = []
    try:
        t0 = time.monotonic()
        fleet.start()
        print(
            f"fleet: Redis :{fleet.store.port}, counter :{fleet.counter.port}, nodes "
            f"{', '.join(str(n.port) for n in fleet.nodes)}, nginx :{fleet.nginx.port if fleet.nginx else '?'} "
            f"(backend {args.backend}, started in {time.monotonic() - t0:.1f} s; logs in {run_dir})",
            flush=True,
        )
        for name in args.scenarios:
            scenario = await SCENARIOS[name](fleet, args)
            summary = scenario.summary()
            results.append(summary)
            verdict = " ".join(f"{'✓' if ok else '✗'} {check}" for check, ok in summary["checks"].items())
            print(f"  {name}: {summary['sent']} sent in {summary['seconds']} s; {verdict}", flush=True)
            for note in summary["notes"]:
                print(f"    {note}", flush=True)
    finally:
        fleet.stop()
    print()
    print(table(results))
    print()
    print(
        "lost: answered but never ran, or told it did not run (503, unreachable) but it did. dup: ran twice or more. "
        "in doubt: the server said it may or may not have run (its node was killed mid-request); "
        "what really happened is shown. 5xx: responses nginx sent (500: a 500 from nginx or a node; 503: "
        "nothing was served, Retry-After: 1 — Redis unreachable, or 'signed before this Redis started: sign "
        "again' — which the client retries)."
    )
    ok = all(all(r["checks"].values()) for r in results)
    print(
        "targets:",
        "all met"
        if ok
        else "NOT met: "
        + "; ".join(f"{r['scenario']}: {c}" for r in results for c, good in r["checks"].items() if not good),
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "ok": ok}, indent=2))
    if not args.keep and ok and not args.run_dir:
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="the short run of the test suite")
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated, from: " + ", ".join(SCENARIOS))
    p.add_argument("--workers", type=int, default=16, help="concurrent callers of bump (default 16)")
    p.add_argument("--duration-s", type=float, default=12.0, help="seconds of load per scenario (default 12)")
    p.add_argument("--outage-s", type=float, default=3.0, help="how long Redis is down (default 3)")
    p.add_argument("--work-ms", type=int, default=20, help="how long each bump works before it counts (default 20)")
    p.add_argument("--captured", type=int, default=20, help="requests captured, then replayed after the wipe")
    p.add_argument("--same-bytes", type=int, default=100, help="requests sent to all three nodes at once")
    p.add_argument("--backend", choices=("native", "pure"), default="native")
    p.add_argument("--run-dir", help="where the processes' logs go (default: a fresh temporary directory)")
    p.add_argument("--keep", action="store_true", help="keep the run directory")
    p.add_argument("--json", help="write the results to this file")
    args = p.parse_args(argv)
    if args.quick:
        args.workers, args.duration_s, args.outage_s = min(args.workers, 8), 4.0, 1.5
        args.captured, args.same_bytes = 5, 20
    args.scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenarios: {sorted(unknown)}")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
