//! Compact JSON output with orjson's layout (so both backends answer byte-for-byte alike):
//! no whitespace, UTF-8 kept raw, the short escapes `\" \\ \n \r \t \b \f`, other controls as
//! `\u00xx`, floats in shortest round-trip digits.

use crate::rejection::RequestId;
use crate::value::Value;

/// orjson's nesting limit, which both backends keep: a container at this depth (the message
/// object itself is depth 0) is refused.
pub const MAX_DEPTH: usize = 254;
/// The depth of a response's `result` in its message.
pub const RESULT_DEPTH: usize = 1;
/// The depth of an error's `data` in its message.
pub const ERROR_DATA_DEPTH: usize = 2;

/// A JSON-RPC id (`null` for `None`).
pub fn write_id(out: &mut Vec<u8>, id: Option<&RequestId>) {
    match id {
        None => out.extend_from_slice(b"null"),
        Some(RequestId::Int(i)) => out.extend_from_slice(i.to_string().as_bytes()),
        Some(RequestId::Str(s)) => write_str(out, s),
    }
}

/// `{"jsonrpc":"2.0","id":…,"result":…}`: `write_result` appends the result (a JSON object, at
/// [`RESULT_DEPTH`]).
pub fn response<E>(
    id: &RequestId,
    write_result: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<Vec<u8>, E> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    write_id(&mut out, Some(id));
    out.extend_from_slice(b",\"result\":");
    write_result(&mut out)?;
    out.push(b'}');
    Ok(out)
}

/// `{"jsonrpc":"2.0","id":…,"error":{"code":…,"message":…,"data":…}}`: `code` is an integer
/// `Value`; `write_data`, when given, appends the data (at [`ERROR_DATA_DEPTH`]).
pub fn error<E>(
    id: Option<&RequestId>,
    code: &Value<'_>,
    message: &str,
    write_data: Option<impl FnOnce(&mut Vec<u8>) -> Result<(), E>>,
) -> Result<Vec<u8>, E> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    write_id(&mut out, id);
    out.extend_from_slice(b",\"error\":{\"code\":");
    write_value(&mut out, code);
    out.extend_from_slice(b",\"message\":");
    write_str(&mut out, message);
    if let Some(write_data) = write_data {
        out.extend_from_slice(b",\"data\":");
        write_data(&mut out)?;
    }
    out.extend_from_slice(b"}}");
    Ok(out)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Append `s` as a JSON string literal.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Append a finite float as orjson writes it: fixed notation for decimal exponents -6 < e < 16
/// (with `.0` when integral), else `d.ddde±x`. Non-finite floats are the caller's error.
pub fn write_f64(out: &mut Vec<u8>, f: f64) {
    debug_assert!(f.is_finite());
    let (digits, exponent) = shortest_digits(f);
    if f.is_sign_negative() {
        out.push(b'-');
    }
    if f == 0.0 {
        out.extend_from_slice(b"0.0");
    } else if !(-6 < exponent && exponent < 16) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.extend_from_slice(
            format!(
                "e{}{}",
                if exponent < 0 { '-' } else { '+' },
                exponent.abs()
            )
            .as_bytes(),
        );
    } else if exponent < 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-exponent - 1) as usize));
        out.extend_from_slice(&digits);
    } else {
        let point = exponent as usize + 1;
        if digits.len() <= point {
            out.extend_from_slice(&digits);
            out.extend(std::iter::repeat_n(b'0', point - digits.len()));
            out.extend_from_slice(b".0");
        } else {
            out.extend_from_slice(&digits[..point]);
            out.push(b'.');
            out.extend_from_slice(&digits[point..]);
        }
    }
}

/// The shortest round-trip significant digits of `|f|` (ties to even, like orjson's ryu) and the
/// decimal exponent `e` of the first one (`|f| = d.ddd × 10^e`). `f` is finite and not zero.
fn shortest_digits(f: f64) -> (Vec<u8>, i32) {
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(f.abs());
    let (mantissa, exponent) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().expect("ryu writes a decimal exponent")),
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = int_part.bytes().chain(frac_part.bytes());
    let leading = all.clone().take_while(|&d| d == b'0').count();
    let mut digits: Vec<u8> = all.skip(leading).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    (
        digits,
        exponent + int_part.len() as i32 - leading as i32 - 1,
    )
}

/// Append a `Value` as compact JSON.
pub fn write_value(out: &mut Vec<u8>, value: &Value<'_>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::UInt(u) => out.extend_from_slice(u.to_string().as_bytes()),
        Value::Float(f) => write_f64(out, *f),
        Value::Str(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(members) => {
            out.push(b'{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, key);
                out.push(b':');
                write_value(out, item);
            }
            out.push(b'}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(f: f64) -> String {
        let mut out = Vec::new();
        write_f64(&mut out, f);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_match_orjson() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "0.00001"),
            (9.99e-6, "9.99e-6"),
            (1e-6, "1e-6"),
            (-3.9e-6, "-3.9e-6"),
            (1.5e-7, "1.5e-7"),
            (1e-7, "1e-7"),
            (-2.5e300, "-2.5e+300"),
            (5e-324, "5e-324"),
            (123456789.0, "123456789.0"),
            (100.0, "100.0"),
            // A tie between two shortest forms goes to the even digit, as in orjson.
            (-731930604835989.2, "-731930604835989.2"),
            (-33714033845255.812, "-33714033845255.812"),
        ];
        for (f, want) in cases {
            assert_eq!(float(f), want);
        }
    }

    #[test]
    fn message_framing() {
        let ok = response(&RequestId::Str("a\"b".into()), |out| {
            out.extend_from_slice(b"{}");
            Ok::<(), ()>(())
        });
        assert_eq!(ok.unwrap(), br#"{"jsonrpc":"2.0","id":"a\"b","result":{}}"#);
        let failed = response(&RequestId::Int(1), |_| Err("no"));
        assert_eq!(failed.unwrap_err(), "no");
        let err = error(
            None,
            &Value::Int(-32600),
            "bad \"x\"",
            None::<fn(&mut Vec<u8>) -> Result<(), ()>>,
        );
        assert_eq!(
            err.unwrap(),
            br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"bad \"x\""}}"#
        );
        let err = error(
            Some(&RequestId::Int(-7)),
            &Value::UInt(u64::MAX),
            "m",
            Some(|out: &mut Vec<u8>| {
                out.extend_from_slice(b"[1]");
                Ok::<(), ()>(())
            }),
        );
        assert_eq!(
            err.unwrap(),
            br#"{"jsonrpc":"2.0","id":-7,"error":{"code":18446744073709551615,"message":"m","data":[1]}}"#
        );
    }

    #[test]
    fn strings_escape_like_orjson() {
        let mut out = Vec::new();
        write_str(&mut out, "a\"\\\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}/é\u{2028}");
        assert_eq!(
            out,
            "\"a\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f\u{7f}/é\u{2028}\"".as_bytes()
        );
    }
}
