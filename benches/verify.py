"""The verification benchmark: native vs pure vs PyJWT, measured side by side in one run.

Targets (issue 3): `JwtVerifier` HS256 ≥ 8× PyJWT's `decode` with the same checks, Ed25519 JWT ≥ 1.5×
PyJWT EdDSA, RS256 and ES256 (RSA 2048, P-256; tokens minted by PyJWT) ≥ 2× PyJWT (no token cache in
these figures); `Gate.admit` with an HMAC envelope on the 1.4 KiB
request ≤ 3× the cost of native `decode` alone; native Ed25519 envelope verification within 1.3×
of a bare Ed25519 verify of the same bytes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from mcp_fastpath import _backend
from mcp_fastpath.errors import BackendUnavailable

from .codec import BODY_BY_KEY, _measure, header_line, machine_info

ISSUER = "https://auth.example.com"
AUDIENCE = "https://mcp.example.com"
SECRET = b"bench-secret-" + b"x" * 32
SEED = bytes(range(32))


def _claims() -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "bench", "scope": "tools.add mcp", "iat": now, "exp": now + 3600}


def _pyjwt_calls(hs_token: str, ed_token: str, ed_public_pem: bytes) -> dict[str, Callable[[], Any]]:
    import jwt  # PyJWT
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    public = load_pem_public_key(ed_public_pem)
    options = {"require": ["exp", "iss", "aud"]}

    def hs() -> Any:
        return jwt.decode(
            hs_token, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER, leeway=30, options=options
        )

    def ed() -> Any:
        return jwt.decode(
            ed_token, public, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER, leeway=30, options=options
        )

    return {"hs256 PyJWT": hs, "ed25519 PyJWT": ed}


def _asymmetric(backends: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """RS256 and ES256 as identity providers issue them (RSA 2048, P-256, PyJWT-minted tokens with a
    `kid`), verified by each backend and by PyJWT with the same checks."""
    try:
        import jwt  # PyJWT
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
    except ImportError:
        return {}
    keys = {"rs256": rsa.generate_private_key(65537, 2048), "es256": ec.generate_private_key(ec.SECP256R1())}
    options = {"require": ["exp", "iss", "aud"]}
    calls: dict[str, Callable[[], Any]] = {}
    for label, private in keys.items():
        alg = label.upper()
        token = jwt.encode(_claims(), private, algorithm=alg, headers={"kid": label})
        pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        for name, m in backends.items():
            key = m.RsaPublicKey(label, pem) if alg == "RS256" else m.EcPublicKey(label, pem)
            verifier = m.JwtVerifier(m.KeyRing([key]), issuer=ISSUER, audience=AUDIENCE)
            calls[f"{label} {name}"] = lambda v=verifier, t=token: v.verify(t)
        public = private.public_key()
        calls[f"{label} PyJWT"] = lambda t=token, k=public, a=alg: jwt.decode(
            t, k, algorithms=[a], audience=AUDIENCE, issuer=ISSUER, leeway=30, options=options
        )
    return calls


def contenders() -> dict[str, Callable[[], Any]]:
    calls: dict[str, Callable[[], Any]] = {}
    backends: dict[str, Any] = {}
    body = BODY_BY_KEY["1.4KiB"]
    tokens: dict[str, str] = {}
    ed_pem = b""
    for name in ("native", "pure"):
        try:
            _, m = _backend.load(name)
        except BackendUnavailable:
            continue
        backends[name] = m
        hmac_key = m.HmacKey("bench-hmac", SECRET)
        ed_key = m.Ed25519PrivateKey("bench-ed", SEED)
        ring = m.KeyRing([hmac_key, ed_key.public_key()])
        jwt = m.JwtVerifier(ring, issuer=ISSUER, audience=AUDIENCE)
        tokens["hs"] = m.sign_jwt(hmac_key, _claims())
        tokens["ed"] = m.sign_jwt(ed_key, _claims())
        hs_token, ed_token = tokens["hs"], tokens["ed"]
        calls[f"hs256 {name}"] = lambda jwt=jwt, t=hs_token: jwt.verify(t)
        calls[f"ed25519 {name}"] = lambda jwt=jwt, t=ed_token: jwt.verify(t)

        # Gate.admit with an HMAC envelope (and no token) on the 1.4 KiB request, vs decode alone.
        import orjson

        signer = m.EnvelopeSigner(hmac_key, audience=AUDIENCE)
        gate = m.Gate(envelope=m.EnvelopeVerifier(m.KeyRing([hmac_key]), audience=AUDIENCE, max_skew_s=3600))
        signed = signer.sign_bytes(orjson.loads(body.body))
        calls[f"admit hmac {name}"] = lambda gate=gate, b=signed, h=body.headers: gate.admit(b, h)
        calls[f"decode {name}"] = lambda m=m, b=signed, h=body.headers: m.decode(b, h)

        # Ed25519 envelope verification vs a bare Ed25519 verify of the same signed bytes.
        ed_signer = m.EnvelopeSigner(ed_key, audience=AUDIENCE)
        request = m.decode(ed_signer.sign_bytes(orjson.loads(body.body)), body.headers)
        verifier = m.EnvelopeVerifier(m.KeyRing([ed_key.public_key()]), audience=AUDIENCE, max_skew_s=3600)
        message = {"jsonrpc": "2.0", "id": request.id, "method": request.method, "params": request.params}
        data = m.signing_bytes(message)
        sig = m.b64url_decode(request.meta["dev.mcp-fastpath/sig"]["sig"])
        public = ed_key.public_key()
        calls[f"envelope ed25519 {name}"] = lambda v=verifier, r=request: v.verify(r)
        calls[f"bare ed25519 {name}"] = lambda k=public, d=data, s=sig: k.verify(d, s)
        if name == "native":
            ed_pem = _pem_of(public.public_bytes)
    try:
        calls.update(_pyjwt_calls(tokens["hs"], tokens["ed"], ed_pem))
    except ImportError:
        pass
    calls.update(_asymmetric(backends))
    return calls


def _pem_of(raw: bytes) -> bytes:
    import base64

    der = bytes.fromhex("302a300506032b6570032100") + raw
    return b"-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der) + b"\n-----END PUBLIC KEY-----\n"


# (label, numerator, denominator, target, kind): "faster" = num/den ≥ target; "within" = num/den ≤ target.
TARGETS = [
    ("JwtVerifier HS256 vs PyJWT", "hs256 PyJWT", "hs256 native", 8.0, "faster"),
    ("JwtVerifier Ed25519 vs PyJWT EdDSA", "ed25519 PyJWT", "ed25519 native", 1.5, "faster"),
    ("JwtVerifier RS256 vs PyJWT", "rs256 PyJWT", "rs256 native", 2.0, "faster"),
    ("JwtVerifier ES256 vs PyJWT", "es256 PyJWT", "es256 native", 2.0, "faster"),
    ("pure HS256 vs PyJWT", "hs256 PyJWT", "hs256 pure", None, "faster"),
    ("pure RS256 vs PyJWT", "rs256 PyJWT", "rs256 pure", None, "faster"),
    ("pure ES256 vs PyJWT", "es256 PyJWT", "es256 pure", None, "faster"),
    ("Gate.admit (HMAC envelope, 1.4 KiB) / native decode", "admit hmac native", "decode native", 3.0, "within"),
    ("native Ed25519 envelope / bare Ed25519 verify", "envelope ed25519 native", "bare ed25519 native", 1.3, "within"),
]


def run(
    seconds: float = 2.0, stream: TextIO | None = sys.stdout, *, inner_loop_s: float = 0.02, min_reps: int = 7
) -> dict[str, Any]:
    calls = contenders()
    if stream is not None:
        print(f"bench --verify: {len(calls)} contenders, ~{seconds:.1f} s …", file=stream, flush=True)
    return {"machine": machine_info(), "results": _measure(calls, seconds, inner_loop_s, min_reps)}


def format_table(measured: dict[str, Any]) -> str:
    results = measured["results"]
    lines = [header_line(measured["machine"]), "", "| contender | µs / call | ± IQR |", "|---|---:|---:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['us']:.2f} | {r['iqr_pct']:.0f}% |")
    lines += ["", "| ratio | measured | target |", "|---|---:|---|"]
    for label, num, den, target, kind in TARGETS:
        if num not in results or den not in results:
            continue
        value = results[num]["us"] / results[den]["us"]
        if target is None:
            mark = ""
        elif kind == "faster":
            mark = f"≥ {target}× {'✓' if value >= target else '✗'}"
        else:
            mark = f"≤ {target}× {'✓' if value <= target else '✗'}"
        lines.append(f"| {label} | {value:.2f}× | {mark} |")
    return "\n".join(lines)
