//! Binds the key ring: `KeyRing` over `fastpath_verify::keyring::KeyRing`, keeping the key
//! objects it was given (what `get` and iteration return). Twin of `mcp_fastpath._pure.keyring`.

use std::sync::Arc;

use fastpath_verify::keyring::KeyRing as CoreRing;
use fastpath_verify::keys::Key;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};

use super::jwk::{jwk_dict, read_jwks};
use super::keys::{core_key, key_object};
use super::{py_repr, str_of, truthy, type_name, verify_error, Arg};

/// Keys by `kid` (several for rotation). Duplicate kids are refused (`InvalidKey`).
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct KeyRing {
    /// The key objects, in the order given (what `get` and iteration return).
    pub(super) objects: Vec<Py<PyAny>>,
    pub(super) ring: Arc<CoreRing>,
}

impl KeyRing {
    /// A ring of key objects, read one by one: a non-key is a `TypeError`, a duplicate kid
    /// `InvalidKey`, whichever comes first.
    fn create(py: Python<'_>, keys: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut objects = Vec::new();
        let mut ring = CoreRing::default();
        let mut add = |key: Bound<'_, PyAny>| -> PyResult<()> {
            let Some(core) = core_key(&key) else {
                return Err(PyTypeError::new_err(format!(
                    "a KeyRing holds HmacKey, Ed25519PublicKey, Ed25519PrivateKey, RsaPublicKey or EcPublicKey, not {}",
                    type_name(&key)
                )));
            };
            ring.push(core)
                .map_err(|err| verify_error(py, &err, None))?;
            objects.push(key.unbind());
            Ok(())
        };
        match keys {
            Some(key) if core_key(key).is_some() => add(key.clone())?,
            Some(keys) => {
                for key in keys.try_iter()? {
                    add(key?)?;
                }
            }
            None => {}
        }
        Ok(KeyRing {
            objects,
            ring: Arc::new(ring),
        })
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
    fn from_jwks(cls: &Bound<'_, PyType>, jwks: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = cls.py();
        let ring = read_jwks(py, jwks)?;
        let objects = ring
            .keys()
            .iter()
            .map(|key| key_object(py, key.clone()))
            .collect::<PyResult<_>>()?;
        Ok(KeyRing {
            objects,
            ring: Arc::new(ring),
        })
    }

    fn get<'py>(&self, py: Python<'py>, kid: &Bound<'py, PyAny>) -> Option<Bound<'py, PyAny>> {
        let index = self.ring.position(str_of(kid)?)?;
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
        for key in self.ring.keys() {
            if private || !matches!(key, Key::Hmac { .. }) {
                keys.append(jwk_dict(py, key, private)?)?;
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

/// A `KeyRing` from a ring, a JWKS dict, one key, or a list/tuple of keys.
pub(super) fn as_keyring<'py>(py: Python<'py>, keys: &Bound<'py, PyAny>) -> PyResult<Py<KeyRing>> {
    if let Ok(ring) = keys.cast::<KeyRing>() {
        return Ok(ring.clone().unbind());
    }
    if keys.cast::<PyDict>().is_ok() {
        return Py::new(py, KeyRing::from_jwks(&py.get_type::<KeyRing>(), keys)?);
    }
    if core_key(keys).is_some() || keys.cast::<PyList>().is_ok() || keys.cast::<PyTuple>().is_ok() {
        return Py::new(py, KeyRing::create(py, Some(keys))?);
    }
    Err(PyTypeError::new_err(format!(
        "expected a KeyRing, a JWKS dict or keys, not {}",
        type_name(keys)
    )))
}
