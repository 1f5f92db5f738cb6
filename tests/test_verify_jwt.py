"""JWT verification (docs/verification.md, JWT): interop with PyJWT and the attack catalogue.

Every test of ours runs on both backends through the `backend` fixture; each attack has one test
that asserts the exact code, HTTP status, challenge header and message.
"""

from __future__ import annotations

import base64
import json
import time

import jwt as pyjwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey as CryptoEd25519
from hypothesis import given
from hypothesis import strategies as st
from mcp_fastpath.errors import FastpathError, Unauthenticated

NOW = 1_767_225_600.0
ISS = "https://auth.example.com"
AUD = "https://mcp.example.com/mcp"
SECRET = b"an HS256 secret of at least 32 bytes!"
SEED = bytes(range(32))
L = 2**252 + 27742317777372353535851937790883648493


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**changes) -> dict:
    base = {"iss": ISS, "aud": AUD, "sub": "alice", "exp": NOW + 600, "iat": NOW, "scope": "tools.add tools.list"}
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def _compact(value) -> bytes:
    # The stdlib writes integers of any size (orjson stops at 64 bits).
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def craft(header, payload, key=None, *, signature: bytes | None = None) -> str:
    """A token from raw parts: header/payload as dicts (compact JSON) or bytes, signed by `key`."""
    h = b64u(header if isinstance(header, bytes) else _compact(header))
    p = b64u(payload if isinstance(payload, bytes) else _compact(payload))
    if signature is None:
        signature = key.sign(f"{h}.{p}".encode())
    return f"{h}.{p}.{b64u(signature)}"


@pytest.fixture
def hmac_key(backend):
    return backend.HmacKey("hk", SECRET)


@pytest.fixture
def ed_key(backend):
    return backend.Ed25519PrivateKey("ek", SEED)


@pytest.fixture
def verifier(backend, hmac_key, ed_key):
    return backend.JwtVerifier(backend.KeyRing([hmac_key, ed_key.public_key()]), issuer=ISS, audience=AUD)


def refused(excinfo, text: str) -> None:
    exc = excinfo.value
    assert isinstance(exc, Unauthenticated)
    assert exc.code == -32010
    assert exc.http_status == 401
    assert exc.headers.get("WWW-Authenticate") == 'Bearer error="invalid_token"'
    assert exc.message == text, exc.message


def assert_refused(verifier, token, text: str, *, now: float = NOW) -> None:
    with pytest.raises(Unauthenticated) as excinfo:
        verifier.verify(token, now=now)
    refused(excinfo, text)


# ---- Happy paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["hmac", "ed25519", "ed25519-rfc9864"])
def test_our_tokens_verify(backend, verifier, hmac_key, ed_key, which):
    key = hmac_key if which == "hmac" else ed_key
    headers = {"alg": "Ed25519"} if which == "ed25519-rfc9864" else None
    principal = verifier.verify(backend.sign_jwt(key, claims(), headers=headers), now=NOW)
    assert principal == backend.Principal("alice", ISS, AUD, ("tools.add", "tools.list"), claims(), NOW + 600)
    assert principal.subject == "alice" and principal.issuer == ISS and principal.audience == AUD
    assert principal.scopes == ("tools.add", "tools.list")
    assert principal.claims["sub"] == "alice"
    assert principal.expires_at == NOW + 600


def test_sign_jwt_header(backend, hmac_key, ed_key):
    for key, alg in ((hmac_key, "HS256"), (ed_key, "EdDSA")):
        header = orjson.loads(base64.urlsafe_b64decode(backend.sign_jwt(key, claims()).split(".")[0] + "=="))
        assert header == {"alg": alg, "typ": "JWT", "kid": key.kid}


def test_scp_list_and_no_scopes(backend, verifier, hmac_key):
    assert verifier.verify(backend.sign_jwt(hmac_key, claims(scope=None, scp=["a", "b"])), now=NOW).scopes == ("a", "b")
    assert verifier.verify(backend.sign_jwt(hmac_key, claims(scope=None)), now=NOW).scopes == ()
    assert verifier.verify(backend.sign_jwt(hmac_key, claims(scope="a  b ")), now=NOW).scopes == ("a", "b")
    assert verifier.verify(backend.sign_jwt(hmac_key, claims(scope="x", scp=["y"])), now=NOW).scopes == ("x",)


