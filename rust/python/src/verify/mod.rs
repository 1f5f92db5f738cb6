//! The verification classes, twins of `mcp_fastpath._pure.{b64url,jcs,keys,jwk,envelope,jwt,policy,gate}`.
//!
//! Thin, like pyca/cryptography's bindings over its Rust crates: arguments become core types
//! (`fastpath_verify`), the core decides (checks, their order, messages, the token cache, the
//! policy, bearer extraction, JWK reading), results become Python objects. What stays here is
//! reading Python arguments the way the pure twin reads them (their `TypeError`/`ValueError`s),
//! building the result objects, and [`verify_error`], the one place a core refusal becomes a
//! Python exception.
//!
//! One submodule per pure module; this file holds what several share: the error mapping, the
//! `now=` argument (the core's [`Clock`]), small argument and result helpers, the registration.

mod b64url;
mod envelope;
mod gate;
mod jcs;
mod jwk;
mod jwt;
mod keyring;
mod keys;
mod policy;

use std::borrow::Cow;

use fastpath_verify::{Clock, ErrorKind, Failure, VerifyError};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pyclass::boolean_struct::True;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString, PyTuple};
use pyo3::PyClass;

use crate::errors::error_class;

const NOW_TYPE: &str = "now is a finite number of seconds since the Unix epoch";

// ---- Errors --------------------------------------------------------------------------------------

/// A core refusal as the shared class of `mcp_fastpath.errors`: `InvalidKey(message)`, or
/// `Unauthenticated` / `Forbidden` / `Replayed` with the kind's code, the message, the check's
/// `WWW-Authenticate` challenge and the request id when known.
fn verify_error(py: Python<'_>, err: &VerifyError, request_id: Option<&Bound<'_, PyAny>>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let class_name = match err.kind() {
            ErrorKind::InvalidKey => {
                let class = error_class(py, "InvalidKey")?;
                return Ok(PyErr::from_value(class.call1((err.message(),))?));
            }
            ErrorKind::Unauthenticated => "Unauthenticated",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::Replayed => "Replayed",
        };
        let headers = PyDict::new(py);
        headers.set_item("WWW-Authenticate", err.challenge().header_value())?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("headers", headers)?;
        if let Some(id) = request_id {
            kwargs.set_item("request_id", id)?;
        }
        let code = err.code().expect("a protocol error has a code");
        let instance = error_class(py, class_name)?.call((code, err.message()), Some(&kwargs))?;
        Ok(PyErr::from_value(instance))
    };
    build().unwrap_or_else(|failed| failed)
}

/// A refusal, or the error of reading `now=` (raised as it is).
fn failure_error(
    py: Python<'_>,
    failure: Failure<PyErr>,
    request_id: Option<&Bound<'_, PyAny>>,
) -> PyErr {
    match failure {
        Failure::Refused(err) => verify_error(py, &err, request_id),
        Failure::Clock(err) => err,
    }
}

/// `InvalidKey(message)`, for an argument the binding refuses before the core sees it.
fn invalid_key(py: Python<'_>, message: impl Into<Cow<'static, str>>) -> PyErr {
    verify_error(py, &VerifyError::invalid_key(message), None)
}

// ---- Small Python helpers ------------------------------------------------------------------------

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_owned())
}

fn py_repr(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(obj.repr()?.to_str()?.to_owned())
}

fn str_repr(py: Python<'_>, s: &str) -> PyResult<String> {
    py_repr(PyString::new(py, s).as_any())
}

fn opt_str_repr(py: Python<'_>, s: Option<&str>) -> PyResult<String> {
    match s {
        Some(s) => str_repr(py, s),
        None => Ok("None".to_owned()),
    }
}

static OS_URANDOM: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static TIME_TIME: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static TIME_TIME_NS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn cached_attr<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    module: &str,
    name: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let value = cell.get_or_try_init(py, || py.import(module)?.getattr(name).map(Bound::unbind))?;
    Ok(value.bind(py).clone())
}

/// `os.urandom(n)`.
fn urandom<'py>(py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyBytes>> {
    Ok(cached_attr(py, &OS_URANDOM, "os", "urandom")?
        .call1((n,))?
        .cast_into::<PyBytes>()?)
}

