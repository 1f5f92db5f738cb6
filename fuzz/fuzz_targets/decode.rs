//! The request path of `decode` and `routing_keys`, on the pure-Rust core: size check, strict
//! parse (whole and lazy), the validation ladder with and without routing headers, routing keys,
//! the spans a decoded request is built from later, `Mcp-Param-*` checks, the header value codec
//! and the encoder.
//!
//! Input: optional header lines (`name: value`, raw bytes), an empty line, then the body; without
//! an empty line it is all body and no headers are given (a header-less transport). Three lines
//! configure the run instead of being headers: `x-fuzz-limits: <depth> <string bytes> <body
//! bytes>`, `x-fuzz-supported: <version>,<version>…` and `x-fuzz-schema: <JSON inputSchema>`.
//!
//! Besides never panicking, it checks that the lazy parse (what the binding runs) and the whole
//! parse (what the pure twin reads) reach the same verdict, that every span locates exactly the
//! value the whole parse built, and that what the encoder writes parses back to the same value.
#![no_main]

use std::borrow::Cow;

use fastpath_codec::encode;
use fastpath_codec::headers::{
    check_param_headers, decode_header_value, encode_header_value, HeaderLines, HeaderText,
    RoutingHeader, RoutingHeaders,
};
use fastpath_codec::json::{self, Document, ParseLimits, Span};
use fastpath_codec::ladder::{self, Limits, Message, Parse, RequestSpans, CAPABILITIES_KEY};
use fastpath_codec::{Rejection, Value};
use fuzz_support::split_message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| run(data));

fn run(data: &[u8]) {
    let split = split_message(data);
    let mut limits = Limits::default();
    let mut supported: Vec<String> = ladder::DEFAULT_VERSIONS
        .iter()
        .map(|v| (*v).to_owned())
        .collect();
    let mut schema_text: Option<&[u8]> = None;
    let mut lines: Vec<(&[u8], &[u8])> = Vec::new();
    for &(name, value) in split.headers.iter().flatten() {
        match name {
            b"x-fuzz-limits" => limits = read_limits(value).unwrap_or(limits),
            b"x-fuzz-supported" => {
                supported = String::from_utf8_lossy(value)
                    .trim()
                    .split(',')
                    .map(str::to_owned)
                    .collect();
            }
            b"x-fuzz-schema" => schema_text = Some(value),
            _ => lines.push((name, value)),
        }
    }
    let body = split.body;

    let full = ladder::parse_body(body, &limits);
    let whole = ladder::parse_message(body, &limits, Parse::Whole);
    let lazy = ladder::parse_message(body, &limits, Parse::Lazy { meta_members: &[] });
    let lazier = ladder::parse_message(
        body,
        &limits,
        Parse::Lazy {
            meta_members: &[CAPABILITIES_KEY],
        },
    );
    let (full, whole, lazy, lazier) = match (full, whole, lazy, lazier) {
        (Ok(full), Ok(whole), Ok(lazy), Ok(lazier)) => (full, whole, lazy, lazier),
        (Err(a), Err(b), Err(c), Err(d)) => {
            // One verdict, one message, whichever way the body is read.
            assert_eq!(a, b);
            assert_eq!(a, c);
            assert_eq!(a, d);
            encode_rejection(&a);
            return;
        }
        (a, b, c, d) => panic!(
            "parses disagree: full {:?}, whole {:?}, lazy {:?}, lazier {:?}",
            a.is_ok(),
            b.is_ok(),
            c.is_ok(),
            d.is_ok()
        ),
    };
    assert_eq!(whole.value, full);
    for document in [&whole, &lazy, &lazier] {
        check_spans(body, document, &full);
    }

    // Routing headers as the binding reads an ASGI list: Latin-1 bytes, first copy kept. Like
    // `decode`, a body that is not an object is refused before the headers are looked at.
    let headers = split
        .headers
        .as_ref()
        .filter(|_| full.is_object())
        .map(|_| {
            let mut routing = RoutingHeaders::default();
            for &(name, value) in &lines {
                if let Some(header) = RoutingHeader::from_name(name) {
                    routing.set(header, HeaderText::Latin1(value).to_text());
                }
            }
            routing
        });
    for headers in [headers.as_ref(), None] {
        let verdicts = [&whole, &lazy, &lazier]
            .map(|document| ladder::classify(&document.value, headers, &supported));
        let reference = ladder::classify(&full, headers, &supported);
        for verdict in &verdicts {
            same_verdict(&reference, verdict);
        }
        match &verdicts[1] {
            Ok(Message::Request(request)) => {
                // The binding builds a `Request` from these spans (and `expect`s them).
                let spans = RequestSpans::of(&lazy).expect("a request has params and _meta");
                check_request(body, spans, &full, request.params);
                let response = encode::response(&request.id, |out| {
                    encode::write_value(out, full.get("params").expect("params"));
                    Ok::<(), ()>(())
                })
                .expect("writing cannot fail");
                reparses(&response);
            }
            Ok(_) => {}
            Err(rejection) => encode_rejection(rejection),
        }
    }
    assert_eq!(
        ladder::routing_keys(&lazy.value),
        ladder::routing_keys(&full)
    );

    // `Mcp-Param-*`: the schema from `x-fuzz-schema`, the arguments from the body.
    let mut header_lines = HeaderLines::default();
    for &(name, value) in &lines {
        header_lines.push(HeaderText::Latin1(name), HeaderText::Latin1(value));
    }
    let schema = schema_text.and_then(|text| json::parse(text, &fuzz_support::LIMITS).ok());
    if let Some(schema) = schema {
        let arguments = full
            .get("params")
            .and_then(|p| p.get("arguments"))
            .unwrap_or(&Value::Null);
        if let Err(rejection) = check_param_headers(&schema, arguments, &header_lines.0) {
            encode_rejection(&rejection);
        }
    }

    // The header value codec: encoding is reversible, and a decoded value encodes back to a
    // form that decodes to it again.
    for (_, value) in &header_lines.0 {
        assert_eq!(
            decode_header_value(&encode_header_value(value)).as_deref(),
            Some(value.as_str())
        );
        if let Some(decoded) = decode_header_value(value) {
            assert_eq!(
                decode_header_value(&encode_header_value(&decoded)),
                Some(decoded)
            );
        }
    }

    // The encoder writes JSON that reads back as the same tree.
    let mut out = Vec::new();
    encode::write_value(&mut out, &full);
    let again = json::parse_validated(&out).expect("the encoder writes JSON");
    assert_eq!(again, full);
}

