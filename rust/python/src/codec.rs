//! The codec functions: thin wrappers that turn arguments into core types, call the core and
//! build the result objects. No protocol decision lives here.

use fastpath_codec::headers::{self, RoutingHeaders};
use fastpath_codec::ladder::{self, Limits, Message, RequestView};
use fastpath_codec::rejection::{http_status as status_for, RequestId};
use fastpath_codec::Value;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyMemoryView, PyString, PyTuple};

use crate::errors::{request_id_to_py, to_py_err, type_error};
use crate::messages::{ErrorResponse, Notification, Request, Response, RoutingKeys};
use crate::pyjson::value_to_py;
use crate::pyvalue::{py_to_value, write_py};

const DEFAULT_VERSION: &str = "2026-07-28";

/// The body as bytes: `bytes` are borrowed, `bytearray`/`memoryview` copied.
pub enum Body<'py> {
    Borrowed(Bound<'py, PyBytes>),
    Owned(Vec<u8>),
}

impl Body<'_> {
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Body::Borrowed(b) => b.as_bytes(),
            Body::Owned(v) => v,
        }
    }
}

pub fn read_body<'py>(body: &Bound<'py, PyAny>) -> PyResult<Body<'py>> {
    if let Ok(b) = body.cast::<PyBytes>() {
        return Ok(Body::Borrowed(b.clone()));
    }
    if let Ok(b) = body.cast::<PyByteArray>() {
        return Ok(Body::Owned(b.to_vec()));
    }
    if body.cast::<PyMemoryView>().is_ok() {
        let bytes = body.call_method0("tobytes")?;
        return Ok(Body::Owned(bytes.cast::<PyBytes>()?.as_bytes().to_vec()));
    }
    Err(type_error(format!("body must be bytes, not {}", body.get_type().name()?)))
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

/// One header name or value as handed over: ASGI gives Latin-1 `bytes`, other callers `str`.
enum HeaderText<'a> {
    Bytes(&'a [u8]),
    Str(&'a str),
}

impl HeaderText<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            HeaderText::Bytes(b) => b,
            HeaderText::Str(s) => s.as_bytes(),
        }
    }

    fn to_text(&self) -> String {
        match self {
            // ASCII, the usual case, is its own UTF-8.
            HeaderText::Bytes(b) if b.is_ascii() => String::from_utf8(b.to_vec()).expect("ASCII is UTF-8"),
            // Latin-1: each byte is one code point.
            HeaderText::Bytes(b) => b.iter().map(|&c| c as char).collect(),
            HeaderText::Str(s) => (*s).to_owned(),
        }
    }
}

fn with_header_text<R>(obj: &Bound<'_, PyAny>, f: impl FnOnce(HeaderText<'_>) -> R) -> PyResult<R> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(f(HeaderText::Str(s.to_str()?)));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(f(HeaderText::Bytes(b.as_bytes())));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(f(HeaderText::Bytes(&b.to_vec())));
    }
    Err(type_error("header names and values must be str or bytes"))
}

/// Visit each header line of a mapping (its `.items()`) or an iterable of `(name, value)` pairs,
/// without copying anything the visitor does not keep.
fn for_each_header(
    headers: &Bound<'_, PyAny>,
    mut visit: impl FnMut(HeaderText<'_>, &Bound<'_, PyAny>) -> PyResult<()>,
) -> PyResult<()> {
    let mut visit_item = |item: Bound<'_, PyAny>| -> PyResult<()> {
        let (name, value) = match item.cast::<PyTuple>() {
            Ok(pair) if pair.len() == 2 => (pair.get_item(0)?, pair.get_item(1)?),
            _ => item.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()?,
        };
        with_header_text(&name, |name| visit(name, &value))?
    };
    // ASGI hands over a list of (bytes, bytes) tuples: index it directly, no iterator protocol.
    if let Ok(list) = headers.cast::<PyList>() {
        return list.iter().try_for_each(&mut visit_item);
    }
    if let Ok(tuple) = headers.cast::<PyTuple>() {
        return tuple.iter().try_for_each(&mut visit_item);
    }
    let items = if headers.hasattr("items")? { headers.call_method0("items")? } else { headers.clone() };
    for item in items.try_iter()? {
        visit_item(item?)?;
    }
    Ok(())
}

