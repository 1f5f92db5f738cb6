//! The verification classes, twins of `mcp_fastpath._pure.{b64url,jcs,keys,envelope,jwt,policy,gate}`.
//!
//! Thin, like the codec binding: arguments become core types (`fastpath_verify`), the core decides,
//! results become Python objects, and `VerifyError`s become the shared classes of
//! `mcp_fastpath.errors`. What lives here besides conversion is Python-facing behaviour the pure
//! twin defines and the core has no notion of: argument type checks, the order in which a bad
//! argument and a refused message are reported, the texts of `InvalidKey`, the JWK reading order,
//! the token cache, and the scope-policy lookup (a few lines over a pre-extracted rule table).
//!
//! `Gate.admit` is one native call: parse once, ladder, bearer token, JWT, envelope (JCS over the
//! parsed tree), policy; the Python `Request`, `Principal`, `SignatureInfo` and `Admitted` are
//! built only once everything passed.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use fastpath_codec::headers::RoutingHeaders;
use fastpath_codec::ladder::{self, Message};
use fastpath_codec::{encode, Rejection, RequestId, Value};
use fastpath_verify::envelope::{self as core_envelope, NONCE_BYTES, SIG_MEMBER};
use fastpath_verify::errors::msg;
use fastpath_verify::jwt::{self as core_jwt, JwtOptions, MAX_TOKEN_CHARS};
use fastpath_verify::keys::{Ed25519Public, JwtAlg, Key, KeyRing as CoreRing, Kid, MAX_KID_CHARS};
use fastpath_verify::{b64url, jcs, EnvelopeOptions, ErrorKind, VerifyError};
use pyo3::exceptions::{PyOverflowError, PyRecursionError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMapping, PyMemoryView,
    PyString, PyTuple, PyType,
};

use crate::codec::{header_pairs, message_to_py, read_body, read_limits, request_to_py};
use crate::errors::{error_class, request_id_to_py, to_py_err};
use crate::messages;
use crate::pyjson::value_to_py;

/// `_meta` member of a bearer token (the fallback when there is no `Authorization` header).
const TOKEN_MEMBER: &str = "dev.mcp-fastpath/token";
/// `WWW-Authenticate` of an envelope failure or a missing token.
const CHALLENGE: &str = "Bearer";
/// `WWW-Authenticate` once a token was presented and refused.
const INVALID_TOKEN: &str = "Bearer error=\"invalid_token\"";
const NOT_ONE_MESSAGE: &str = "Body must be a single JSON-RPC request or notification object";
const NOW_TYPE: &str = "now is a finite number of seconds since the Unix epoch";
const DEFAULT_ALGORITHMS: &str = "HS256, EdDSA, Ed25519";
/// Pure `_write` recurses once per level; Python's default recursion limit stops it near here.
const MAX_JCS_DEPTH: usize = 1000;
/// orjson's "Recursion limit reached".
const MAX_ORJSON_DEPTH: usize = 254;

// ---- Errors --------------------------------------------------------------------------------------

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

/// `mcp_fastpath.errors.InvalidKey(message)`.
fn invalid_key(py: Python<'_>, message: impl Into<String>) -> PyErr {
    let message = message.into();
    match error_class(py, "InvalidKey").and_then(|class| class.call1((message,))) {
        Ok(instance) => PyErr::from_value(instance),
        Err(err) => err,
    }
}

/// `Unauthenticated` / `Forbidden` / `Replayed` with one `WWW-Authenticate` header.
fn rejection(
    py: Python<'_>,
    class_name: &str,
    code: i64,
    message: &str,
    challenge: &str,
    request_id: Option<&Bound<'_, PyAny>>,
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let class = error_class(py, class_name)?;
        let headers = PyDict::new(py);
        headers.set_item("WWW-Authenticate", challenge)?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("headers", headers)?;
        if let Some(id) = request_id {
            kwargs.set_item("request_id", id)?;
        }
        Ok(PyErr::from_value(
            class.call((code, message), Some(&kwargs))?,
        ))
    };
    build().unwrap_or_else(|err| err)
}

fn unauthenticated(
    py: Python<'_>,
    message: &str,
    challenge: &str,
    request_id: Option<&Bound<'_, PyAny>>,
) -> PyErr {
    rejection(
        py,
        "Unauthenticated",
        -32010,
        message,
        challenge,
        request_id,
    )
}

/// A core `VerifyError` as the shared Python class: `InvalidKey(message)`, or the rejection of
/// its kind with `challenge` as `WWW-Authenticate` (and the request id, when known).
fn verify_err(
    py: Python<'_>,
    err: &VerifyError,
    challenge: &str,
    request_id: Option<&Bound<'_, PyAny>>,
) -> PyErr {
    let (class_name, code) = match err.kind() {
        ErrorKind::InvalidKey => return invalid_key(py, key_message(err.message())),
        ErrorKind::Unauthenticated => ("Unauthenticated", -32010),
        ErrorKind::Forbidden => ("Forbidden", -32011),
        ErrorKind::Replayed => ("Replayed", -32012),
    };
    rejection(py, class_name, code, err.message(), challenge, request_id)
}

/// The pure twin's wording of the key-construction refusals (the core words a few differently).
fn key_message(core: &str) -> &str {
    match core {
        "HMAC secret must be at least 32 bytes" => "an HMAC secret must be at least 32 bytes",
        "Ed25519 seed must be 32 bytes" => "an Ed25519 seed is 32 bytes",
        "Ed25519 public key must be 32 raw bytes or a PEM PUBLIC KEY" => NOT_PEM,
        "PEM is not an Ed25519 SubjectPublicKeyInfo (OID 1.3.101.112)" => {
            "the PEM is not an Ed25519 SubjectPublicKeyInfo (OID 1.3.101.112)"
        }
        "Ed25519 public key is not a point on the curve"
        | "Ed25519 public key is not canonically encoded" => {
            "not a canonically encoded Ed25519 point on the curve"
        }
        "Ed25519 public key has small order" => "an Ed25519 public key of small order is refused",
        other => other,
    }
}

const NOT_PEM: &str = "an Ed25519 public key is 32 raw bytes or a PEM PUBLIC KEY";

fn key_err(py: Python<'_>) -> impl Fn(VerifyError) -> PyErr + '_ {
    move |err| verify_err(py, &err, CHALLENGE, None)
}

// ---- Small Python helpers ------------------------------------------------------------------------

static OS_URANDOM: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static TIME_TIME: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static TIME_TIME_NS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static ORJSON_ERROR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static LIMITS_CLASS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static PURE_MESSAGES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

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
    let py = obj.py();
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    let converted = py.get_type::<PyBytes>().call1((obj,))?;
    Ok(Cow::Owned(converted.cast::<PyBytes>()?.as_bytes().to_vec()))
}

/// The pure twin's `_as_bytes`: bytes, bytearray or memoryview, else `TypeError`.
fn as_bytes(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if obj.cast::<PyMemoryView>().is_ok() {
        return Ok(obj
            .call_method0("tobytes")?
            .cast::<PyBytes>()?
            .as_bytes()
            .to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be bytes, not {}",
        type_name(obj)
    )))
}

/// Constant-time equality of two byte strings (length is not secret).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn kid_of(py: Python<'_>, kid: &Bound<'_, PyAny>) -> PyResult<String> {
    let kid = kid
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("kid must be a str, not {}", type_name(kid))))?;
    let kid = kid.to_str()?;
    if kid.is_empty() || kid.chars().count() > MAX_KID_CHARS {
        return Err(invalid_key(
            py,
            format!("kid must be a non-empty string of at most {MAX_KID_CHARS} characters"),
        ));
    }
    Ok(kid.to_owned())
}

fn jwk_dict<'py>(py: Python<'py>, members: &[(&str, &str)]) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, value) in members {
        dict.set_item(name, value)?;
    }
    Ok(dict)
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
    /// The given object, or `default()` when omitted.
    fn or_default(
        self,
        default: impl FnOnce() -> PyResult<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Arg::Given(given) => Ok(given),
            Arg::Omitted => default(),
        }
    }
}

// ---- Time ----------------------------------------------------------------------------------------

