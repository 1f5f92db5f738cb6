//! Keys bound to one algorithm each, and the key ring that finds them by `kid`.
//!
//! A key never changes algorithm: an HMAC key signs `hmac-sha256` envelopes and `HS256` tokens
//! only, an Ed25519 key `ed25519` envelopes and `EdDSA`/`Ed25519` tokens only, so a token or
//! envelope cannot pick how its own signature is checked (no algorithm confusion).

use std::collections::HashMap;
use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use fastpath_codec::Value;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

use crate::b64url;
use crate::errors::VerifyError;

type HmacSha256 = Hmac<Sha256>;

/// Shortest HMAC secret accepted: the SHA-256 output size (RFC 7518 §3.2).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;
/// Longest `kid`, in characters.
pub const MAX_KID_CHARS: usize = 256;

/// The two key families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    Hmac,
    Ed25519,
}

impl KeyType {
    /// The envelope `alg` this type signs with: `hmac-sha256` or `ed25519`.
    pub fn envelope_alg(self) -> &'static str {
        match self {
            KeyType::Hmac => "hmac-sha256",
            KeyType::Ed25519 => "ed25519",
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
}

impl JwtAlg {
    pub const ALL: [JwtAlg; 3] = [JwtAlg::Hs256, JwtAlg::EdDsa, JwtAlg::Ed25519];

    /// The header value, case-sensitive.
    pub fn as_str(self) -> &'static str {
        match self {
            JwtAlg::Hs256 => "HS256",
            JwtAlg::EdDsa => "EdDSA",
            JwtAlg::Ed25519 => "Ed25519",
        }
    }

    /// The algorithm a header names exactly, or `None` (`none`, `RS256`, `hs256`, …).
    pub fn from_name(name: &str) -> Option<JwtAlg> {
        JwtAlg::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    /// The key type this algorithm requires.
    pub fn key_type(self) -> KeyType {
        match self {
            JwtAlg::Hs256 => KeyType::Hmac,
            JwtAlg::EdDsa | JwtAlg::Ed25519 => KeyType::Ed25519,
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
            return Err(VerifyError::invalid_key(
                "kid must be a non-empty string of at most 256 characters",
            ));
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

/// An HMAC-SHA256 secret of at least 32 bytes, held as the keyed MAC state (so each use skips
/// re-hashing the key pads); wiped on drop; never printed.
#[derive(Clone)]
pub struct HmacSecret(HmacSha256);

impl HmacSecret {
    pub fn new(secret: &[u8]) -> Result<HmacSecret, VerifyError> {
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            return Err(VerifyError::invalid_key(
                "HMAC secret must be at least 32 bytes",
            ));
        }
        let mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
        Ok(HmacSecret(mac))
    }

    /// HMAC-SHA256 of `message`.
    pub fn tag(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.0.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is the HMAC-SHA256 of `message`, compared in constant time.
    pub fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        let mut mac = self.0.clone();
        mac.update(message);
        mac.verify_slice(tag).is_ok()
    }
}

impl fmt::Debug for HmacSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacSecret(..)")
    }
}

/// An Ed25519 public key that is a canonical encoding of a curve point of large order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ed25519Public(VerifyingKey);

impl Ed25519Public {
    /// From the 32-byte encoding. Refused: not a point, a non-canonical encoding, small order.
    pub fn from_bytes(raw: &[u8; 32]) -> Result<Ed25519Public, VerifyError> {
        let key = VerifyingKey::from_bytes(raw).map_err(|_| {
            VerifyError::invalid_key("Ed25519 public key is not a point on the curve")
        })?;
        // `from_bytes` reduces y mod p and ignores the sign of x = 0; only the canonical encoding
        // of a point is a key, so that a key has exactly one byte form (the one hashed into `k`).
        if key.to_edwards().compress().as_bytes() != raw {
            return Err(VerifyError::invalid_key(
                "Ed25519 public key is not canonically encoded",
            ));
        }
        if key.is_weak() {
            return Err(VerifyError::invalid_key(
                "Ed25519 public key has small order",
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

fn spki_from_pem(pem: &[u8]) -> Result<[u8; 32], VerifyError> {
    let not_pem =
        || VerifyError::invalid_key("Ed25519 public key must be 32 raw bytes or a PEM PUBLIC KEY");
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
            "PEM is not an Ed25519 SubjectPublicKeyInfo (OID 1.3.101.112)",
        )),
    }
}

/// A key with its id, bound to one algorithm family.
#[derive(Clone)]
pub enum Key {
    Hmac { kid: Kid, secret: HmacSecret },
    Ed25519Public { kid: Kid, key: Ed25519Public },
    Ed25519Private { kid: Kid, key: SigningKey },
}

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
            .map_err(|_| VerifyError::invalid_key("Ed25519 seed must be 32 bytes"))?;
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

    pub fn kid(&self) -> &str {
        match self {
            Key::Hmac { kid, .. }
            | Key::Ed25519Public { kid, .. }
            | Key::Ed25519Private { kid, .. } => kid.as_str(),
        }
    }

    pub fn key_type(&self) -> KeyType {
        match self {
            Key::Hmac { .. } => KeyType::Hmac,
            Key::Ed25519Public { .. } | Key::Ed25519Private { .. } => KeyType::Ed25519,
        }
    }

    /// The envelope `alg` of this key: `hmac-sha256` or `ed25519`.
    pub fn envelope_alg(&self) -> &'static str {
        self.key_type().envelope_alg()
    }

