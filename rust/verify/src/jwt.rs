//! Compact JWS (JWT) verification in the order of `docs/verification.md`, first failure wins,
//! every failure -32010; and minting (`HS256`, `EdDSA`, `Ed25519`) for tests and the CLI.
//!
//! The algorithm comes from a fixed allow-list and must fit the key the token names, so a token
//! cannot choose how it is checked: no `none`, no HMAC keyed with an Ed25519 public key. Header
//! and payload go through the strict parser (duplicate keys rejected) with small limits.
//!
//! Times are unix seconds as `f64`, like the claims themselves (NumericDate may be fractional),
//! so the native and pure verifiers compare the same numbers.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use fastpath_codec::encode;
use fastpath_codec::json::{self, ParseLimits};
use fastpath_codec::Value;
use sha2::{Digest as _, Sha256};

use crate::b64url;
use crate::clock::{Clock, Failure};
use crate::errors::{msg, Challenge, Check, VerifyError};
use crate::jcs;
use crate::keyring::KeyRing;
use crate::keys::{JwtAlg, Key};

/// Longest token accepted, in characters.
pub const MAX_TOKEN_CHARS: usize = 8192;

/// Limits for the header and payload JSON: strings no longer than a token; the depth is the
/// codec's default (`Limits.max_depth`), as in the pure twin.
pub const JSON_LIMITS: ParseLimits = ParseLimits {
    max_depth: 64,
    max_string_bytes: MAX_TOKEN_CHARS,
};

/// What a verifier requires of a token.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtOptions {
    /// `iss` must equal this.
    pub issuer: String,
    /// `aud` must equal this, or be a list containing it (RFC 8707 resource).
    pub audience: String,
    /// Clock tolerance for `exp`, `nbf` and `iat`, in seconds.
    pub leeway_s: f64,
    /// The algorithms accepted (each still has to fit the key).
    pub algorithms: Vec<JwtAlg>,
}

impl JwtOptions {
    /// `leeway_s = 30`, all of `HS256`, `EdDSA`, `Ed25519`.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        JwtOptions {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway_s: 30.0,
            algorithms: JwtAlg::ALL.to_vec(),
        }
    }
}

/// Who a verified token speaks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// `sub` when it is a string.
    pub subject: Option<String>,
    pub issuer: String,
    /// The audience the token was accepted for (ours).
    pub audience: String,
    /// From `scope` (a string, split on U+0020, empty parts dropped) or else `scp` (a list of
    /// strings, all of them strings); empty when neither.
    pub scopes: Vec<String>,
    /// The whole payload object.
    pub claims: Value<'static>,
    /// `exp`, unix seconds.
    pub expires_at: f64,
    /// `nbf` when present, for re-checking a cached token.
    pub not_before: Option<f64>,
    /// `iat` when present, for re-checking a cached token.
    pub issued_at: Option<f64>,
}

impl Principal {
    /// Re-run the time checks (step 6) for a cached principal; nothing else about it can change.
    pub fn check_times(&self, leeway_s: f64, now_s: f64) -> Result<(), VerifyError> {
        check_times(
            self.expires_at,
            self.not_before,
            self.issued_at,
            leeway_s,
            now_s,
        )
    }
}

