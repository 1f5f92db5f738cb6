"""`mcp-fastpath keygen`, `sign` and `verify`: key files and signed messages."""

from __future__ import annotations

import argparse
import json
import sys

from ._common import KEYFILE_HELP, PROG, Subparsers, command, read_json_input


@command
def _keygen(sub: Subparsers) -> None:
    p = sub.add_parser(
        "keygen",
        help="generate a key file (a fresh HMAC secret or Ed25519 key)",
        description="Print a new key file (JSON) with one private key. Keep it secret: it can sign.",
        epilog=KEYFILE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--alg",
        choices=("hmac", "ed25519"),
        default="hmac",
        help="hmac (HMAC-SHA256 / HS256, 32-byte secret) or ed25519",
    )
    p.add_argument("--kid", default="k1", help="key id (default k1)")
    p.add_argument("--audience", help='"audience": the server URI (envelope aud and JWT audience)')
    p.add_argument("--issuer", help='"issuer": turns JWT checking on for servers using the file')
    p.add_argument(
        "--jwt-only",
        action="store_true",
        help='a file for bearer JWTs alone ("envelope": false): for stock MCP clients, which send a token but '
        "cannot sign envelopes; needs --issuer and --audience",
    )
    p.add_argument("--out", metavar="FILE", help="write the file (mode 0600) instead of printing it")
    p.add_argument("--public-out", metavar="FILE", help="also write the server's copy (Ed25519: public key only)")
    p.set_defaults(handler=_run_keygen)


def _run_keygen(args: argparse.Namespace) -> int:
    from ..errors import FastpathError
    from ..keyfile import generate

    if args.jwt_only and not (args.issuer and args.audience):
        raise FastpathError("--jwt-only needs --issuer and --audience (the tokens' iss and aud)")
    kf = generate(args.alg, args.kid, audience=args.audience, issuer=args.issuer)
    if args.jwt_only:
        kf.envelope = False
    if args.out:
        kf.write(args.out)
        print(f"{PROG} keygen: wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(kf.dumps())
    if args.public_out:
        kf.to_public().write(args.public_out)
        print(f"{PROG} keygen: wrote {args.public_out}", file=sys.stderr)
    return 0


SIGN_INPUT_HELP = """\
input: one JSON-RPC message as JSON (examples/request.json in the source tree is one):
  a 2026-07-28 request — every request carries its protocol version and client capabilities:
    {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
     "params": {"name": "add", "arguments": {"a": 2, "b": 3},
                "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                          "io.modelcontextprotocol/clientCapabilities": {}}}}
  or a result response: {"jsonrpc": "2.0", "id": 1, "result": {...}}
The envelope goes in params._meta["dev.mcp-fastpath/sig"] (result._meta for a response); it covers
the whole message (RFC 8785 canonical JSON), so sign what you send, as you send it. Sending it
over HTTP also needs the routing headers (MCP-Protocol-Version, Mcp-Method, Mcp-Name): `mcp-fastpath
call --keys` signs and sends in one step.
"""


@command
def _sign(sub: Subparsers) -> None:
    p = sub.add_parser(
        "sign",
        help="sign a JSON-RPC message (dev.mcp-fastpath/sig envelope)",
        description=(
            "Read a JSON-RPC request (or result response) from MESSAGE or stdin and print it signed with the key "
            "file's signing key (a fresh nonce, iat now, aud = the file's audience), as compact JSON."
        ),
        epilog=SIGN_INPUT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("message", metavar="MESSAGE", nargs="?", help="a file (default: stdin)")
    p.add_argument("--keys", metavar="FILE", required=True, help="key file with a signing key")
    p.set_defaults(handler=_run_sign)


def _run_sign(args: argparse.Namespace) -> int:
    from ..errors import FastpathError
    from ..keyfile import load

    _, message = read_json_input(args.message)
    if not isinstance(message, dict):
        raise FastpathError("the message must be a JSON object")
    signer = load(args.keys).signer()
    if "result" in message and "method" not in message:
        signed = signer.sign_response(message)
    else:
        signed = signer.sign(message)
    print(json.dumps(signed, separators=(",", ":"), ensure_ascii=False))
    return 0


@command
def _verify(sub: Subparsers) -> None:
    p = sub.add_parser(
        "verify",
        help="verify a signed JSON-RPC message against a key file",
        description=(
            "Read a signed 2026-07-28 request (or a signed result response) from MESSAGE or stdin, verify its "
            "envelope with the key file (keys, audience, max_skew_s) and print the SignatureInfo as JSON "
            '(exit 0), or the rejection {"valid": false, "code", "message"} (exit 1). No replay check (one message).'
        ),
    )
    p.add_argument("message", metavar="MESSAGE", nargs="?", help="a file (default: stdin)")
    p.add_argument("--keys", metavar="FILE", required=True, help="key file (verification keys)")
    p.set_defaults(handler=_run_verify)


def _run_verify(args: argparse.Namespace) -> int:
    from .. import Rejection, decode
    from ..keyfile import load

    raw, _ = read_json_input(args.message)
    verifier = load(args.keys).envelope_verifier(require=True)
    try:
        info = verifier.verify(decode(raw))
    except Rejection as exc:
        print(json.dumps({"valid": False, "code": exc.code, "message": exc.message}))
        return 1
    fields = {name: getattr(info, name) for name in ("kid", "alg", "iat", "nonce", "aud")}
    print(json.dumps({"valid": True, **fields}))
    return 0
