//! Public-key PEM and the little DER they hold (X.690 distinguished encoding, strict): a
//! SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) of an RSA, P-256 or Ed25519 key, and a PKCS#1
//! `RSAPublicKey` (RFC 8017 §A.1.1). Every length, integer and bit string must have its one DER
//! form, and nothing may follow the structure, so a key has one accepted encoding on both
//! backends (the pure twin is `mcp_fastpath._pure.der`).

use crate::b64url;

/// A PEM that is not one of ours, or DER that is not strictly what we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// `rsaEncryption` (1.2.840.113549.1.1.1).
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// `id-ecPublicKey` (1.2.840.10045.2.1).
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// `prime256v1` / P-256 (1.2.840.10045.3.1.7).
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// `id-Ed25519` (1.3.101.112).
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// What a SubjectPublicKeyInfo holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spki {
    /// Modulus and public exponent, big-endian without leading zeros.
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// The uncompressed point `0x04 || x || y` on P-256 (not checked to be on the curve here).
    P256 {
        point: Vec<u8>,
    },
    Ed25519 {
        key: Vec<u8>,
    },
    /// Another algorithm or curve.
    Other,
}

/// The DER inside `-----BEGIN <label>-----` … `-----END <label>-----`: outer ASCII whitespace
/// trimmed, the body's ASCII whitespace removed, padded standard base64 with canonical bits.
pub fn pem_body(pem: &[u8], label: &str) -> Result<Vec<u8>, Malformed> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = pem
        .trim_ascii()
        .strip_prefix(begin.as_bytes())
        .and_then(|rest| rest.strip_suffix(end.as_bytes()))
        .ok_or(Malformed)?;
    let b64: Vec<u8> = body
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    b64url::decode_standard(&b64).map_err(|_| Malformed)
}

/// The label of a PEM block (`PUBLIC KEY`, `RSA PUBLIC KEY`, …), read from its first line.
pub fn pem_label(pem: &[u8]) -> Option<&str> {
    let rest = pem.trim_ascii().strip_prefix(b"-----BEGIN ")?;
    let end = rest.windows(5).position(|w| w == b"-----")?;
    std::str::from_utf8(&rest[..end]).ok()
}

/// A DER reader over one buffer.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// The contents of the next element, which must have `tag`.
    fn element(&mut self, tag: u8) -> Result<&'a [u8], Malformed> {
        let (&first, rest) = self.0.split_first().ok_or(Malformed)?;
        if first != tag {
            return Err(Malformed);
        }
        let (&length, mut rest) = rest.split_first().ok_or(Malformed)?;
        let length = if length < 0x80 {
            usize::from(length)
        } else {
            // Long form: 1 or 2 length octets, minimal (no leading zero, not < 128).
            let count = usize::from(length & 0x7f);
            if !(1..=2).contains(&count) || rest.len() < count || rest[0] == 0 {
                return Err(Malformed);
            }
            let value = rest[..count]
                .iter()
                .fold(0usize, |n, &b| (n << 8) | usize::from(b));
            rest = &rest[count..];
            if value < 0x80 {
                return Err(Malformed);
            }
            value
        };
        if rest.len() < length {
            return Err(Malformed);
        }
        let (contents, after) = rest.split_at(length);
        self.0 = after;
        Ok(contents)
    }

    /// A non-negative INTEGER in minimal form, as big-endian bytes without the sign octet.
    fn unsigned(&mut self) -> Result<&'a [u8], Malformed> {
        let value = self.element(0x02)?;
        match value {
            [] => Err(Malformed),
            [first, ..] if first & 0x80 != 0 => Err(Malformed), // negative
            [0, next, ..] if next & 0x80 == 0 => Err(Malformed), // a needless zero
            [0, rest @ ..] if !rest.is_empty() => Ok(rest),
            _ => Ok(value),
        }
    }

    /// A BIT STRING with no unused bits.
    fn bit_string(&mut self) -> Result<&'a [u8], Malformed> {
        match self.element(0x03)? {
            [0, bits @ ..] => Ok(bits),
            _ => Err(Malformed),
        }
    }

    fn end(&self) -> Result<(), Malformed> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Malformed)
        }
    }
}

