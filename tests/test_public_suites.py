"""Public test suites, vendored under tests/data/ (sources, commits and licences: tests/data/README.md),
run on both backends (the `backend` fixture): what each suite expects, with our deliberate
divergences listed below, case by case, with the reason.

- JSONTestSuite `test_parsing`: the body parser, reached through `decode` (a parse error is
  -32700; any other outcome means the bytes were read as JSON and then judged as a message).
- Wycheproof Ed25519, HMAC-SHA256, RSA PKCS#1 v1.5 / PSS (2048, SHA-256) and ECDSA P-256 (P1363,
  `r || s`): a vector's message is arbitrary bytes, which a JWS cannot carry as its signing input
  (`base64url(header) "." base64url(payload)`), so these go through the lowest public verification
  API, the keys' own `verify(data, signature)`: the very call the JWT and envelope verifiers make
  at their signature step. The RFC examples below check the JWS layer around it.
- ed25519-speccheck: the 12 edge cases, against our stated policy (docs/verification.md).
- RFC 8785 reference pairs (cyberphone/json-canonicalization `testdata`): `canonicalize`.
- RFC 7515 Appendix A.1 (HS256) and RFC 8037 Appendix A (Ed25519) JWS examples, through
  `JwtVerifier.verify`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp_fastpath import Rejection
from mcp_fastpath.errors import InvalidKey, Unauthenticated

from .helpers import CAPS, PV, V

DATA = Path(__file__).parent / "data"


def _load(*parts: str) -> Any:
    return json.loads((DATA.joinpath(*parts)).read_bytes())


# ==== JSONTestSuite (nst/JSONTestSuite, test_parsing) ================================================

PARSING = DATA / "jsontestsuite" / "test_parsing"
PARSING_FILES = sorted(path.name for path in PARSING.iterdir())

# `y_` files (the JSON is valid) that we refuse on purpose, and why.
Y_REFUSED = {
    "y_object_duplicated_key.json": "duplicate object keys are refused: a body with two `method`s or two "
    "`name`s means different things to different readers (docs/architecture.md, strict parsing)",
    "y_object_duplicated_key_and_value.json": "duplicate object keys are refused, even with equal values",
}

# `n_` files (not JSON) that we accept: none.
N_ACCEPTED: dict[str, str] = {}

# Every `i_` file (implementation-defined), with what both backends do: True = read, False = -32700.
I_OUTCOMES = {
    # Numbers: a literal that overflows a double is refused (it has no I-JSON value, and JCS cannot
    # write infinity back); underflow reads as 0.0 / -0.0; an integer beyond 64 bits reads as a double.
    "i_number_double_huge_neg_exp.json": True,
    "i_number_huge_exp.json": False,
    "i_number_neg_int_huge_exp.json": False,
    "i_number_pos_double_huge_exp.json": False,
    "i_number_real_neg_overflow.json": False,
    "i_number_real_pos_overflow.json": False,
    "i_number_real_underflow.json": True,
    "i_number_too_big_neg_int.json": True,
    "i_number_too_big_pos_int.json": True,
    "i_number_very_big_negative_int.json": True,
    # Text that is not Unicode: lone or inverted surrogate escapes, invalid / overlong / truncated
    # UTF-8, Latin-1, UTF-16 with or without a BOM. A message is UTF-8 JSON text (RFC 8259 §8.1)
    # and I-JSON (RFC 7493 §2.1): every string must be Unicode, or it could not be signed or re-sent.
    "i_object_key_lone_2nd_surrogate.json": False,
    "i_string_1st_surrogate_but_2nd_missing.json": False,
    "i_string_1st_valid_surrogate_2nd_invalid.json": False,
    "i_string_UTF-16LE_with_BOM.json": False,
    "i_string_UTF-8_invalid_sequence.json": False,
    "i_string_UTF8_surrogate_U+D800.json": False,
    "i_string_incomplete_surrogate_and_escape_valid.json": False,
    "i_string_incomplete_surrogate_pair.json": False,
    "i_string_incomplete_surrogates_escape_valid.json": False,
    "i_string_invalid_lonely_surrogate.json": False,
    "i_string_invalid_surrogate.json": False,
    "i_string_invalid_utf-8.json": False,
    "i_string_inverted_surrogates_U+1D11E.json": False,
    "i_string_iso_latin_1.json": False,
    "i_string_lone_second_surrogate.json": False,
    "i_string_lone_utf8_continuation_byte.json": False,
    "i_string_not_in_unicode_range.json": False,
    "i_string_overlong_sequence_2_bytes.json": False,
    "i_string_overlong_sequence_6_bytes.json": False,
    "i_string_overlong_sequence_6_bytes_null.json": False,
    "i_string_truncated-utf-8.json": False,
    "i_string_utf16BE_no_BOM.json": False,
    "i_string_utf16LE_no_BOM.json": False,
    # Structure: nesting deeper than `Limits.max_depth` (64 by default) is refused.
    "i_structure_500_nested_arrays.json": False,
    # A UTF-8 byte order mark is not JSON text (RFC 8259 §8.1: "MUST NOT add a byte order mark").
    "i_structure_UTF-8_BOM_empty_object.json": False,
}


def _parses(backend, raw: bytes) -> bool:
    """True when the parser reads `raw` as JSON, False on a parse error (-32700)."""
    try:
        backend.decode(raw)
    except Rejection as rejection:
        assert rejection.http_status != 413, "no suite file comes near the body size limit"
        return rejection.code != -32700
    return True


def test_jsontestsuite_is_complete():
    kinds = {name[:2] for name in PARSING_FILES}
    assert kinds == {"y_", "n_", "i_"}
    assert len(PARSING_FILES) == 318
    assert set(Y_REFUSED) | set(N_ACCEPTED) <= set(PARSING_FILES)
    assert set(I_OUTCOMES) == {name for name in PARSING_FILES if name.startswith("i_")}


@pytest.mark.parametrize("name", PARSING_FILES)
def test_jsontestsuite_parsing(backend, name):
    raw = (PARSING / name).read_bytes()
    if name.startswith("y_"):
        expected = name not in Y_REFUSED
    elif name.startswith("n_"):
        expected = name in N_ACCEPTED
    else:
        expected = I_OUTCOMES[name]
    assert _parses(backend, raw) is expected


@pytest.mark.parametrize("name", [n for n in PARSING_FILES if n.startswith("y_") and n not in Y_REFUSED])
def test_jsontestsuite_values_read_like_the_standard_library(backend, name):
    """A `y_` document, read inside a request's `arguments`, is the value Python's own reader gives."""
    raw = (PARSING / name).read_bytes()
    expected = json.loads(raw)
    got = backend.decode(_request_with_arguments(raw.strip(b" \t\r\n"))).params["arguments"]
    assert _same_json(got, expected)


def _request_with_arguments(arguments: bytes) -> bytes:
    head = (
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"%s":"%s","%s":{}},"arguments":'
    )
    return head % (PV.encode(), V.encode(), CAPS.encode()) + arguments + b"}}"


def _same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values (a number read as a double beyond 64 bits compares by value)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return type(a) is type(b) and a == b


# ==== Wycheproof (C2SP/wycheproof, testvectors_v1) ===================================================


def _wycheproof(name: str) -> dict[str, Any]:
    suite = _load("wycheproof", name)
    assert suite["numberOfTests"] == sum(len(group["tests"]) for group in suite["testGroups"])
    return suite


def _check_vectors(suite, make_key, *, acceptable: dict[int, bool], refused_keys=()) -> dict[str, int]:
    """Run every vector: valid → True, invalid → False, acceptable → the recorded outcome.
    Returns counts; fails listing every vector that went the other way."""
    wrong = []
    counts = {"valid": 0, "invalid": 0, "acceptable": 0}
    for group in suite["testGroups"]:
        key = make_key(group)
        for case in group["tests"]:
            counts[case["result"]] += 1
            got = key.verify(bytes.fromhex(case["msg"]), bytes.fromhex(case["sig"]))
            assert type(got) is bool
            expected = acceptable[case["tcId"]] if case["result"] == "acceptable" else case["result"] == "valid"
            if got is not expected:
                wrong.append((case["tcId"], case["result"], case["comment"], case["flags"]))
    assert not wrong, wrong
    assert set(acceptable) == {
        case["tcId"] for group in suite["testGroups"] for case in group["tests"] if case["result"] == "acceptable"
    }
    return counts


def test_wycheproof_ed25519(backend):
    suite = _wycheproof("ed25519_test.json")

    def key(group):
        raw = bytes.fromhex(group["publicKey"]["pk"])
        public = backend.Ed25519PublicKey("w", raw)
        assert backend.Ed25519PublicKey("w", group["publicKeyPem"]) == public
        return public

    counts = _check_vectors(suite, key, acceptable={})
    assert counts == {"valid": 88, "invalid": 63, "acceptable": 0}


def test_wycheproof_hmac_sha256(backend):
    """Full-length tags under keys of at least 32 bytes: as Wycheproof says. Two deliberate
    divergences, both RFC 7518 §3.2 rules for HS256:
    - a key shorter than 32 bytes (the 16-byte groups) is refused at construction (`InvalidKey`);
    - a truncated tag (the 128-bit groups) is never accepted, not even the right prefix: a JWS
      HS256 signature is the whole 32-byte tag. (Those vectors' tags are checked to be prefixes of
      what we compute, so the refusal is about length, not a wrong MAC.)"""
    suite = _wycheproof("hmac_sha256_test.json")
    seen = {"full": 0, "truncated": 0, "short-key": 0}
    for group in suite["testGroups"]:
        for case in group["tests"]:
            secret, msg, tag = (bytes.fromhex(case[field]) for field in ("key", "msg", "tag"))
            if group["keySize"] < 256:
                seen["short-key"] += 1
                with pytest.raises(InvalidKey, match="at least 32 bytes"):
                    backend.HmacKey("w", secret)
                continue
            key = backend.HmacKey("w", secret)
            valid = case["result"] == "valid"
            if group["tagSize"] == 256:
                seen["full"] += 1
                assert key.verify(msg, tag) is valid, case["tcId"]
                assert (key.sign(msg) == tag) is valid, case["tcId"]
            else:
                seen["truncated"] += 1
                assert key.verify(msg, tag) is False, case["tcId"]
                assert (key.sign(msg)[: len(tag)] == tag) is valid, case["tcId"]
    assert seen == {"full": 84, "truncated": 84, "short-key": 6}


def test_wycheproof_rsa_pkcs1_2048_sha256(backend):
    """RS256. The one `acceptable` vector (tcId 8, `MissingNull`: a DigestInfo without the NULL
    parameters) is refused: RFC 8017 §9.2 encodes the NULL, and both AWS-LC and OpenSSL compare
    the whole encoding."""
    suite = _wycheproof("rsa_signature_2048_sha256_test.json")
    counts = _check_vectors(
        suite, lambda group: backend.RsaPublicKey("w", group["publicKeyPem"], "RS256"), acceptable={8: False}
    )
    assert counts == {"valid": 9, "invalid": 249, "acceptable": 1}


def test_wycheproof_rsa_pss_2048_sha256_mgf1_32(backend):
    """PS256 (RFC 7518 §3.5: MGF1-SHA-256, 32-byte salt)."""
    suite = _wycheproof("rsa_pss_2048_sha256_mgf1_32_test.json")
    group = suite["testGroups"][0]
    assert (group["sha"], group["mgfSha"], group["sLen"]) == ("SHA-256", "SHA-256", 32)
    counts = _check_vectors(suite, lambda g: backend.RsaPublicKey("w", g["publicKeyPem"], "PS256"), acceptable={})
    assert counts == {"valid": 63, "invalid": 45, "acceptable": 0}


def test_wycheproof_ecdsa_p256_sha256_p1363(backend):
    """ES256: P1363 (`r || s`) is the JWS form (RFC 7518 §3.4). Both S and n − S are accepted
    (Wycheproof's "signature malleability" vectors are valid, and so is our policy)."""
    suite = _wycheproof("ecdsa_secp256r1_sha256_p1363_test.json")

    def key(group):
        public = backend.EcPublicKey("w", group["publicKeyPem"])
        if "publicKeyJwk" in group:  # (the groups from other sources have none)
            assert backend.EcPublicKey("w", group["publicKeyJwk"]) == public
        return public

    counts = _check_vectors(suite, key, acceptable={})
    assert counts == {"valid": 173, "invalid": 89, "acceptable": 0}


# ==== ed25519-speccheck (novifinancial/ed25519-speccheck, cases.json) ================================

# Our policy (docs/verification.md "Keys"): a public key that is small-order or non-canonically
# encoded is refused when the key is built; verification is RFC 8032's cofactorless equation with
# the strict checks of ed25519-dalek's `verify_strict` / libsodium (S < L, R canonical and not of
# small order). So only case 3 verifies: the "Dalek strict" / "LibSodium" row of the suite's table.
SPECCHECK = {
    0: "key refused",  # S = 0, small A and small R
    1: "key refused",  # small A
    2: "rejected",  # small R
    3: "accepted",  # mixed-order A and R, passes both equations
    4: "rejected",  # passes only the cofactored equation
    5: "rejected",  # passes only a cofactored equation with a pre-reduced scalar
    6: "rejected",  # S > L
    7: "rejected",  # S >> L (high bit set)
    8: "rejected",  # non-canonical R, reduced for the hash
    9: "rejected",  # non-canonical R, not reduced for the hash
    10: "key refused",  # non-canonical A (small order), reduced for the hash
    11: "key refused",  # non-canonical A, not reduced for the hash
}


def _speccheck_outcome(backend, case) -> str:
    try:
        key = backend.Ed25519PublicKey("s", bytes.fromhex(case["pub_key"]))
    except InvalidKey:
        return "key refused"
    accepted = key.verify(bytes.fromhex(case["message"]), bytes.fromhex(case["signature"]))
    return "accepted" if accepted else "rejected"


def test_ed25519_speccheck(backend):
    cases = _load("ed25519-speccheck", "cases.json")
    assert len(cases) == 12
    assert {i: _speccheck_outcome(backend, case) for i, case in enumerate(cases)} == SPECCHECK


def test_ed25519_speccheck_through_a_token(backend):
    """Case 3, the one accepted signature, is only valid for its own message; and the refusals
    hold at the JWT layer too: a case-2 signature placed in a token is "bad signature"."""
    cases = _load("ed25519-speccheck", "cases.json")
    key = backend.Ed25519PublicKey("s", bytes.fromhex(cases[2]["pub_key"]))
    verifier = backend.JwtVerifier(backend.KeyRing([key]), issuer="i", audience="a")
    token = "eyJhbGciOiJFZERTQSJ9.e30." + backend.b64url_encode(bytes.fromhex(cases[2]["signature"]))
    with pytest.raises(Unauthenticated) as info:
        verifier.verify(token, now=0)
    assert info.value.message == "bad signature"


# ==== RFC 8785 (cyberphone/json-canonicalization testdata) ===========================================

JCS_NAMES = sorted(path.name for path in (DATA / "json-canonicalization" / "input").iterdir())


def test_jcs_suite_is_complete():
    assert JCS_NAMES == ["arrays.json", "french.json", "structures.json", "unicode.json", "values.json", "weird.json"]
    assert sorted(p.name for p in (DATA / "json-canonicalization" / "output").iterdir()) == JCS_NAMES


@pytest.mark.parametrize("name", JCS_NAMES)
def test_jcs_reference_pairs(backend, name):
    raw = (DATA / "json-canonicalization" / "input" / name).read_bytes()
    expected = (DATA / "json-canonicalization" / "output" / name).read_bytes()
    assert backend.canonicalize(json.loads(raw)) == expected
    # The same input read by our own parser (as a request's arguments) canonicalizes alike.
    arguments = backend.decode(_request_with_arguments(raw)).params["arguments"]
    assert backend.canonicalize(arguments) == expected


# ==== RFC 7515 Appendix A.1 (HS256) ===================================================================

# The JWS of RFC 7515 §A.1.1 (its header and payload hold CR LF and spaces) and the key of §A.1.1.
RFC7515_KEY = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
RFC7515_JWS = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
RFC7515_EXP = 1300819380


def _refusal(verifier, token: str, now: float) -> str:
    with pytest.raises(Unauthenticated) as info:
        verifier.verify(token, now=now)
    return info.value.message


def test_rfc7515_a1_hs256(backend):
    """The example token's signature verifies; the token itself cannot be admitted as it stands:
    its `exp` (2011-03-22) is long past, and it has no `aud`, which a JwtVerifier always requires.
    So the checks are: at the token's own time every step through `iss` passes and the one left is
    the audience ("wrong audience", step 7, after the signature at step 4); today it is "token
    expired" (step 6); with one signature bit flipped it is "bad signature". The same key signs
    the same bytes to the RFC's signature."""
    key = backend.HmacKey("rfc7515", backend.b64url_decode(RFC7515_KEY))
    header, payload, signature = RFC7515_JWS.split(".")
    assert key.sign(f"{header}.{payload}".encode()) == backend.b64url_decode(signature)
    assert key.verify(f"{header}.{payload}".encode(), backend.b64url_decode(signature))

    verifier = backend.JwtVerifier(backend.KeyRing([key]), issuer="joe", audience="https://mcp.example.com")
    assert _refusal(verifier, RFC7515_JWS, now=RFC7515_EXP - 60) == "wrong audience"
    assert _refusal(verifier, RFC7515_JWS, now=1_767_225_600) == "token expired"
    assert _refusal(verifier, RFC7515_JWS, now=RFC7515_EXP + 29) == "wrong audience"  # inside the 30 s leeway
    assert _refusal(verifier, RFC7515_JWS, now=RFC7515_EXP + 30) == "token expired"
    tampered = RFC7515_JWS[:-1] + ("Y" if RFC7515_JWS[-1] != "Y" else "X")
    assert _refusal(verifier, tampered, now=RFC7515_EXP - 60) == "bad signature"
    other_issuer = backend.JwtVerifier(backend.KeyRing([key]), issuer="jane", audience="https://mcp.example.com")
    assert _refusal(other_issuer, RFC7515_JWS, now=RFC7515_EXP - 60) == "wrong issuer"


# ==== RFC 8037 Appendix A (Ed25519) ==================================================================

RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"  # §A.1
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"  # §A.2
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"  # §A.3
RFC8037_JWS = (  # §A.4: {"alg":"EdDSA"} over the payload "Example of Ed25519 signing"
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)


def test_rfc8037_a1_to_a3_keys(backend):
    private = backend.Ed25519PrivateKey("rfc8037", backend.b64url_decode(RFC8037_D))
    assert private.public_bytes == backend.b64url_decode(RFC8037_X)
    # A public JWK without `kid` is given its RFC 7638 thumbprint: §A.3's value.
    ring = backend.KeyRing.from_jwks({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}]})
    assert [key.kid for key in ring] == [RFC8037_THUMBPRINT]


