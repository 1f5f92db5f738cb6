//! Routing headers and `Mcp-Param-*`: the `=?base64?…?=` value codec and the body/header checks.
//! Twin of `python/mcp_fastpath/_pure/headers.py`; outcomes match the official SDK (mcp 2.3.0).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::pyfmt::{python_float_str, python_int_from_float_eq};
use crate::rejection::{Rejection, HEADER_MISMATCH};
use crate::value::Value;

const SENTINEL_PREFIX: &str = "=?base64?";
const SENTINEL_SUFFIX: &str = "?=";

/// The params member mirrored in `Mcp-Name` for `method` (`tasks/*`: the Tasks extension's rule).
pub fn name_key(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
        _ => None,
    }
}

fn is_sentinel(value: &str) -> bool {
    value.len() >= SENTINEL_PREFIX.len() + SENTINEL_SUFFIX.len()
        && value.starts_with(SENTINEL_PREFIX)
        && value.ends_with(SENTINEL_SUFFIX)
        && !value.contains('\n')
}

/// `value` verbatim when it is printable ASCII without edge spaces and not sentinel-shaped,
/// else `=?base64?<base64 of UTF-8>?=`.
pub fn encode_header_value(value: &str) -> String {
    let plain = value.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && !value.starts_with(' ')
        && !value.ends_with(' ')
        && !is_sentinel(value);
    if plain {
        value.to_owned()
    } else {
        format!("{SENTINEL_PREFIX}{}{SENTINEL_SUFFIX}", STANDARD.encode(value.as_bytes()))
    }
}

/// Inverse of [`encode_header_value`]; `None` for a malformed sentinel (bad or non-canonical
/// base64, bad UTF-8), so a corrupt header never matches a body value.
pub fn decode_header_value(value: &str) -> Option<String> {
    if !is_sentinel(value) {
        return Some(value.to_owned());
    }
    let payload = &value[SENTINEL_PREFIX.len()..value.len() - SENTINEL_SUFFIX.len()];
    let raw = STANDARD.decode(payload.as_bytes()).ok()?;
    // The base64 crate refuses non-zero trailing bits already; the re-encode also pins padding.
    if STANDARD.encode(&raw) != payload {
        return None;
    }
    String::from_utf8(raw).ok()
}

/// The three routing headers of one request, read from raw `(name, value)` lines.
#[derive(Debug, Default, Clone)]
pub struct RoutingHeaders {
    pub protocol_version: Option<String>,
    pub method: Option<String>,
    pub name: Option<String>,
    /// The first routing header seen a second time (lowercase), if any.
    pub duplicated: Option<&'static str>,
}

impl RoutingHeaders {
    /// Record one header line; names compare case-insensitively, the first copy is kept.
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        let (slot, canonical) = if name.eq_ignore_ascii_case("mcp-protocol-version") {
            (&mut self.protocol_version, "mcp-protocol-version")
        } else if name.eq_ignore_ascii_case("mcp-method") {
            (&mut self.method, "mcp-method")
        } else if name.eq_ignore_ascii_case("mcp-name") {
            (&mut self.name, "mcp-name")
        } else {
            return;
        };
        if slot.is_some() {
            if self.duplicated.is_none() {
                self.duplicated = Some(canonical);
            }
        } else {
            *slot = Some(value.into());
        }
    }
}

// ---- Mcp-Param-* -------------------------------------------------------------------------

const SINGLE_SCHEMA_KEYWORDS: &[&str] = &[
    "items",
    "contains",
    "unevaluatedItems",
    "additionalProperties",
    "propertyNames",
    "unevaluatedProperties",
    "not",
    "if",
    "then",
    "else",
    "contentSchema",
];
const LIST_SCHEMA_KEYWORDS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
const MAP_SCHEMA_KEYWORDS: &[&str] = &["patternProperties", "dependentSchemas", "$defs", "definitions"];

