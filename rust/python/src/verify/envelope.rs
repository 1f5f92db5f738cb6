//! Binds signed envelopes: `EnvelopeSigner`, `EnvelopeVerifier` and the `SignatureInfo` a
//! verification returns, over `fastpath_verify::envelope`. Twin of `mcp_fastpath._pure.envelope`.
//! Messages are shallow-copied and checked in the pure twin's order, their trees signed and
//! verified by the core; a bad `now` or a non-JSON member is reported at the step where the pure
//! twin would meet it.

use std::borrow::Cow;

use fastpath_codec::{encode, Value};
use fastpath_verify::b64url;
use fastpath_verify::envelope::{self as core_envelope, NONCE_BYTES, SIG_MEMBER};
use fastpath_verify::errors::msg;
use fastpath_verify::keys::Key;
use fastpath_verify::{EnvelopeOptions, VerifyError};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyString};

use super::jcs::{Converter, Mode};
use super::keys::{as_keyring, core_key, Ed25519PublicKey, KeyRing};
use super::{
    bool_repr, fields_equal, fields_repr, invalid_key, opt_py_str, opt_str_repr, py_repr, py_str,
    rich_eq, seconds_option, str_repr, tuple_of, type_name, unauthenticated, urandom, verify_err,
    Arg, Now, CHALLENGE,
};
use crate::messages;
use crate::pyjson::value_to_py;

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
    pub(super) fn from_core(py: Python<'_>, info: &core_envelope::SignatureInfo) -> PyResult<Self> {
        Ok(SignatureInfo {
            kid: py_str(py, &info.kid),
            alg: py_str(py, info.alg),
            iat: info.iat.into_pyobject(py)?.into_any().unbind(),
            nonce: py_str(py, &b64url::encode(&info.nonce)),
            aud: opt_py_str(py, info.aud.as_deref()),
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
        rich_eq(py, other, |other: &SignatureInfo| {
            fields_equal(py, &self.fields(), &other.fields())
        })
    }

    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        tuple_of(py, &self.fields())?.hash()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        fields_repr(
            py,
            "SignatureInfo",
            &[
                ("kid", &self.kid),
                ("alg", &self.alg),
                ("iat", &self.iat),
                ("nonce", &self.nonce),
                ("aud", &self.aud),
            ],
        )
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
        let outer = carrier(message)?;
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

/// The member that carries `_meta`: `result` for a response, else `params` (the pure `sig_path`).
fn carrier(message: &Bound<'_, PyDict>) -> PyResult<&'static str> {
    Ok(
        if !message.contains("method")? && message.contains("result")? {
            "result"
        } else {
            "params"
        },
    )
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
    pub(super) fn check(
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

static PURE_MESSAGES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

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
        let max_skew_obj = max_skew_s.or_int(py, 60)?;
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
                let outer = carrier(&message)?;
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
            bool_repr(self.options.require)
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