/// Headers as `(lowercase name, value)` pairs.
pub fn header_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for_each_header(headers, |name, value| {
        let value = with_header_text(value, |v| v.to_text())?;
        pairs.push((name.to_text().to_ascii_lowercase(), value));
        Ok(())
    })?;
    Ok(pairs)
}

/// The routing headers; only their values are copied, other lines are only type-checked.
/// The routing headers of an ASGI-style header list (a list or tuple of `(bytes, bytes)`), read
/// through borrowed references; `None` when `headers` has any other shape (the generic path below
/// then reads it, raising the same errors the pure twin raises).
fn asgi_routing_headers(headers: &Bound<'_, PyAny>) -> Option<RoutingHeaders> {
    let ptr = headers.as_ptr();
    // SAFETY: the GIL is held (`headers` is bound); every object touched is borrowed from
    // `headers`, which outlives this call, and each is type-checked before use.
    unsafe {
        let (is_list, len) = if ffi::PyList_Check(ptr) != 0 {
            (true, ffi::PyList_Size(ptr))
        } else if ffi::PyTuple_Check(ptr) != 0 {
            (false, ffi::PyTuple_Size(ptr))
        } else {
            return None;
        };
        let mut routing = RoutingHeaders::default();
        for i in 0..len {
            let pair = if is_list { ffi::PyList_GetItem(ptr, i) } else { ffi::PyTuple_GetItem(ptr, i) };
            if pair.is_null() || ffi::PyTuple_Check(pair) == 0 || ffi::PyTuple_Size(pair) != 2 {
                ffi::PyErr_Clear();
                return None;
            }
            let (name, value) = (ffi::PyTuple_GetItem(pair, 0), ffi::PyTuple_GetItem(pair, 1));
            if ffi::PyBytes_Check(name) == 0 || ffi::PyBytes_Check(value) == 0 {
                return None;
            }
            let name = bytes_of(name);
            if !matches!(name.len(), 8 | 10 | 20) {
                continue;
            }
            if let Some(routing_name) = ["mcp-protocol-version", "mcp-method", "mcp-name"]
                .into_iter()
                .find(|routing_name| name.eq_ignore_ascii_case(routing_name.as_bytes()))
            {
                routing.push(routing_name, HeaderText::Bytes(bytes_of(value)).to_text());
            }
        }
        Some(routing)
    }
}

/// The contents of a `bytes` object (borrowed; the caller checked the type).
unsafe fn bytes_of<'a>(obj: *mut ffi::PyObject) -> &'a [u8] {
    let data = ffi::PyBytes_AsString(obj) as *const u8;
    std::slice::from_raw_parts(data, ffi::PyBytes_Size(obj) as usize)
}

fn routing_headers(headers: &Bound<'_, PyAny>) -> PyResult<RoutingHeaders> {
    if let Some(routing) = asgi_routing_headers(headers) {
        return Ok(routing);
    }
    let mut routing = RoutingHeaders::default();
    for_each_header(headers, |name, value| {
        let name_bytes = name.bytes();
        // The three routing names are 8, 10 and 20 bytes long: most lines are passed over here.
        let routed = match name_bytes.len() {
            8 | 10 | 20 => ["mcp-protocol-version", "mcp-method", "mcp-name"]
                .into_iter()
                .find(|routing_name| name_bytes.eq_ignore_ascii_case(routing_name.as_bytes())),
            _ => None,
        };
        match routed {
            Some(routing_name) => with_header_text(value, |value| routing.push(routing_name, value.to_text())),
            // Other lines are only type-checked, as the pure twin does.
            None if value.is_instance_of::<PyBytes>() || value.is_instance_of::<PyString>() => Ok(()),
            None => with_header_text(value, |_| ()),
        }
    })?;
    Ok(routing)
}

