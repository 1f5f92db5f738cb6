//! Keys bound to one algorithm each (the ring that finds them by `kid` is `keyring`).
//!
//! A key never changes algorithm: an HMAC key signs `hmac-sha256` envelopes and `HS256` tokens
//! only, an Ed25519 key `ed25519` envelopes and `EdDSA`/`Ed25519` tokens only, an RSA key the one
//! of `RS256`/`PS256` it was given, a P-256 key `ES256`; RSA and P-256 keys verify tokens only. So
//! a token or envelope cannot pick how its own signature is checked (no algorithm confusion: an
//! RSA public key is never an HMAC secret).
//!
//! Refusals are `InvalidKey` with the texts of `docs/verification.md` (the pure twin's, word for
//! word). JWK import and export are in [`crate::jwk`].

use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::b64url;
use crate::der;
pub use crate::ec::EcPublic;
use crate::errors::{msg, VerifyError};
pub use crate::rsa::{RsaPublic, RsaScheme};

type HmacSha256 = Hmac<Sha256>;

/// Shortest HMAC secret accepted: the SHA-256 output size (RFC 7518 §3.2).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;
/// Longest `kid`, in characters.
pub const MAX_KID_CHARS: usize = 256;

/// The key families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    Hmac,
    Ed25519,
    Rsa,
    EcP256,
}

impl KeyType {
    /// The envelope `alg` this type signs with: `hmac-sha256` or `ed25519`; `None` for the types
    /// that only verify tokens.
    pub fn envelope_alg(self) -> Option<&'static str> {
        match self {
            KeyType::Hmac => Some("hmac-sha256"),
            KeyType::Ed25519 => Some("ed25519"),
            KeyType::Rsa | KeyType::EcP256 => None,
        }
    }
}

/// The JWS algorithms accepted; `none` and everything else cannot be named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwtAlg {
    /// `HS256` (RFC 7518), HMAC keys.
    Hs256,
    /// `EdDSA` (RFC 8037), Ed25519 keys.
    EdDsa,
    /// `Ed25519` (RFC 9864), Ed25519 keys.
    Ed25519,
    /// `RS256` (RSASSA-PKCS1-v1_5, SHA-256), RSA keys bound to it.
    Rs256,
    /// `PS256` (RSASSA-PSS, SHA-256), RSA keys bound to it.
    Ps256,
    /// `ES256` (ECDSA P-256, SHA-256), P-256 keys.
    Es256,
}

impl JwtAlg {
    pub const ALL: [JwtAlg; 6] = [
        JwtAlg::Hs256,
        JwtAlg::EdDsa,
        JwtAlg::Ed25519,
        JwtAlg::Rs256,
        JwtAlg::Ps256,
        JwtAlg::Es256,
    ];

    /// The header value, case-sensitive.
    pub fn as_str(self) -> &'static str {
        match self {
            JwtAlg::Hs256 => "HS256",
            JwtAlg::EdDsa => "EdDSA",
            JwtAlg::Ed25519 => "Ed25519",
            JwtAlg::Rs256 => "RS256",
            JwtAlg::Ps256 => "PS256",
            JwtAlg::Es256 => "ES256",
        }
    }

    /// The algorithm a header names exactly, or `None` (`none`, `hs256`, …).
    pub fn from_name(name: &str) -> Option<JwtAlg> {
        JwtAlg::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    /// The key type this algorithm requires.
    pub fn key_type(self) -> KeyType {
        match self {
            JwtAlg::Hs256 => KeyType::Hmac,
            JwtAlg::EdDsa | JwtAlg::Ed25519 => KeyType::Ed25519,
            JwtAlg::Rs256 | JwtAlg::Ps256 => KeyType::Rsa,
            JwtAlg::Es256 => KeyType::EcP256,
        }
    }
}

/// A key id: a non-empty string of at most [`MAX_KID_CHARS`] characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Kid(String);