fn read_limits(text: &[u8]) -> Option<Limits> {
    let text = std::str::from_utf8(text).ok()?;
    let mut numbers = text.split_whitespace().map(|n| n.parse::<usize>().ok());
    Some(Limits {
        max_depth: numbers.next()??,
        max_string_bytes: numbers.next()??,
        max_body_bytes: numbers.next()??,
    })
}

/// Each span of `document` holds exactly the value the whole parse built there.
fn check_spans(body: &[u8], document: &Document<'_>, full: &Value<'_>) {
    let params = full.get("params");
    assert_eq!(document.inner.is_some(), params.is_some());
    let (Some(span), Some(params)) = (document.inner, params) else {
        assert!(document.members.is_empty());
        return;
    };
    assert_eq!(&at(body, span), params);
    let Value::Object(members) = params else {
        assert!(document.members.is_empty());
        return;
    };
    assert_eq!(document.members.len(), members.len());
    for ((key, span), (k, v)) in document.members.iter().zip(members) {
        assert_eq!(key, k);
        assert_eq!(&at(body, *span), v);
    }
}

/// The value at `span`, read the way the binding reads it later (`parse_validated`).
fn at<'a>(body: &'a [u8], span: Span) -> Value<'a> {
    json::parse_validated(&body[span.start..span.end]).expect("a span holds a validated value")
}

/// The parts of a decoded request that are built later, from its spans, are the whole parse's.
fn check_request(body: &[u8], spans: RequestSpans, full: &Value<'_>, lazy_params: &Value<'_>) {
    let params = full.get("params").expect("a request has params");
    assert_eq!(&at(body, spans.params), params);
    assert_eq!(Some(&at(body, spans.meta)), params.get("_meta"));
    assert_eq!(
        spans.arguments.map(|span| at(body, span)).as_ref(),
        params.get("arguments")
    );
    // What the lazy tree built is the real thing.
    for key in ["name", "uri", "taskId"] {
        assert_eq!(lazy_params.get(key), params.get(key));
    }
}

/// Two classifications of one body (from a lazy and a whole tree) agree on everything a
/// caller reads before it builds anything from spans.
fn same_verdict(a: &Result<Message<'_, '_>, Rejection>, b: &Result<Message<'_, '_>, Rejection>) {
    match (a, b) {
        (Err(a), Err(b)) => assert_eq!(a, b),
        (Ok(Message::Request(a)), Ok(Message::Request(b))) => {
            assert_eq!(a.id, b.id);
            assert_eq!(a.method, b.method);
            assert_eq!(a.protocol_version, b.protocol_version);
            assert_eq!(a.name, b.name);
        }
        (
            Ok(Message::Notification {
                method: m1,
                params: p1,
                protocol_version: v1,
            }),
            Ok(Message::Notification {
                method: m2,
                params: p2,
                protocol_version: v2,
            }),
        ) => {
            assert_eq!((m1, v1), (m2, v2));
            assert_eq!(p1.is_some(), p2.is_some());
        }
        (
            Ok(Message::Response { id: i1, result: r1 }),
            Ok(Message::Response { id: i2, result: r2 }),
        ) => assert_eq!((i1, r1), (i2, r2)),
        (
            Ok(Message::ErrorResponse {
                id: i1,
                code: c1,
                message: m1,
                data: d1,
            }),
            Ok(Message::ErrorResponse {
                id: i2,
                code: c2,
                message: m2,
                data: d2,
            }),
        ) => assert_eq!((i1, c1, m1, d1), (i2, c2, m2, d2)),
        (a, b) => panic!("verdicts disagree: {a:?} / {b:?}"),
    }
}

/// The error response of a rejection is JSON.
fn encode_rejection(rejection: &Rejection) {
    let data = rejection.data.as_ref().map(|_| {
        |out: &mut Vec<u8>| {
            encode::write_value(out, &Value::Object(vec![(Cow::Borrowed("x"), Value::Null)]));
            Ok::<(), ()>(())
        }
    });
    let out = encode::error(
        rejection.request_id.as_ref(),
        &Value::Int(rejection.code),
        &rejection.message,
        data,
    )
    .expect("writing cannot fail");
    reparses(&out);
}

/// `out` is one JSON document (of any depth: the encoder has no limit of its own here).
fn reparses(out: &[u8]) {
    let deep = ParseLimits {
        max_depth: usize::MAX,
        max_string_bytes: usize::MAX,
    };
    if let Err(e) = json::parse(out, &deep) {
        panic!(
            "encoder output is not JSON ({e}): {}",
            String::from_utf8_lossy(out)
        );
    }
}
