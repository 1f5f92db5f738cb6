//! JWT verification against a ring of the fixed HS256, Ed25519, RS256, PS256 and ES256 keys.
//!
//! Input: a first byte that picks the mode, then
//! * below 0x40 (digits and punctuation in the seeds) — raw: the rest is the token text,
//!   verified as given, through `verify_jwt` and through a caching `JwtVerifier`, which must agree
//!   (and agree with themselves on a second look, the cached one answering from its cache);
//! * from 0x40 on (letters; `B` HS256, `C` EdDSA, `D` Ed25519, `E` RS256, `F` PS256, `G` ES256) —
//!   signed: the rest is `header JSON` `\n` `payload JSON`, made into a token and signed with the
//!   fixed key of the algorithm `SIGNERS[byte % 6]`, so that fuzzed headers and claims get past
//!   the signature check to steps 5 to 8.
//!
//! A panic anywhere is a finding; so is a correctly signed token refused as "bad signature" when
//! its header names the signing algorithm and the key (or no kid, the algorithm fitting one key
//! only), or a token accepted whose claims do not say what the principal says.
#![no_main]

use fastpath_codec::json;
use fastpath_codec::Value;
use fastpath_verify::b64url;
use fastpath_verify::jwt::JSON_LIMITS;
use fastpath_verify::{verify_jwt, Check, JwtVerifier, Principal, Token};
use fuzz_support::{jwt_options, keys, AUDIENCE, ISSUER, NOW_S, SIGNERS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| run(data));

fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode < 0x40 {
        if let Ok(token) = std::str::from_utf8(rest) {
            verify(token, None);
        }
        return;
    }
    let (alg, kid) = SIGNERS[usize::from(mode) % SIGNERS.len()];
    let (header, payload) = match rest.iter().position(|&b| b == b'\n') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &b"{}"[..]),
    };
    let mut token = b64url::encode(header);
    token.push('.');
    token.push_str(&b64url::encode(payload));
    let signature = keys().sign(alg, token.as_bytes());
    token.push('.');
    token.push_str(&b64url::encode(&signature));

    // Whether the header points at the signing key: its `alg`, and its kid or none.
    let names_signer = json::parse(header, &JSON_LIMITS).is_ok_and(|h| {
        h.get("alg").and_then(Value::as_str) == Some(alg.as_str())
            && match h.get("kid") {
                Some(Value::Str(k)) => k == kid,
                None => true,
                Some(_) => false,
            }
            && h.get("crit").is_none()
    });
    verify(&token, names_signer.then_some(kid));
}

/// Verify `token` every way there is; `signer`: the kid of the key that signed it, when the
/// header names that key.
fn verify(token: &str, signer: Option<&str>) {
    let keys = keys();
    let options = jwt_options();
    let direct = verify_jwt(token, &keys.ring, &options, NOW_S);
    let cached: JwtVerifier<Principal> = JwtVerifier::new(keys.ring.clone(), options.clone(), 4);
    let first = cached.verify_at(Token::Text(token), NOW_S);
    let second = cached.verify_at(Token::Text(token), NOW_S);
    match (&direct, &first, &second) {
        (Ok(p), Ok(a), Ok(b)) => {
            assert_eq!(p, a.as_ref());
            assert_eq!(p, b.as_ref());
            check_principal(p);
        }
        (Err(e), Err(a), Err(b)) => {
            assert_eq!(e, a);
            assert_eq!(e, b);
            if signer.is_some() {
                assert_ne!(e.check(), Check::BadSignature, "signed by the key it names");
                assert_ne!(e.check(), Check::UnknownKid, "signed by the key it names");
                assert_ne!(
                    e.check(),
                    Check::AlgorithmMismatch,
                    "signed by the key it names"
                );
            }
        }
        _ => panic!("verifiers disagree: {direct:?} / {first:?} / {second:?}"),
    }
    // Later: still within `exp` (the cache keeps it), or not.
    let later = NOW_S + 3600.0;
    let direct = verify_jwt(token, &keys.ring, &options, later);
    let cached = cached.verify_at(Token::Text(token), later);
    assert_eq!(direct.as_ref().err(), cached.as_ref().err());
}

/// An accepted token's principal says what its claims say.
fn check_principal(p: &Principal) {
    assert_eq!(p.issuer, ISSUER);
    assert_eq!(p.audience, AUDIENCE);
    assert_eq!(p.claims.get("iss").and_then(Value::as_str), Some(ISSUER));
    assert_eq!(
        p.subject.as_deref(),
        p.claims.get("sub").and_then(Value::as_str)
    );
    assert!(NOW_S < p.expires_at + jwt_options().leeway_s);
    assert!(p.scopes.iter().all(|s| !s.is_empty()));
}
