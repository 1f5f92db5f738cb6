//! The signed envelope `dev.mcp-fastpath/sig`: signing, and verification in the
//! order of `docs/verification.md` (first failure wins).
//!
//! The envelope is a member of `params._meta` in a request (a message with a `method`) and of
//! `result._meta` in a response. It signs `b"mcp-fastpath/sig/v1\n" + JCS(message)` with only
//! the envelope's own `sig` member left out, so `v`, `alg`, `kid`, `iat`, `nonce`, `aud`, `id`,
//! `method` and every parameter are covered.

use std::borrow::Cow;

use fastpath_codec::Value;

use std::sync::Arc;

use crate::b64url;
use crate::clock::{Clock, Failure};
use crate::errors::{msg, Check, VerifyError};
use crate::jcs::{self, NotIJson};
use crate::keyring::KeyRing;
use crate::keys::Key;

/// The `_meta` member that holds the envelope.
pub const SIG_MEMBER: &str = "dev.mcp-fastpath/sig";
/// Domain separation: what precedes the canonical message in the signed bytes.
pub const SIGNING_PREFIX: &[u8] = b"mcp-fastpath/sig/v1\n";
/// Bytes in a nonce.
pub const NONCE_BYTES: usize = 16;

/// What a verified envelope said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureInfo {
    pub kid: String,
    /// `hmac-sha256` or `ed25519`.
    pub alg: &'static str,
    /// Unix milliseconds.
    pub iat: i64,
    pub nonce: [u8; NONCE_BYTES],
    pub aud: Option<String>,
}

/// How a verifier treats envelopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeOptions {
    /// When set, the envelope must carry `aud` equal to it.
    pub audience: Option<String>,
    /// Largest accepted `|now − iat|`, in milliseconds.
    pub max_skew_ms: i64,
    /// Whether a message without an envelope is refused (`true`) or passes as `None`.
    pub require: bool,
}

impl Default for EnvelopeOptions {
    fn default() -> Self {
        EnvelopeOptions {
            audience: None,
            max_skew_ms: 60_000,
            require: true,
        }
    }
}

/// The member of `message` that carries `_meta` and so the envelope: `result` for a response (a
/// message with `result` and no `method`), else `params`.
pub fn carrier(message: &Value<'_>) -> &'static str {
    if message.get("method").is_none() && message.get("result").is_some() {
        "result"
    } else {
        "params"
    }
}

/// The envelope object in `message` (`<carrier>._meta["dev.mcp-fastpath/sig"]`), of any type.
pub fn find_envelope<'v, 'a>(message: &'v Value<'a>) -> Option<&'v Value<'a>> {
    message.get(carrier(message))?.get("_meta")?.get(SIG_MEMBER)
}

/// The bytes an envelope signs: [`SIGNING_PREFIX`] + JCS of `message` without the envelope's
/// `sig` member (skipped while writing; nothing is cloned).
pub fn signed_bytes(message: &Value<'_>) -> Result<Vec<u8>, NotIJson> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(SIGNING_PREFIX);
    jcs::write_canonical_without(
        message,
        &[carrier(message), "_meta", SIG_MEMBER, "sig"],
        &mut out,
    )?;
    Ok(out)
}

/// Verify the envelope of `message` at `now_ms` in one go (see [`EnvelopeVerifier`]).
pub fn verify_envelope(
    message: &Value<'_>,
    ring: &KeyRing,
    options: &EnvelopeOptions,
    now_ms: i64,
) -> Result<Option<SignatureInfo>, VerifyError> {
    let Some(opened) = open(message, ring, options)? else {
        return Ok(None);
    };
    opened.check_signature()?.check_window(now_ms).map(Some)
}

/// Verifies envelopes against a key ring. Order, first failure wins, every failure -32010:
/// (1) present, else "request is not signed" (or nothing when not required); (2) shape,
/// "malformed signature envelope: <member>"; (3) `kid` in the ring, "unknown key id"; (4) `alg`
/// is the key's, "algorithm does not match the key"; (5) the message is I-JSON; (6) signature,
/// "bad signature"; (7) `|now − iat|` within `max_skew_ms`, "signature is stale or from the
/// future"; (8) `aud` equal to ours when we have an audience, "wrong audience". The caller checks
/// `(kid, nonce)` for replay.
///
/// The steps come in three stages, so that a caller reads what it needs where the contract reads
/// it: [`EnvelopeVerifier::open`] (1–4), [`Opened::check_signature`] (5–6),
/// [`Signed::check_window`] (7–8, the only one that needs the time).
#[derive(Debug, Clone)]
pub struct EnvelopeVerifier {
    ring: Arc<KeyRing>,
    options: EnvelopeOptions,
}

impl EnvelopeVerifier {
    pub fn new(ring: Arc<KeyRing>, options: EnvelopeOptions) -> Self {
        EnvelopeVerifier { ring, options }
    }

    pub fn ring(&self) -> &Arc<KeyRing> {
        &self.ring
    }

    pub fn options(&self) -> &EnvelopeOptions {
        &self.options
    }

    /// Steps 1–4; `Ok(None)` for an unsigned message when not required.
    pub fn open<'m, 'a>(
        &self,
        message: &'m Value<'a>,
    ) -> Result<Option<Opened<'m, 'a, '_>>, VerifyError> {
        open(message, &self.ring, &self.options)
    }

    /// Every step, reading `clock` at step 7.
    pub fn verify<C: Clock>(
        &self,
        message: &Value<'_>,
        clock: &mut C,
    ) -> Result<Option<SignatureInfo>, Failure<C::Error>> {
        let Some(opened) = self.open(message)? else {
            return Ok(None);
        };
        let signed = opened.check_signature()?;
        let now_ms = clock.unix_millis().map_err(Failure::Clock)?;
        Ok(Some(signed.check_window(now_ms)?))
    }
}

