//! Binds the gate: `Gate`, which admits one POST body in one native call (decode and ladder,
//! bearer token, JWT, signed envelope, scope policy; no I/O), and the `Admitted` it returns. Twin
//! of `mcp_fastpath._pure.gate`. The body is parsed once and every check runs over that tree; the
//! Python `Request`, `Principal`, `SignatureInfo` and `Admitted` are built only once all passed.

use std::borrow::Cow;
use std::sync::Arc;

use fastpath_codec::headers::RoutingHeaders;
use fastpath_codec::ladder::{self, Message};
use fastpath_codec::{Rejection, RequestId, Value};
use fastpath_verify::envelope::SIG_MEMBER;
use fastpath_verify::errors::msg;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use super::envelope::{EnvelopeVerifier, SignatureInfo};
use super::jwt::{JwtVerifier, Token, Verified};
use super::policy::ScopePolicy;
use super::{
    bool_repr, cached_attr, fields_equal, fields_repr, py_repr, rich_eq, type_name,
    unauthenticated, verify_err, Arg, Now, CHALLENGE, INVALID_TOKEN,
};
use crate::codec::{header_pairs, message_to_py, read_body, read_limits, request_to_py};
use crate::errors::{request_id_to_py, to_py_err};

/// `_meta` member of a bearer token (the fallback when there is no `Authorization` header).
const TOKEN_MEMBER: &str = "dev.mcp-fastpath/token";

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
    fn fields(&self) -> [&Py<PyAny>; 3] {
        [&self.request, &self.principal, &self.signature]
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
        rich_eq(py, other, |other: &Admitted| {
            fields_equal(py, &self.fields(), &other.fields())
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        fields_repr(
            py,
            "Admitted",
            &[
                ("request", &self.request),
                ("principal", &self.principal),
                ("signature", &self.signature),
            ],
        )
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

/// `repr` of an optional part, `None` when absent.
fn opt_repr<T>(py: Python<'_>, part: Option<&Py<T>>) -> PyResult<String> {
    match part {
        Some(p) => py_repr(p.bind(py).as_any()),
        None => Ok("None".to_owned()),
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
        Ok(format!(
            "Gate(envelope={}, jwt={}, policy={}, require_envelope={}, require_token={})",
            opt_repr(py, self.envelope.as_ref())?,
            opt_repr(py, self.jwt.as_ref())?,
            opt_repr(py, self.policy.as_ref())?,
            bool_repr(self.require_envelope),
            bool_repr(self.require_token)
        ))
    }
}