impl Kid {
    pub fn new(kid: impl Into<String>) -> Result<Kid, VerifyError> {
        let kid = kid.into();
        if kid.is_empty() || kid.chars().count() > MAX_KID_CHARS {
            return Err(VerifyError::invalid_key(msg::KID));
        }
        Ok(Kid(kid))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An HMAC-SHA256 secret of at least 32 bytes, kept with its keyed MAC state (so each use skips
/// re-hashing the key pads); wiped on drop; never printed.
#[derive(Clone)]
pub struct HmacSecret {
    mac: HmacSha256,
    secret: Zeroizing<Vec<u8>>,
}

impl HmacSecret {
    pub fn new(secret: &[u8]) -> Result<HmacSecret, VerifyError> {
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            return Err(VerifyError::invalid_key(
                "an HMAC secret must be at least 32 bytes",
            ));
        }
        let mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
        Ok(HmacSecret {
            mac,
            secret: Zeroizing::new(secret.to_vec()),
        })
    }

    /// The secret itself (for a private JWK).
    pub fn expose(&self) -> &[u8] {
        &self.secret
    }

    /// HMAC-SHA256 of `message`.
    pub fn tag(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is the HMAC-SHA256 of `message`, compared in constant time.
    pub fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        let mut mac = self.mac.clone();
        mac.update(message);
        mac.verify_slice(tag).is_ok()
    }
}

impl fmt::Debug for HmacSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacSecret(..)")
    }
}

/// Constant-time equality of two byte strings (their lengths are not secret).
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const NOT_A_POINT: &str = "not a canonically encoded Ed25519 point on the curve";

/// An Ed25519 public key that is a canonical encoding of a curve point of large order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ed25519Public(VerifyingKey);

impl Ed25519Public {
    /// From the 32-byte encoding. Refused: not a point, a non-canonical encoding, small order.
    pub fn from_bytes(raw: &[u8; 32]) -> Result<Ed25519Public, VerifyError> {
        let key =
            VerifyingKey::from_bytes(raw).map_err(|_| VerifyError::invalid_key(NOT_A_POINT))?;
        // `from_bytes` reduces y mod p and ignores the sign of x = 0; only the canonical encoding
        // of a point is a key, so that a key has exactly one byte form (the one hashed into `k`).
        if key.to_edwards().compress().as_bytes() != raw {
            return Err(VerifyError::invalid_key(NOT_A_POINT));
        }
        if key.is_weak() {
            return Err(VerifyError::invalid_key(
                "an Ed25519 public key of small order is refused",
            ));
        }
        Ok(Ed25519Public(key))
    }

    /// From a PEM `PUBLIC KEY` block holding an Ed25519 SubjectPublicKeyInfo (RFC 8410).
    pub fn from_pem(pem: &[u8]) -> Result<Ed25519Public, VerifyError> {
        Ed25519Public::from_bytes(&spki_from_pem(pem)?)
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Strict Ed25519 verification (`verify_strict`): non-canonical `S`, non-canonical or
    /// small-order `R` are refused; `A` was checked at construction.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <&[u8; 64]>::try_from(signature) else {
            return false;
        };
        self.0
            .verify_strict(message, &Signature::from_bytes(bytes))
            .is_ok()
    }
}

impl fmt::Debug for Ed25519Public {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ed25519Public({})", b64url::encode(self.0.as_bytes()))
    }
}

/// The DER of an Ed25519 SubjectPublicKeyInfo is fixed: SEQUENCE { SEQUENCE { OID 1.3.101.112 },
/// BIT STRING (0 unused bits) <32 bytes> }.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
const PEM_BEGIN: &[u8] = b"-----BEGIN PUBLIC KEY-----";
const PEM_END: &[u8] = b"-----END PUBLIC KEY-----";
/// A key given as neither 32 raw bytes nor a readable PEM.
pub const NOT_PEM: &str = "an Ed25519 public key is 32 raw bytes or a PEM PUBLIC KEY";

