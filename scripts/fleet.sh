#!/usr/bin/env bash
# A fleet on loopback with faults, measured: Redis, three `mcp-fastpath serve` nodes and nginx,
# driven by the project's signing client. Prints sent / answered / failed / ran 0-1-2+ per
# scenario and checks the targets (0 lost, 0 duplicated, no 500s, recovery within 2 s of Redis
# returning). Options: scripts/fleet.py --help (e.g. --quick, --scenarios kill,redis-outage).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ] || ! command -v redis-server >/dev/null 2>&1; then
    scripts/bootstrap.sh
fi
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
    else
        echo "fleet: nginx is missing and this is not root: sudo apt-get install nginx" >&2
        exit 2
    fi
fi
exec .venv/bin/python scripts/fleet.py "$@"
