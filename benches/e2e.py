"""End-to-end load comparison (see `mcp_fastpath/e2e.py`): the same `MCPServer` served one uvicorn
worker each by the SDK's stock app and by the fast path (native, pure), loaded over HTTP/1.1
keep-alive from another process; a second table with an HS256 JWT on every request.

    PYTHONPATH=python python benches/e2e.py [--seconds 10] [--connections 16] [--json]

Same as `mcp-fastpath bench --e2e`. No timing assertions anywhere: this prints numbers.
"""

from __future__ import annotations

import sys

from mcp_fastpath.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--e2e", *sys.argv[1:]]))
