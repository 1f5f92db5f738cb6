//! Binds the keys: `HmacKey`, `Ed25519PublicKey`, `Ed25519PrivateKey` and `KeyRing`, each over a
//! `fastpath_verify::keys::Key` (which checks the material and holds the algorithm). Twin of
//! `mcp_fastpath._pure.keys`; the ring is in `keyring.rs`, JWKs in `jwk.rs`.

use fastpath_verify::b64url;
use fastpath_verify::errors::msg;
use fastpath_verify::jwk::{ec_key_from_jwk, rsa_key_from_jwk};
use fastpath_verify::keys::{
    rsa_scheme, JwtAlg, Key, RsaScheme, MAX_KID_CHARS, NOT_EC_PEM, NOT_PEM, NOT_RSA_PEM,
};
use fastpath_verify::VerifyError;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyMemoryView, PyString, PyType};

use super::jwk::{jwk_dict, PyJwk};
use super::{
    bytes_of, invalid_key, rich_eq, str_of, str_repr, truthy, type_name, urandom, verify_error,
};

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

/// A `kid` argument: a `str` (`TypeError` otherwise) of 1 to 256 characters that is Unicode.
fn kid_of(py: Python<'_>, kid: &Bound<'_, PyAny>) -> PyResult<String> {
    let kid = kid
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("kid must be a str, not {}", type_name(kid))))?;
    // The whole kid is checked here, before any other argument (the pure twin's order): its
    // length, then that it is Unicode.
    if !(1..=MAX_KID_CHARS).contains(&kid.len()?) {
        return Err(invalid_key(py, msg::KID));
    }
    match kid.to_str() {
        Ok(text) => Ok(text.to_owned()),
        Err(_) => Err(invalid_key(py, msg::KID_NOT_UNICODE)),
    }
}

fn key_result(py: Python<'_>, key: Result<Key, VerifyError>) -> PyResult<Key> {
    key.map_err(|err| verify_error(py, &err, None))
}

/// `<class>(kid='…', x='…')` of an Ed25519 key.
fn ed25519_repr(py: Python<'_>, class: &str, key: &Key) -> PyResult<String> {
    let x = b64url::encode(&key.public_bytes().expect("an Ed25519 key"));
    Ok(format!(
        "{class}(kid={}, x={})",
        str_repr(py, key.kid())?,
        str_repr(py, &x)?
    ))
}

/// The methods every key class has besides its own: `kid`, `verify`, `to_jwk`, `==` (same
/// class, same kid and material, secrets compared in constant time), no hash.
macro_rules! key_methods {
    ($class:ident, { $($own:tt)* }) => {
        #[pymethods]
        impl $class {
            $($own)*

            #[classattr]
            const __hash__: Option<Py<PyAny>> = None;

            #[getter]
            fn kid(&self) -> &str {
                self.key.kid()
            }

            /// Whether `signature` is this key's signature of `data` (constant-time for HMAC,
            /// strict for Ed25519).
            fn verify(&self, data: &Bound<'_, PyAny>, signature: &Bound<'_, PyAny>) -> PyResult<bool> {
                Ok(self.key.verify(&bytes_of(data)?, &bytes_of(signature)?))
            }

            /// This key as a JWK; `private=True` includes the secret (where there is one).
            #[pyo3(signature = (private=None), text_signature = "($self, private=False)")]
            fn to_jwk<'py>(&self, py: Python<'py>, private: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
                jwk_dict(py, &self.key, truthy(private)?)
            }

            fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                rich_eq(py, other, |other: &$class| Ok(self.key == other.key))
            }

            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                self.repr(py)
            }
        }
    };
}

/// A key that can sign: `sign(data)`.
fn sign_with<'py>(
    py: Python<'py>,
    key: &Key,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let signature = key
        .sign(&bytes_of(data)?)
        .map_err(|err| verify_error(py, &err, None))?;
    Ok(PyBytes::new(py, &signature))
}

/// A shared HMAC-SHA256 secret (≥ 32 bytes) under a key id.
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct HmacKey {
    pub(super) key: Key,
}

impl HmacKey {
    fn repr(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("HmacKey(kid={})", str_repr(py, self.key.kid())?))
    }
}

