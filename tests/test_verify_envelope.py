"""The signed envelope `dev.mcp-fastpath/sig` and RFC 8785 (docs/verification.md, Signed envelope).

Every test runs on both backends through the `backend` fixture; each attack has one test and
asserts the exact code, HTTP status and message.
"""

from __future__ import annotations

import copy
import math

import orjson
import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st
from mcp_fastpath.errors import Rejection, Unauthenticated

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SIG = "dev.mcp-fastpath/sig"
SECRET = b"0123456789abcdef0123456789abcdef"
AUD = "https://mcp.example.com/mcp"


def message(**arguments) -> dict:
    return {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {
            "name": "add",
            "arguments": arguments or {"a": 1, "b": 2},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {"sampling": {}},
            },
        },
    }


def b64u(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def hmac_key(backend):
    return backend.HmacKey("hk", SECRET)


@pytest.fixture
def ed_key(backend):
    return backend.Ed25519PrivateKey("ek", bytes(range(32)))


@pytest.fixture(params=["hmac", "ed25519"])
def key(request, hmac_key, ed_key):
    return hmac_key if request.param == "hmac" else ed_key


@pytest.fixture
def ring(backend, hmac_key, ed_key):
    return backend.KeyRing([hmac_key, ed_key.public_key()])


def signed_body(backend, key, msg=None, *, audience=AUD, now=NOW, nonce=None) -> bytes:
    return backend.EnvelopeSigner(key, audience=audience).sign_bytes(msg or message(), now=now, nonce=nonce)


def decoded(backend, body: bytes):
    return backend.decode(body)


def rejected(excinfo, text: str, *, code: int = -32010, status: int = 401) -> None:
    exc = excinfo.value
    assert isinstance(exc, Unauthenticated)
    assert exc.code == code
    assert exc.http_status == status
    assert exc.message == text, exc.message


def edit(body: bytes, change) -> bytes:
    """Re-serialize the signed body after `change(tree)` (no re-signing)."""
    tree = orjson.loads(body)
    change(tree)
    return orjson.dumps(tree)


def envelope(tree: dict) -> dict:
    return tree["params"]["_meta"][SIG]


# ---- Round trips ---------------------------------------------------------------------------------


def test_sign_and_verify_round_trip(backend, key, ring):
    body = signed_body(backend, key, nonce=b"\x01" * 16)
    info = backend.EnvelopeVerifier(ring, audience=AUD).verify(decoded(backend, body), now=NOW)
    assert info == backend.SignatureInfo(key.kid, key.alg, int(NOW * 1000), b64u(b"\x01" * 16), AUD)
    assert (info.kid, info.alg, info.iat, info.nonce, info.aud) == (
        key.kid,
        key.alg,
        int(NOW * 1000),
        b64u(b"\x01" * 16),
        AUD,
    )


def test_envelope_members_are_exactly_the_contract(backend, key):
    signed = backend.EnvelopeSigner(key, audience=AUD).sign(message(), now=NOW)
    env = signed["params"]["_meta"][SIG]
    assert set(env) == {"v", "alg", "kid", "iat", "nonce", "aud", "sig"}
    assert env["v"] == 1 and env["alg"] == key.alg and env["kid"] == key.kid and env["iat"] == 1_767_225_600_000
    assert len(backend.b64url_decode(env["nonce"])) == 16
    assert len(backend.b64url_decode(env["sig"])) == (32 if key.alg == "hmac-sha256" else 64)
    unsigned = backend.EnvelopeSigner(key).sign(message(), now=NOW)["params"]["_meta"][SIG]
    assert "aud" not in unsigned


def test_sign_does_not_mutate_and_nonces_are_fresh(backend, key):
    original = message()
    before = copy.deepcopy(original)
    signer = backend.EnvelopeSigner(key)
    one = signer.sign(original, now=NOW)
    two = signer.sign(original, now=NOW)
    assert original == before
    assert envelope(one)["nonce"] != envelope(two)["nonce"]
    assert orjson.loads(signer.sign_bytes(original, now=NOW, nonce=b"\x02" * 16)) == signer.sign(
        original, now=NOW, nonce=b"\x02" * 16
    )


def test_sign_creates_params_and_meta(backend, key, ring):
    signed = backend.EnvelopeSigner(key).sign({"jsonrpc": "2.0", "id": 1, "method": "ping"}, now=NOW)
    assert set(signed["params"]["_meta"]) == {SIG}
    info = backend.EnvelopeVerifier(ring).verify(signed, now=NOW)
    assert info.kid == key.kid


def test_resigning_replaces_the_envelope(backend, key, ring):
    signer = backend.EnvelopeSigner(key)
    first = signer.sign(message(), now=NOW - 30)
    second = signer.sign(first, now=NOW)
    assert envelope(second)["iat"] == int(NOW * 1000)
    assert backend.EnvelopeVerifier(ring).verify(backend.decode(orjson.dumps(second)), now=NOW).iat == int(NOW * 1000)


def test_signed_response_round_trip(backend, key, ring):
    response = {"jsonrpc": "2.0", "id": 7, "result": {"content": [{"type": "text", "text": "3"}]}}
    signed = backend.EnvelopeSigner(key).sign_response(response, now=NOW)
    assert SIG in signed["result"]["_meta"] and "params" not in signed
    verifier = backend.EnvelopeVerifier(ring)
    assert verifier.verify(signed, now=NOW).kid == key.kid
    as_object = backend.decode(orjson.dumps(signed))  # headers=None lets a response through
    assert verifier.verify(as_object, now=NOW).kid == key.kid
    tampered = copy.deepcopy(signed)
    tampered["result"]["content"][0]["text"] = "4"
    with pytest.raises(Unauthenticated) as excinfo:
        verifier.verify(tampered, now=NOW)
    rejected(excinfo, "bad signature")


def test_envelopes_verify_across_backends(backend, pure, key):
    # Signed by this backend, verified by the pure twin, and the other way round.
    other_key = (
        pure.HmacKey("hk", SECRET) if key.alg == "hmac-sha256" else pure.Ed25519PrivateKey("ek", bytes(range(32)))
    )
    body = signed_body(backend, key)
    assert pure.EnvelopeVerifier(pure.KeyRing([other_key])).verify(pure.decode(body), now=NOW).kid == key.kid
    body = signed_body(pure, other_key)
    assert backend.EnvelopeVerifier(backend.KeyRing([key])).verify(backend.decode(body), now=NOW).kid == key.kid


# ---- Signed bytes and JCS ------------------------------------------------------------------------


def test_signing_bytes_are_prefix_plus_jcs_without_sig(backend, key):
    signed = backend.EnvelopeSigner(key, audience=AUD).sign(message(x=1.5, s="é\n"), now=NOW)
    expected = copy.deepcopy(signed)
    del expected["params"]["_meta"][SIG]["sig"]
    assert backend.signing_bytes(signed) == b"mcp-fastpath/sig/v1\n" + rfc8785.dumps(expected)
    assert "sig" in signed["params"]["_meta"][SIG]  # not mutated


def test_signing_bytes_of_a_response_leave_out_result_sig(backend, key):
    signed = backend.EnvelopeSigner(key).sign_response({"jsonrpc": "2.0", "id": 1, "result": {"ok": True}}, now=NOW)
    expected = copy.deepcopy(signed)
    del expected["result"]["_meta"][SIG]["sig"]
    assert backend.signing_bytes(signed) == b"mcp-fastpath/sig/v1\n" + rfc8785.dumps(expected)


i_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=25,
)