/// A PKCS#1 `RSAPublicKey`: `SEQUENCE { INTEGER n, INTEGER e }` → `(n, e)`.
pub fn rsa_public_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Malformed> {
    let mut outer = Reader(der);
    let mut key = Reader(outer.element(0x30)?);
    outer.end()?;
    let n = key.unsigned()?.to_vec();
    let e = key.unsigned()?.to_vec();
    key.end()?;
    Ok((n, e))
}

/// A SubjectPublicKeyInfo: `SEQUENCE { SEQUENCE { OID, params }, BIT STRING }`.
pub fn spki(der: &[u8]) -> Result<Spki, Malformed> {
    let mut outer = Reader(der);
    let mut info = Reader(outer.element(0x30)?);
    outer.end()?;
    let mut algorithm = Reader(info.element(0x30)?);
    let key = info.bit_string()?;
    info.end()?;
    let oid = algorithm.element(0x06)?;
    let spki = if oid == OID_RSA {
        algorithm
            .element(0x05)?
            .is_empty()
            .then_some(())
            .ok_or(Malformed)?; // NULL
        let (n, e) = rsa_public_key(key)?;
        Spki::Rsa { n, e }
    } else if oid == OID_EC {
        if algorithm.element(0x06)? == OID_P256 {
            Spki::P256 {
                point: key.to_vec(),
            }
        } else {
            Spki::Other
        }
    } else if oid == OID_ED25519 {
        Spki::Ed25519 { key: key.to_vec() }
    } else {
        return Ok(Spki::Other);
    };
    algorithm.end()?;
    Ok(spki)
}

/// The PKCS#1 `RSAPublicKey` DER of `(n, e)` (big-endian, without leading zeros).
pub fn encode_rsa_public_key(n: &[u8], e: &[u8]) -> Vec<u8> {
    let integer = |magnitude: &[u8]| {
        let mut contents = Vec::with_capacity(magnitude.len() + 1);
        if magnitude.first().is_none_or(|b| b & 0x80 != 0) {
            contents.push(0);
        }
        contents.extend_from_slice(magnitude);
        encode(0x02, &contents)
    };
    encode(0x30, &[integer(n), integer(e)].concat())
}

