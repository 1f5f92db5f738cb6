//! Binds JWTs: `JwtVerifier`, the `Principal` it returns and `sign_jwt`, over
//! `fastpath_verify::jwt`. Twin of `mcp_fastpath._pure.jwt`. Besides conversion it holds the
//! verifier's token cache (least-recently-used, by SHA-256 of the token), which the gate shares.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use fastpath_verify::errors::msg;
use fastpath_verify::jwt::{self as core_jwt, JwtOptions, MAX_TOKEN_CHARS};
use fastpath_verify::keys::JwtAlg;
use fastpath_verify::VerifyError;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyString, PyTuple};

use super::jcs::{Converter, Mode};
use super::keys::{as_keyring, core_key, HmacKey, KeyRing};
use super::{
    fields_equal, fields_repr, opt_py_str, py_repr, py_str, rich_eq, seconds_option, str_of,
    str_repr, truthy, type_name, verify_err, Arg, Now, CHALLENGE, INVALID_TOKEN,
};
use crate::pyjson::value_to_py;

const DEFAULT_ALGORITHMS: &str = "HS256, EdDSA, Ed25519";

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
            issuer: py_str(py, &principal.issuer),
            audience: py_str(py, &principal.audience),
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
        rich_eq(py, other, |other: &Principal| {
            fields_equal(py, &self.fields(), &other.fields())
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        fields_repr(
            py,
            "Principal",
            &[
                ("subject", &self.subject),
                ("issuer", &self.issuer),
                ("audience", &self.audience),
                ("scopes", &self.scopes),
                ("expires_at", &self.expires_at),
            ],
        )
    }
}

// ---- JWT -----------------------------------------------------------------------------------------

/// A verified token: the core principal, and its Python `Principal` once one was asked for (a
/// cached token answers with the same object, like the pure twin).
pub(super) struct Verified {
    pub(super) core: core_jwt::Principal,
    py: OnceLock<Py<Principal>>,
}

impl Verified {
    fn new(core: core_jwt::Principal) -> Arc<Self> {
        Arc::new(Verified {
            core,
            py: OnceLock::new(),
        })
    }

    pub(super) fn principal<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Principal>> {
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
pub(super) enum Token<'t> {
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
    pub(super) fn verify_token(
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
            return Ok(core_jwt::verify_jwt(text, ring, &self.options, now_s).map(Verified::new));
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
            Ok(core) => Verified::new(core),
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
        let leeway_obj = leeway_s.or_int(py, 30)?;
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
            let named = str_of(&alg).and_then(JwtAlg::from_name);
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
        let cache_size_obj = cache_size.or_int(py, 0)?;
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
