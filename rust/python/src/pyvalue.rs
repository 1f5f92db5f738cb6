//! Python objects → the core's `Value` (for checks and signing) and → JSON bytes (responses).

use std::borrow::Cow;

use fastpath_codec::encode::{write_f64, write_str};
use fastpath_codec::Value;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// Deep enough for any real payload, and a guard against cyclic containers.
const MAX_DEPTH: usize = 256;

fn depth_error() -> PyErr {
    PyTypeError::new_err(format!("cannot encode as JSON: nesting deeper than {MAX_DEPTH} levels (or a cycle)"))
}

fn int_value(obj: &Bound<'_, PyAny>) -> PyResult<Value<'static>> {
    if let Ok(i) = obj.extract::<i64>() {
        return Ok(Value::Int(i));
    }
    if let Ok(u) = obj.extract::<u64>() {
        return Ok(Value::UInt(u));
    }
    Err(PyTypeError::new_err("cannot encode as JSON: integer exceeds 64-bit range"))
}

/// A JSON-compatible Python object (dict with str keys, list, tuple, str, int, float, bool, None)
/// as an owned `Value`; anything else is a `TypeError`.
pub fn py_to_value(obj: &Bound<'_, PyAny>) -> PyResult<Value<'static>> {
    to_value(obj, 0)
}

fn to_value(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value<'static>> {
    if depth > MAX_DEPTH {
        return Err(depth_error());
    }
    if obj.is_none() {
        Ok(Value::Null)
    } else if let Ok(b) = obj.cast_exact::<PyBool>() {
        Ok(Value::Bool(b.is_true()))
    } else if let Ok(s) = obj.cast::<PyString>() {
        Ok(Value::Str(Cow::Owned(s.to_str()?.to_owned())))
    } else if obj.is_instance_of::<PyInt>() {
        int_value(obj)
    } else if let Ok(f) = obj.cast::<PyFloat>() {
        let f = f.value();
        if !f.is_finite() {
            return Err(PyTypeError::new_err("cannot encode as JSON: non-finite float"));
        }
        Ok(Value::Float(f))
    } else if let Ok(d) = obj.cast::<PyDict>() {
        let mut members = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = k.cast::<PyString>().map_err(|_| PyTypeError::new_err("cannot encode as JSON: dict key must be str"))?;
            members.push((Cow::Owned(key.to_str()?.to_owned()), to_value(&v, depth + 1)?));
        }
        Ok(Value::Object(members))
    } else if let Ok(l) = obj.cast::<PyList>() {
        l.iter().map(|item| to_value(&item, depth + 1)).collect::<PyResult<_>>().map(Value::Array)
    } else if let Ok(t) = obj.cast::<PyTuple>() {
        t.iter().map(|item| to_value(&item, depth + 1)).collect::<PyResult<_>>().map(Value::Array)
    } else {
        Err(PyTypeError::new_err(format!("cannot encode as JSON: type {} is not JSON-serializable", obj.get_type().name()?)))
    }
}

/// Append a JSON-compatible Python object as compact JSON (orjson's layout).
pub fn write_py(out: &mut Vec<u8>, obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<()> {
    if depth > MAX_DEPTH {
        return Err(depth_error());
    }
    if obj.is_none() {
        out.extend_from_slice(b"null");
    } else if let Ok(s) = obj.cast::<PyString>() {
        write_str(out, s.to_str()?);
    } else if let Ok(b) = obj.cast_exact::<PyBool>() {
        out.extend_from_slice(if b.is_true() { b"true" } else { b"false" });
    } else if obj.is_instance_of::<PyInt>() {
        match int_value(obj)? {
            Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
            Value::UInt(u) => out.extend_from_slice(u.to_string().as_bytes()),
            _ => unreachable!(),
        }
    } else if let Ok(f) = obj.cast::<PyFloat>() {
        let f = f.value();
        // orjson's reading (and the pure twin's): JSON has no NaN or Infinity.
        if f.is_finite() {
            write_f64(out, f);
        } else {
            out.extend_from_slice(b"null");
        }
    } else if let Ok(d) = obj.cast::<PyDict>() {
        out.push(b'{');
        for (i, (k, v)) in d.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let key = k.cast::<PyString>().map_err(|_| PyTypeError::new_err("cannot encode as JSON: dict key must be str"))?;
            write_str(out, key.to_str()?);
            out.push(b':');
            write_py(out, &v, depth + 1)?;
        }
        out.push(b'}');
    } else if let Ok(l) = obj.cast::<PyList>() {
        write_seq(out, l.iter(), depth)?;
    } else if let Ok(t) = obj.cast::<PyTuple>() {
        write_seq(out, t.iter(), depth)?;
    } else {
        return Err(PyTypeError::new_err(format!(
            "cannot encode as JSON: type {} is not JSON-serializable",
            obj.get_type().name()?
        )));
    }
    Ok(())
}

fn write_seq<'py>(out: &mut Vec<u8>, items: impl Iterator<Item = Bound<'py, PyAny>>, depth: usize) -> PyResult<()> {
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_py(out, &item, depth + 1)?;
    }
    out.push(b']');
    Ok(())
}
