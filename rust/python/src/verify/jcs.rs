//! Binds RFC 8785 canonical JSON: `canonicalize` and `signing_bytes`, and the conversion of Python
//! objects into core `Value` trees that the envelope signer and verifier and `sign_jwt` share
//! (read the way the pure JCS writer, or `orjson.dumps`, reads them). Twin of
//! `mcp_fastpath._pure.jcs`; the canonical form itself is `fastpath_verify::jcs`.

use std::borrow::Cow;

use fastpath_codec::Value;
use fastpath_verify::envelope as core_envelope;
use fastpath_verify::errors::msg;
use fastpath_verify::jcs;
use pyo3::exceptions::{PyRecursionError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::{cached_attr, type_name, unauthenticated, CHALLENGE};

/// Pure `_write` recurses once per level; Python's default recursion limit stops it near here.
const MAX_JCS_DEPTH: usize = 1000;
/// orjson's "Recursion limit reached".
const MAX_ORJSON_DEPTH: usize = 254;

static ORJSON_ERROR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

// ---- Python objects → Value ----------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// As the pure JCS writer reads a message: an integer beyond 64 bits becomes an out-of-range
    /// `UInt` (refused by JCS with the same "integer beyond" reason), NaN/±inf stay floats (refused
    /// as "non-finite"), a lone surrogate or a non-JSON object is reported after the core ran.
    Jcs,
    /// As `orjson.dumps` reads a value (`sign_jwt`): what orjson refuses is reported after the core ran.
    Orjson,
}

/// An issue found while converting that the pure twin reports later than the point of conversion.
enum Deferred {
    /// A Python exception to raise (a non-JSON object, a non-str key; orjson's refusals).
    Error(PyErr),
    /// A string that is not valid Unicode (a lone surrogate): "message is not I-JSON: …".
    BadUnicode,
}

pub(super) struct Converter {
    mode: Mode,
    deferred: Option<Deferred>,
}

impl Converter {
    pub(super) fn new(mode: Mode) -> Self {
        Converter {
            mode,
            deferred: None,
        }
    }

    fn defer(&mut self, issue: Deferred) {
        if self.deferred.is_none() {
            self.deferred = Some(issue);
        }
    }

    fn orjson_error(&mut self, py: Python<'_>, message: String) {
        let err = match cached_attr(py, &ORJSON_ERROR, "orjson", "JSONEncodeError")
            .and_then(|class| class.call1((message,)))
        {
            Ok(instance) => PyErr::from_value(instance),
            Err(err) => err,
        };
        self.defer(Deferred::Error(err));
    }

    fn text(&mut self, py: Python<'_>, s: &Bound<'_, PyString>) -> String {
        match s.to_str() {
            Ok(text) => text.to_owned(),
            Err(_) => {
                match self.mode {
                    Mode::Jcs => self.defer(Deferred::BadUnicode),
                    Mode::Orjson => self.orjson_error(
                        py,
                        "str is not valid UTF-8: surrogates not allowed".to_owned(),
                    ),
                }
                s.to_string_lossy().into_owned()
            }
        }
    }

