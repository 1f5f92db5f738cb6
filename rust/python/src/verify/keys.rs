//! Binds the keys: `HmacKey`, `Ed25519PublicKey`, `Ed25519PrivateKey` and `KeyRing` (with JWK/JWKS
//! import and export), over `fastpath_verify::keys`. Twin of `mcp_fastpath._pure.keys`. The core
//! checks the key material (secret length, seed, curve point); this module keeps the pure twin's
//! argument checks, its `InvalidKey` texts and its JWK reading order.

use std::collections::HashSet;

use fastpath_verify::b64url;
use fastpath_verify::keys::{Ed25519Public, Key, KeyRing as CoreRing, Kid, MAX_KID_CHARS};
use fastpath_verify::VerifyError;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyMemoryView, PyString, PyTuple, PyType};

use super::{
    bytes_of, invalid_key, py_repr, rich_eq, str_of, str_repr, truthy, type_name, urandom,
    verify_err, Arg, CHALLENGE,
};

/// The pure twin's wording of the key-construction refusals (the core words a few differently).
pub(super) fn key_message(core: &str) -> &str {
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

// ---- Shared by the three key classes -------------------------------------------------------------

/// `key`'s signature (or tag) of `data` (anything `bytes()` takes).
fn sign_with<'py>(
    py: Python<'py>,
    key: &Key,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let signature = key.sign(&bytes_of(data)?).map_err(key_err(py))?;
    Ok(PyBytes::new(py, &signature))
}

/// Whether `signature` is `key`'s signature (or tag) of `data`.
fn verify_with(key: &Key, data: &Bound<'_, PyAny>, signature: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(key.verify(&bytes_of(data)?, &bytes_of(signature)?))
}

/// The 32-byte encoding of an Ed25519 key's public point.
fn ed25519_raw(key: &Key) -> [u8; 32] {
    key.public_bytes().expect("an Ed25519 key")
}

/// `<class>(kid='…', x='…')` of an Ed25519 key.
fn ed25519_repr(py: Python<'_>, class: &str, key: &Key) -> PyResult<String> {
    Ok(format!(
        "{class}(kid={}, x={})",
        str_repr(py, key.kid())?,
        str_repr(py, &b64url::encode(&ed25519_raw(key)))?
    ))
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
        sign_with(py, &self.key, data)
    }

    /// Whether `signature` is the tag of `data` (constant-time comparison).
    fn verify(&self, data: &Bound<'_, PyAny>, signature: &Bound<'_, PyAny>) -> PyResult<bool> {
        verify_with(&self.key, data, signature)
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
        rich_eq(py, other, |other: &HmacKey| {
            Ok(self.key.kid() == other.key.kid() && same_bytes(&self.secret, &other.secret))
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("HmacKey(kid={})", str_repr(py, self.key.kid())?))
    }
}

/// An Ed25519 public key under a key id: 32 raw bytes, or a `PUBLIC KEY` PEM (str or bytes).
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct Ed25519PublicKey {
    key: Key,
}

impl Ed25519PublicKey {
    fn jwk<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let x = b64url::encode(&ed25519_raw(&self.key));
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
        PyBytes::new(py, &ed25519_raw(&self.key))
    }

    /// Strict Ed25519 verification.
    fn verify(&self, data: &Bound<'_, PyAny>, signature: &Bound<'_, PyAny>) -> PyResult<bool> {
        verify_with(&self.key, data, signature)
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
        rich_eq(py, other, |other: &Ed25519PublicKey| {
            Ok(self.key.kid() == other.key.kid()
                && ed25519_raw(&self.key) == ed25519_raw(&other.key))
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        ed25519_repr(py, "Ed25519PublicKey", &self.key)
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
        PyBytes::new(py, &ed25519_raw(&self.key))
    }

    /// The 64-byte Ed25519 signature of `data`.
    fn sign<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        sign_with(py, &self.key, data)
    }

    fn verify(&self, data: &Bound<'_, PyAny>, signature: &Bound<'_, PyAny>) -> PyResult<bool> {
        verify_with(&self.key, data, signature)
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
        rich_eq(py, other, |other: &Ed25519PrivateKey| {
            Ok(self.key.kid() == other.key.kid() && same_bytes(&self.seed, &other.seed))
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        ed25519_repr(py, "Ed25519PrivateKey", &self.key)
    }
}

/// The core key of one of the three key classes.
pub(super) fn core_key(obj: &Bound<'_, PyAny>) -> Option<Key> {
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
    pub(super) objects: Vec<Py<PyAny>>,
    pub(super) ring: CoreRing,
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
        let key = self.ring.get(str_of(kid)?)?;
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
        str_of(kid).is_some_and(|k| self.ring.get(k).is_some())
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
            if !same_bytes(&ed25519_raw(&private.key), &x) {
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
pub(super) fn as_keyring<'py>(py: Python<'py>, keys: &Bound<'py, PyAny>) -> PyResult<Py<KeyRing>> {
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