@given(i_json)
def test_jcs_matches_rfc8785_package(backend, value):
    assert backend.canonicalize(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    "bits",
    [
        0x0000000000000001,
        0x7FEFFFFFFFFFFFFF,
        0x4340000000000000,
        0x44B52D02C7E14AF6,
        0x444B1AE4D6E2EF50,
        0x3EB0C6F7A0B5ED8D,
        0xBECBF647612F3696,
    ],
)
def test_jcs_rfc8785_number_table(backend, bits):
    import struct

    x = struct.unpack("<d", struct.pack("<Q", bits))[0]
    assert backend.canonicalize(x) == rfc8785.dumps(x)


def test_jcs_sorts_by_utf16_code_units(backend):
    value = {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "\u00f6": 7}
    assert backend.canonicalize(value) == rfc8785.dumps(value)
    assert backend.canonicalize(value).decode().index("\U0001f600") < backend.canonicalize(value).decode().index(
        "\ufb33"
    )


def test_jcs_bool_is_not_an_integer(backend):
    assert backend.canonicalize([True, 1, False, 0, 1.0, -0.0]) == b"[true,1,false,0,1,0]"


@pytest.mark.parametrize(
    "value", [2**53, -(2**53), 2**63 - 1, {"deep": [{"n": 2**60}]}, math.nan, math.inf, -math.inf, [1.0, math.nan]]
)
def test_jcs_refuses_non_i_json(backend, value):
    with pytest.raises(Unauthenticated) as excinfo:
        backend.canonicalize(value)
    assert excinfo.value.code == -32010
    assert excinfo.value.message.startswith("message is not I-JSON: ")