/// `bytes(obj)`, borrowing when `obj` already is `bytes`.
fn bytes_of<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    let converted = obj.py().get_type::<PyBytes>().call1((obj,))?;
    Ok(Cow::Owned(converted.cast::<PyBytes>()?.as_bytes().to_vec()))
}

fn truthy(obj: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
    obj.map_or(Ok(false), |o| o.is_truthy())
}

/// The text of a (plain, encodable) `str`, else `None`.
fn str_of<'a>(obj: &'a Bound<'_, PyAny>) -> Option<&'a str> {
    obj.cast::<PyString>().ok().and_then(|s| s.to_str().ok())
}

/// An argument whose pure default is not `None`: omitted, or given (an explicit `None` included,
/// which the pure twin reads as a value, not as "use the default").
pub enum Arg<'py> {
    Omitted,
    Given(Bound<'py, PyAny>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Arg<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(Arg::Given(obj.to_owned()))
    }
}

impl<'py> Arg<'py> {
    /// The given object, or the int `default` when omitted.
    fn or_int(self, py: Python<'py>, default: i64) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Arg::Given(given) => Ok(given),
            Arg::Omitted => Ok(default.into_pyobject(py)?.into_any()),
        }
    }
}

/// A non-negative, finite number of seconds (`max_skew_s`, `leeway_s`); `ValueError` otherwise
/// (`OverflowError` for an int too large for a float, as `math.isfinite` raises).
fn seconds_option(value: &Bound<'_, PyAny>, message: &str) -> PyResult<f64> {
    let seconds = if value.is_instance_of::<PyBool>() {
        None
    } else if let Ok(f) = value.cast::<PyFloat>() {
        Some(f.value())
    } else if value.is_instance_of::<PyInt>() {
        Some(value.extract::<f64>()?)
    } else {
        None
    };
    match seconds {
        Some(s) if s.is_finite() && s >= 0.0 => Ok(s),
        _ => Err(PyValueError::new_err(message.to_owned())),
    }
}

// ---- Time ----------------------------------------------------------------------------------------

/// The `now=` argument as the core's [`Clock`]: the wall clock, or Unix seconds given by the
/// caller, checked when the core reads it (a bad one is a `TypeError` at that step).
enum Now<'a, 'py> {
    Wall(Python<'py>),
    Given(&'a Bound<'py, PyAny>),
}

impl<'a, 'py> Now<'a, 'py> {
    fn new(py: Python<'py>, now: Option<&'a Bound<'py, PyAny>>) -> Self {
        match now.filter(|n| !n.is_none()) {
            Some(n) => Now::Given(n),
            None => Now::Wall(py),
        }
    }

    /// `float(now)` after the pure twin's check (`TypeError`; `OverflowError` for an int too large
    /// for a float, as `math.isfinite` raises).
    fn checked(given: &Bound<'_, PyAny>) -> PyResult<f64> {
        if given.is_instance_of::<PyBool>() {
            return Err(PyTypeError::new_err(NOW_TYPE));
        }
        if let Ok(f) = given.cast::<PyFloat>() {
            let x = f.value();
            return if x.is_finite() {
                Ok(x)
            } else {
                Err(PyTypeError::new_err(NOW_TYPE))
            };
        }
        if given.is_instance_of::<PyInt>() {
            return given.extract::<f64>();
        }
        Err(PyTypeError::new_err(NOW_TYPE))
    }
}

impl Clock for Now<'_, '_> {
    type Error = PyErr;

    /// `time.time()` when not given.
    fn unix_seconds(&mut self) -> PyResult<f64> {
        match self {
            Now::Wall(py) => cached_attr(*py, &TIME_TIME, "time", "time")?
                .call0()?
                .extract(),
            Now::Given(given) => Now::checked(given),
        }
    }