/// The `now=` argument: the wall clock, or Unix seconds given by the caller (checked when read,
/// like the pure twin, which reads it only at the step that needs it).
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

    /// Unix seconds, for JWTs (`time.time()` when not given).
    fn seconds(&self) -> PyResult<f64> {
        match self {
            Now::Wall(py) => cached_attr(*py, &TIME_TIME, "time", "time")?
                .call0()?
                .extract(),
            Now::Given(given) => Now::checked(given),
        }
    }

    /// Unix milliseconds, for envelopes: `floor(now × 1000)` (`time.time_ns() // 10**6` when not
    /// given), saturated to `i64`.
    fn millis(&self) -> PyResult<i64> {
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

// ---- Python objects → Value ----------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
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

struct Converter {
    mode: Mode,
    deferred: Option<Deferred>,
}

impl Converter {
    fn new(mode: Mode) -> Self {
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

    fn value(&mut self, obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value<'static>> {
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
    fn take_error(&mut self, py: Python<'_>) -> Option<PyErr> {
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

// ---- b64url / JCS functions ----------------------------------------------------------------------

pyo3::create_exception!(
    mcp_fastpath._native,
    InvalidBase64,
    PyValueError,
    "The input is not strict base64url."
);

fn invalid_base64() -> PyErr {
    InvalidBase64::new_err("invalid base64url")
}

/// Base64url of `data` (anything `bytes()` takes), without padding.
#[pyfunction]
pub fn b64url_encode(data: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(b64url::encode(&bytes_of(data)?))
}

/// Decode strict base64url (no padding, no whitespace, canonical trailing bits).
#[pyfunction]
pub fn b64url_decode<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let decoded = if let Ok(s) = text.cast::<PyString>() {
        match s.to_str() {
            Ok(s) => b64url::decode(s),
            Err(_) => return Err(invalid_base64()),
        }
    } else if text.cast::<PyBytes>().is_ok()
        || text.cast::<PyByteArray>().is_ok()
        || text.cast::<PyMemoryView>().is_ok()
    {
        b64url::decode(bytes_of(text)?)
    } else {
        return Err(PyTypeError::new_err(format!(
            "base64url input is str or bytes, not {}",
            type_name(text)
        )));
    };
    decoded
        .map(|raw| PyBytes::new(py, &raw))
        .map_err(|_| invalid_base64())
}

/// The RFC 8785 canonical form of a JSON value.
#[pyfunction]
pub fn canonicalize<'py>(
    py: Python<'py>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut converter = Converter::new(Mode::Jcs);
    let value = converter.value(value, 0)?;
    if let Some(err) = converter.take_error(py) {
        return Err(err);
    }
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
    let mut converter = Converter::new(Mode::Jcs);
    let value = converter.value(message, 0)?;
    if let Some(err) = converter.take_error(py) {
        return Err(err);
    }
    let bytes = core_envelope::signed_bytes(&value).map_err(|why| not_i_json(py, why))?;
    Ok(PyBytes::new(py, &bytes))
}

// ---- Keys ----------------------------------------------------------------------------------------

/// A shared HMAC-SHA256 secret (≥ 32 bytes) under a key id.
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct HmacKey {
    key: Key,
    secret: Vec<u8>,
}

impl HmacKey {
    fn create(py: Python<'_>, kid: &Bound<'_, PyAny>, secret: &Bound<'_, PyAny>) -> PyResult<Self> {
        let kid = kid_of(py, kid)?;
        let secret = as_bytes(secret, "an HMAC secret")?;
        let key = Key::hmac(kid, &secret).map_err(key_err(py))?;
        Ok(HmacKey { key, secret })
    }
}

#[pymethods]
impl HmacKey {
    #[new]
    fn py_new(py: Python<'_>, kid: &Bound<'_, PyAny>, secret: &Bound<'_, PyAny>) -> PyResult<Self> {
        HmacKey::create(py, kid, secret)
    }

    #[classattr]
    #[allow(non_upper_case_globals)]
    const alg: &'static str = "hmac-sha256";

    #[classattr]
    const __hash__: Option<Py<PyAny>> = None;

    #[getter]
    fn kid(&self) -> &str {
        self.key.kid()
    }

    /// The 32-byte HMAC-SHA256 tag of `data`.
    fn sign<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let tag = self.key.sign(&bytes_of(data)?).map_err(key_err(py))?;
        Ok(PyBytes::new(py, &tag))
    }

    /// Whether `signature` is the tag of `data` (constant-time comparison).
    fn verify(&self, data: &Bound<'_, PyAny>, signature: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.key.verify(&bytes_of(data)?, &bytes_of(signature)?))
    }

    /// `{"kty": "oct", ...}`; a symmetric key has no public form, so `private=True` is required.
    #[pyo3(signature = (private=None), text_signature = "($self, private=False)")]
    fn to_jwk<'py>(
        &self,
        py: Python<'py>,
        private: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        if !truthy(private)? {
            return Err(invalid_key(
                py,
                "an HMAC key has no public JWK; to_jwk(private=True) exports its secret",
            ));
        }
        let k = b64url::encode(&self.secret);
        jwk_dict(
            py,
            &[
                ("kty", "oct"),
                ("kid", self.key.kid()),
                ("alg", "HS256"),
                ("use", "sig"),
                ("k", &k),
            ],
        )
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast_exact::<HmacKey>() else {
            return Ok(py.NotImplemented());
        };
        let other = other.get();
        let equal = self.key.kid() == other.key.kid() && same_bytes(&self.secret, &other.secret);
        Ok(PyBool::new(py, equal).to_owned().into_any().unbind())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("HmacKey(kid={})", str_repr(py, self.key.kid())?))
    }
}

fn truthy(obj: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
    match obj {
        None => Ok(false),
        Some(obj) => obj.is_truthy(),
    }
}

/// An Ed25519 public key under a key id: 32 raw bytes, or a `PUBLIC KEY` PEM (str or bytes).
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct Ed25519PublicKey {
    key: Key,
}

impl Ed25519PublicKey {
    fn raw(&self) -> [u8; 32] {
        self.key.public_bytes().expect("an Ed25519 key")
    }

    fn jwk<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let x = b64url::encode(&self.raw());
        jwk_dict(
            py,
            &[
                ("kty", "OKP"),
                ("crv", "Ed25519"),
                ("kid", self.key.kid()),
                ("alg", "EdDSA"),
                ("use", "sig"),
                ("x", &x),
            ],
        )
    }
}

#[pymethods]
impl Ed25519PublicKey {
    #[new]
    fn py_new(
        py: Python<'_>,
        kid: &Bound<'_, PyAny>,
        raw_or_pem: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let kid = kid_of(py, kid)?;
        let key = if let Ok(pem) = raw_or_pem.cast::<PyString>() {
            // A str is always a PEM (32 ASCII characters are not a raw key).
            let pem = pem.to_str().map_err(|_| invalid_key(py, NOT_PEM))?;
            let public = Ed25519Public::from_pem(pem.as_bytes()).map_err(key_err(py))?;
            Key::Ed25519Public {
                kid: Kid::new(kid).map_err(key_err(py))?,
                key: public,
            }
        } else {
            let data = as_bytes(raw_or_pem, "an Ed25519 public key")?;
            Key::ed25519_public(kid, &data).map_err(key_err(py))?
        };
        Ok(Ed25519PublicKey { key })
    }

    #[classattr]
    #[allow(non_upper_case_globals)]
    const alg: &'static str = "ed25519";

    #[classattr]
    const __hash__: Option<Py<PyAny>> = None;

    #[getter]
    fn kid(&self) -> &str {
        self.key.kid()
    }

    /// The 32-byte encoding of the public point.
    #[getter]
    fn public_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.raw())
    }

    /// Strict Ed25519 verification.
    fn verify(&self, data: &Bound<'_, PyAny>, signature: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.key.verify(&bytes_of(data)?, &bytes_of(signature)?))
    }

    /// `{"kty": "OKP", "crv": "Ed25519", "kid", "x", ...}` (a public key has no private form).
    #[pyo3(signature = (private=None), text_signature = "($self, private=False)")]
    fn to_jwk<'py>(
        &self,
        py: Python<'py>,
        private: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        if truthy(private)? {
            return Err(invalid_key(py, "an Ed25519 public key has no private JWK"));
        }
        self.jwk(py)
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast_exact::<Ed25519PublicKey>() else {
            return Ok(py.NotImplemented());
        };
        let other = other.get();
        let equal = self.key.kid() == other.key.kid() && self.raw() == other.raw();
        Ok(PyBool::new(py, equal).to_owned().into_any().unbind())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Ed25519PublicKey(kid={}, x={})",
            str_repr(py, self.key.kid())?,
            str_repr(py, &b64url::encode(&self.raw()))?
        ))
    }
}

/// An Ed25519 signing key (32-byte seed) under a key id.
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct Ed25519PrivateKey {
    key: Key,
    seed: Vec<u8>,
    public: Py<Ed25519PublicKey>,
}

impl Ed25519PrivateKey {
    fn create(py: Python<'_>, kid: &Bound<'_, PyAny>, seed: &Bound<'_, PyAny>) -> PyResult<Self> {
        let kid = kid_of(py, kid)?;
        let seed = as_bytes(seed, "an Ed25519 seed")?;
        let key = Key::ed25519_private(kid, &seed).map_err(key_err(py))?;
        let public = Py::new(
            py,
            Ed25519PublicKey {
                key: key.public_key().expect("an Ed25519 key"),
            },
        )?;
        Ok(Ed25519PrivateKey { key, seed, public })
    }

    fn raw(&self) -> [u8; 32] {
        self.key.public_bytes().expect("an Ed25519 key")
    }
}

#[pymethods]
impl Ed25519PrivateKey {
    #[new]
    fn py_new(py: Python<'_>, kid: &Bound<'_, PyAny>, seed: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ed25519PrivateKey::create(py, kid, seed)
    }

    /// A new key from 32 bytes of `os.urandom`.
    #[classmethod]
    fn generate<'py>(
        cls: &Bound<'py, PyType>,
        kid: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let seed = urandom(cls.py(), 32)?;
        cls.call1((kid, seed))
    }

    #[classattr]
    #[allow(non_upper_case_globals)]
    const alg: &'static str = "ed25519";

    #[classattr]
    const __hash__: Option<Py<PyAny>> = None;

    #[getter]
    fn kid(&self) -> &str {
        self.key.kid()
    }

    fn public_key(&self, py: Python<'_>) -> Py<Ed25519PublicKey> {
        self.public.clone_ref(py)
    }

    #[getter]
    fn public_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.raw())
    }

    /// The 64-byte Ed25519 signature of `data`.
    fn sign<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let signature = self.key.sign(&bytes_of(data)?).map_err(key_err(py))?;
        Ok(PyBytes::new(py, &signature))
    }

    fn verify(&self, data: &Bound<'_, PyAny>, signature: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.key.verify(&bytes_of(data)?, &bytes_of(signature)?))
    }

    /// The public JWK, plus `d` (the seed) with `private=True`.
    #[pyo3(signature = (private=None), text_signature = "($self, private=False)")]
    fn to_jwk<'py>(
        &self,
        py: Python<'py>,
        private: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let jwk = self.public.get().jwk(py)?;
        if truthy(private)? {
            jwk.set_item("d", b64url::encode(&self.seed))?;
        }
        Ok(jwk)
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast_exact::<Ed25519PrivateKey>() else {
            return Ok(py.NotImplemented());
        };
        let other = other.get();
        let equal = self.key.kid() == other.key.kid() && same_bytes(&self.seed, &other.seed);
        Ok(PyBool::new(py, equal).to_owned().into_any().unbind())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Ed25519PrivateKey(kid={}, x={})",
            str_repr(py, self.key.kid())?,
            str_repr(py, &b64url::encode(&self.raw()))?
        ))
    }
}

