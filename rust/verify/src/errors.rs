//! The one error type of this crate. Every refusal says which check failed ([`Check`], machine
//! readable), what outcome that is ([`ErrorKind`]: JSON-RPC code and HTTP status, from one table),
//! which `WWW-Authenticate` challenge goes with it ([`Challenge`]) and the message, one of the
//! fixed texts of `docs/verification.md`. Messages say what failed and never carry a secret, a
//! signature or a whole token.

use std::borrow::Cow;
use std::fmt;

/// Which outcome a failure maps to (and so which JSON-RPC code, HTTP status and Python class).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Anything about a token or envelope: -32010, HTTP 401.
    Unauthenticated,
    /// The principal lacks a scope the policy requires: -32011, HTTP 403.
    Forbidden,
    /// `(kid, nonce)` already seen in the replay window: -32012, HTTP 401.
    Replayed,
    /// Key material refused at construction; not a protocol error (no code, no status).
    InvalidKey,
}

impl ErrorKind {
    /// The JSON-RPC error code, or `None` for [`ErrorKind::InvalidKey`].
    pub fn code(self) -> Option<i32> {
        match self {
            ErrorKind::Unauthenticated => Some(-32010),
            ErrorKind::Forbidden => Some(-32011),
            ErrorKind::Replayed => Some(-32012),
            ErrorKind::InvalidKey => None,
        }
    }

    /// The HTTP status, or `None` for [`ErrorKind::InvalidKey`].
    pub fn http_status(self) -> Option<u16> {
        match self {
            ErrorKind::Unauthenticated | ErrorKind::Replayed => Some(401),
            ErrorKind::Forbidden => Some(403),
            ErrorKind::InvalidKey => None,
        }
    }
}

/// The check that refused, in the words of `docs/verification.md` (a log or a metric can count
/// them without reading messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// Envelope step 1: no envelope where one is required.
    NotSigned,
    /// Envelope step 2: the envelope's shape.
    MalformedEnvelope,
    /// Envelope step 3, token step 3: no key with that `kid` (or none fitting a kid-less token).
    UnknownKid,
    /// Envelope step 4, token step 3: the algorithm named is not the key's.
    AlgorithmMismatch,
    /// Envelope step 5 (and signing): the message is not I-JSON.
    NotIJson,
    /// Envelope step 6, token step 4.
    BadSignature,
    /// Envelope step 7: `iat` outside the window.
    Stale,
    /// Envelope step 8, token step 7.
    WrongAudience,
    /// Signing: the message has no object to carry the envelope.
    CannotSign,
    /// Token steps 1, 2 and 5 (and a non-number `nbf`/`iat`).
    MalformedToken,
    /// Token step 2: `alg` not in the verifier's list.
    AlgorithmNotAllowed,
    /// Token step 2: a `crit` header.
    CriticalHeader,
    /// Token step 3: no `kid` and several keys fit.
    NoKid,
    /// Token step 6.
    NoExp,
    Expired,
    NotYetValid,
    IssuedInFuture,
    /// Token step 7.
    WrongIssuer,
    /// Gate and policy: a token is required (or the policy requires scopes) and none was given.
    AuthenticationRequired,
    /// Policy: scopes missing.
    InsufficientScope,
    /// Replay cache: `(kid, nonce)` seen before.
    Replayed,
    /// Key material refused at construction.
    KeyMaterial,
}

impl Check {
    /// The outcome of a failed check.
    pub fn kind(self) -> ErrorKind {
        match self {
            Check::InsufficientScope => ErrorKind::Forbidden,
            Check::Replayed => ErrorKind::Replayed,
            Check::KeyMaterial => ErrorKind::InvalidKey,
            _ => ErrorKind::Unauthenticated,
        }
    }
}

/// The `WWW-Authenticate` challenge of a refusal (RFC 6750 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Bearer`: no token was presented (or the refusal is about an envelope).
    Bearer,
    /// `Bearer error="invalid_token"`: a presented token was refused.
    InvalidToken,
    /// `Bearer error="insufficient_scope", scope="<missing scopes>"`.
    InsufficientScope(String),
}

impl Challenge {
    /// The header value.
    pub fn header_value(&self) -> Cow<'static, str> {
        match self {
            Challenge::Bearer => Cow::Borrowed("Bearer"),
            Challenge::InvalidToken => Cow::Borrowed("Bearer error=\"invalid_token\""),
            Challenge::InsufficientScope(scope) => Cow::Owned(format!(
                "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
            )),
        }
    }
}