key_methods!(HmacKey, {
    #[classattr]
    #[allow(non_upper_case_globals)]
    const alg: &'static str = "hmac-sha256";

    #[new]
    fn py_new(py: Python<'_>, kid: &Bound<'_, PyAny>, secret: &Bound<'_, PyAny>) -> PyResult<Self> {
        let kid = kid_of(py, kid)?;
        let secret = as_bytes(secret, "an HMAC secret")?;
        Ok(HmacKey {
            key: key_result(py, Key::hmac(kid, &secret))?,
        })
    }

    /// The 32-byte HMAC-SHA256 tag of `data`.
    fn sign<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        sign_with(py, &self.key, data)
    }
});

/// An Ed25519 public key under a key id: 32 raw bytes, or a `PUBLIC KEY` PEM (str or bytes).
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct Ed25519PublicKey {
    pub(super) key: Key,
}

impl Ed25519PublicKey {
    fn repr(&self, py: Python<'_>) -> PyResult<String> {
        ed25519_repr(py, "Ed25519PublicKey", &self.key)
    }
}

key_methods!(Ed25519PublicKey, {
    #[classattr]
    #[allow(non_upper_case_globals)]
    const alg: &'static str = "ed25519";

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
            Key::ed25519_public_pem(kid, pem.as_bytes())
        } else {
            Key::ed25519_public(kid, &as_bytes(raw_or_pem, "an Ed25519 public key")?)
        };
        Ok(Ed25519PublicKey {
            key: key_result(py, key)?,
        })
    }

    /// The 32-byte encoding of the public point.
    #[getter]
    fn public_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.key.public_bytes().expect("an Ed25519 key"))
    }
});

/// An Ed25519 signing key (32-byte seed) under a key id.
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct Ed25519PrivateKey {
    pub(super) key: Key,
    public: Py<Ed25519PublicKey>,
}

impl Ed25519PrivateKey {
    fn from_core(py: Python<'_>, key: Key) -> PyResult<Self> {
        let public = key.public_key().expect("an Ed25519 key");
        let public = Py::new(py, Ed25519PublicKey { key: public })?;
        Ok(Ed25519PrivateKey { key, public })
    }

    fn repr(&self, py: Python<'_>) -> PyResult<String> {
        ed25519_repr(py, "Ed25519PrivateKey", &self.key)
    }
}

key_methods!(Ed25519PrivateKey, {
    #[classattr]
    #[allow(non_upper_case_globals)]
    const alg: &'static str = "ed25519";

    #[new]
    fn py_new(py: Python<'_>, kid: &Bound<'_, PyAny>, seed: &Bound<'_, PyAny>) -> PyResult<Self> {
        let kid = kid_of(py, kid)?;
        let seed = as_bytes(seed, "an Ed25519 seed")?;
        Ed25519PrivateKey::from_core(py, key_result(py, Key::ed25519_private(kid, &seed))?)
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

    fn public_key(&self, py: Python<'_>) -> Py<Ed25519PublicKey> {
        self.public.clone_ref(py)
    }

    #[getter]
    fn public_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.key.public_bytes().expect("an Ed25519 key"))
    }

    /// The 64-byte Ed25519 signature of `data`.
    fn sign<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        sign_with(py, &self.key, data)
    }
});

/// An RSA public key under a key id, bound to `RS256` or `PS256` (`alg`; by default a JWK's own
/// `alg`, else `RS256`): a PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`, str or bytes) or a JWK dict.
/// Verifies JWTs only; a modulus under 2048 bits is refused.
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct RsaPublicKey {
    pub(super) key: Key,
}

impl RsaPublicKey {
    fn repr(&self, py: Python<'_>) -> PyResult<String> {
        let Key::Rsa { key, .. } = &self.key else {
            unreachable!("an RSA key")
        };
        Ok(format!(
            "RsaPublicKey(kid={}, alg={}, key_size={})",
            str_repr(py, self.key.kid())?,
            str_repr(py, self.key.default_jwt_alg().as_str())?,
            key.bits()
        ))
    }
}