/// The core key of one of the three key classes.
fn core_key(obj: &Bound<'_, PyAny>) -> Option<Key> {
    if let Ok(k) = obj.cast_exact::<HmacKey>() {
        return Some(k.get().key.clone());
    }
    if let Ok(k) = obj.cast_exact::<Ed25519PublicKey>() {
        return Some(k.get().key.clone());
    }
    if let Ok(k) = obj.cast_exact::<Ed25519PrivateKey>() {
        return Some(k.get().key.clone());
    }
    None
}

/// Keys by `kid` (several for rotation). Duplicate kids are refused (`InvalidKey`).
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct KeyRing {
    /// The key objects, in the order given (what `get` and iteration return).
    objects: Vec<Py<PyAny>>,
    ring: CoreRing,
}

impl KeyRing {
    fn create(py: Python<'_>, keys: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut objects: Vec<Py<PyAny>> = Vec::new();
        let mut core: Vec<Key> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut add = |key: Bound<'_, PyAny>| -> PyResult<()> {
            let Some(core_key) = core_key(&key) else {
                return Err(PyTypeError::new_err(format!(
                    "a KeyRing holds HmacKey, Ed25519PublicKey or Ed25519PrivateKey, not {}",
                    type_name(&key)
                )));
            };
            if !seen.insert(core_key.kid().to_owned()) {
                return Err(invalid_key(
                    py,
                    format!(
                        "duplicate kid {} in the key ring",
                        str_repr(py, core_key.kid())?
                    ),
                ));
            }
            core.push(core_key);
            objects.push(key.unbind());
            Ok(())
        };
        if let Some(keys) = keys {
            if core_key(keys).is_some() {
                add(keys.clone())?;
            } else {
                for key in keys.try_iter()? {
                    add(key?)?;
                }
            }
        }
        let ring = CoreRing::new(core).map_err(key_err(py))?;
        Ok(KeyRing { objects, ring })
    }

    fn list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.objects.iter().map(|o| o.bind(py)))
    }
}

#[pymethods]
impl KeyRing {
    #[new]
    #[pyo3(signature = (keys=Arg::Omitted), text_signature = "(keys=())")]
    fn py_new(py: Python<'_>, keys: Arg<'_>) -> PyResult<Self> {
        match keys {
            Arg::Omitted => KeyRing::create(py, None),
            Arg::Given(keys) => KeyRing::create(py, Some(&keys)),
        }
    }

    /// A ring from a JWK Set `{"keys": [...]}`; any key that cannot be read refuses the whole set.
    #[classmethod]
    fn from_jwks<'py>(
        cls: &Bound<'py, PyType>,
        jwks: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let keys = jwks
            .cast::<PyDict>()
            .ok()
            .and_then(|d| d.get_item("keys").ok().flatten())
            .filter(|k| k.is_instance_of::<PyList>());
        let Some(keys) = keys else {
            return Err(invalid_key(py, "a JWKS is an object with a \"keys\" array"));
        };
        let mut read = Vec::new();
        for (index, jwk) in keys.cast::<PyList>()?.iter().enumerate() {
            read.push(key_from_jwk(py, &jwk, index)?);
        }
        cls.call1((PyList::new(py, read)?,))
    }

    fn get<'py>(&self, py: Python<'py>, kid: &Bound<'py, PyAny>) -> Option<Bound<'py, PyAny>> {
        let kid = kid.cast::<PyString>().ok()?.to_str().ok()?;
        let key = self.ring.get(kid)?;
        let index = self.ring.keys().iter().position(|k| std::ptr::eq(k, key))?;
        Some(self.objects[index].bind(py).clone())
    }

    /// `{"keys": [...]}`. Without `private`, HMAC keys (which have no public form) are left out.
    #[pyo3(signature = (private=None), text_signature = "($self, private=False)")]
    fn to_jwks<'py>(
        &self,
        py: Python<'py>,
        private: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let private = truthy(private)?;
        let keys = PyList::empty(py);
        for object in &self.objects {
            let object = object.bind(py);
            if private {
                keys.append(object.call_method1("to_jwk", (true,))?)?;
            } else if object.cast_exact::<HmacKey>().is_err() {
                keys.append(object.call_method0("to_jwk")?)?;
            }
        }
        let out = PyDict::new(py);
        out.set_item("keys", keys)?;
        Ok(out)
    }

    fn __contains__(&self, kid: &Bound<'_, PyAny>) -> bool {
        kid.cast::<PyString>()
            .ok()
            .and_then(|k| k.to_str().ok())
            .is_some_and(|k| self.ring.get(k).is_some())
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.list(py)?.into_any().try_iter()?.into_any())
    }

    fn __len__(&self) -> usize {
        self.objects.len()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("KeyRing({})", py_repr(self.list(py)?.as_any())?))
    }
}

/// One JWK, read in the pure twin's order (and with its messages); the keys themselves are the
/// core's (secret length, seed, point checks).
fn key_from_jwk<'py>(
    py: Python<'py>,
    jwk: &Bound<'py, PyAny>,
    index: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let at = format!("JWKS key {index}");
    let bad = |why: &str| invalid_key(py, format!("{at}: {why}"));
    let Ok(jwk) = jwk.cast::<PyDict>() else {
        return Err(bad("a JWK is an object"));
    };
    let none = py.None().into_bound(py);
    let get = |name: &str| -> PyResult<Bound<'py, PyAny>> {
        Ok(jwk.get_item(name)?.unwrap_or_else(|| none.clone()))
    };
    let kid = get("kid")?;
    let kid_ok = match kid.cast::<PyString>() {
        Ok(s) => {
            let len = s.len()?;
            len > 0 && len <= MAX_KID_CHARS
        }
        Err(_) => false,
    };
    if !kid_ok {
        return Err(bad(&format!(
            "'kid' must be a non-empty string of at most {MAX_KID_CHARS} characters"
        )));
    }
    if jwk.contains("use")? && get("use")?.ne("sig")? {
        return Err(bad("'use' must be 'sig'"));
    }
    let kty = get("kty")?;
    let alg = get("alg")?;
    let member = |name: &str| -> PyResult<Vec<u8>> {
        let value = get(name)?;
        let Ok(text) = value.cast::<PyString>() else {
            return Err(bad(&format!("'{name}' must be a base64url string")));
        };
        let decoded = match text.to_str() {
            Ok(text) => b64url::decode(text).ok(),
            Err(_) => None,
        };
        decoded.ok_or_else(|| bad(&format!("'{name}' is not strict base64url")))
    };
    if kty.eq("oct")? {
        if jwk.contains("alg")? && alg.ne("HS256")? {
            return Err(bad("'alg' does not fit an oct key"));
        }
        let secret = PyBytes::new(py, &member("k")?);
        return Ok(Bound::new(py, HmacKey::create(py, &kid, secret.as_any())?)?.into_any());
    }
    if kty.eq("OKP")? {
        if get("crv")?.ne("Ed25519")? {
            return Err(bad("unsupported OKP curve"));
        }
        if jwk.contains("alg")? && !(alg.eq("EdDSA")? || alg.eq("Ed25519")?) {
            return Err(bad("'alg' does not fit an Ed25519 key"));
        }
        let x = member("x")?;
        if x.len() != 32 {
            return Err(bad("'x' must be 32 bytes"));
        }
        if jwk.contains("d")? {
            let seed = PyBytes::new(py, &member("d")?);
            let private = Ed25519PrivateKey::create(py, &kid, seed.as_any())?;
            if !same_bytes(&private.raw(), &x) {
                return Err(bad("'x' is not the public key of 'd'"));
            }
            return Ok(Bound::new(py, private)?.into_any());
        }
        let raw = PyBytes::new(py, &x);
        return Ok(Bound::new(py, Ed25519PublicKey::py_new(py, &kid, raw.as_any())?)?.into_any());
    }
    Err(bad("unsupported key type"))
}

/// A `KeyRing` from a ring, a JWKS dict, one key, or a list/tuple of keys.
fn as_keyring<'py>(py: Python<'py>, keys: &Bound<'py, PyAny>) -> PyResult<Py<KeyRing>> {
    if let Ok(ring) = keys.cast::<KeyRing>() {
        return Ok(ring.clone().unbind());
    }
    if keys.cast::<PyDict>().is_ok() {
        let ring = py
            .get_type::<KeyRing>()
            .call_method1("from_jwks", (keys,))?;
        return Ok(ring.cast_into::<KeyRing>()?.unbind());
    }
    if core_key(keys).is_some() || keys.cast::<PyList>().is_ok() || keys.cast::<PyTuple>().is_ok() {
        return Py::new(py, KeyRing::create(py, Some(keys))?);
    }
    Err(PyTypeError::new_err(format!(
        "expected a KeyRing, a JWKS dict or keys, not {}",
        type_name(keys)
    )))
}

// ---- Result classes ------------------------------------------------------------------------------

fn tuple_of<'py>(py: Python<'py>, items: &[&Py<PyAny>]) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, items.iter().map(|item| item.bind(py)))
}

fn fields_equal(py: Python<'_>, a: &[&Py<PyAny>], b: &[&Py<PyAny>]) -> PyResult<Py<PyAny>> {
    let equal = tuple_of(py, a)?.eq(tuple_of(py, b)?)?;
    Ok(PyBool::new(py, equal).to_owned().into_any().unbind())
}

/// What a verified envelope said: `kid`, `alg`, `iat` (unix ms), `nonce` (its base64url text) and
/// `aud` (or None). `(kid, nonce)` is what a replay cache remembers.
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct SignatureInfo {
    #[pyo3(get)]
    kid: Py<PyAny>,
    #[pyo3(get)]
    alg: Py<PyAny>,
    #[pyo3(get)]
    iat: Py<PyAny>,
    #[pyo3(get)]
    nonce: Py<PyAny>,
    #[pyo3(get)]
    aud: Py<PyAny>,
}

impl SignatureInfo {
    fn from_core(py: Python<'_>, info: &core_envelope::SignatureInfo) -> PyResult<Self> {
        Ok(SignatureInfo {
            kid: PyString::new(py, &info.kid).into_any().unbind(),
            alg: PyString::new(py, info.alg).into_any().unbind(),
            iat: info.iat.into_pyobject(py)?.into_any().unbind(),
            nonce: PyString::new(py, &b64url::encode(&info.nonce))
                .into_any()
                .unbind(),
            aud: match &info.aud {
                Some(aud) => PyString::new(py, aud).into_any().unbind(),
                None => py.None(),
            },
        })
    }

