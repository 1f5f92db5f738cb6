//! JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037): reading a JWK Set into a [`KeyRing`], and a
//! key back out.
//!
//! The reader sees each JWK through [`JwkObject`], so the binding can hand it a Python dict as it
//! is (a member that is not a string, or text that is not Unicode, is reported as such) and every
//! decision stays here.
//!
//! A key that is not for us is skipped, not fatal (RFC 7517 §5), so that one such key does not
//! make a provider's whole set fail: a `use` other than `sig` (an `enc` key), a `kty` other than
//! `oct`, `OKP`, `RSA`, `EC`, a curve other than `Ed25519` (OKP) or `P-256` (EC), an `alg` we do not
//! implement (`RS384`, `ES512`, `RSA-OAEP`, …), an RSA modulus outside 2048..=8192 bits. A key that
//! is for us but broken refuses the whole set (a set that cannot be read whole is not half-used):
//! checks run in this order, first failure wins, each message prefixed `JWKS key <i>: `: object;
//! `alg` fitting the key type when present; `kid` (a public key without one is given its RFC 7638
//! thumbprint, so a set of one key without kids works with tokens without a kid; an HMAC or
//! private key needs one); the members (`k`; `x`, `d` matching `x`; `n`, `e`; `x`, `y`, 32 bytes
//! each), strict base64url; the key material. An RSA JWK without `alg` is an `RS256` key.

use std::borrow::Cow;

use fastpath_codec::Value;
use sha2::{Digest as _, Sha256};

use crate::b64url;
use crate::errors::VerifyError;
use crate::keyring::KeyRing;
use crate::keys::{rsa_scheme, same_bytes, JwtAlg, Key, Kid, RsaPublic, RsaScheme, MAX_KID_CHARS};
use crate::rsa;

/// Refused when the set is not `{"keys": [...]}`.
pub const NOT_A_JWKS: &str = "a JWKS is an object with a \"keys\" array";

/// One member of a JWK, as the reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member<'a> {
    Absent,
    Text(Cow<'a, str>),
    /// A string that is not Unicode (a lone surrogate, possible only in a hand-built object), of
    /// this many characters.
    NotUnicode(usize),
    /// Present, not a string.
    Other,
}

impl Member<'_> {
    fn is(&self, text: &str) -> bool {
        matches!(self, Member::Text(t) if t == text)
    }

    fn is_present(&self) -> bool {
        !matches!(self, Member::Absent)
    }
}

/// A JWK as the reader needs it: whether it is an object, and its members by name.
pub trait JwkObject {
    fn is_object(&self) -> bool;
    fn member(&self, name: &str) -> Member<'_>;
}

impl<J: JwkObject + ?Sized> JwkObject for &J {
    fn is_object(&self) -> bool {
        (**self).is_object()
    }

    fn member(&self, name: &str) -> Member<'_> {
        (**self).member(name)
    }
}

impl JwkObject for Value<'_> {
    fn is_object(&self) -> bool {
        Value::is_object(self)
    }

    fn member(&self, name: &str) -> Member<'_> {
        match self.get(name) {
            None => Member::Absent,
            Some(Value::Str(s)) => Member::Text(Cow::Borrowed(s)),
            Some(_) => Member::Other,
        }
    }
}

impl KeyRing {
    /// A ring from a JWK Set `{"keys": [...]}` (see the module documentation).
    pub fn from_jwks(jwks: &Value<'_>) -> Result<KeyRing, VerifyError> {
        let Some(Value::Array(keys)) = jwks.get("keys") else {
            return Err(VerifyError::invalid_key(NOT_A_JWKS));
        };
        KeyRing::from_jwk_list(keys)
    }

    /// A ring from the members of a JWK Set's `keys` array: every key read (those not for us
    /// skipped), then the kids checked for duplicates.
    pub fn from_jwk_list<J: JwkObject>(
        keys: impl IntoIterator<Item = J>,
    ) -> Result<KeyRing, VerifyError> {
        let mut read = Vec::new();
        for (index, jwk) in keys.into_iter().enumerate() {
            read.extend(key_from_jwk(&jwk, index)?);
        }
        KeyRing::new(read)
    }
}

/// The key types a JWK may hold.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kty {
    Oct,
    Okp,
    Rsa,
    Ec,
}

