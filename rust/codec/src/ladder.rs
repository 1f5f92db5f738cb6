//! `decode`: body + headers → a validated 2026-07-28 message, or a [`Rejection`].
//! Twin of `python/mcp_fastpath/_pure/ladder.py`; the order of checks is the official SDK's
//! handling of a 2026-07-28 POST, first failure wins: size → JSON → one object → notification arm /
//! request shape → duplicated routing header → rung 1 (`_meta`) → rung 2 (headers) → rung 3 (version).

use crate::headers::{decode_header_value, name_key, python_str_repr, RoutingHeaders};
use crate::json::{parse, parse_outlined, Built, Document, Outline, ParseLimits, Span};
use crate::rejection::*;
use crate::value::Value;

pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
pub const CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
pub const CLIENT_INFO_KEY: &str = "io.modelcontextprotocol/clientInfo";
/// The protocol versions served when the caller names none.
pub const DEFAULT_VERSIONS: &[&str] = &["2026-07-28"];
const NOT_ONE_MESSAGE: &str = "Body must be a single JSON-RPC request or notification object";

/// Limits on one body (`mcp_fastpath.Limits`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_depth: usize,
    pub max_string_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 4 * 1024 * 1024,
            max_depth: 64,
            max_string_bytes: 1024 * 1024,
        }
    }
}

/// A request that passed every rung; borrows from the parsed body.
#[derive(Debug)]
pub struct RequestView<'v, 'a> {
    pub id: RequestId,
    pub method: &'v str,
    /// The `params` tree (after a lazy [`parse_message`], only the parts [`Parse::Lazy`] names
    /// are built; the others hold `Value::Null`).
    pub params: &'v Value<'a>,
    pub protocol_version: &'v str,
    /// The routing name (`Mcp-Name` source) when it is a string.
    pub name: Option<&'v str>,
}

#[derive(Debug)]
pub enum Message<'v, 'a> {
    Request(RequestView<'v, 'a>),
    Notification {
        method: &'v str,
        params: Option<&'v Value<'a>>,
        protocol_version: String,
    },
    Response {
        id: RequestId,
        result: &'v Value<'a>,
    },
    ErrorResponse {
        id: Option<RequestId>,
        code: i64,
        message: &'v str,
        data: Option<&'v Value<'a>>,
    },
}

/// Size check and strict parse. Oversize → -32600 (HTTP 413); bad JSON → -32700.
pub fn parse_body<'a>(body: &'a [u8], limits: &Limits) -> Result<Value<'a>, Rejection> {
    check_size(body, limits)?;
    parse(body, &parse_limits(limits)).map_err(parse_error)
}

/// How much of `params` [`parse_message`] builds.
#[derive(Debug, Clone, Copy)]
pub enum Parse<'p> {
    /// All of it.
    Whole,
    /// Only what [`classify`] and [`routing_keys`] read: the name members (`name`, `uri`,
    /// `taskId`), and of `_meta` its protocol version and the members named here.
    Lazy { meta_members: &'p [&'p str] },
}

/// [`parse_body`], outlining `params`: where it and each of its members lie in the body. A lazy
/// parse validates the parts it does not build exactly as [`parse_body`] validates them (every
/// byte: the same verdict, the same error); in the tree they hold `Value::Null`, and are read
/// from their spans.
pub fn parse_message<'a>(
    body: &'a [u8],
    limits: &Limits,
    parse: Parse<'_>,
) -> Result<Document<'a>, Rejection> {
    check_size(body, limits)?;
    let meta_lists: [&[&str]; 2] = match parse {
        Parse::Lazy { meta_members } => [&[PROTOCOL_VERSION_KEY], meta_members],
        Parse::Whole => [&[], &[]],
    };
    let build = [
        Built {
            key: "_meta",
            only: Some(&meta_lists),
        },
        Built {
            key: "name",
            only: None,
        },
        Built {
            key: "uri",
            only: None,
        },
        Built {
            key: "taskId",
            only: None,
        },
    ];
    let outline = Outline {
        inner: "params",
        build: &build,
        skip: matches!(parse, Parse::Lazy { .. }),
    };
    parse_outlined(body, &parse_limits(limits), &outline).map_err(parse_error)
}

/// Where a request's parts lie in its body, for building them when they are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestSpans {
    pub params: Span,
    pub meta: Span,
    /// `params.arguments`, when present.
    pub arguments: Option<Span>,
}