fn open<'m, 'a, 'v>(
    message: &'m Value<'a>,
    ring: &'v KeyRing,
    options: &'v EnvelopeOptions,
) -> Result<Option<Opened<'m, 'a, 'v>>, VerifyError> {
    // 1. Presence.
    let Some(envelope) = find_envelope(message) else {
        return if options.require {
            Err(VerifyError::new(Check::NotSigned, msg::NOT_SIGNED))
        } else {
            Ok(None)
        };
    };
    // 2. Shape.
    let fields = EnvelopeFields::read(envelope)?;
    // 3. Key.
    let key = ring
        .get(fields.kid)
        .ok_or_else(|| VerifyError::new(Check::UnknownKid, msg::UNKNOWN_KID))?;
    // 4. Algorithm bound to the key.
    if key.envelope_alg() != Some(fields.alg) {
        return Err(VerifyError::new(
            Check::AlgorithmMismatch,
            msg::ALG_MISMATCH,
        ));
    }
    Ok(Some(Opened {
        message,
        fields,
        key,
        options,
    }))
}

/// An envelope whose shape, key and algorithm passed (steps 1–4).
pub struct Opened<'m, 'a, 'v> {
    message: &'m Value<'a>,
    fields: EnvelopeFields<'m>,
    key: &'v Key,
    options: &'v EnvelopeOptions,
}

impl<'m, 'v> Opened<'m, '_, 'v> {
    /// Steps 5 (I-JSON) and 6 (signature).
    pub fn check_signature(self) -> Result<Signed<'m, 'v>, VerifyError> {
        let signed = signed_bytes(self.message).map_err(VerifyError::not_i_json)?;
        if !self.key.verify(&signed, &self.fields.sig) {
            return Err(VerifyError::new(Check::BadSignature, msg::BAD_SIGNATURE));
        }
        Ok(Signed {
            fields: self.fields,
            alg: self.key.envelope_alg().expect("checked at step 4"),
            options: self.options,
        })
    }
}

/// An envelope whose signature verified (steps 1–6).
pub struct Signed<'m, 'v> {
    fields: EnvelopeFields<'m>,
    alg: &'static str,
    options: &'v EnvelopeOptions,
}