/// The key of one JWK (the `index`-th of its set, for messages); `Ok(None)` when it is not for us.
pub fn key_from_jwk(jwk: &dyn JwkObject, index: usize) -> Result<Option<Key>, VerifyError> {
    let bad = |why: &str| VerifyError::invalid_key(format!("JWKS key {index}: {why}"));
    if !jwk.is_object() {
        return Err(bad("a JWK is an object"));
    }
    // Not for us: skipped.
    let usage = jwk.member("use");
    if usage.is_present() && !usage.is("sig") {
        return Ok(None);
    }
    let kty = match jwk.member("kty") {
        Member::Text(kty) if kty == "oct" => Kty::Oct,
        Member::Text(kty) if kty == "OKP" && jwk.member("crv").is("Ed25519") => Kty::Okp,
        Member::Text(kty) if kty == "RSA" => Kty::Rsa,
        Member::Text(kty) if kty == "EC" && jwk.member("crv").is("P-256") => Kty::Ec,
        _ => return Ok(None),
    };
    let alg = match jwk.member("alg") {
        Member::Absent => None,
        Member::Text(name) => match JwtAlg::from_name(&name) {
            Some(alg) => Some(alg),
            None => return Ok(None),
        },
        Member::NotUnicode(_) | Member::Other => return Ok(None),
    };
    // For us: every check from here on refuses the set.
    let fits = match (kty, alg) {
        (_, None) => true,
        (Kty::Oct, Some(alg)) => alg == JwtAlg::Hs256,
        (Kty::Okp, Some(alg)) => matches!(alg, JwtAlg::EdDsa | JwtAlg::Ed25519),
        (Kty::Rsa, Some(alg)) => rsa_scheme(alg).is_some(),
        (Kty::Ec, Some(alg)) => alg == JwtAlg::Es256,
    };
    if !fits {
        let kind = match kty {
            Kty::Oct => "an oct",
            Kty::Okp => "an Ed25519",
            Kty::Rsa => "an RSA",
            Kty::Ec => "an EC",
        };
        return Err(bad(&format!("'alg' does not fit {kind} key")));
    }
    let kid = match jwk.member("kid") {
        Member::Text(kid) if !kid.is_empty() && kid.chars().count() <= MAX_KID_CHARS => Some(kid),
        Member::NotUnicode(chars) if chars > 0 && chars <= MAX_KID_CHARS => {
            return Err(bad(
                "'kid' must be valid Unicode (it holds a lone surrogate)",
            ))
        }
        Member::Absent if kty != Kty::Oct && !jwk.member("d").is_present() => None,
        _ => {
            return Err(bad(&format!(
                "'kid' must be a non-empty string of at most {MAX_KID_CHARS} characters"
            )))
        }
    };
    let bytes = |name: &str| -> Result<Vec<u8>, VerifyError> {
        match jwk.member(name) {
            Member::Text(text) => b64url::decode(text.as_bytes())
                .map_err(|_| bad(&format!("'{name}' is not strict base64url"))),
            Member::NotUnicode(_) => Err(bad(&format!("'{name}' is not strict base64url"))),
            Member::Absent | Member::Other => {
                Err(bad(&format!("'{name}' must be a base64url string")))
            }
        }
    };
    let exactly_32 = |name: &str| -> Result<Vec<u8>, VerifyError> {
        let value = bytes(name)?;
        if value.len() != 32 {
            return Err(bad(&format!("'{name}' must be 32 bytes")));
        }
        Ok(value)
    };
    // Material errors keep the key's own text, after the prefix.
    let material = |err: VerifyError| bad(err.message());
    // The kid, or (public keys only) the thumbprint of the key as read.
    let kid_or = |thumbprint: &dyn Fn() -> String| -> String {
        kid.as_deref().map_or_else(thumbprint, str::to_owned)
    };
    let key = match kty {
        Kty::Oct => {
            let kid = kid_or(&|| unreachable!("an oct key has a kid"));
            Key::hmac(kid, &bytes("k")?).map_err(material)?
        }
        Kty::Okp => {
            let x = exactly_32("x")?;
            if jwk.member("d").is_present() {
                let kid = kid_or(&|| unreachable!("a private key has a kid"));
                let key = Key::ed25519_private(kid, &bytes("d")?).map_err(material)?;
                if !same_bytes(&key.public_bytes().expect("an Ed25519 key"), &x) {
                    return Err(bad("'x' is not the public key of 'd'"));
                }
                key
            } else {
                let kid = kid_or(&|| {
                    thumbprint_of(&[
                        ("crv", "Ed25519"),
                        ("kty", "OKP"),
                        ("x", &b64url::encode(&x)),
                    ])
                });
                Key::ed25519_public(kid, &x).map_err(material)?
            }
        }
        Kty::Rsa => {
            let (n, e) = (bytes("n")?, bytes("e")?);
            let scheme = alg.and_then(rsa_scheme).unwrap_or(RsaScheme::Pkcs1v15);
            let public = match RsaPublic::new(&n, &e, scheme) {
                Ok(public) => public,
                // Out of the range we support: not for us (RFC 7517 §5).
                Err(err) if err.message() == rsa::MODULUS_SIZE => return Ok(None),
                Err(err) => return Err(material(err)),
            };
            let kid = kid_or(&|| {
                thumbprint_of(&[
                    ("e", &b64url::encode(public.exponent())),
                    ("kty", "RSA"),
                    ("n", &b64url::encode(public.modulus())),
                ])
            });
            Key::Rsa {
                kid: Kid::new(kid).map_err(material)?,
                key: public,
            }
        }
        Kty::Ec => {
            let (x, y) = (exactly_32("x")?, exactly_32("y")?);
            let kid = kid_or(&|| {
                thumbprint_of(&[
                    ("crv", "P-256"),
                    ("kty", "EC"),
                    ("x", &b64url::encode(&x)),
                    ("y", &b64url::encode(&y)),
                ])
            });
            Key::ec_public(kid, &x, &y).map_err(material)?
        }
    };
    Ok(Some(key))
}