    fn fields(&self) -> [&Py<PyAny>; 5] {
        [&self.kid, &self.alg, &self.iat, &self.nonce, &self.aud]
    }
}

#[pymethods]
impl SignatureInfo {
    #[new]
    fn py_new(
        kid: Py<PyAny>,
        alg: Py<PyAny>,
        iat: Py<PyAny>,
        nonce: Py<PyAny>,
        aud: Py<PyAny>,
    ) -> Self {
        SignatureInfo {
            kid,
            alg,
            iat,
            nonce,
            aud,
        }
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast_exact::<SignatureInfo>() else {
            return Ok(py.NotImplemented());
        };
        fields_equal(py, &self.fields(), &other.get().fields())
    }

    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        tuple_of(py, &self.fields())?.hash()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "SignatureInfo(kid={}, alg={}, iat={}, nonce={}, aud={})",
            py_repr(self.kid.bind(py))?,
            py_repr(self.alg.bind(py))?,
            py_repr(self.iat.bind(py))?,
            py_repr(self.nonce.bind(py))?,
            py_repr(self.aud.bind(py))?
        ))
    }
}

/// Who a verified token speaks for: `subject` (`sub`, or None), `issuer`, `audience` (the
/// verifier's), `scopes` (a tuple), `claims` (the whole payload) and `expires_at` (`exp`, seconds).
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct Principal {
    #[pyo3(get)]
    subject: Py<PyAny>,
    #[pyo3(get)]
    issuer: Py<PyAny>,
    #[pyo3(get)]
    audience: Py<PyAny>,
    #[pyo3(get)]
    scopes: Py<PyAny>,
    #[pyo3(get)]
    claims: Py<PyAny>,
    #[pyo3(get)]
    expires_at: Py<PyAny>,
}

impl Principal {
    fn from_core(py: Python<'_>, principal: &core_jwt::Principal) -> PyResult<Self> {
        Ok(Principal {
            subject: match &principal.subject {
                Some(sub) => PyString::new(py, sub).into_any().unbind(),
                None => py.None(),
            },
            issuer: PyString::new(py, &principal.issuer).into_any().unbind(),
            audience: PyString::new(py, &principal.audience).into_any().unbind(),
            scopes: PyTuple::new(py, &principal.scopes)?.into_any().unbind(),
            claims: value_to_py(py, &principal.claims)?.unbind(),
            expires_at: PyFloat::new(py, principal.expires_at).into_any().unbind(),
        })
    }

    fn fields(&self) -> [&Py<PyAny>; 6] {
        [
            &self.subject,
            &self.issuer,
            &self.audience,
            &self.scopes,
            &self.claims,
            &self.expires_at,
        ]
    }
}

#[pymethods]
impl Principal {
    #[new]
    fn py_new(
        py: Python<'_>,
        subject: Py<PyAny>,
        issuer: Py<PyAny>,
        audience: Py<PyAny>,
        scopes: &Bound<'_, PyAny>,
        claims: Py<PyAny>,
        expires_at: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        Ok(Principal {
            subject,
            issuer,
            audience,
            scopes: py.get_type::<PyTuple>().call1((scopes,))?.unbind(),
            claims,
            expires_at: py.get_type::<PyFloat>().call1((expires_at,))?.unbind(),
        })
    }

    #[classattr]
    const __hash__: Option<Py<PyAny>> = None;

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast_exact::<Principal>() else {
            return Ok(py.NotImplemented());
        };
        fields_equal(py, &self.fields(), &other.get().fields())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Principal(subject={}, issuer={}, audience={}, scopes={}, expires_at={})",
            py_repr(self.subject.bind(py))?,
            py_repr(self.issuer.bind(py))?,
            py_repr(self.audience.bind(py))?,
            py_repr(self.scopes.bind(py))?,
            py_repr(self.expires_at.bind(py))?
        ))
    }
}

/// An admitted message: the decoded `request` (a `Request`, or a `Notification` with both other
/// fields `None`), the token's `principal` (or None) and the envelope's `signature` (or None).
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct Admitted {
    #[pyo3(get)]
    request: Py<PyAny>,
    #[pyo3(get)]
    principal: Py<PyAny>,
    #[pyo3(get)]
    signature: Py<PyAny>,
}

#[pymethods]
impl Admitted {
    #[new]
    fn py_new(request: Py<PyAny>, principal: Py<PyAny>, signature: Py<PyAny>) -> Self {
        Admitted {
            request,
            principal,
            signature,
        }
    }

    #[classattr]
    const __hash__: Option<Py<PyAny>> = None;

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast_exact::<Admitted>() else {
            return Ok(py.NotImplemented());
        };
        let other = other.get();
        fields_equal(
            py,
            &[&self.request, &self.principal, &self.signature],
            &[&other.request, &other.principal, &other.signature],
        )
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Admitted(request={}, principal={}, signature={})",
            py_repr(self.request.bind(py))?,
            py_repr(self.principal.bind(py))?,
            py_repr(self.signature.bind(py))?
        ))
    }
}

// ---- Envelopes -----------------------------------------------------------------------------------

/// Signs messages with one private key (`HmacKey` or `Ed25519PrivateKey`), optionally for one
/// audience (the server URI).
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct EnvelopeSigner {
    key: Key,
    audience: Option<String>,
}

/// A message ready to sign: the shallow copies the pure twin makes, and the tree of the copy.
struct Prepared<'py> {
    signed: Bound<'py, PyDict>,
    meta: Bound<'py, PyDict>,
    value: Value<'static>,
}

impl EnvelopeSigner {
    /// Check and copy `message` as the pure twin does (same order: the message, the nonce, the
    /// carrier and `_meta`, `now`), sign its tree with the core, and return the signed tree with
    /// the Python copies and the envelope.
    fn sign_value<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
        nonce: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Prepared<'py>, Value<'static>)> {
        let cannot = |why: &str| {
            unauthenticated(
                py,
                &format!("message cannot be signed: {why}"),
                CHALLENGE,
                None,
            )
        };
        let Ok(message) = message.cast::<PyDict>() else {
            return Err(cannot("not a JSON object"));
        };
        let outer = if !message.contains("method")? && message.contains("result")? {
            "result"
        } else {
            "params"
        };
        let nonce: [u8; NONCE_BYTES] = match nonce.filter(|n| !n.is_none()) {
            None => urandom(py, NONCE_BYTES)?
                .as_bytes()
                .try_into()
                .expect("16 bytes"),
            Some(n) => {
                let raw = if let Ok(b) = n.cast::<PyBytes>() {
                    Some(b.as_bytes().to_vec())
                } else {
                    n.cast::<PyByteArray>().ok().map(|b| b.to_vec())
                };
                raw.and_then(|raw| raw.try_into().ok()).ok_or_else(|| {
                    PyValueError::new_err(format!("nonce must be {NONCE_BYTES} bytes"))
                })?
            }
        };
        let signed = message.copy()?;
        let container = match message.get_item(outer)?.filter(|c| !c.is_none()) {
            None => PyDict::new(py),
            Some(c) => c
                .cast::<PyDict>()
                .map_err(|_| cannot(&format!("{outer} is not an object")))?
                .copy()?,
        };
        let meta = match container.get_item("_meta")?.filter(|m| !m.is_none()) {
            None => PyDict::new(py),
            Some(m) => m
                .cast::<PyDict>()
                .map_err(|_| cannot("_meta is not an object"))?
                .copy()?,
        };
        let iat = Now::new(py, now).millis()?;
        container.set_item("_meta", &meta)?;
        signed.set_item(outer, &container)?;

        let mut converter = Converter::new(Mode::Jcs);
        let mut value = converter.value(signed.as_any(), 0)?;
        let outcome = core_envelope::sign_envelope(
            &mut value,
            &self.key,
            self.audience.as_deref(),
            iat,
            nonce,
        );
        if let Some(err) = converter.take_error(py) {
            return Err(err);
        }
        let envelope = outcome.map_err(|err| verify_err(py, &err, CHALLENGE, None))?;
        Ok((
            Prepared {
                signed,
                meta,
                value,
            },
            envelope,
        ))
    }

    fn sign_dict<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
        nonce: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (prepared, envelope) = self.sign_value(py, message, now, nonce)?;
        prepared
            .meta
            .set_item(SIG_MEMBER, value_to_py(py, &envelope)?)?;
        Ok(prepared.signed)
    }
}

#[pymethods]
impl EnvelopeSigner {
    #[new]
    #[pyo3(signature = (private_key, audience=None))]
    fn py_new(
        py: Python<'_>,
        private_key: &Bound<'_, PyAny>,
        audience: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        if private_key.cast_exact::<Ed25519PublicKey>().is_ok() {
            return Err(invalid_key(py, "a public key cannot sign"));
        }
        let key = match core_key(private_key) {
            Some(key) => key,
            None => {
                return Err(PyTypeError::new_err(format!(
                    "an EnvelopeSigner needs an HmacKey or Ed25519PrivateKey, not {}",
                    type_name(private_key)
                )))
            }
        };
        Ok(EnvelopeSigner {
            key,
            audience: optional_str(audience)?,
        })
    }

    #[getter]
    fn kid(&self) -> &str {
        self.key.kid()
    }

