//! RFC 8785 JSON Canonicalization Scheme: the bytes a signed envelope covers.
//!
//! Object members sorted by the UTF-16 code units of their keys, no whitespace, strings with the
//! minimal escapes, numbers as ECMAScript `Number.prototype.toString` writes them. Only I-JSON
//! values can be written: an integer literal beyond ±(2^53 − 1) or a non-finite float is refused,
//! because two implementations would disagree on its canonical form.

use std::cmp::Ordering;
use std::fmt;
use std::io::Write as _;

// RFC 8785 §3.2.2.2 strings are exactly the codec's response strings: `"` and `\` escaped,
// U+0000..U+001F as `\b \t \n \f \r` or lowercase `\u00xx`, everything else as is.
use fastpath_codec::encode::write_str as write_string;
use fastpath_codec::Value;

/// The largest integer magnitude I-JSON (RFC 7493) allows: 2^53 − 1.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a value cannot be canonicalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotIJson {
    /// An `Int`/`UInt` of magnitude above 2^53 − 1.
    IntegerOutOfRange,
    /// NaN or ±infinity.
    NonFiniteNumber,
}

impl fmt::Display for NotIJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotIJson::IntegerOutOfRange => "integer beyond ±(2^53 − 1)",
            NotIJson::NonFiniteNumber => "non-finite number",
        })
    }
}

impl std::error::Error for NotIJson {}

/// The canonical form of `value`.
pub fn canonicalize(value: &Value<'_>) -> Result<Vec<u8>, NotIJson> {
    let mut out = Vec::new();
    write_canonical(value, &mut out)?;
    Ok(out)
}

/// Append the canonical form of `value` to `out`. On error `out` holds a partial write.
pub fn write_canonical(value: &Value<'_>, out: &mut Vec<u8>) -> Result<(), NotIJson> {
    write_value(value, Some(&[]), out)
}

/// Append the canonical form of `value` with one member left out: `omit` is the path of object
/// keys to it (`["params", "_meta", "dev.mcp-fastpath/sig", "sig"]` leaves out only that `sig`).
/// Nothing is cloned; the member is skipped while writing. A path that leads nowhere omits
/// nothing; an empty path omits nothing.
pub fn write_canonical_without(
    value: &Value<'_>,
    omit: &[&str],
    out: &mut Vec<u8>,
) -> Result<(), NotIJson> {
    write_value(value, Some(omit), out)
}