impl Signed<'_, '_> {
    /// Steps 7 (time window) and 8 (audience).
    pub fn check_window(self, now_ms: i64) -> Result<SignatureInfo, VerifyError> {
        let fields = self.fields;
        // After step 5, `iat` is an integer within ±(2^53 − 1).
        let iat = match *fields.iat {
            Value::Int(i) => i,
            // Only a hand-built tree holds a small `UInt`; the parser makes it an `Int`.
            Value::UInt(u) => {
                i64::try_from(u).map_err(|_| VerifyError::malformed_envelope("iat"))?
            }
            _ => return Err(VerifyError::malformed_envelope("iat")),
        };
        if (i128::from(now_ms) - i128::from(iat)).abs() > i128::from(self.options.max_skew_ms) {
            return Err(VerifyError::new(Check::Stale, msg::STALE));
        }
        if let Some(ours) = &self.options.audience {
            if fields.aud != Some(ours.as_str()) {
                return Err(VerifyError::new(Check::WrongAudience, msg::WRONG_AUDIENCE));
            }
        }
        Ok(SignatureInfo {
            kid: fields.kid.to_owned(),
            alg: self.alg,
            iat,
            nonce: fields.nonce,
            aud: fields.aud.map(str::to_owned),
        })
    }
}

/// The envelope members, type-checked (step 2).
struct EnvelopeFields<'v> {
    alg: &'v str,
    kid: &'v str,
    /// `Int` or `UInt`: the range is the I-JSON check's job (step 5).
    iat: &'v Value<'v>,
    nonce: [u8; NONCE_BYTES],
    aud: Option<&'v str>,
    sig: Vec<u8>,
}

const MEMBERS: [&str; 7] = ["v", "alg", "kid", "iat", "nonce", "aud", "sig"];

impl<'v> EnvelopeFields<'v> {
    /// A member outside the seven is refused first ("unexpected member"), then the members are
    /// checked in the order `v, alg, kid, iat, nonce, aud, sig`; the message names the first
    /// failing one.
    fn read<'a: 'v>(envelope: &'v Value<'a>) -> Result<Self, VerifyError> {
        let Value::Object(members) = envelope else {
            return Err(VerifyError::malformed_envelope(SIG_MEMBER));
        };
        if members.iter().any(|(k, _)| !MEMBERS.contains(&k.as_ref())) {
            return Err(VerifyError::malformed_envelope("unexpected member"));
        }
        let get = |name: &str| members.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let text = |name: &'static str| match get(name) {
            Some(Value::Str(s)) => Ok(s.as_ref()),
            _ => Err(VerifyError::malformed_envelope(name)),
        };
        if !matches!(get("v"), Some(Value::Int(1))) {
            return Err(VerifyError::malformed_envelope("v"));
        }
        let alg = text("alg")?;
        let kid = text("kid")?;
        let iat = match get("iat") {
            Some(v @ (Value::Int(_) | Value::UInt(_))) => v,
            _ => return Err(VerifyError::malformed_envelope("iat")),
        };
        let nonce = b64url::decode(text("nonce")?)
            .ok()
            .and_then(|bytes| <[u8; NONCE_BYTES]>::try_from(bytes).ok())
            .ok_or_else(|| VerifyError::malformed_envelope("nonce"))?;
        let aud = match get("aud") {
            None => None,
            Some(Value::Str(s)) => Some(s.as_ref()),
            Some(_) => return Err(VerifyError::malformed_envelope("aud")),
        };
        let sig =
            b64url::decode(text("sig")?).map_err(|_| VerifyError::malformed_envelope("sig"))?;
        Ok(EnvelopeFields {
            alg,
            kid,
            iat,
            nonce,
            aud,
            sig,
        })
    }
}