    #[getter]
    fn alg(&self) -> &'static str {
        self.key.envelope_alg()
    }

    #[getter]
    fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// A copy of `message` with `params._meta["dev.mcp-fastpath/sig"]` set (`result._meta` for a
    /// response), creating `params`/`_meta` when absent and replacing an envelope already there.
    #[pyo3(signature = (message, *, now=None, nonce=None))]
    fn sign<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
        nonce: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.sign_dict(py, message, now, nonce)
    }

    /// A copy of the result `response` with `result._meta["dev.mcp-fastpath/sig"]` set.
    #[pyo3(signature = (response, *, now=None, nonce=None))]
    fn sign_response<'py>(
        &self,
        py: Python<'py>,
        response: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
        nonce: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let is_result = match response.cast::<PyDict>() {
            Ok(d) => {
                d.get_item("result")?
                    .is_some_and(|r| r.is_instance_of::<PyDict>())
                    && !d.contains("method")?
            }
            Err(_) => false,
        };
        if !is_result {
            return Err(PyValueError::new_err(
                "sign_response signs a JSON-RPC result response (a dict with a dict 'result')",
            ));
        }
        self.sign_dict(py, response, now, nonce)
    }

    /// `sign(message)` serialized as compact JSON (the body to send).
    #[pyo3(signature = (message, *, now=None, nonce=None))]
    fn sign_bytes<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
        nonce: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let (prepared, _) = self.sign_value(py, message, now, nonce)?;
        let mut out = Vec::with_capacity(512);
        encode::write_value(&mut out, &prepared.value);
        Ok(PyBytes::new(py, &out))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "EnvelopeSigner(kid={}, alg={}, audience={})",
            str_repr(py, self.key.kid())?,
            str_repr(py, self.key.envelope_alg())?,
            opt_str_repr(py, self.audience.as_deref())?
        ))
    }
}

fn optional_str(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    match value.filter(|v| !v.is_none()) {
        None => Ok(None),
        Some(v) => match v.cast::<PyString>() {
            Ok(s) => Ok(Some(s.to_str()?.to_owned())),
            Err(_) => Err(PyTypeError::new_err("audience must be a str or None")),
        },
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

/// Whether a core envelope failure comes from steps 1–4 (presence, shape, key, algorithm), which
/// the pure twin reports before it reads the rest of the message.
fn before_the_message(err: &VerifyError) -> bool {
    let m = err.message();
    m == msg::NOT_SIGNED
        || m.starts_with(msg::MALFORMED_ENVELOPE)
        || m == msg::UNKNOWN_KID
        || m == msg::ALG_MISMATCH
}

/// Verifies `dev.mcp-fastpath/sig` envelopes against a key ring (docs/verification.md).
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct EnvelopeVerifier {
    keyring: Py<KeyRing>,
    max_skew_s: Py<PyAny>,
    options: EnvelopeOptions,
}

impl EnvelopeVerifier {
    /// Run the core on a message tree whose envelope is present, with `now` read the pure way: an
    /// unusable `now` is reported only once steps 1–6 passed (step 7 is where it is read).
    fn check(
        &self,
        py: Python<'_>,
        message: &Value<'_>,
        now: &Now<'_, '_>,
        converter: Option<&mut Converter>,
    ) -> PyResult<Result<Option<core_envelope::SignatureInfo>, VerifyError>> {
        let ring = &self.keyring.get().ring;
        let (result, now_err) = match now.millis() {
            Ok(now_ms) => (
                core_envelope::verify_envelope(message, ring, &self.options, now_ms),
                None,
            ),
            Err(now_err) => {
                let relaxed = EnvelopeOptions {
                    audience: None,
                    max_skew_ms: i64::MAX,
                    require: self.options.require,
                };
                (
                    core_envelope::verify_envelope(message, ring, &relaxed, 0),
                    Some(now_err),
                )
            }
        };
        if let Err(err) = &result {
            if before_the_message(err) {
                return Ok(result);
            }
        }
        if let Some(err) = converter.and_then(|c| c.take_error(py)) {
            return Err(err);
        }
        match (result, now_err) {
            (Ok(Some(_)), Some(now_err)) => Err(now_err),
            (result, _) => Ok(result),
        }
    }
}

/// The envelope member of a message dict, looked up as the pure twin does (exact `dict`s only).
fn has_envelope(container: Option<Bound<'_, PyAny>>) -> PyResult<bool> {
    let Some(container) = container else {
        return Ok(false);
    };
    let Ok(container) = container.cast_exact::<PyDict>() else {
        return Ok(false);
    };
    match container.get_item("_meta")? {
        Some(meta) => match meta.cast_exact::<PyDict>() {
            Ok(meta) => meta.contains(SIG_MEMBER),
            Err(_) => Ok(false),
        },
        None => Ok(false),
    }
}

fn pure_message_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let module = PURE_MESSAGES.get_or_try_init(py, || {
        py.import("mcp_fastpath._pure.messages")
            .map(|m| m.into_any().unbind())
    })?;
    module.bind(py).getattr(name)
}

#[pymethods]
impl EnvelopeVerifier {
    #[new]
    #[pyo3(signature = (keyring, *, audience=None, max_skew_s=Arg::Omitted, require=Arg::Omitted),
        text_signature = "(keyring, *, audience=None, max_skew_s=60, require=True)")]
    fn py_new(
        py: Python<'_>,
        keyring: &Bound<'_, PyAny>,
        audience: Option<&Bound<'_, PyAny>>,
        max_skew_s: Arg<'_>,
        require: Arg<'_>,
    ) -> PyResult<Self> {
        let audience = optional_str(audience)?;
        let max_skew_obj = max_skew_s.or_default(|| Ok(60i64.into_pyobject(py)?.into_any()))?;
        let seconds = seconds_option(
            &max_skew_obj,
            "max_skew_s must be a non-negative number of seconds",
        )?;
        let keyring = as_keyring(py, keyring)?;
        let max_skew_ms = (seconds * 1000.0).floor();
        if !max_skew_ms.is_finite() {
            return Err(PyOverflowError::new_err(
                "cannot convert float infinity to integer",
            ));
        }
        let require = match require {
            Arg::Omitted => true,
            Arg::Given(r) => r.is_truthy()?,
        };
        Ok(EnvelopeVerifier {
            keyring,
            max_skew_s: max_skew_obj.unbind(),
            options: EnvelopeOptions {
                audience,
                max_skew_ms: max_skew_ms as i64,
                require,
            },
        })
    }

    #[getter]
    fn keyring(&self, py: Python<'_>) -> Py<KeyRing> {
        self.keyring.clone_ref(py)
    }

    #[getter]
    fn audience(&self) -> Option<&str> {
        self.options.audience.as_deref()
    }

    #[getter]
    fn max_skew_s(&self, py: Python<'_>) -> Py<PyAny> {
        self.max_skew_s.clone_ref(py)
    }

    #[getter]
    fn require(&self) -> bool {
        self.options.require
    }

    /// Check the envelope of a decoded `Request` (or `Response`), or of a plain message dict.
    /// Returns `SignatureInfo`, or `None` for an unsigned message when `require=False`.
    #[pyo3(signature = (request, *, now=None))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<SignatureInfo>> {
        let mut converter = Converter::new(Mode::Jcs);
        let value = match locate(py, request)? {
            Located::Dict(message) => {
                let outer = if !message.contains("method")? && message.contains("result")? {
                    "result"
                } else {
                    "params"
                };
                if !has_envelope(message.get_item(outer)?)? {
                    return self.unsigned(py);
                }
                converter.value(message.as_any(), 0)?
            }
            Located::Members(members) => {
                let carrier = members.last().expect("params or result").1.clone();
                if !has_envelope(Some(carrier))? {
                    return self.unsigned(py);
                }
                let mut object = Vec::with_capacity(members.len());
                for (name, item) in &members {
                    object.push((Cow::Borrowed(*name), converter.value(item, 1)?));
                }
                Value::Object(object)
            }
        };
        self.finish(py, &value, &Now::new(py, now), &mut converter)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "EnvelopeVerifier(keys={}, audience={}, max_skew_s={}, require={})",
            self.keyring.get().objects.len(),
            opt_str_repr(py, self.options.audience.as_deref())?,
            py_repr(self.max_skew_s.bind(py))?,
            if self.options.require {
                "True"
            } else {
                "False"
            }
        ))
    }
}

/// What `verify` was given: a message dict, or the members of the message a decoded `Request`
/// (`jsonrpc`, `id`, `method`, `params`) or `Response` (`jsonrpc`, `id`, `result`) stands for,
/// the carrier of `_meta` last.
enum Located<'py> {
    Dict(Bound<'py, PyDict>),
    Members(Vec<(&'static str, Bound<'py, PyAny>)>),
}

fn locate<'py>(py: Python<'py>, obj: &Bound<'py, PyAny>) -> PyResult<Located<'py>> {
    let version = || PyString::new(py, "2.0").into_any();
    let request = || -> PyResult<Located<'py>> {
        Ok(Located::Members(vec![
            ("jsonrpc", version()),
            ("id", obj.getattr("id")?),
            ("method", obj.getattr("method")?),
            ("params", obj.getattr("params")?),
        ]))
    };
    let response = || -> PyResult<Located<'py>> {
        Ok(Located::Members(vec![
            ("jsonrpc", version()),
            ("id", obj.getattr("id")?),
            ("result", obj.getattr("result")?),
        ]))
    };
    if obj.cast_exact::<messages::Request>().is_ok() {
        return request();
    }
    if obj.cast_exact::<messages::Response>().is_ok() {
        return response();
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        return Ok(Located::Dict(dict.clone()));
    }
    // The pure twin's classes are imported only for what is none of the above.
    if obj.is_instance(&pure_message_class(py, "Request")?)? {
        return request();
    }
    if obj.is_instance(&pure_message_class(py, "Response")?)? {
        return response();
    }
    Err(PyTypeError::new_err(format!(
        "verify takes a decoded Request or Response, or a message dict, not {}",
        type_name(obj)
    )))
}

impl EnvelopeVerifier {
    fn unsigned(&self, py: Python<'_>) -> PyResult<Option<SignatureInfo>> {
        if self.options.require {
            return Err(unauthenticated(py, msg::NOT_SIGNED, CHALLENGE, None));
        }
        Ok(None)
    }

    fn finish(
        &self,
        py: Python<'_>,
        value: &Value<'_>,
        now: &Now<'_, '_>,
        converter: &mut Converter,
    ) -> PyResult<Option<SignatureInfo>> {
        match self.check(py, value, now, Some(converter))? {
            Ok(Some(info)) => Ok(Some(SignatureInfo::from_core(py, &info)?)),
            Ok(None) => Ok(None),
            Err(err) => Err(verify_err(py, &err, CHALLENGE, None)),
        }
    }
}