/// An RSA key from a JWK given on its own (`RsaPublicKey(kid, jwk)`): `kty` `RSA`, `n`, `e`; bound
/// to `alg`, or without one to the JWK's own `alg`, else `RS256`. A JWK `alg` other than the one
/// given is refused.
pub fn rsa_key_from_jwk(
    kid: &str,
    jwk: &dyn JwkObject,
    alg: Option<RsaScheme>,
) -> Result<Key, VerifyError> {
    if !jwk.is_object() || !jwk.member("kty").is("RSA") {
        return Err(VerifyError::invalid_key(crate::keys::NOT_RSA_PEM));
    }
    let own = match jwk.member("alg") {
        Member::Absent => None,
        Member::Text(name) => Some(
            JwtAlg::from_name(&name)
                .and_then(rsa_scheme)
                .ok_or_else(|| VerifyError::invalid_key("'alg' does not fit an RSA key"))?,
        ),
        _ => return Err(VerifyError::invalid_key("'alg' does not fit an RSA key")),
    };
    let scheme = match (alg, own) {
        (Some(given), Some(own)) if given != own => {
            return Err(VerifyError::invalid_key(
                "the JWK's 'alg' is not the alg given",
            ))
        }
        (given, own) => given.or(own).unwrap_or(RsaScheme::Pkcs1v15),
    };
    Key::rsa_public(
        kid,
        &member_bytes(jwk, "n")?,
        &member_bytes(jwk, "e")?,
        scheme,
    )
}

/// A P-256 key from a JWK given on its own (`EcPublicKey(kid, jwk)`): `kty` `EC`, `crv` `P-256`,
/// `x`, `y`; an `alg` other than `ES256` is refused.
pub fn ec_key_from_jwk(kid: &str, jwk: &dyn JwkObject) -> Result<Key, VerifyError> {
    if !jwk.is_object() || !jwk.member("kty").is("EC") || !jwk.member("crv").is("P-256") {
        return Err(VerifyError::invalid_key(crate::keys::NOT_EC_PEM));
    }
    let alg = jwk.member("alg");
    if alg.is_present() && !alg.is("ES256") {
        return Err(VerifyError::invalid_key("'alg' does not fit an EC key"));
    }
    Key::ec_public(kid, &member_bytes(jwk, "x")?, &member_bytes(jwk, "y")?)
}

