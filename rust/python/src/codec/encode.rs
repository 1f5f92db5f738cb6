//! Response encoding: `encode_response`, `encode_error`, `http_status`. Twin of
//! `mcp_fastpath._pure.encode`; the message layout is `fastpath_codec::encode`.
//!
//! Python values are written straight to JSON (no intermediate tree), refusing exactly what
//! `orjson.dumps` refuses, with orjson's reasons, as a `TypeError` (orjson's `JSONEncodeError` is
//! one): so a caller that falls back on `TypeError` (the SDK adapter does) behaves alike on both
//! backends.

use std::fmt::Display;

use fastpath_codec::encode::{
    self, write_f64, write_str, ERROR_DATA_DEPTH, MAX_DEPTH, RESULT_DEPTH,
};
use fastpath_codec::rejection::http_status as status_for;
use fastpath_codec::{RequestId, Value};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::errors::type_error;

fn refused(reason: impl Display) -> PyErr {
    type_error(format!("cannot encode as JSON: {reason}"))
}

/// A JSON-RPC id as given: an `int` in int64 range or a `str` (exact types, as the pure twin
/// checks); `None` only where `nullable`. Its text is read when it is written (`to_id`), so a
/// refusal comes in the order the pure twin (orjson) gives it.
enum IdArg<'a, 'py> {
    Null,
    Int(i64),
    Str(&'a Bound<'py, PyString>),
}

fn read_id<'a, 'py>(id: &'a Bound<'py, PyAny>, nullable: bool) -> PyResult<IdArg<'a, 'py>> {
    if nullable && id.is_none() {
        return Ok(IdArg::Null);
    }
    if let Ok(s) = id.cast_exact::<PyString>() {
        return Ok(IdArg::Str(s));
    }
    if id.cast_exact::<PyInt>().is_ok() {
        if let Ok(i) = id.extract::<i64>() {
            return Ok(IdArg::Int(i));
        }
    }
    Err(type_error(format!(
        "a JSON-RPC id is an int64 or a str, not {}",
        id.repr()?
    )))
}

fn to_id(id: IdArg<'_, '_>) -> PyResult<Option<RequestId>> {
    Ok(match id {
        IdArg::Null => None,
        IdArg::Int(i) => Some(RequestId::Int(i)),
        IdArg::Str(s) => Some(RequestId::Str(utf8(s)?.to_owned())),
    })
}

#[pyfunction]
pub fn encode_response<'py>(
    py: Python<'py>,
    request_id: &Bound<'py, PyAny>,
    result: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let id = read_id(request_id, false)?;
    if result.cast_exact::<PyDict>().is_err() {
        return Err(type_error("a JSON-RPC result is a dict"));
    }
    let id = to_id(id)?.expect("not nullable");
    let out = encode::response(&id, |out| write_json(out, result, RESULT_DEPTH))?;
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
    let id = read_id(request_id, true)?;
    let (Ok(_), Ok(message)) = (code.cast_exact::<PyInt>(), message.cast_exact::<PyString>())
    else {
        return Err(type_error("an error has an int code and a str message"));
    };
    let id = to_id(id)?;
    let code = int_value(code)?;
    let message = utf8(message)?;
    let data = data.filter(|d| !d.is_none());
    let write_data = data.map(|d| move |out: &mut Vec<u8>| write_json(out, d, ERROR_DATA_DEPTH));
    let out = encode::error(id.as_ref(), &code, message, write_data)?;
    Ok(PyBytes::new(py, &out))
}

/// A JSON value on its own (not in a message) as compact JSON bytes, as `orjson.dumps` writes it.
pub fn json_bytes<'py>(
    py: Python<'py>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(64);
    write_json(&mut out, value, 0)?;
    Ok(PyBytes::new(py, &out))
}

#[pyfunction]
pub fn http_status(code: i64) -> u16 {
    status_for(code)
}

// ---- Python objects → JSON bytes -----------------------------------------------------------

/// The UTF-8 of a `str`; a lone surrogate has none.
fn utf8<'a>(s: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    s.to_str()
        .map_err(|_| refused("str is not valid UTF-8: surrogates not allowed"))
}

fn int_value(obj: &Bound<'_, PyAny>) -> PyResult<Value<'static>> {
    if let Ok(i) = obj.extract::<i64>() {
        return Ok(Value::Int(i));
    }
    if let Ok(u) = obj.extract::<u64>() {
        return Ok(Value::UInt(u));
    }
    Err(refused("Integer exceeds 64-bit range"))
}

/// A container may open at `depth` (this is also what ends a cycle).
fn enter(depth: usize) -> PyResult<()> {
    if depth >= MAX_DEPTH {
        return Err(refused("Recursion limit reached"));
    }
    Ok(())
}

/// Append a JSON-compatible Python object as compact JSON (orjson's layout), `depth` being the
/// number of containers around it (the message's own object counts).
fn write_json(out: &mut Vec<u8>, obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<()> {
    if obj.is_none() {
        out.extend_from_slice(b"null");
    } else if let Ok(s) = obj.cast::<PyString>() {
        write_str(out, utf8(s)?);
    } else if let Ok(b) = obj.cast_exact::<PyBool>() {
        out.extend_from_slice(if b.is_true() { b"true" } else { b"false" });
    } else if obj.is_instance_of::<PyInt>() {
        encode::write_value(out, &int_value(obj)?);
    } else if let Ok(f) = obj.cast::<PyFloat>() {
        let f = f.value();
        // orjson's reading (and the pure twin's): JSON has no NaN or Infinity.
        if f.is_finite() {
            write_f64(out, f);
        } else {
            out.extend_from_slice(b"null");
        }
    } else if let Ok(d) = obj.cast::<PyDict>() {
        enter(depth)?;
        out.push(b'{');
        for (i, (k, v)) in d.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let key = k
                .cast::<PyString>()
                .map_err(|_| refused("Dict key must be str"))?;
            write_str(out, utf8(key)?);
            out.push(b':');
            write_json(out, &v, depth + 1)?;
        }
        out.push(b'}');
    } else if let Ok(l) = obj.cast::<PyList>() {
        enter(depth)?;
        write_items(out, l.iter(), depth)?;
    } else if let Ok(t) = obj.cast::<PyTuple>() {
        enter(depth)?;
        write_items(out, t.iter(), depth)?;
    } else {
        return Err(refused(format_args!(
            "Type is not JSON serializable: {}",
            obj.get_type().name()?
        )));
    }
    Ok(())
}

fn write_items<'py>(
    out: &mut Vec<u8>,
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    depth: usize,
) -> PyResult<()> {
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json(out, &item, depth + 1)?;
    }
    out.push(b']');
    Ok(())
}