impl RequestSpans {
    /// The spans of a document that [`classify`] found to be a request (else `None`).
    pub fn of(document: &Document<'_>) -> Option<RequestSpans> {
        Some(RequestSpans {
            params: document.inner?,
            meta: document.member_span("_meta")?,
            arguments: document.member_span("arguments"),
        })
    }
}

fn check_size(body: &[u8], limits: &Limits) -> Result<(), Rejection> {
    if body.len() > limits.max_body_bytes {
        let mut rejection = Rejection::new(
            INVALID_REQUEST,
            format!("Request body exceeds {} bytes", limits.max_body_bytes),
        );
        rejection.http_status = 413;
        return Err(rejection);
    }
    Ok(())
}

fn parse_limits(limits: &Limits) -> ParseLimits {
    ParseLimits {
        max_depth: limits.max_depth,
        max_string_bytes: limits.max_string_bytes,
    }
}

fn parse_error(e: crate::json::ParseError) -> Rejection {
    Rejection::new(PARSE_ERROR, format!("Parse error: {e}"))
}

fn shape() -> Rejection {
    Rejection::new(INVALID_REQUEST, NOT_ONE_MESSAGE)
}

/// An id that passed the JSON-RPC shape check: an int64 or a string.
pub fn request_id(value: Option<&Value<'_>>) -> Option<RequestId> {
    match value? {
        Value::Int(i) => Some(RequestId::Int(*i)),
        Value::Str(s) => Some(RequestId::Str(s.to_string())),
        _ => None,
    }
}

fn is_jsonrpc_2(message: &Value<'_>) -> bool {
    matches!(message.get("jsonrpc"), Some(Value::Str(s)) if s == "2.0")
}

fn params_ok(params: Option<&Value<'_>>) -> bool {
    matches!(params, None | Some(Value::Null) | Some(Value::Object(_)))
}

