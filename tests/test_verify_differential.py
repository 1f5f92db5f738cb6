"""Native ≡ pure for verification (docs/verification.md): the same input gives the same outcome
on both backends — the same exception class, code, HTTP status, message, request id and challenge
header, or equal `Principal` / `SignatureInfo` / `Admitted` fields — on mutated tokens, mutated
signed envelopes and bodies, JWKs; and what one backend signs, the other verifies.

These tests need both backends (they do not use the `backend` fixture).
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st
from mcp_fastpath.errors import InvalidKey, Rejection

from .conftest import BACKENDS

pytestmark = pytest.mark.skipif(
    not {"native", "pure"} <= set(BACKENDS), reason="differential tests need both backends (MCP_FASTPATH_TEST_BACKENDS)"
)

NOW = 1_767_225_600.0
ISS = "https://auth.example.com"
AUD = "https://mcp.example.com/mcp"
SECRET = b"0123456789abcdef0123456789abcdef"
SEED = bytes(range(32))
NONCE = b"\x5a" * 16
SIG = "dev.mcp-fastpath/sig"
TOKEN = "dev.mcp-fastpath/token"
META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


VERIFICATION_CODES = (-32010, -32011, -32012)


def summary(value: Any) -> Any:
    """A backend-neutral, type-exact description of a result object."""
    name = type(value).__name__
    if value is None:
        return None
    if name == "Principal":
        return (
            name,
            value.subject,
            value.issuer,
            value.audience,
            value.scopes,
            repr(value.claims),
            repr(value.expires_at),
        )
    if name == "SignatureInfo":
        return (name, value.kid, value.alg, repr(value.iat), value.nonce, value.aud)
    if name == "Admitted":
        return (name, summary(value.request), summary(value.principal), summary(value.signature))
    if name in ("Request", "Notification", "Response", "ErrorResponse"):
        fields = (
            "id",
            "method",
            "params",
            "meta",
            "protocol_version",
            "client_info",
            "client_capabilities",
            "name",
            "result",
            "code",
            "message",
            "data",
        )
        return (name, *(repr(getattr(value, field)) for field in fields if hasattr(value, field)))
    return (name, repr(value))


def outcome(call) -> tuple:
    try:
        result = call()
    except Rejection as exc:
        # The codec's own texts (parse errors) are not part of its parity contract; ours are.
        text = exc.message if exc.code in VERIFICATION_CODES else None
        return ("rejected", type(exc).__name__, exc.code, exc.http_status, text, exc.data, exc.request_id, exc.headers)
    except InvalidKey as exc:
        return ("invalid-key", str(exc))
    except Exception as exc:  # anything else must still match by class and text
        return ("raised", type(exc).__name__, str(exc))
    return ("accepted", summary(result))


def same(call, native, pure) -> tuple:
    """Run `call(backend)` on both backends and assert identical outcomes."""
    left, right = outcome(lambda: call(native)), outcome(lambda: call(pure))
    assert left == right, f"native: {left}\npure:   {right}"
    return left


# ---- Per-backend fixtures (built once per backend module) ------------------------------------------

_CACHE: dict[tuple[str, str], Any] = {}


def cached(backend, name: str, build):
    key = (backend.__name__, name)
    if key not in _CACHE:
        _CACHE[key] = build(backend)
    return _CACHE[key]


def keys(backend):
    return cached(
        backend, "keys", lambda b: {"hmac": b.HmacKey("hk", SECRET), "ed25519": b.Ed25519PrivateKey("ek", SEED)}
    )


def jwt_verifier(backend, cache_size: int = 0):
    def build(b):
        k = keys(b)
        return b.JwtVerifier(
            b.KeyRing([k["hmac"], k["ed25519"].public_key()]), issuer=ISS, audience=AUD, cache_size=cache_size
        )

    return cached(backend, f"jwt-{cache_size}", build)


def envelope_verifier(backend, audience: str | None = AUD):
    def build(b):
        k = keys(b)
        return b.EnvelopeVerifier(b.KeyRing([k["hmac"], k["ed25519"].public_key()]), audience=audience)

    return cached(backend, f"envelope-{audience}", build)


def gate(backend):
    def build(b):
        k = keys(b)
        return b.Gate(
            envelope=b.EnvelopeVerifier(b.KeyRing([k["ed25519"].public_key()]), audience=AUD),
            jwt=b.JwtVerifier(b.KeyRing([k["hmac"]]), issuer=ISS, audience=AUD, cache_size=8),
            policy=b.ScopePolicy(
                {"tools/call:add": ["tools.add"], "tools/call": ["tools.call"], "tools/list": [], "*": ["mcp"]}
            ),
        )

    return cached(backend, "gate", build)


def claims(**changes) -> dict:
    base = {"iss": ISS, "aud": AUD, "sub": "alice", "exp": NOW + 600, "iat": NOW, "scope": "mcp tools.add tools.list"}
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def message(*, id: Any = 7, method: str = "tools/call", arguments: Any = None, meta: dict | None = None) -> dict:
    params: dict = {"_meta": {**META, **(meta or {})}}
    if method in ("tools/call", "prompts/get"):
        params["name"] = "add"
        params["arguments"] = {"a": 1, "b": 2} if arguments is None else arguments
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": params}


# ---- Minting is identical --------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["hmac", "ed25519", "ed25519-rfc9864", "no-kid"])
def test_both_backends_mint_the_same_token(native, pure, which):
    headers = {"alg": "Ed25519"} if which == "ed25519-rfc9864" else {"kid": None} if which == "no-kid" else None
    alg = "hmac" if which in ("hmac", "no-kid") else "ed25519"
    payload = claims(extra={"f": 1.5, "big": 2**63, "neg": -(2**63), "s": "é\n\u2028", "l": [None, True, 1e-7]})
    tokens = [b.sign_jwt(keys(b)[alg], payload, headers=headers) for b in (native, pure)]
    assert tokens[0] == tokens[1]


def test_both_backends_sign_the_same_envelope(native, pure):
    msg = message(
        arguments={"x": 1.5, "y": [1e21, -0.0, 2**53 - 1], "s": "\u00e9\t\u2028", "\u20ac": {"\U0001f600": None}}
    )
    for alg in ("hmac", "ed25519"):
        bodies = [
            b.EnvelopeSigner(keys(b)[alg], audience=AUD).sign_bytes(msg, now=NOW + 0.0015, nonce=NONCE)
            for b in (native, pure)
        ]
        assert bodies[0] == bodies[1]
        signed = [b.EnvelopeSigner(keys(b)[alg]).sign(msg, now=NOW, nonce=NONCE) for b in (native, pure)]
        assert signed[0] == signed[1]
        assert native.signing_bytes(signed[0]) == pure.signing_bytes(signed[0])


# ---- Tokens ----------------------------------------------------------------------------------------

_TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \u00e9\x00"
_NOWS = [NOW, NOW - 31, NOW + 599, NOW + 629.5, NOW + 630, NOW + 10_000, -1e300, 1e300]


@given(st.data())
def test_mutated_tokens(native, pure, data):
    alg = data.draw(st.sampled_from(["hmac", "ed25519"]), label="alg")
    headers = data.draw(
        st.sampled_from([None, {"alg": "Ed25519"}, {"kid": None}])
        if alg == "ed25519"
        else st.sampled_from([None, {"kid": None}])
    )
    token = list(pure.sign_jwt(keys(pure)[alg], claims(), headers=headers))
    for _ in range(data.draw(st.integers(0, 4), label="edits")):
        position = data.draw(st.integers(0, len(token)), label="position")
        edit = data.draw(st.sampled_from(["replace", "delete", "insert"]), label="edit")
        char = data.draw(st.sampled_from(_TOKEN_ALPHABET), label="char")
        if edit == "insert":
            token.insert(position, char)
        elif position < len(token):
            if edit == "replace":
                token[position] = char
            else:
                del token[position]
    mutated = "".join(token)
    now = data.draw(st.sampled_from(_NOWS), label="now")
    cache_size = data.draw(st.sampled_from([0, 2]), label="cache_size")
    same(lambda b: jwt_verifier(b, cache_size).verify(mutated, now=now), native, pure)
    if cache_size:  # a second look, possibly from the cache, at another time
        later = data.draw(st.sampled_from(_NOWS), label="later")
        same(lambda b: jwt_verifier(b, cache_size).verify(mutated, now=later), native, pure)


_int64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)
_json_leaf = st.none() | st.booleans() | _int64 | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
_json = st.recursive(
    _json_leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3), max_leaves=8
)
_header = st.dictionaries(
    st.sampled_from(["alg", "kid", "crit", "typ", "b64"]),
    st.sampled_from(["HS256", "EdDSA", "Ed25519", "none", "hk", "ek", "nobody", ["b64"]]) | _json,
)
_claims = st.dictionaries(
    st.sampled_from(["exp", "nbf", "iat", "iss", "aud", "sub", "scope", "scp", "x"]),
    st.sampled_from([NOW, NOW + 600, NOW - 600, int(NOW) + 600, True, ISS, AUD, [AUD], ["a", 1], "a  b", "s"]) | _json,
)


@given(_header, _claims, st.sampled_from(["hmac", "ed25519", "other-hmac"]), st.sampled_from(_NOWS))
def test_crafted_tokens(native, pure, header, payload, signer, now):
    """Validly signed tokens with arbitrary, type-confused headers and claims."""
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(payload, separators=(",", ":")).encode())
    key = pure.HmacKey("hk", b"x" * 32) if signer == "other-hmac" else keys(pure)[signer]
    token = f"{h}.{p}.{b64u(key.sign(f'{h}.{p}'.encode()))}"
    same(lambda b: jwt_verifier(b).verify(token, now=now), native, pure)
    same(lambda b: jwt_verifier(b, 2).verify(token, now=now), native, pure)


@given(
    st.one_of(
        st.none(),
        st.integers(),
        st.binary(max_size=20),
        st.text(max_size=40),
        st.lists(st.text(max_size=3), max_size=3),
    ),
    st.one_of(st.sampled_from([NOW, None]), st.just("soon"), st.just(True), st.just(math.nan), st.just(10**400)),
)
def test_garbage_tokens_and_clocks(native, pure, token, now):
    if now is None:
        now = NOW
    same(lambda b: jwt_verifier(b).verify(token, now=now), native, pure)


# ---- Envelopes -------------------------------------------------------------------------------------


_BODY_BYTES = b'{}[]",:0123456789aeE.-+ \\tnulAZ_='


def verify_both(native, pure, body: bytes, now: float, audience: str | None = AUD) -> None:
    """Verify `body` decoded, and (when it is JSON) as a plain dict, on both backends."""
    same(lambda b: envelope_verifier(b, audience).verify(b.decode(body), now=now), native, pure)
    try:
        tree = orjson.loads(body)
    except orjson.JSONDecodeError:
        return
    same(lambda b: envelope_verifier(b, audience).verify(tree, now=now), native, pure)


@given(st.data())
def test_mutated_signed_bodies(native, pure, data):
    alg = data.draw(st.sampled_from(["hmac", "ed25519"]), label="alg")
    signer = data.draw(st.sampled_from(["native", "pure"]), label="signer")
    backend = native if signer == "native" else pure
    body = bytearray(
        backend.EnvelopeSigner(keys(backend)[alg], audience=AUD).sign_bytes(message(), now=NOW, nonce=NONCE)
    )
    for _ in range(data.draw(st.integers(0, 3), label="edits")):
        index = data.draw(st.integers(0, len(body) - 1), label="index")
        body[index] = data.draw(st.sampled_from(_BODY_BYTES), label="byte")
    now = data.draw(st.sampled_from([NOW, NOW + 60, NOW - 60.001, NOW + 3600]), label="now")
    audience = data.draw(st.sampled_from([AUD, None, "https://other"]), label="audience")
    verify_both(native, pure, bytes(body), now, audience)


_MEMBERS = ["v", "alg", "kid", "iat", "nonce", "aud", "sig", "extra"]
_member_values = (
    st.sampled_from(
        [
            1,
            2,
            True,
            1.0,
            "1",
            "hmac-sha256",
            "ed25519",
            "hk",
            "ek",
            "nobody",
            int(NOW * 1000),
            int(NOW * 1000) + 60_001,
            2**53,
            2**63,
            b64u(NONCE),
            b64u(NONCE[:15]),
            b64u(NONCE) + "=",
            AUD,
            None,
            "",
            "AAAA",
        ]
    )
    | _json
)


@given(
    st.sampled_from(["hmac", "ed25519"]),
    st.dictionaries(st.sampled_from(_MEMBERS), _member_values, max_size=3),
    st.lists(st.sampled_from(_MEMBERS), max_size=2),
    st.sampled_from([NOW, NOW + 61]),
)
def test_edited_envelopes(native, pure, alg, changes, dropped, now):
    tree = orjson.loads(pure.EnvelopeSigner(keys(pure)[alg], audience=AUD).sign_bytes(message(), now=NOW, nonce=NONCE))
    envelope = tree["params"]["_meta"][SIG]
    envelope.update(changes)
    for member in dropped:
        envelope.pop(member, None)
    body = json.dumps(tree, separators=(",", ":")).encode()
    verify_both(native, pure, body, now)


@given(st.sampled_from(["hmac", "ed25519"]), _json, st.sampled_from([NOW, "later", None]))
def test_envelope_member_replaced_by_any_value(native, pure, alg, value, now):
    """The whole envelope (or `_meta`) replaced by any JSON value, with valid and invalid clocks."""
    tree = orjson.loads(pure.EnvelopeSigner(keys(pure)[alg]).sign_bytes(message(), now=NOW, nonce=NONCE))
    tree["params"]["_meta"][SIG] = value
    same(lambda b: envelope_verifier(b).verify(tree, now=NOW if now is None else now), native, pure)

    # Any value as the arguments: signing succeeds or fails alike, and what is signed verifies alike.
    def sign(b):
        return b.EnvelopeSigner(keys(b)[alg], audience=AUD).sign_bytes(message(arguments=value), now=NOW, nonce=NONCE)

    if same(sign, native, pure)[0] == "accepted":
        signed = orjson.loads(sign(pure))
        same(lambda b: envelope_verifier(b).verify(signed, now=NOW if now is None else now), native, pure)


# ---- Across backends -------------------------------------------------------------------------------

_i_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
    max_leaves=15,
)


@given(
    st.dictionaries(st.text(max_size=6), _i_json, max_size=4),
    st.sampled_from(["hmac", "ed25519"]),
    st.sampled_from([None, AUD]),
    st.floats(min_value=-59, max_value=59),
    st.integers(min_value=0, max_value=2**31),
)
def test_signed_by_one_backend_verified_by_the_other(native, pure, arguments, alg, audience, skew, msg_id):
    msg = message(id=msg_id, arguments=arguments)
    for signer, verifier in ((native, pure), (pure, native)):
        body = signer.EnvelopeSigner(keys(signer)[alg], audience=audience).sign_bytes(msg, now=NOW + skew)
        info = verifier.EnvelopeVerifier(verifier.KeyRing([keys(verifier)[alg]]), audience=audience).verify(
            verifier.decode(body), now=NOW
        )
        assert info.kid == keys(verifier)[alg].kid and info.aud == audience
        tree = orjson.loads(body)
        assert native.signing_bytes(tree) == pure.signing_bytes(tree)
        assert verifier.EnvelopeVerifier(verifier.KeyRing([keys(verifier)[alg]])).verify(tree, now=NOW) == info
        # and the signed dicts match byte for byte with the same nonce and clock
    fixed = [
        b.EnvelopeSigner(keys(b)[alg], audience=audience).sign_bytes(msg, now=NOW + skew, nonce=NONCE)
        for b in (native, pure)
    ]
    assert fixed[0] == fixed[1]


@given(st.dictionaries(st.text(max_size=6), _i_json, max_size=4), st.sampled_from(["hmac", "ed25519"]))
def test_signed_responses_cross_backends(native, pure, result, alg):
    response = {"jsonrpc": "2.0", "id": 3, "result": result}
    if (
        same(lambda b: b.EnvelopeSigner(keys(b)[alg]).sign_response(response, now=NOW, nonce=NONCE), native, pure)[0]
        != "accepted"
    ):
        return  # e.g. a `_meta` that is not an object: refused alike
    for signer, verifier in ((native, pure), (pure, native)):
        signed = signer.EnvelopeSigner(keys(signer)[alg]).sign_response(response, now=NOW)
        info = verifier.EnvelopeVerifier(verifier.KeyRing([keys(verifier)[alg]])).verify(signed, now=NOW)
        assert info.kid == keys(verifier)[alg].kid
        decoded = verifier.decode(orjson.dumps(signed))
        assert verifier.EnvelopeVerifier(verifier.KeyRing([keys(verifier)[alg]])).verify(decoded, now=NOW) == info


# ---- Gate ------------------------------------------------------------------------------------------


def _gate_request(pure, data) -> tuple[bytes, list[tuple[str, str]]]:
    method = data.draw(st.sampled_from(["tools/call", "tools/list", "resources/list"]), label="method")
    scope = data.draw(st.sampled_from(["mcp tools.add", "tools.add", "", "mcp", "tools.call mcp"]), label="scope")
    token_claims = claims(scope=scope, exp=data.draw(st.sampled_from([NOW + 600, NOW - 600]), label="exp"))
    token = pure.sign_jwt(keys(pure)["hmac"], token_claims)
    where = data.draw(st.sampled_from(["header", "meta", "both", "none", "two-headers", "basic"]), label="where")
    meta = {TOKEN: token} if where in ("meta", "both", "basic") else {}
    msg = message(method=method, meta=meta)
    signed = data.draw(st.booleans(), label="signed")
    body = (
        pure.EnvelopeSigner(keys(pure)["ed25519"], audience=AUD).sign_bytes(msg, now=NOW, nonce=NONCE)
        if signed
        else orjson.dumps(msg)
    )
    headers = list(pure.request_headers(msg["method"], msg["params"]).items())
    if where in ("header", "both"):
        headers.append(("Authorization", f"{data.draw(st.sampled_from(['Bearer', 'bearer', 'BEARER']))} {token}"))
    elif where == "two-headers":
        headers += [("Authorization", f"Bearer {token}"), ("authorization", f"Bearer {token}")]
    elif where == "basic":
        headers.append(("Authorization", "Basic dXNlcjpwYXNz"))
    return body, headers


@given(st.data())
def test_gate_on_mutated_requests(native, pure, data):
    body, headers = _gate_request(pure, data)
    body = bytearray(body)
    for _ in range(data.draw(st.integers(0, 2), label="edits")):
        index = data.draw(st.integers(0, len(body) - 1), label="index")
        body[index] = data.draw(st.sampled_from(_BODY_BYTES), label="byte")
    with_headers = data.draw(st.booleans(), label="with_headers")
    now = data.draw(st.sampled_from([NOW, NOW + 61, "soon"]), label="now")
    same(lambda b: gate(b).admit(bytes(body), headers if with_headers else None, now=now), native, pure)


@given(st.data())
def test_gate_with_type_confused_envelopes_and_tokens(native, pure, data):
    envelope = data.draw(st.dictionaries(st.sampled_from(_MEMBERS), _member_values, max_size=7), label="envelope")
    token = data.draw(st.sampled_from([pure.sign_jwt(keys(pure)["hmac"], claims())]) | _json, label="token")
    msg = message(meta={SIG: envelope, TOKEN: token})
    body = json.dumps(msg, separators=(",", ":")).encode()
    headers = pure.request_headers(msg["method"], msg["params"])
    same(lambda b: gate(b).admit(body, headers, now=NOW), native, pure)


# ---- JWKs ------------------------------------------------------------------------------------------

_RSA = rsa.generate_private_key(65537, 2048)
_EC = ec.generate_private_key(ec.SECP256R1())
_RSA_N = b64u(_RSA.public_key().public_numbers().n.to_bytes(256, "big"))
_EC_X = b64u(_EC.public_key().public_numbers().x.to_bytes(32, "big"))
_EC_Y = b64u(_EC.public_key().public_numbers().y.to_bytes(32, "big"))
_GOOD_X = b64u(bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
_GOOD_D = b64u(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
_jwk_values = st.sampled_from(
    [
        "oct",
        "OKP",
        "RSA",
        "Ed25519",
        "X25519",
        "HS256",
        "EdDSA",
        "sig",
        "enc",
        "k",
        "",
        "k" * 257,
        _GOOD_X,
        _GOOD_D,
        b64u(b"k" * 32),
        b64u(b"k" * 31),
        b64u(b"k" * 32) + "=",
        b64u(bytes(32)),
        b64u(SEED),
        1,
        None,
        ["sig"],
        "RSA",
        "EC",
        "P-256",
        "P-384",
        "RS256",
        "PS256",
        "ES256",
        "RS512",
        "AQAB",
        "AQAA",
        _RSA_N,
        _RSA_N[:100],
        _EC_X,
        _EC_Y,
    ]
)


@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["kty", "crv", "kid", "use", "alg", "k", "x", "d", "key_ops", "n", "e", "y"]), _jwk_values
        ),
        max_size=3,
    )
)
def test_jwks(native, pure, jwks):
    same(lambda b: [summary_key(k) for k in b.KeyRing.from_jwks({"keys": jwks})], native, pure)


def summary_key(key) -> tuple:
    public = ("Ed25519PublicKey", "RsaPublicKey", "EcPublicKey")
    jwk = key.to_jwk() if type(key).__name__ in public else key.to_jwk(private=True)
    return (type(key).__name__, key.kid, key.alg, tuple(sorted(jwk.items())))


@pytest.mark.parametrize(
    "material",
    [
        b"\x01" * 31,
        b"\x01" * 33,
        bytes(32),
        "x" * 32,
        "not a pem",
        bytes.fromhex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        (2).to_bytes(32, "little"),
        "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
        7,
    ],
)
def test_public_key_refusals(native, pure, material):
    same(lambda b: b.Ed25519PublicKey("e", material), native, pure)


# ---- Hostile Python values: lone surrogates, keys that are not str, values of no JSON type --------


class _Opaque:
    def __repr__(self) -> str:
        return "_Opaque()"


_hostile_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=4),
    st.sampled_from(["\ud800", "a\udfff", 2**53, 2**64, math.nan, b"x", _Opaque(), 1.0, frozenset({1})]),
)
_hostile_key = st.one_of(st.text(max_size=3), st.sampled_from(["\ud800", "b", 1, None, (1,)]))
_hostile = st.recursive(
    _hostile_leaf,
    lambda c: st.lists(c, max_size=3) | st.tuples(c) | st.dictionaries(_hostile_key, c, max_size=3),
    max_leaves=8,
)


@given(_hostile)
def test_hostile_values_have_one_outcome(native, pure, value):
    """canonicalize, signing_bytes, signing, verifying a dict and minting a JWT: the same exception
    (class and text) or the same result on both backends, whatever Python value is given."""
    same(lambda b: b.canonicalize(value), native, pure)
    same(
        lambda b: b.signing_bytes({"method": "x", "params": {"_meta": {SIG: {"sig": "AA"}}, "a": value}}), native, pure
    )
    same(
        lambda b: b.EnvelopeSigner(keys(b)["hmac"]).sign_bytes(message(arguments=value), now=NOW, nonce=NONCE),
        native,
        pure,
    )
    same(lambda b: envelope_verifier(b).verify(message(meta={SIG: value}), now=NOW), native, pure)
    same(lambda b: b.sign_jwt(keys(b)["hmac"], claims(extra=value)), native, pure)


@given(st.dictionaries(_hostile_key, _hostile_leaf, max_size=8))
def test_hostile_envelope_members_have_one_outcome(native, pure, members):
    tree = orjson.loads(
        pure.EnvelopeSigner(keys(pure)["hmac"], audience=AUD).sign_bytes(message(), now=NOW, nonce=NONCE)
    )
    envelope = tree["params"]["_meta"][SIG]
    envelope.update(members)
    same(lambda b: envelope_verifier(b).verify(tree, now=NOW), native, pure)


@pytest.mark.parametrize(
    "build",
    [
        lambda b: b.JwtVerifier(b.KeyRing([]), issuer="i\ud800", audience=AUD),
        lambda b: b.JwtVerifier(b.KeyRing([]), issuer=ISS, audience="\udfff"),
        lambda b: b.EnvelopeVerifier(b.KeyRing([]), audience="a\ud800"),
        lambda b: b.EnvelopeSigner(keys(b)["hmac"], audience="a\ud800"),
        lambda b: b.ScopePolicy({"tools/call:\ud800": ["a"]}),
        lambda b: b.ScopePolicy({"*": ["a"]}).required("\ud800", "x"),
        lambda b: b.ScopePolicy({"tools/call": ["a"], "*": ["b"]}).required("tools/call", "\ud800"),
    ],
)
def test_configuration_text_that_is_not_unicode(native, pure, build):
    """Issuer, audience and rule keys are compared with text that came through JSON, which cannot
    hold a lone surrogate: both backends refuse such configuration alike (and a lookup finds nothing)."""
    same(build, native, pure)


def _pem(private, form=serialization.PublicFormat.SubjectPublicKeyInfo) -> str:
    return private.public_key().public_bytes(serialization.Encoding.PEM, form).decode()


@pytest.mark.parametrize(
    "material",
    [
        _pem(_RSA),
        _pem(_RSA, serialization.PublicFormat.PKCS1),
        _pem(_EC),
        _pem(_RSA).replace("PUBLIC KEY", "RSA PUBLIC KEY"),
        _pem(_RSA)[:-30] + "-----END PUBLIC KEY-----",
        "not a pem",
        b"\x30\x00",
        {"kty": "RSA", "n": _RSA_N, "e": "AQAB"},
        {"kty": "RSA", "n": _RSA_N, "e": "AQAB", "alg": "ES256"},
        {"kty": "RSA", "n": _RSA_N[:100], "e": "AQAB"},
        {"kty": "RSA", "n": _RSA_N, "e": "AQAA"},
        {"kty": "EC", "crv": "P-256", "x": _EC_X, "y": _EC_Y},
        {"kty": "EC", "crv": "P-256", "x": _EC_X, "y": _EC_X},
        {"kty": "EC", "crv": "P-384", "x": _EC_X, "y": _EC_Y},
        {},
        7,
    ],
)
@pytest.mark.parametrize("alg", [None, "RS256", "PS256", "ES256"])
def test_rsa_and_ec_key_construction(native, pure, material, alg):
    same(lambda b: summary_key(b.RsaPublicKey("r", material, alg)), native, pure)
    same(lambda b: summary_key(b.EcPublicKey("c", material)), native, pure)


@given(
    st.dictionaries(
        st.sampled_from(["alg", "kid", "crit", "typ"]),
        st.sampled_from(["RS256", "PS256", "ES256", "HS256", "r", "p", "c", "h"]) | _json,
    ),
    st.sampled_from(["rsa", "pss", "ec", "hmac"]),
)
def test_crafted_asymmetric_tokens(native, pure, header, signer):
    """Tokens with arbitrary headers, validly signed by an RSA (PKCS#1 v1.5 or PSS), P-256 or HMAC
    key, against a ring holding one key of each kind."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(claims(), separators=(",", ":")).encode())
    data = f"{h}.{p}".encode()
    if signer == "rsa":
        sig = _RSA.sign(data, padding.PKCS1v15(), hashes.SHA256())
    elif signer == "pss":
        sig = _RSA.sign(data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    elif signer == "ec":
        r, s_ = decode_dss_signature(_EC.sign(data, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s_.to_bytes(32, "big")
    else:
        sig = pure.HmacKey("h", SECRET).sign(data)
    token = f"{h}.{p}.{b64u(sig)}"

    def check(b):
        ring = b.KeyRing(
            [
                b.RsaPublicKey("r", _pem(_RSA)),
                b.RsaPublicKey("p", _pem(_RSA), alg="PS256"),
                b.EcPublicKey("c", _pem(_EC)),
                b.HmacKey("h", SECRET),
            ]
        )
        return b.JwtVerifier(ring, issuer=ISS, audience=AUD).verify(token, now=NOW)

    same(check, native, pure)