/// Every subschema with its chain of `properties` keys (`None` once another applicator was
/// crossed), depth-first, last child first — the SDK's order, so the first failure is the same.
fn schema_positions<'v, 'a>(root: &'v Value<'a>) -> Vec<(Option<Vec<&'v str>>, &'v [(std::borrow::Cow<'a, str>, Value<'a>)])> {
    let mut out = Vec::new();
    let mut stack: Vec<(Option<Vec<&'v str>>, &'v Value<'a>)> = vec![(Some(Vec::new()), root)];
    while let Some((path, node)) = stack.pop() {
        let Value::Object(members) = node else { continue };
        for (keyword, value) in members {
            let keyword: &str = keyword;
            if keyword == "properties" {
                if let Value::Object(props) = value {
                    for (prop, sub) in props {
                        let child = path.as_ref().map(|p| {
                            let mut p = p.clone();
                            p.push(prop.as_ref());
                            p
                        });
                        stack.push((child, sub));
                    }
                }
            } else if SINGLE_SCHEMA_KEYWORDS.contains(&keyword) {
                stack.push((None, value));
            } else if LIST_SCHEMA_KEYWORDS.contains(&keyword) {
                if let Value::Array(items) = value {
                    stack.extend(items.iter().map(|sub| (None, sub)));
                }
            } else if MAP_SCHEMA_KEYWORDS.contains(&keyword) {
                if let Value::Object(entries) = value {
                    stack.extend(entries.iter().map(|(_, sub)| (None, sub)));
                }
            }
        }
        out.push((path, members.as_slice()));
    }
    out
}

fn member<'v, 'a>(members: &'v [(std::borrow::Cow<'a, str>, Value<'a>)], key: &str) -> Option<&'v Value<'a>> {
    members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn is_header_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

type Positions<'v, 'a> = Vec<(Option<Vec<&'v str>>, &'v [(std::borrow::Cow<'a, str>, Value<'a>)])>;

fn schema_is_valid(positions: &Positions<'_, '_>) -> bool {
    let mut seen: Vec<String> = Vec::new();
    for (path, members) in positions {
        let Some(token) = member(members, "x-mcp-header") else { continue };
        let Some(path) = path else { return false };
        if path.is_empty() {
            return false;
        }
        let Value::Str(token) = token else { return false };
        if !is_header_token(token) {
            return false;
        }
        match member(members, "type") {
            Some(Value::Str(t)) if matches!(t.as_ref(), "string" | "integer" | "boolean") => {}
            _ => return false,
        }
        let lower = token.to_ascii_lowercase();
        if seen.contains(&lower) {
            return false;
        }
        seen.push(lower);
    }
    true
}

fn value_at<'v, 'a>(arguments: &'v Value<'a>, path: &[&str]) -> Option<&'v Value<'a>> {
    let mut node = arguments;
    for key in path {
        node = node.get(key)?;
    }
    match node {
        Value::Null => None,
        other => Some(other),
    }
}

/// How a client mirrors an argument (Python's `str()`), `None` when it cannot be mirrored.
fn render_scalar(value: &Value<'_>) -> Option<String> {
    match value {
        Value::Bool(true) => Some("true".into()),
        Value::Bool(false) => Some("false".into()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(python_float_str(*f)),
        Value::Str(s) => Some(s.to_string()),
        _ => None,
    }
}

fn is_canonical_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.map_or(true, |f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

fn matches(schema_type: Option<&Value<'_>>, value: &Value<'_>, rendered: &str, decoded: &str) -> bool {
    let integral = match value {
        Value::Int(_) | Value::UInt(_) => true,
        Value::Float(f) => f.is_finite() && f.fract() == 0.0,
        _ => false,
    };
    let is_integer_type = matches!(schema_type, Some(Value::Str(t)) if t == "integer");
    if is_integer_type && integral && is_canonical_decimal(decoded) {
        let (whole, fraction) = decoded.split_once('.').unwrap_or((decoded, ""));
        if fraction.bytes().any(|b| b != b'0') {
            return false;
        }
        return python_int_from_float_eq(whole, value);
    }
    decoded == rendered
}

/// Check every `Mcp-Param-*` header a tool's `inputSchema` declares against its argument.
/// `headers` are `(lowercase name, value)` lines. A schema with an invalid declaration validates nothing.
pub fn check_param_headers(
    input_schema: &Value<'_>,
    arguments: &Value<'_>,
    headers: &[(String, String)],
) -> Result<(), Rejection> {
    let positions = schema_positions(input_schema);
    if !schema_is_valid(&positions) {
        return Ok(());
    }
    let empty = Value::Object(Vec::new());
    let arguments = if arguments.is_object() { arguments } else { &empty };
    for (path, members) in &positions {
        let (Some(path), Some(Value::Str(token))) = (path, member(members, "x-mcp-header")) else { continue };
        if path.is_empty() {
            continue;
        }
        let header = format!("Mcp-Param-{token}");
        let key = header.to_ascii_lowercase();
        let mut copies = headers.iter().filter(|(n, _)| *n == key);
        let first = copies.next();
        // The SDK folds into a dict: a repeated header is judged by its last copy.
        let raw = copies.last().or(first).map(|(_, v)| v.as_str());
        let repeated = first.is_some() && headers.iter().filter(|(n, _)| *n == key).count() > 1;
        let value = value_at(arguments, path);
        let argument = path.join(".");
        let mismatch = |message: String| Err(Rejection::new(HEADER_MISMATCH, message));
        if raw.is_some() && repeated {
            return mismatch(format!("{header} header appears more than once"));
        }
        let Some(value) = value else {
            if raw.is_some() {
                return mismatch(format!(
                    "{header} header is present but the request body's {} argument is absent",
                    python_str_repr(&argument)
                ));
            }
            continue;
        };
        let Some(rendered) = render_scalar(value) else {
            if raw.is_some() {
                return mismatch(format!(
                    "{header} header does not match the request body's {} argument",
                    python_str_repr(&argument)
                ));
            }
            continue;
        };
        let Some(raw) = raw else {
            return mismatch(format!(
                "{header} header is missing but the request body's {} argument is present",
                python_str_repr(&argument)
            ));
        };
        let Some(decoded) = decode_header_value(raw) else {
            return mismatch(format!("{header} header carries a malformed base64 sentinel value"));
        };
        if !matches(member(members, "type"), value, &rendered, &decoded) {
            return mismatch(format!(
                "{header} header does not match the request body's {} argument",
                python_str_repr(&argument)
            ));
        }
    }
    Ok(())
}

/// Python's `repr()` of a str, so messages read the same from both backends.
pub fn python_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (0x80..0xa0).contains(&(c as u32)) => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_round_trip() {
        for s in ["add", "Hello, 世界", " padded ", "line1\nline2", "=?base64?literal?=", ""] {
            assert_eq!(decode_header_value(&encode_header_value(s)).as_deref(), Some(s));
        }
        assert_eq!(encode_header_value("Hello, 世界"), "=?base64?SGVsbG8sIOS4lueVjA==?=");
        assert_eq!(encode_header_value(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(encode_header_value("=?base64?literal?="), "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=");
    }

    #[test]
    fn malformed_sentinels_match_nothing() {
        assert_eq!(decode_header_value("=?base64?!!!?="), None);
        assert_eq!(decode_header_value("=?base64?YQ?="), None); // missing padding
        assert_eq!(decode_header_value("=?base64?YR==?="), None); // non-zero trailing bits
        assert_eq!(decode_header_value("=?base64?/w==?="), None); // 0xff is not UTF-8
        assert_eq!(decode_header_value("=?base64?="), Some("=?base64?=".into()));
    }

    #[test]
    fn duplicated_routing_header_is_seen_case_insensitively() {
        let mut h = RoutingHeaders::default();
        h.push("Mcp-Method", "tools/call");
        h.push("MCP-METHOD", "tools/list");
        assert_eq!(h.duplicated, Some("mcp-method"));
        assert_eq!(h.method.as_deref(), Some("tools/call"));
    }

    #[test]
    fn python_repr_of_strings() {
        assert_eq!(python_str_repr("a"), "'a'");
        assert_eq!(python_str_repr("it's"), "\"it's\"");
        assert_eq!(python_str_repr("a'\""), "'a\\'\"'");
    }
}