fn supported_list(supported: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    match supported {
        None => Ok(vec![DEFAULT_VERSION.to_owned()]),
        Some(obj) => {
            let mut out = Vec::new();
            for item in obj.try_iter()? {
                out.push(item?.extract::<String>()?);
            }
            Ok(out)
        }
    }
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
    let supported = supported_list(supported_versions)?;
    let body = read_body(body)?;
    let value = ladder::parse_body(body.as_bytes(), &limits).map_err(|r| to_py_err(py, &r))?;
    // A non-object body is refused before the headers are read (as in the pure twin).
    let headers = match headers.filter(|h| !h.is_none()) {
        Some(h) if value.is_object() => Some(routing_headers(h)?),
        _ => None,
    };
    let message = ladder::classify(&value, headers.as_ref(), &supported).map_err(|r| to_py_err(py, &r))?;
    message_to_py(py, message)
}

/// The `Request` of a request that passed the ladder.
pub fn request_to_py<'py>(py: Python<'py>, req: &RequestView<'_, '_>) -> PyResult<Bound<'py, PyAny>> {
    let params = value_to_py(py, req.params)?;
    let params_dict = params.cast::<PyDict>()?;
    let meta = params_dict.get_item(intern!(py, "_meta"))?.expect("the ladder proved _meta is present");
    let meta_dict = meta.cast::<PyDict>()?;
    let client_info =
        meta_dict.get_item(intern!(py, ladder::CLIENT_INFO_KEY))?.unwrap_or_else(|| py.None().into_bound(py));
    let capabilities =
        meta_dict.get_item(intern!(py, ladder::CAPABILITIES_KEY))?.expect("the ladder proved it is present");
    let name = match req.name {
        Some(name) => PyString::new(py, name).into_any().unbind(),
        None => py.None(),
    };
    let request = Request {
        id: id_to_py(py, &req.id)?.unbind(),
        method: PyString::new(py, req.method).into_any().unbind(),
        params: params.clone().unbind(),
        meta: meta.unbind(),
        protocol_version: PyString::new(py, req.protocol_version).into_any().unbind(),
        client_info: client_info.unbind(),
        client_capabilities: capabilities.unbind(),
        name,
    };
    Ok(Bound::new(py, request)?.into_any())
}

/// The Python object of a classified message (`Request`, `Notification`, `Response`, `ErrorResponse`).
pub fn message_to_py<'py>(py: Python<'py>, message: Message<'_, '_>) -> PyResult<Bound<'py, PyAny>> {
    match message {
        Message::Request(req) => request_to_py(py, &req),
        Message::Notification { method, params, protocol_version } => {
            let (params, meta) = match params {
                Some(p) => {
                    let params = value_to_py(py, p)?;
                    let meta = params.cast::<PyDict>()?.get_item(intern!(py, "_meta"))?.filter(|m| m.is_instance_of::<PyDict>());
                    (params.unbind(), meta.map(Bound::unbind).unwrap_or_else(|| py.None()))
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
            let response = Response { id: id_to_py(py, &id)?.unbind(), result: value_to_py(py, result)?.unbind() };
            Ok(Bound::new(py, response)?.into_any())
        }
        Message::ErrorResponse { id, code, message, data } => {
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
    s.map_or_else(|| py.None(), |s| PyString::new(py, s).into_any().unbind())
}

/// The routing keys of a body, without building its Python tree.
#[pyfunction]
#[pyo3(signature = (body, *, limits=None))]
pub fn routing_keys<'py>(py: Python<'py>, body: &Bound<'py, PyAny>, limits: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, RoutingKeys>> {
    let limits = read_limits(limits)?;
    let body = read_body(body)?;
    let value = ladder::parse_body(body.as_bytes(), &limits).map_err(|r| to_py_err(py, &r))?;
    let keys = ladder::routing_keys(&value).map_err(|r| to_py_err(py, &r))?;
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

#[pyfunction]
pub fn encode_header_value(value: &Bound<'_, PyAny>) -> PyResult<String> {
    let s = value.cast::<PyString>().map_err(|_| type_error(format!("header values are str, not {}", value.get_type().name().map(|n| n.to_string()).unwrap_or_default())))?;
    Ok(headers::encode_header_value(s.to_str()?))
}

#[pyfunction]
pub fn decode_header_value(value: Option<&str>) -> Option<String> {
    value.and_then(headers::decode_header_value)
}

#[pyfunction]
pub fn request_headers<'py>(py: Python<'py>, method: &Bound<'py, PyAny>, params: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let method = method.cast::<PyString>().map_err(|_| type_error("method must be a str"))?.to_str()?.to_owned();
    let params = params.cast::<PyDict>().ok();
    let meta = match &params {
        Some(p) => p.get_item("_meta")?,
        None => None,
    };
    let version = match meta.as_ref().and_then(|m| m.cast::<PyDict>().ok()) {
        Some(m) => m.get_item(ladder::PROTOCOL_VERSION_KEY)?.and_then(|v| v.extract::<String>().ok()),
        None => None,
    };
    let Some(version) = version else {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "params._meta['{}'] must be a str to derive MCP-Protocol-Version",
            ladder::PROTOCOL_VERSION_KEY
        )));
    };
    let out = PyDict::new(py);
    out.set_item("MCP-Protocol-Version", version)?;
    out.set_item("Mcp-Method", &method)?;
    if let (Some(key), Some(params)) = (headers::name_key(&method), &params) {
        if let Some(name) = params.get_item(key)? {
            if let Ok(name) = name.cast::<PyString>() {
                out.set_item("Mcp-Name", headers::encode_header_value(name.to_str()?))?;
            }
        }
    }
    Ok(out)
}

