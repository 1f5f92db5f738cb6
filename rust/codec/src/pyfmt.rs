//! Python's renderings of numbers, needed where the wire rules compare against `str(value)`.

use crate::value::Value;

/// `str(f)` / `repr(f)` of a finite Python float: shortest round-trip digits, fixed notation for
/// decimal exponents -4 < e <= 16, else `d.ddde±XX`.
pub fn python_float_str(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // Rust's `{:e}` prints the shortest digits that round-trip, e.g. "1.5e-5", "-1e16".
    let sci = format!("{f:e}");
    let (sign, sci) = match sci.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", sci.as_str()),
    };
    let (mantissa, exponent) = sci
        .split_once('e')
        .expect("LowerExp always has an exponent");
    let exponent: i32 = exponent.parse().expect("LowerExp exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let decpt = exponent + 1; // value = 0.DIGITS × 10^decpt
    let mut out = String::from(sign);
    if f == 0.0 {
        out.push_str("0.0");
    } else if decpt <= -4 || decpt > 16 {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!(
            "e{}{:02}",
            if exponent < 0 { '-' } else { '+' },
            exponent.abs()
        ));
    } else if decpt <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-decpt) as usize));
        out.push_str(&digits);
    } else if digits.len() as i32 <= decpt {
        out.push_str(&digits);
        out.push_str(&"0".repeat((decpt - digits.len() as i32) as usize));
        out.push_str(".0");
    } else {
        out.push_str(&digits[..decpt as usize]);
        out.push('.');
        out.push_str(&digits[decpt as usize..]);
    }
    out
}

fn canonical_integer(text: &str) -> String {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let digits = digits.trim_start_matches('0');
    match (negative, digits.is_empty()) {
        (_, true) => "0".into(),
        (true, false) => format!("-{digits}"),
        (false, false) => digits.into(),
    }
}

/// `int(whole) == int(value)` for a canonical decimal `whole` and an integral JSON number.
pub fn python_int_from_float_eq(whole: &str, value: &Value<'_>) -> bool {
    // Python refuses to read more than 4300 digits (ValueError), which the SDK treats as no match.
    if whole.trim_start_matches('-').len() > 4300 {
        return false;
    }
    let exact = match value {
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        // Rust prints the exact decimal expansion of an integral float.
        Value::Float(f) => format!("{f:.0}"),
        _ => return false,
    };
    canonical_integer(whole) == canonical_integer(&exact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (-2.5e300, "-2.5e+300"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (42.25, "42.25"),
        ];
        for (f, want) in cases {
            assert_eq!(python_float_str(f), want, "{f:e}");
        }
    }

    #[test]
    fn integral_comparison_is_exact() {
        assert!(python_int_from_float_eq("42", &Value::Float(42.0)));
        assert!(python_int_from_float_eq("-0", &Value::Int(0)));
        assert!(python_int_from_float_eq("007", &Value::Int(7)));
        assert!(python_int_from_float_eq(
            "100000000000000000000",
            &Value::Float(1e20)
        ));
        assert!(!python_int_from_float_eq(
            "100000000000000000001",
            &Value::Float(1e20)
        ));
        assert!(python_int_from_float_eq(
            "18446744073709551615",
            &Value::UInt(u64::MAX)
        ));
    }
}
