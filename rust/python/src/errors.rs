//! The one place core errors become Python exceptions: the shared classes of `mcp_fastpath.errors`.
//! A codec rejection crosses with `?` through [`Rejected`]; the verify binding raises the other
//! classes through [`rejection_err`].

use fastpath_codec::{Rejection, RejectionData, RequestId};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyType};

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// A class of `mcp_fastpath.errors` by name (imported once).
pub fn error_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    let module = ERRORS_MODULE
        .get_or_try_init(py, || py.import("mcp_fastpath.errors").map(Bound::unbind))?;
    Ok(module.bind(py).getattr(name)?.cast_into::<PyType>()?)
}

pub fn request_id_to_py<'py>(
    py: Python<'py>,
    id: &Option<RequestId>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match id {
        None => py.None().into_bound(py),
        Some(RequestId::Int(i)) => i.into_pyobject(py)?.into_any(),
        Some(RequestId::Str(s)) => s.into_pyobject(py)?.into_any(),
    })
}

fn data_to_py<'py>(py: Python<'py>, data: &Option<RejectionData>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match data {
        None => py.None().into_bound(py),
        Some(RejectionData::UnsupportedVersion {
            supported,
            requested,
        }) => {
            let dict = PyDict::new(py);
            dict.set_item("supported", PyList::new(py, supported)?)?;
            dict.set_item("requested", requested)?;
            dict.into_any()
        }
    })
}

/// `mcp_fastpath.errors.<class_name>(code, message, data, http_status=…, request_id=…)` as a `PyErr`.
pub fn rejection_err(py: Python<'_>, class_name: &str, rejection: &Rejection) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let class = error_class(py, class_name)?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("http_status", rejection.http_status)?;
        kwargs.set_item("request_id", request_id_to_py(py, &rejection.request_id)?)?;
        let instance = class.call(
            (
                rejection.code,
                &rejection.message,
                data_to_py(py, &rejection.data)?,
            ),
            Some(&kwargs),
        )?;
        Ok(PyErr::from_value(instance))
    };
    build().unwrap_or_else(|err| err)
}

/// A codec rejection on its way to Python as `mcp_fastpath.errors.Rejection`:
/// `core_call().map_err(Rejected)?`.
pub struct Rejected(pub Rejection);

impl From<Rejected> for PyErr {
    fn from(Rejected(rejection): Rejected) -> PyErr {
        Python::attach(|py| rejection_err(py, "Rejection", &rejection))
    }
}

/// `mcp_fastpath.errors.Rejection` for a codec rejection (what `Rejected` converts through).
pub fn to_py_err(py: Python<'_>, rejection: &Rejection) -> PyErr {
    rejection_err(py, "Rejection", rejection)
}

pub fn type_error(message: impl Into<String>) -> PyErr {
    PyTypeError::new_err(message.into())
}
