//! Binds JWTs: `JwtVerifier`, the `Principal` it returns and `sign_jwt`, over
//! `fastpath_verify::jwt` (verification, order, messages and the token cache are the core's).
//! Twin of `mcp_fastpath._pure.jwt`.

use std::sync::{Arc, OnceLock};

use fastpath_verify::jwt::{self as core_jwt, JwtOptions, Token};
use fastpath_verify::keys::JwtAlg;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyString, PyTuple};

use super::jcs::{Converter, Mode};
use super::keyring::{as_keyring, KeyRing};
use super::keys::core_key;
use super::{
    failure_error, fields_eq, fields_repr, opt_py_str, py_repr, seconds_option, str_of, str_repr,
    truthy, type_name, verify_error, Arg, Now,
};
use crate::to_python::value_to_py;

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
            subject: opt_py_str(py, principal.subject.as_deref()),
            issuer: PyString::new(py, &principal.issuer).into_any().unbind(),
            audience: PyString::new(py, &principal.audience).into_any().unbind(),
            scopes: PyTuple::new(py, &principal.scopes)?.into_any().unbind(),
            claims: value_to_py(py, &principal.claims)?.unbind(),
            expires_at: PyFloat::new(py, principal.expires_at).into_any().unbind(),
        })
    }

    fn fields(&self) -> Vec<&Py<PyAny>> {
        vec![
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
        fields_eq(py, other, Principal::fields, &self.fields())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let names = ["subject", "issuer", "audience", "scopes"];
        let mut fields: Vec<_> = names.into_iter().zip(self.fields()).collect();
        fields.push(("expires_at", &self.expires_at));
        fields_repr(py, "Principal", &fields)
    }
}

/// A verified token as the core's cache keeps it: the principal, and its Python `Principal` once
/// one was asked for (a cache hit answers with the same object, like the pure twin).
pub(super) struct Verified {
    core: core_jwt::Principal,
    py: OnceLock<Py<Principal>>,
}

impl From<core_jwt::Principal> for Verified {
    fn from(core: core_jwt::Principal) -> Self {
        Verified {
            core,
            py: OnceLock::new(),
        }
    }
}

impl AsRef<core_jwt::Principal> for Verified {
    fn as_ref(&self) -> &core_jwt::Principal {
        &self.core
    }
}

impl Verified {
    pub(super) fn principal<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Principal>> {
        if let Some(p) = self.py.get() {
            return Ok(p.bind(py).clone());
        }
        let built = Py::new(py, Principal::from_core(py, &self.core)?)?;
        Ok(self.py.get_or_init(|| built).bind(py).clone())
    }
}

/// A presented token: a (plain, Unicode) `str`, or anything else (malformed).
pub(super) fn token_of<'a>(token: &'a Bound<'_, PyAny>) -> Token<'a> {
    match token
        .cast_exact::<PyString>()
        .ok()
        .and_then(|s| s.to_str().ok())
    {
        Some(text) => Token::Text(text),
        None => Token::NotText,
    }
}

/// Verifies compact JWS tokens (docs/verification.md, JWT).
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct JwtVerifier {
    keyring: Py<KeyRing>,
    leeway_s: Py<PyAny>,
    algorithms: Py<PyTuple>,
    cache_size: Py<PyAny>,
    pub(super) core: Arc<core_jwt::JwtVerifier<Verified>>,
}

