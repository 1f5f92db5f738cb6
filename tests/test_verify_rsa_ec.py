"""RS256, PS256 and ES256 (docs/verification.md, Keys and JWT), on both backends, against keys made
by pyca `cryptography` and tokens minted by PyJWT, and JWKs both ways.
"""

from __future__ import annotations

import base64
import hashlib
import json

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from mcp_fastpath.errors import InvalidKey, Unauthenticated

NOW = 1_767_225_600
ISS = "https://auth.example.com"
AUD = "https://mcp.example.com/mcp"
CLAIMS = {"iss": ISS, "aud": AUD, "sub": "alice", "exp": NOW + 600, "iat": NOW, "scope": "mcp tools.add"}
# The order of the P-256 group.
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def spki_pem(private) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def public_jwk(private, **extra) -> dict:
    if isinstance(private, rsa.RSAPrivateKey):
        jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    else:
        jwk = json.loads(pyjwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    jwk.update(extra)
    return jwk


def verifier(backend, keys, **options):
    return backend.JwtVerifier(keys, issuer=ISS, audience=AUD, **options)


# ---- Keys --------------------------------------------------------------------------------------


def test_rsa_key_from_every_form_is_the_same_key(backend, rsa_key):
    public = rsa_key.public_key()
    pkcs1 = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    forms = [spki_pem(rsa_key), spki_pem(rsa_key).encode(), pkcs1, public_jwk(rsa_key)]
    keys = [backend.RsaPublicKey("r", form) for form in forms]
    assert all(key == keys[0] for key in keys)
    assert keys[0].alg == "RS256" and keys[0].key_size == 2048 and keys[0].kid == "r"
    assert backend.RsaPublicKey("r", pkcs1, alg="PS256").alg == "PS256"
    assert backend.RsaPublicKey("r", public_jwk(rsa_key, alg="PS256")).alg == "PS256"
    assert backend.RsaPublicKey("r", pkcs1, alg="PS256") != keys[0]
    assert repr(keys[0]) == "RsaPublicKey(kid='r', alg='RS256', key_size=2048)"


def test_ec_key_from_every_form_is_the_same_key(backend, ec_key):
    forms = [spki_pem(ec_key), spki_pem(ec_key).encode(), public_jwk(ec_key)]
    keys = [backend.EcPublicKey("c", form) for form in forms]
    assert all(key == keys[0] for key in keys)
    assert (keys[0].alg, keys[0].crv) == ("ES256", "P-256")


def test_rsa_keys_under_2048_bits_are_refused(backend):
    small = rsa.generate_private_key(65537, 1024)
    with pytest.raises(InvalidKey, match="2048 to 8192 bits"):
        backend.RsaPublicKey("r", spki_pem(small))
    # One bit short of 2048 (an odd modulus of 2047 bits, from its JWK numbers).
    n = (1 << 2046) | 1
    with pytest.raises(InvalidKey, match="2048 to 8192 bits"):
        backend.RsaPublicKey("r", {"kty": "RSA", "n": b64u(n.to_bytes(256, "big")), "e": "AQAB"})


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda rsa_pem, ec_pem: ("RsaPublicKey", ec_pem), "the PEM is not an RSA SubjectPublicKeyInfo"),
        (lambda rsa_pem, ec_pem: ("EcPublicKey", rsa_pem), "the PEM is not a P-256 SubjectPublicKeyInfo"),
        (lambda rsa_pem, ec_pem: ("RsaPublicKey", "not a pem"), "an RSA public key is a PEM"),
        (lambda rsa_pem, ec_pem: ("EcPublicKey", rsa_pem.replace("PUBLIC", "PRIVATE")), "an EC public key is a PEM"),
        (
            lambda rsa_pem, ec_pem: (
                "RsaPublicKey",
                rsa_pem.replace("\n", "\n ", 1)[:-40] + "\n-----END PUBLIC KEY-----",
            ),
            "an RSA public key is a PEM",
        ),
    ],
)
def test_pems_that_are_not_the_key_asked_for(backend, rsa_key, ec_key, make, message):
    cls, pem = make(spki_pem(rsa_key), spki_pem(ec_key))
    with pytest.raises(InvalidKey, match=message):
        getattr(backend, cls)("k", pem)