/// Sign `message` in place: put `{"v":1,"alg","kid","iat","nonce"[,"aud"],"sig"}` at
/// `<carrier>._meta["dev.mcp-fastpath/sig"]` (creating `params`/`result` and `_meta` when absent,
/// replacing an envelope already there) and return a copy of that envelope object.
///
/// Errors: a public key (`InvalidKey`); a message that is not an object or whose carrier or
/// `_meta` is not an object, or a message that is not I-JSON (-32010).
pub fn sign_envelope(
    message: &mut Value<'_>,
    key: &Key,
    audience: Option<&str>,
    iat_ms: i64,
    nonce: [u8; NONCE_BYTES],
) -> Result<Value<'static>, VerifyError> {
    let alg = match key.envelope_alg() {
        Some(alg) if key.can_sign() => alg,
        _ => return Err(VerifyError::invalid_key(msg::PUBLIC_CANNOT_SIGN)),
    };
    let carrier = carrier(message);
    let Value::Object(top) = message else {
        return Err(VerifyError::cannot_sign("not a JSON object"));
    };
    let meta = object_member(object_member(top, carrier)?, "_meta")?;
    let mut envelope: Vec<(Cow<'static, str>, Value<'static>)> = vec![
        (Cow::Borrowed("v"), Value::Int(1)),
        (Cow::Borrowed("alg"), Value::Str(Cow::Borrowed(alg))),
        (
            Cow::Borrowed("kid"),
            Value::Str(Cow::Owned(key.kid().to_owned())),
        ),
        (Cow::Borrowed("iat"), Value::Int(iat_ms)),
        (
            Cow::Borrowed("nonce"),
            Value::Str(Cow::Owned(b64url::encode(&nonce))),
        ),
    ];
    if let Some(aud) = audience {
        envelope.push((Cow::Borrowed("aud"), Value::Str(Cow::Owned(aud.to_owned()))));
    }
    set_member(meta, SIG_MEMBER, Value::Object(envelope.clone()));
    let signed = signed_bytes(message).map_err(VerifyError::not_i_json)?;
    let sig = b64url::encode(&key.sign(&signed)?);
    envelope.push((Cow::Borrowed("sig"), Value::Str(Cow::Owned(sig))));
    let envelope = Value::Object(envelope);
    // The envelope was put in place above; replace it with the signed one.
    let Value::Object(top) = message else {
        unreachable!("checked above")
    };
    let meta = object_member(object_member(top, carrier)?, "_meta")?;
    set_member(meta, SIG_MEMBER, envelope.clone());
    Ok(envelope)
}

type Members<'a> = Vec<(Cow<'a, str>, Value<'a>)>;

/// The object at `members[name]`, inserted empty when absent.
fn object_member<'m, 'a>(
    members: &'m mut Members<'a>,
    name: &'static str,
) -> Result<&'m mut Members<'a>, VerifyError> {
    let i = match members.iter().position(|(k, _)| k == name) {
        Some(i) => i,
        None => {
            members.push((Cow::Borrowed(name), Value::Object(Vec::new())));
            members.len() - 1
        }
    };
    match &mut members[i].1 {
        Value::Object(inner) => Ok(inner),
        _ => Err(VerifyError::cannot_sign(&format!(
            "{name} is not an object"
        ))),
    }
}