// ---- JWT -----------------------------------------------------------------------------------------

/// A verified token: the core principal, and its Python `Principal` once one was asked for (a
/// cached token answers with the same object, like the pure twin).
struct Verified {
    core: core_jwt::Principal,
    py: OnceLock<Py<Principal>>,
}

impl Verified {
    fn principal<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Principal>> {
        if let Some(p) = self.py.get() {
            return Ok(p.bind(py).clone());
        }
        let built = Py::new(py, Principal::from_core(py, &self.core)?)?;
        let stored = self.py.get_or_init(|| built);
        Ok(stored.bind(py).clone())
    }
}

/// Least-recently-used verified tokens, by SHA-256 of the token.
#[derive(Default)]
struct TokenCache {
    tick: u64,
    entries: HashMap<[u8; 32], (u64, Arc<Verified>)>,
    order: BTreeMap<u64, [u8; 32]>,
}

impl TokenCache {
    fn get(&mut self, digest: &[u8; 32]) -> Option<Arc<Verified>> {
        let (stamp, verified) = self.entries.get_mut(digest)?;
        self.order.remove(stamp);
        self.tick += 1;
        *stamp = self.tick;
        self.order.insert(self.tick, *digest);
        Some(verified.clone())
    }

    fn remove(&mut self, digest: &[u8; 32]) {
        if let Some((stamp, _)) = self.entries.remove(digest) {
            self.order.remove(&stamp);
        }
    }

    fn insert(&mut self, digest: [u8; 32], verified: Arc<Verified>, capacity: usize) {
        self.remove(&digest);
        self.tick += 1;
        self.entries.insert(digest, (self.tick, verified));
        self.order.insert(self.tick, digest);
        while self.entries.len() > capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }
}

/// A presented token: its text, or a value that is not a (plain, encodable) str.
enum Token<'t> {
    Text(&'t str),
    NotText,
}

/// Verifies compact JWS tokens (docs/verification.md, JWT).
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct JwtVerifier {
    keyring: Py<KeyRing>,
    options: JwtOptions,
    leeway_s: Py<PyAny>,
    algorithms: Py<PyTuple>,
    cache_size: usize,
    cache_size_obj: Py<PyAny>,
    cache: Mutex<TokenCache>,
}

impl JwtVerifier {
    /// Verify a token (through the cache when there is one). `now` is read first, like the pure twin.
    fn verify_token(
        &self,
        token: Token<'_>,
        now: &Now<'_, '_>,
    ) -> PyResult<Result<Arc<Verified>, VerifyError>> {
        let now_s = now.seconds()?;
        let ring = &self.keyring.get().ring;
        let Token::Text(text) = token else {
            return Ok(Err(VerifyError::unauthenticated(msg::MALFORMED_TOKEN)));
        };
        let cacheable = self.cache_size > 0 && text.chars().count() <= MAX_TOKEN_CHARS;
        if !cacheable {
            return Ok(
                core_jwt::verify_jwt(text, ring, &self.options, now_s).map(|core| {
                    Arc::new(Verified {
                        core,
                        py: OnceLock::new(),
                    })
                }),
            );
        }
        let digest = core_jwt::token_digest(text);
        let cached = self.cache.lock().expect("token cache lock").get(&digest);
        if let Some(verified) = cached {
            if let Err(err) = verified.core.check_times(self.options.leeway_s, now_s) {
                self.cache.lock().expect("token cache lock").remove(&digest);
                return Ok(Err(err));
            }
            return Ok(Ok(verified));
        }
        let verified = match core_jwt::verify_jwt(text, ring, &self.options, now_s) {
            Ok(core) => Arc::new(Verified {
                core,
                py: OnceLock::new(),
            }),
            Err(err) => return Ok(Err(err)),
        };
        self.cache.lock().expect("token cache lock").insert(
            digest,
            verified.clone(),
            self.cache_size,
        );
        Ok(Ok(verified))
    }
}

#[pymethods]
impl JwtVerifier {
    #[new]
    #[pyo3(signature = (keyring_or_jwks, *, issuer, audience, leeway_s=Arg::Omitted, algorithms=Arg::Omitted, cache_size=Arg::Omitted),
        text_signature = "(keyring_or_jwks, *, issuer, audience, leeway_s=30, algorithms=('HS256', 'EdDSA', 'Ed25519'), cache_size=0)")]
    fn py_new(
        py: Python<'_>,
        keyring_or_jwks: &Bound<'_, PyAny>,
        issuer: &Bound<'_, PyAny>,
        audience: &Bound<'_, PyAny>,
        leeway_s: Arg<'_>,
        algorithms: Arg<'_>,
        cache_size: Arg<'_>,
    ) -> PyResult<Self> {
        let (Ok(issuer), Ok(audience)) = (issuer.cast::<PyString>(), audience.cast::<PyString>())
        else {
            return Err(PyTypeError::new_err("issuer and audience must be str"));
        };
        let leeway_obj = leeway_s.or_default(|| Ok(30i64.into_pyobject(py)?.into_any()))?;
        let leeway = seconds_option(
            &leeway_obj,
            "leeway_s must be a non-negative number of seconds",
        )?;
        let algorithms = match algorithms {
            Arg::Omitted => PyTuple::new(py, JwtAlg::ALL.iter().map(|a| a.as_str()))?,
            Arg::Given(a) => {
                if a.is_instance_of::<PyString>() {
                    return Err(PyTypeError::new_err(
                        "algorithms is a sequence of algorithm names",
                    ));
                }
                py.get_type::<PyTuple>()
                    .call1((&a,))?
                    .cast_into::<PyTuple>()?
            }
        };
        let mut allowed = Vec::new();
        for alg in algorithms.iter() {
            let named = alg
                .cast::<PyString>()
                .ok()
                .and_then(|s| s.to_str().ok())
                .and_then(JwtAlg::from_name);
            match named {
                Some(named) => allowed.push(named),
                None => {
                    alg.hash()?; // an unhashable name is a TypeError, as `alg not in JWT_ALGS` raises
                    return Err(PyValueError::new_err(format!(
                        "unsupported JWT algorithm {} (allowed: {DEFAULT_ALGORITHMS})",
                        py_repr(&alg)?
                    )));
                }
            }
        }
        let cache_size_obj = cache_size.or_default(|| Ok(0i64.into_pyobject(py)?.into_any()))?;
        let size = match cache_size_obj.cast_exact::<PyInt>() {
            Ok(c) if !c.lt(0)? => c.extract::<usize>().unwrap_or(usize::MAX),
            _ => {
                return Err(PyValueError::new_err(
                    "cache_size must be a non-negative int",
                ))
            }
        };
        let keyring = as_keyring(py, keyring_or_jwks)?;
        let options = JwtOptions {
            issuer: issuer.to_str()?.to_owned(),
            audience: audience.to_str()?.to_owned(),
            leeway_s: leeway,
            algorithms: allowed,
        };
        Ok(JwtVerifier {
            keyring,
            options,
            leeway_s: leeway_obj.unbind(),
            algorithms: algorithms.unbind(),
            cache_size: size,
            cache_size_obj: cache_size_obj.unbind(),
            cache: Mutex::new(TokenCache::default()),
        })
    }

    #[getter]
    fn issuer(&self) -> &str {
        &self.options.issuer
    }

    #[getter]
    fn audience(&self) -> &str {
        &self.options.audience
    }

    #[getter]
    fn algorithms(&self, py: Python<'_>) -> Py<PyTuple> {
        self.algorithms.clone_ref(py)
    }

    #[getter]
    fn keyring(&self, py: Python<'_>) -> Py<KeyRing> {
        self.keyring.clone_ref(py)
    }

    /// The `Principal` of a valid token; `Unauthenticated` (-32010) otherwise.
    #[pyo3(signature = (token, *, now=None))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, Principal>> {
        let text = token
            .cast_exact::<PyString>()
            .ok()
            .and_then(|s| s.to_str().ok());
        let token = match text {
            Some(text) => Token::Text(text),
            None => Token::NotText,
        };
        match self.verify_token(token, &Now::new(py, now))? {
            Ok(verified) => verified.principal(py),
            Err(err) => Err(verify_err(py, &err, INVALID_TOKEN, None)),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "JwtVerifier(keys={}, issuer={}, audience={}, leeway_s={}, algorithms={}, cache_size={})",
            self.keyring.get().objects.len(),
            str_repr(py, &self.options.issuer)?,
            str_repr(py, &self.options.audience)?,
            py_repr(self.leeway_s.bind(py))?,
            py_repr(self.algorithms.bind(py).as_any())?,
            py_repr(self.cache_size_obj.bind(py))?
        ))
    }
}

/// A compact JWS of `claims` signed with `key`: HS256 for an `HmacKey`, EdDSA for an
/// `Ed25519PrivateKey` (`headers={"alg": "Ed25519"}` picks the RFC 9864 name). The header is
/// `{"alg", "typ": "JWT", "kid"}` updated with `headers` (a `None` value removes a member).
#[pyfunction]
#[pyo3(signature = (key, claims, *, headers=None))]
pub fn sign_jwt(
    py: Python<'_>,
    key: &Bound<'_, PyAny>,
    claims: &Bound<'_, PyAny>,
    headers: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let Some(core) = core_key(key) else {
        return Err(PyTypeError::new_err(format!(
            "sign_jwt needs an HmacKey or Ed25519PrivateKey, not {}",
            type_name(key)
        )));
    };
    let alg = if key.cast_exact::<HmacKey>().is_ok() {
        JwtAlg::Hs256
    } else {
        JwtAlg::EdDsa
    };
    let mut header = PyDict::new(py);
    header.set_item("alg", alg.as_str())?;
    header.set_item("typ", "JWT")?;
    header.set_item("kid", core.kid())?;
    if truthy(headers)? {
        header.call_method1("update", (headers.expect("truthy"),))?;
        let kept = PyDict::new(py);
        for (name, value) in header.iter() {
            if !value.is_none() {
                kept.set_item(name, value)?;
            }
        }
        header = kept;
    }
    let mut converter = Converter::new(Mode::Orjson);
    let header = converter.value(header.as_any(), 0)?;
    let claims = converter.value(claims, 0)?;
    let token = core_jwt::sign_jwt_with_header(&core, &header, &claims)
        .map_err(|err| verify_err(py, &err, CHALLENGE, None))?;
    // What orjson would refuse is refused once the checks before it passed.
    if let Some(err) = converter.take_error(py) {
        return Err(err);
    }
    Ok(token)
}