/// Verify `token` against `ring`. Order: (1) at most 8192 characters, three non-empty strict
/// base64url segments, else "malformed token"; (2) header a JSON object (else "malformed
/// token") whose `alg` is allowed ("algorithm not allowed"), without `crit` ("unsupported
/// critical header"), `kid` a string when present ("malformed token"); (3) the key: by `kid`, or
/// the only key fitting `alg` ("token has no kid" when several, "unknown key id" when none),
/// `alg` fits it ("algorithm does not match the key"); (4) "bad signature"; (5) payload a JSON
/// object ("malformed token"); (6) `exp` ("token has no exp", "token expired"), `nbf` ("token
/// not yet valid"), `iat` ("token issued in the future"), all with leeway, a present `nbf` or
/// `iat` that is not a number being "malformed token"; (7) `iss` ("wrong issuer"), `aud`
/// ("wrong audience"); (8) scopes.
pub fn verify_jwt(
    token: &str,
    ring: &KeyRing,
    options: &JwtOptions,
    now_s: f64,
) -> Result<Principal, VerifyError> {
    let malformed = || refuse(Check::MalformedToken, msg::MALFORMED_TOKEN);

    // 1. Shape. A non-ASCII character fails the alphabet anyway, so bytes bound characters here.
    if token.len() > MAX_TOKEN_CHARS {
        return Err(malformed());
    }
    let mut segments = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(malformed());
    };
    if header_b64.is_empty() || payload_b64.is_empty() || sig_b64.is_empty() {
        return Err(malformed());
    }
    let header_json = b64url::decode(header_b64).map_err(|_| malformed())?;
    let payload_json = b64url::decode(payload_b64).map_err(|_| malformed())?;
    let signature = b64url::decode(sig_b64).map_err(|_| malformed())?;

    // 2. Header.
    let header = json::parse(&header_json, &JSON_LIMITS).map_err(|_| malformed())?;
    if !header.is_object() {
        return Err(malformed());
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(JwtAlg::from_name)
        .filter(|alg| options.algorithms.contains(alg))
        .ok_or_else(|| refuse(Check::AlgorithmNotAllowed, msg::ALG_NOT_ALLOWED))?;
    if header.get("crit").is_some() {
        return Err(refuse(Check::CriticalHeader, msg::CRIT_HEADER));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::Str(kid)) => Some(kid.as_ref()),
        Some(_) => return Err(malformed()),
    };

    // 3. Key.
    let key = match kid {
        Some(kid) => ring
            .get(kid)
            .ok_or_else(|| refuse(Check::UnknownKid, msg::UNKNOWN_KID))?,
        None => {
            let mut fitting = ring.keys().iter().filter(|key| key.fits_jwt_alg(alg));
            match (fitting.next(), fitting.next()) {
                (Some(key), None) => key,
                (Some(_), Some(_)) => return Err(refuse(Check::NoKid, msg::NO_KID)),
                (None, _) => return Err(refuse(Check::UnknownKid, msg::UNKNOWN_KID)),
            }
        }
    };
    if !key.fits_jwt_alg(alg) {
        return Err(refuse(Check::AlgorithmMismatch, msg::ALG_MISMATCH));
    }

    // 4. Signature over `header_b64.payload_b64`.
    let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
    if !key.verify(signing_input, &signature) {
        return Err(refuse(Check::BadSignature, msg::BAD_SIGNATURE));
    }

    // 5. Payload.
    let claims = json::parse(&payload_json, &JSON_LIMITS).map_err(|_| malformed())?;
    if !claims.is_object() {
        return Err(malformed());
    }

    // 6. Times.
    let numeric = |name: &str| claims.get(name).map(as_number);
    let expires_at = match numeric("exp") {
        Some(Some(exp)) => exp,
        _ => return Err(refuse(Check::NoExp, msg::NO_EXP)),
    };
    check_expiry(expires_at, options.leeway_s, now_s)?;
    // A present `nbf` or `iat` that is not a number is "malformed token", in claim order.
    let not_before = numeric("nbf")
        .map(|nbf| nbf.ok_or_else(malformed))
        .transpose()?;
    check_not_before(not_before, options.leeway_s, now_s)?;
    let issued_at = numeric("iat")
        .map(|iat| iat.ok_or_else(malformed))
        .transpose()?;
    check_issued_at(issued_at, options.leeway_s, now_s)?;

    // 7. Issuer and audience.
    let issuer = match claims.get("iss") {
        Some(Value::Str(iss)) if *iss == options.issuer => iss.clone().into_owned(),
        _ => return Err(refuse(Check::WrongIssuer, msg::WRONG_ISSUER)),
    };
    let audience_ok = match claims.get("aud") {
        Some(Value::Str(aud)) => *aud == options.audience,
        Some(Value::Array(auds)) => auds
            .iter()
            .any(|a| a.as_str() == Some(options.audience.as_str())),
        _ => false,
    };
    if !audience_ok {
        return Err(refuse(Check::WrongAudience, msg::WRONG_AUDIENCE));
    }

    // 8. Scopes.
    let scopes = match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::Str(scope)), _) => scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        // `scp` counts only when every item is a string.
        (_, Some(Value::Array(scp))) => scp
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let subject = claims.get("sub").and_then(Value::as_str).map(str::to_owned);

    Ok(Principal {
        subject,
        issuer,
        audience: options.audience.clone(),
        scopes,
        claims: into_owned(claims),
        expires_at,
        not_before,
        issued_at,
    })
}

/// The time checks of step 6 alone, in order: "token expired" when `now ≥ exp + leeway`,
/// "token not yet valid" when `now + leeway < nbf`, "token issued in the future" when
/// `iat > now + leeway`. For a cached [`Principal`] (its `expires_at`, `not_before`,
/// `issued_at`), whose other checks cannot change. A NaN anywhere fails.
pub fn check_times(
    expires_at: f64,
    not_before: Option<f64>,
    issued_at: Option<f64>,
    leeway_s: f64,
    now_s: f64,
) -> Result<(), VerifyError> {
    check_expiry(expires_at, leeway_s, now_s)?;
    check_not_before(not_before, leeway_s, now_s)?;
    check_issued_at(issued_at, leeway_s, now_s)
}

// The comparisons below are written so that a NaN fails closed.

#[allow(clippy::neg_cmp_op_on_partial_ord)]
fn check_expiry(expires_at: f64, leeway_s: f64, now_s: f64) -> Result<(), VerifyError> {
    if !(now_s < expires_at + leeway_s) {
        return Err(refuse(Check::Expired, msg::EXPIRED));
    }
    Ok(())
}

#[allow(clippy::neg_cmp_op_on_partial_ord)]
fn check_not_before(not_before: Option<f64>, leeway_s: f64, now_s: f64) -> Result<(), VerifyError> {
    if not_before.is_some_and(|nbf| !(now_s + leeway_s >= nbf)) {
        return Err(refuse(Check::NotYetValid, msg::NOT_YET_VALID));
    }
    Ok(())
}

#[allow(clippy::neg_cmp_op_on_partial_ord)]
fn check_issued_at(issued_at: Option<f64>, leeway_s: f64, now_s: f64) -> Result<(), VerifyError> {
    if issued_at.is_some_and(|iat| !(iat <= now_s + leeway_s)) {
        return Err(refuse(Check::IssuedInFuture, msg::ISSUED_IN_FUTURE));
    }
    Ok(())
}

/// A refused token: every failure of a presented token carries `error="invalid_token"`.
fn refuse(check: Check, message: &'static str) -> VerifyError {
    VerifyError::new(check, message).with_challenge(Challenge::InvalidToken)
}

/// A number claim as `f64`; `None` for anything else (booleans included).
fn as_number(value: &Value<'_>) -> Option<f64> {
    match *value {
        Value::Int(i) => Some(i as f64),
        Value::UInt(u) => Some(u as f64),
        Value::Float(x) => Some(x),
        _ => None,
    }
}