    pub(super) fn value(
        &mut self,
        obj: &Bound<'_, PyAny>,
        depth: usize,
    ) -> PyResult<Value<'static>> {
        let py = obj.py();
        match self.mode {
            Mode::Jcs if depth > MAX_JCS_DEPTH => {
                return Err(PyRecursionError::new_err(
                    "maximum recursion depth exceeded while canonicalizing",
                ))
            }
            Mode::Orjson if depth > MAX_ORJSON_DEPTH => {
                self.orjson_error(py, "Recursion limit reached".to_owned());
                return Ok(Value::Null);
            }
            _ => {}
        }
        if obj.is_none() {
            return Ok(Value::Null);
        }
        if let Ok(b) = obj.cast_exact::<PyBool>() {
            return Ok(Value::Bool(b.is_true()));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Value::Str(Cow::Owned(self.text(py, s))));
        }
        if obj.is_instance_of::<PyInt>() {
            if let Ok(i) = obj.extract::<i64>() {
                return Ok(Value::Int(i));
            }
            if let Ok(u) = obj.extract::<u64>() {
                return Ok(Value::UInt(u));
            }
            return Ok(match self.mode {
                // Beyond ±(2^53 − 1) anyway: JCS refuses it as "integer beyond …".
                Mode::Jcs => Value::UInt(u64::MAX),
                Mode::Orjson => {
                    self.orjson_error(py, "Integer exceeds 64-bit range".to_owned());
                    Value::Null
                }
            });
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            return Ok(Value::Float(f.value()));
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            let mut members = Vec::with_capacity(d.len());
            for (k, v) in d.iter() {
                let Ok(key) = k.cast::<PyString>() else {
                    match self.mode {
                        Mode::Jcs => self.defer(Deferred::Error(PyTypeError::new_err(format!(
                            "JSON object keys are str, not {}",
                            type_name(&k)
                        )))),
                        Mode::Orjson => self.orjson_error(py, "Dict key must be str".to_owned()),
                    }
                    continue;
                };
                let key = self.text(py, key);
                members.push((Cow::Owned(key), self.value(&v, depth + 1)?));
            }
            return Ok(Value::Object(members));
        }
        if let Ok(l) = obj.cast::<PyList>() {
            return l
                .iter()
                .map(|item| self.value(&item, depth + 1))
                .collect::<PyResult<_>>()
                .map(Value::Array);
        }
        if let Ok(t) = obj.cast::<PyTuple>() {
            return t
                .iter()
                .map(|item| self.value(&item, depth + 1))
                .collect::<PyResult<_>>()
                .map(Value::Array);
        }
        match self.mode {
            Mode::Jcs => self.defer(Deferred::Error(PyTypeError::new_err(format!(
                "{} is not a JSON value",
                type_name(obj)
            )))),
            Mode::Orjson => self.orjson_error(
                py,
                format!("Type is not JSON serializable: {}", type_name(obj)),
            ),
        }
        Ok(Value::Null)
    }

    /// The deferred issue as the exception the pure twin raises, if any.
    pub(super) fn take_error(&mut self, py: Python<'_>) -> Option<PyErr> {
        self.deferred.take().map(|issue| match issue {
            Deferred::Error(err) => err,
            Deferred::BadUnicode => unauthenticated(
                py,
                "message is not I-JSON: string is not valid Unicode",
                CHALLENGE,
                None,
            ),
        })
    }
}

fn not_i_json(py: Python<'_>, why: jcs::NotIJson) -> PyErr {
    unauthenticated(py, &format!("{}: {why}", msg::NOT_I_JSON), CHALLENGE, None)
}

/// `obj` as the pure JCS writer reads it, its deferred issue (if any) raised at once.
fn jcs_value(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Value<'static>> {
    let mut converter = Converter::new(Mode::Jcs);
    let value = converter.value(obj, 0)?;
    match converter.take_error(py) {
        Some(err) => Err(err),
        None => Ok(value),
    }
}

/// The RFC 8785 canonical form of a JSON value.
#[pyfunction]
pub fn canonicalize<'py>(
    py: Python<'py>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let value = jcs_value(py, value)?;
    let bytes = jcs::canonicalize(&value).map_err(|why| not_i_json(py, why))?;
    Ok(PyBytes::new(py, &bytes))
}

/// `b"mcp-fastpath/sig/v1\n" + JCS(message)` without the envelope's own `sig` member.
#[pyfunction]
pub fn signing_bytes<'py>(
    py: Python<'py>,
    message: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    if message.cast::<PyDict>().is_err() {
        return Err(PyTypeError::new_err(format!(
            "a message is a dict, not {}",
            type_name(message)
        )));
    }
    let value = jcs_value(py, message)?;
    let bytes = core_envelope::signed_bytes(&value).map_err(|why| not_i_json(py, why))?;
    Ok(PyBytes::new(py, &bytes))
}
