//! The one error type of this crate. Messages are the fixed texts of `docs/verification.md`; they
//! say what failed and never carry a secret, a signature or a whole token.

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
    // Policy.
    pub const AUTHENTICATION_REQUIRED: &str = "authentication required";
}

/// A refused envelope, token or key: what kind of outcome, and the message to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    kind: ErrorKind,
    message: Cow<'static, str>,
}

impl VerifyError {
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        VerifyError {
            kind,
            message: message.into(),
        }
    }

    pub fn unauthenticated(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    pub fn replayed(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Replayed, message)
    }

    pub fn invalid_key(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidKey, message)
    }

    /// -32010 "malformed signature envelope: <member>".
    pub(crate) fn malformed_envelope(member: &str) -> Self {
        Self::unauthenticated(format!("{}: {member}", msg::MALFORMED_ENVELOPE))
    }

    /// -32010 "message is not I-JSON: <why>".
    pub(crate) fn not_i_json(why: impl fmt::Display) -> Self {
        Self::unauthenticated(format!("{}: {why}", msg::NOT_I_JSON))
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON-RPC error code (`None` for [`ErrorKind::InvalidKey`]).
    pub fn code(&self) -> Option<i32> {
        self.kind.code()
    }

    /// The HTTP status (`None` for [`ErrorKind::InvalidKey`]).
    pub fn http_status(&self) -> Option<u16> {
        self.kind.http_status()
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
    fn kinds_map_to_codes_and_statuses() {
        assert_eq!(
            VerifyError::unauthenticated(msg::BAD_SIGNATURE).code(),
            Some(-32010)
        );
        assert_eq!(VerifyError::forbidden("x").code(), Some(-32011));
        assert_eq!(VerifyError::replayed("x").code(), Some(-32012));
        assert_eq!(VerifyError::invalid_key("x").code(), None);
        assert_eq!(ErrorKind::Unauthenticated.http_status(), Some(401));
        assert_eq!(ErrorKind::Forbidden.http_status(), Some(403));
        assert_eq!(ErrorKind::Replayed.http_status(), Some(401));
        assert_eq!(ErrorKind::InvalidKey.http_status(), None);
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
    }
}