    /// Whether a JWT signed with `alg` may be checked with this key.
    pub fn fits_jwt_alg(&self, alg: JwtAlg) -> bool {
        alg.key_type() == self.key_type()
    }

    /// The public half of an Ed25519 key (same `kid`); `None` for HMAC.
    pub fn public_key(&self) -> Option<Key> {
        match self {
            Key::Hmac { .. } => None,
            Key::Ed25519Public { .. } => Some(self.clone()),
            Key::Ed25519Private { kid, key } => Some(Key::Ed25519Public {
                kid: kid.clone(),
                key: Ed25519Public(key.verifying_key()),
            }),
        }
    }

    /// The 32-byte Ed25519 public key; `None` for HMAC.
    pub fn public_bytes(&self) -> Option<[u8; 32]> {
        match self {
            Key::Hmac { .. } => None,
            Key::Ed25519Public { key, .. } => Some(key.to_bytes()),
            Key::Ed25519Private { key, .. } => Some(key.verifying_key().to_bytes()),
        }
    }

    /// Whether this key can sign (HMAC or Ed25519 private).
    pub fn can_sign(&self) -> bool {
        !matches!(self, Key::Ed25519Public { .. })
    }

    /// HMAC-SHA256 tag (32 bytes) or Ed25519 signature (64 bytes) of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, VerifyError> {
        match self {
            Key::Hmac { secret, .. } => Ok(secret.tag(message).to_vec()),
            Key::Ed25519Private { key, .. } => Ok(key.sign(message).to_bytes().to_vec()),
            Key::Ed25519Public { .. } => Err(VerifyError::invalid_key("a public key cannot sign")),
        }
    }

    /// Whether `signature` is this key's signature of `message`: constant-time HMAC compare,
    /// strict Ed25519.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Key::Hmac { secret, .. } => secret.verify(message, signature),
            Key::Ed25519Public { key, .. } => key.verify(message, signature),
            Key::Ed25519Private { key, .. } => {
                Ed25519Public(key.verifying_key()).verify(message, signature)
            }
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Hmac { kid, .. } => write!(f, "Key::Hmac({kid:?})"),
            Key::Ed25519Public { kid, key } => write!(f, "Key::Ed25519Public({kid:?}, {key:?})"),
            Key::Ed25519Private { kid, .. } => write!(f, "Key::Ed25519Private({kid:?})"),
        }
    }
}

/// Keys by `kid` (several per ring for rotation); a `kid` appears once.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: Vec<Key>,
    by_kid: HashMap<String, usize>,
}