/// SHA-256 of a token: the key under which a verified token may be cached.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl AsRef<Principal> for Principal {
    fn as_ref(&self) -> &Principal {
        self
    }
}

/// A presented token: its text, or a value that is not a string (always "malformed token").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'t> {
    Text(&'t str),
    NotText,
}

/// Verifies tokens against a key ring with [`verify_jwt`], reading the clock first; with a
/// cache, keeps up to `cache_size` verified tokens (least recently used first out, keyed by the
/// SHA-256 of the token), never past their `exp`: on a hit only the time checks run again, and a
/// cached token that fails them is dropped.
///
/// `V` is what a verified token is kept as: a [`Principal`], or a caller's type that holds one
/// (the binding keeps the Python object it built beside it, so a hit answers with that object).
pub struct JwtVerifier<V = Principal> {
    ring: Arc<KeyRing>,
    options: JwtOptions,
    cache: Option<Mutex<TokenCache<V>>>,
    cache_size: usize,
}

impl<V: From<Principal> + AsRef<Principal>> JwtVerifier<V> {
    /// A verifier; `cache_size = 0` caches nothing.
    pub fn new(ring: Arc<KeyRing>, options: JwtOptions, cache_size: usize) -> Self {
        JwtVerifier {
            ring,
            options,
            cache: (cache_size > 0).then(|| Mutex::new(TokenCache::default())),
            cache_size,
        }
    }

    pub fn ring(&self) -> &Arc<KeyRing> {
        &self.ring
    }

    pub fn options(&self) -> &JwtOptions {
        &self.options
    }

    /// The principal of a valid token; the clock is read before anything else.
    pub fn verify<C: Clock>(
        &self,
        token: Token<'_>,
        clock: &mut C,
    ) -> Result<Arc<V>, Failure<C::Error>> {
        let now_s = clock.unix_seconds().map_err(Failure::Clock)?;
        Ok(self.verify_at(token, now_s)?)
    }

