//! `decode` and `routing_keys`: the body and its headers to the core's ladder, the verdict to
//! Python (`Request`, `Notification`, `Response`, `ErrorResponse`, `RoutingKeys`, or a raised
//! `Rejection`). Twin of `mcp_fastpath._pure.ladder`; every rule is `fastpath_codec::ladder`.

use fastpath_codec::json::Document;
use fastpath_codec::ladder::{self, Limits, Message, Parse, RequestSpans, RequestView};
use fastpath_codec::RequestId;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyMemoryView, PyString};

use super::headers::routing_headers;
use crate::errors::{request_id_to_py, type_error, Rejected};
use crate::messages::{ErrorResponse, Notification, Request, Response, RoutingKeys};
use crate::to_python::{cached_str, validated_to_py, value_to_py};

/// decode and routing_keys build only what the ladder reads; a `Request` builds the rest from
/// the body when asked.
const LAZY: Parse<'static> = Parse::Lazy { meta_members: &[] };

/// The body as `bytes`: itself, or a copy of a `bytearray` / `memoryview` (a decoded `Request`
/// keeps it, and reads its lazily built parts from it).
pub fn read_body<'py>(body: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(b) = body.cast::<PyBytes>() {
        return Ok(b.clone());
    }
    if let Ok(b) = body.cast::<PyByteArray>() {
        return Ok(PyBytes::new(body.py(), &b.to_vec()));
    }
    if body.cast::<PyMemoryView>().is_ok() {
        return Ok(body.call_method0("tobytes")?.cast_into::<PyBytes>()?);
    }
    Err(type_error(format!(
        "body must be bytes, not {}",
        body.get_type().name()?
    )))
}

pub fn read_limits(limits: Option<&Bound<'_, PyAny>>) -> PyResult<Limits> {
    let Some(limits) = limits.filter(|l| !l.is_none()) else {
        return Ok(Limits::default());
    };
    Ok(Limits {
        max_body_bytes: limits.getattr("max_body_bytes")?.extract()?,
        max_depth: limits.getattr("max_depth")?.extract()?,
        max_string_bytes: limits.getattr("max_string_bytes")?.extract()?,
    })
}

const UNSUPPORTED_VERSIONS_TYPE: &str = "supported_versions must hold str (valid Unicode) versions";

/// The versions a `supported_versions=` argument names; `None` for `None` (the default).
fn named_versions(supported: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<String>>> {
    let Some(obj) = supported else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        let item = item?;
        let text = item
            .cast::<PyString>()
            .ok()
            .and_then(|s| s.to_str().ok().map(str::to_owned))
            .ok_or_else(|| type_error(UNSUPPORTED_VERSIONS_TYPE))?;
        out.push(text);
    }
    Ok(Some(out))
}

/// The `supported_versions=` argument (`None`: [`ladder::DEFAULT_VERSIONS`]), as `Gate` keeps it.
pub fn supported_list(supported: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    Ok(named_versions(supported)?.unwrap_or_else(|| {
        ladder::DEFAULT_VERSIONS
            .iter()
            .map(|v| (*v).to_owned())
            .collect()
    }))
}

fn id_to_py<'py>(py: Python<'py>, id: &RequestId) -> PyResult<Bound<'py, PyAny>> {
    request_id_to_py(py, &Some(id.clone()))
}

#[pyfunction]
#[pyo3(signature = (body, headers=None, *, limits=None, supported_versions=None))]
pub fn decode<'py>(
    py: Python<'py>,
    body: &Bound<'py, PyAny>,
    headers: Option<&Bound<'py, PyAny>>,
    limits: Option<&Bound<'py, PyAny>>,
    supported_versions: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let limits = read_limits(limits)?;
    let supported = named_versions(supported_versions)?;
    let body = read_body(body)?;
    let document = ladder::parse_message(body.as_bytes(), &limits, LAZY).map_err(Rejected)?;
    // A non-object body is refused before the headers are read (as in the pure twin).
    let headers = match headers.filter(|h| !h.is_none()) {
        Some(h) if document.value.is_object() => Some(routing_headers(h)?),
        _ => None,
    };
    let message = match &supported {
        None => ladder::classify(&document.value, headers.as_ref(), ladder::DEFAULT_VERSIONS),
        Some(given) => ladder::classify(&document.value, headers.as_ref(), given),
    }
    .map_err(Rejected)?;
    drop(headers); // (borrowed from the header list: done with before any Python code runs)
    message_to_py(py, message, &body, &document)
}

