//! Our strict parser against serde_json on the same bytes: whatever one accepts the other must
//! accept, with equal values, except where we differ on purpose. Those differences, each handled
//! below where it arises:
//!
//! 1. Limits. We refuse nesting deeper than `max_depth` and strings longer than
//!    `max_string_bytes` (the project's defaults, 64 and 1 MiB, are used here); serde_json has
//!    only its own recursion limit (128). An input either side refuses for a limit is not
//!    compared.
//! 2. Duplicate keys. We refuse an object with a key twice (two parsers that disagree on which
//!    copy wins are a signature-bypass vector); serde_json keeps the last copy. An input we
//!    refuse for a duplicate is not compared; one we accept has none, so serde_json's object
//!    must hold as many members as ours.
//! 3. `-0`. We read the integer literal `-0` as the integer 0 (as orjson does); serde_json reads
//!    it as the float -0.0. Equal here.
//! 4. Integers beyond 64 bits. We read an integer literal outside `[i64::MIN, u64::MAX]` as the
//!    nearest double (as orjson and JavaScript do), as serde_json does too; equal only when the
//!    doubles are bit-identical. Floats are compared by bits everywhere (serde_json's
//!    `float_roundtrip` feature makes its parsing correctly rounded, as ours is).
//!
//! Also checked: `parse_validated` and `parse_outlined` (the other entry points) build the same
//! tree as `parse` for any input `parse` accepts, and our encoder's output reads back in
//! serde_json as the same value.
#![no_main]

use fastpath_codec::encode;
use fastpath_codec::json::{self, Outline, ParseErrorKind, ParseLimits};
use fastpath_codec::Value;
use fuzz_support::{is_limit, LIMITS};
use libfuzzer_sys::fuzz_target;
use serde_json::Value as Serde;

fuzz_target!(|data: &[u8]| run(data));

fn run(data: &[u8]) {
    let ours = json::parse(data, &LIMITS);
    let theirs = serde_json::from_slice::<Serde>(data);
    match (&ours, &theirs) {
        (Ok(ours), Ok(theirs)) => {
            if !same(ours, theirs) {
                panic!("values differ: ours {ours:?}, serde_json {theirs:?}");
            }
        }
        (Err(e), _) if is_limit(e) => {} // (1)
        (Err(e), _) if matches!(e.kind, ParseErrorKind::DuplicateKey(_)) => {} // (2)
        (_, Err(e)) if e.to_string().starts_with("recursion limit exceeded") => {} // (1)
        (Err(_), Err(_)) => {}
        (Ok(ours), Err(e)) => panic!("we accept what serde_json refuses ({e}): {ours:?}"),
        (Err(e), Ok(theirs)) => panic!("serde_json accepts what we refuse ({e}): {theirs:?}"),
    }
    let Ok(ours) = ours else { return };

    // The other entry points agree with `parse` on accepted input.
    assert_eq!(json::parse_validated(data).as_ref(), Ok(&ours));
    let outline = Outline {
        inner: "params",
        build: &[],
        skip: false,
    };
    let outlined = json::parse_outlined(data, &LIMITS, &outline).expect("parse accepted it");
    assert_eq!(outlined.value, ours);

    // The encoder's output is JSON with the same value, for serde_json as for us.
    let mut out = Vec::new();
    encode::write_value(&mut out, &ours);
    let deep = ParseLimits {
        max_depth: usize::MAX,
        ..LIMITS
    };
    assert_eq!(json::parse(&out, &deep).as_ref(), Ok(&ours));
    match serde_json::from_slice::<Serde>(&out) {
        Ok(theirs) => assert!(same(&ours, &theirs), "{}", String::from_utf8_lossy(&out)),
        Err(e) if e.to_string().starts_with("recursion limit exceeded") => {}
        Err(e) => panic!(
            "serde_json refuses our output ({e}): {}",
            String::from_utf8_lossy(&out)
        ),
    }
}

/// Whether our value and serde_json's are the same JSON value.
fn same(ours: &Value<'_>, theirs: &Serde) -> bool {
    match (ours, theirs) {
        (Value::Null, Serde::Null) => true,
        (Value::Bool(a), Serde::Bool(b)) => a == b,
        (Value::Int(a), Serde::Number(b)) => match (b.as_i64(), b.as_f64()) {
            (Some(b), _) => *a == b,
            // (3) `-0`: our integer 0, serde_json's -0.0.
            (None, Some(b)) => *a == 0 && b == 0.0 && b.is_sign_negative(),
            (None, None) => false,
        },
        (Value::UInt(a), Serde::Number(b)) => b.as_u64() == Some(*a),
        // (4) A float, and an integer literal beyond 64 bits, are doubles on both sides.
        (Value::Float(a), Serde::Number(b)) => {
            b.is_f64() && b.as_f64().is_some_and(|b| b.to_bits() == a.to_bits())
        }
        (Value::Str(a), Serde::String(b)) => a == b,
        (Value::Array(a), Serde::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b))
        }
        // (2) Ours has no duplicates, so equal sizes mean serde_json dropped no copy.
        (Value::Object(a), Serde::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k.as_ref()).is_some_and(|w| same(v, w)))
        }
        _ => false,
    }
}