fn spki_from_pem(pem: &[u8]) -> Result<[u8; 32], VerifyError> {
    let not_pem = || VerifyError::invalid_key(NOT_PEM);
    let body = pem
        .trim_ascii()
        .strip_prefix(PEM_BEGIN)
        .and_then(|rest| rest.strip_suffix(PEM_END))
        .ok_or_else(not_pem)?;
    let b64: Vec<u8> = body
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = b64url::decode_standard(&b64).map_err(|_| not_pem())?;
    match der.strip_prefix(&ED25519_SPKI_PREFIX) {
        Some(raw) if raw.len() == 32 => Ok(raw.try_into().expect("32 bytes")),
        _ => Err(VerifyError::invalid_key(
            "the PEM is not an Ed25519 SubjectPublicKeyInfo (OID 1.3.101.112)",
        )),
    }
}

/// A key with its id, bound to one algorithm family.
#[derive(Clone)]
pub enum Key {
    Hmac {
        kid: Kid,
        secret: HmacSecret,
    },
    Ed25519Public {
        kid: Kid,
        key: Ed25519Public,
    },
    Ed25519Private {
        kid: Kid,
        key: SigningKey,
    },
    /// An RSA public key bound to `RS256` or `PS256`.
    Rsa {
        kid: Kid,
        key: RsaPublic,
    },
    /// A P-256 public key (`ES256`).
    EcP256 {
        kid: Kid,
        key: EcPublic,
    },
}

/// The refusal of an RSA key given as neither a PEM nor a JWK we read.
pub const NOT_RSA_PEM: &str = "an RSA public key is a PEM (PUBLIC KEY or RSA PUBLIC KEY) or a JWK";
/// The refusal of a P-256 key given as neither a PEM nor a JWK we read.
pub const NOT_EC_PEM: &str = "an EC public key is a PEM (PUBLIC KEY) or a JWK";

impl Key {
    /// An HMAC-SHA256 key; the secret must be at least 32 bytes.
    pub fn hmac(kid: impl Into<String>, secret: &[u8]) -> Result<Key, VerifyError> {
        Ok(Key::Hmac {
            kid: Kid::new(kid)?,
            secret: HmacSecret::new(secret)?,
        })
    }

    /// An Ed25519 private key from its 32-byte seed (RFC 8032 §5.1.5).
    pub fn ed25519_private(kid: impl Into<String>, seed: &[u8]) -> Result<Key, VerifyError> {
        let kid = Kid::new(kid)?;
        let seed: &[u8; 32] = seed
            .try_into()
            .map_err(|_| VerifyError::invalid_key("an Ed25519 seed is 32 bytes"))?;
        Ok(Key::Ed25519Private {
            kid,
            key: SigningKey::from_bytes(seed),
        })
    }

    /// An Ed25519 public key from 32 raw bytes or a PEM `PUBLIC KEY` (SPKI, OID 1.3.101.112).
    pub fn ed25519_public(kid: impl Into<String>, raw_or_pem: &[u8]) -> Result<Key, VerifyError> {
        let kid = Kid::new(kid)?;
        let key = match <&[u8; 32]>::try_from(raw_or_pem) {
            Ok(raw) => Ed25519Public::from_bytes(raw)?,
            Err(_) => Ed25519Public::from_pem(raw_or_pem)?,
        };
        Ok(Key::Ed25519Public { kid, key })
    }

    /// An Ed25519 public key from a PEM only (text is never 32 raw bytes).
    pub fn ed25519_public_pem(kid: impl Into<String>, pem: &[u8]) -> Result<Key, VerifyError> {
        let kid = Kid::new(kid)?;
        Ok(Key::Ed25519Public {
            kid,
            key: Ed25519Public::from_pem(pem)?,
        })
    }