fn unsupported<S: AsRef<str>>(
    requested: &str,
    supported: &[S],
    id: Option<RequestId>,
) -> Rejection {
    let mut rejection =
        Rejection::new(UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version").with_id(id);
    rejection.data = Some(RejectionData::UnsupportedVersion {
        supported: supported.iter().map(|s| s.as_ref().to_owned()).collect(),
        requested: requested.to_owned(),
    });
    rejection
}

/// Classify a parsed body. `headers` is `Some` for an HTTP POST to a server (the header rung runs,
/// posted responses are refused) and `None` for header-less transports.
pub fn classify<'v, 'a, S: AsRef<str>>(
    message: &'v Value<'a>,
    headers: Option<&RoutingHeaders>,
    supported: &[S],
) -> Result<Message<'v, 'a>, Rejection> {
    if !message.is_object() {
        return Err(shape());
    }
    let Some(id_value) = message.get("id") else {
        return notification(message, headers, supported);
    };
    if headers.is_none()
        && message.get("method").is_none()
        && (message.get("result").is_some() || message.get("error").is_some())
    {
        return response(message, id_value);
    }
    let method = message.get("method");
    let params = message.get("params");
    let (Some(id), true, Some(Value::Str(method)), true) = (
        request_id(Some(id_value)),
        is_jsonrpc_2(message),
        method,
        params_ok(params),
    ) else {
        return Err(shape());
    };
    let method: &str = method;
    let reject =
        |code: i64, text: String| Err(Rejection::new(code, text).with_id(Some(id.clone())));

    if let Some(name) = headers.and_then(|h| h.duplicated) {
        return reject(
            HEADER_MISMATCH,
            format!("{name} header appears more than once"),
        );
    }
    let meta = params.and_then(|p| p.get("_meta"));
    let Some(meta @ Value::Object(_)) = meta else {
        return reject(
            INVALID_PARAMS,
            format!(
                "params._meta must be an object carrying the required {} and {} envelope keys",
                python_str_repr(PROTOCOL_VERSION_KEY),
                python_str_repr(CAPABILITIES_KEY)
            ),
        );
    };
    let missing: Vec<&str> = [PROTOCOL_VERSION_KEY, CAPABILITIES_KEY]
        .into_iter()
        .filter(|k| meta.get(k).is_none())
        .collect();
    if !missing.is_empty() {
        return reject(
            INVALID_PARAMS,
            format!(
                "params._meta is missing the required envelope key(s): {}",
                missing.join(", ")
            ),
        );
    }
    let params = params.expect("a params object holds _meta");
    let version = meta.get(PROTOCOL_VERSION_KEY).expect("checked above");
    let name_member = name_key(method);

    if let Some(headers) = headers {
        let version_matches = matches!((headers.protocol_version.as_deref(), version), (Some(h), Value::Str(v)) if h == v);
        if !version_matches {
            return reject(HEADER_MISMATCH, "mcp-protocol-version header does not match the request envelope's protocol version".into());
        }
        if headers.method.as_deref() != Some(method) {
            return reject(
                HEADER_MISMATCH,
                "mcp-method header does not match the request body's method".into(),
            );
        }
        if let Some(key) = name_member {
            let body_name = params.get(key).filter(|v| !matches!(v, Value::Null));
            if let Some(body_name) = body_name {
                let header_name = headers.name.as_deref().and_then(decode_header_value);
                let same = matches!((header_name, body_name), (Some(h), Value::Str(b)) if h == *b);
                if !same {
                    return reject(
                        HEADER_MISMATCH,
                        format!(
                            "mcp-name header does not match the request body's {} parameter",
                            python_str_repr(key)
                        ),
                    );
                }
            }
        }
    }

    let Value::Str(version) = version else {
        return reject(
            INVALID_PARAMS,
            "the protocol-version envelope value must be a string".into(),
        );
    };
    if !supported.iter().any(|s| s.as_ref() == version) {
        return Err(unsupported(version, supported, Some(id)));
    }
    let name = name_member
        .and_then(|key| params.get(key))
        .and_then(Value::as_str);
    Ok(Message::Request(RequestView {
        id,
        method,
        params,
        protocol_version: version,
        name,
    }))
}

fn notification<'v, 'a, S: AsRef<str>>(
    message: &'v Value<'a>,
    headers: Option<&RoutingHeaders>,
    supported: &[S],
) -> Result<Message<'v, 'a>, Rejection> {
    let params = message.get("params");
    let (true, Some(Value::Str(method)), true) = (
        is_jsonrpc_2(message),
        message.get("method"),
        params_ok(params),
    ) else {
        return Err(shape());
    };
    let version = match headers {
        // Like the SDK: only the header that routed the POST here is read (its first copy).
        Some(h) => h.protocol_version.as_deref().unwrap_or_default().to_owned(),
        None => params
            .and_then(|p| p.get("_meta"))
            .and_then(|m| m.get(PROTOCOL_VERSION_KEY))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
    };
    if !supported.iter().any(|s| s.as_ref() == version) {
        return Err(unsupported(&version, supported, None));
    }
    let params = params.filter(|p| p.is_object());
    Ok(Message::Notification {
        method,
        params,
        protocol_version: version,
    })
}

fn response<'v, 'a>(
    message: &'v Value<'a>,
    id_value: &'v Value<'a>,
) -> Result<Message<'v, 'a>, Rejection> {
    if !is_jsonrpc_2(message) {
        return Err(shape());
    }
    let result = message.get("result");
    let error = message.get("error");
    match (result, error) {
        (Some(result @ Value::Object(_)), None) => match request_id(Some(id_value)) {
            Some(id) => Ok(Message::Response { id, result }),
            None => Err(shape()),
        },
        (None, Some(error @ Value::Object(_))) => {
            let id = match id_value {
                Value::Null => None,
                other => Some(request_id(Some(other)).ok_or_else(shape)?),
            };
            match (error.get("code"), error.get("message")) {
                (Some(Value::Int(code)), Some(Value::Str(text))) => Ok(Message::ErrorResponse {
                    id,
                    code: *code,
                    message: text,
                    data: error.get("data"),
                }),
                _ => Err(shape()),
            }
        }
        _ => Err(shape()),
    }
}

/// What a gateway routes on, each `None` when absent or of the wrong type.
#[derive(Debug, PartialEq)]
pub struct RoutingKeys<'v> {
    pub method: Option<&'v str>,
    pub name: Option<&'v str>,
    pub protocol_version: Option<&'v str>,
    pub id: Option<RequestId>,
}

pub fn routing_keys<'v>(message: &'v Value<'_>) -> Result<RoutingKeys<'v>, Rejection> {
    if !message.is_object() {
        return Err(shape());
    }
    let method = message.get("method").and_then(Value::as_str);
    let params = message.get("params").filter(|p| p.is_object());
    let protocol_version = params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(PROTOCOL_VERSION_KEY))
        .and_then(Value::as_str);
    let name = method
        .and_then(name_key)
        .and_then(|k| params.and_then(|p| p.get(k)))
        .and_then(Value::as_str);
    Ok(RoutingKeys {
        method,
        name,
        protocol_version,
        id: request_id(message.get("id")),
    })
}
