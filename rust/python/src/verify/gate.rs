//! Binds the gate: `Gate`, which admits one POST body in one native call, and the `Admitted` it
//! returns. Twin of `mcp_fastpath._pure.gate`. The body is decoded once (codec), the core's
//! `Gate::admit` runs token, envelope and policy over that tree, and the Python `Request`,
//! `Principal`, `SignatureInfo` and `Admitted` are built only once everything passed.

use fastpath_codec::headers::RoutingHeaders;
use fastpath_codec::ladder::{self, Message, Parse, RequestSpans};
use fastpath_codec::Rejection;
use fastpath_verify::gate::{Gate as CoreGate, TOKEN_MEMBER};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use super::envelope::{EnvelopeVerifier, SignatureInfo};
use super::jwt::{JwtVerifier, Verified};
use super::policy::ScopePolicy;
use super::{
    bool_repr, cached_attr, failure_error, fields_eq, fields_repr, py_repr, type_name, Now,
};
use crate::codec::{
    header_pairs, message_to_py, read_body, read_limits, request_to_py, supported_list,
};
use crate::errors::{request_id_to_py, to_py_err};

const NOT_ONE_MESSAGE: &str = "Body must be a single JSON-RPC request or notification object";

static LIMITS_CLASS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

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

impl Admitted {
    fn fields(&self) -> Vec<&Py<PyAny>> {
        vec![&self.request, &self.principal, &self.signature]
    }
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
        fields_eq(py, other, Admitted::fields, &self.fields())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let fields: Vec<_> = ["request", "principal", "signature"]
            .into_iter()
            .zip(self.fields())
            .collect();
        fields_repr(py, "Admitted", &fields)
    }
}

/// `Gate(envelope=EnvelopeVerifier(...), jwt=JwtVerifier(...), policy=ScopePolicy(...))`: decode
/// (+ ladder) → bearer token → JWT → signed envelope → scope policy, in one native call, no I/O.
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct Gate {
    envelope: Option<Py<EnvelopeVerifier>>,
    jwt: Option<Py<JwtVerifier>>,
    policy: Option<Py<ScopePolicy>>,
    core: CoreGate<Verified>,
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

/// `repr` of an optional part, `None` when absent.
fn opt_repr<T>(py: Python<'_>, part: Option<&Py<T>>) -> PyResult<String> {
    match part {
        Some(p) => py_repr(p.bind(py).as_any()),
        None => Ok("None".to_owned()),
    }
}

#[pymethods]
impl Gate {
    #[new]
    #[pyo3(signature = (envelope=None, jwt=None, policy=None, require_envelope=None, require_token=None, *, limits=None, supported_versions=None))]
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        py: Python<'_>,
        envelope: Option<&Bound<'_, PyAny>>,
        jwt: Option<&Bound<'_, PyAny>>,
        policy: Option<&Bound<'_, PyAny>>,
        require_envelope: Option<&Bound<'_, PyAny>>,
        require_token: Option<&Bound<'_, PyAny>>,
        limits: Option<&Bound<'_, PyAny>>,
        supported_versions: Option<&Bound<'_, PyAny>>,
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
            given
                .filter(|g| !g.is_none())
                .map_or(Ok(default), |g| g.is_truthy())
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
        // None: the versions this package serves, as for `decode`.
        let supported = supported_list(supported_versions.filter(|v| !v.is_none()))?;
        let core = CoreGate {
            envelope: envelope.as_ref().map(|e| e.get().core.clone()),
            jwt: jwt.as_ref().map(|j| j.get().core.clone()),
            policy: policy.as_ref().map(|p| p.get().core.clone()),
            require_envelope,
            require_token,
        };
        Ok(Gate {
            envelope,
            jwt,
            policy,
            core,
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
        self.core.require_envelope
    }

    #[getter]
    fn require_token(&self) -> bool {
        self.core.require_token
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
        // Decode, as `decode(body, headers, limits=…, supported_versions=…)`.
        let body = read_body(body)?;
        // Lazy (params built in Python only when asked for; of `_meta`, what the token step reads)
        // unless an envelope is checked over the whole tree.
        let parse = match self.core.envelope {
            None => Parse::Lazy {
                meta_members: &[TOKEN_MEMBER],
            },
            Some(_) => Parse::Whole,
        };
        let document = ladder::parse_message(body.as_bytes(), &self.limits, parse)
            .map_err(|r| to_py_err(py, &r))?;
        let value = &document.value;
        let pairs = match headers.filter(|h| !h.is_none()) {
            Some(h) if value.is_object() => header_pairs(h)?,
            _ => Vec::new(),
        };
        let routing = headers
            .filter(|h| !h.is_none() && value.is_object())
            .map(|_| {
                let mut routing = RoutingHeaders::default();
                for (name, value) in &pairs {
                    routing.push(name, value);
                }
                routing
            });
        let request = match ladder::classify(value, routing.as_ref(), &self.supported)
            .map_err(|r| to_py_err(py, &r))?
        {
            Message::Request(request) => request,
            notification @ Message::Notification { .. } => {
                let notification = message_to_py(py, notification, &body, &document)?;
                return Ok(Admitted {
                    request: notification.unbind(),
                    principal: py.None(),
                    signature: py.None(),
                });
            }
            // Only reachable with headers=None (a response posted on a non-HTTP transport).
            _ => {
                let rejection =
                    Rejection::new(fastpath_codec::rejection::INVALID_REQUEST, NOT_ONE_MESSAGE);
                return Err(to_py_err(py, &rejection));
            }
        };
        let authorization: Vec<&str> = pairs
            .iter()
            .filter(|(name, _)| name == "authorization")
            .map(|(_, value)| value.as_str())
            .collect();
        let admission =
            match self
                .core
                .admit(&request, value, &authorization, &mut Now::new(py, now))
            {
                Ok(admission) => admission,
                Err(failure) => {
                    let request_id = request_id_to_py(py, &Some(request.id.clone()))?;
                    return Err(failure_error(py, failure, Some(&request_id)));
                }
            };
        // Everything passed: now the Python objects.
        let principal = match &admission.principal {
            Some(verified) => verified.principal(py)?.into_any().unbind(),
            None => py.None(),
        };
        let signature = match &admission.signature {
            Some(info) => Py::new(py, SignatureInfo::from_core(py, info)?)?.into_any(),
            None => py.None(),
        };
        let spans = RequestSpans::of(&document).expect("a request has params and _meta");
        Ok(Admitted {
            request: request_to_py(py, &body, spans, &request)?.unbind(),
            principal,
            signature,
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Gate(envelope={}, jwt={}, policy={}, require_envelope={}, require_token={})",
            opt_repr(py, self.envelope.as_ref())?,
            opt_repr(py, self.jwt.as_ref())?,
            opt_repr(py, self.policy.as_ref())?,
            bool_repr(self.core.require_envelope),
            bool_repr(self.core.require_token)
        ))
    }
}
