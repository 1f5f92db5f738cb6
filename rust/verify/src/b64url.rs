//! Strict base64url (RFC 4648 §5) for envelope nonces and signatures, JWT segments and JWK members:
//! alphabet `A-Z a-z 0-9 - _` only, no padding, no whitespace, and canonical (the unused bits of
//! the last character are zero), so every byte string has exactly one accepted encoding.
//!
//! Also the padded standard alphabet, for the body of a PEM block.

use std::fmt;

/// The input is not strict base64url (or, for [`decode_standard`], not padded standard base64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidBase64;

impl fmt::Display for InvalidBase64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid base64")
    }
}

impl std::error::Error for InvalidBase64 {}

const URL_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const INVALID: u8 = 0xff;

const fn reverse(alphabet: &[u8; 64]) -> [u8; 256] {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
}

const URL_DECODE: [u8; 256] = reverse(URL_ALPHABET);
const STANDARD_DECODE: [u8; 256] =
    reverse(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

/// Base64url without padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    let sym = |i: u32| URL_ALPHABET[(i & 63) as usize] as char;
    let mut chunks = bytes.chunks_exact(3);
    for c in &mut chunks {
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        out.extend([sym(n >> 18), sym(n >> 12), sym(n >> 6), sym(n)]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend([sym(n >> 18), sym(n >> 12)]);
        }
        [a, b] => {
            let n = (u32::from(a) << 16) | (u32::from(b) << 8);
            out.extend([sym(n >> 18), sym(n >> 12), sym(n >> 6)]);
        }
        _ => {}
    }
    out
}

/// Decode strict base64url: any character outside the URL alphabet (including `=`, `+`, `/`
/// and whitespace), an impossible length (4n + 1), or non-zero unused trailing bits is an error.
/// The empty string decodes to no bytes.
pub fn decode(input: impl AsRef<[u8]>) -> Result<Vec<u8>, InvalidBase64> {
    decode_with(input.as_ref(), &URL_DECODE)
}

/// Decode padded standard base64 (`+/`, `=` padding to a multiple of 4, canonical trailing bits),
/// as found in a PEM body once its line breaks are removed.
pub fn decode_standard(input: &[u8]) -> Result<Vec<u8>, InvalidBase64> {
    if !input.len().is_multiple_of(4) {
        return Err(InvalidBase64);
    }
    let unpadded = match input {
        [rest @ .., b'=', b'='] => rest,
        [rest @ .., b'='] => rest,
        _ => input,
    };
    decode_with(unpadded, &STANDARD_DECODE)
}

fn decode_with(input: &[u8], table: &[u8; 256]) -> Result<Vec<u8>, InvalidBase64> {
    if input.len() % 4 == 1 {
        return Err(InvalidBase64);
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    let mut chunks = input.chunks_exact(4);
    for c in &mut chunks {
        let n = sextets(c, table)?;
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // 2 characters carry 12 bits for 1 byte, 3 carry 18 bits for 2 bytes; the rest must be 0.
        let n = sextets(rest, table)? << (6 * (4 - rest.len()));
        if rest.len() == 2 {
            if n & 0xffff != 0 {
                return Err(InvalidBase64);
            }
            out.push((n >> 16) as u8);
        } else {
            if n & 0xff != 0 {
                return Err(InvalidBase64);
            }
            out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8]);
        }
    }
    Ok(out)
}

fn sextets(chars: &[u8], table: &[u8; 256]) -> Result<u32, InvalidBase64> {
    let mut n = 0u32;
    for &c in chars {
        let v = table[usize::from(c)];
        if v == INVALID {
            return Err(InvalidBase64);
        }
        n = (n << 6) | u32::from(v);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors_round_trip() {
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(raw.as_bytes()), enc);
            assert_eq!(decode(enc).unwrap(), raw.as_bytes());
        }
    }

    #[test]
    fn url_alphabet_both_ways() {
        let bytes = [0xfb, 0xff, 0xbf];
        assert_eq!(encode(&bytes), "-_-_");
        assert_eq!(decode("-_-_").unwrap(), bytes);
    }

    #[test]
    fn all_byte_values_round_trip() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        for n in 0..bytes.len() {
            assert_eq!(decode(encode(&bytes[..n])).unwrap(), &bytes[..n]);
        }
    }

    #[test]
    fn rejects_non_strict_forms() {
        for bad in [
            "Zg==",       // padding
            "Zg=",        // padding
            "+/+/",       // standard alphabet
            "Zm9v\n",     // whitespace
            " Zm9v",      // whitespace
            "Zm 9v",      // whitespace
            "Z",          // impossible length
            "Zm9vY",      // impossible length
            "Zh",         // non-zero trailing bits (canonical is Zg)
            "Zm9",        // non-zero trailing bits (canonical is Zm8)
            "Zm9v\u{e9}", // non-ASCII
            "Zm9v.",
        ] {
            assert_eq!(decode(bad), Err(InvalidBase64), "{bad:?}");
        }
    }

    #[test]
    fn standard_padded_for_pem() {
        assert_eq!(decode_standard(b"Zm9vYg==").unwrap(), b"foob");
        assert_eq!(decode_standard(b"Zm9vYmE=").unwrap(), b"fooba");
        assert_eq!(decode_standard(b"+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
        assert_eq!(decode_standard(b"Zm9vYg"), Err(InvalidBase64));
        assert_eq!(decode_standard(b"Zm9vYh=="), Err(InvalidBase64));
        assert_eq!(decode_standard(b"-_-_"), Err(InvalidBase64));
        assert_eq!(decode_standard(b"Zg=a"), Err(InvalidBase64));
        assert_eq!(decode_standard(b"===="), Err(InvalidBase64));
    }
}