/// The message texts of `docs/verification.md`, so the binding and tests name them once.
pub mod msg {
    // Signed envelope.
    pub const NOT_SIGNED: &str = "request is not signed";
    pub const MALFORMED_ENVELOPE: &str = "malformed signature envelope";
    pub const UNKNOWN_KID: &str = "unknown key id";
    pub const ALG_MISMATCH: &str = "algorithm does not match the key";
    pub const NOT_I_JSON: &str = "message is not I-JSON";
    pub const BAD_SIGNATURE: &str = "bad signature";
    pub const STALE: &str = "signature is stale or from the future";
    pub const WRONG_AUDIENCE: &str = "wrong audience";
    pub const CANNOT_SIGN: &str = "message cannot be signed";
    // JWT (plus UNKNOWN_KID, ALG_MISMATCH, BAD_SIGNATURE, WRONG_AUDIENCE above).
    pub const MALFORMED_TOKEN: &str = "malformed token";
    pub const ALG_NOT_ALLOWED: &str = "algorithm not allowed";
    pub const CRIT_HEADER: &str = "unsupported critical header";
    pub const NO_KID: &str = "token has no kid";
    pub const NO_EXP: &str = "token has no exp";
    pub const EXPIRED: &str = "token expired";
    pub const NOT_YET_VALID: &str = "token not yet valid";
    pub const ISSUED_IN_FUTURE: &str = "token issued in the future";
    pub const WRONG_ISSUER: &str = "wrong issuer";
    // Gate, policy, replay.
    pub const AUTHENTICATION_REQUIRED: &str = "authentication required";
    pub const INSUFFICIENT_SCOPE: &str = "insufficient scope";
    pub const REPLAYED: &str = "request replayed";
    // Keys.
    pub const KID: &str = "kid must be a non-empty string of at most 256 characters";
    pub const KID_NOT_UNICODE: &str = "kid must be valid Unicode (it holds a lone surrogate)";
    pub const PUBLIC_CANNOT_SIGN: &str = "a public key cannot sign";
}

/// A refused envelope, token, request or key: which check, its challenge, and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    check: Check,
    challenge: Challenge,
    message: Cow<'static, str>,
}

impl VerifyError {
    /// A refusal by `check`, with the plain `Bearer` challenge.
    pub fn new(check: Check, message: impl Into<Cow<'static, str>>) -> Self {
        VerifyError {
            check,
            challenge: Challenge::Bearer,
            message: message.into(),
        }
    }

    /// The same refusal with another challenge.
    pub fn with_challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = challenge;
        self
    }

    /// Key material refused at construction.
    pub fn invalid_key(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Check::KeyMaterial, message)
    }

    /// "malformed signature envelope: <member>".
    pub(crate) fn malformed_envelope(member: &str) -> Self {
        Self::new(
            Check::MalformedEnvelope,
            format!("{}: {member}", msg::MALFORMED_ENVELOPE),
        )
    }

    /// "message is not I-JSON: <why>".
    pub fn not_i_json(why: impl fmt::Display) -> Self {
        Self::new(Check::NotIJson, format!("{}: {why}", msg::NOT_I_JSON))
    }

    /// "message cannot be signed: <why>".
    pub(crate) fn cannot_sign(why: &str) -> Self {
        Self::new(Check::CannotSign, format!("{}: {why}", msg::CANNOT_SIGN))
    }

    /// -32011 "insufficient scope: <missing>" with the matching challenge.
    pub fn insufficient_scope(missing: &[&str]) -> Self {
        let wanted = missing.join(" ");
        Self::new(
            Check::InsufficientScope,
            format!("{}: {wanted}", msg::INSUFFICIENT_SCOPE),
        )
        .with_challenge(Challenge::InsufficientScope(wanted))
    }

    pub fn check(&self) -> Check {
        self.check
    }

    pub fn kind(&self) -> ErrorKind {
        self.check.kind()
    }

    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON-RPC error code (`None` for [`ErrorKind::InvalidKey`]).
    pub fn code(&self) -> Option<i32> {
        self.kind().code()
    }

    /// The HTTP status (`None` for [`ErrorKind::InvalidKey`]).
    pub fn http_status(&self) -> Option<u16> {
        self.kind().http_status()
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for VerifyError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_map_to_kinds_codes_and_statuses() {
        let bad = VerifyError::new(Check::BadSignature, msg::BAD_SIGNATURE);
        assert_eq!(bad.kind(), ErrorKind::Unauthenticated);
        assert_eq!(bad.code(), Some(-32010));
        assert_eq!(bad.http_status(), Some(401));
        assert_eq!(VerifyError::insufficient_scope(&["a"]).code(), Some(-32011));
        assert_eq!(
            VerifyError::new(Check::Replayed, msg::REPLAYED).code(),
            Some(-32012)
        );
        assert_eq!(VerifyError::invalid_key("x").code(), None);
        assert_eq!(ErrorKind::Forbidden.http_status(), Some(403));
        assert_eq!(ErrorKind::Replayed.http_status(), Some(401));
        assert_eq!(ErrorKind::InvalidKey.http_status(), None);
    }

    #[test]
    fn challenges() {
        let bad = VerifyError::new(Check::BadSignature, msg::BAD_SIGNATURE);
        assert_eq!(bad.challenge().header_value(), "Bearer");
        let token = bad.with_challenge(Challenge::InvalidToken);
        assert_eq!(
            token.challenge().header_value(),
            "Bearer error=\"invalid_token\""
        );
        let scope = VerifyError::insufficient_scope(&["a", "b"]);
        assert_eq!(scope.message(), "insufficient scope: a b");
        assert_eq!(
            scope.challenge().header_value(),
            "Bearer error=\"insufficient_scope\", scope=\"a b\""
        );
    }

    #[test]
    fn composed_messages() {
        assert_eq!(
            VerifyError::malformed_envelope("nonce").message(),
            "malformed signature envelope: nonce"
        );
        assert_eq!(
            VerifyError::not_i_json("non-finite number").to_string(),
            "message is not I-JSON: non-finite number"
        );
        assert_eq!(
            VerifyError::cannot_sign("_meta is not an object").check(),
            Check::CannotSign
        );
    }
}
