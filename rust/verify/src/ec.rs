//! P-256 public keys for `ES256` JWTs (ECDSA with SHA-256, RFC 7518 §3.4), verified by AWS-LC.
//!
//! A key is an uncompressed point on the curve, checked at construction. A signature is the JOSE
//! form only: `r || s`, 32 bytes each (a DER `Ecdsa-Sig-Value` is refused). Both `s` and `n − s`
//! are accepted ("high S"): RFC 7518 does not ask for low S, and signers such as cloud KMSs
//! produce either, so refusing one would refuse half of their tokens. A JWT's signature being
//! malleable this way changes nothing we rely on (the token cache is keyed by the whole token,
//! whose claims are the same either way).

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{ParsedPublicKey, ECDSA_P256_SHA256_FIXED};

use crate::errors::VerifyError;

/// The refusal of anything that is not a point on P-256.
pub const NOT_A_POINT: &str = "an EC key must be a point on P-256";

/// A P-256 public key.
#[derive(Clone)]
pub struct EcPublic {
    x: [u8; 32],
    y: [u8; 32],
    parsed: Arc<ParsedPublicKey>,
}

impl EcPublic {
    /// From the affine coordinates, 32 bytes each (big-endian).
    pub fn from_coordinates(x: &[u8], y: &[u8]) -> Result<EcPublic, VerifyError> {
        let not_a_point = || VerifyError::invalid_key(NOT_A_POINT);
        let x: [u8; 32] = x.try_into().map_err(|_| not_a_point())?;
        let y: [u8; 32] = y.try_into().map_err(|_| not_a_point())?;
        let point = [[4u8].as_slice(), &x, &y].concat();
        let parsed =
            ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).map_err(|_| not_a_point())?;
        Ok(EcPublic {
            x,
            y,
            parsed: Arc::new(parsed),
        })
    }

    /// From the uncompressed encoding `0x04 || x || y` (SEC 1 §2.3.3).
    pub fn from_point(point: &[u8]) -> Result<EcPublic, VerifyError> {
        match point {
            [4, coordinates @ ..] if coordinates.len() == 64 => {
                EcPublic::from_coordinates(&coordinates[..32], &coordinates[32..])
            }
            _ => Err(VerifyError::invalid_key(NOT_A_POINT)),
        }
    }

    pub fn x(&self) -> &[u8; 32] {
        &self.x
    }

    pub fn y(&self) -> &[u8; 32] {
        &self.y
    }

    /// Whether `signature` (`r || s`, 64 bytes) is this key's ES256 signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        signature.len() == 64 && self.parsed.verify_sig(message, signature).is_ok()
    }
}

impl PartialEq for EcPublic {
    fn eq(&self, other: &EcPublic) -> bool {
        self.x == other.x && self.y == other.y
    }
}

impl fmt::Debug for EcPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcPublic({})", crate::b64url::encode(&self.x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rsa::tests::{hex, MESSAGE};

    const POINT: &str = include_str!("../testdata/p256_point.hex");
    const ES256_SIG: &str = include_str!("../testdata/p256_es256.hex");
    /// The order of the P-256 group.
    const ORDER: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

    /// `n − s` for a 32-byte big-endian `s`.
    fn negate(s: &[u8]) -> Vec<u8> {
        let n = hex(ORDER);
        let mut out = vec![0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let mut d = i16::from(n[i]) - i16::from(s[i]) - borrow;
            borrow = i16::from(d < 0);
            if d < 0 {
                d += 256;
            }
            out[i] = d as u8;
        }
        out
    }

    #[test]
    fn verifies_raw_signatures_only() {
        let key = EcPublic::from_point(&hex(POINT)).unwrap();
        let sig = hex(ES256_SIG);
        assert!(key.verify(MESSAGE, &sig));
        assert!(!key.verify(b"other", &sig));
        // High S (n − s) is the same signature in its other form: accepted.
        let high = [&sig[..32], &negate(&sig[32..])].concat();
        assert!(key.verify(MESSAGE, &high));
        // DER, or any length but 64, is refused.
        let der = [
            &[0x30, 0x44, 0x02, 0x20][..],
            &sig[..32],
            &[0x02, 0x20],
            &sig[32..],
        ]
        .concat();
        assert!(!key.verify(MESSAGE, &der));
        assert!(!key.verify(MESSAGE, &sig[..63]));
        // r = 0 or s = 0 is never a signature.
        assert!(!key.verify(MESSAGE, &[[0u8; 32].as_slice(), &sig[32..]].concat()));
        assert!(!key.verify(MESSAGE, &[&sig[..32], [0u8; 32].as_slice()].concat()));
    }

    #[test]
    fn refuses_what_is_not_a_point() {
        let point = hex(POINT);
        assert_eq!(
            EcPublic::from_point(&point).unwrap(),
            EcPublic::from_coordinates(&point[1..33], &point[33..]).unwrap()
        );
        let mut off_curve = point.clone();
        off_curve[64] ^= 1;
        for bad in [
            off_curve,
            point[..64].to_vec(),
            [&[2u8][..], &point[1..33]].concat(),
            vec![0u8; 65],
        ] {
            assert_eq!(
                EcPublic::from_point(&bad).unwrap_err().message(),
                NOT_A_POINT
            );
        }
        assert!(EcPublic::from_coordinates(&point[1..32], &point[33..]).is_err());
        // x = p (out of the field range).
        let p = hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
        assert!(EcPublic::from_coordinates(&p, &point[33..]).is_err());
    }
}