    /// [`JwtVerifier::verify`] at a given time.
    pub fn verify_at(&self, token: Token<'_>, now_s: f64) -> Result<Arc<V>, VerifyError> {
        let Token::Text(text) = token else {
            return Err(refuse(Check::MalformedToken, msg::MALFORMED_TOKEN));
        };
        let verify =
            || verify_jwt(text, &self.ring, &self.options, now_s).map(|p| Arc::new(V::from(p)));
        let Some(cache) = &self.cache else {
            return verify();
        };
        if text.chars().count() > MAX_TOKEN_CHARS {
            return verify();
        }
        let digest = token_digest(text);
        let cached = lock(cache).get(&digest);
        if let Some(verified) = cached {
            if let Err(err) = (*verified)
                .as_ref()
                .check_times(self.options.leeway_s, now_s)
            {
                lock(cache).remove(&digest);
                return Err(err);
            }
            return Ok(verified);
        }
        let verified = verify()?;
        lock(cache).insert(digest, verified.clone(), self.cache_size);
        Ok(verified)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The cache holds no invariant a panic could break halfway: keep using it.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Least-recently-used verified tokens, by SHA-256 of the token.
struct TokenCache<V> {
    tick: u64,
    entries: HashMap<[u8; 32], (u64, Arc<V>)>,
    order: BTreeMap<u64, [u8; 32]>,
}

impl<V> Default for TokenCache<V> {
    fn default() -> Self {
        TokenCache {
            tick: 0,
            entries: HashMap::new(),
            order: BTreeMap::new(),
        }
    }
}

impl<V> TokenCache<V> {
    /// The entry for `digest`, now the most recently used.
    fn get(&mut self, digest: &[u8; 32]) -> Option<Arc<V>> {
        let (stamp, verified) = self.entries.get_mut(digest)?;
        self.order.remove(stamp);
        self.tick += 1;
        *stamp = self.tick;
        self.order.insert(self.tick, *digest);
        Some(verified.clone())
    }

    fn remove(&mut self, digest: &[u8; 32]) {
        if let Some((stamp, _)) = self.entries.remove(digest) {
            self.order.remove(&stamp);
        }
    }

    /// Insert as the most recently used, dropping the least recently used beyond `capacity`.
    fn insert(&mut self, digest: [u8; 32], verified: Arc<V>, capacity: usize) {
        self.remove(&digest);
        self.tick += 1;
        self.entries.insert(digest, (self.tick, verified));
        self.order.insert(self.tick, digest);
        while self.entries.len() > capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }
}

/// Mint a compact JWS of `claims` (a JSON object) with the header `{"alg","typ":"JWT","kid"}`.
/// Header and payload are written compactly in member order with orjson's layout
/// (`fastpath_codec::encode`), so the pure twin's `sign_jwt` mints the same bytes. `key` must be
/// able to sign and fit `alg` (`InvalidKey` otherwise).
pub fn sign_jwt(key: &Key, alg: JwtAlg, claims: &Value<'_>) -> Result<String, VerifyError> {
    let header = Value::Object(vec![
        (
            Cow::Borrowed("alg"),
            Value::Str(Cow::Borrowed(alg.as_str())),
        ),
        (Cow::Borrowed("typ"), Value::Str(Cow::Borrowed("JWT"))),
        (Cow::Borrowed("kid"), Value::Str(Cow::Borrowed(key.kid()))),
    ]);
    sign_jwt_with_header(key, &header, claims)
}

/// Mint a compact JWS with an explicit header object (say, without `kid`, or with extra
/// members), whose `alg` must name an algorithm that fits `key`. Errors: `InvalidKey` for a key
/// that cannot sign or does not fit `alg`, or a header or claims that are not JSON objects;
/// -32010 "message is not I-JSON" for a non-finite float.
pub fn sign_jwt_with_header(
    key: &Key,
    header: &Value<'_>,
    claims: &Value<'_>,
) -> Result<String, VerifyError> {
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(JwtAlg::from_name);
    if !alg.is_some_and(|alg| key.fits_jwt_alg(alg)) {
        return Err(VerifyError::invalid_key(msg::ALG_MISMATCH));
    }
    if !key.can_sign() {
        return Err(VerifyError::invalid_key(msg::PUBLIC_CANNOT_SIGN));
    }
    if !header.is_object() || !claims.is_object() {
        return Err(VerifyError::invalid_key(
            "a JWT header and claims are JSON objects",
        ));
    }
    if has_non_finite(header) || has_non_finite(claims) {
        return Err(VerifyError::not_i_json(jcs::NotIJson::NonFiniteNumber));
    }
    let mut json = Vec::with_capacity(256);
    encode::write_value(&mut json, header);
    let mut token = b64url::encode(&json);
    token.push('.');
    json.clear();
    encode::write_value(&mut json, claims);
    token.push_str(&b64url::encode(&json));
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&b64url::encode(&signature));
    Ok(token)
}

fn has_non_finite(value: &Value<'_>) -> bool {
    match value {
        Value::Float(x) => !x.is_finite(),
        Value::Array(items) => items.iter().any(has_non_finite),
        Value::Object(members) => members.iter().any(|(_, v)| has_non_finite(v)),
        _ => false,
    }
}

/// A tree that borrows nothing (the payload bytes it was parsed from are about to go).
fn into_owned(value: Value<'_>) -> Value<'static> {
    match value {
        Value::Null => Value::Null,
        Value::Bool(b) => Value::Bool(b),
        Value::Int(i) => Value::Int(i),
        Value::UInt(u) => Value::UInt(u),
        Value::Float(x) => Value::Float(x),
        Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
        Value::Array(items) => Value::Array(items.into_iter().map(into_owned).collect()),
        Value::Object(members) => Value::Object(
            members
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), into_owned(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::{Challenge, ErrorKind};
    use crate::keys::tests::{hex, RFC8032_SEED};

    const NOW: f64 = 1_780_000_000.0;
    const ISS: &str = "https://issuer.example";
    const AUD: &str = "https://mcp.example/mcp";

    fn hmac_key() -> Key {
        Key::hmac("h1", b"a very secret secret of 32 bytes").unwrap()
    }

    fn ed_key() -> Key {
        Key::ed25519_private("e1", &hex(RFC8032_SEED)).unwrap()
    }

    fn ring() -> KeyRing {
        KeyRing::new(vec![hmac_key(), ed_key().public_key().unwrap()]).unwrap()
    }

    fn opts() -> JwtOptions {
        JwtOptions::new(ISS, AUD)
    }

    fn parse(text: &str) -> Value<'static> {
        into_owned(json::parse(text.as_bytes(), &JSON_LIMITS).unwrap())
    }

    fn claims(extra: &str) -> String {
        let sep = if extra.is_empty() { "" } else { "," };
        format!(
            r#"{{"iss":"{ISS}","aud":"{AUD}","sub":"alice","exp":{},"iat":{}{sep}{extra}}}"#,
            NOW + 600.0,
            NOW
        )
    }

    /// A token with this exact header and payload text, signed with `key`.
    fn assemble(key: &Key, header: &str, payload: &str) -> String {
        let input = format!(
            "{}.{}",
            b64url::encode(header.as_bytes()),
            b64url::encode(payload.as_bytes())
        );
        let sig = key.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", b64url::encode(&sig))
    }

    fn verify(token: &str) -> Result<Principal, VerifyError> {
        verify_jwt(token, &ring(), &opts(), NOW)
    }

    fn err(token: &str) -> String {
        let e = verify(token).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert_eq!(e.code(), Some(-32010));
        e.message().to_owned()
    }

    #[test]
    fn round_trip_every_algorithm() {
        for (key, alg) in [
            (hmac_key(), JwtAlg::Hs256),
            (ed_key(), JwtAlg::EdDsa),
            (ed_key(), JwtAlg::Ed25519),
        ] {
            let token = sign_jwt(
                &key,
                alg,
                &parse(&claims(r#""scope":"tools.add  tools.list""#)),
            )
            .unwrap();
            let p = verify(&token).unwrap();
            assert_eq!(p.subject.as_deref(), Some("alice"));
            assert_eq!(p.issuer, ISS);
            assert_eq!(p.audience, AUD);
            assert_eq!(p.scopes, ["tools.add", "tools.list"]);
            assert_eq!(p.expires_at, NOW + 600.0);
            assert_eq!(p.issued_at, Some(NOW));
            assert_eq!(p.not_before, None);
            assert_eq!(p.claims.get("sub").and_then(Value::as_str), Some("alice"));
        }
    }

    #[test]
    fn step1_malformed() {
        let good = sign_jwt(&hmac_key(), JwtAlg::Hs256, &parse(&claims(""))).unwrap();
        let (h, rest) = good.split_once('.').unwrap();
        let (p, s) = rest.split_once('.').unwrap();
        let padded_header = {
            let mut h = h.to_owned();
            while h.len() % 4 != 0 {
                h.push('=');
            }
            h
        };
        for bad in [
            String::new(),
            "garbage".to_owned(),
            format!("{h}.{p}"),                 // 2 segments
            format!("{h}.{p}.{s}.{s}"),         // 4 segments
            format!("{h}.{p}."),                // empty signature
            format!(".{p}.{s}"),                // empty header
            format!("{padded_header}.{p}.{s}"), // padding
            format!("{h}.{p}.{s}="),            // padding
            format!("{h}.{}.{s}", p.replace('-', "+").replace('_', "/") + "+"), // standard alphabet
            format!("{h} .{p}.{s}"),            // whitespace
            format!("{h}.{p}.{s}\n"),
            format!("{}.{p}.{s}", b64url::encode(b"not json")),
            format!("{}.{p}.{s}", b64url::encode(b"[\"alg\"]")),
            format!(
                "{}.{p}.{s}",
                b64url::encode(br#"{"alg":"HS256","alg":"none"}"#)
            ), // duplicate key
            "a".repeat(MAX_TOKEN_CHARS + 1),
        ] {
            assert_eq!(err(&bad), "malformed token", "{bad:?}");
        }
        // Oversize even when otherwise well-formed.
        let big = format!(r#""pad":"{}""#, "x".repeat(MAX_TOKEN_CHARS));
        let token = assemble(&hmac_key(), r#"{"alg":"HS256","kid":"h1"}"#, &claims(&big));
        assert_eq!(err(&token), "malformed token");
    }

    #[test]
    fn step2_header() {
        let k = hmac_key();
        let payload = claims("");
        for (header, expected) in [
            (r#"{"alg":"none"}"#, "algorithm not allowed"),
            (r#"{"alg":"none","kid":"h1"}"#, "algorithm not allowed"),
            (r#"{"alg":"None","kid":"h1"}"#, "algorithm not allowed"),
            (r#"{"alg":"hs256","kid":"h1"}"#, "algorithm not allowed"),
            (r#"{"alg":"RS384","kid":"h1"}"#, "algorithm not allowed"),
            (
                r#"{"alg":"RS256","kid":"h1"}"#,
                "algorithm does not match the key",
            ),
            (
                r#"{"alg":"ES256","kid":"h1"}"#,
                "algorithm does not match the key",
            ),
            (r#"{"alg":"HS512","kid":"h1"}"#, "algorithm not allowed"),
            (r#"{"kid":"h1"}"#, "algorithm not allowed"),
            (r#"{"alg":["HS256"],"kid":"h1"}"#, "algorithm not allowed"),
            (
                r#"{"alg":"HS256","kid":"h1","crit":["exp"]}"#,
                "unsupported critical header",
            ),
            (
                r#"{"alg":"HS256","kid":"h1","crit":[]}"#,
                "unsupported critical header",
            ),
            (r#"{"alg":"HS256","kid":1}"#, "malformed token"),
            (r#"{"alg":"HS256","kid":null}"#, "malformed token"),
        ] {
            assert_eq!(err(&assemble(&k, header, &payload)), expected, "{header}");
        }
        // `alg` outside the verifier's own list.
        let only_ed = JwtOptions {
            algorithms: vec![JwtAlg::EdDsa],
            ..opts()
        };
        let token = assemble(&k, r#"{"alg":"HS256","kid":"h1"}"#, &payload);
        assert_eq!(
            verify_jwt(&token, &ring(), &only_ed, NOW)
                .unwrap_err()
                .message(),
            "algorithm not allowed"
        );
        // `none` with an empty signature never gets further than step 1 or 2.
        let none = format!(
            "{}.{}.",
            b64url::encode(br#"{"alg":"none"}"#),
            b64url::encode(payload.as_bytes())
        );
        assert_eq!(err(&none), "malformed token");
        let none = format!(
            "{}.{}.AA",
            b64url::encode(br#"{"alg":"none"}"#),
            b64url::encode(payload.as_bytes())
        );
        assert_eq!(err(&none), "algorithm not allowed");
    }

    #[test]
    fn step3_key_selection() {
        let payload = claims("");
        assert_eq!(
            err(&assemble(
                &hmac_key(),
                r#"{"alg":"HS256","kid":"nope"}"#,
                &payload
            )),
            "unknown key id"
        );
        // HS256 keyed with the Ed25519 public key bytes, naming the Ed25519 key.
        let public = ed_key().public_bytes().unwrap();
        let mut secret = public.to_vec();
        secret.resize(32, 0);
        let confused = Key::hmac("e1", &secret).unwrap();
        assert_eq!(
            err(&assemble(
                &confused,
                r#"{"alg":"HS256","kid":"e1"}"#,
                &payload
            )),
            "algorithm does not match the key"
        );
        // Wrong alg for the kid, both ways.
        assert_eq!(
            err(&assemble(
                &hmac_key(),
                r#"{"alg":"EdDSA","kid":"h1"}"#,
                &payload
            )),
            "algorithm does not match the key"
        );
        assert_eq!(
            err(&assemble(
                &ed_key(),
                r#"{"alg":"HS256","kid":"e1"}"#,
                &payload
            )),
            "algorithm does not match the key"
        );
        // Without kid: the only key of the type, else ambiguity, else none.
        assert!(verify(&assemble(&hmac_key(), r#"{"alg":"HS256"}"#, &payload)).is_ok());
        assert!(verify(&assemble(&ed_key(), r#"{"alg":"EdDSA"}"#, &payload)).is_ok());
        let two_hmac =
            KeyRing::new(vec![hmac_key(), Key::hmac("h2", &[5u8; 32]).unwrap()]).unwrap();
        let e = verify_jwt(
            &assemble(&hmac_key(), r#"{"alg":"HS256"}"#, &payload),
            &two_hmac,
            &opts(),
            NOW,
        );
        assert_eq!(e.unwrap_err().message(), "token has no kid");
        let only_hmac = KeyRing::new(vec![hmac_key()]).unwrap();
        let e = verify_jwt(
            &assemble(&ed_key(), r#"{"alg":"EdDSA"}"#, &payload),
            &only_hmac,
            &opts(),
            NOW,
        );
        assert_eq!(e.unwrap_err().message(), "unknown key id");
    }

    #[test]
    fn step4_signature() {
        let token = sign_jwt(&hmac_key(), JwtAlg::Hs256, &parse(&claims(""))).unwrap();
        let other = Key::hmac("h1", &[9u8; 32]).unwrap();
        assert_eq!(
            err(&assemble(
                &other,
                r#"{"alg":"HS256","kid":"h1"}"#,
                &claims("")
            )),
            "bad signature"
        );
        // Payload swapped under the original signature.
        let (h, rest) = token.split_once('.').unwrap();
        let (_, s) = rest.split_once('.').unwrap();
        let forged = format!(
            "{h}.{}.{s}",
            b64url::encode(claims(r#""scope":"admin""#).as_bytes())
        );
        assert_eq!(err(&forged), "bad signature");
        // Truncated signature.
        assert_eq!(
            err(&format!(
                "{h}.{}.{}",
                rest.split_once('.').unwrap().0,
                &s[..8]
            )),
            "bad signature"
        );
        // Ed25519 with S + L.
        let token = sign_jwt(&ed_key(), JwtAlg::EdDsa, &parse(&claims(""))).unwrap();
        let (input, s) = token.rsplit_once('.').unwrap();
        let mut sig = b64url::decode(s).unwrap();
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(sig[32 + i]) + u16::from(l[i]) + carry;
            sig[32 + i] = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(
            err(&format!("{input}.{}", b64url::encode(&sig))),
            "bad signature"
        );
    }

    #[test]
    fn step5_payload() {
        let h = r#"{"alg":"HS256","kid":"h1"}"#;
        for payload in [
            "not json",
            "[1]",
            "\"x\"",
            r#"{"exp":1,"exp":2}"#,
            "{\"a\":1} x",
        ] {
            assert_eq!(
                err(&assemble(&hmac_key(), h, payload)),
                "malformed token",
                "{payload}"
            );
        }
        let deep = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert_eq!(
            err(&assemble(&hmac_key(), h, &format!(r#"{{"x":{deep}}}"#))),
            "malformed token"
        );
    }

    #[test]
    fn step6_times() {
        let h = r#"{"alg":"HS256","kid":"h1"}"#;
        let token = |payload: String| assemble(&hmac_key(), h, &payload);
        let base = |times: &str| format!(r#"{{"iss":"{ISS}","aud":"{AUD}"{times}}}"#);
        assert_eq!(err(&token(base(""))), "token has no exp");
        assert_eq!(
            err(&token(base(r#","exp":"2000000000""#))),
            "token has no exp"
        );
        assert_eq!(err(&token(base(r#","exp":true"#))), "token has no exp");
        assert_eq!(err(&token(base(r#","exp":null"#))), "token has no exp");
        let exp = |e: f64| token(base(&format!(r#","exp":{e}"#)));
        // now ≥ exp + leeway (30 s) is expired.
        assert_eq!(err(&exp(NOW - 30.0)), "token expired");
        assert!(verify(&exp(NOW - 29.5)).is_ok());
        assert_eq!(err(&exp(1.0)), "token expired");
        // Float exp.
        assert!(verify(&token(base(&format!(r#","exp":{}.5"#, NOW as i64)))).is_ok());
        // nbf with leeway.
        let nbf = |n: f64| token(base(&format!(r#","exp":{},"nbf":{n}"#, NOW + 600.0)));
        assert!(verify(&nbf(NOW + 30.0)).is_ok());
        assert_eq!(err(&nbf(NOW + 30.5)), "token not yet valid");
        assert_eq!(
            err(&token(base(&format!(
                r#","exp":{},"nbf":"0""#,
                NOW + 600.0
            )))),
            "malformed token"
        );
        // iat with leeway.
        let iat = |i: f64| token(base(&format!(r#","exp":{},"iat":{i}"#, NOW + 600.0)));
        assert!(verify(&iat(NOW + 30.0)).is_ok());
        assert_eq!(err(&iat(NOW + 31.0)), "token issued in the future");
        assert_eq!(
            err(&token(base(&format!(
                r#","exp":{},"iat":false"#,
                NOW + 600.0
            )))),
            "malformed token"
        );
        // A non-number nbf/iat is found in claim order: after expiry, nbf before iat.
        assert_eq!(err(&token(base(r#","exp":1,"nbf":null"#))), "token expired");
        assert_eq!(
            err(&token(base(&format!(
                r#","exp":{},"nbf":{},"iat":null"#,
                NOW + 600.0,
                NOW + 999.0
            )))),
            "token not yet valid"
        );
        // Order: expired before not-yet-valid before issued-in-future.
        assert_eq!(
            err(&token(base(&format!(
                r#","exp":1,"nbf":{0},"iat":{0}"#,
                NOW + 999.0
            )))),
            "token expired"
        );
        assert_eq!(
            err(&token(base(&format!(
                r#","exp":{0},"nbf":{0},"iat":{0}"#,
                NOW + 999.0
            )))),
            "token not yet valid"
        );
        // Time checks come before issuer and audience.
        let t = assemble(&hmac_key(), h, r#"{"iss":"x","aud":"y","exp":1}"#);
        assert_eq!(err(&t), "token expired");
        // NaN fails closed.
        assert!(check_times(NOW + 600.0, None, None, 30.0, f64::NAN).is_err());
        assert!(check_times(NOW + 600.0, None, None, f64::NAN, NOW).is_err());
        assert!(check_times(NOW + 600.0, None, None, 30.0, NOW).is_ok());
    }

    #[test]
    fn step7_issuer_and_audience() {
        let h = r#"{"alg":"HS256","kid":"h1"}"#;
        let token = |iss: &str, aud: &str| {
            assemble(
                &hmac_key(),
                h,
                &format!(r#"{{"iss":{iss},"aud":{aud},"exp":{}}}"#, NOW + 60.0),
            )
        };
        let q = |s: &str| format!("\"{s}\"");
        assert_eq!(
            err(&token(&q("https://evil.example"), &q(AUD))),
            "wrong issuer"
        );
        assert_eq!(err(&token("null", &q(AUD))), "wrong issuer");
        assert_eq!(
            err(&token(&format!("[{}]", q(ISS)), &q(AUD))),
            "wrong issuer"
        );
        assert_eq!(
            err(&token(&q(ISS), &q("https://other.example"))),
            "wrong audience"
        );
        assert_eq!(err(&token(&q(ISS), "[]")), "wrong audience");
        assert_eq!(err(&token(&q(ISS), "null")), "wrong audience");
        assert_eq!(
            err(&token(&q(ISS), &format!("[[{}]]", q(AUD)))),
            "wrong audience"
        );
        assert!(verify(&token(&q(ISS), &format!("[1,\"a\",{}]", q(AUD)))).is_ok());
        let missing = assemble(
            &hmac_key(),
            h,
            &format!(r#"{{"iss":"{ISS}","exp":{}}}"#, NOW + 60.0),
        );
        assert_eq!(err(&missing), "wrong audience");
        // Issuer before audience.
        assert_eq!(err(&token("1", "2")), "wrong issuer");
    }

    #[test]
    fn step8_scopes() {
        let scopes = |extra: &str| {
            let token = sign_jwt(&hmac_key(), JwtAlg::Hs256, &parse(&claims(extra))).unwrap();
            verify(&token).unwrap().scopes
        };
        assert!(scopes("").is_empty());
        assert_eq!(scopes(r#""scope":" a b  c ""#), ["a", "b", "c"]);
        assert_eq!(scopes(r#""scp":["a","b"]"#), ["a", "b"]);
        assert!(scopes(r#""scp":["a",1,"b"]"#).is_empty());
        assert_eq!(scopes(r#""scope":"x","scp":["a"]"#), ["x"]);
        assert_eq!(scopes(r#""scope":1,"scp":["a"]"#), ["a"]);
        assert!(scopes(r#""scp":"a b""#).is_empty());
        // Non-string sub is no subject.
        let token = sign_jwt(
            &hmac_key(),
            JwtAlg::Hs256,
            &parse(&claims("").replace(r#""sub":"alice""#, r#""sub":5"#)),
        )
        .unwrap();
        assert_eq!(verify(&token).unwrap().subject, None);
    }

    #[test]
    fn minted_layout_is_orjson_compact_in_member_order() {
        let c = parse(r#"{"sub":"a","exp":1.0,"n":[1e21,"\u20ac"]}"#);
        let token = sign_jwt(&hmac_key(), JwtAlg::Hs256, &c).unwrap();
        let mut parts = token.split('.');
        let header = b64url::decode(parts.next().unwrap()).unwrap();
        let payload = b64url::decode(parts.next().unwrap()).unwrap();
        assert_eq!(header, br#"{"alg":"HS256","typ":"JWT","kid":"h1"}"#);
        assert_eq!(
            payload,
            "{\"sub\":\"a\",\"exp\":1.0,\"n\":[1e+21,\"\u{20ac}\"]}".as_bytes()
        );
    }

    #[test]
    fn signing_refusals_and_digest() {
        let c = parse(&claims(""));
        assert_eq!(
            sign_jwt(&hmac_key(), JwtAlg::EdDsa, &c).unwrap_err().kind(),
            ErrorKind::InvalidKey
        );
        assert_eq!(
            sign_jwt(&ed_key(), JwtAlg::Hs256, &c).unwrap_err().kind(),
            ErrorKind::InvalidKey
        );
        assert!(sign_jwt(&ed_key().public_key().unwrap(), JwtAlg::EdDsa, &c).is_err());
        assert!(sign_jwt(&hmac_key(), JwtAlg::Hs256, &Value::Array(vec![])).is_err());
        assert!(sign_jwt(&hmac_key(), JwtAlg::Hs256, &Value::Array(vec![])).is_err());
        let nan = Value::Object(vec![(Cow::Borrowed("x"), Value::Float(f64::NAN))]);
        assert!(sign_jwt(&hmac_key(), JwtAlg::Hs256, &nan).is_err());
        // No I-JSON restriction on token claims; header without kid; extra header members.
        let big = parse(&claims(r#""n":9007199254740993"#));
        assert!(verify(&sign_jwt(&hmac_key(), JwtAlg::Hs256, &big).unwrap()).is_ok());
        let header = parse(r#"{"alg":"EdDSA","typ":"at+jwt","x":[1]}"#);
        let token = sign_jwt_with_header(&ed_key(), &header, &c).unwrap();
        assert!(verify(&token).is_ok());
        let header = parse(r#"{"alg":"none"}"#);
        assert!(sign_jwt_with_header(&hmac_key(), &header, &c).is_err());
        assert_eq!(
            token_digest("abc").to_vec(),
            hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
    }

    #[test]
    fn verifier_reads_the_clock_first_and_caches_by_digest() {
        use crate::clock::FixedClock;
        let verifier: JwtVerifier = JwtVerifier::new(Arc::new(ring()), opts(), 1);
        let good = sign_jwt(&hmac_key(), JwtAlg::Hs256, &parse(&claims(""))).unwrap();
        let other = sign_jwt(&hmac_key(), JwtAlg::Hs256, &parse(&claims(r#""x":1"#))).unwrap();
        let first = verifier
            .verify(Token::Text(&good), &mut FixedClock(NOW))
            .unwrap();
        // A hit answers with the same verified value.
        let again = verifier.verify_at(Token::Text(&good), NOW + 1.0).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        // The time checks run on a hit, and a failing entry is dropped.
        let late = verifier
            .verify_at(Token::Text(&good), NOW + 630.0)
            .unwrap_err();
        assert_eq!(late.check(), Check::Expired);
        let back = verifier.verify_at(Token::Text(&good), NOW).unwrap();
        assert!(!Arc::ptr_eq(&first, &back));
        // Capacity 1: another token evicts it.
        verifier.verify_at(Token::Text(&other), NOW).unwrap();
        assert!(!Arc::ptr_eq(
            &back,
            &verifier.verify_at(Token::Text(&good), NOW).unwrap()
        ));
        // A refused token is never cached; not text is malformed.
        let (h, rest) = good.split_once('.').unwrap();
        let forged = format!("{h}.{}", rest.replace('.', ".A"));
        assert!(verifier.verify_at(Token::Text(&forged), NOW).is_err());
        let err = verifier.verify_at(Token::NotText, NOW).unwrap_err();
        assert_eq!(
            (err.message(), err.challenge()),
            ("malformed token", &Challenge::InvalidToken)
        );
    }

    #[test]
    fn an_unreadable_clock_is_reported_before_the_token() {
        struct Unreadable;
        impl Clock for Unreadable {
            type Error = ();
            fn unix_seconds(&mut self) -> Result<f64, ()> {
                Err(())
            }
            fn unix_millis(&mut self) -> Result<i64, ()> {
                Err(())
            }
        }
        let verifier: JwtVerifier = JwtVerifier::new(Arc::new(ring()), opts(), 0);
        assert_eq!(
            verifier
                .verify(Token::NotText, &mut Unreadable)
                .unwrap_err(),
            Failure::Clock(())
        );
    }

    /// Tokens made with Python's `cryptography` for the RSA and P-256 keys of `testdata/`.
    fn external(name: &str) -> String {
        include_str!("../testdata/jwt_tokens.txt")
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap()
            .to_owned()
    }

    fn asymmetric_ring() -> KeyRing {
        use crate::keys::RsaScheme;
        let n = crate::rsa::tests::hex(crate::rsa::tests::N);
        let point = crate::rsa::tests::hex(include_str!("../testdata/p256_point.hex"));
        KeyRing::new(vec![
            Key::rsa_public("r", &n, &[1, 0, 1], RsaScheme::Pkcs1v15).unwrap(),
            Key::rsa_public("s", &n, &[1, 0, 1], RsaScheme::Pss).unwrap(),
            Key::ec_public("c", &point[1..33], &point[33..]).unwrap(),
            hmac_key(),
        ])
        .unwrap()
    }

    #[test]
    fn rs256_ps256_es256_each_with_its_own_key() {
        let ring = asymmetric_ring();
        let verify = |token: &str| verify_jwt(token, &ring, &opts(), 1_780_000_000.0);
        for name in ["rs256", "ps256", "es256"] {
            let principal = verify(&external(name)).unwrap();
            assert_eq!(
                (principal.subject.as_deref(), principal.scopes.len()),
                (Some("alice"), 2),
                "{name}"
            );
        }
        // A DER ECDSA signature is not a JOSE signature.
        assert_eq!(
            verify(&external("es256_der")).unwrap_err().message(),
            "bad signature"
        );
        // An RS256 token naming the PS256 key (same modulus) is refused before its signature.
        let rs = external("rs256").replacen(
            "eyJhbGciOiJSUzI1NiIsImtpZCI6InIifQ",
            &b64url::encode(br#"{"alg":"RS256","kid":"s"}"#),
            1,
        );
        assert_eq!(
            verify(&rs).unwrap_err().message(),
            "algorithm does not match the key"
        );
        // Without a kid: the only key fitting the alg (one RS256 key here).
        assert!(verify(&external("rs256_no_kid")).is_ok());
        // Algorithm confusion: HS256 keyed with the RSA public key's bytes, naming the RSA key.
        let n = crate::rsa::tests::hex(crate::rsa::tests::N);
        let confused = Key::hmac("r", &n).unwrap();
        let token = assemble(&confused, r#"{"alg":"HS256","kid":"r"}"#, &claims(""));
        assert_eq!(
            verify(&token).unwrap_err().message(),
            "algorithm does not match the key"
        );
        // Only the algorithms the verifier allows.
        let only_hs = JwtOptions {
            algorithms: vec![JwtAlg::Hs256],
            ..opts()
        };
        let err = verify_jwt(&external("es256"), &ring, &only_hs, 1_780_000_000.0).unwrap_err();
        assert_eq!(err.message(), "algorithm not allowed");
        // Public keys cannot mint.
        assert!(sign_jwt(ring.get("r").unwrap(), JwtAlg::Rs256, &parse(&claims(""))).is_err());
    }
}
