"""`mcp-fastpath call`: one request through the signing, failing-over client."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._common import KEYFILE_HELP, PROG, Subparsers, command, positive_float


@command
def _call(sub: Subparsers) -> None:
    p = sub.add_parser(
        "call",
        help="send one request through the signing, failing-over client",
        description=(
            "Send METHOD with PARAMS_JSON to URL (several URLs, comma-separated, fail over in order) as a "
            "2026-07-28 request: per-request _meta, routing headers, a signed envelope with --keys, a bearer token "
            "with --token (or minted from the key file when it names an issuer). Prints the result as JSON. "
            "Exit status 0 for a result; 1 for a JSON-RPC error (printed to stderr) or a tool result with "
            '"isError": true (printed as any result, with a note on stderr).'
        ),
        epilog=KEYFILE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("url", metavar="URL")
    p.add_argument("method", metavar="METHOD", help="e.g. server/discover, tools/list, tools/call")
    p.add_argument(
        "params",
        metavar="PARAMS_JSON",
        nargs="?",
        default="{}",
        help='e.g. \'{"name": "add", "arguments": {"a": 1, "b": 2}}\'',
    )
    p.add_argument("--keys", metavar="FILE", help="key file with a signing key (signs the request)")
    p.add_argument("--token", metavar="T", help="bearer token")
    p.add_argument(
        "--scope", action="append", default=[], help="scope for a token minted from the key file (repeatable)"
    )
    p.add_argument("--no-sign", action="store_true", help="with --keys: do not sign (only mint a token)")
    p.add_argument("--timeout", type=positive_float, default=10.0, metavar="S")
    p.set_defaults(handler=_run_call)


def _run_call(args: argparse.Namespace) -> int:
    import asyncio

    from ..client import Client, ClientError
    from ..errors import FastpathError

    try:
        params = json.loads(args.params)
    except ValueError as exc:
        raise FastpathError(f"PARAMS_JSON is not JSON: {exc}") from None
    if not isinstance(params, dict):
        raise FastpathError("PARAMS_JSON must be a JSON object")
    signer = None
    token = args.token
    if args.keys:
        from ..keyfile import load

        kf = load(args.keys)
        if not args.no_sign:
            signer = kf.signer()
        if token is None and kf.issuer is not None:
            token = kf.mint_token(scopes=args.scope)
    urls = [u for u in args.url.split(",") if u]

    async def run() -> dict[str, Any]:
        async with Client(urls, signer=signer, token=token, timeout_s=args.timeout) as client:
            return await client.request(args.method, params)

    try:
        result = asyncio.run(run())
    except ClientError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        if exc.data is not None:
            print(json.dumps(exc.data, indent=2, ensure_ascii=False), file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if isinstance(result, dict) and result.get("isError") is True:
        # The call went through but the tool failed: scripts must not read that as success.
        print(f"{PROG}: the tool reported an error (isError: true)", file=sys.stderr)
        return 1
    return 0