def test_no_sub_gives_no_subject(backend, verifier, hmac_key):
    assert verifier.verify(backend.sign_jwt(hmac_key, claims(sub=None)), now=NOW).subject is None


def test_aud_list_containing_ours(backend, verifier, hmac_key):
    assert verifier.verify(backend.sign_jwt(hmac_key, claims(aud=["https://other", AUD])), now=NOW).audience == AUD


def test_verifier_takes_a_jwks_dict(backend, hmac_key, ed_key):
    jwks = {"keys": [hmac_key.to_jwk(private=True), ed_key.public_key().to_jwk()]}
    verifier = backend.JwtVerifier(jwks, issuer=ISS, audience=AUD)
    assert verifier.verify(backend.sign_jwt(ed_key, claims()), now=NOW).subject == "alice"


def test_token_without_kid_uses_the_only_fitting_key(backend, verifier, hmac_key, ed_key):
    for key in (hmac_key, ed_key):
        assert verifier.verify(backend.sign_jwt(key, claims(), headers={"kid": None}), now=NOW).subject == "alice"


# ---- Interop with PyJWT --------------------------------------------------------------------------


def test_pyjwt_hs256_token_verifies(backend, verifier):
    token = pyjwt.encode(claims(), SECRET, algorithm="HS256", headers={"kid": "hk"})
    assert verifier.verify(token, now=NOW).scopes == ("tools.add", "tools.list")


def test_pyjwt_eddsa_token_verifies(backend, verifier):
    token = pyjwt.encode(claims(), CryptoEd25519.from_private_bytes(SEED), algorithm="EdDSA", headers={"kid": "ek"})
    assert verifier.verify(token, now=NOW).subject == "alice"


def test_our_tokens_verify_under_pyjwt(backend, hmac_key, ed_key):
    live = claims(exp=int(time.time()) + 600, iat=int(time.time()))
    decoded = pyjwt.decode(backend.sign_jwt(hmac_key, live), SECRET, algorithms=["HS256"], audience=AUD, issuer=ISS)
    assert decoded == live
    public = CryptoEd25519.from_private_bytes(SEED).public_key()
    decoded = pyjwt.decode(backend.sign_jwt(ed_key, live), public, algorithms=["EdDSA"], audience=AUD, issuer=ISS)
    assert decoded == live


def test_pyjwt_jwks_is_read(backend):
    crypto_key = CryptoEd25519.generate()
    jwk = pyjwt.algorithms.OKPAlgorithm.to_jwk(crypto_key.public_key(), as_dict=True) | {"kid": "idp-1", "use": "sig"}
    oct_jwk = pyjwt.algorithms.HMACAlgorithm.to_jwk(SECRET, as_dict=True) | {"kid": "idp-2"}
    verifier = backend.JwtVerifier({"keys": [jwk, oct_jwk]}, issuer=ISS, audience=AUD)
    token = pyjwt.encode(claims(), crypto_key, algorithm="EdDSA", headers={"kid": "idp-1"})
    assert verifier.verify(token, now=NOW).subject == "alice"
    token = pyjwt.encode(claims(), SECRET, algorithm="HS256", headers={"kid": "idp-2"})
    assert verifier.verify(token, now=NOW).subject == "alice"


# ---- Attack catalogue ----------------------------------------------------------------------------


def test_alg_none(backend, verifier):
    token = craft({"alg": "none", "typ": "JWT"}, claims(), signature=b"\x00")
    assert_refused(verifier, token, "algorithm not allowed")


def test_alg_none_with_empty_signature_segment(backend, verifier):
    h = b64u(orjson.dumps({"alg": "none"}))
    p = b64u(orjson.dumps(claims()))
    assert_refused(verifier, f"{h}.{p}.", "malformed token")


