//! Binds signed envelopes: `EnvelopeSigner`, `EnvelopeVerifier` and the `SignatureInfo` a
//! verification returns, over `fastpath_verify::envelope`. Twin of `mcp_fastpath._pure.envelope`.
//! A message dict is shallow-copied the way the pure twin copies it; its tree is signed and
//! verified by the core, stage by stage, so that what the binding could not read (a value of no
//! JSON type, a lone surrogate) and the `now=` argument are reported at the step that reads them.

use std::borrow::Cow;
use std::sync::Arc;

use fastpath_codec::{encode, Value};
use fastpath_verify::b64url;
use fastpath_verify::envelope::{self as core_envelope, EnvelopeOptions, NONCE_BYTES, SIG_MEMBER};
use fastpath_verify::errors::{msg, Check};
use fastpath_verify::keys::Key;
use fastpath_verify::{Clock, VerifyError};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyString};

use super::jcs::{Converter, Mode};
use super::keyring::{as_keyring, KeyRing};
use super::keys::core_key;
use super::{
    bool_repr, fields_eq, fields_repr, invalid_key, opt_py_str, opt_str_repr, py_repr,
    seconds_option, str_repr, tuple_of, type_name, urandom, verify_error, Arg, Now,
};
use crate::messages;
use crate::to_python::value_to_py;

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
            kid: PyString::new(py, &info.kid).into_any().unbind(),
            alg: PyString::new(py, info.alg).into_any().unbind(),
            iat: info.iat.into_pyobject(py)?.into_any().unbind(),
            nonce: PyString::new(py, &b64url::encode(&info.nonce))
                .into_any()
                .unbind(),
            aud: opt_py_str(py, info.aud.as_deref()),
        })
    }

    fn fields(&self) -> Vec<&Py<PyAny>> {
        vec![&self.kid, &self.alg, &self.iat, &self.nonce, &self.aud]
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
        fields_eq(py, other, SignatureInfo::fields, &self.fields())
    }

    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        tuple_of(py, &self.fields())?.hash()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let names = ["kid", "alg", "iat", "nonce", "aud"];
        let fields: Vec<_> = names.into_iter().zip(self.fields()).collect();
        fields_repr(py, "SignatureInfo", &fields)
    }
}

/// The `audience` argument: a Unicode `str`, or `None`.
fn audience_of(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let text = value
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err("audience must be a str or None"))?;
    match text.to_str() {
        Ok(text) => Ok(Some(text.to_owned())),
        Err(_) => Err(PyValueError::new_err(
            "audience must be valid Unicode (it holds a lone surrogate)",
        )),
    }
}

/// The member that carries `_meta`: `result` for a response, else `params`.
fn carrier(message: &Bound<'_, PyDict>) -> PyResult<&'static str> {
    let response = !message.contains("method")? && message.contains("result")?;
    Ok(if response { "result" } else { "params" })
}

// ---- Signing -------------------------------------------------------------------------------------

/// Signs messages with one private key (`HmacKey` or `Ed25519PrivateKey`), optionally for one
/// audience (the server URI).
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct EnvelopeSigner {
    key: Key,
    audience: Option<String>,
}

/// A signed message: the pure twin's shallow copies, the signed tree and the envelope.
struct Signed<'py> {
    message: Bound<'py, PyDict>,
    meta: Bound<'py, PyDict>,
    tree: Value<'static>,
    envelope: Value<'static>,
}

