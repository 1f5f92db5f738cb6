//! Binds strict base64url: `b64url_encode`, `b64url_decode` and the `InvalidBase64` error they
//! raise, over `fastpath_verify::b64url`. Twin of `mcp_fastpath._pure.b64url`; the only behaviour
//! of its own is the pure twin's argument check (str, or a bytes-like object, else `TypeError`).

use fastpath_verify::b64url;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView, PyString};

use super::{bytes_of, type_name};

pyo3::create_exception!(
    mcp_fastpath._native,
    InvalidBase64,
    PyValueError,
    "The input is not strict base64url."
);

fn invalid_base64() -> PyErr {
    InvalidBase64::new_err("invalid base64url")
}

/// Base64url of `data` (anything `bytes()` takes), without padding.
#[pyfunction]
pub fn b64url_encode(data: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(b64url::encode(&bytes_of(data)?))
}

/// Decode strict base64url (no padding, no whitespace, canonical trailing bits).
#[pyfunction]
pub fn b64url_decode<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let decoded = if let Ok(s) = text.cast::<PyString>() {
        match s.to_str() {
            Ok(s) => b64url::decode(s),
            Err(_) => return Err(invalid_base64()),
        }
    } else if text.cast::<PyBytes>().is_ok()
        || text.cast::<PyByteArray>().is_ok()
        || text.cast::<PyMemoryView>().is_ok()
    {
        b64url::decode(bytes_of(text)?)
    } else {
        return Err(PyTypeError::new_err(format!(
            "base64url input is str or bytes, not {}",
            type_name(text)
        )));
    };
    decoded
        .map(|raw| PyBytes::new(py, &raw))
        .map_err(|_| invalid_base64())
}