def test_hs256_keyed_with_an_ed25519_public_keys_bytes(backend, ed_key):
    public = ed_key.public_key()
    verifier = backend.JwtVerifier(backend.KeyRing([public]), issuer=ISS, audience=AUD)
    raw = backend.b64url_decode(public.to_jwk()["x"])
    forger = backend.HmacKey("ek", raw)
    assert_refused(verifier, craft({"alg": "HS256", "kid": "ek"}, claims(), forger), "algorithm does not match the key")
    # and without a kid there is no HMAC key to pick at all
    assert_refused(verifier, craft({"alg": "HS256"}, claims(), forger), "unknown key id")


def test_wrong_alg_for_the_kid(backend, verifier, ed_key):
    token = craft({"alg": "EdDSA", "kid": "hk"}, claims(), ed_key)
    assert_refused(verifier, token, "algorithm does not match the key")


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
def test_an_asymmetric_alg_naming_an_hmac_key(backend, verifier, hmac_key, alg):
    # RS256/PS256/ES256 are implemented, but an HMAC key verifies HS256 only.
    assert_refused(verifier, craft({"alg": alg, "kid": "hk"}, claims(), hmac_key), "algorithm does not match the key")


def test_alg_outside_the_allow_list(backend, hmac_key):
    verifier = backend.JwtVerifier(backend.KeyRing([hmac_key]), issuer=ISS, audience=AUD, algorithms=("EdDSA",))
    assert_refused(verifier, backend.sign_jwt(hmac_key, claims()), "algorithm not allowed")


@pytest.mark.parametrize("alg", ["RS384", "HS512", "hs256", "", None, 1])
def test_unsupported_alg_values(backend, verifier, hmac_key, alg):
    assert_refused(verifier, craft({"alg": alg, "kid": "hk"}, claims(), hmac_key), "algorithm not allowed")


@pytest.mark.parametrize("algorithms", [("none",), ("HS256", "RS384"), ("HS512",)])
def test_verifier_refuses_unknown_algorithms(backend, hmac_key, algorithms):
    with pytest.raises(ValueError):
        backend.JwtVerifier(backend.KeyRing([hmac_key]), issuer=ISS, audience=AUD, algorithms=algorithms)


def test_unknown_kid(backend, verifier, hmac_key):
    assert_refused(verifier, craft({"alg": "HS256", "kid": "nobody"}, claims(), hmac_key), "unknown key id")


def test_no_kid_with_two_fitting_keys(backend, hmac_key):
    ring = backend.KeyRing([hmac_key, backend.HmacKey("hk2", b"another secret of thirty-two bytes")])
    verifier = backend.JwtVerifier(ring, issuer=ISS, audience=AUD)
    assert_refused(verifier, backend.sign_jwt(hmac_key, claims(), headers={"kid": None}), "token has no kid")


def test_kid_not_a_string(backend, verifier, hmac_key):
    assert_refused(verifier, craft({"alg": "HS256", "kid": 7}, claims(), hmac_key), "malformed token")


def test_crit_header(backend, verifier, hmac_key):
    token = craft({"alg": "HS256", "kid": "hk", "crit": ["b64"], "b64": False}, claims(), hmac_key)
    assert_refused(verifier, token, "unsupported critical header")


def test_bad_signature(backend, verifier, hmac_key):
    token = backend.sign_jwt(hmac_key, claims())
    h, _, s = token.split(".")
    forged = f"{h}.{b64u(orjson.dumps(claims(scope='admin')))}.{s}"
    assert_refused(verifier, forged, "bad signature")


def test_ed25519_non_canonical_s(backend, verifier, ed_key):
    token = backend.sign_jwt(ed_key, claims())
    h, p, s = token.split(".")
    sig = backend.b64url_decode(s)
    malleated = sig[:32] + (int.from_bytes(sig[32:], "little") + L).to_bytes(32, "little")
    assert_refused(verifier, f"{h}.{p}.{b64u(malleated)}", "bad signature")