#[pyfunction]
#[pyo3(signature = (input_schema, arguments, headers, *, request_id=None))]
pub fn check_param_headers(
    py: Python<'_>,
    input_schema: &Bound<'_, PyAny>,
    arguments: &Bound<'_, PyAny>,
    headers: &Bound<'_, PyAny>,
    request_id: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    // Non-JSON parts of a schema or arguments cannot declare or match a header: read them as null.
    let schema = py_to_value(input_schema).unwrap_or(Value::Null);
    let arguments = if arguments.is_instance_of::<PyDict>() { py_to_value(arguments).unwrap_or(Value::Null) } else { Value::Null };
    let pairs = header_pairs(headers)?;
    headers::check_param_headers(&schema, &arguments, &pairs).map_err(|r| {
        let err = to_py_err(py, &r);
        if let Some(id) = request_id {
            let _ = err.value(py).setattr("request_id", id);
        }
        err
    })
}

fn check_id(py: Python<'_>, id: &Bound<'_, PyAny>, nullable: bool) -> PyResult<()> {
    let _ = py;
    let ok = (nullable && id.is_none())
        || id.cast_exact::<PyString>().is_ok()
        || (id.cast_exact::<pyo3::types::PyInt>().is_ok() && id.extract::<i64>().is_ok());
    if ok {
        Ok(())
    } else {
        Err(type_error(format!("a JSON-RPC id is an int64 or a str, not {}", id.repr()?)))
    }
}

#[pyfunction]
pub fn encode_response<'py>(py: Python<'py>, request_id: &Bound<'py, PyAny>, result: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    check_id(py, request_id, false)?;
    if result.cast_exact::<PyDict>().is_err() {
        return Err(type_error("a JSON-RPC result is a dict"));
    }
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    write_py(&mut out, request_id, 0)?;
    out.extend_from_slice(b",\"result\":");
    write_py(&mut out, result, 0)?;
    out.push(b'}');
    Ok(PyBytes::new(py, &out))
}

#[pyfunction]
#[pyo3(signature = (request_id, code, message, data=None))]
pub fn encode_error<'py>(
    py: Python<'py>,
    request_id: &Bound<'py, PyAny>,
    code: &Bound<'py, PyAny>,
    message: &Bound<'py, PyAny>,
    data: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    check_id(py, request_id, true)?;
    if code.cast_exact::<pyo3::types::PyInt>().is_err() || message.cast_exact::<PyString>().is_err() {
        return Err(type_error("an error has an int code and a str message"));
    }
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    write_py(&mut out, request_id, 0)?;
    out.extend_from_slice(b",\"error\":{\"code\":");
    write_py(&mut out, code, 0)?;
    out.extend_from_slice(b",\"message\":");
    write_py(&mut out, message, 0)?;
    if let Some(data) = data.filter(|d| !d.is_none()) {
        out.extend_from_slice(b",\"data\":");
        write_py(&mut out, data, 0)?;
    }
    out.extend_from_slice(b"}}");
    Ok(PyBytes::new(py, &out))
}

#[pyfunction]
pub fn http_status(code: i64) -> u16 {
    status_for(code)
}

