//! The signed envelope `dev.mcp-fastpath/sig` and RFC 8785 canonical JSON.
//!
//! Input: a JSON message (parsed with the project's default limits). It is
//! * canonicalized: when JCS accepts it, its canonical form is JSON that reads back to a value
//!   with the very same canonical form (JCS is idempotent), and leaving out a member never adds
//!   bytes;
//! * verified as it is, at a fixed time, against a ring holding the fixed HMAC and Ed25519 keys,
//!   in one go and in the three stages, which must agree;
//! * signed with each key (replacing any envelope it carries), then verified: a message we signed
//!   must verify, as a tree and again after a trip through the encoder and the parser (the wire),
//!   and must stop verifying once its signature is altered.
#![no_main]

use fastpath_codec::encode;
use fastpath_codec::json::{self, ParseLimits};
use fastpath_codec::Value;
use fastpath_verify::envelope::{find_envelope, SIG_MEMBER};
use fastpath_verify::jcs::{self, NotIJson};
use fastpath_verify::{
    signed_bytes, verify_envelope, Check, EnvelopeOptions, EnvelopeVerifier, FixedClock, KeyRing,
};
use fuzz_support::{keys, LIMITS, NOW_MS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| run(data));

fn run(data: &[u8]) {
    let Ok(message) = json::parse(data, &LIMITS) else {
        return;
    };
    canonical(&message);

    let keys = keys();
    let ring = KeyRing::new(vec![keys.hmac.clone(), keys.ed25519.clone()]).expect("two kids");
    for options in [
        EnvelopeOptions::default(),
        EnvelopeOptions {
            audience: Some("aud".into()),
            max_skew_ms: 0,
            require: false,
        },
    ] {
        let once = verify_envelope(&message, &ring, &options, NOW_MS);
        let verifier = EnvelopeVerifier::new(ring.clone().into(), options.clone());
        let staged = verifier
            .verify(&message, &mut FixedClock(NOW_MS as f64 / 1000.0))
            .map_err(|f| f.into_refusal());
        assert_eq!(once, staged);
    }

    for (key, audience) in [(&keys.hmac, None), (&keys.ed25519, Some("aud"))] {
        let mut signed = message.clone();
        let nonce = *b"fuzz-nonce-16byt";
        let Ok(envelope) =
            fastpath_verify::sign_envelope(&mut signed, key, audience, NOW_MS, nonce)
        else {
            continue;
        };
        assert_eq!(find_envelope(&signed), Some(&envelope));
        let options = EnvelopeOptions {
            audience: audience.map(str::to_owned),
            ..EnvelopeOptions::default()
        };
        let info = verify_envelope(&signed, &ring, &options, NOW_MS)
            .unwrap_or_else(|e| panic!("our own signature refused: {e}"))
            .expect("required, so present");
        assert_eq!(info.kid, key.kid());
        assert_eq!(info.iat, NOW_MS);
        assert_eq!(info.nonce, nonce);

        // Over the wire: written, read back, verified again.
        let mut wire = Vec::new();
        encode::write_value(&mut wire, &signed);
        let deep = ParseLimits {
            max_depth: usize::MAX,
            ..LIMITS
        };
        let received = json::parse(&wire, &deep).expect("the encoder writes JSON");
        assert_eq!(
            verify_envelope(&received, &ring, &options, NOW_MS).map(|i| i.is_some()),
            Ok(true),
            "refused after the wire: {}",
            String::from_utf8_lossy(&wire)
        );

        // One flipped signature byte fails at the signature, or at its encoding.
        let mut tampered = signed.clone();
        flip_sig(&mut tampered);
        let check = verify_envelope(&tampered, &ring, &options, NOW_MS)
            .expect_err("an altered signature verified")
            .check();
        assert!(
            matches!(check, Check::BadSignature | Check::MalformedEnvelope),
            "{check:?}"
        );
    }
}

/// JCS is idempotent, and never writes more for a message without its envelope's `sig`.
///
/// One documented refusal stands in the way of plain idempotence: JCS writes an integral double
/// of magnitude 2^53 or more (`1e17`) as an integer literal (`100000000000000000`, as
/// ECMAScript does), and an integer literal beyond ±(2^53 − 1) is not I-JSON for us, so that text
/// read back cannot be canonicalized. Read back with such integers taken as the doubles they
/// came from, it must give the same text.
fn canonical(message: &Value<'_>) {
    let Ok(text) = jcs::canonicalize(message) else {
        return;
    };
    let deep = ParseLimits {
        max_depth: usize::MAX,
        ..LIMITS
    };
    let again = json::parse(&text, &deep).unwrap_or_else(|e| {
        panic!(
            "JCS wrote invalid JSON ({e}): {}",
            String::from_utf8_lossy(&text)
        )
    });
    match jcs::canonicalize(&again) {
        Ok(twice) => assert_eq!(twice, text, "JCS is not idempotent"),
        Err(NotIJson::IntegerOutOfRange) => {
            assert!(
                has_big_integral_float(message),
                "JCS wrote an unsafe integer"
            );
            assert_eq!(
                jcs::canonicalize(&as_doubles(again)).as_deref(),
                Ok(text.as_slice()),
                "JCS is not idempotent"
            );
        }
        Err(e) => panic!(
            "JCS output refused ({e}): {}",
            String::from_utf8_lossy(&text)
        ),
    }
    let without = signed_bytes(message).expect("JCS accepted the whole message");
    assert!(without.len() <= fastpath_verify::envelope::SIGNING_PREFIX.len() + text.len());
}

/// Whether `value` holds an integral float beyond ±(2^53 − 1), which JCS writes as an integer.
fn has_big_integral_float(value: &Value<'_>) -> bool {
    match value {
        Value::Float(f) => f.fract() == 0.0 && f.abs() > jcs::MAX_SAFE_INTEGER as f64,
        Value::Array(items) => items.iter().any(has_big_integral_float),
        Value::Object(members) => members.iter().any(|(_, v)| has_big_integral_float(v)),
        _ => false,
    }
}

/// `value` with every integer beyond ±(2^53 − 1) as the double it reads as.
fn as_doubles(value: Value<'_>) -> Value<'_> {
    let limit = jcs::MAX_SAFE_INTEGER;
    match value {
        Value::Int(i) if i.unsigned_abs() > limit => Value::Float(i as f64),
        Value::UInt(u) if u > limit => Value::Float(u as f64),
        Value::Array(items) => Value::Array(items.into_iter().map(as_doubles).collect()),
        Value::Object(members) => Value::Object(
            members
                .into_iter()
                .map(|(k, v)| (k, as_doubles(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Change the first character of the envelope's `sig` to another base64url character.
fn flip_sig(message: &mut Value<'_>) {
    let carrier = fastpath_verify::envelope::carrier(message);
    let Some(Value::Str(sig)) = member(message, &[carrier, "_meta", SIG_MEMBER, "sig"]) else {
        panic!("a signed message has a sig");
    };
    let mut text = sig.to_string();
    let first = if text.starts_with('A') { "B" } else { "A" };
    text.replace_range(..1, first);
    *sig = text.into();
}

fn member<'m, 'a>(value: &'m mut Value<'a>, path: &[&str]) -> Option<&'m mut Value<'a>> {
    let Some((head, rest)) = path.split_first() else {
        return Some(value);
    };
    let Value::Object(members) = value else {
        return None;
    };
    let (_, child) = members.iter_mut().find(|(k, _)| k == head)?;
    member(child, rest)
}