    /// `floor(now × 1000)` (`time.time_ns() // 10**6` when not given), saturated to `i64`.
    fn unix_millis(&mut self) -> PyResult<i64> {
        match self {
            Now::Wall(py) => {
                let ns: i128 = cached_attr(*py, &TIME_TIME_NS, "time", "time_ns")?
                    .call0()?
                    .extract()?;
                Ok(i64::try_from(ns.div_euclid(1_000_000)).unwrap_or(i64::MAX))
            }
            Now::Given(given) => {
                let seconds = Now::checked(given)?;
                if given.is_instance_of::<PyInt>() {
                    return Ok(match given.extract::<i64>() {
                        Ok(s) => s.saturating_mul(1000),
                        Err(_) if seconds < 0.0 => i64::MIN,
                        Err(_) => i64::MAX,
                    });
                }
                // `as` saturates (and the product is finite: `seconds` is).
                Ok((seconds * 1000.0).floor() as i64)
            }
        }
    }
}

// ---- Result classes ------------------------------------------------------------------------------

/// `Class(name=repr(value), ...)`.
fn fields_repr(py: Python<'_>, class: &str, fields: &[(&str, &Py<PyAny>)]) -> PyResult<String> {
    let mut parts = Vec::with_capacity(fields.len());
    for (name, value) in fields {
        parts.push(format!("{name}={}", py_repr(value.bind(py))?));
    }
    Ok(format!("{class}({})", parts.join(", ")))
}

fn tuple_of<'py>(py: Python<'py>, items: &[&Py<PyAny>]) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, items.iter().map(|item| item.bind(py)))
}

/// `self.__eq__(other)` of a frozen class: `NotImplemented` unless `other` is exactly a `T`,
/// else whether `same(other)`.
fn rich_eq<T: PyClass<Frozen = True> + Sync>(
    py: Python<'_>,
    other: &Bound<'_, PyAny>,
    same: impl FnOnce(&T) -> PyResult<bool>,
) -> PyResult<Py<PyAny>> {
    let Ok(other) = other.cast_exact::<T>() else {
        return Ok(py.NotImplemented());
    };
    let equal = same(other.get())?;
    Ok(PyBool::new(py, equal).to_owned().into_any().unbind())
}

/// A record's `__eq__`: the same class and equal fields (as Python tuples).
fn fields_eq<T: PyClass<Frozen = True> + Sync>(
    py: Python<'_>,
    other: &Bound<'_, PyAny>,
    fields: impl Fn(&T) -> Vec<&Py<PyAny>>,
    mine: &[&Py<PyAny>],
) -> PyResult<Py<PyAny>> {
    rich_eq(py, other, |other: &T| {
        tuple_of(py, mine)?.eq(tuple_of(py, &fields(other))?)
    })
}

/// A Python `str`, or `None`.
fn opt_py_str(py: Python<'_>, s: Option<&str>) -> Py<PyAny> {
    match s {
        Some(s) => PyString::new(py, s).into_any().unbind(),
        None => py.None(),
    }
}

/// Python's `repr` of a bool.
fn bool_repr(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// Register the verification classes and functions on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("InvalidBase64", m.py().get_type::<b64url::InvalidBase64>())?;
    m.add_class::<keys::HmacKey>()?;
    m.add_class::<keys::Ed25519PublicKey>()?;
    m.add_class::<keys::Ed25519PrivateKey>()?;
    m.add_class::<keys::RsaPublicKey>()?;
    m.add_class::<keys::EcPublicKey>()?;
    m.add_class::<keyring::KeyRing>()?;
    m.add_class::<envelope::SignatureInfo>()?;
    m.add_class::<jwt::Principal>()?;
    m.add_class::<gate::Admitted>()?;
    m.add_class::<envelope::EnvelopeSigner>()?;
    m.add_class::<envelope::EnvelopeVerifier>()?;
    m.add_class::<jwt::JwtVerifier>()?;
    m.add_class::<policy::ScopePolicy>()?;
    m.add_class::<gate::Gate>()?;
    m.add_function(wrap_pyfunction!(b64url::b64url_encode, m)?)?;
    m.add_function(wrap_pyfunction!(b64url::b64url_decode, m)?)?;
    m.add_function(wrap_pyfunction!(jcs::canonicalize, m)?)?;
    m.add_function(wrap_pyfunction!(jcs::signing_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(jwt::sign_jwt, m)?)?;
    Ok(())
}
