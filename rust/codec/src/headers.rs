//! Routing headers and `Mcp-Param-*`: the `=?base64?…?=` value codec and the body/header checks.
//! Twin of `python/mcp_fastpath/_pure/headers.py`; outcomes match the official SDK (mcp 2.3.0).

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::ladder::PROTOCOL_VERSION_KEY;
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
        format!(
            "{SENTINEL_PREFIX}{}{SENTINEL_SUFFIX}",
            STANDARD.encode(value.as_bytes())
        )
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

/// `value` without the optional whitespace around it: only SP and HTAB, as RFC 9110 §5.5 says
/// (a field value never begins or ends in whitespace; servers such as h11 strip it, httptools
/// does not). Other whitespace (VT, NBSP, ...) is part of the value.
pub fn trim_ows(value: &str) -> &str {
    value.trim_matches([' ', '\t'])
}

/// One of the three routing headers a 2026-07-28 request mirrors from its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutingHeader {
    ProtocolVersion,
    Method,
    Name,
}

impl RoutingHeader {
    /// The header a line names (compared case-insensitively, as HTTP field names are), if any.
    /// Any text form works: the routing names are ASCII, so no other byte can match them.
    #[inline]
    pub fn from_name(name: &[u8]) -> Option<RoutingHeader> {
        // 20, 10 and 8 bytes long: most lines are passed over on their length.
        let (header, canonical) = match name.len() {
            20 => (RoutingHeader::ProtocolVersion, "mcp-protocol-version"),
            10 => (RoutingHeader::Method, "mcp-method"),
            8 => (RoutingHeader::Name, "mcp-name"),
            _ => return None,
        };
        name.eq_ignore_ascii_case(canonical.as_bytes())
            .then_some(header)
    }

    /// The lowercase name, as rejections spell it.
    pub fn lowercase(self) -> &'static str {
        match self {
            RoutingHeader::ProtocolVersion => "mcp-protocol-version",
            RoutingHeader::Method => "mcp-method",
            RoutingHeader::Name => "mcp-name",
        }
    }
}

/// A header name or value as a caller hands it over: ASGI servers give `bytes`, which HTTP
/// defines as Latin-1 (obsolete text included); other callers give text.
#[derive(Debug, Clone, Copy)]
pub enum HeaderText<'a> {
    Latin1(&'a [u8]),
    Text(&'a str),
}

impl<'a> HeaderText<'a> {
    /// The raw bytes, for comparing against ASCII names.
    pub fn as_bytes(&self) -> &'a [u8] {
        match self {
            HeaderText::Latin1(b) => b,
            HeaderText::Text(s) => s.as_bytes(),
        }
    }

    /// The text: Latin-1 bytes are one code point each (ASCII, the usual case, is borrowed).
    pub fn to_text(&self) -> Cow<'a, str> {
        match *self {
            HeaderText::Latin1(b) => match std::str::from_utf8(b) {
                Ok(ascii) if b.is_ascii() => Cow::Borrowed(ascii),
                _ => Cow::Owned(b.iter().map(|&c| c as char).collect()),
            },
            HeaderText::Text(s) => Cow::Borrowed(s),
        }
    }
}

/// The three routing headers of one request, read from raw `(name, value)` lines; each value is
/// kept without its surrounding SP/HTAB ([`trim_ows`]).
/// Values borrow from the caller's header lines where they can.
#[derive(Debug, Default, Clone)]
pub struct RoutingHeaders<'h> {
    pub protocol_version: Option<Cow<'h, str>>,
    pub method: Option<Cow<'h, str>>,
    pub name: Option<Cow<'h, str>>,
    /// The first routing header seen a second time (lowercase), if any.
    pub duplicated: Option<&'static str>,
}

impl<'h> RoutingHeaders<'h> {
    /// Record one header line; names compare case-insensitively, the first copy is kept.
    pub fn push(&mut self, name: &str, value: &'h str) {
        if let Some(header) = RoutingHeader::from_name(name.as_bytes()) {
            self.set(header, Cow::Borrowed(value));
        }
    }

    /// Record one line of a routing header (the first copy is kept, a second one noted).
    pub fn set(&mut self, header: RoutingHeader, value: Cow<'h, str>) {
        let slot = match header {
            RoutingHeader::ProtocolVersion => &mut self.protocol_version,
            RoutingHeader::Method => &mut self.method,
            RoutingHeader::Name => &mut self.name,
        };
        if slot.is_some() {
            if self.duplicated.is_none() {
                self.duplicated = Some(header.lowercase());
            }
        } else {
            *slot = Some(match value {
                Cow::Borrowed(text) => Cow::Borrowed(trim_ows(text)),
                Cow::Owned(text) if trim_ows(&text).len() == text.len() => Cow::Owned(text),
                Cow::Owned(text) => Cow::Owned(trim_ows(&text).to_owned()),
            });
        }
    }
}