impl EnvelopeSigner {
    /// Check and copy `message` as the pure twin does (same order: the message, the nonce, the
    /// carrier and `_meta`, `now`), then sign its tree with the core.
    fn sign_message<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
        nonce: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Signed<'py>> {
        let cannot = |why: &str| {
            let err = VerifyError::new(Check::CannotSign, format!("{}: {why}", msg::CANNOT_SIGN));
            verify_error(py, &err, None)
        };
        let Ok(message) = message.cast::<PyDict>() else {
            return Err(cannot("not a JSON object"));
        };
        let outer = carrier(message)?;
        let nonce = match nonce.filter(|n| !n.is_none()) {
            None => urandom(py, NONCE_BYTES)?.as_bytes().to_vec(),
            Some(n) => match (n.cast::<PyBytes>(), n.cast::<PyByteArray>()) {
                (Ok(b), _) => b.as_bytes().to_vec(),
                (_, Ok(b)) => b.to_vec(),
                _ => Vec::new(),
            },
        };
        let nonce: [u8; NONCE_BYTES] = nonce
            .try_into()
            .map_err(|_| PyValueError::new_err(format!("nonce must be {NONCE_BYTES} bytes")))?;
        let copy_of =
            |value: Option<Bound<'py, PyAny>>, why: &str| -> PyResult<Bound<'py, PyDict>> {
                match value.filter(|v| !v.is_none()) {
                    None => Ok(PyDict::new(py)),
                    Some(v) => v.cast::<PyDict>().map_err(|_| cannot(why))?.copy(),
                }
            };
        let signed = message.copy()?;
        let container = copy_of(
            message.get_item(outer)?,
            &format!("{outer} is not an object"),
        )?;
        let meta = copy_of(container.get_item("_meta")?, "_meta is not an object")?;
        let iat = Now::new(py, now).unix_millis()?;
        container.set_item("_meta", &meta)?;
        signed.set_item(outer, &container)?;

        let mut converter = Converter::new(Mode::Jcs);
        let mut tree = converter.value(signed.as_any(), 0)?;
        let outcome = core_envelope::sign_envelope(
            &mut tree,
            &self.key,
            self.audience.as_deref(),
            iat,
            nonce,
        );
        if let Some(err) = converter.take_error(py) {
            return Err(err);
        }
        let envelope = outcome.map_err(|err| verify_error(py, &err, None))?;
        Ok(Signed {
            message: signed,
            meta,
            tree,
            envelope,
        })
    }

    fn sign_dict<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
        nonce: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let signed = self.sign_message(py, message, now, nonce)?;
        signed
            .meta
            .set_item(SIG_MEMBER, value_to_py(py, &signed.envelope)?)?;
        Ok(signed.message)
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
        let Some(key) = core_key(private_key) else {
            return Err(PyTypeError::new_err(format!(
                "an EnvelopeSigner needs an HmacKey or Ed25519PrivateKey, not {}",
                type_name(private_key)
            )));
        };
        if !key.can_sign() {
            return Err(invalid_key(py, msg::PUBLIC_CANNOT_SIGN));
        }
        Ok(EnvelopeSigner {
            key,
            audience: audience_of(audience)?,
        })
    }

    #[getter]
    fn kid(&self) -> &str {
        self.key.kid()
    }

    #[getter]
    fn alg(&self) -> Option<&'static str> {
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
        let signed = self.sign_message(py, message, now, nonce)?;
        let mut out = Vec::with_capacity(512);
        encode::write_value(&mut out, &signed.tree);
        Ok(PyBytes::new(py, &out))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "EnvelopeSigner(kid={}, alg={}, audience={})",
            str_repr(py, self.key.kid())?,
            opt_str_repr(py, self.key.envelope_alg())?,
            opt_str_repr(py, self.audience.as_deref())?
        ))
    }
}

// ---- Verifying -----------------------------------------------------------------------------------