def test_jcs_accepts_the_i_json_edges(backend):
    assert (
        backend.canonicalize([2**53 - 1, -(2**53 - 1), 2.0**60])
        == b"[9007199254740991,-9007199254740991,1152921504606847000]"
    )


def test_signing_a_message_with_a_big_integer_is_refused(backend, key):
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeSigner(key).sign(message(n=2**53), now=NOW)
    assert excinfo.value.message.startswith("message is not I-JSON: ")


# ---- Step 1: unsigned ----------------------------------------------------------------------------


def test_unsigned_request_is_refused_when_required(backend, ring):
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring).verify(backend.decode(orjson.dumps(message())), now=NOW)
    rejected(excinfo, "request is not signed")
    assert excinfo.value.headers["WWW-Authenticate"].startswith("Bearer")


def test_unsigned_request_passes_when_not_required(backend, ring):
    assert (
        backend.EnvelopeVerifier(ring, require=False).verify(backend.decode(orjson.dumps(message())), now=NOW) is None
    )


def test_not_required_still_verifies_a_signed_request(backend, ring, key):
    body = edit(signed_body(backend, key), lambda t: t["params"]["arguments"].update(a=100))
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring, require=False).verify(backend.decode(body), now=NOW)
    rejected(excinfo, "bad signature")


# ---- Step 2: shape -------------------------------------------------------------------------------


def _set(member, value):
    return lambda t: envelope(t).__setitem__(member, value)


def _drop(member):
    return lambda t: envelope(t).pop(member)


@pytest.mark.parametrize(
    ("change", "member"),
    [
        (lambda t: t["params"]["_meta"].__setitem__(SIG, "a string"), SIG),
        (lambda t: t["params"]["_meta"].__setitem__(SIG, [1]), SIG),
        (_set("extra", 1), "unexpected member"),
        (_set("v", 2), "v"),
        (_set("v", "1"), "v"),
        (_set("v", True), "v"),
        (_set("v", 1.0), "v"),
        (_drop("v"), "v"),
        (_set("alg", 1), "alg"),
        (_drop("alg"), "alg"),
        (_set("kid", None), "kid"),
        (_set("iat", "1767225600000"), "iat"),
        (_set("iat", 1767225600000.5), "iat"),
        (_set("iat", True), "iat"),
        (_drop("iat"), "iat"),
        (_set("nonce", b64u(b"\x00" * 15)), "nonce"),
        (_set("nonce", b64u(b"\x00" * 17)), "nonce"),
        (_set("nonce", b64u(b"\x00" * 16) + "=="), "nonce"),
        (_set("nonce", "+/" + b64u(b"\xff" * 16)[2:]), "nonce"),
        (_set("nonce", 16), "nonce"),
        (_drop("nonce"), "nonce"),
        (_set("aud", 1), "aud"),
        (_set("aud", None), "aud"),
        (_drop("sig"), "sig"),
        (_set("sig", 1), "sig"),
        (lambda t: envelope(t).__setitem__("sig", envelope(t)["sig"] + "="), "sig"),
        (lambda t: envelope(t).__setitem__("sig", envelope(t)["sig"] + " "), "sig"),
    ],
)
def test_malformed_envelope(backend, ring, key, change, member):
    body = edit(signed_body(backend, key), change)
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring, audience=AUD).verify(backend.decode(body), now=NOW)
    rejected(excinfo, f"malformed signature envelope: {member}")


# ---- Steps 3-4: key and algorithm ----------------------------------------------------------------


