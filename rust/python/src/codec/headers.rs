//! Header lines from Python, and the header functions: `encode_header_value`,
//! `decode_header_value`, `request_headers`, `check_param_headers`. Twin of
//! `mcp_fastpath._pure.headers`; every rule is `fastpath_codec::headers`.
//!
//! Headers come as a mapping (its `.items()`) or an iterable of `(name, value)` pairs, each part
//! `str`, `bytes` or `bytearray` (ASGI: a list of `(bytes, bytes)`). A `str` must be valid
//! Unicode: no HTTP server produces a lone surrogate, and it has no UTF-8 form to compare.

use std::borrow::Cow;

use fastpath_codec::headers::{self, HeaderLines, HeaderText, RoutingHeader, RoutingHeaders};
use fastpath_codec::ladder::PROTOCOL_VERSION_KEY;
use fastpath_codec::Value;
use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::errors::{type_error, Rejected};
use crate::from_python::{to_value, Reading};

const NOT_TEXT: &str = "header names and values must be str or bytes";
const NOT_UNICODE: &str = "header names and values must be valid Unicode (no lone surrogates)";

/// Schemas and arguments as `check_param_headers` reads them: what JSON cannot hold (or nests
/// absurdly deep) becomes a value no header can match, as the pure twin's rules treat it.
const PARAM_READING: Reading = Reading {
    max_depth: 1000,
    stop_when_too_deep: false,
    wide_int_as_max: false,
};

/// A header value given as `str`: its UTF-8.
fn header_str<'a>(s: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    s.to_str().map_err(|_| type_error(NOT_UNICODE))
}

fn str_arg<'a>(value: &'a Bound<'_, PyAny>) -> PyResult<&'a Bound<'a, PyString>> {
    value.cast::<PyString>().map_err(|_| {
        type_error(format!(
            "header values are str, not {}",
            value
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })
}

/// One header name or value as the core's [`HeaderText`], handed to `f`.
fn with_header_text<R>(obj: &Bound<'_, PyAny>, f: impl FnOnce(HeaderText<'_>) -> R) -> PyResult<R> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(f(HeaderText::Text(header_str(s)?)));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(f(HeaderText::Latin1(b.as_bytes())));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(f(HeaderText::Latin1(&b.to_vec())));
    }
    Err(type_error(NOT_TEXT))
}

/// Visit each header line, without copying anything the visitor does not keep.
fn for_each_header(
    headers: &Bound<'_, PyAny>,
    mut visit: impl FnMut(&Bound<'_, PyAny>, &Bound<'_, PyAny>) -> PyResult<()>,
) -> PyResult<()> {
    let mut visit_item = |item: Bound<'_, PyAny>| -> PyResult<()> {
        // A line is a `(name, value)` pair: a tuple, or a list as ASGI also allows; never a
        // two-character `str` or any other iterable of two.
        let pair: Vec<Bound<'_, PyAny>> = if let Ok(tuple) = item.cast::<PyTuple>() {
            tuple.iter().collect()
        } else if let Ok(list) = item.cast::<PyList>() {
            list.iter().collect()
        } else {
            return Err(type_error(format!(
                "header lines are (name, value) pairs, not {}",
                item.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            )));
        };
        if pair.len() != 2 {
            return Err(PyValueError::new_err(format!(
                "header lines are (name, value) pairs, not {} items",
                pair.len()
            )));
        }
        visit(&pair[0], &pair[1])
    };
    if let Ok(list) = headers.cast::<PyList>() {
        return list.iter().try_for_each(&mut visit_item);
    }
    if let Ok(tuple) = headers.cast::<PyTuple>() {
        return tuple.iter().try_for_each(&mut visit_item);
    }
    let items = if headers.hasattr("items")? {
        headers.call_method0("items")?
    } else {
        headers.clone()
    };
    for item in items.try_iter()? {
        visit_item(item?)?;
    }
    Ok(())
}

/// Every line as `(lowercase name, value)`.
pub fn header_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let mut lines = HeaderLines::default();
    for_each_header(headers, |name, value| {
        with_header_text(name, |name| {
            with_header_text(value, |value| lines.push(name, value))
        })?
    })?;
    Ok(lines.0)
}

/// The routing headers; other lines are only checked (type, and Unicode for `str`).
pub fn routing_headers<'h>(headers: &'h Bound<'_, PyAny>) -> PyResult<RoutingHeaders<'h>> {
    if let Some(routing) = asgi_routing_headers(headers) {
        return Ok(routing);
    }
    let mut routing = RoutingHeaders::default();
    for_each_header(headers, |name, value| {
        match with_header_text(name, |name| RoutingHeader::from_name(name.as_bytes()))? {
            Some(header) => with_header_text(value, |value| {
                routing.set(header, Cow::Owned(value.to_text().into_owned()))
            }),
            None if value.is_instance_of::<PyBytes>() => Ok(()),
            None => with_header_text(value, |_| ()),
        }
    })?;
    Ok(routing)
}