/// A strict base64url member of a JWK given on its own.
fn member_bytes(jwk: &dyn JwkObject, name: &str) -> Result<Vec<u8>, VerifyError> {
    let bad = |why: &str| VerifyError::invalid_key(format!("'{name}' {why}"));
    match jwk.member(name) {
        Member::Text(text) => {
            b64url::decode(text.as_bytes()).map_err(|_| bad("is not strict base64url"))
        }
        Member::NotUnicode(_) => Err(bad("is not strict base64url")),
        Member::Absent | Member::Other => Err(bad("must be a base64url string")),
    }
}

/// The RFC 7638 thumbprint of a public key: base64url of the SHA-256 of its required members,
/// sorted, as compact JSON (`None` for an HMAC key, whose thumbprint would hash its secret).
pub fn thumbprint(key: &Key) -> Option<String> {
    Some(match key {
        Key::Hmac { .. } => return None,
        Key::Ed25519Public { .. } | Key::Ed25519Private { .. } => {
            let x = b64url::encode(&key.public_bytes().expect("an Ed25519 key"));
            thumbprint_of(&[("crv", "Ed25519"), ("kty", "OKP"), ("x", &x)])
        }
        Key::Rsa { key, .. } => thumbprint_of(&[
            ("e", &b64url::encode(key.exponent())),
            ("kty", "RSA"),
            ("n", &b64url::encode(key.modulus())),
        ]),
        Key::EcP256 { key, .. } => thumbprint_of(&[
            ("crv", "P-256"),
            ("kty", "EC"),
            ("x", &b64url::encode(key.x())),
            ("y", &b64url::encode(key.y())),
        ]),
    })
}

/// RFC 7638 §3: the members given in sorted order, as `{"name":"value",...}` (all of them
/// base64url or fixed ASCII, so no escaping), hashed.
fn thumbprint_of(members: &[(&str, &str)]) -> String {
    let json = members
        .iter()
        .map(|(name, value)| format!("\"{name}\":\"{value}\""))
        .collect::<Vec<_>>()
        .join(",");
    b64url::encode(&Sha256::digest(format!("{{{json}}}").as_bytes()))
}