    /// An RSA public key from its modulus and exponent, bound to `RS256` or `PS256`.
    pub fn rsa_public(
        kid: impl Into<String>,
        n: &[u8],
        e: &[u8],
        scheme: RsaScheme,
    ) -> Result<Key, VerifyError> {
        let kid = Kid::new(kid)?;
        Ok(Key::Rsa {
            kid,
            key: RsaPublic::new(n, e, scheme)?,
        })
    }

    /// An RSA public key from a PEM: `PUBLIC KEY` (SubjectPublicKeyInfo, rsaEncryption) or
    /// `RSA PUBLIC KEY` (PKCS#1).
    pub fn rsa_public_pem(
        kid: impl Into<String>,
        pem: &[u8],
        scheme: RsaScheme,
    ) -> Result<Key, VerifyError> {
        let kid = Kid::new(kid)?;
        let not_pem = || VerifyError::invalid_key(NOT_RSA_PEM);
        let (n, e) = match der::pem_label(pem) {
            Some("PUBLIC KEY") => {
                let spki = der::pem_body(pem, "PUBLIC KEY").map_err(|_| not_pem())?;
                match der::spki(&spki) {
                    Ok(der::Spki::Rsa { n, e }) => (n, e),
                    _ => {
                        return Err(VerifyError::invalid_key(
                            "the PEM is not an RSA SubjectPublicKeyInfo",
                        ))
                    }
                }
            }
            Some("RSA PUBLIC KEY") => {
                let body = der::pem_body(pem, "RSA PUBLIC KEY").map_err(|_| not_pem())?;
                der::rsa_public_key(&body).map_err(|_| not_pem())?
            }
            _ => return Err(not_pem()),
        };
        Ok(Key::Rsa {
            kid,
            key: RsaPublic::new(&n, &e, scheme)?,
        })
    }

    /// A P-256 public key from its coordinates (32 bytes each).
    pub fn ec_public(kid: impl Into<String>, x: &[u8], y: &[u8]) -> Result<Key, VerifyError> {
        let kid = Kid::new(kid)?;
        Ok(Key::EcP256 {
            kid,
            key: EcPublic::from_coordinates(x, y)?,
        })
    }

    /// A P-256 public key from a `PUBLIC KEY` PEM (SubjectPublicKeyInfo, id-ecPublicKey with
    /// the prime256v1 curve, an uncompressed point).
    pub fn ec_public_pem(kid: impl Into<String>, pem: &[u8]) -> Result<Key, VerifyError> {
        let kid = Kid::new(kid)?;
        let spki =
            der::pem_body(pem, "PUBLIC KEY").map_err(|_| VerifyError::invalid_key(NOT_EC_PEM))?;
        match der::spki(&spki) {
            Ok(der::Spki::P256 { point }) => Ok(Key::EcP256 {
                kid,
                key: EcPublic::from_point(&point)?,
            }),
            _ => Err(VerifyError::invalid_key(
                "the PEM is not a P-256 SubjectPublicKeyInfo",
            )),
        }
    }

    pub fn kid(&self) -> &str {
        match self {
            Key::Hmac { kid, .. }
            | Key::Ed25519Public { kid, .. }
            | Key::Ed25519Private { kid, .. }
            | Key::Rsa { kid, .. }
            | Key::EcP256 { kid, .. } => kid.as_str(),
        }
    }

    pub fn key_type(&self) -> KeyType {
        match self {
            Key::Hmac { .. } => KeyType::Hmac,
            Key::Ed25519Public { .. } | Key::Ed25519Private { .. } => KeyType::Ed25519,
            Key::Rsa { .. } => KeyType::Rsa,
            Key::EcP256 { .. } => KeyType::EcP256,
        }
    }