def test_p384_and_off_curve_points_are_refused(backend, ec_key):
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(InvalidKey, match="P-256 SubjectPublicKeyInfo"):
        backend.EcPublicKey("c", spki_pem(p384))
    jwk = public_jwk(ec_key)
    jwk["y"] = jwk["x"]
    with pytest.raises(InvalidKey, match="a point on P-256"):
        backend.EcPublicKey("c", jwk)


def test_public_keys_cannot_sign_or_export_private_jwks(backend, rsa_key, ec_key):
    for key in (backend.RsaPublicKey("r", spki_pem(rsa_key)), backend.EcPublicKey("c", spki_pem(ec_key))):
        with pytest.raises(InvalidKey, match="a public key cannot sign"):
            backend.sign_jwt(key, CLAIMS)
        with pytest.raises(InvalidKey, match="a public key cannot sign"):
            backend.EnvelopeSigner(key)
        with pytest.raises(InvalidKey, match="no private JWK"):
            key.to_jwk(private=True)


# ---- Tokens minted by PyJWT ------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
def test_pyjwt_tokens_verify(backend, rsa_key, ec_key, alg):
    private = ec_key if alg == "ES256" else rsa_key
    key = (
        backend.EcPublicKey("k1", spki_pem(private))
        if alg == "ES256"
        else backend.RsaPublicKey("k1", spki_pem(private), alg=alg)
    )
    token = pyjwt.encode(CLAIMS, private, algorithm=alg, headers={"kid": "k1"})
    principal = verifier(backend, backend.KeyRing([key])).verify(token, now=NOW)
    assert (principal.subject, principal.scopes) == ("alice", ("mcp", "tools.add"))
    # Tampered claims, another key, an expired token: refused.
    head, payload, sig = token.split(".")
    forged = json.loads(unb64u(payload)) | {"scope": "admin"}
    with pytest.raises(Unauthenticated, match="bad signature"):
        verifier(backend, backend.KeyRing([key])).verify(f"{head}.{b64u(json.dumps(forged).encode())}.{sig}", now=NOW)
    with pytest.raises(Unauthenticated, match="token expired"):
        verifier(backend, backend.KeyRing([key])).verify(token, now=NOW + 3600)


def test_each_rsa_key_verifies_its_own_alg_only(backend, rsa_key):
    pem = spki_pem(rsa_key)
    ring = backend.KeyRing([backend.RsaPublicKey("rs", pem), backend.RsaPublicKey("ps", pem, alg="PS256")])
    ps_token_naming_rs = pyjwt.encode(CLAIMS, rsa_key, algorithm="PS256", headers={"kid": "rs"})
    with pytest.raises(Unauthenticated, match="algorithm does not match the key"):
        verifier(backend, ring).verify(ps_token_naming_rs, now=NOW)
    assert verifier(backend, ring).verify(
        pyjwt.encode(CLAIMS, rsa_key, algorithm="PS256", headers={"kid": "ps"}), now=NOW
    )


def test_hmac_keyed_with_the_rsa_public_key_is_refused(backend, rsa_key):
    """The classic confusion: an HS256 token whose secret is the server's RSA public key (PEM)."""
    pem = spki_pem(rsa_key)
    head = b64u(json.dumps({"alg": "HS256", "kid": "r"}).encode())
    body = b64u(json.dumps(CLAIMS).encode())
    backend_key = backend.HmacKey("r", pem.encode())
    token = f"{head}.{body}.{b64u(backend_key.sign(f'{head}.{body}'.encode()))}"
    ring = backend.KeyRing([backend.RsaPublicKey("r", pem)])
    with pytest.raises(Unauthenticated, match="algorithm does not match the key"):
        verifier(backend, ring).verify(token, now=NOW)


def test_es256_high_s_accepted_der_refused(backend, ec_key):
    key = backend.EcPublicKey("c", spki_pem(ec_key))
    head = b64u(json.dumps({"alg": "ES256", "kid": "c"}).encode())
    body = b64u(json.dumps(CLAIMS).encode())
    signing_input = f"{head}.{body}".encode()
    der = ec_key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    check = verifier(backend, backend.KeyRing([key]))
    for s_form in (s, P256_N - s):  # low and high S: the same signature, both accepted (RFC 7518)
        raw = r.to_bytes(32, "big") + s_form.to_bytes(32, "big")
        assert check.verify(f"{head}.{body}.{b64u(raw)}", now=NOW).subject == "alice"
    with pytest.raises(Unauthenticated, match="bad signature"):
        check.verify(f"{head}.{body}.{b64u(der)}", now=NOW)