fn encode(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = contents.len();
    if length < 0x80 {
        out.push(length as u8);
    } else if length < 0x100 {
        out.extend([0x81, length as u8]);
    } else {
        out.extend([0x82, (length >> 8) as u8, length as u8]);
    }
    out.extend_from_slice(contents);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Standard padded base64 (for building PEMs in tests).
    pub(crate) fn standard_b64(bytes: &[u8]) -> String {
        let mut s = b64url::encode(bytes).replace('-', "+").replace('_', "/");
        while !s.len().is_multiple_of(4) {
            s.push('=');
        }
        s
    }

    fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
        encode(tag, contents)
    }

    fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
        let key = der(0x30, &[der(0x02, n), der(0x02, e)].concat());
        let algorithm = der(0x30, &[der(0x06, OID_RSA), der(0x05, &[])].concat());
        der(
            0x30,
            &[algorithm, der(0x03, &[&[0u8][..], &key].concat())].concat(),
        )
    }

    #[test]
    fn reads_rsa_and_p256_spki() {
        let mut n = vec![0x00, 0xc1];
        n.extend([7u8; 255]);
        assert_eq!(
            spki(&rsa_spki(&n, &[1, 0, 1])),
            Ok(Spki::Rsa {
                n: n[1..].to_vec(),
                e: vec![1, 0, 1]
            })
        );
        let point = [[4u8].as_slice(), &[9u8; 64]].concat();
        let algorithm = der(0x30, &[der(0x06, OID_EC), der(0x06, OID_P256)].concat());
        let p256 = der(
            0x30,
            &[algorithm, der(0x03, &[&[0u8][..], &point].concat())].concat(),
        );
        assert_eq!(
            spki(&p256),
            Ok(Spki::P256 {
                point: point.clone()
            })
        );
        // P-384 is another curve.
        let p384_oid = [0x2b, 0x81, 0x04, 0x00, 0x22];
        let algorithm = der(0x30, &[der(0x06, OID_EC), der(0x06, &p384_oid)].concat());
        let p384 = der(
            0x30,
            &[algorithm, der(0x03, &[&[0u8][..], &point].concat())].concat(),
        );
        assert_eq!(spki(&p384), Ok(Spki::Other));
    }

    #[test]
    fn refuses_what_is_not_strict_der() {
        let n = [[0x00, 0xc1].as_slice(), &[7u8; 255]].concat();
        let good = rsa_spki(&n, &[1, 0, 1]);
        assert!(spki(&good).is_ok());
        // Trailing data, a truncated element.
        assert_eq!(spki(&[good.clone(), vec![0]].concat()), Err(Malformed));
        assert_eq!(spki(&good[..good.len() - 1]), Err(Malformed));
        // A needless leading zero, a negative integer, an empty one.
        assert_eq!(spki(&rsa_spki(&[0, 0x41], &[1, 0, 1])), Err(Malformed));
        assert_eq!(spki(&rsa_spki(&[0xc1, 1], &[1, 0, 1])), Err(Malformed));
        assert_eq!(spki(&rsa_spki(&[], &[1, 0, 1])), Err(Malformed));
        // A long-form length that fits the short form.
        let mut long = vec![0x30, 0x81, 0x03];
        long.extend(der(0x05, &[0]));
        assert_eq!(spki(&long), Err(Malformed));
        // Unused bits in the key's BIT STRING.
        let algorithm = der(0x30, &[der(0x06, OID_RSA), der(0x05, &[])].concat());
        let key = der(0x30, &[der(0x02, &n), der(0x02, &[1, 0, 1])].concat());
        let bits = der(
            0x30,
            &[algorithm, der(0x03, &[&[1u8][..], &key].concat())].concat(),
        );
        assert_eq!(spki(&bits), Err(Malformed));
        assert_eq!(rsa_public_key(&[0x30, 0x00]), Err(Malformed));
    }

    #[test]
    fn rsa_public_key_round_trip() {
        let n = [[0xc1u8].as_slice(), &[7u8; 255]].concat();
        let der = encode_rsa_public_key(&n, &[1, 0, 1]);
        assert_eq!(rsa_public_key(&der), Ok((n, vec![1, 0, 1])));
        assert_eq!(
            rsa_public_key(&encode_rsa_public_key(&[0x41], &[3])),
            Ok((vec![0x41], vec![3]))
        );
    }

    #[test]
    fn pem_blocks() {
        let body = standard_b64(b"\x30\x00");
        let pem =
            format!("-----BEGIN RSA PUBLIC KEY-----\r\n{body}\r\n-----END RSA PUBLIC KEY-----\n");
        assert_eq!(pem_label(pem.as_bytes()), Some("RSA PUBLIC KEY"));
        assert_eq!(
            pem_body(pem.as_bytes(), "RSA PUBLIC KEY"),
            Ok(b"\x30\x00".to_vec())
        );
        assert_eq!(pem_body(pem.as_bytes(), "PUBLIC KEY"), Err(Malformed));
        assert_eq!(pem_label(b"no pem"), None);
        let bad = "-----BEGIN PUBLIC KEY-----\nMA=\n-----END PUBLIC KEY-----";
        assert_eq!(pem_body(bad.as_bytes(), "PUBLIC KEY"), Err(Malformed));
    }
}