    /// The envelope `alg` of this key: `hmac-sha256` or `ed25519`; `None` for a key that takes
    /// no part in envelopes (RSA, P-256).
    pub fn envelope_alg(&self) -> Option<&'static str> {
        self.key_type().envelope_alg()
    }

    /// Whether a JWT signed with `alg` may be checked with this key: the key's type, and for an
    /// RSA key the one scheme it is bound to.
    pub fn fits_jwt_alg(&self, alg: JwtAlg) -> bool {
        match self {
            Key::Rsa { key, .. } => alg == rsa_alg(key.scheme()),
            _ => alg.key_type() == self.key_type(),
        }
    }

    /// The JWT `alg` this key signs (or, for RSA and P-256, verifies) with by default: `HS256`,
    /// `EdDSA`, the RSA key's own, `ES256`.
    pub fn default_jwt_alg(&self) -> JwtAlg {
        match self {
            Key::Hmac { .. } => JwtAlg::Hs256,
            Key::Ed25519Public { .. } | Key::Ed25519Private { .. } => JwtAlg::EdDsa,
            Key::Rsa { key, .. } => rsa_alg(key.scheme()),
            Key::EcP256 { .. } => JwtAlg::Es256,
        }
    }

    /// The public half of a key (same `kid`): itself for a public key; `None` for HMAC.
    pub fn public_key(&self) -> Option<Key> {
        match self {
            Key::Hmac { .. } => None,
            Key::Ed25519Private { kid, key } => Some(Key::Ed25519Public {
                kid: kid.clone(),
                key: Ed25519Public(key.verifying_key()),
            }),
            Key::Ed25519Public { .. } | Key::Rsa { .. } | Key::EcP256 { .. } => Some(self.clone()),
        }
    }

    /// The 32-byte Ed25519 public key; `None` for the other types.
    pub fn public_bytes(&self) -> Option<[u8; 32]> {
        match self {
            Key::Ed25519Public { key, .. } => Some(key.to_bytes()),
            Key::Ed25519Private { key, .. } => Some(key.verifying_key().to_bytes()),
            _ => None,
        }
    }

    /// Whether this key can sign (HMAC or Ed25519 private).
    pub fn can_sign(&self) -> bool {
        matches!(self, Key::Hmac { .. } | Key::Ed25519Private { .. })
    }

    /// HMAC-SHA256 tag (32 bytes) or Ed25519 signature (64 bytes) of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, VerifyError> {
        match self {
            Key::Hmac { secret, .. } => Ok(secret.tag(message).to_vec()),
            Key::Ed25519Private { key, .. } => Ok(key.sign(message).to_bytes().to_vec()),
            _ => Err(VerifyError::invalid_key(msg::PUBLIC_CANNOT_SIGN)),
        }
    }

    /// Whether `signature` is this key's signature of `message`: constant-time HMAC compare,
    /// strict Ed25519, the RSA key's scheme, ES256 (`r || s`).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Key::Hmac { secret, .. } => secret.verify(message, signature),
            Key::Ed25519Public { key, .. } => key.verify(message, signature),
            Key::Ed25519Private { key, .. } => {
                Ed25519Public(key.verifying_key()).verify(message, signature)
            }
            Key::Rsa { key, .. } => key.verify(message, signature),
            Key::EcP256 { key, .. } => key.verify(message, signature),
        }
    }
}

/// The JWT algorithm of an RSA scheme.
pub fn rsa_alg(scheme: RsaScheme) -> JwtAlg {
    match scheme {
        RsaScheme::Pkcs1v15 => JwtAlg::Rs256,
        RsaScheme::Pss => JwtAlg::Ps256,
    }
}

/// The RSA scheme of a JWT algorithm (`RS256`, `PS256`), else `None`.
pub fn rsa_scheme(alg: JwtAlg) -> Option<RsaScheme> {
    match alg {
        JwtAlg::Rs256 => Some(RsaScheme::Pkcs1v15),
        JwtAlg::Ps256 => Some(RsaScheme::Pss),
        _ => None,
    }
}