def test_unknown_kid(backend, ring, key):
    body = edit(signed_body(backend, key), _set("kid", "nobody"))
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring).verify(backend.decode(body), now=NOW)
    rejected(excinfo, "unknown key id")


def test_alg_field_changed_to_the_other_algorithm(backend, ring, key):
    other = "ed25519" if key.alg == "hmac-sha256" else "hmac-sha256"
    body = edit(signed_body(backend, key), _set("alg", other))
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring).verify(backend.decode(body), now=NOW)
    rejected(excinfo, "algorithm does not match the key")


def test_hmac_envelope_keyed_with_an_ed25519_public_key(backend, ed_key):
    # Algorithm confusion: an attacker HMACs with the public key bytes and claims the Ed25519 kid.
    public = ed_key.public_key()
    forger = backend.HmacKey(public.kid, backend.b64url_decode(public.to_jwk()["x"]))
    body = signed_body(backend, forger)
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(backend.KeyRing([public])).verify(backend.decode(body), now=NOW)
    rejected(excinfo, "algorithm does not match the key")


def test_kid_changed_to_another_key_of_the_same_type(backend, key):
    twin = (
        backend.HmacKey("other", b"z" * 32) if key.alg == "hmac-sha256" else backend.Ed25519PrivateKey.generate("other")
    )
    ring = backend.KeyRing([key, twin])
    body = edit(signed_body(backend, key), _set("kid", "other"))
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring).verify(backend.decode(body), now=NOW)
    rejected(excinfo, "bad signature")


def test_same_kid_different_key(backend, key):
    impostor = (
        backend.HmacKey(key.kid, b"y" * 32) if key.alg == "hmac-sha256" else backend.Ed25519PrivateKey.generate(key.kid)
    )
    body = signed_body(backend, impostor)
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(backend.KeyRing([key])).verify(backend.decode(body), now=NOW)
    rejected(excinfo, "bad signature")


# ---- Step 5: I-JSON ------------------------------------------------------------------------------


def test_integer_beyond_2_53_in_a_signed_body(backend, ring, key):
    body = signed_body(backend, key).replace(b'"a":1', b'"a":9007199254740993')
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring).verify(backend.decode(body), now=NOW)
    assert excinfo.value.code == -32010 and excinfo.value.http_status == 401
    assert excinfo.value.message.startswith("message is not I-JSON: ")


# ---- Step 6: signature over every covered field --------------------------------------------------


COVERED = {
    "argument": lambda t: t["params"]["arguments"].__setitem__("a", 2),
    "added argument": lambda t: t["params"]["arguments"].__setitem__("c", 0),
    "id": lambda t: t.__setitem__("id", 8),
    "id type": lambda t: t.__setitem__("id", "7"),
    "name": lambda t: t["params"].__setitem__("name", "sub"),
    "method": lambda t: t.__setitem__("method", "prompts/get"),
    "another _meta member": lambda t: t["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"].__setitem__(
        "roots", {}
    ),
    "added _meta member": lambda t: t["params"]["_meta"].__setitem__("dev.mcp-fastpath/token", "x"),
    "iat": lambda t: envelope(t).__setitem__("iat", envelope(t)["iat"] + 1),
    "nonce": lambda t: envelope(t).__setitem__("nonce", b64u(b"\x09" * 16)),
    "aud": lambda t: envelope(t).__setitem__("aud", "https://evil.example/mcp"),
    "aud removed": lambda t: envelope(t).pop("aud"),
}


@pytest.mark.parametrize("field", list(COVERED))
def test_changing_a_covered_field_breaks_the_signature(backend, ring, key, field):
    body = edit(signed_body(backend, key), COVERED[field])
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring).verify(backend.decode(body), now=NOW)
    rejected(excinfo, "bad signature")


def test_signature_moved_to_another_message(backend, ring, key):
    donor = orjson.loads(signed_body(backend, key, message(a=1, b=2)))
    target = message(a=1000, b=2)
    target["params"]["_meta"][SIG] = envelope(donor)
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring).verify(backend.decode(orjson.dumps(target)), now=NOW)
    rejected(excinfo, "bad signature")