def test_expired(backend, verifier, hmac_key):
    token = backend.sign_jwt(hmac_key, claims(exp=NOW - 31, iat=NOW - 600))
    assert_refused(verifier, token, "token expired")


def test_expiry_leeway_boundary(backend, verifier, hmac_key):
    token = backend.sign_jwt(hmac_key, claims(exp=NOW, iat=NOW - 600))
    assert verifier.verify(token, now=NOW + 29.5).subject == "alice"
    assert_refused(verifier, token, "token expired", now=NOW + 30)


def test_nbf_in_the_future(backend, verifier, hmac_key):
    token = backend.sign_jwt(hmac_key, claims(nbf=NOW + 31))
    assert_refused(verifier, token, "token not yet valid")
    assert verifier.verify(backend.sign_jwt(hmac_key, claims(nbf=NOW + 30)), now=NOW).subject == "alice"


def test_iat_in_the_future(backend, verifier, hmac_key):
    assert_refused(verifier, backend.sign_jwt(hmac_key, claims(iat=NOW + 31)), "token issued in the future")


def test_non_numeric_nbf_or_iat(backend, verifier, hmac_key):
    assert_refused(verifier, backend.sign_jwt(hmac_key, claims(nbf="soon")), "malformed token")
    assert_refused(verifier, backend.sign_jwt(hmac_key, claims(iat=True)), "malformed token")


def test_wrong_issuer(backend, verifier, hmac_key):
    assert_refused(verifier, backend.sign_jwt(hmac_key, claims(iss="https://evil.example")), "wrong issuer")
    assert_refused(verifier, backend.sign_jwt(hmac_key, claims(iss=None)), "wrong issuer")


def test_wrong_audience(backend, verifier, hmac_key):
    assert_refused(verifier, backend.sign_jwt(hmac_key, claims(aud="https://other.example/mcp")), "wrong audience")
    assert_refused(verifier, backend.sign_jwt(hmac_key, claims(aud=["https://a", "https://b"])), "wrong audience")
    assert_refused(verifier, backend.sign_jwt(hmac_key, claims(aud=None)), "wrong audience")


@pytest.mark.parametrize("exp", [None, "2030-01-01", True, [NOW + 600]])
def test_missing_or_non_numeric_exp(backend, verifier, hmac_key, exp):
    payload = claims(exp=None)
    if exp is not None:
        payload["exp"] = exp
    assert_refused(verifier, backend.sign_jwt(hmac_key, payload), "token has no exp")


def test_padded_base64(backend, verifier, hmac_key):
    h, p, s = backend.sign_jwt(hmac_key, claims(sub="ab")).split(".")
    padded = [part + "=" * (-len(part) % 4) for part in (h, p, s)]
    assert any(a != b for a, b in zip(padded, (h, p, s), strict=True))
    assert_refused(verifier, ".".join(padded), "malformed token")


def test_standard_alphabet_base64(backend, verifier, hmac_key):
    token = backend.sign_jwt(hmac_key, claims())
    h, p, s = token.split(".")
    converted = s.replace("-", "+").replace("_", "/")
    if converted == s:  # make sure a `+` or `/` is present
        converted = "+" + s[1:]
    assert_refused(verifier, f"{h}.{p}.{converted}", "malformed token")


@pytest.mark.parametrize("shape", ["two", "four", "empty-middle", "empty"])
def test_wrong_number_of_segments(backend, verifier, hmac_key, shape):
    h, p, s = backend.sign_jwt(hmac_key, claims()).split(".")
    token = {"two": f"{h}.{p}", "four": f"{h}.{p}.{s}.{s}", "empty-middle": f"{h}..{s}", "empty": ""}[shape]
    assert_refused(verifier, token, "malformed token")


@pytest.mark.parametrize(
    "token", [None, b"abc.def.ghi", 12, ["a", "b", "c"], "not a token", "a.b.c", "\u00e9.\u00e9.\u00e9", " " + "x" * 10]
)
def test_garbage_tokens(backend, verifier, token):
    assert_refused(verifier, token, "malformed token")


