"""Keys, key rings, JWKs, strict base64url and strict Ed25519 (docs/verification.md, Keys).

Every test runs on both backends through the `backend` fixture.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mcp_fastpath.errors import InvalidKey

# ---- A small, independent Edwards25519 model (test side only) ----------------------------------
# Used to prove that the forged signatures below *would* pass a lenient (cofactorless, non-strict)
# verifier, so their rejection shows the strict rules at work, and that the listed points really
# are of small order.

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, -1, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
IDENTITY = (0, 1, 1, 0)


def _x_from_y(y: int, sign: int) -> int | None:
    xx = (y * y - 1) * pow(D * y * y + 1, -1, P) % P
    x = pow(xx, (P + 3) // 8, P)
    if (x * x - xx) % P:
        x = x * SQRT_M1 % P
    if (x * x - xx) % P:
        return None
    if x == 0 and sign:
        return None
    return P - x if (x & 1) != sign else x


def decompress(raw: bytes) -> tuple[int, int, int, int] | None:
    value = int.from_bytes(raw, "little")
    y = value & ((1 << 255) - 1)
    x = _x_from_y(y % P, value >> 255)
    return None if x is None else (x, y % P, 1, x * (y % P) % P)


def compress(point: tuple[int, int, int, int]) -> bytes:
    x, y, z, _ = point
    zi = pow(z, -1, P)
    x, y = x * zi % P, y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def add(p1: tuple[int, int, int, int], p2: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def mul(scalar: int, point: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    result = IDENTITY
    while scalar:
        if scalar & 1:
            result = add(result, point)
        point = add(point, point)
        scalar >>= 1
    return result


def same(p1: tuple[int, int, int, int], p2: tuple[int, int, int, int]) -> bool:
    return (p1[0] * p2[2] - p2[0] * p1[2]) % P == 0 and (p1[1] * p2[2] - p2[1] * p1[2]) % P == 0


G = decompress(bytes.fromhex("5866666666666666666666666666666666666666666666666666666666666666"))


def secret_scalar(seed: bytes) -> int:
    h = bytearray(hashlib.sha512(seed).digest()[:32])
    h[0] &= 248
    h[31] &= 127
    h[31] |= 64
    return int.from_bytes(h, "little")


def lenient_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """Cofactorless verification with none of the strict checks (S not reduced, R/A any order)."""
    a_point = decompress(public)
    r_point = decompress(signature[:32])
    if a_point is None or r_point is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    k = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    return same(mul(s, G), add(r_point, mul(k, a_point)))


def is_small_order(raw: bytes) -> bool:
    point = decompress(raw)
    return point is not None and same(mul(8, point), IDENTITY)


# RFC 8032 §7.1 test vectors 1 and 2.
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
]

# The eight points of order dividing 8 (canonical encodings, both signs where x ≠ 0).
SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",  # identity
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # order 2
    "0000000000000000000000000000000000000000000000000000000000000000",  # order 4
    "0000000000000000000000000000000000000000000000000000000000000080",  # order 4
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",  # order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  # order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",  # order 8
]
# y ≥ p: non-canonical encodings (of y = 0 and y = 1, both small order as well).
NON_CANONICAL = [
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
]

SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def pem_of(raw: bytes, prefix: bytes = SPKI_PREFIX) -> str:
    body = base64.b64encode(prefix + raw).decode()
    return "-----BEGIN PUBLIC KEY-----\n" + body + "\n-----END PUBLIC KEY-----\n"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---- HMAC ----------------------------------------------------------------------------------------


def test_hmac_key_basics(backend):
    key = backend.HmacKey("hk", b"s" * 32)
    assert key.kid == "hk"
    assert key.alg == "hmac-sha256"


@pytest.mark.parametrize("length", [0, 1, 16, 31])
def test_hmac_secret_shorter_than_32_bytes_is_refused(backend, length):
    with pytest.raises(InvalidKey):
        backend.HmacKey("hk", b"s" * length)


def test_hmac_rfc4231_case_6(backend):
    key = backend.HmacKey("hk", b"\xaa" * 131)
    data = b"Test Using Larger Than Block-Size Key - Hash Key First"
    tag = bytes.fromhex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    assert key.sign(data) == tag
    assert key.verify(data, tag)
    assert not key.verify(data, tag[:-1] + bytes([tag[-1] ^ 1]))
    assert not key.verify(data, tag[:16])
    assert not key.verify(data, b"")


@pytest.mark.parametrize("kid", ["", "k" * 257])
def test_kid_must_be_non_empty_and_at_most_256_chars(backend, kid):
    with pytest.raises(InvalidKey):
        backend.HmacKey(kid, b"s" * 32)
    with pytest.raises(InvalidKey):
        backend.Ed25519PrivateKey(kid, b"\x01" * 32)


def test_kid_of_256_chars_is_fine(backend):
    assert backend.HmacKey("k" * 256, b"s" * 32).kid == "k" * 256


# ---- Ed25519 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("seed", "public", "message", "signature"), RFC8032)
def test_rfc8032_vectors(backend, seed, public, message, signature):
    private = backend.Ed25519PrivateKey("e", bytes.fromhex(seed))
    assert private.alg == "ed25519"
    public_key = private.public_key()
    assert public_key.kid == "e" and public_key.alg == "ed25519"
    assert public_key.to_jwk()["x"] == b64u(bytes.fromhex(public))
    assert private.sign(bytes.fromhex(message)) == bytes.fromhex(signature)
    standalone = backend.Ed25519PublicKey("e", bytes.fromhex(public))
    assert standalone.verify(bytes.fromhex(message), bytes.fromhex(signature))
    assert not standalone.verify(bytes.fromhex(message) + b"x", bytes.fromhex(signature))
    assert not standalone.verify(bytes.fromhex(message), bytes.fromhex(signature)[:63])


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_ed25519_seed_must_be_32_bytes(backend, length):
    with pytest.raises(InvalidKey):
        backend.Ed25519PrivateKey("e", b"\x01" * length)


def test_generate_gives_distinct_working_keys(backend):
    one = backend.Ed25519PrivateKey.generate("a")
    two = backend.Ed25519PrivateKey.generate("a")
    assert one.to_jwk()["x"] != two.to_jwk()["x"]
    signature = one.sign(b"hello")
    assert one.public_key().verify(b"hello", signature)
    assert not two.public_key().verify(b"hello", signature)


@pytest.mark.parametrize("encoding", SMALL_ORDER)
def test_small_order_public_key_is_refused(backend, encoding):
    raw = bytes.fromhex(encoding)
    assert is_small_order(raw)  # the model agrees it is a torsion point
    with pytest.raises(InvalidKey):
        backend.Ed25519PublicKey("e", raw)
    with pytest.raises(InvalidKey):
        backend.KeyRing.from_jwks({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "e", "x": b64u(raw)}]})


@pytest.mark.parametrize("encoding", NON_CANONICAL)
def test_non_canonical_public_key_encoding_is_refused(backend, encoding):
    with pytest.raises(InvalidKey):
        backend.Ed25519PublicKey("e", bytes.fromhex(encoding))


def test_off_curve_public_key_is_refused(backend):
    y = 2
    while decompress(y.to_bytes(32, "little")) is not None:
        y += 1
    with pytest.raises(InvalidKey):
        backend.Ed25519PublicKey("e", y.to_bytes(32, "little"))


def test_non_canonical_s_is_rejected(backend):
    seed, public, _, _ = RFC8032[0]
    private = backend.Ed25519PrivateKey("e", bytes.fromhex(seed))
    message = b"pay 10 to bob"
    signature = private.sign(message)
    s = int.from_bytes(signature[32:], "little")
    malleated = signature[:32] + (s + L).to_bytes(32, "little")
    assert lenient_verify(bytes.fromhex(public), message, malleated)  # a lax verifier accepts it
    assert private.public_key().verify(message, signature)
    assert not private.public_key().verify(message, malleated)


def test_small_order_r_is_rejected(backend):
    seed, public, _, _ = RFC8032[1]
    a = secret_scalar(bytes.fromhex(seed))
    r = compress(IDENTITY)
    message = b"forged with R = identity"
    k = int.from_bytes(hashlib.sha512(r + bytes.fromhex(public) + message).digest(), "little") % L
    forged = r + (k * a % L).to_bytes(32, "little")
    assert lenient_verify(bytes.fromhex(public), message, forged)  # holds under the cofactorless equation
    key = backend.Ed25519PublicKey("e", bytes.fromhex(public))
    assert not key.verify(message, forged)


def test_public_key_from_pem_str_and_bytes(backend):
    _, public, _, _ = RFC8032[0]
    raw = bytes.fromhex(public)
    pem = pem_of(raw)
    one_line = pem.replace("\n", "")
    wrapped = pem.replace("-----\n", "-----\n  ").replace("\n-----END", " \t\n-----END")
    for form in (pem, pem.encode(), pem.replace("\n", "\r\n"), one_line, "\n\n" + wrapped + "\n"):
        key = backend.Ed25519PublicKey("e", form)
        assert key.to_jwk()["x"] == b64u(raw)


def test_pem_from_cryptography_is_read(backend):
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    ed25519 = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    private = ed25519.Ed25519PrivateKey.generate()
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert backend.Ed25519PublicKey("e", pem).to_jwk()["x"] == b64u(raw)
    assert backend.Ed25519PublicKey("e", pem.decode()).to_jwk()["x"] == b64u(raw)


@pytest.mark.parametrize(
    "bad",
    [
        b"\x01" * 31,
        b"\x01" * 33,
        pem_of(bytes.fromhex(RFC8032[0][1]), bytes.fromhex("302a300506032b656e032100")),  # X25519 OID
        pem_of(bytes.fromhex(RFC8032[0][1])[:31], SPKI_PREFIX[:-2] + b"\x20\x00"),  # wrong length
        pem_of(bytes.fromhex(RFC8032[0][1])).replace("PUBLIC KEY", "PRIVATE KEY"),
        pem_of(bytes.fromhex(RFC8032[0][1])).replace("\n-----END", "!\n-----END"),
        "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
        "not a pem at all",
    ],
)
def test_bad_public_key_material_is_refused(backend, bad):
    with pytest.raises(InvalidKey):
        backend.Ed25519PublicKey("e", bad)


def test_pem_of_a_small_order_point_is_refused(backend):
    with pytest.raises(InvalidKey):
        backend.Ed25519PublicKey("e", pem_of(bytes.fromhex(SMALL_ORDER[4])))


# ---- KeyRing and JWKS ----------------------------------------------------------------------------


def test_keyring_lookup_iteration_and_len(backend):
    hmac_key = backend.HmacKey("h", b"s" * 32)
    ed = backend.Ed25519PrivateKey.generate("e")
    ring = backend.KeyRing([hmac_key, ed.public_key()])
    assert len(ring) == 2
    assert ring.get("h") is hmac_key or ring.get("h") == hmac_key
    assert ring.get("e").kid == "e"
    assert ring.get("missing") is None
    assert [key.kid for key in ring] == ["h", "e"]


def test_keyring_refuses_duplicate_kid(backend):
    with pytest.raises(InvalidKey):
        backend.KeyRing([backend.HmacKey("k", b"s" * 32), backend.Ed25519PrivateKey.generate("k")])


def test_jwk_round_trip(backend):
    hmac_key = backend.HmacKey("h", bytes(range(40)))
    ed = backend.Ed25519PrivateKey.generate("e")
    jwks = {
        "keys": [hmac_key.to_jwk(private=True), ed.to_jwk(private=True), ed.public_key().to_jwk() | {"kid": "e-pub"}]
    }
    assert jwks["keys"][0]["kty"] == "oct" and jwks["keys"][0]["k"] == b64u(bytes(range(40)))
    assert jwks["keys"][1]["kty"] == "OKP" and jwks["keys"][1]["crv"] == "Ed25519" and "d" in jwks["keys"][1]
    assert "d" not in jwks["keys"][2]
    ring = backend.KeyRing.from_jwks(jwks)
    assert len(ring) == 3
    assert ring.get("h").sign(b"x") == hmac_key.sign(b"x")
    assert ring.get("e").sign(b"x") == ed.sign(b"x")  # `d` present: a private key
    assert ring.get("e-pub").verify(b"x", ed.sign(b"x"))


def test_hmac_key_has_no_public_jwk(backend):
    with pytest.raises(InvalidKey):
        backend.HmacKey("h", b"s" * 32).to_jwk()


GOOD_X = b64u(bytes.fromhex(RFC8032[0][1]))
GOOD_K = b64u(b"k" * 32)


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "oct", "kid": "o", "k": GOOD_K, "alg": "EdDSA"},  # alg does not fit
        {"kty": "OKP", "crv": "Ed25519", "kid": "x", "x": GOOD_X, "alg": "HS256"},  # alg does not fit
        {"kty": "oct", "kid": "o", "k": GOOD_K + "="},  # padded
        {"kty": "oct", "kid": "o", "k": base64.b64encode(b"\xfb\xff" * 16).decode().rstrip("=")},  # +/ alphabet
        {"kty": "oct", "kid": "o", "k": b64u(b"k" * 31)},  # short secret
        {"kty": "oct", "k": GOOD_K},  # no kid
        {"kty": "oct", "kid": "", "k": GOOD_K},  # empty kid
        {"kty": "OKP", "crv": "Ed25519", "kid": "x", "x": GOOD_X[:-2]},  # short x
        {"kty": "OKP", "crv": "Ed25519", "kid": "x", "x": GOOD_X, "d": b64u(b"\x07" * 32)},  # x is not d's
        {"kty": "OKP", "crv": "Ed25519", "kid": "x", "x": b64u(bytes.fromhex(SMALL_ORDER[2]))},
        "not an object",
    ],
)
def test_bad_jwk_refuses_the_whole_set(backend, jwk):
    good = {"kty": "oct", "kid": "good", "k": GOOD_K}
    with pytest.raises(InvalidKey):
        backend.KeyRing.from_jwks({"keys": [good, jwk]})


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"},  # a modulus out of range
        {"kty": "OKP", "crv": "X25519", "kid": "x", "x": GOOD_X},  # unknown crv
        {"kty": "OKP", "kid": "x", "x": GOOD_X},  # no crv
        {"kty": "oct", "kid": "o", "k": GOOD_K, "use": "enc"},  # use other than sig
        {"kty": "oct", "kid": "o", "k": GOOD_K, "alg": "HS512"},  # an alg we do not implement
        {"kty": "EC", "crv": "P-384", "kid": "e", "x": GOOD_X, "y": GOOD_X},  # unknown crv
        {"kty": "kyber", "kid": "q"},  # unknown kty
    ],
)
def test_jwk_not_for_us_is_skipped(backend, jwk):
    good = {"kty": "oct", "kid": "good", "k": GOOD_K}
    ring = backend.KeyRing.from_jwks({"keys": [jwk, good]})
    assert [key.kid for key in ring] == ["good"]


@pytest.mark.parametrize("jwks", [{}, {"keys": "x"}, [], "keys"])
def test_jwks_without_a_keys_array_is_refused(backend, jwks):
    with pytest.raises(InvalidKey):
        backend.KeyRing.from_jwks(jwks)


def test_jwks_with_duplicate_kid_is_refused(backend):
    with pytest.raises(InvalidKey):
        backend.KeyRing.from_jwks(
            {
                "keys": [
                    {"kty": "oct", "kid": "k", "k": GOOD_K},
                    {"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": GOOD_X},
                ]
            }
        )


def test_jwks_extra_members_and_fitting_alg_are_fine(backend):
    ring = backend.KeyRing.from_jwks(
        {
            "keys": [
                {"kty": "oct", "kid": "o", "k": GOOD_K, "alg": "HS256", "use": "sig", "key_ops": ["sign"]},
                {"kty": "OKP", "crv": "Ed25519", "kid": "x", "x": GOOD_X, "alg": "Ed25519"},
                {"kty": "OKP", "crv": "Ed25519", "kid": "y", "x": GOOD_X, "alg": "EdDSA"},
            ]
        }
    )
    assert [key.alg for key in ring] == ["hmac-sha256", "ed25519", "ed25519"]


# ---- base64url -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [(b"", ""), (b"f", "Zg"), (b"fo", "Zm8"), (b"foo", "Zm9v"), (b"foob", "Zm9vYg"), (b"\xfb\xff\xbf", "-_-_")],
)
def test_b64url_vectors(backend, raw, text):
    assert backend.b64url_encode(raw) == text
    assert backend.b64url_decode(text) == raw


@pytest.mark.parametrize(
    "bad", ["Zg==", "Zg=", "+/+/", "Zm9v\n", " Zm9v", "Zm 9v", "Z", "Zm9vY", "Zh", "Zm9", "Zm9v\u00e9", "Zm9v."]
)
def test_b64url_refuses_non_strict_forms(backend, bad):
    with pytest.raises(ValueError):
        backend.b64url_decode(bad)


@given(st.binary(max_size=80))
def test_b64url_round_trip(backend, data):
    assert backend.b64url_decode(backend.b64url_encode(data)) == data


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ ", max_size=12))
def test_b64url_accepts_only_canonical_text(backend, text):
    try:
        raw = backend.b64url_decode(text)
    except ValueError:
        return
    assert backend.b64url_encode(raw) == text


# ---- Text that is not Unicode (a lone surrogate) -------------------------------------------------
# A kid travels in JSON (a JWK, a JWT header, an envelope), where a lone surrogate cannot be
# written: such a kid could never be matched, so both backends refuse it at construction.

LONE_SURROGATE_KID = "a\ud800"


@pytest.mark.parametrize("make", ["hmac", "ed25519-private", "ed25519-public"])
def test_kid_with_a_lone_surrogate_is_refused(backend, make):
    with pytest.raises(InvalidKey) as excinfo:
        if make == "hmac":
            backend.HmacKey(LONE_SURROGATE_KID, b"k" * 32)
        elif make == "ed25519-private":
            backend.Ed25519PrivateKey(LONE_SURROGATE_KID, bytes(32))
        else:
            backend.Ed25519PublicKey(LONE_SURROGATE_KID, bytes.fromhex(RFC8032[0][1]))
    assert str(excinfo.value) == "kid must be valid Unicode (it holds a lone surrogate)"


def test_jwks_kid_with_a_lone_surrogate_is_refused(backend):
    jwk = {"kty": "oct", "kid": LONE_SURROGATE_KID, "k": b64u(b"k" * 32)}
    with pytest.raises(InvalidKey) as excinfo:
        backend.KeyRing.from_jwks({"keys": [jwk]})
    assert str(excinfo.value) == "JWKS key 0: 'kid' must be valid Unicode (it holds a lone surrogate)"


def test_lookups_with_a_lone_surrogate_find_nothing(backend):
    ring = backend.KeyRing([backend.HmacKey("a\ufffd", b"k" * 32)])
    assert ring.get("a\ud800") is None
    assert "a\ud800" not in ring


def test_duplicate_kid_is_named_as_a_json_string(backend):
    key = backend.HmacKey('k"\n', b"k" * 32)
    with pytest.raises(InvalidKey) as excinfo:
        backend.KeyRing([key, key])
    assert str(excinfo.value) == 'duplicate kid "k\\"\\n" in the key ring'