/// Verifies `dev.mcp-fastpath/sig` envelopes against a key ring (docs/verification.md).
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct EnvelopeVerifier {
    keyring: Py<KeyRing>,
    max_skew_s: Py<PyAny>,
    pub(super) core: Arc<core_envelope::EnvelopeVerifier>,
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
        let audience = audience_of(audience)?;
        let max_skew_s = max_skew_s.or_int(py, 60)?;
        let seconds = seconds_option(
            &max_skew_s,
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
        let options = EnvelopeOptions {
            audience,
            max_skew_ms: max_skew_ms as i64,
            require,
        };
        let core = core_envelope::EnvelopeVerifier::new(keyring.get().ring.clone(), options);
        Ok(EnvelopeVerifier {
            keyring,
            max_skew_s: max_skew_s.unbind(),
            core: Arc::new(core),
        })
    }

    #[getter]
    fn keyring(&self, py: Python<'_>) -> Py<KeyRing> {
        self.keyring.clone_ref(py)
    }

    #[getter]
    fn audience(&self) -> Option<&str> {
        self.core.options().audience.as_deref()
    }

    #[getter]
    fn max_skew_s(&self, py: Python<'_>) -> Py<PyAny> {
        self.max_skew_s.clone_ref(py)
    }

    #[getter]
    fn require(&self) -> bool {
        self.core.options().require
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
        let refused = |err: VerifyError| verify_error(py, &err, None);
        let mut converter = Converter::new(Mode::Jcs);
        // Presence is read from the Python objects (exact dicts, as the pure twin looks); an
        // unsigned message goes to the core as `{}`.
        let tree = match locate(py, request)? {
            Located::Dict(message) if has_envelope(message.get_item(carrier(&message)?)?)? => {
                converter.value(message.as_any(), 0)?
            }
            Located::Members(members)
                if has_envelope(Some(members[members.len() - 1].1.clone()))? =>
            {
                let mut object = Vec::with_capacity(members.len());
                for (name, item) in &members {
                    object.push((Cow::Borrowed(*name), converter.value(item, 1)?));
                }
                Value::Object(object)
            }
            _ => Value::Object(Vec::new()),
        };
        // Steps 1–4, then what could not be read from the message (step 5 reads it), 5–6, the
        // time, 7–8.
        let Some(opened) = self.core.open(&tree).map_err(refused)? else {
            return Ok(None);
        };
        if let Some(err) = converter.take_error(py) {
            return Err(err);
        }
        let signed = opened.check_signature().map_err(refused)?;
        let now_ms = Now::new(py, now).unix_millis()?;
        let info = signed.check_window(now_ms).map_err(refused)?;
        Ok(Some(SignatureInfo::from_core(py, &info)?))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let options = self.core.options();
        Ok(format!(
            "EnvelopeVerifier(keys={}, audience={}, max_skew_s={}, require={})",
            self.keyring.get().objects.len(),
            opt_str_repr(py, options.audience.as_deref())?,
            py_repr(self.max_skew_s.bind(py))?,
            bool_repr(options.require)
        ))
    }
}

/// Whether `params`/`result` holds `_meta["dev.mcp-fastpath/sig"]` (exact dicts only).
fn has_envelope(carrier: Option<Bound<'_, PyAny>>) -> PyResult<bool> {
    let Some(Ok(carrier)) = carrier.as_ref().map(|c| c.cast_exact::<PyDict>()) else {
        return Ok(false);
    };
    match carrier.get_item("_meta")? {
        Some(meta) => match meta.cast_exact::<PyDict>() {
            Ok(meta) => meta.contains(SIG_MEMBER),
            Err(_) => Ok(false),
        },
        None => Ok(false),
    }
}

static PURE_MESSAGES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// What `verify` was given: a message dict, or the members of the message a decoded `Request`
/// (`jsonrpc`, `id`, `method`, `params`) or `Response` (`jsonrpc`, `id`, `result`) stands for,
/// the carrier of `_meta` last.
enum Located<'py> {
    Dict(Bound<'py, PyDict>),
    Members(Vec<(&'static str, Bound<'py, PyAny>)>),
}

fn locate<'py>(py: Python<'py>, obj: &Bound<'py, PyAny>) -> PyResult<Located<'py>> {
    let version = || PyString::new(py, "2.0").into_any();
    let members = |names: &[&'static str]| -> PyResult<Located<'py>> {
        let mut members = vec![("jsonrpc", version())];
        for name in names {
            members.push((*name, obj.getattr(*name)?));
        }
        Ok(Located::Members(members))
    };
    let (request, response) = (["id", "method", "params"], ["id", "result"]);
    if obj.cast_exact::<messages::Request>().is_ok() {
        return members(&request);
    }
    if obj.cast_exact::<messages::Response>().is_ok() {
        return members(&response);
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        return Ok(Located::Dict(dict.clone()));
    }
    // The pure twin's classes are imported only for what is none of the above.
    let pure = PURE_MESSAGES
        .get_or_try_init(py, || {
            py.import("mcp_fastpath._pure.messages")
                .map(|m| m.into_any().unbind())
        })?
        .bind(py);
    if obj.is_instance(&pure.getattr("Request")?)? {
        return members(&request);
    }
    if obj.is_instance(&pure.getattr("Response")?)? {
        return members(&response);
    }
    Err(PyTypeError::new_err(format!(
        "verify takes a decoded Request or Response, or a message dict, not {}",
        type_name(obj)
    )))
}