def test_oversize_token(backend, verifier, hmac_key):
    token = backend.sign_jwt(hmac_key, claims(pad="x" * 9000))
    assert len(token) > 8192
    assert_refused(verifier, token, "malformed token")


def test_header_or_payload_not_a_json_object(backend, verifier, hmac_key):
    assert_refused(verifier, craft(b"[1]", claims(), hmac_key), "malformed token")
    assert_refused(verifier, craft(b"{not json", claims(), hmac_key), "malformed token")
    assert_refused(verifier, craft({"alg": "HS256", "kid": "hk"}, b"[]", hmac_key), "malformed token")
    assert_refused(verifier, craft({"alg": "HS256", "kid": "hk"}, b"\xff\xfe", hmac_key), "malformed token")


def test_duplicate_keys_in_header_or_payload(backend, verifier, hmac_key):
    header = b'{"alg":"HS256","kid":"hk","alg":"none"}'
    assert_refused(verifier, craft(header, claims(), hmac_key), "malformed token")
    payload = orjson.dumps(claims())[:-1] + b',"aud":"https://evil.example"}'
    assert_refused(verifier, craft({"alg": "HS256", "kid": "hk"}, payload, hmac_key), "malformed token")


def test_order_bad_signature_before_expiry(backend, verifier, hmac_key):
    h, _, s = backend.sign_jwt(hmac_key, claims(exp=NOW - 3600)).split(".")
    assert_refused(verifier, f"{h}.{b64u(orjson.dumps(claims(exp=NOW - 3601)))}.{s}", "bad signature")


def test_order_alg_before_crit_before_kid(backend, verifier, hmac_key):
    assert_refused(
        verifier,
        craft({"alg": "none", "crit": ["x"], "kid": "nobody"}, claims(), signature=b"x"),
        "algorithm not allowed",
    )
    assert_refused(
        verifier,
        craft({"alg": "HS256", "crit": ["x"], "kid": "nobody"}, claims(), hmac_key),
        "unsupported critical header",
    )


def test_messages_never_echo_the_token(backend, verifier, hmac_key):
    token = backend.sign_jwt(hmac_key, claims(exp=NOW - 3600))
    with pytest.raises(Unauthenticated) as excinfo:
        verifier.verify(token, now=NOW)
    for part in token.split("."):
        assert part not in str(excinfo.value) and part not in excinfo.value.to_bytes().decode()


# ---- Cache ---------------------------------------------------------------------------------------


def test_cache_hit_still_runs_the_time_checks(backend, hmac_key):
    verifier = backend.JwtVerifier(backend.KeyRing([hmac_key]), issuer=ISS, audience=AUD, cache_size=4)
    token = backend.sign_jwt(hmac_key, claims(exp=NOW + 60))
    first = verifier.verify(token, now=NOW)
    assert verifier.verify(token, now=NOW + 1) == first
    assert_refused(verifier, token, "token expired", now=NOW + 90)
    assert_refused(verifier, token, "token expired", now=NOW + 91)


def test_cache_never_serves_a_token_it_did_not_verify(backend, hmac_key):
    verifier = backend.JwtVerifier(backend.KeyRing([hmac_key]), issuer=ISS, audience=AUD, cache_size=1)
    good = backend.sign_jwt(hmac_key, claims())
    other = backend.sign_jwt(hmac_key, claims(sub="bob"))
    assert verifier.verify(good, now=NOW).subject == "alice"
    assert verifier.verify(other, now=NOW).subject == "bob"  # evicts `good`
    h, p, s = good.split(".")
    assert_refused(verifier, f"{h}.{p}.{s[:-2]}AA", "bad signature")
    assert verifier.verify(good, now=NOW).subject == "alice"


def test_cache_respects_nbf_on_a_hit(backend, hmac_key):
    verifier = backend.JwtVerifier(backend.KeyRing([hmac_key]), issuer=ISS, audience=AUD, cache_size=4)
    token = backend.sign_jwt(hmac_key, claims(nbf=NOW))
    assert verifier.verify(token, now=NOW).subject == "alice"
    assert_refused(verifier, token, "token not yet valid", now=NOW - 31)