def test_truncated_or_empty_signature(backend, ring, key):
    for sig in ("", "AAAA"):
        body = edit(signed_body(backend, key), _set("sig", sig))
        with pytest.raises(Unauthenticated) as excinfo:
            backend.EnvelopeVerifier(ring).verify(backend.decode(body), now=NOW)
        rejected(excinfo, "bad signature")


def test_ed25519_non_canonical_s_in_an_envelope(backend, ring, ed_key):
    L = 2**252 + 27742317777372353535851937790883648493

    def malleate(tree):
        sig = backend.b64url_decode(envelope(tree)["sig"])
        s = int.from_bytes(sig[32:], "little") + L
        envelope(tree)["sig"] = b64u(sig[:32] + s.to_bytes(32, "little"))

    body = edit(signed_body(backend, ed_key), malleate)
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring).verify(backend.decode(body), now=NOW)
    rejected(excinfo, "bad signature")


def test_duplicate_key_smuggling_is_refused_by_decode(backend, key):
    body = signed_body(backend, key)
    smuggled = body.replace(b'"arguments":{"a":1,"b":2}', b'"arguments":{"a":1,"b":2},"arguments":{"a":666,"b":2}')
    assert smuggled != body
    with pytest.raises(Rejection) as excinfo:
        backend.decode(smuggled)
    assert excinfo.value.code == -32700 and excinfo.value.http_status == 400


# ---- Steps 7-8: time and audience ----------------------------------------------------------------


@pytest.mark.parametrize("offset", [-61.0, 61.0, -3600.0, 86400.0])
def test_stale_or_future_iat(backend, ring, key, offset):
    body = signed_body(backend, key, now=NOW + offset)
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring, max_skew_s=60).verify(backend.decode(body), now=NOW)
    rejected(excinfo, "signature is stale or from the future")


@pytest.mark.parametrize("offset", [-60.0, 0.0, 60.0])
def test_iat_within_the_skew_passes(backend, ring, key, offset):
    body = signed_body(backend, key, now=NOW + offset)
    assert backend.EnvelopeVerifier(ring, max_skew_s=60).verify(backend.decode(body), now=NOW) is not None


def test_wrong_audience(backend, ring, key):
    body = signed_body(backend, key, audience="https://other.example/mcp")
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring, audience=AUD).verify(backend.decode(body), now=NOW)
    rejected(excinfo, "wrong audience")


def test_missing_audience_when_the_verifier_has_one(backend, ring, key):
    body = signed_body(backend, key, audience=None)
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring, audience=AUD).verify(backend.decode(body), now=NOW)
    rejected(excinfo, "wrong audience")


def test_verifier_without_audience_accepts_any(backend, ring, key):
    body = signed_body(backend, key, audience="https://anything.example")
    assert backend.EnvelopeVerifier(ring).verify(backend.decode(body), now=NOW).aud == "https://anything.example"


# ---- Check order (first failure wins) ------------------------------------------------------------


def test_order_unknown_kid_before_alg(backend, ring, key):
    body = edit(signed_body(backend, key), lambda t: envelope(t).update(kid="nobody", alg="rot13"))
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring).verify(backend.decode(body), now=NOW)
    rejected(excinfo, "unknown key id")


def test_order_bad_signature_before_time_and_audience(backend, ring, key):
    body = edit(signed_body(backend, key, now=NOW - 3600, audience="https://other"), lambda t: t.__setitem__("id", 99))
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring, audience=AUD).verify(backend.decode(body), now=NOW)
    rejected(excinfo, "bad signature")


def test_order_stale_before_audience(backend, ring, key):
    body = signed_body(backend, key, now=NOW - 3600, audience="https://other")
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring, audience=AUD).verify(backend.decode(body), now=NOW)
    rejected(excinfo, "signature is stale or from the future")


def test_messages_never_echo_the_signature(backend, ring, key):
    body = edit(signed_body(backend, key), lambda t: t.__setitem__("id", 99))
    sig = orjson.loads(body)["params"]["_meta"][SIG]["sig"]
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring).verify(backend.decode(body), now=NOW)
    assert sig not in str(excinfo.value) and sig not in excinfo.value.to_bytes().decode()


# ---- Signer errors -------------------------------------------------------------------------------