/// The `Request` of a request that passed the ladder: the small fields now, `params` and
/// `_meta` from the body when they are asked for.
pub fn request_to_py<'py>(
    py: Python<'py>,
    body: &Bound<'py, PyBytes>,
    spans: RequestSpans,
    req: &RequestView<'_, '_>,
) -> PyResult<Bound<'py, PyAny>> {
    let request = Request::from_body(
        id_to_py(py, &req.id)?.unbind(),
        cached_str(py, req.method).into_any().unbind(),
        cached_str(py, req.protocol_version).into_any().unbind(),
        req.name.map_or_else(
            || py.None(),
            |name| cached_str(py, name).into_any().unbind(),
        ),
        body.clone().unbind(),
        spans,
    );
    Ok(Bound::new(py, request)?.into_any())
}

/// The Python object of a classified message (`Request`, `Notification`, `Response`, `ErrorResponse`).
/// `body` and `document` are what `message` was classified from (a lazy parse builds some parts
/// from the body).
pub fn message_to_py<'py>(
    py: Python<'py>,
    message: Message<'_, '_>,
    body: &Bound<'py, PyBytes>,
    document: &Document<'_>,
) -> PyResult<Bound<'py, PyAny>> {
    match message {
        Message::Request(req) => {
            let spans = RequestSpans::of(document).expect("a request has params and _meta");
            request_to_py(py, body, spans, &req)
        }
        Message::Notification {
            method,
            params,
            protocol_version,
        } => {
            let (params, meta) = match params.and(document.inner) {
                Some(span) => {
                    let params = validated_to_py(py, &body.as_bytes()[span.start..span.end])?;
                    let meta = params
                        .cast::<PyDict>()?
                        .get_item(intern!(py, "_meta"))?
                        .filter(|m| m.is_instance_of::<PyDict>());
                    (
                        params.unbind(),
                        meta.map(Bound::unbind).unwrap_or_else(|| py.None()),
                    )
                }
                None => (py.None(), py.None()),
            };
            let notification = Notification {
                method: PyString::new(py, method).into_any().unbind(),
                params,
                meta,
                protocol_version: PyString::new(py, &protocol_version).into_any().unbind(),
            };
            Ok(Bound::new(py, notification)?.into_any())
        }
        Message::Response { id, result } => {
            let response = Response {
                id: id_to_py(py, &id)?.unbind(),
                result: value_to_py(py, result)?.unbind(),
            };
            Ok(Bound::new(py, response)?.into_any())
        }
        Message::ErrorResponse {
            id,
            code,
            message,
            data,
        } => {
            let data = match data {
                Some(d) => value_to_py(py, d)?.unbind(),
                None => py.None(),
            };
            let error = ErrorResponse {
                id: request_id_to_py(py, &id)?.unbind(),
                code: code.into_pyobject(py)?.into_any().unbind(),
                message: PyString::new(py, message).into_any().unbind(),
                data,
            };
            Ok(Bound::new(py, error)?.into_any())
        }
    }
}

fn opt_str(py: Python<'_>, s: Option<&str>) -> Py<PyAny> {
    s.map_or_else(|| py.None(), |s| cached_str(py, s).into_any().unbind())
}

/// The routing keys of a body, without building its Python tree.
#[pyfunction]
#[pyo3(signature = (body, *, limits=None))]
pub fn routing_keys<'py>(
    py: Python<'py>,
    body: &Bound<'py, PyAny>,
    limits: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, RoutingKeys>> {
    let limits = read_limits(limits)?;
    let body = read_body(body)?;
    let document = ladder::parse_message(body.as_bytes(), &limits, LAZY).map_err(Rejected)?;
    let keys = ladder::routing_keys(&document.value).map_err(Rejected)?;
    Bound::new(
        py,
        RoutingKeys {
            method: opt_str(py, keys.method),
            name: opt_str(py, keys.name),
            protocol_version: opt_str(py, keys.protocol_version),
            id: request_id_to_py(py, &keys.id)?.unbind(),
        },
    )
}