# ---- Only our errors, whatever the input ---------------------------------------------------------


segment = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/. ", max_size=40)


@given(st.one_of(st.text(max_size=200), segment, st.lists(segment, min_size=3, max_size=3).map(".".join)))
def test_garbage_never_raises_anything_but_unauthenticated(backend, token):
    ring = backend.KeyRing([backend.HmacKey("hk", SECRET), backend.Ed25519PrivateKey("ek", SEED).public_key()])
    verifier = backend.JwtVerifier(ring, issuer=ISS, audience=AUD)
    with pytest.raises(FastpathError) as excinfo:
        verifier.verify(token, now=NOW)
    assert isinstance(excinfo.value, Unauthenticated) and excinfo.value.code == -32010


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_garbage_json_parts_never_raise_anything_but_unauthenticated(backend, header, payload):
    ring = backend.KeyRing([backend.HmacKey("hk", SECRET), backend.Ed25519PrivateKey("ek", SEED).public_key()])
    verifier = backend.JwtVerifier(ring, issuer=ISS, audience=AUD)
    key = backend.HmacKey("hk", SECRET)
    try:
        verifier.verify(craft(header, payload, key), now=NOW)
    except FastpathError as exc:
        assert isinstance(exc, Unauthenticated) and exc.code == -32010


@given(st.data())
def test_mutated_valid_tokens_never_raise_anything_but_unauthenticated(backend, data):
    key = backend.HmacKey("hk", SECRET)
    verifier = backend.JwtVerifier(backend.KeyRing([key]), issuer=ISS, audience=AUD)
    token = list(backend.sign_jwt(key, claims()))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(token) - 1))
        token[index] = data.draw(st.sampled_from("A_-.=+/ \u00e9\x00"))
    mutated = "".join(token)
    try:
        verifier.verify(mutated, now=NOW)
    except FastpathError as exc:
        assert isinstance(exc, Unauthenticated) and exc.code == -32010


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
header_values = st.dictionaries(
    st.sampled_from(["alg", "kid", "crit", "typ"]),
    st.one_of(st.sampled_from(["HS256", "EdDSA", "hk", "ek", "none"]), json_values),
)
claim_values = st.dictionaries(
    st.sampled_from(["exp", "nbf", "iat", "iss", "aud", "sub", "scope", "scp"]),
    st.one_of(st.sampled_from([NOW, NOW + 600, NOW - 600, ISS, AUD, [AUD], "a b"]), json_values),
)


@given(header_values, claim_values)
def test_type_confused_claims_never_raise_anything_but_unauthenticated(backend, header, payload):
    key = backend.HmacKey("hk", SECRET)
    verifier = backend.JwtVerifier(backend.KeyRing([key]), issuer=ISS, audience=AUD, cache_size=2)
    try:
        principal = verifier.verify(craft(header, payload, key), now=NOW)
    except FastpathError as exc:
        assert isinstance(exc, Unauthenticated) and exc.code == -32010
    else:
        assert principal.issuer == ISS and principal.audience == AUD and isinstance(principal.scopes, tuple)


# ---- Minting errors ------------------------------------------------------------------------------


def test_sign_jwt_refuses_a_public_key_and_a_misfit_alg(backend, hmac_key, ed_key):
    from mcp_fastpath.errors import InvalidKey

    with pytest.raises(InvalidKey):
        backend.sign_jwt(ed_key.public_key(), claims())
    with pytest.raises(InvalidKey):
        backend.sign_jwt(hmac_key, claims(), headers={"alg": "EdDSA"})
    with pytest.raises(InvalidKey):
        backend.sign_jwt(ed_key, claims(), headers={"alg": "none"})


def test_sign_jwt_refuses_non_finite_numbers(backend, hmac_key):
    with pytest.raises(Unauthenticated) as excinfo:
        backend.sign_jwt(hmac_key, claims(exp=float("inf")))
    assert excinfo.value.code == -32010 and excinfo.value.message.startswith("message is not I-JSON: ")