/// The JWK of `key`: `{"kty": "oct", "kid", "alg": "HS256", "use": "sig", "k"}` (HMAC, only with
/// `private`: a symmetric key has no public form), `{"kty": "OKP", "crv": "Ed25519", "kid",
/// "alg": "EdDSA", "use": "sig", "x"}` plus `d` (the seed) for a private Ed25519 key with
/// `private`, `{"kty": "RSA", "kid", "alg", "use": "sig", "n", "e"}`, `{"kty": "EC", "crv":
/// "P-256", "kid", "alg": "ES256", "use": "sig", "x", "y"}` (a public key has no private form).
pub fn to_jwk(key: &Key, private: bool) -> Result<Value<'static>, VerifyError> {
    let text = |s: &str| Value::Str(Cow::Owned(s.to_owned()));
    let b64 = |bytes: &[u8]| text(&b64url::encode(bytes));
    let public_only = |what: &str| {
        if private {
            return Err(VerifyError::invalid_key(format!(
                "an {what} public key has no private JWK"
            )));
        }
        Ok(())
    };
    let kid = text(key.kid());
    let alg = text(key.default_jwt_alg().as_str());
    let sig = text("sig");
    let members: Vec<(&'static str, Value<'static>)> = match key {
        Key::Hmac { secret, .. } => {
            if !private {
                return Err(VerifyError::invalid_key(
                    "an HMAC key has no public JWK; to_jwk(private=True) exports its secret",
                ));
            }
            vec![
                ("kty", text("oct")),
                ("kid", kid),
                ("alg", alg),
                ("use", sig),
                ("k", b64(secret.expose())),
            ]
        }
        Key::Ed25519Public { .. } | Key::Ed25519Private { .. } => {
            if let Key::Ed25519Public { .. } = key {
                public_only("Ed25519")?;
            }
            let x = key.public_bytes().expect("an Ed25519 key");
            let mut members = vec![
                ("kty", text("OKP")),
                ("crv", text("Ed25519")),
                ("kid", kid),
                ("alg", alg),
                ("use", sig),
                ("x", b64(&x)),
            ];
            if let (true, Key::Ed25519Private { key: signing, .. }) = (private, key) {
                members.push(("d", b64(signing.as_bytes())));
            }
            members
        }
        Key::Rsa { key: rsa, .. } => {
            public_only("RSA")?;
            vec![
                ("kty", text("RSA")),
                ("kid", kid),
                ("alg", alg),
                ("use", sig),
                ("n", b64(rsa.modulus())),
                ("e", b64(rsa.exponent())),
            ]
        }
        Key::EcP256 { key: ec, .. } => {
            public_only("EC")?;
            vec![
                ("kty", text("EC")),
                ("crv", text("P-256")),
                ("kid", kid),
                ("alg", alg),
                ("use", sig),
                ("x", b64(ec.x())),
                ("y", b64(ec.y())),
            ]
        }
    };
    Ok(Value::Object(
        members
            .into_iter()
            .map(|(name, value)| (Cow::Borrowed(name), value))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::{hex, RFC8032_PUBLIC, RFC8032_SEED};
    use crate::rsa::tests::N as RSA_N;

    /// A JWK whose members are given as the reader sees them (as the binding hands them over).
    struct Members(Vec<(&'static str, Member<'static>)>);

    impl JwkObject for Members {
        fn is_object(&self) -> bool {
            true
        }

        fn member(&self, name: &str) -> Member<'_> {
            self.0
                .iter()
                .find(|(k, _)| *k == name)
                .map_or(Member::Absent, |(_, v)| v.clone())
        }
    }

    fn text(s: &str) -> Member<'static> {
        Member::Text(Cow::Owned(s.to_owned()))
    }

    fn jwk(members: &[(&'static str, &str)]) -> Members {
        Members(members.iter().map(|(k, v)| (*k, text(v))).collect())
    }

    fn read(jwk: &Members) -> Result<Option<Key>, VerifyError> {
        key_from_jwk(jwk, 3)
    }

    fn refusal(jwk: &Members) -> String {
        read(jwk).unwrap_err().to_string()
    }

    fn secret() -> String {
        b64url::encode(&[3u8; 32])
    }

    fn rsa_n() -> String {
        b64url::encode(&hex(RSA_N.trim()))
    }

    const P256_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const P256_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    #[test]
    fn reads_every_key_type() {
        let x = b64url::encode(&hex(RFC8032_PUBLIC));
        let d = b64url::encode(&hex(RFC8032_SEED));
        let keys = [
            jwk(&[
                ("kty", "oct"),
                ("kid", "h"),
                ("k", &secret()),
                ("alg", "HS256"),
                ("use", "sig"),
            ]),
            jwk(&[
                ("kty", "OKP"),
                ("crv", "Ed25519"),
                ("kid", "e"),
                ("x", &x),
                ("alg", "EdDSA"),
            ]),
            jwk(&[
                ("kty", "OKP"),
                ("crv", "Ed25519"),
                ("kid", "p"),
                ("x", &x),
                ("d", &d),
            ]),
            jwk(&[("kty", "RSA"), ("kid", "r"), ("n", &rsa_n()), ("e", "AQAB")]),
            jwk(&[
                ("kty", "RSA"),
                ("kid", "s"),
                ("n", &rsa_n()),
                ("e", "AQAB"),
                ("alg", "PS256"),
            ]),
            jwk(&[
                ("kty", "EC"),
                ("crv", "P-256"),
                ("kid", "c"),
                ("x", P256_X),
                ("y", P256_Y),
                ("alg", "ES256"),
            ]),
        ];
        let ring = KeyRing::from_jwk_list(&keys).unwrap();
        assert!(matches!(ring.get("h"), Some(Key::Hmac { .. })));
        assert!(matches!(ring.get("e"), Some(Key::Ed25519Public { .. })));
        assert!(matches!(ring.get("p"), Some(Key::Ed25519Private { .. })));
        // An RSA JWK without `alg` is an RS256 key; each RSA key verifies its own scheme only.
        let (r, s) = (ring.get("r").unwrap(), ring.get("s").unwrap());
        assert!(r.fits_jwt_alg(JwtAlg::Rs256) && !r.fits_jwt_alg(JwtAlg::Ps256));
        assert!(s.fits_jwt_alg(JwtAlg::Ps256) && !s.fits_jwt_alg(JwtAlg::Rs256));
        assert!(ring.get("c").unwrap().fits_jwt_alg(JwtAlg::Es256));
        // Each key writes back a JWK that reads as the same key.
        for key in ring.keys() {
            let again = to_jwk(key, true).or_else(|_| to_jwk(key, false)).unwrap();
            assert!(&KeyRing::from_jwks(&jwks(vec![again])).unwrap().keys()[0] == key);
        }
    }

    #[test]
    fn keys_not_for_us_are_skipped() {
        let x = b64url::encode(&hex(RFC8032_PUBLIC));
        let skipped = [
            jwk(&[
                ("kty", "oct"),
                ("kid", "h"),
                ("k", &secret()),
                ("use", "enc"),
            ]),
            jwk(&[
                ("kty", "RSA"),
                ("kid", "r"),
                ("n", &rsa_n()),
                ("e", "AQAB"),
                ("use", "enc"),
            ]),
            jwk(&[
                ("kty", "oct"),
                ("kid", "h"),
                ("k", &secret()),
                ("alg", "HS512"),
            ]),
            jwk(&[
                ("kty", "RSA"),
                ("kid", "r"),
                ("n", &rsa_n()),
                ("e", "AQAB"),
                ("alg", "RS384"),
            ]),
            jwk(&[
                ("kty", "RSA"),
                ("kid", "r"),
                ("n", &rsa_n()),
                ("e", "AQAB"),
                ("alg", "RSA-OAEP"),
            ]),
            jwk(&[
                ("kty", "EC"),
                ("crv", "P-384"),
                ("kid", "c"),
                ("x", "AA"),
                ("y", "AA"),
            ]),
            jwk(&[("kty", "OKP"), ("crv", "X25519"), ("kid", "x"), ("x", &x)]),
            jwk(&[("kty", "oct-ish"), ("kid", "x")]),
            jwk(&[("kid", "x")]),
            // A 1024-bit RSA key: out of the range we verify.
            jwk(&[
                ("kty", "RSA"),
                ("kid", "w"),
                ("n", &b64url::encode(&[0xc3; 128])),
                ("e", "AQAB"),
            ]),
            Members(vec![("kty", text("oct")), ("alg", Member::Other)]),
            Members(vec![("kty", Member::NotUnicode(3))]),
        ];
        for jwk in &skipped {
            assert!(read(jwk).unwrap().is_none(), "{:?}", jwk.0);
        }
        // One such key does not make the set fail.
        let good = jwk(&[("kty", "oct"), ("kid", "ok"), ("k", &secret())]);
        let mut members: Vec<&dyn JwkObject> = vec![&good];
        members.extend(skipped.iter().map(|j| j as &dyn JwkObject));
        assert_eq!(KeyRing::from_jwk_list(members).unwrap().len(), 1);
    }

    #[test]
    fn broken_keys_refuse_the_set_in_reading_order() {
        assert_eq!(
            key_from_jwk(&Value::Int(1), 0).unwrap_err().message(),
            "JWKS key 0: a JWK is an object"
        );
        let kid_text = "JWKS key 3: 'kid' must be a non-empty string of at most 256 characters";
        assert_eq!(refusal(&jwk(&[("kty", "oct"), ("k", &secret())])), kid_text);
        assert_eq!(refusal(&jwk(&[("kty", "oct"), ("kid", "")])), kid_text);
        assert_eq!(
            refusal(&Members(vec![("kty", text("oct")), ("kid", Member::Other)])),
            kid_text
        );
        assert_eq!(
            refusal(&Members(vec![
                ("kty", text("oct")),
                ("kid", Member::NotUnicode(257))
            ])),
            kid_text
        );
        assert_eq!(
            refusal(&Members(vec![
                ("kty", text("oct")),
                ("kid", Member::NotUnicode(2))
            ])),
            "JWKS key 3: 'kid' must be valid Unicode (it holds a lone surrogate)"
        );
        // `alg` that we implement but that does not fit the key: before the kid.
        for (kty, alg, kind) in [
            ("oct", "EdDSA", "an oct"),
            ("RSA", "ES256", "an RSA"),
            ("EC", "RS256", "an EC"),
        ] {
            let j = jwk(&[("kty", kty), ("crv", "P-256"), ("alg", alg)]);
            assert_eq!(
                refusal(&j),
                format!("JWKS key 3: 'alg' does not fit {kind} key")
            );
        }
        let j = jwk(&[("kty", "OKP"), ("crv", "Ed25519"), ("alg", "HS256")]);
        assert_eq!(refusal(&j), "JWKS key 3: 'alg' does not fit an Ed25519 key");
        // Members.
        let oct =
            |k: Member<'static>| Members(vec![("kty", text("oct")), ("kid", text("k")), ("k", k)]);
        assert_eq!(
            refusal(&oct(Member::Other)),
            "JWKS key 3: 'k' must be a base64url string"
        );
        assert_eq!(
            refusal(&oct(Member::NotUnicode(4))),
            "JWKS key 3: 'k' is not strict base64url"
        );
        assert_eq!(
            refusal(&oct(text(&format!("{}=", secret())))),
            "JWKS key 3: 'k' is not strict base64url"
        );
        // Key material, with the prefix.
        assert_eq!(
            refusal(&oct(text(&b64url::encode(&[1u8; 31])))),
            "JWKS key 3: an HMAC secret must be at least 32 bytes"
        );
        let x = b64url::encode(&hex(RFC8032_PUBLIC));
        let wrong_d = jwk(&[
            ("kty", "OKP"),
            ("crv", "Ed25519"),
            ("kid", "k"),
            ("x", &x),
            ("d", &b64url::encode(&[9u8; 32])),
        ]);
        assert_eq!(
            refusal(&wrong_d),
            "JWKS key 3: 'x' is not the public key of 'd'"
        );
        let short_x = jwk(&[
            ("kty", "OKP"),
            ("crv", "Ed25519"),
            ("kid", "k"),
            ("x", &x[..40]),
        ]);
        assert_eq!(refusal(&short_x), "JWKS key 3: 'x' must be 32 bytes");
        let even_e = jwk(&[("kty", "RSA"), ("kid", "r"), ("n", &rsa_n()), ("e", "AQAA")]);
        assert_eq!(refusal(&even_e), "JWKS key 3: not a valid RSA public key");
        let no_e = jwk(&[("kty", "RSA"), ("kid", "r"), ("n", &rsa_n())]);
        assert_eq!(refusal(&no_e), "JWKS key 3: 'e' must be a base64url string");
        let off_curve = jwk(&[
            ("kty", "EC"),
            ("crv", "P-256"),
            ("kid", "c"),
            ("x", P256_X),
            ("y", P256_X),
        ]);
        assert_eq!(
            refusal(&off_curve),
            "JWKS key 3: an EC key must be a point on P-256"
        );
        let short_y = jwk(&[
            ("kty", "EC"),
            ("crv", "P-256"),
            ("kid", "c"),
            ("x", P256_X),
            ("y", "AAAA"),
        ]);
        assert_eq!(refusal(&short_y), "JWKS key 3: 'y' must be 32 bytes");
    }

    #[test]
    fn public_keys_without_kid_get_their_thumbprint() {
        // RFC 7638 §3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let rsa = jwk(&[("kty", "RSA"), ("n", n), ("e", "AQAB"), ("alg", "RS256")]);
        let key = read(&rsa).unwrap().unwrap();
        assert_eq!(key.kid(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        assert_eq!(thumbprint(&key).as_deref(), Some(key.kid()));
        // RFC 8037 §A.3.
        let okp = jwk(&[
            ("kty", "OKP"),
            ("crv", "Ed25519"),
            ("x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
        ]);
        assert_eq!(
            read(&okp).unwrap().unwrap().kid(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        let ec = jwk(&[
            ("kty", "EC"),
            ("crv", "P-256"),
            ("x", P256_X),
            ("y", P256_Y),
        ]);
        let ec = read(&ec).unwrap().unwrap();
        assert_eq!(thumbprint(&ec).as_deref(), Some(ec.kid()));
        assert_eq!(thumbprint(&Key::hmac("h", &[3u8; 32]).unwrap()), None);
        // A set of one such key, used by a token without a kid: see jwt.rs. Two identical ones
        // are one kid twice.
        assert!(KeyRing::from_jwk_list([&rsa, &rsa]).is_err());
    }

    #[test]
    fn to_jwk_refuses_what_has_no_such_form() {
        let hmac = Key::hmac("h", &[3u8; 32]).unwrap();
        let private = Key::ed25519_private("p", &hex(RFC8032_SEED)).unwrap();
        let public = private.public_key().unwrap();
        assert!(to_jwk(&hmac, false).is_err());
        assert!(to_jwk(&public, true).is_err());
        let rsa = Key::rsa_public("r", &hex(RSA_N.trim()), &[1, 0, 1], RsaScheme::Pss).unwrap();
        assert_eq!(
            to_jwk(&rsa, true).unwrap_err().message(),
            "an RSA public key has no private JWK"
        );
        let rsa_jwk = to_jwk(&rsa, false).unwrap();
        assert_eq!(rsa_jwk.get("alg").and_then(Value::as_str), Some("PS256"));
        assert_eq!(rsa_jwk.get("e").and_then(Value::as_str), Some("AQAB"));
        let public_jwk = to_jwk(&private, false).unwrap();
        assert_eq!(public_jwk, to_jwk(&public, false).unwrap());
        assert!(public_jwk.get("d").is_none());
    }

    #[test]
    fn duplicate_kids_are_named_as_json_strings() {
        let a = to_jwk(&Key::hmac("a\"\n", &[3u8; 32]).unwrap(), true).unwrap();
        let err = KeyRing::from_jwks(&jwks(vec![a.clone(), a])).unwrap_err();
        assert_eq!(err.message(), r#"duplicate kid "a\"\n" in the key ring"#);
        assert!(KeyRing::from_jwks(&Value::Null).is_err());
    }

    fn jwks(keys: Vec<Value<'static>>) -> Value<'static> {
        Value::Object(vec![(Cow::Borrowed("keys"), Value::Array(keys))])
    }

    #[test]
    fn single_jwks_for_the_key_constructors() {
        let rsa = |members: &[(&'static str, &str)], alg| rsa_key_from_jwk("k", &jwk(members), alg);
        let n = rsa_n();
        let key = rsa(&[("kty", "RSA"), ("n", &n), ("e", "AQAB")], None).unwrap();
        assert!(key.fits_jwt_alg(JwtAlg::Rs256));
        let key = rsa(
            &[("kty", "RSA"), ("n", &n), ("e", "AQAB"), ("alg", "PS256")],
            None,
        )
        .unwrap();
        assert!(key.fits_jwt_alg(JwtAlg::Ps256));
        let key = rsa(
            &[("kty", "RSA"), ("n", &n), ("e", "AQAB")],
            Some(RsaScheme::Pss),
        )
        .unwrap();
        assert!(key.fits_jwt_alg(JwtAlg::Ps256));
        let message = |r: Result<Key, VerifyError>| r.unwrap_err().message().to_owned();
        assert_eq!(
            message(rsa(
                &[("kty", "RSA"), ("n", &n), ("e", "AQAB"), ("alg", "PS256")],
                Some(RsaScheme::Pkcs1v15)
            )),
            "the JWK's 'alg' is not the alg given"
        );
        assert_eq!(
            message(rsa(&[("kty", "EC")], None)),
            crate::keys::NOT_RSA_PEM
        );
        assert_eq!(
            message(rsa(&[("kty", "RSA"), ("n", &n)], None)),
            "'e' must be a base64url string"
        );
        assert_eq!(
            message(rsa(&[("kty", "RSA"), ("n", "AQAB"), ("e", "AQAB")], None)),
            rsa::MODULUS_SIZE
        );
        let ec = |members: &[(&'static str, &str)]| ec_key_from_jwk("k", &jwk(members));
        assert!(ec(&[
            ("kty", "EC"),
            ("crv", "P-256"),
            ("x", P256_X),
            ("y", P256_Y)
        ])
        .is_ok());
        assert_eq!(
            message(ec(&[
                ("kty", "EC"),
                ("crv", "P-384"),
                ("x", P256_X),
                ("y", P256_Y)
            ])),
            crate::keys::NOT_EC_PEM
        );
        assert_eq!(
            message(ec(&[
                ("kty", "EC"),
                ("crv", "P-256"),
                ("x", P256_X),
                ("y", P256_Y),
                ("alg", "ES384")
            ])),
            "'alg' does not fit an EC key"
        );
    }
}
