//! Verification decisions of mcp-fastpath in plain Rust (no Python): strict base64url, RFC 8785
//! canonical JSON, keys bound to one algorithm and their JWKs, the signed envelope
//! `dev.mcp-fastpath/sig`, JWT verification (with its token cache), the scope policy and the
//! admission of a request, with the check order and messages of `docs/verification.md`.
//!
//! Time is always an input (envelopes: unix milliseconds, like `iat`; JWTs: unix seconds as
//! `f64`, like `exp`), read through a [`Clock`] at the step that needs it; nothing here reads the
//! system clock or does I/O. Every refusal is a [`VerifyError`] naming the [`Check`] that failed.

pub mod b64url;
pub mod clock;
pub mod der;
pub mod ec;
pub mod envelope;
pub mod errors;
pub mod gate;
pub mod jcs;
pub mod jwk;
pub mod jwt;
pub mod keyring;
pub mod keys;
pub mod policy;
pub mod rsa;

pub use clock::{Clock, Failure, FixedClock};
pub use envelope::{
    sign_envelope, signed_bytes, verify_envelope, EnvelopeOptions, EnvelopeVerifier, SignatureInfo,
};
pub use errors::{Challenge, Check, ErrorKind, VerifyError};
pub use gate::{Admission, Gate};
pub use jwt::{
    sign_jwt, sign_jwt_with_header, verify_jwt, JwtOptions, JwtVerifier, Principal, Token,
};
pub use keyring::KeyRing;
pub use keys::{Ed25519Public, HmacSecret, JwtAlg, Key, KeyType, Kid};
pub use policy::ScopePolicy;
