//! Reading keys: a JWK Set into a `KeyRing` (and each JWK on its own), and the PEM and DER
//! readers behind the RSA, P-256 and Ed25519 public keys.
//!
//! Input: a JWKS document (any JSON, parsed with the project's default limits), or, when it does
//! not parse, key bytes for the PEM/DER readers. Besides never panicking: a ring read from a set
//! holds each key its set names, once; every public key read writes back to a JWK that reads back
//! as the same key with the same kid, and a key's RFC 7638 thumbprint does not depend on its kid.
#![no_main]

use fastpath_codec::json;
use fastpath_codec::Value;
use fastpath_verify::der;
use fastpath_verify::jwk::{self, ec_key_from_jwk, key_from_jwk, rsa_key_from_jwk, to_jwk};
use fastpath_verify::keys::RsaScheme;
use fastpath_verify::{Key, KeyRing};
use fuzz_support::LIMITS;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| run(data));

fn run(data: &[u8]) {
    let Ok(document) = json::parse(data, &LIMITS) else {
        key_bytes(data);
        return;
    };
    match KeyRing::from_jwks(&document) {
        Ok(ring) => {
            let Some(Value::Array(jwks)) = document.get("keys") else {
                panic!("a ring from a document without a keys array");
            };
            assert!(ring.len() <= jwks.len());
            for key in ring.keys() {
                assert_eq!(ring.get(key.kid()).map(Key::kid), Some(key.kid()));
                round_trip(key);
            }
        }
        Err(e) => assert!(!e.message().is_empty()),
    }
    // Each member on its own, and as an RSA or EC key given alone.
    let members: &[Value<'_>] = match document.get("keys") {
        Some(Value::Array(items)) => items,
        _ => std::slice::from_ref(&document),
    };
    for (index, jwk) in members.iter().enumerate() {
        if let Ok(Some(key)) = key_from_jwk(jwk, index) {
            round_trip(&key);
        }
        for scheme in [None, Some(RsaScheme::Pkcs1v15), Some(RsaScheme::Pss)] {
            if let Ok(key) = rsa_key_from_jwk("k", jwk, scheme) {
                round_trip(&key);
            }
        }
        if let Ok(key) = ec_key_from_jwk("k", jwk) {
            round_trip(&key);
        }
    }
}

/// A key written as a JWK (the public one, or the private one when there is no public form)
/// reads back as the same key.
fn round_trip(key: &Key) {
    let private = matches!(key, Key::Hmac { .. });
    let written = to_jwk(key, private).expect("every key has a JWK");
    let read = key_from_jwk(&written, 0)
        .expect("our own JWK reads")
        .expect("our own JWK is for us");
    let public = key.public_key().unwrap_or_else(|| key.clone());
    if private {
        assert_eq!(&read, key);
    } else {
        assert_eq!(read, public);
    }
    assert_eq!(read.kid(), key.kid());
    if let Some(thumbprint) = jwk::thumbprint(key) {
        assert_eq!(jwk::thumbprint(&read), Some(thumbprint));
    }
}

/// The PEM and DER readers on arbitrary bytes.
fn key_bytes(data: &[u8]) {
    for scheme in [RsaScheme::Pkcs1v15, RsaScheme::Pss] {
        if let Ok(key) = Key::rsa_public_pem("k", data, scheme) {
            round_trip(&key);
        }
    }
    if let Ok(key) = Key::ec_public_pem("k", data) {
        round_trip(&key);
    }
    if let Ok(key) = Key::ed25519_public("k", data) {
        round_trip(&key);
    }
    let _ = der::spki(data);
    let _ = der::rsa_public_key(data);
    let _ = der::pem_label(data);
}