key_methods!(RsaPublicKey, {
    #[new]
    #[pyo3(signature = (kid, key, alg=None))]
    fn py_new(
        py: Python<'_>,
        kid: &Bound<'_, PyAny>,
        key: &Bound<'_, PyAny>,
        alg: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let kid = kid_of(py, kid)?;
        let scheme = match alg.filter(|a| !a.is_none()) {
            None => None,
            Some(alg) => Some(
                str_of(alg)
                    .and_then(JwtAlg::from_name)
                    .and_then(rsa_scheme)
                    .ok_or_else(|| invalid_key(py, "an RSA key's alg is RS256 or PS256"))?,
            ),
        };
        let key = match key.cast::<PyDict>() {
            Ok(_) => rsa_key_from_jwk(&kid, &PyJwk(key.clone()), scheme),
            Err(_) => {
                let pem = pem_of(py, key, NOT_RSA_PEM)?;
                Key::rsa_public_pem(kid, &pem, scheme.unwrap_or(RsaScheme::Pkcs1v15))
            }
        };
        Ok(RsaPublicKey {
            key: key_result(py, key)?,
        })
    }

    /// `RS256` or `PS256`: the one JWT algorithm this key verifies.
    #[getter]
    fn alg(&self) -> &'static str {
        self.key.default_jwt_alg().as_str()
    }

    /// The modulus length in bits.
    #[getter]
    fn key_size(&self) -> usize {
        match &self.key {
            Key::Rsa { key, .. } => key.bits(),
            _ => unreachable!("an RSA key"),
        }
    }
});

/// A P-256 public key under a key id (`ES256`): a `PUBLIC KEY` PEM (str or bytes) or a JWK dict.
/// Verifies JWTs only; signatures are `r || s` (64 bytes), high or low S.
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct EcPublicKey {
    pub(super) key: Key,
}

impl EcPublicKey {
    fn repr(&self, py: Python<'_>) -> PyResult<String> {
        let Key::EcP256 { key, .. } = &self.key else {
            unreachable!("a P-256 key")
        };
        let x = b64url::encode(key.x());
        Ok(format!(
            "EcPublicKey(kid={}, crv='P-256', x={})",
            str_repr(py, self.key.kid())?,
            str_repr(py, &x)?
        ))
    }
}

key_methods!(EcPublicKey, {
    #[new]
    fn py_new(py: Python<'_>, kid: &Bound<'_, PyAny>, key: &Bound<'_, PyAny>) -> PyResult<Self> {
        let kid = kid_of(py, kid)?;
        let key = match key.cast::<PyDict>() {
            Ok(_) => ec_key_from_jwk(&kid, &PyJwk(key.clone())),
            Err(_) => Key::ec_public_pem(kid, &pem_of(py, key, NOT_EC_PEM)?),
        };
        Ok(EcPublicKey {
            key: key_result(py, key)?,
        })
    }

    #[classattr]
    #[allow(non_upper_case_globals)]
    const alg: &'static str = "ES256";

    #[classattr]
    #[allow(non_upper_case_globals)]
    const crv: &'static str = "P-256";
});

/// A PEM argument: `str` (ASCII) or bytes; anything else a `TypeError`, text that is not ASCII
/// `InvalidKey(not_pem)`.
fn pem_of(py: Python<'_>, pem: &Bound<'_, PyAny>, not_pem: &'static str) -> PyResult<Vec<u8>> {
    if let Ok(text) = pem.cast::<PyString>() {
        return match text.to_str() {
            Ok(text) if text.is_ascii() => Ok(text.as_bytes().to_vec()),
            _ => Err(invalid_key(py, not_pem)),
        };
    }
    as_bytes(pem, "a PEM")
}

/// The core key of one of the key classes.
pub(super) fn core_key(obj: &Bound<'_, PyAny>) -> Option<Key> {
    macro_rules! try_class {
        ($($class:ty),+) => {
            $(if let Ok(k) = obj.cast_exact::<$class>() {
                return Some(k.get().key.clone());
            })+
        };
    }
    try_class!(
        HmacKey,
        Ed25519PublicKey,
        Ed25519PrivateKey,
        RsaPublicKey,
        EcPublicKey
    );
    None
}

/// The key class object of a core key.
pub(super) fn key_object(py: Python<'_>, key: Key) -> PyResult<Py<PyAny>> {
    Ok(match key {
        Key::Hmac { .. } => Py::new(py, HmacKey { key })?.into_any(),
        Key::Ed25519Public { .. } => Py::new(py, Ed25519PublicKey { key })?.into_any(),
        Key::Ed25519Private { .. } => {
            Py::new(py, Ed25519PrivateKey::from_core(py, key)?)?.into_any()
        }
        Key::Rsa { .. } => Py::new(py, RsaPublicKey { key })?.into_any(),
        Key::EcP256 { .. } => Py::new(py, EcPublicKey { key })?.into_any(),
    })
}