// ---- Policy --------------------------------------------------------------------------------------

/// Which scopes a method (and target name) requires: keys `"<method>:<name>"`, `"<method>"` and
/// `"*"`; the most specific key present wins and its value lists the scopes that must all be held.
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct ScopePolicy {
    /// The rules as given (keys as passed, values deduplicated tuples), for `rules` and `repr`.
    rules: Py<PyDict>,
    /// The same table for the per-request decision.
    table: HashMap<String, Vec<String>>,
}

fn scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

impl ScopePolicy {
    fn rule_for(&self, method: &str, name: Option<&str>) -> &[String] {
        if let Some(name) = name {
            if let Some(scopes) = self.table.get(&format!("{method}:{name}")) {
                return scopes;
            }
        }
        self.table
            .get(method)
            .or_else(|| self.table.get("*"))
            .map_or(&[], Vec::as_slice)
    }

    /// `Forbidden` naming the scopes `held` lacks, or `Unauthenticated` without a principal.
    fn decide<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        name: Option<&str>,
        held: Option<&dyn Fn(&str) -> bool>,
        request_id: &dyn Fn() -> PyResult<Bound<'py, PyAny>>,
    ) -> PyResult<()> {
        let required = self.rule_for(method, name);
        if required.is_empty() {
            return Ok(());
        }
        let Some(held) = held else {
            return Err(unauthenticated(
                py,
                msg::AUTHENTICATION_REQUIRED,
                CHALLENGE,
                Some(&request_id()?),
            ));
        };
        let missing: Vec<&str> = required
            .iter()
            .map(String::as_str)
            .filter(|s| !held(s))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let wanted = missing.join(" ");
        let challenge = format!("Bearer error=\"insufficient_scope\", scope=\"{wanted}\"");
        Err(rejection(
            py,
            "Forbidden",
            -32011,
            &format!("insufficient scope: {wanted}"),
            &challenge,
            Some(&request_id()?),
        ))
    }
}

#[pymethods]
impl ScopePolicy {
    #[new]
    fn py_new(py: Python<'_>, rules: &Bound<'_, PyAny>) -> PyResult<Self> {
        if rules.cast::<PyMapping>().is_err() {
            return Err(PyTypeError::new_err(
                "rules is a mapping of rule key to required scopes",
            ));
        }
        let parsed = PyDict::new(py);
        let mut table = HashMap::new();
        for item in rules.call_method0("items")?.try_iter()? {
            let (key, scopes): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            let Ok(key_str) = key.cast::<PyString>() else {
                return Err(PyTypeError::new_err(format!(
                    "rule keys are str, not {}",
                    type_name(&key)
                )));
            };
            if scopes.is_instance_of::<PyString>() || scopes.is_instance_of::<PyBytes>() {
                return Err(PyTypeError::new_err(format!(
                    "the scopes of rule {} must be a list of str, not a single string",
                    py_repr(&key)?
                )));
            }
            let mut unique: Vec<String> = Vec::new();
            for scope in py
                .get_type::<PyTuple>()
                .call1((scopes,))?
                .cast::<PyTuple>()?
                .iter()
            {
                let text = scope
                    .cast::<PyString>()
                    .ok()
                    .and_then(|s| s.to_str().ok())
                    .filter(|s| scope_token(s));
                let Some(text) = text else {
                    return Err(PyValueError::new_err(format!(
                        "rule {}: a scope is a non-empty RFC 6749 scope-token (printable ASCII, no space, quote or backslash)",
                        py_repr(&key)?
                    )));
                };
                if !unique.iter().any(|s| s == text) {
                    unique.push(text.to_owned());
                }
            }
            parsed.set_item(&key, PyTuple::new(py, &unique)?)?;
            table.insert(key_str.to_str()?.to_owned(), unique);
        }
        Ok(ScopePolicy {
            rules: parsed.unbind(),
            table,
        })
    }

    #[getter]
    fn rules<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.rules.bind(py).copy()
    }

    /// The scopes the most specific matching rule requires (`()` when none matches).
    #[pyo3(name = "required", signature = (method, name=None))]
    fn py_required<'py>(
        &self,
        py: Python<'py>,
        method: &Bound<'py, PyAny>,
        name: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let rules = self.rules.bind(py);
        if let Some(name) = name.filter(|n| !n.is_none()) {
            let key = format!("{}:{}", method.str()?.to_str()?, name.str()?.to_str()?);
            if let Some(scopes) = rules.get_item(key)? {
                return Ok(scopes.cast_into::<PyTuple>()?);
            }
        }
        for key in [method.clone(), PyString::new(py, "*").into_any()] {
            if key.is_instance_of::<PyString>() {
                if let Some(scopes) = rules.get_item(key)? {
                    return Ok(scopes.cast_into::<PyTuple>()?);
                }
            }
        }
        Ok(PyTuple::empty(py))
    }

    /// Raise `Forbidden` (-32011, 403) naming the scopes `principal` lacks for `request`, or
    /// `Unauthenticated` (-32010, 401, "authentication required") when scopes are required and
    /// there is no principal.
    fn check(
        &self,
        py: Python<'_>,
        principal: &Bound<'_, PyAny>,
        request: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let required = self.py_required(
            py,
            &request.getattr("method")?,
            request.getattr("name").ok().as_ref(),
        )?;
        if required.is_empty() {
            return Ok(());
        }
        let request_id = request
            .getattr("id")
            .ok()
            .unwrap_or_else(|| py.None().into_bound(py));
        if principal.is_none() {
            return Err(unauthenticated(
                py,
                msg::AUTHENTICATION_REQUIRED,
                CHALLENGE,
                Some(&request_id),
            ));
        }
        let held = py
            .get_type::<pyo3::types::PySet>()
            .call1((principal.getattr("scopes")?,))?;
        let mut missing = Vec::new();
        for scope in required.iter() {
            if !held.contains(&scope)? {
                missing.push(scope.cast::<PyString>()?.to_str()?.to_owned());
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let wanted = missing.join(" ");
        let challenge = format!("Bearer error=\"insufficient_scope\", scope=\"{wanted}\"");
        Err(rejection(
            py,
            "Forbidden",
            -32011,
            &format!("insufficient scope: {wanted}"),
            &challenge,
            Some(&request_id),
        ))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "ScopePolicy({})",
            py_repr(self.rules.bind(py).as_any())?
        ))
    }
}

// ---- Gate ----------------------------------------------------------------------------------------

/// Where the bearer token was found.
enum Presented<'v, 'a> {
    Header(String),
    Meta(&'v Value<'a>),
    Nothing,
}

/// `Gate(envelope=EnvelopeVerifier(...), jwt=JwtVerifier(...), policy=ScopePolicy(...))`: decode
/// (+ ladder) → bearer token → JWT → signed envelope → scope policy, in one native call, no I/O.
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct Gate {
    envelope: Option<Py<EnvelopeVerifier>>,
    jwt: Option<Py<JwtVerifier>>,
    policy: Option<Py<ScopePolicy>>,
    require_envelope: bool,
    require_token: bool,
    limits: ladder::Limits,
    supported: Vec<String>,
}

fn optional_instance<T: pyo3::PyClass + pyo3::PyTypeInfo>(
    value: Option<&Bound<'_, PyAny>>,
    what: &str,
    class: &str,
) -> PyResult<Option<Py<T>>> {
    match value.filter(|v| !v.is_none()) {
        None => Ok(None),
        Some(v) => match v.cast::<T>() {
            Ok(t) => Ok(Some(t.clone().unbind())),
            Err(_) => Err(PyTypeError::new_err(format!(
                "{what} must be {class}, not {}",
                type_name(v)
            ))),
        },
    }
}

impl Gate {
    /// The token of a request: `Authorization: Bearer <t>` (scheme case-insensitive), else the
    /// `_meta` token member, else nothing. Two `Authorization` headers are refused.
    fn presented<'v, 'a>(
        py: Python<'_>,
        pairs: Option<&[(String, String)]>,
        meta: Option<&'v Value<'a>>,
        request_id: &RequestId,
    ) -> PyResult<Presented<'v, 'a>> {
        if let Some(pairs) = pairs {
            let mut values = pairs
                .iter()
                .filter(|(name, _)| name == "authorization")
                .map(|(_, value)| value);
            let first = values.next();
            if values.next().is_some() {
                let request_id = request_id_to_py(py, &Some(request_id.clone()))?;
                return Err(unauthenticated(
                    py,
                    msg::MALFORMED_TOKEN,
                    INVALID_TOKEN,
                    Some(&request_id),
                ));
            }
            if let Some(value) = first {
                let value = value.trim_matches(|c| c == ' ' || c == '\t');
                let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
                if scheme.to_lowercase() == "bearer" {
                    return Ok(Presented::Header(rest.trim_start_matches(' ').to_owned()));
                }
            }
        }
        match meta.and_then(|m| m.get(TOKEN_MEMBER)) {
            Some(token) => Ok(Presented::Meta(token)),
            None => Ok(Presented::Nothing),
        }
    }
}