def test_rfc8037_a4_ed25519(backend):
    """The §A.4 signature is reproduced (Ed25519 is deterministic) and verifies. Its payload is
    text, not a JSON claims object, so a JwtVerifier refuses the token after the signature check
    (step 5, "malformed token"); with a signature bit flipped it stops at step 4, "bad signature"."""
    header, payload, signature = RFC8037_JWS.split(".")
    assert backend.b64url_decode(payload) == b"Example of Ed25519 signing"
    signing_input = f"{header}.{payload}".encode()
    private = backend.Ed25519PrivateKey("rfc8037", backend.b64url_decode(RFC8037_D))
    assert private.sign(signing_input) == backend.b64url_decode(signature)
    assert private.public_key().verify(signing_input, backend.b64url_decode(signature))

    ring = backend.KeyRing.from_jwks({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}]})
    verifier = backend.JwtVerifier(ring, issuer="i", audience="a")
    assert _refusal(verifier, RFC8037_JWS, now=0) == "malformed token"
    flipped = bytearray(backend.b64url_decode(signature))
    flipped[0] ^= 1
    tampered = f"{header}.{payload}.{backend.b64url_encode(bytes(flipped))}"
    assert _refusal(verifier, tampered, now=0) == "bad signature"


def test_rfc8037_key_signs_a_token_both_names_verify(backend):
    """The §A.1 key signs a real token under `EdDSA` and `Ed25519`; both verify to a Principal."""
    private = backend.Ed25519PrivateKey("rfc8037", backend.b64url_decode(RFC8037_D))
    ring = backend.KeyRing([private.public_key()])
    verifier = backend.JwtVerifier(ring, issuer="i", audience="a")
    for alg in ("EdDSA", "Ed25519"):
        token = backend.sign_jwt(private, {"iss": "i", "aud": "a", "exp": 100, "sub": "s"}, headers={"alg": alg})
        assert verifier.verify(token, now=50).subject == "s"