/// Same variant, same `kid`, same key material (secrets compared in constant time).
impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        match (self, other) {
            (Key::Hmac { kid: a, secret: x }, Key::Hmac { kid: b, secret: y }) => {
                a == b && same_bytes(x.expose(), y.expose())
            }
            (Key::Ed25519Public { kid: a, key: x }, Key::Ed25519Public { kid: b, key: y }) => {
                a == b && x == y
            }
            (Key::Ed25519Private { kid: a, key: x }, Key::Ed25519Private { kid: b, key: y }) => {
                a == b && same_bytes(x.as_bytes(), y.as_bytes())
            }
            (Key::Rsa { kid: a, key: x }, Key::Rsa { kid: b, key: y }) => a == b && x == y,
            (Key::EcP256 { kid: a, key: x }, Key::EcP256 { kid: b, key: y }) => a == b && x == y,
            _ => false,
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Hmac { kid, .. } => write!(f, "Key::Hmac({kid:?})"),
            Key::Ed25519Public { kid, key } => write!(f, "Key::Ed25519Public({kid:?}, {key:?})"),
            Key::Ed25519Private { kid, .. } => write!(f, "Key::Ed25519Private({kid:?})"),
            Key::Rsa { kid, key } => write!(f, "Key::Rsa({kid:?}, {key:?})"),
            Key::EcP256 { kid, key } => write!(f, "Key::EcP256({kid:?}, {key:?})"),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // RFC 8032 §7.1 TEST 1.
    pub(crate) const RFC8032_SEED: &str =
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    pub(crate) const RFC8032_PUBLIC: &str =
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const RFC8032_SIG: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    // The order of the prime subgroup, little-endian.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];

    #[test]
    fn rfc8032_test_1() {
        let key = Key::ed25519_private("k", &hex(RFC8032_SEED)).unwrap();
        assert_eq!(key.public_bytes().unwrap().to_vec(), hex(RFC8032_PUBLIC));
        let sig = key.sign(b"").unwrap();
        assert_eq!(sig, hex(RFC8032_SIG));
        let public = Key::ed25519_public("k", &hex(RFC8032_PUBLIC)).unwrap();
        assert!(public.verify(b"", &sig));
        assert!(key.verify(b"", &sig));
        assert!(!public.verify(b"x", &sig));
        assert!(!public.verify(b"", &sig[..63]));
        assert!(public.sign(b"").is_err());
        assert!(!public.can_sign());
    }

    #[test]
    fn non_canonical_s_rejected() {
        let public = Key::ed25519_public("k", &hex(RFC8032_PUBLIC)).unwrap();
        let mut sig = hex(RFC8032_SIG);
        // S + L: the same scalar mod L, a second encoding that lax verifiers accept.
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
            sig[32 + i] = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        assert!(!public.verify(b"", &sig));
    }

    #[test]
    fn small_order_and_invalid_points_refused() {
        // The identity (y = 1), a point of order 2 (y = −1), one of order 4 (y = 0).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        let zero = [0u8; 32];
        for raw in [identity, minus_one, zero] {
            let err = Key::ed25519_public("k", &raw).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidKey);
            assert!(err.message().contains("small order"), "{err}");
        }
        // y = 2 is not on the curve.
        let mut two = [0u8; 32];
        two[0] = 2;
        assert!(Key::ed25519_public("k", &two)
            .unwrap_err()
            .message()
            .contains("point on the curve"));
        // The identity encoded with y = p + 1 (non-canonical).
        let mut p_plus_1 = [0xffu8; 32];
        p_plus_1[0] = 0xee;
        p_plus_1[31] = 0x7f;
        assert!(Key::ed25519_public("k", &p_plus_1).is_err());
        // Every encoding with y >= p (y = p + 0 ..= p + 18, either sign of x) is non-canonical.
        for extra in 0..19u8 {
            for sign in [0u8, 0x80] {
                let mut y = [0xffu8; 32];
                y[0] = 0xed + extra;
                y[31] = 0x7f | sign;
                assert!(
                    Key::ed25519_public("k", &y).is_err(),
                    "p + {extra}, sign {sign}"
                );
            }
        }
        // "Negative zero": x = 0 with the sign bit set, for y = 1.
        let mut neg_identity = identity;
        neg_identity[31] |= 0x80;
        assert!(Key::ed25519_public("k", &neg_identity).is_err());
        // Wrong lengths and not-PEM.
        assert!(Key::ed25519_public("k", &[9u8; 31]).is_err());
        assert!(Key::ed25519_public("k", &[9u8; 33]).is_err());
    }

    #[test]
    fn small_order_r_rejected_by_verify() {
        // R = identity, S = 0 satisfies the cofactored equation for a small-order A; with a
        // valid A, R must still be of large order.
        let public = Key::ed25519_public("k", &hex(RFC8032_PUBLIC)).unwrap();
        let mut sig = [0u8; 64];
        sig[0] = 1;
        assert!(!public.verify(b"", &sig));
    }

    #[test]
    fn pem_spki() {
        let raw = hex(RFC8032_PUBLIC);
        let mut der = ED25519_SPKI_PREFIX.to_vec();
        der.extend_from_slice(&raw);
        let b64 = standard_b64(&der);
        let pem = format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n");
        let key = Key::ed25519_public("k", pem.as_bytes()).unwrap();
        assert_eq!(key.public_bytes().unwrap().to_vec(), raw);
        let crlf = pem.replace('\n', "\r\n");
        assert!(Key::ed25519_public("k", crlf.as_bytes()).is_ok());
        // Another algorithm's OID (X25519, 1.3.101.110) is refused.
        let mut x25519 = der.clone();
        x25519[8] = 0x6e;
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----",
            standard_b64(&x25519)
        );
        assert!(Key::ed25519_public("k", pem.as_bytes())
            .unwrap_err()
            .message()
            .contains("OID"));
        // A private-key PEM, garbage, truncated DER.
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----");
        assert!(Key::ed25519_public("k", pem.as_bytes()).is_err());
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----",
            standard_b64(&der[..40])
        );
        assert!(Key::ed25519_public("k", pem.as_bytes()).is_err());
        assert!(Key::ed25519_public(
            "k",
            b"-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----"
        )
        .is_err());
    }

    fn standard_b64(bytes: &[u8]) -> String {
        let mut s = b64url::encode(bytes).replace('-', "+").replace('_', "/");
        while !s.len().is_multiple_of(4) {
            s.push('=');
        }
        s
    }

    #[test]
    fn hmac_rules() {
        assert_eq!(
            Key::hmac("k", &[0u8; 31]).unwrap_err().kind(),
            crate::ErrorKind::InvalidKey
        );
        let key = Key::hmac("k", &[7u8; 32]).unwrap();
        assert_eq!(key.envelope_alg(), Some("hmac-sha256"));
        assert!(key.fits_jwt_alg(JwtAlg::Hs256));
        assert!(!key.fits_jwt_alg(JwtAlg::EdDsa));
        assert!(key.public_key().is_none());
        // RFC 4231 test case 6 (a 131-byte key, hashed first).
        let key = Key::hmac("k", &[0xaa; 131]).unwrap();
        let tag = key
            .sign(b"Test Using Larger Than Block-Size Key - Hash Key First")
            .unwrap();
        assert_eq!(
            tag,
            hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        );
        // A 32-byte key (expected value from Python's hmac module).
        let key = Key::hmac("k", b"0123456789abcdef0123456789abcdef").unwrap();
        let tag = key.sign(b"message").unwrap();
        assert_eq!(
            tag,
            hex("ceb822ce5aae1ff09b7cf2085037ab77b4dc84502b3c4aa6266a665f7753b09a")
        );
        assert!(key.verify(b"message", &tag));
        assert!(!key.verify(b"message", &tag[..31]));
        let mut bad = tag.clone();
        bad[0] ^= 1;
        assert!(!key.verify(b"message", &bad));
        assert!(format!("{key:?}").find("0123").is_none());
    }

    #[test]
    fn kid_rules() {
        assert!(Key::hmac("", &[0u8; 32]).is_err());
        assert!(Key::hmac("é".repeat(256), &[0u8; 32]).is_ok());
        assert!(Key::hmac("a".repeat(257), &[0u8; 32]).is_err());
        assert!(Key::ed25519_private("", &[0u8; 32]).is_err());
        assert!(Key::ed25519_private("k", &[0u8; 31]).is_err());
    }

    #[test]
    fn rsa_and_p256_pems() {
        use crate::der::tests::standard_b64;
        let pem = |label: &str, der: &[u8]| {
            format!(
                "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
                standard_b64(der)
            )
        };
        let n = crate::rsa::tests::hex(crate::rsa::tests::N);
        let pkcs1 = crate::der::encode_rsa_public_key(&n, &[1, 0, 1]);
        let key = Key::rsa_public_pem(
            "r",
            pem("RSA PUBLIC KEY", &pkcs1).as_bytes(),
            RsaScheme::Pss,
        )
        .unwrap();
        assert!(key.fits_jwt_alg(JwtAlg::Ps256) && key.envelope_alg().is_none() && !key.can_sign());
        // The same key in a SubjectPublicKeyInfo (rsaEncryption, NULL parameters).
        let mut spki = vec![
            0x30, 0x82, 0x01, 0x22, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
            0x01, 0x01, 0x01, 0x05, 0x00, 0x03, 0x82, 0x01, 0x0f, 0x00,
        ];
        spki.extend(&pkcs1);
        let again =
            Key::rsa_public_pem("r", pem("PUBLIC KEY", &spki).as_bytes(), RsaScheme::Pss).unwrap();
        assert!(again == key);
        let message = |r: Result<Key, VerifyError>| r.unwrap_err().message().to_owned();
        assert_eq!(
            message(Key::rsa_public_pem("r", b"junk", RsaScheme::Pss)),
            NOT_RSA_PEM
        );
        assert_eq!(
            message(Key::rsa_public_pem(
                "r",
                pem("PRIVATE KEY", &spki).as_bytes(),
                RsaScheme::Pss
            )),
            NOT_RSA_PEM
        );
        // An Ed25519 SPKI is not an RSA key, nor an RSA SPKI a P-256 key.
        let mut ed = ED25519_SPKI_PREFIX.to_vec();
        ed.extend(hex(RFC8032_PUBLIC));
        assert_eq!(
            message(Key::rsa_public_pem(
                "r",
                pem("PUBLIC KEY", &ed).as_bytes(),
                RsaScheme::Pss
            )),
            "the PEM is not an RSA SubjectPublicKeyInfo"
        );
        assert_eq!(
            message(Key::ec_public_pem("c", pem("PUBLIC KEY", &spki).as_bytes())),
            "the PEM is not a P-256 SubjectPublicKeyInfo"
        );
        assert_eq!(message(Key::ec_public_pem("c", b"junk")), NOT_EC_PEM);
        // P-256: id-ecPublicKey, prime256v1, the uncompressed point.
        let point = crate::rsa::tests::hex(include_str!("../testdata/p256_point.hex"));
        let mut ec = vec![
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        ec.extend(&point);
        let key = Key::ec_public_pem("c", pem("PUBLIC KEY", &ec).as_bytes()).unwrap();
        assert!(key == Key::ec_public("c", &point[1..33], &point[33..]).unwrap());
        assert!(key.fits_jwt_alg(JwtAlg::Es256) && !key.fits_jwt_alg(JwtAlg::Hs256));
    }
}