#[pymethods]
impl Gate {
    #[new]
    #[pyo3(signature = (envelope=None, jwt=None, policy=None, require_envelope=None, require_token=None, *, limits=None, supported_versions=Arg::Omitted),
        text_signature = "(envelope=None, jwt=None, policy=None, require_envelope=None, require_token=None, *, limits=None, supported_versions=['2026-07-28'])")]
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        py: Python<'_>,
        envelope: Option<&Bound<'_, PyAny>>,
        jwt: Option<&Bound<'_, PyAny>>,
        policy: Option<&Bound<'_, PyAny>>,
        require_envelope: Option<&Bound<'_, PyAny>>,
        require_token: Option<&Bound<'_, PyAny>>,
        limits: Option<&Bound<'_, PyAny>>,
        supported_versions: Arg<'_>,
    ) -> PyResult<Self> {
        let envelope =
            optional_instance::<EnvelopeVerifier>(envelope, "envelope", "an EnvelopeVerifier")?;
        let jwt = optional_instance::<JwtVerifier>(jwt, "jwt", "a JwtVerifier")?;
        let policy = optional_instance::<ScopePolicy>(policy, "policy", "a ScopePolicy")?;
        let limits = match limits.filter(|l| !l.is_none()) {
            None => None,
            Some(l) => {
                let class = cached_attr(py, &LIMITS_CLASS, "mcp_fastpath.limits", "Limits")?;
                if !l.is_instance(&class)? {
                    return Err(PyTypeError::new_err("limits must be a Limits"));
                }
                Some(l)
            }
        };
        let flag = |given: Option<&Bound<'_, PyAny>>, default: bool| -> PyResult<bool> {
            match given.filter(|g| !g.is_none()) {
                None => Ok(default),
                Some(g) => g.is_truthy(),
            }
        };
        let require_envelope = flag(require_envelope, envelope.is_some())?;
        let require_token = flag(require_token, jwt.is_some())?;
        if require_envelope && envelope.is_none() {
            return Err(PyValueError::new_err(
                "require_envelope=True needs an EnvelopeVerifier",
            ));
        }
        if require_token && jwt.is_none() {
            return Err(PyValueError::new_err(
                "require_token=True needs a JwtVerifier",
            ));
        }
        let supported = match supported_versions {
            Arg::Omitted => vec!["2026-07-28".to_owned()],
            Arg::Given(versions) => versions
                .try_iter()?
                .map(|v| v?.extract::<String>())
                .collect::<PyResult<_>>()?,
        };
        Ok(Gate {
            envelope,
            jwt,
            policy,
            require_envelope,
            require_token,
            limits: read_limits(limits)?,
            supported,
        })
    }

    #[getter]
    fn envelope(&self, py: Python<'_>) -> Option<Py<EnvelopeVerifier>> {
        self.envelope.as_ref().map(|e| e.clone_ref(py))
    }

    #[getter]
    fn jwt(&self, py: Python<'_>) -> Option<Py<JwtVerifier>> {
        self.jwt.as_ref().map(|j| j.clone_ref(py))
    }

    #[getter]
    fn policy(&self, py: Python<'_>) -> Option<Py<ScopePolicy>> {
        self.policy.as_ref().map(|p| p.clone_ref(py))
    }

    #[getter]
    fn require_envelope(&self) -> bool {
        self.require_envelope
    }

    #[getter]
    fn require_token(&self) -> bool {
        self.require_token
    }

    /// Decode and verify one POST body. Raises `Rejection` (decode), `Unauthenticated`,
    /// `Forbidden`; every rejection after decoding carries the request id.
    #[pyo3(signature = (body, headers=None, *, now=None))]
    fn admit<'py>(
        &self,
        py: Python<'py>,
        body: &Bound<'py, PyAny>,
        headers: Option<&Bound<'py, PyAny>>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Admitted> {
        let now = Now::new(py, now);
        // Decode, as `decode(body, headers, limits=…, supported_versions=…)`.
        let body = read_body(body)?;
        let value =
            ladder::parse_body(body.as_bytes(), &self.limits).map_err(|r| to_py_err(py, &r))?;
        let pairs = match headers.filter(|h| !h.is_none()) {
            Some(h) if value.is_object() => Some(header_pairs(h)?),
            _ => None,
        };
        let routing = pairs.as_ref().map(|pairs| {
            let mut routing = RoutingHeaders::default();
            for (name, value) in pairs {
                routing.push(name, value);
            }
            routing
        });
        let request = match ladder::classify(&value, routing.as_ref(), &self.supported)
            .map_err(|r| to_py_err(py, &r))?
        {
            Message::Request(request) => request,
            notification @ Message::Notification { .. } => {
                let notification = message_to_py(py, notification)?;
                return Ok(Admitted {
                    request: notification.unbind(),
                    principal: py.None(),
                    signature: py.None(),
                });
            }
            // Only reachable with headers=None (a response posted on a non-HTTP transport).
            _ => {
                return Err(to_py_err(
                    py,
                    &Rejection::new(fastpath_codec::rejection::INVALID_REQUEST, NOT_ONE_MESSAGE),
                ))
            }
        };
        // The Python id, for rejections only.
        let rid = || request_id_to_py(py, &Some(request.id.clone()));
        let meta = request.params.get("_meta");

        // Token → JWT.
        let mut verified: Option<Arc<Verified>> = None;
        if let Some(jwt) = &self.jwt {
            let jwt = jwt.get();
            let presented = Gate::presented(py, pairs.as_deref(), meta, &request.id)?;
            let token = match &presented {
                Presented::Header(text) => Some(Token::Text(text.as_str())),
                Presented::Meta(Value::Str(text)) => Some(Token::Text(text.as_ref())),
                Presented::Meta(_) => Some(Token::NotText),
                Presented::Nothing => None,
            };
            match token {
                None if self.require_token => {
                    return Err(unauthenticated(
                        py,
                        msg::AUTHENTICATION_REQUIRED,
                        CHALLENGE,
                        Some(&rid()?),
                    ))
                }
                None => {}
                Some(token) => match jwt.verify_token(token, &now)? {
                    Ok(v) => verified = Some(v),
                    Err(err) => return Err(verify_err(py, &err, INVALID_TOKEN, Some(&rid()?))),
                },
            }
        }

        // Envelope, over the parsed tree.
        let mut signature = None;
        if let Some(envelope) = &self.envelope {
            let present = meta.and_then(|m| m.get(SIG_MEMBER)).is_some();
            if present || self.require_envelope {
                if !present {
                    return Err(unauthenticated(
                        py,
                        msg::NOT_SIGNED,
                        CHALLENGE,
                        Some(&rid()?),
                    ));
                }
                // What is verified is `{"jsonrpc", "id", "method", "params"}` (the pure twin rebuilds
                // it from the decoded `Request`): the body itself when it holds nothing else.
                let only_request_members = matches!(&value, Value::Object(members)
                    if members.iter().all(|(k, _)| matches!(k.as_ref(), "jsonrpc" | "id" | "method" | "params")));
                let rebuilt;
                let message = if only_request_members {
                    &value
                } else {
                    let id = match &request.id {
                        RequestId::Int(i) => Value::Int(*i),
                        RequestId::Str(s) => Value::Str(Cow::Borrowed(s.as_str())),
                    };
                    rebuilt = Value::Object(vec![
                        (Cow::Borrowed("jsonrpc"), Value::Str(Cow::Borrowed("2.0"))),
                        (Cow::Borrowed("id"), id),
                        (
                            Cow::Borrowed("method"),
                            Value::Str(Cow::Borrowed(request.method)),
                        ),
                        (Cow::Borrowed("params"), request.params.clone()),
                    ]);
                    &rebuilt
                };
                match envelope.get().check(py, message, &now, None)? {
                    Ok(info) => signature = info,
                    Err(err) => return Err(verify_err(py, &err, CHALLENGE, Some(&rid()?))),
                }
            }
        }

        // Policy.
        if let Some(policy) = &self.policy {
            let held = verified
                .as_ref()
                .map(|v| move |scope: &str| v.core.scopes.iter().any(|s| s == scope));
            let held_ref: Option<&dyn Fn(&str) -> bool> =
                held.as_ref().map(|f| f as &dyn Fn(&str) -> bool);
            policy
                .get()
                .decide(py, request.method, request.name, held_ref, &rid)?;
        }

        // Everything passed: now the Python objects.
        let request = request_to_py(py, &request)?;
        let principal = match &verified {
            Some(v) => v.principal(py)?.into_any().unbind(),
            None => py.None(),
        };
        let signature = match &signature {
            Some(info) => Py::new(py, SignatureInfo::from_core(py, info)?)?.into_any(),
            None => py.None(),
        };
        Ok(Admitted {
            request: request.unbind(),
            principal,
            signature,
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let repr = |obj: Option<Bound<'_, PyAny>>| -> PyResult<String> {
            match obj {
                Some(o) => py_repr(&o),
                None => Ok("None".to_owned()),
            }
        };
        Ok(format!(
            "Gate(envelope={}, jwt={}, policy={}, require_envelope={}, require_token={})",
            repr(
                self.envelope
                    .as_ref()
                    .map(|e| e.bind(py).clone().into_any())
            )?,
            repr(self.jwt.as_ref().map(|j| j.bind(py).clone().into_any()))?,
            repr(self.policy.as_ref().map(|p| p.bind(py).clone().into_any()))?,
            if self.require_envelope {
                "True"
            } else {
                "False"
            },
            if self.require_token { "True" } else { "False" }
        ))
    }
}

/// Register the verification classes and functions on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("InvalidBase64", m.py().get_type::<InvalidBase64>())?;
    m.add_class::<HmacKey>()?;
    m.add_class::<Ed25519PublicKey>()?;
    m.add_class::<Ed25519PrivateKey>()?;
    m.add_class::<KeyRing>()?;
    m.add_class::<SignatureInfo>()?;
    m.add_class::<Principal>()?;
    m.add_class::<Admitted>()?;
    m.add_class::<EnvelopeSigner>()?;
    m.add_class::<EnvelopeVerifier>()?;
    m.add_class::<JwtVerifier>()?;
    m.add_class::<ScopePolicy>()?;
    m.add_class::<Gate>()?;
    m.add_function(wrap_pyfunction!(b64url_encode, m)?)?;
    m.add_function(wrap_pyfunction!(b64url_decode, m)?)?;
    m.add_function(wrap_pyfunction!(canonicalize, m)?)?;
    m.add_function(wrap_pyfunction!(signing_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(sign_jwt, m)?)?;
    Ok(())
}
