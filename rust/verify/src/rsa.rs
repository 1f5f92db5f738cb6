//! RSA public keys for JWTs, each bound to one algorithm: `RS256` (RSASSA-PKCS1-v1_5) or `PS256`
//! (RSASSA-PSS, MGF1, salt as long as the hash: RFC 7518 §3.5), both with SHA-256, verified by
//! AWS-LC. A key is checked once, at construction: a modulus of 2048 to 8192 bits (shorter keys
//! are refused, RFC 7518 §3.3), odd; an exponent that is odd, at least 3 and at most 33 bits.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256};

use crate::der;
use crate::errors::VerifyError;

/// Smallest and largest modulus accepted, in bits.
pub const MIN_MODULUS_BITS: usize = 2048;
pub const MAX_MODULUS_BITS: usize = 8192;

/// The refusal of a modulus outside 2048..=8192 bits.
pub const MODULUS_SIZE: &str = "an RSA key must have a modulus of 2048 to 8192 bits";
/// The refusal of numbers no RSA key has.
pub const NOT_RSA: &str = "not a valid RSA public key";

/// The two RSA signature schemes of JWS we verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RsaScheme {
    /// `RS256`.
    Pkcs1v15,
    /// `PS256`.
    Pss,
}

/// An RSA public key bound to one scheme.
#[derive(Clone)]
pub struct RsaPublic {
    n: Vec<u8>,
    e: Vec<u8>,
    scheme: RsaScheme,
    parsed: Arc<ParsedPublicKey>,
}

/// `bytes` without leading zero octets.
pub(crate) fn magnitude(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn bits(magnitude: &[u8]) -> usize {
    match magnitude.first() {
        None => 0,
        Some(&top) => magnitude.len() * 8 - top.leading_zeros() as usize,
    }
}

impl RsaPublic {
    /// From the modulus and exponent (big-endian; leading zeros are ignored).
    pub fn new(n: &[u8], e: &[u8], scheme: RsaScheme) -> Result<RsaPublic, VerifyError> {
        let (n, e) = (magnitude(n), magnitude(e));
        if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits(n)) {
            return Err(VerifyError::invalid_key(MODULUS_SIZE));
        }
        let odd = |x: &[u8]| x.last().is_some_and(|b| b & 1 == 1);
        if !odd(n) || !odd(e) || !(2..=33).contains(&bits(e)) {
            return Err(VerifyError::invalid_key(NOT_RSA));
        }
        let algorithm = match scheme {
            RsaScheme::Pkcs1v15 => &RSA_PKCS1_2048_8192_SHA256,
            RsaScheme::Pss => &RSA_PSS_2048_8192_SHA256,
        };
        let parsed = ParsedPublicKey::new(algorithm, der::encode_rsa_public_key(n, e))
            .map_err(|_| VerifyError::invalid_key(NOT_RSA))?;
        Ok(RsaPublic {
            n: n.to_vec(),
            e: e.to_vec(),
            scheme,
            parsed: Arc::new(parsed),
        })
    }

    /// The modulus, big-endian without leading zeros.
    pub fn modulus(&self) -> &[u8] {
        &self.n
    }

    /// The public exponent, big-endian without leading zeros.
    pub fn exponent(&self) -> &[u8] {
        &self.e
    }

    pub fn scheme(&self) -> RsaScheme {
        self.scheme
    }

    /// The modulus length in bits.
    pub fn bits(&self) -> usize {
        bits(&self.n)
    }

    /// Whether `signature` is this key's signature of `message` in its scheme. A signature is
    /// exactly as long as the modulus (RFC 8017 §8.2.2 step 1): a shorter one is refused here,
    /// not padded.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        signature.len() == self.n.len() && self.parsed.verify_sig(message, signature).is_ok()
    }
}

impl PartialEq for RsaPublic {
    fn eq(&self, other: &RsaPublic) -> bool {
        self.n == other.n && self.e == other.e && self.scheme == other.scheme
    }
}

impl fmt::Debug for RsaPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPublic({:?}, {} bits)", self.scheme, self.bits())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A 2048-bit test key (n, e = 65537) and an RS256 and a PS256 signature of `MESSAGE`, made
    /// with Python's `cryptography`.
    pub(crate) const N: &str = include_str!("../testdata/rsa2048_n.hex");
    pub(crate) const RS256_SIG: &str = include_str!("../testdata/rsa2048_rs256.hex");
    pub(crate) const PS256_SIG: &str = include_str!("../testdata/rsa2048_ps256.hex");
    pub(crate) const MESSAGE: &[u8] = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9";

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        crate::keys::tests::hex(s.trim())
    }

    #[test]
    fn verifies_each_scheme_with_its_own_signatures() {
        let n = hex(N);
        let rs = RsaPublic::new(&n, &[1, 0, 1], RsaScheme::Pkcs1v15).unwrap();
        let ps = RsaPublic::new(&n, &[1, 0, 1], RsaScheme::Pss).unwrap();
        assert_eq!(rs.bits(), 2048);
        assert!(rs.verify(MESSAGE, &hex(RS256_SIG)));
        assert!(ps.verify(MESSAGE, &hex(PS256_SIG)));
        // Each key verifies its own scheme only.
        assert!(!rs.verify(MESSAGE, &hex(PS256_SIG)));
        assert!(!ps.verify(MESSAGE, &hex(RS256_SIG)));
        assert!(!rs.verify(b"other", &hex(RS256_SIG)));
        // Length is the modulus length, exactly.
        let sig = hex(RS256_SIG);
        assert!(!rs.verify(MESSAGE, &[[0u8].as_slice(), &sig].concat()));
        assert!(!rs.verify(MESSAGE, &sig[1..]));
        // Leading zeros of n and e are not part of the key.
        let padded = RsaPublic::new(
            &[[0u8, 0].as_slice(), &n].concat(),
            &[0, 1, 0, 1],
            RsaScheme::Pkcs1v15,
        );
        assert_eq!(padded.unwrap(), rs);
    }

    #[test]
    fn refuses_weak_and_impossible_keys() {
        let n = hex(N);
        let message = |r: Result<RsaPublic, VerifyError>| r.unwrap_err().message().to_owned();
        assert_eq!(
            message(RsaPublic::new(&n[1..], &[1, 0, 1], RsaScheme::Pss)),
            MODULUS_SIZE
        );
        assert_eq!(
            message(RsaPublic::new(&[0xff; 1025], &[1, 0, 1], RsaScheme::Pss)),
            MODULUS_SIZE
        );
        assert!(RsaPublic::new(&[0xff; 1024], &[1, 0, 1], RsaScheme::Pss).is_ok());
        let mut even = n.clone();
        *even.last_mut().unwrap() &= 0xfe;
        assert_eq!(
            message(RsaPublic::new(&even, &[1, 0, 1], RsaScheme::Pss)),
            NOT_RSA
        );
        for e in [&[1u8][..], &[2], &[1, 0, 0], &[2, 0, 0, 0, 0, 1], &[]] {
            assert_eq!(
                message(RsaPublic::new(&n, e, RsaScheme::Pss)),
                NOT_RSA,
                "{e:?}"
            );
        }
        assert!(RsaPublic::new(&n, &[3], RsaScheme::Pss).is_ok());
        assert!(RsaPublic::new(&n, &[1, 0, 0, 0, 1], RsaScheme::Pss).is_ok());
    }
}
