//! Verification decisions of mcp-fastpath in plain Rust (no Python): strict base64url, RFC 8785
//! canonical JSON, keys bound to one algorithm, the signed envelope `dev.mcp-fastpath/sig` and
//! JWT verification, with the check order and messages of `docs/verification.md`.
//!
//! Time is always an input (envelopes: `now_ms`, unix milliseconds, like `iat`; JWTs: `now_s`,
//! unix seconds as `f64`, like `exp`); nothing here reads a clock or does I/O.

pub mod b64url;
pub mod envelope;
pub mod errors;
pub mod jcs;
pub mod jwt;
pub mod keys;

pub use envelope::{sign_envelope, signed_bytes, verify_envelope, EnvelopeOptions, SignatureInfo};
pub use errors::{ErrorKind, VerifyError};
pub use jwt::{sign_jwt, sign_jwt_with_header, verify_jwt, JwtOptions, Principal};
pub use keys::{Ed25519Public, HmacSecret, JwtAlg, Key, KeyRing, KeyType, Kid};