def test_rsa_signature_must_be_as_long_as_the_modulus(backend, rsa_key):
    key = backend.RsaPublicKey("r", spki_pem(rsa_key))
    data = b"data"
    signature = rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    assert key.verify(data, signature)
    assert not key.verify(data, b"\0" + signature)
    assert not key.verify(data, signature[1:])


# ---- JWKS ----------------------------------------------------------------------------------------


def provider_jwks(rsa_key, ec_key) -> dict:
    """A JWK Set as identity providers publish them: an RS256 key (no `alg`, as Entra ID does), an
    ES256 key, and keys that are not for us."""
    return {
        "keys": [
            public_jwk(rsa_key, kid="rsa-1", use="sig"),
            public_jwk(ec_key, kid="ec-1", alg="ES256"),
            public_jwk(rsa_key, kid="enc-1", use="enc", alg="RSA-OAEP-256"),
            public_jwk(rsa_key, kid="rs512", alg="RS512"),
            {"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"},
            {"kty": "OKP", "crv": "X25519", "kid": "x", "x": b64u(bytes(32))},
        ]
    }


def test_provider_jwks_skips_what_is_not_for_us(backend, rsa_key, ec_key):
    ring = backend.KeyRing.from_jwks(provider_jwks(rsa_key, ec_key))
    assert [(type(key).__name__, key.kid, key.alg) for key in ring] == [
        ("RsaPublicKey", "rsa-1", "RS256"),
        ("EcPublicKey", "ec-1", "ES256"),
    ]
    check = verifier(backend, provider_jwks(rsa_key, ec_key))
    assert check.verify(pyjwt.encode(CLAIMS, rsa_key, algorithm="RS256", headers={"kid": "rsa-1"}), now=NOW)
    assert check.verify(pyjwt.encode(CLAIMS, ec_key, algorithm="ES256", headers={"kid": "ec-1"}), now=NOW)
    # A skipped key is no key; an algorithm we do not implement is refused before any key.
    with pytest.raises(Unauthenticated, match="unknown key id"):
        check.verify(pyjwt.encode(CLAIMS, rsa_key, algorithm="RS256", headers={"kid": "enc-1"}), now=NOW)
    with pytest.raises(Unauthenticated, match="algorithm not allowed"):
        check.verify(pyjwt.encode(CLAIMS, rsa_key, algorithm="RS512", headers={"kid": "rs512"}), now=NOW)


def test_kidless_set_of_one_key_verifies_kidless_tokens(backend, rsa_key):
    jwk = public_jwk(rsa_key)
    assert "kid" not in jwk
    ring = backend.KeyRing.from_jwks({"keys": [jwk]})
    (key,) = list(ring)
    # The key's id is its RFC 7638 thumbprint: SHA-256 of the required members, sorted, compact.
    members = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    assert key.kid == b64u(hashlib.sha256(members.encode()).digest())
    check = verifier(backend, ring)
    assert check.verify(pyjwt.encode(CLAIMS, rsa_key, algorithm="RS256"), now=NOW).subject == "alice"
    assert check.verify(pyjwt.encode(CLAIMS, rsa_key, algorithm="RS256", headers={"kid": key.kid}), now=NOW)


def test_our_jwks_are_read_by_pyjwt(backend, rsa_key, ec_key):
    """The other way: the JWKs we write are keys PyJWT (and `cryptography`) read and verify with."""
    ring = backend.KeyRing(
        [
            backend.RsaPublicKey("r", spki_pem(rsa_key)),
            backend.RsaPublicKey("p", spki_pem(rsa_key), alg="PS256"),
            backend.EcPublicKey("c", spki_pem(ec_key)),
        ]
    )
    keys = pyjwt.PyJWKSet.from_dict(ring.to_jwks())
    for kid, alg, private in (("r", "RS256", rsa_key), ("p", "PS256", rsa_key), ("c", "ES256", ec_key)):
        token = pyjwt.encode(CLAIMS, private, algorithm=alg, headers={"kid": kid})
        decoded = pyjwt.decode(token, keys[kid].key, algorithms=[alg], audience=AUD, issuer=ISS, leeway=10**9)
        assert decoded["sub"] == "alice"
        assert keys[kid].algorithm_name == alg
