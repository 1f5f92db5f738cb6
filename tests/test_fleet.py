"""The fleet, in short: `scripts/fleet.py --quick` (Redis, three `serve` nodes, nginx, the signing
client, every fault scenario) must meet its targets; and the nginx configuration it runs — the one
docs/deploy.md recommends — turns nginx's own 502/504 into JSON-RPC errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fleet_helpers import free_port
from tests.helpers import skip_unless_ci

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "scripts" / "fleet" / "nginx.conf"


def _nginx() -> str:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        skip_unless_ci("nginx is not installed (scripts/bootstrap.sh installs it: apt-get install nginx)")
    return binary


def test_fleet_quick_meets_its_targets(redis_url, tmp_path):
    """Every scenario of scripts/fleet.sh, shortened: 0 lost, 0 run twice, no 500, nothing failing
    once Redis is back, replays after a wipe refused, copies to every node answered once."""
    _nginx()
    out = tmp_path / "fleet.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "fleet.py"), "--quick", "--json", str(out), "--run-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.exists(), run.stdout + run.stderr
    report = json.loads(out.read_text())
    results = {r["scenario"]: r for r in report["results"]}
    failed = {name: [c for c, ok in r["checks"].items() if not ok] for name, r in results.items()}
    notes = {name: r.get("notes") for name, r in results.items() if failed[name]}
    assert run.returncode == 0 and report["ok"], f"{failed}\n{notes}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert set(results) == {"steady", "kill", "redis-outage", "redis-wipe", "same-bytes"}
    for r in results.values():
        assert (r["lost"], r["duplicated"], r["http500"]) == (0, 0, 0), r
        assert r["sent"] > 0 and r["answered"] + sum(r["failed"].values()) == r["sent"], r
    # Every failure the client saw is one the server explained: nothing unreachable, no 5xx.
    for r in results.values():
        assert all(kind.startswith("in doubt (node-stopped)") for kind in r["failed"]), r["failed"]
    assert results["steady"]["answered"] == results["steady"]["sent"]
    assert results["redis-outage"]["checks"]["no 5xx once Redis is back"]
    assert results["redis-wipe"]["checks"]["replayed bytes never ran again"]


def _fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{([A-Z_]+)\}", lambda m: values[m.group(1)], template)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


def test_nginx_error_pages_are_json_rpc(tmp_path):
    """nginx's own 502 (no node answers) and 504 (a node too slow) come back as JSON-RPC errors
    with `Retry-After`, from the configuration fleet.sh runs (proxy_read_timeout cut to 1 s here)."""
    binary = _nginx()
    silent = socket.socket()  # accepts connections, never answers: the 504
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    dead = free_port()  # nothing listens: the 502
    ports = {"bad": free_port(), "slow": free_port()}
    (tmp_path / "nginx-tmp").mkdir()
    conf = _fill(
        TEMPLATE.read_text(),
        {
            "RUN_DIR": str(tmp_path),
            "LISTEN_PORT": str(ports["bad"]),
            "UPSTREAM_SERVERS": f"        server 127.0.0.1:{dead};",
            "USER_DIRECTIVE": "user root;" if os.geteuid() == 0 else "",
        },
    ).replace("proxy_read_timeout 60s;", "proxy_read_timeout 1s;")
    # A second server block on the same config, its upstream the silent socket.
    slow = conf[conf.index("    upstream mcp_nodes {") : conf.index("    # --- end")]
    slow = slow.replace("mcp_nodes", "mcp_slow").replace(f"127.0.0.1:{dead}", f"127.0.0.1:{silent.getsockname()[1]}")
    slow = slow.replace(f"listen 127.0.0.1:{ports['bad']};", f"listen 127.0.0.1:{ports['slow']};")
    conf = conf.replace("    # --- end", slow + "    # --- end")
    path = tmp_path / "nginx.conf"
    path.write_text(conf)
    if os.geteuid() == 0:
        tmp_path.chmod(0o755)
    proc = subprocess.Popen(
        [binary, "-p", str(tmp_path), "-c", str(path), "-g", "daemon off;"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while not all(_answers(port) for port in ports.values()):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.02)
        headers = {"Host": "mcp.fleet.test", "Content-Type": "application/json"}
        with httpx.Client(timeout=10) as http:
            bad = http.post(f"http://127.0.0.1:{ports['bad']}/mcp", content=b"{}", headers=headers)
            slow_reply = http.post(f"http://127.0.0.1:{ports['slow']}/mcp", content=b"{}", headers=headers)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        silent.close()
    for response, status, message in ((bad, 502, "Bad gateway"), (slow_reply, 504, "Gateway timeout")):
        assert response.status_code == status
        assert response.headers["content-type"] == "application/json"
        assert response.headers["retry-after"] == "1"
        body = response.json()
        assert body["jsonrpc"] == "2.0" and body["id"] is None and body["error"]["code"] == -32603
        assert body["error"]["message"].startswith(message)


def test_the_documented_nginx_config_is_the_tested_one():
    """docs/deploy.md shows the upstream and server blocks of scripts/fleet/nginx.conf, with the
    addresses filled in as the document says."""
    template = TEMPLATE.read_text()
    block = template[template.index("    # --- begin") : template.index("    # --- end")]
    upstreams = "\n".join(f"        server 10.0.0.{i}:8000 max_fails=1 fail_timeout=2s;" for i in (1, 2, 3))
    expected = _fill(block, {"UPSTREAM_SERVERS": upstreams, "LISTEN_PORT": "8080"})
    doc = (ROOT / "docs" / "deploy.md").read_text()
    assert expected in doc