/// `omit`: the remaining path to the member to leave out, `None` once we left that path.
fn write_value(
    value: &Value<'_>,
    omit: Option<&[&str]>,
    out: &mut Vec<u8>,
) -> Result<(), NotIJson> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(i) => write_integer(i.unsigned_abs(), *i < 0, out)?,
        Value::UInt(u) => write_integer(*u, false, out)?,
        Value::Float(x) => write_number(*x, out)?,
        Value::Str(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, None, out)?;
            }
            out.push(b']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<&(_, Value<'_>)> = members.iter().collect();
            sorted.sort_unstable_by(|a, b| cmp_utf16(&a.0, &b.0));
            out.push(b'{');
            let mut first = true;
            for (key, member) in sorted {
                let child = match omit {
                    Some([head, rest @ ..]) if *head == key.as_ref() => {
                        if rest.is_empty() {
                            continue;
                        }
                        Some(rest)
                    }
                    _ => None,
                };
                if !first {
                    out.push(b',');
                }
                first = false;
                write_string(out, key);
                out.push(b':');
                write_value(member, child, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// RFC 8785 §3.2.3: keys compare as arrays of UTF-16 code units. UTF-8 byte order is code point
/// order, which differs from UTF-16 order only between U+E000..U+FFFF and supplementary planes.
fn cmp_utf16(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.as_bytes().cmp(b.as_bytes());
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

fn write_integer(magnitude: u64, negative: bool, out: &mut Vec<u8>) -> Result<(), NotIJson> {
    if magnitude > MAX_SAFE_INTEGER {
        return Err(NotIJson::IntegerOutOfRange);
    }
    if negative {
        out.push(b'-');
    }
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{magnitude}");
    Ok(())
}

/// Append `x` as ECMAScript `Number::toString(x)` (ECMA-262 §6.1.6.1.20, radix 10) writes it:
/// the shortest digits that round-trip (from `ryu`), laid out in plain notation for
/// 1e-6 ≤ |x| < 1e21 and as `d.ddde±n` outside; `-0` is `0`. NaN and ±infinity are refused.
pub fn write_number(x: f64, out: &mut Vec<u8>) -> Result<(), NotIJson> {
    if !x.is_finite() {
        return Err(NotIJson::NonFiniteNumber);
    }
    if x == 0.0 {
        out.push(b'0');
        return Ok(());
    }
    if x < 0.0 {
        out.push(b'-');
    }
    let mut buffer = ryu::Buffer::new();
    let (digits, n) = shortest_digits(buffer.format_finite(x.abs()));
    let digits = digits.as_bytes();
    let k = digits.len() as i32;
    let zeros =
        |count: i32, out: &mut Vec<u8>| out.extend(std::iter::repeat_n(b'0', count as usize));
    if k <= n && n <= 21 {
        // Integral: the digits, then n − k zeros.
        out.extend_from_slice(digits);
        zeros(n - k, out);
    } else if 0 < n && n <= 21 {
        // The point falls inside the digits.
        out.extend_from_slice(&digits[..n as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        // 0.000ddd
        out.extend_from_slice(b"0.");
        zeros(-n, out);
        out.extend_from_slice(digits);
    } else {
        let e = n - 1;
        out.push(digits[0]);
        if k > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if e > 0 { b'+' } else { b'-' });
        let _ = write!(out, "{}", e.unsigned_abs());
    }
    Ok(())
}

/// The significant digits of a positive finite double, without leading or trailing zeros.
struct Digits {
    buf: [u8; 24],
    len: usize,
}

impl Digits {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// From ryu's text for a positive finite non-zero double (`"1.5"`, `"1e21"`, `"1.2345e-7"`,
/// `"0.001"`, `"100.0"`), the significant digits `s` and `n` such that the value is
/// `0.s × 10^n`, the form ECMA-262 lays out.
fn shortest_digits(text: &str) -> (Digits, i32) {
    let (mantissa, exponent) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().expect("ryu writes a decimal exponent")),
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits = Digits {
        buf: [0; 24],
        len: 0,
    };
    // Position of the point relative to the first kept digit, counted while gathering.
    let mut n = exponent;
    let mut seen_nonzero = false;
    for (i, &d) in int_part
        .as_bytes()
        .iter()
        .chain(frac_part.as_bytes())
        .enumerate()
    {
        if !seen_nonzero && d == b'0' {
            // A leading zero: if it sits before the point it does not move it; after, it does.
            if i >= int_part.len() {
                n -= 1;
            }
            continue;
        }
        if !seen_nonzero && i < int_part.len() {
            n += (int_part.len() - i) as i32;
        }
        seen_nonzero = true;
        digits.buf[digits.len] = d;
        digits.len += 1;
    }
    while digits.len > 1 && digits.buf[digits.len - 1] == b'0' {
        digits.len -= 1;
    }
    (digits, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn num(x: f64) -> String {
        let mut out = Vec::new();
        write_number(x, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn s(text: &str) -> Value<'static> {
        Value::Str(Cow::Owned(text.to_owned()))
    }

    fn obj(members: Vec<(&str, Value<'static>)>) -> Value<'static> {
        Value::Object(
            members
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.to_owned()), v))
                .collect(),
        )
    }

    fn canon(v: &Value<'_>) -> String {
        String::from_utf8(canonicalize(v).unwrap()).unwrap()
    }

    #[test]
    fn rfc8785_number_table() {
        // RFC 8785 Appendix B, as IEEE-754 bit patterns → expected text.
        for (bits, expected) in [
            (0x0000000000000000u64, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ] {
            assert_eq!(num(f64::from_bits(bits)), expected, "{bits:#018x}");
        }
    }

    #[test]
    #[allow(clippy::excessive_precision)] // the literal as RFC 8785 writes it
    fn ecmascript_layout_thresholds() {
        assert_eq!(num(1e21), "1e+21");
        assert_eq!(num(1e20), "100000000000000000000");
        assert_eq!(num(1e-7), "1e-7");
        assert_eq!(num(1e-6), "0.000001");
        assert_eq!(num(1.5e-7), "1.5e-7");
        assert_eq!(num(1.25e-6), "0.00000125");
        assert_eq!(num(333333333.33333329), "333333333.3333333");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(1.0), "1");
        assert_eq!(num(-1.0), "-1");
        assert_eq!(num(100.0), "100");
        assert_eq!(num(0.1), "0.1");
        assert_eq!(num(123.456), "123.456");
        assert_eq!(num(1.2e21), "1.2e+21");
        assert_eq!(num(1e300), "1e+300");
        assert_eq!(num(9007199254740991.0), "9007199254740991");
        assert_eq!(num(f64::MIN_POSITIVE), "2.2250738585072014e-308");
        assert_eq!(
            write_number(f64::NAN, &mut Vec::new()),
            Err(NotIJson::NonFiniteNumber)
        );
        assert_eq!(
            write_number(f64::INFINITY, &mut Vec::new()),
            Err(NotIJson::NonFiniteNumber)
        );
        assert_eq!(
            write_number(f64::NEG_INFINITY, &mut Vec::new()),
            Err(NotIJson::NonFiniteNumber)
        );
    }

    #[test]
    fn integers_within_i_json() {
        assert_eq!(canon(&Value::Int(9007199254740991)), "9007199254740991");
        assert_eq!(canon(&Value::Int(-9007199254740991)), "-9007199254740991");
        assert_eq!(canon(&Value::Int(0)), "0");
        assert_eq!(canon(&Value::UInt(5)), "5");
        for bad in [
            Value::Int(9007199254740992),
            Value::Int(-9007199254740992),
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::UInt(u64::MAX),
        ] {
            assert_eq!(
                canonicalize(&bad),
                Err(NotIJson::IntegerOutOfRange),
                "{bad:?}"
            );
        }
        let nested = Value::Array(vec![obj(vec![(
            "a",
            Value::Array(vec![Value::Int(1 << 60)]),
        )])]);
        assert_eq!(canonicalize(&nested), Err(NotIJson::IntegerOutOfRange));
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            canon(&s("\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f}")),
            r#""\u0000\u0001\b\t\n\u000b\f\r\u001f""#
        );
        assert_eq!(canon(&s("\"\\/")), r#""\"\\/""#);
        assert_eq!(
            canon(&s("\u{7f}\u{2028}\u{20ac}\u{1f600}")),
            "\"\u{7f}\u{2028}\u{20ac}\u{1f600}\""
        );
        assert_eq!(canon(&s("")), "\"\"");
    }

    #[test]
    fn rfc8785_sorting_example() {
        // RFC 8785 §3.2.3 example: keys sorted by UTF-16 code units.
        let v = obj(vec![
            ("\u{20ac}", s("Euro Sign")),
            ("\r", s("Carriage Return")),
            ("\u{fb33}", s("Hebrew Letter Dalet With Dagesh")),
            ("1", s("One")),
            ("\u{1f600}", s("Emoji: Grinning Face")),
            ("\u{80}", s("Control")),
            ("\u{f6}", s("Latin Small Letter O With Diaeresis")),
        ]);
        let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
            \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
            \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(canon(&v), expected);
    }

    #[test]
    #[allow(clippy::excessive_precision)] // the literal as RFC 8785 writes it
    fn rfc8785_structure_example() {
        // RFC 8785 §3.2.2 example input (numbers and literals), parsed by hand.
        let v = obj(vec![
            (
                "numbers",
                Value::Array(vec![
                    Value::Float(333333333.33333329),
                    Value::Float(1e30),
                    Value::Float(4.50),
                    Value::Float(2e-3),
                    Value::Float(0.000000000000000000000000001),
                ]),
            ),
            ("string", s("\u{20ac}$\u{f}\nA'B\"\\\\\"/")),
            (
                "literals",
                Value::Array(vec![Value::Null, Value::Bool(true), Value::Bool(false)]),
            ),
        ]);
        let expected = "{\"literals\":[null,true,false],\
            \"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\
            \"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
        assert_eq!(canon(&v), expected);
    }

    #[test]
    fn utf16_order_differs_from_code_point_order() {
        // U+FB33 > U+1F600 in UTF-16 (0xFB33 > 0xD83D) though smaller as a code point.
        assert_eq!(cmp_utf16("\u{fb33}", "\u{1f600}"), Ordering::Greater);
        assert_eq!(cmp_utf16("\u{20ac}", "\u{1f600}"), Ordering::Less);
        assert_eq!(cmp_utf16("a", "ab"), Ordering::Less);
        assert_eq!(cmp_utf16("", "a"), Ordering::Less);
    }

    #[test]
    fn omits_exactly_one_member_without_cloning() {
        let msg = obj(vec![
            ("jsonrpc", s("2.0")),
            ("id", Value::Int(1)),
            (
                "params",
                obj(vec![
                    ("sig", s("not this one")),
                    (
                        "_meta",
                        obj(vec![
                            (
                                "dev.mcp-fastpath/sig",
                                obj(vec![("v", Value::Int(1)), ("sig", s("xyz"))]),
                            ),
                            ("other", obj(vec![("sig", s("kept"))])),
                        ]),
                    ),
                ]),
            ),
        ]);
        let mut out = Vec::new();
        write_canonical_without(
            &msg,
            &["params", "_meta", "dev.mcp-fastpath/sig", "sig"],
            &mut out,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"id":1,"jsonrpc":"2.0","params":{"_meta":{"dev.mcp-fastpath/sig":{"v":1},"other":{"sig":"kept"}},"sig":"not this one"}}"#
        );
        // A path that leads nowhere omits nothing.
        let mut out = Vec::new();
        write_canonical_without(&msg, &["result", "_meta"], &mut out).unwrap();
        assert_eq!(out, canonicalize(&msg).unwrap());
        // Omitting the only member leaves `{}`.
        let mut out = Vec::new();
        write_canonical_without(&obj(vec![("a", Value::Int(1))]), &["a"], &mut out).unwrap();
        assert_eq!(out, b"{}");
    }
}