/// The `algorithms=` argument: a sequence of names, each a JWS algorithm we implement.
fn algorithms_of<'py>(
    py: Python<'py>,
    given: Arg<'py>,
) -> PyResult<(Bound<'py, PyTuple>, Vec<JwtAlg>)> {
    let names = match given {
        Arg::Omitted => PyTuple::new(py, JwtAlg::ALL.iter().map(|a| a.as_str()))?,
        Arg::Given(a) if a.is_instance_of::<PyString>() => {
            return Err(PyTypeError::new_err(
                "algorithms is a sequence of algorithm names",
            ))
        }
        Arg::Given(a) => py
            .get_type::<PyTuple>()
            .call1((&a,))?
            .cast_into::<PyTuple>()?,
    };
    let mut algorithms = Vec::with_capacity(names.len());
    for name in names.iter() {
        match str_of(&name).and_then(JwtAlg::from_name) {
            Some(alg) => algorithms.push(alg),
            None => {
                name.hash()?; // an unhashable name is a TypeError, as `alg not in JWT_ALGS` raises
                let allowed: Vec<&str> = JwtAlg::ALL.iter().map(|a| a.as_str()).collect();
                return Err(PyValueError::new_err(format!(
                    "unsupported JWT algorithm {} (allowed: {})",
                    py_repr(&name)?,
                    allowed.join(", ")
                )));
            }
        }
    }
    Ok((names, algorithms))
}

#[pymethods]
impl JwtVerifier {
    #[new]
    #[pyo3(signature = (keyring_or_jwks, *, issuer, audience, leeway_s=Arg::Omitted, algorithms=Arg::Omitted, cache_size=Arg::Omitted),
        text_signature = "(keyring_or_jwks, *, issuer, audience, leeway_s=30, algorithms=('HS256', 'EdDSA', 'Ed25519', 'RS256', 'PS256', 'ES256'), cache_size=0)")]
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
        let (Ok(issuer), Ok(audience)) = (issuer.to_str(), audience.to_str()) else {
            return Err(PyValueError::new_err(
                "issuer and audience must be valid Unicode (no lone surrogates)",
            ));
        };
        let leeway_s = leeway_s.or_int(py, 30)?;
        let leeway = seconds_option(
            &leeway_s,
            "leeway_s must be a non-negative number of seconds",
        )?;
        let (names, algorithms) = algorithms_of(py, algorithms)?;
        let cache_size = cache_size.or_int(py, 0)?;
        let size = match cache_size.cast_exact::<PyInt>() {
            Ok(c) if !c.lt(0)? => c.extract::<usize>().unwrap_or(usize::MAX),
            _ => {
                return Err(PyValueError::new_err(
                    "cache_size must be a non-negative int",
                ))
            }
        };
        let keyring = as_keyring(py, keyring_or_jwks)?;
        let options = JwtOptions {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            leeway_s: leeway,
            algorithms,
        };
        let core = core_jwt::JwtVerifier::new(keyring.get().ring.clone(), options, size);
        Ok(JwtVerifier {
            keyring,
            leeway_s: leeway_s.unbind(),
            algorithms: names.unbind(),
            cache_size: cache_size.unbind(),
            core: Arc::new(core),
        })
    }

    #[getter]
    fn issuer(&self) -> &str {
        &self.core.options().issuer
    }

    #[getter]
    fn audience(&self) -> &str {
        &self.core.options().audience
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
        match self.core.verify(token_of(token), &mut Now::new(py, now)) {
            Ok(verified) => verified.principal(py),
            Err(failure) => Err(failure_error(py, failure, None)),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let options = self.core.options();
        Ok(format!(
            "JwtVerifier(keys={}, issuer={}, audience={}, leeway_s={}, algorithms={}, cache_size={})",
            self.keyring.get().objects.len(),
            str_repr(py, &options.issuer)?,
            str_repr(py, &options.audience)?,
            py_repr(self.leeway_s.bind(py))?,
            py_repr(self.algorithms.bind(py).as_any())?,
            py_repr(self.cache_size.bind(py))?
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
    let mut header = PyDict::new(py);
    header.set_item("alg", core.default_jwt_alg().as_str())?;
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
        .map_err(|err| verify_error(py, &err, None))?;
    // What orjson would refuse is refused once the checks before it passed.
    if let Some(err) = converter.take_error(py) {
        return Err(err);
    }
    Ok(token)
}