/// The routing headers of an ASGI header list (a list or tuple of `(bytes, bytes)`), read through
/// borrowed references; `None` when `headers` has any other shape (the generic path then reads
/// it, raising what the pure twin raises).
fn asgi_routing_headers<'h>(headers: &'h Bound<'_, PyAny>) -> Option<RoutingHeaders<'h>> {
    let ptr = headers.as_ptr();
    // SAFETY: the GIL is held (`headers` is bound); every object touched is borrowed from
    // `headers` and type-checked before use. The values stay borrowed for `'h`: the caller reads
    // them in the ladder (plain Rust, no Python code runs that could change the list) and lets
    // them go before it builds any Python object.
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
            let pair = if is_list {
                ffi::PyList_GetItem(ptr, i)
            } else {
                ffi::PyTuple_GetItem(ptr, i)
            };
            if pair.is_null() || ffi::PyTuple_Check(pair) == 0 || ffi::PyTuple_Size(pair) != 2 {
                ffi::PyErr_Clear();
                return None;
            }
            let (name, value) = (ffi::PyTuple_GetItem(pair, 0), ffi::PyTuple_GetItem(pair, 1));
            if ffi::PyBytes_Check(name) == 0 || ffi::PyBytes_Check(value) == 0 {
                return None;
            }
            if let Some(header) = RoutingHeader::from_name(bytes_of(name)) {
                // Borrowed from the `bytes` object, which `headers` keeps alive.
                routing.set(header, HeaderText::Latin1(bytes_of(value)).to_text());
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

#[pyfunction]
pub fn encode_header_value(value: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(headers::encode_header_value(header_str(str_arg(value)?)?))
}

#[pyfunction]
pub fn decode_header_value(value: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if value.is_none() {
        return Ok(None);
    }
    Ok(headers::decode_header_value(header_str(str_arg(value)?)?))
}

/// `mapping.get(key)` of a dict, or of any other mapping (`None` for anything else).
fn get<'py>(mapping: &Bound<'py, PyAny>, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    if let Ok(d) = mapping.cast::<PyDict>() {
        return d.get_item(key);
    }
    if mapping.cast::<pyo3::types::PyMapping>().is_ok() {
        let item = mapping.call_method1("get", (key,))?;
        return Ok((!item.is_none()).then_some(item));
    }
    Ok(None)
}

#[pyfunction]
pub fn request_headers<'py>(
    py: Python<'py>,
    method: &Bound<'py, PyAny>,
    params: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let method = method
        .cast::<PyString>()
        .map_err(|_| type_error("method must be a str"))?;
    let method = header_str(method)?;
    let meta = get(params, "_meta")?;
    let version = match &meta {
        Some(meta) => get(meta, PROTOCOL_VERSION_KEY)?,
        None => None,
    };
    let version = match version.as_ref().map(|v| v.cast::<PyString>()) {
        Some(Ok(version)) => Some(header_str(version)?),
        _ => None,
    };
    let mut name_error = None;
    let lines = headers::request_headers(method, version, |key| {
        let name = match get(params, key) {
            Ok(name) => name?,
            Err(err) => {
                name_error = Some(err);
                return None;
            }
        };
        let name = name.cast::<PyString>().ok()?;
        match header_str(name) {
            Ok(text) => Some(Cow::Owned(text.to_owned())),
            Err(err) => {
                name_error = Some(err);
                None
            }
        }
    })
    .map_err(|why| PyValueError::new_err(why.to_string()))?;
    if let Some(err) = name_error {
        return Err(err);
    }
    let out = PyDict::new(py);
    for (name, value) in lines {
        out.set_item(name, value)?;
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
    let read = |obj: &Bound<'_, PyAny>| match to_value(obj, &PARAM_READING) {
        Ok(converted) => converted.value,
        Err(_) => Value::Null, // not reached: this reading does not stop
    };
    let schema = read(input_schema);
    let arguments = if arguments.is_instance_of::<PyDict>() {
        read(arguments)
    } else {
        Value::Null
    };
    let lines = header_pairs(headers)?;
    headers::check_param_headers(&schema, &arguments, &lines).map_err(|rejection| {
        let err = PyErr::from(Rejected(rejection));
        if let Some(id) = request_id {
            let _ = err.value(py).setattr("request_id", id);
        }
        err
    })
}
