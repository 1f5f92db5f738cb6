//! Binds JWK reading and writing (`KeyRing.from_jwks`, `to_jwk`, `to_jwks`) over
//! `fastpath_verify::jwk`, which decides everything: the binding hands it the Python dicts as
//! they are. Twin of `mcp_fastpath._pure.jwk`.

use std::borrow::Cow;

use fastpath_verify::jwk::{self, JwkObject, Member, NOT_A_JWKS};
use fastpath_verify::keyring::KeyRing;
use fastpath_verify::keys::Key;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use super::{invalid_key, verify_error};
use crate::to_python::value_to_py;

/// A JWK as the core reads it: a dict (exactly what the pure twin's `isinstance(jwk, dict)`
/// takes), its members as text, not-Unicode text, or anything else.
pub(super) struct PyJwk<'py>(pub(super) Bound<'py, PyAny>);

impl JwkObject for PyJwk<'_> {
    fn is_object(&self) -> bool {
        self.0.cast::<PyDict>().is_ok()
    }

    fn member(&self, name: &str) -> Member<'_> {
        let Ok(dict) = self.0.cast::<PyDict>() else {
            return Member::Absent;
        };
        match dict.get_item(name) {
            Ok(None) => Member::Absent,
            Ok(Some(value)) => match value.cast::<PyString>() {
                Ok(text) => match text.to_str() {
                    Ok(text) => Member::Text(Cow::Owned(text.to_owned())),
                    Err(_) => Member::NotUnicode(text.len().unwrap_or(0)),
                },
                Err(_) => Member::Other,
            },
            // A lookup that raised (a key with a hostile `__eq__`) is no usable member.
            Err(_) => Member::Other,
        }
    }
}

/// The keys of a JWK Set `{"keys": [...]}` (a dict with a list), read by the core.
pub(super) fn read_jwks(py: Python<'_>, jwks: &Bound<'_, PyAny>) -> PyResult<KeyRing> {
    let keys = jwks
        .cast::<PyDict>()
        .ok()
        .and_then(|d| d.get_item("keys").ok().flatten());
    let Some(keys) = keys.as_ref().and_then(|k| k.cast::<PyList>().ok()) else {
        return Err(invalid_key(py, NOT_A_JWKS));
    };
    KeyRing::from_jwk_list(keys.iter().map(PyJwk)).map_err(|err| verify_error(py, &err, None))
}

/// `key.to_jwk(private)` as a dict.
pub(super) fn jwk_dict<'py>(
    py: Python<'py>,
    key: &Key,
    private: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let jwk = jwk::to_jwk(key, private).map_err(|err| verify_error(py, &err, None))?;
    value_to_py(py, &jwk)
}