def test_a_public_key_cannot_sign(backend, ed_key):
    from mcp_fastpath.errors import InvalidKey

    with pytest.raises(InvalidKey):
        backend.EnvelopeSigner(ed_key.public_key())


@pytest.mark.parametrize(
    ("msg", "text"),
    [
        (
            {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1]},
            "message cannot be signed: params is not an object",
        ),
        (
            {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"_meta": "x"}},
            "message cannot be signed: _meta is not an object",
        ),
    ],
)
def test_a_message_without_room_for_an_envelope_cannot_be_signed(backend, key, msg, text):
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeSigner(key).sign(msg, now=NOW)
    rejected(excinfo, text)


def test_sign_puts_a_response_envelope_in_result_meta(backend, key, ring):
    signed = backend.EnvelopeSigner(key).sign({"jsonrpc": "2.0", "id": 3, "result": {"x": 1}}, now=NOW)
    assert SIG in signed["result"]["_meta"] and "params" not in signed
    assert backend.EnvelopeVerifier(ring).verify(signed, now=NOW).kid == key.kid


# ---- Which failure is reported when a value has several (docs/verification.md, JCS) ------------
# First what makes the value unreadable as JSON text, in document order (a key that is not a str,
# a value of no JSON type: TypeError; a lone surrogate: not I-JSON), then the I-JSON number rules in
# canonical order.

NOT_UNICODE = "message is not I-JSON: string is not valid Unicode"
BEYOND = "message is not I-JSON: integer beyond \u00b1(2^53 \u2212 1)"
NON_FINITE = "message is not I-JSON: non-finite number"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 2**53, "\ud800": 1}, NOT_UNICODE),  # the number sorts first, the key is read first
        ([2**53, "\ud800"], NOT_UNICODE),
        ({"a": math.nan, "b": "\ud800"}, NOT_UNICODE),
        ([2**53, {1: 2}], TypeError("JSON object keys are str, not int")),
        ([math.inf, {1, 2}], TypeError("set is not a JSON value")),
        ({"b": {1, 2}, "a": "\ud800"}, TypeError("set is not a JSON value")),  # document order, not sorted
        ({"b": "\ud800", "a": {1, 2}}, NOT_UNICODE),
        ({"b": math.nan, "a": 2**53}, BEYOND),  # numbers: canonical order
        ({"a": math.nan, "b": 2**53}, NON_FINITE),
        ([2**70, math.nan], BEYOND),
    ],
)
def test_canonicalize_reports_the_first_failure_by_the_contract(backend, value, expected):
    if isinstance(expected, TypeError):
        with pytest.raises(TypeError) as type_error:
            backend.canonicalize(value)
        assert str(type_error.value) == str(expected)
        return
    with pytest.raises(Unauthenticated) as excinfo:
        backend.canonicalize(value)
    assert excinfo.value.message == expected
    with pytest.raises(Unauthenticated) as excinfo:
        backend.signing_bytes({"jsonrpc": "2.0", "id": 1, "method": "x", "params": {"v": value}})
    assert excinfo.value.message == expected


def test_envelope_strings_must_be_unicode(backend, ring, key):
    """A lone surrogate in `alg`, `kid` or `aud` is a malformed envelope (it cannot have been sent
    as JSON), reported at the shape step before the key is looked up."""
    signed = backend.EnvelopeSigner(key, audience=AUD).sign(message(), now=NOW)
    for member in ("alg", "kid", "aud"):
        tampered = copy.deepcopy(signed)
        tampered["params"]["_meta"][SIG][member] += "\ud800"
        with pytest.raises(Unauthenticated) as excinfo:
            backend.EnvelopeVerifier(ring, audience=AUD).verify(tampered, now=NOW)
        assert excinfo.value.message == f"malformed signature envelope: {member}"


def test_a_key_that_is_not_a_str_is_an_unexpected_envelope_member(backend, ring, key):
    signed = backend.EnvelopeSigner(key, audience=AUD).sign(message(), now=NOW)
    signed["params"]["_meta"][SIG][1] = "x"
    with pytest.raises(Unauthenticated) as excinfo:
        backend.EnvelopeVerifier(ring, audience=AUD).verify(signed, now=NOW)
    assert excinfo.value.message == "malformed signature envelope: unexpected member"