/// Every header line as `(lowercase name, value)`, for [`check_param_headers`].
#[derive(Debug, Default, Clone)]
pub struct HeaderLines(pub Vec<(String, String)>);

impl HeaderLines {
    pub fn push(&mut self, name: HeaderText<'_>, value: HeaderText<'_>) {
        self.0.push((
            name.to_text().to_ascii_lowercase(),
            value.to_text().into_owned(),
        ));
    }
}

/// Why [`request_headers`] cannot derive the headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoProtocolVersion;

impl std::fmt::Display for NoProtocolVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "params._meta['{PROTOCOL_VERSION_KEY}'] must be a str to derive MCP-Protocol-Version"
        )
    }
}

/// The routing headers a client sends with a request: `MCP-Protocol-Version` (the `_meta`
/// protocol version, `version`), `Mcp-Method`, and `Mcp-Name` for a name-bearing method whose
/// name member (`param(key)` reads `params[key]` when it is a string) is present, encoded with
/// [`encode_header_value`].
pub fn request_headers<'p>(
    method: &str,
    version: Option<&str>,
    param: impl FnOnce(&'static str) -> Option<Cow<'p, str>>,
) -> Result<Vec<(&'static str, String)>, NoProtocolVersion> {
    let version = version.ok_or(NoProtocolVersion)?;
    let mut out = vec![
        ("MCP-Protocol-Version", version.to_owned()),
        ("Mcp-Method", method.to_owned()),
    ];
    if let Some(name) = name_key(method).and_then(param) {
        out.push(("Mcp-Name", encode_header_value(&name)));
    }
    Ok(out)
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
const MAP_SCHEMA_KEYWORDS: &[&str] = &[
    "patternProperties",
    "dependentSchemas",
    "$defs",
    "definitions",
];

/// A subschema's members, with the chain of `properties` keys that leads to it.
type SchemaPosition<'v, 'a> = (
    Option<Vec<&'v str>>,
    &'v [(std::borrow::Cow<'a, str>, Value<'a>)],
);

/// Every subschema with its chain of `properties` keys (`None` once another applicator was
/// crossed), depth-first, last child first — the SDK's order, so the first failure is the same.
fn schema_positions<'v, 'a>(root: &'v Value<'a>) -> Vec<SchemaPosition<'v, 'a>> {
    let mut out = Vec::new();
    let mut stack: Vec<(Option<Vec<&'v str>>, &'v Value<'a>)> = vec![(Some(Vec::new()), root)];
    while let Some((path, node)) = stack.pop() {
        let Value::Object(members) = node else {
            continue;
        };
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

fn member<'v, 'a>(
    members: &'v [(std::borrow::Cow<'a, str>, Value<'a>)],
    key: &str,
) -> Option<&'v Value<'a>> {
    members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn is_header_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

type Positions<'v, 'a> = Vec<(
    Option<Vec<&'v str>>,
    &'v [(std::borrow::Cow<'a, str>, Value<'a>)],
)>;

fn schema_is_valid(positions: &Positions<'_, '_>) -> bool {
    let mut seen: Vec<String> = Vec::new();
    for (path, members) in positions {
        let Some(token) = member(members, "x-mcp-header") else {
            continue;
        };
        let Some(path) = path else { return false };
        if path.is_empty() {
            return false;
        }
        let Value::Str(token) = token else {
            return false;
        };
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
        && fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

fn matches(
    schema_type: Option<&Value<'_>>,
    value: &Value<'_>,
    rendered: &str,
    decoded: &str,
) -> bool {
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
/// `headers` are `(lowercase name, value)` lines; values are compared without their surrounding
/// SP/HTAB ([`trim_ows`]). A schema with an invalid declaration validates nothing.
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
    let arguments = if arguments.is_object() {
        arguments
    } else {
        &empty
    };
    for (path, members) in &positions {
        let (Some(path), Some(Value::Str(token))) = (path, member(members, "x-mcp-header")) else {
            continue;
        };
        if path.is_empty() {
            continue;
        }
        let header = format!("Mcp-Param-{token}");
        let key = header.to_ascii_lowercase();
        let mut copies = headers.iter().filter(|(n, _)| *n == key);
        let first = copies.next();
        // The SDK folds into a dict: a repeated header is judged by its last copy.
        let raw = copies.next_back().or(first).map(|(_, v)| trim_ows(v));
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
            return mismatch(format!(
                "{header} header carries a malformed base64 sentinel value"
            ));
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
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
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
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if (0x80..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
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
        for s in [
            "add",
            "Hello, 世界",
            " padded ",
            "line1\nline2",
            "=?base64?literal?=",
            "",
        ] {
            assert_eq!(
                decode_header_value(&encode_header_value(s)).as_deref(),
                Some(s)
            );
        }
        assert_eq!(
            encode_header_value("Hello, 世界"),
            "=?base64?SGVsbG8sIOS4lueVjA==?="
        );
        assert_eq!(encode_header_value(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(
            encode_header_value("=?base64?literal?="),
            "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="
        );
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
    fn routing_header_names() {
        assert_eq!(
            RoutingHeader::from_name(b"MCP-Protocol-Version"),
            Some(RoutingHeader::ProtocolVersion)
        );
        assert_eq!(
            RoutingHeader::from_name(b"mcp-method"),
            Some(RoutingHeader::Method)
        );
        assert_eq!(
            RoutingHeader::from_name(b"Mcp-Name"),
            Some(RoutingHeader::Name)
        );
        for other in [
            &b"mcp-names"[..],
            b"mcp-nam",
            b"x-mcp-name",
            b"mcp\xadname",
            b"",
        ] {
            assert_eq!(RoutingHeader::from_name(other), None);
        }
        // A Latin-1 or UTF-8 look-alike never matches (no Unicode case folding).
        assert_eq!(RoutingHeader::from_name("mcp-nâme".as_bytes()), None);
    }

    #[test]
    fn header_text_is_latin1_or_text() {
        assert!(matches!(
            HeaderText::Latin1(b"tools/call").to_text(),
            Cow::Borrowed("tools/call")
        ));
        assert_eq!(HeaderText::Latin1(b"caf\xe9 \xa0").to_text(), "café \u{a0}");
        assert_eq!(HeaderText::Text("café").to_text(), "café");
        let mut lines = HeaderLines::default();
        lines.push(
            HeaderText::Latin1(b"Mcp-Param-A"),
            HeaderText::Latin1(b"\xe9"),
        );
        lines.push(HeaderText::Text("X-Other"), HeaderText::Text("v"));
        assert_eq!(
            lines.0,
            vec![
                ("mcp-param-a".to_owned(), "é".to_owned()),
                ("x-other".to_owned(), "v".to_owned())
            ]
        );
    }

    #[test]
    fn request_headers_for_a_client() {
        let got = request_headers("tools/call", Some("2026-07-28"), |key| {
            assert_eq!(key, "name");
            Some("héllo".into())
        })
        .unwrap();
        assert_eq!(
            got,
            vec![
                ("MCP-Protocol-Version", "2026-07-28".to_owned()),
                ("Mcp-Method", "tools/call".to_owned()),
                ("Mcp-Name", "=?base64?aMOpbGxv?=".to_owned()),
            ]
        );
        let got = request_headers("resources/read", Some("v"), |key| {
            assert_eq!(key, "uri");
            None
        })
        .unwrap();
        assert_eq!(got.len(), 2);
        // Methods without a name member never look one up.
        let got = request_headers("tools/list", Some("v"), |_| panic!("no name member")).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            request_headers("tools/list", None, |_| None).unwrap_err(),
            NoProtocolVersion
        );
        assert_eq!(
            NoProtocolVersion.to_string(),
            "params._meta['io.modelcontextprotocol/protocolVersion'] must be a str to derive MCP-Protocol-Version"
        );
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
    fn routing_values_lose_only_sp_and_htab_around_them() {
        let mut h = RoutingHeaders::default();
        h.push("mcp-protocol-version", " \t2026-07-28\t ");
        h.push("mcp-method", "\ttools/call");
        h.push("mcp-name", "  a b  ");
        assert_eq!(h.protocol_version.as_deref(), Some("2026-07-28"));
        assert_eq!(h.method.as_deref(), Some("tools/call"));
        assert_eq!(h.name.as_deref(), Some("a b"));
        // Vertical tab, form feed, CR/LF and NBSP are not optional whitespace.
        for kept in ["\u{b}add", "add\u{c}", "\u{a0}add", "add\u{a0}", "add\r\n"] {
            assert_eq!(trim_ows(kept), kept);
        }
        assert_eq!(trim_ows(" \t "), "");
    }

    #[test]
    fn param_header_values_lose_only_sp_and_htab_around_them() {
        let schema = crate::json::parse(
            br#"{"type":"object","properties":{"r":{"type":"string","x-mcp-header":"R"}}}"#,
            &crate::json::ParseLimits {
                max_depth: 64,
                max_string_bytes: 1 << 20,
            },
        )
        .unwrap();
        let arguments = Value::Object(vec![("r".into(), Value::Str("eu".into()))]);
        let header = |v: &str| vec![("mcp-param-r".to_owned(), v.to_owned())];
        for padded in ["eu", " eu", "eu\t", " \t eu \t "] {
            assert_eq!(
                check_param_headers(&schema, &arguments, &header(padded)),
                Ok(())
            );
        }
        for other in ["\u{b}eu", "eu\u{a0}", "e u"] {
            assert_eq!(
                check_param_headers(&schema, &arguments, &header(other))
                    .unwrap_err()
                    .code,
                HEADER_MISMATCH
            );
        }
    }

    #[test]
    fn python_repr_of_strings() {
        assert_eq!(python_str_repr("a"), "'a'");
        assert_eq!(python_str_repr("it's"), "\"it's\"");
        assert_eq!(python_str_repr("a'\""), "'a\\'\"'");
    }
}