impl KeyRing {
    /// A ring of `keys`; a duplicate `kid` is refused.
    pub fn new(keys: Vec<Key>) -> Result<KeyRing, VerifyError> {
        let mut by_kid = HashMap::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            if by_kid.insert(key.kid().to_owned(), i).is_some() {
                return Err(VerifyError::invalid_key(format!(
                    "duplicate kid {:?}",
                    key.kid()
                )));
            }
        }
        Ok(KeyRing { keys, by_kid })
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.by_kid.get(kid).map(|&i| &self.keys[i])
    }

    /// All keys, in the order given.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// A ring from a JWK Set (RFC 7517) `{"keys": [...]}`: `oct` → HMAC, `OKP`/`Ed25519` →
    /// Ed25519 public (private when `d` is present). `k`, `x`, `d` are strict base64url; a JWK
    /// with an `alg` that does not fit its type, a `use` other than `sig`, an unknown `kty` or
    /// `crv`, or a `d` that does not match `x` makes the whole set refused.
    pub fn from_jwks(jwks: &Value<'_>) -> Result<KeyRing, VerifyError> {
        let Some(Value::Array(jwks)) = jwks.get("keys") else {
            return Err(VerifyError::invalid_key(
                "JWKS must be an object with a \"keys\" array",
            ));
        };
        let keys = jwks
            .iter()
            .enumerate()
            .map(|(i, jwk)| {
                key_from_jwk(jwk)
                    .map_err(|e| VerifyError::invalid_key(format!("JWK {i}: {}", e.message())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        KeyRing::new(keys)
    }
}

fn key_from_jwk(jwk: &Value<'_>) -> Result<Key, VerifyError> {
    let bad = |why: &'static str| VerifyError::invalid_key(why);
    if !jwk.is_object() {
        return Err(bad("not an object"));
    }
    let text = |name: &'static str| -> Result<Option<&str>, VerifyError> {
        match jwk.get(name) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s)),
            Some(_) => Err(VerifyError::invalid_key(format!(
                "\"{name}\" is not a string"
            ))),
        }
    };
    let required = |name: &'static str| -> Result<&str, VerifyError> {
        text(name)?.ok_or_else(|| VerifyError::invalid_key(format!("\"{name}\" is missing")))
    };
    let bytes = |name: &'static str| -> Result<Vec<u8>, VerifyError> {
        b64url::decode(required(name)?)
            .map_err(|_| VerifyError::invalid_key(format!("\"{name}\" is not strict base64url")))
    };
    let kty = required("kty")?;
    if text("use")?.is_some_and(|u| u != "sig") {
        return Err(bad("\"use\" must be \"sig\""));
    }
    let alg = text("alg")?;
    match kty {
        "oct" => {
            if alg.is_some_and(|a| a != "HS256") {
                return Err(bad("\"alg\" does not fit an oct key"));
            }
            Key::hmac(required("kid")?, &bytes("k")?)
        }
        "OKP" => {
            if required("crv")? != "Ed25519" {
                return Err(bad("unknown \"crv\""));
            }
            if alg.is_some_and(|a| a != "EdDSA" && a != "Ed25519") {
                return Err(bad("\"alg\" does not fit an Ed25519 key"));
            }
            let kid = required("kid")?;
            let x: [u8; 32] = bytes("x")?
                .try_into()
                .map_err(|_| bad("\"x\" must be 32 bytes"))?;
            let public = Ed25519Public::from_bytes(&x)?;
            if jwk.get("d").is_none() {
                return Ok(Key::Ed25519Public {
                    kid: Kid::new(kid)?,
                    key: public,
                });
            }
            let key = Key::ed25519_private(kid, &bytes("d")?)?;
            if key.public_bytes() != Some(x) {
                return Err(bad("\"d\" does not match \"x\""));
            }
            Ok(key)
        }
        _ => Err(bad("unknown \"kty\"")),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::borrow::Cow;

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

    fn jwk(members: Vec<(&str, &str)>) -> Value<'static> {
        Value::Object(
            members
                .into_iter()
                .map(|(k, v)| {
                    (
                        Cow::Owned(k.to_owned()),
                        Value::Str(Cow::Owned(v.to_owned())),
                    )
                })
                .collect(),
        )
    }

    fn jwks(keys: Vec<Value<'static>>) -> Value<'static> {
        Value::Object(vec![(Cow::Borrowed("keys"), Value::Array(keys))])
    }

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
            .contains("not a point"));
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
        assert_eq!(key.envelope_alg(), "hmac-sha256");
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
    fn ring_lookup_and_duplicates() {
        let a = Key::hmac("a", &[1u8; 32]).unwrap();
        let b = Key::ed25519_private("b", &[2u8; 32]).unwrap();
        let ring = KeyRing::new(vec![a.clone(), b]).unwrap();
        assert_eq!(ring.get("a").unwrap().kid(), "a");
        assert_eq!(ring.get("b").unwrap().key_type(), KeyType::Ed25519);
        assert!(ring.get("c").is_none());
        assert_eq!(ring.len(), 2);
        let err = KeyRing::new(vec![a.clone(), a]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidKey);
    }

    #[test]
    fn jwks_parsing() {
        let secret = b64url::encode(&[3u8; 32]);
        let x = b64url::encode(&hex(RFC8032_PUBLIC));
        let d = b64url::encode(&hex(RFC8032_SEED));
        let ring = KeyRing::from_jwks(&jwks(vec![
            jwk(vec![
                ("kty", "oct"),
                ("kid", "h"),
                ("k", &secret),
                ("alg", "HS256"),
                ("use", "sig"),
            ]),
            jwk(vec![
                ("kty", "OKP"),
                ("crv", "Ed25519"),
                ("kid", "e"),
                ("x", &x),
                ("alg", "EdDSA"),
            ]),
            jwk(vec![
                ("kty", "OKP"),
                ("crv", "Ed25519"),
                ("kid", "p"),
                ("x", &x),
                ("d", &d),
                ("alg", "Ed25519"),
            ]),
        ]))
        .unwrap();
        assert!(matches!(ring.get("h"), Some(Key::Hmac { .. })));
        assert!(matches!(ring.get("e"), Some(Key::Ed25519Public { .. })));
        assert!(matches!(ring.get("p"), Some(Key::Ed25519Private { .. })));

        let refused = [
            jwk(vec![("kty", "RSA"), ("kid", "r"), ("n", "AQAB")]),
            jwk(vec![
                ("kty", "OKP"),
                ("crv", "X25519"),
                ("kid", "x"),
                ("x", &x),
            ]),
            jwk(vec![
                ("kty", "oct"),
                ("kid", "h"),
                ("k", &secret),
                ("alg", "EdDSA"),
            ]),
            jwk(vec![
                ("kty", "oct"),
                ("kid", "h"),
                ("k", &secret),
                ("use", "enc"),
            ]),
            jwk(vec![
                ("kty", "OKP"),
                ("crv", "Ed25519"),
                ("kid", "e"),
                ("x", &x),
                ("alg", "HS256"),
            ]),
            jwk(vec![
                ("kty", "oct"),
                ("kid", "h"),
                ("k", &b64url::encode(&[3u8; 16])),
            ]),
            jwk(vec![
                ("kty", "oct"),
                ("kid", "h"),
                ("k", &format!("{secret}=")),
            ]),
            jwk(vec![("kty", "oct"), ("k", &secret)]),
            jwk(vec![
                ("kty", "OKP"),
                ("crv", "Ed25519"),
                ("kid", "e"),
                ("x", &x[..40]),
            ]),
            jwk(vec![
                ("kty", "OKP"),
                ("crv", "Ed25519"),
                ("kid", "p"),
                ("x", &x),
                ("d", &b64url::encode(&[9u8; 32])),
            ]),
            jwk(vec![("crv", "Ed25519"), ("kid", "e"), ("x", &x)]),
        ];
        for bad in refused {
            let good = jwk(vec![("kty", "oct"), ("kid", "ok"), ("k", &secret)]);
            let err = KeyRing::from_jwks(&jwks(vec![good, bad.clone()])).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidKey, "{bad:?}");
            assert!(err.message().starts_with("JWK 1: "), "{err}");
        }
        assert!(KeyRing::from_jwks(&Value::Null).is_err());
        assert!(KeyRing::from_jwks(&jwks(vec![Value::Int(1)])).is_err());
        // Duplicate kids across the set.
        let dup = jwk(vec![("kty", "oct"), ("kid", "h"), ("k", &secret)]);
        assert!(KeyRing::from_jwks(&jwks(vec![dup.clone(), dup])).is_err());
    }
}
