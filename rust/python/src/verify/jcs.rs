//! Binds RFC 8785 canonical JSON: `canonicalize` and `signing_bytes`, and the conversion of Python
//! objects into core `Value` trees that the envelope signer and verifier and `sign_jwt` share
//! (read the way the pure JCS writer, or `orjson.dumps`, reads them). Twin of
//! `mcp_fastpath._pure.jcs`; the canonical form itself is `fastpath_verify::jcs`.

use std::borrow::Cow;

use fastpath_codec::Value;
use fastpath_verify::envelope as core_envelope;
use fastpath_verify::jcs;
use fastpath_verify::VerifyError;
use pyo3::exceptions::{PyRecursionError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::{cached_attr, type_name, verify_error};
use crate::from_python::{to_value, Reading, Unconvertible};

/// Pure `_write` recurses once per level; Python's default recursion limit stops it near here.
const MAX_JCS_DEPTH: usize = 1000;
/// orjson's "Recursion limit reached".
const MAX_ORJSON_DEPTH: usize = 254;

/// What an unreadable key (not a str, or not Unicode) stands as in the tree.
const UNREADABLE_KEY: &str = "\u{fffd}";

/// Why a string could not be read: the I-JSON reason of the pure twin.
const NOT_UNICODE: &str = "string is not valid Unicode";

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

    /// The text of a str, or `None` (the issue deferred) when it holds a lone surrogate.
    fn text(&mut self, py: Python<'_>, s: &Bound<'_, PyString>) -> Option<String> {
        match s.to_str() {
            Ok(text) => Some(text.to_owned()),
            Err(_) => {
                match self.mode {
                    Mode::Jcs => self.defer(Deferred::BadUnicode),
                    Mode::Orjson => self.orjson_error(
                        py,
                        "str is not valid UTF-8: surrogates not allowed".to_owned(),
                    ),
                }
                None
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
            // A str that is not Unicode stands as `null` in the tree: the issue is reported before
            // the tree is used, except by the envelope's shape check, where it is not a string.
            return Ok(self
                .text(py, s)
                .map_or(Value::Null, |text| Value::Str(Cow::Owned(text))));
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
                // A key that is not a str, or not Unicode, is deferred and stands as U+FFFD (no
                // member name the checks look for); its value is still read, in document order.
                let key = match k.cast::<PyString>() {
                    Ok(key) => self.text(py, key),
                    Err(_) => {
                        match self.mode {
                            Mode::Jcs => self.defer(Deferred::Error(PyTypeError::new_err(
                                format!("JSON object keys are str, not {}", type_name(&k)),
                            ))),
                            Mode::Orjson => {
                                self.orjson_error(py, "Dict key must be str".to_owned())
                            }
                        }
                        None
                    }
                };
                let key = key.map_or(Cow::Borrowed(UNREADABLE_KEY), Cow::Owned);
                members.push((key, self.value(&v, depth + 1)?));
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
            Deferred::BadUnicode => verify_error(py, &VerifyError::not_i_json(NOT_UNICODE), None),
        })
    }
}

fn not_i_json(py: Python<'_>, why: jcs::NotIJson) -> PyErr {
    verify_error(py, &VerifyError::not_i_json(why), None)
}

/// How the pure JCS writer reads a value: an integer beyond 64 bits is beyond ±(2^53 − 1) anyway
/// (the core refuses it as "integer beyond …"), too deep a nesting is the recursion error the
/// pure writer's recursion meets.
const JCS_READING: Reading = Reading {
    max_depth: MAX_JCS_DEPTH,
    stop_when_too_deep: true,
    wide_int_as_max: true,
};

/// `obj` as the pure JCS writer reads it, the first issue (if any) raised at once.
fn jcs_value(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Value<'static>> {
    let converted = to_value(obj, &JCS_READING).map_err(|_too_deep| {
        PyRecursionError::new_err("maximum recursion depth exceeded while canonicalizing")
    })?;
    match converted.issue {
        None => Ok(converted.value),
        Some(Unconvertible::NotUnicode) => Err(verify_error(
            py,
            &VerifyError::not_i_json(NOT_UNICODE),
            None,
        )),
        Some(Unconvertible::NotJson(name)) => {
            Err(PyTypeError::new_err(format!("{name} is not a JSON value")))
        }
        Some(Unconvertible::KeyNotStr(name)) => Err(PyTypeError::new_err(format!(
            "JSON object keys are str, not {name}"
        ))),
        Some(Unconvertible::TooDeep | Unconvertible::IntBeyond64Bits) => {
            unreachable!("this reading stops when too deep and reads wide integers as u64::MAX")
        }
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
