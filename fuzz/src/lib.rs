//! What the fuzz targets share: the fixed test keys (made for fuzzing only, never trusted
//! anywhere), the verifier settings, signing for every JWT algorithm (the verify crate signs only
//! HS256 and Ed25519; RS256, PS256 and ES256 are signed here with AWS-LC), and a small reader of
//! the header block some inputs start with.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256, RSA_PSS_SHA256,
};
use fastpath_codec::json::{ParseError, ParseErrorKind, ParseLimits};
use fastpath_codec::Value;
use fastpath_verify::keys::RsaScheme;
use fastpath_verify::{JwtAlg, JwtOptions, Key, KeyRing};

/// The time every verification runs at: unix seconds (JWT) and milliseconds (envelopes). Seeds
/// carry times around it.
pub const NOW_S: f64 = 1_780_000_000.0;
pub const NOW_MS: i64 = 1_780_000_000_000;
pub const ISSUER: &str = "https://issuer.example";
pub const AUDIENCE: &str = "https://mcp.example/mcp";

/// HMAC secret (kid `hs`): exactly the 32-byte minimum.
pub const HMAC_SECRET: &[u8; 32] = b"fuzz-only-hmac-secret-0123456789";
/// Ed25519 seed (kid `ed`): RFC 8032 §7.1 TEST 1, a published test key.
pub const ED25519_SEED: [u8; 32] = [
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
];
/// RSA-2048 (kids `rs`, bound to RS256, and `ps`, bound to PS256) and P-256 (kid `es`) test keys,
/// generated with `openssl genpkey` for fuzzing only.
const RSA_PKCS8: &[u8] = include_bytes!("../keys/rsa2048.pk8.der");
pub const RSA_PUBLIC_PEM: &[u8] = include_bytes!("../keys/rsa2048.pub.pem");
const EC_PKCS8: &[u8] = include_bytes!("../keys/p256.pk8.der");
pub const EC_PUBLIC_PEM: &[u8] = include_bytes!("../keys/p256.pub.pem");

/// The algorithms the `jwt` target signs with, each with the kid of its key in [`Keys::ring`].
pub const SIGNERS: [(JwtAlg, &str); 6] = [
    (JwtAlg::Hs256, "hs"),
    (JwtAlg::EdDsa, "ed"),
    (JwtAlg::Ed25519, "ed"),
    (JwtAlg::Rs256, "rs"),
    (JwtAlg::Ps256, "ps"),
    (JwtAlg::Es256, "es"),
];

/// The fixed keys, loaded once per process.
pub struct Keys {
    /// Every key: `hs`, `ed` (private: it signs envelopes too), `rs`, `ps`, `es`.
    pub ring: Arc<KeyRing>,
    /// The keys that sign envelopes: `hs` and `ed`.
    pub hmac: Key,
    pub ed25519: Key,
    rsa: RsaKeyPair,
    ec: EcdsaKeyPair,
    rng: SystemRandom,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let hmac = Key::hmac("hs", HMAC_SECRET).expect("a 32-byte secret");
        let ed25519 = Key::ed25519_private("ed", &ED25519_SEED).expect("a 32-byte seed");
        let rs = Key::rsa_public_pem("rs", RSA_PUBLIC_PEM, RsaScheme::Pkcs1v15).expect("RSA PEM");
        let ps = Key::rsa_public_pem("ps", RSA_PUBLIC_PEM, RsaScheme::Pss).expect("RSA PEM");
        let es = Key::ec_public_pem("es", EC_PUBLIC_PEM).expect("P-256 PEM");
        let ring = KeyRing::new(vec![hmac.clone(), ed25519.clone(), rs, ps, es]).expect("kids");
        Keys {
            ring: Arc::new(ring),
            hmac,
            ed25519,
            rsa: RsaKeyPair::from_pkcs8(RSA_PKCS8).expect("RSA PKCS#8"),
            ec: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, EC_PKCS8)
                .expect("P-256 PKCS#8"),
            rng: SystemRandom::new(),
        }
    })
}

impl Keys {
    /// The JWS signature of `message` under `alg` with the fixed key for it.
    pub fn sign(&self, alg: JwtAlg, message: &[u8]) -> Vec<u8> {
        match alg {
            JwtAlg::Hs256 => self.hmac.sign(message).expect("HMAC signs"),
            JwtAlg::EdDsa | JwtAlg::Ed25519 => self.ed25519.sign(message).expect("Ed25519 signs"),
            JwtAlg::Rs256 | JwtAlg::Ps256 => {
                let scheme = if alg == JwtAlg::Rs256 {
                    &RSA_PKCS1_SHA256
                } else {
                    &RSA_PSS_SHA256
                };
                let mut sig = vec![0; self.rsa.public_modulus_len()];
                self.rsa
                    .sign(scheme, &self.rng, message, &mut sig)
                    .expect("RSA signs");
                sig
            }
            JwtAlg::Es256 => self
                .ec
                .sign(&self.rng, message)
                .expect("P-256 signs")
                .as_ref()
                .to_vec(),
        }
    }
}

/// What the `jwt` target requires of a token: ours, every algorithm allowed.
pub fn jwt_options() -> JwtOptions {
    JwtOptions::new(ISSUER, AUDIENCE)
}

/// The limits the project runs with by default (`mcp_fastpath.Limits`).
pub const LIMITS: ParseLimits = ParseLimits {
    max_depth: 64,
    max_string_bytes: 1024 * 1024,
};

/// Whether a parse failed on one of our limits (a refusal no grammar makes).
pub fn is_limit(e: &ParseError) -> bool {
    matches!(
        e.kind,
        ParseErrorKind::TooDeep | ParseErrorKind::StringTooLong
    )
}

/// An input split like an HTTP message: header lines (`name: value`, raw bytes, read as Latin-1
/// the way ASGI servers hand them over) up to the first empty line, then the body. Without an
/// empty line there is no header block at all (`headers` is `None`): the whole input is the body.
pub struct Split<'a> {
    pub headers: Option<Vec<(&'a [u8], &'a [u8])>>,
    pub body: &'a [u8],
}

pub fn split_message(data: &[u8]) -> Split<'_> {
    let Some(end) = data.windows(2).position(|w| w == b"\n\n") else {
        return Split {
            headers: None,
            body: data,
        };
    };
    let lines = data[..end]
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| match line.iter().position(|&b| b == b':') {
            Some(colon) => (&line[..colon], &line[colon + 1..]),
            None => (line, &b""[..]),
        })
        .collect();
    Split {
        headers: Some(lines),
        body: &data[end + 2..],
    }
}

/// `value` with every string that the parser borrowed copied, so that it outlives its input.
pub fn owned(value: &Value<'_>) -> Value<'static> {
    match value {
        Value::Null => Value::Null,
        Value::Bool(b) => Value::Bool(*b),
        Value::Int(i) => Value::Int(*i),
        Value::UInt(u) => Value::UInt(*u),
        Value::Float(f) => Value::Float(*f),
        Value::Str(s) => Value::Str(Cow::Owned(s.to_string())),
        Value::Array(items) => Value::Array(items.iter().map(owned).collect()),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| (Cow::Owned(k.to_string()), owned(v)))
                .collect(),
        ),
    }
}