fn set_member<'a>(members: &mut Members<'a>, name: &'static str, value: Value<'a>) {
    match members.iter_mut().find(|(k, _)| k == name) {
        Some((_, slot)) => *slot = value,
        None => members.push((Cow::Borrowed(name), value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::ErrorKind;
    use crate::keys::tests::{hex, RFC8032_SEED};

    const NOW: i64 = 1_780_000_000_000;
    const NONCE: [u8; 16] = *b"0123456789abcdef";

    fn s(text: &str) -> Value<'static> {
        Value::Str(Cow::Owned(text.to_owned()))
    }

    fn obj(members: Vec<(&str, Value<'static>)>) -> Value<'static> {
        Value::Object(
            members
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.to_owned()), v))
                .collect(),
        )
    }

    fn request() -> Value<'static> {
        obj(vec![
            ("jsonrpc", s("2.0")),
            ("id", Value::Int(7)),
            ("method", s("tools/call")),
            (
                "params",
                obj(vec![
                    ("name", s("add")),
                    (
                        "arguments",
                        obj(vec![("a", Value::Int(1)), ("b", Value::Float(2.5))]),
                    ),
                    (
                        "_meta",
                        obj(vec![(
                            "io.modelcontextprotocol/protocolVersion",
                            s("2026-07-28"),
                        )]),
                    ),
                ]),
            ),
        ])
    }

    fn hmac_key() -> Key {
        Key::hmac("h1", &[0x42; 32]).unwrap()
    }

    fn ed_key() -> Key {
        Key::ed25519_private("e1", &hex(RFC8032_SEED)).unwrap()
    }

    fn ring() -> KeyRing {
        KeyRing::new(vec![hmac_key(), ed_key().public_key().unwrap()]).unwrap()
    }

    fn opts(audience: Option<&str>) -> EnvelopeOptions {
        EnvelopeOptions {
            audience: audience.map(str::to_owned),
            ..EnvelopeOptions::default()
        }
    }

    fn signed(key: &Key, aud: Option<&str>) -> Value<'static> {
        let mut m = request();
        sign_envelope(&mut m, key, aud, NOW, NONCE).unwrap();
        m
    }

    fn verify(m: &Value<'_>, o: &EnvelopeOptions) -> Result<Option<SignatureInfo>, VerifyError> {
        verify_envelope(m, &ring(), o, NOW)
    }

    fn err(m: &Value<'_>, o: &EnvelopeOptions) -> String {
        let e = verify(m, o).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert_eq!(e.code(), Some(-32010));
        e.message().to_owned()
    }

    /// Edit the envelope members of a signed request.
    fn with_envelope(
        mut m: Value<'static>,
        edit: impl FnOnce(&mut Members<'static>),
    ) -> Value<'static> {
        let Value::Object(top) = &mut m else { panic!() };
        let params = object_member(top, "params").unwrap();
        let meta = object_member(params, "_meta").unwrap();
        let env = object_member(meta, SIG_MEMBER).unwrap();
        edit(env);
        m
    }

    fn set(name: &'static str, value: Value<'static>) -> impl FnOnce(&mut Members<'static>) {
        move |env| set_member(env, name, value)
    }

    fn remove(name: &'static str) -> impl FnOnce(&mut Members<'static>) {
        move |env| env.retain(|(k, _)| k != name)
    }

    #[test]
    fn round_trip_both_algorithms() {
        for key in [hmac_key(), ed_key()] {
            let m = signed(&key, Some("https://api.example"));
            let info = verify(&m, &opts(Some("https://api.example")))
                .unwrap()
                .unwrap();
            assert_eq!(
                info,
                SignatureInfo {
                    kid: key.kid().to_owned(),
                    alg: key.envelope_alg().unwrap(),
                    iat: NOW,
                    nonce: NONCE,
                    aud: Some("https://api.example".to_owned()),
                }
            );
            // Without an audience configured, `aud` is reported but not required.
            assert!(verify(&m, &opts(None)).unwrap().is_some());
        }
    }

    #[test]
    fn signed_bytes_are_prefix_plus_jcs_without_sig() {
        let m = signed(&hmac_key(), None);
        let bytes = signed_bytes(&m).unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert_eq!(
            text,
            "mcp-fastpath/sig/v1\n{\"id\":7,\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":{\"_meta\":\
             {\"dev.mcp-fastpath/sig\":{\"alg\":\"hmac-sha256\",\"iat\":1780000000000,\"kid\":\"h1\",\
             \"nonce\":\"MDEyMzQ1Njc4OWFiY2RlZg\",\"v\":1},\"io.modelcontextprotocol/protocolVersion\":\
             \"2026-07-28\"},\"arguments\":{\"a\":1,\"b\":2.5},\"name\":\"add\"}}"
        );
        let sig = find_envelope(&m)
            .unwrap()
            .get("sig")
            .unwrap()
            .as_str()
            .unwrap();
        assert_eq!(
            b64url::decode(sig).unwrap(),
            hmac_key().sign(&bytes).unwrap()
        );
    }

    #[test]
    fn responses_carry_it_in_result() {
        let mut m = obj(vec![
            ("jsonrpc", s("2.0")),
            ("id", Value::Int(7)),
            ("result", obj(vec![("content", Value::Array(vec![]))])),
        ]);
        sign_envelope(&mut m, &ed_key(), None, NOW, NONCE).unwrap();
        assert!(m
            .get("result")
            .unwrap()
            .get("_meta")
            .unwrap()
            .get(SIG_MEMBER)
            .is_some());
        assert!(verify(&m, &opts(None)).unwrap().is_some());
    }

    #[test]
    fn step1_missing() {
        let m = request();
        assert_eq!(err(&m, &opts(None)), "request is not signed");
        let lax = EnvelopeOptions {
            require: false,
            ..opts(None)
        };
        assert_eq!(verify(&m, &lax).unwrap(), None);
        // A response-shaped message (`result`, no `method`) is looked up in `result` only.
        let mut moved = signed(&hmac_key(), None);
        if let Value::Object(top) = &mut moved {
            top.retain(|(k, _)| k != "method");
            top.push((Cow::Borrowed("result"), obj(vec![])));
        }
        assert_eq!(err(&moved, &opts(None)), "request is not signed");
        // Without `method` or `result`, `params` carries it.
        let mut bare = signed(&hmac_key(), None);
        if let Value::Object(top) = &mut bare {
            top.retain(|(k, _)| k != "method");
        }
        assert_eq!(err(&bare, &opts(None)), "bad signature");
    }

    #[test]
    fn step2_shape() {
        let base = || signed(&hmac_key(), Some("aud"));
        type Edit = Box<dyn FnOnce(&mut Members<'static>)>;
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(set("v", Value::Int(2))), "v"),
            (Box::new(set("v", Value::Float(1.0))), "v"),
            (Box::new(set("v", Value::Bool(true))), "v"),
            (Box::new(remove("v")), "v"),
            (Box::new(set("alg", Value::Int(1))), "alg"),
            (Box::new(remove("alg")), "alg"),
            (Box::new(set("kid", Value::Null)), "kid"),
            (Box::new(set("iat", Value::Float(1.5))), "iat"),
            (Box::new(set("iat", s("1"))), "iat"),
            (Box::new(remove("iat")), "iat"),
            (
                Box::new(set("nonce", s("MDEyMzQ1Njc4OWFiY2RlZg=="))),
                "nonce",
            ),
            (
                Box::new(set("nonce", s(&b64url::encode(&[0u8; 15])))),
                "nonce",
            ),
            (
                Box::new(set("nonce", s(&b64url::encode(&[0u8; 17])))),
                "nonce",
            ),
            (Box::new(set("nonce", s("MDEyMzQ1Njc4OWFiY2RlZh"))), "nonce"),
            (Box::new(remove("nonce")), "nonce"),
            (Box::new(set("aud", Value::Null)), "aud"),
            (Box::new(set("sig", s("a+b/"))), "sig"),
            (Box::new(set("sig", Value::Int(0))), "sig"),
            (Box::new(remove("sig")), "sig"),
            (Box::new(set("extra", Value::Int(0))), "unexpected member"),
        ];
        for (edit, member) in cases {
            let m = with_envelope(base(), edit);
            assert_eq!(
                err(&m, &opts(None)),
                format!("malformed signature envelope: {member}")
            );
        }
        // Not an object at all.
        let mut m = request();
        if let Value::Object(top) = &mut m {
            let meta = object_member(object_member(top, "params").unwrap(), "_meta").unwrap();
            set_member(meta, SIG_MEMBER, s("sig"));
        }
        assert_eq!(
            err(&m, &opts(None)),
            "malformed signature envelope: dev.mcp-fastpath/sig"
        );
        // Earlier members are reported first; an unexpected member before any.
        let m = with_envelope(base(), |env| {
            set_member(env, "sig", Value::Null);
            set_member(env, "kid", Value::Null);
        });
        assert_eq!(err(&m, &opts(None)), "malformed signature envelope: kid");
        let m = with_envelope(base(), |env| {
            set_member(env, "v", Value::Null);
            env.push((Cow::Borrowed("zzz"), Value::Null));
        });
        assert_eq!(
            err(&m, &opts(None)),
            "malformed signature envelope: unexpected member"
        );
    }

    #[test]
    fn step3_unknown_kid_and_step4_alg() {
        let m = with_envelope(signed(&hmac_key(), None), set("kid", s("nope")));
        assert_eq!(err(&m, &opts(None)), "unknown key id");
        // An HMAC-signed envelope naming the Ed25519 key, and the reverse, and `none`.
        let m = with_envelope(signed(&hmac_key(), None), set("kid", s("e1")));
        assert_eq!(err(&m, &opts(None)), "algorithm does not match the key");
        let m = with_envelope(signed(&ed_key(), None), set("alg", s("hmac-sha256")));
        assert_eq!(err(&m, &opts(None)), "algorithm does not match the key");
        let m = with_envelope(signed(&hmac_key(), None), set("alg", s("none")));
        assert_eq!(err(&m, &opts(None)), "algorithm does not match the key");
        // HMAC keyed with the Ed25519 public key bytes, claiming that kid: refused by binding.
        let confused = Key::hmac("e1", &ed_key().public_bytes().unwrap()).unwrap();
        let m = signed(&confused, None);
        assert_eq!(err(&m, &opts(None)), "algorithm does not match the key");
    }

    #[test]
    fn step5_i_json() {
        let mut m = request();
        if let Value::Object(top) = &mut m {
            let params = object_member(top, "params").unwrap();
            set_member(params, "big", Value::Int(1 << 53));
        }
        let e = sign_envelope(&mut m.clone(), &hmac_key(), None, NOW, NONCE).unwrap_err();
        assert_eq!(
            e.message(),
            "message is not I-JSON: integer beyond ±(2^53 − 1)"
        );
        // Signed first, then a big integer slipped in: I-JSON fails before the signature.
        let m = with_envelope(signed(&hmac_key(), None), set("iat", Value::UInt(u64::MAX)));
        assert_eq!(
            err(&m, &opts(None)),
            "message is not I-JSON: integer beyond ±(2^53 − 1)"
        );
        let m = with_envelope(signed(&hmac_key(), None), set("iat", Value::Int(1 << 60)));
        assert_eq!(
            err(&m, &opts(None)),
            "message is not I-JSON: integer beyond ±(2^53 − 1)"
        );
        let mut m = signed(&hmac_key(), None);
        if let Value::Object(top) = &mut m {
            set_member(
                object_member(top, "params").unwrap(),
                "x",
                Value::Float(f64::INFINITY),
            );
        }
        assert_eq!(
            err(&m, &opts(None)),
            "message is not I-JSON: non-finite number"
        );
        // A small UInt (only a hand-built tree has one) is an ordinary integer.
        let mut m = request();
        sign_envelope(&mut m, &hmac_key(), None, NOW, NONCE).unwrap();
        let m = with_envelope(m, set("iat", Value::UInt(NOW as u64)));
        assert!(verify(&m, &opts(None)).unwrap().is_some());
        let m = with_envelope(signed(&hmac_key(), None), set("x", Value::Float(f64::NAN)));
        // Shape (unexpected member) comes before I-JSON.
        assert_eq!(
            err(&m, &opts(None)),
            "malformed signature envelope: unexpected member"
        );
    }

    #[test]
    fn step6_every_covered_field_is_signed() {
        for key in [hmac_key(), ed_key()] {
            let base = || signed(&key, Some("aud"));
            let tampered = [
                with_envelope(base(), set("iat", Value::Int(NOW + 1))),
                with_envelope(base(), set("nonce", s(&b64url::encode(&[1u8; 16])))),
                with_envelope(base(), set("aud", s("other"))),
                with_envelope(base(), remove("aud")),
                with_envelope(base(), set("sig", s(&b64url::encode(&[0u8; 64])))),
                with_envelope(base(), set("sig", s(""))),
            ];
            for m in &tampered {
                assert_eq!(err(m, &opts(None)), "bad signature");
            }
            let mut m = base();
            if let Value::Object(top) = &mut m {
                set_member(top, "id", Value::Int(8));
            }
            assert_eq!(err(&m, &opts(None)), "bad signature");
            let mut m = base();
            if let Value::Object(top) = &mut m {
                let params = object_member(top, "params").unwrap();
                set_member(params, "name", s("sub"));
            }
            assert_eq!(err(&m, &opts(None)), "bad signature");
            let mut m = base();
            if let Value::Object(top) = &mut m {
                let meta = object_member(object_member(top, "params").unwrap(), "_meta").unwrap();
                set_member(
                    meta,
                    "io.modelcontextprotocol/protocolVersion",
                    s("2025-11-25"),
                );
            }
            assert_eq!(err(&m, &opts(None)), "bad signature");
        }
        // Member order on the wire does not matter (JCS sorts).
        let mut m = signed(&hmac_key(), None);
        if let Value::Object(top) = &mut m {
            top.reverse();
        }
        assert!(verify(&m, &opts(None)).unwrap().is_some());
    }

    #[test]
    fn step6_ed25519_non_canonical_s() {
        let m = signed(&ed_key(), None);
        let sig = b64url::decode(
            find_envelope(&m)
                .unwrap()
                .get("sig")
                .unwrap()
                .as_str()
                .unwrap(),
        )
        .unwrap();
        let mut malleated = sig.clone();
        // Add L to S (little-endian).
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(malleated[32 + i]) + u16::from(l[i]) + carry;
            malleated[32 + i] = sum as u8;
            carry = sum >> 8;
        }
        let m = with_envelope(m, set("sig", s(&b64url::encode(&malleated))));
        assert_eq!(err(&m, &opts(None)), "bad signature");
    }

    #[test]
    fn step7_time_window() {
        let m = signed(&hmac_key(), None);
        let o = opts(None);
        for now in [NOW - 60_000, NOW + 60_000, NOW] {
            assert!(verify_envelope(&m, &ring(), &o, now).is_ok());
        }
        for now in [NOW - 60_001, NOW + 60_001, i64::MIN, i64::MAX] {
            let e = verify_envelope(&m, &ring(), &o, now).unwrap_err();
            assert_eq!(e.message(), "signature is stale or from the future");
        }
        let tight = EnvelopeOptions {
            max_skew_ms: 0,
            ..o
        };
        assert!(verify_envelope(&m, &ring(), &tight, NOW).is_ok());
        assert!(verify_envelope(&m, &ring(), &tight, NOW + 1).is_err());
    }

    #[test]
    fn step8_audience() {
        let m = signed(&hmac_key(), Some("https://a"));
        assert_eq!(err(&m, &opts(Some("https://b"))), "wrong audience");
        let m = signed(&hmac_key(), None);
        assert_eq!(err(&m, &opts(Some("https://a"))), "wrong audience");
        // Stale beats wrong audience (step 7 before 8).
        let m = signed(&hmac_key(), Some("https://a"));
        let e = verify_envelope(&m, &ring(), &opts(Some("https://b")), NOW + 120_000).unwrap_err();
        assert_eq!(e.message(), "signature is stale or from the future");
    }

    #[test]
    fn resigning_replaces_the_envelope() {
        let mut m = signed(&hmac_key(), None);
        sign_envelope(&mut m, &ed_key(), Some("x"), NOW + 5, [9; 16]).unwrap();
        let info = verify(&m, &opts(Some("x"))).unwrap().unwrap();
        assert_eq!(
            (info.kid.as_str(), info.iat, info.nonce),
            ("e1", NOW + 5, [9; 16])
        );
    }

    #[test]
    fn signing_refusals() {
        let public = ed_key().public_key().unwrap();
        assert_eq!(
            sign_envelope(&mut request(), &public, None, NOW, NONCE)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidKey
        );
        assert!(sign_envelope(&mut Value::Array(vec![]), &hmac_key(), None, NOW, NONCE).is_err());
        let mut m = obj(vec![("method", s("x")), ("params", Value::Array(vec![]))]);
        assert!(sign_envelope(&mut m, &hmac_key(), None, NOW, NONCE).is_err());
        // A request without params gets params._meta created.
        let mut m = obj(vec![
            ("jsonrpc", s("2.0")),
            ("id", Value::Int(1)),
            ("method", s("ping")),
        ]);
        sign_envelope(&mut m, &hmac_key(), None, NOW, NONCE).unwrap();
        assert!(verify(&m, &opts(None)).unwrap().is_some());
    }
}
