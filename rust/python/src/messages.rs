//! The decoded message classes, twins of `mcp_fastpath._pure.messages`.

use pyo3::prelude::*;
use pyo3::types::PyTuple;

macro_rules! message_class {
    ($name:ident, $doc:literal, [$($field:ident),+]) => {
        #[doc = $doc]
        #[pyclass(frozen, module = "mcp_fastpath._native")]
        pub struct $name {
            $(#[pyo3(get)] pub $field: Py<PyAny>,)+
        }

        #[pymethods]
        impl $name {
            #[new]
            fn py_new($($field: Py<PyAny>),+) -> Self {
                $name { $($field),+ }
            }

            fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                let Ok(other) = other.cast::<$name>() else {
                    return Ok(py.NotImplemented());
                };
                let other = other.get();
                $(
                    if !self.$field.bind(py).eq(other.$field.bind(py))? {
                        return Ok(false.into_pyobject(py)?.to_owned().into_any().unbind());
                    }
                )+
                Ok(true.into_pyobject(py)?.to_owned().into_any().unbind())
            }

            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                let mut parts: Vec<String> = Vec::new();
                $(
                    if stringify!($field) != "params" {
                        parts.push(format!("{}={}", stringify!($field), self.$field.bind(py).repr()?));
                    }
                )+
                Ok(format!("{}({})", stringify!($name), parts.join(", ")))
            }

            fn __getnewargs__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
                PyTuple::new(py, [$(self.$field.clone_ref(py)),+])
            }
        }
    };
}

message_class!(
    Request,
    "A 2026-07-28 request that passed every rung of the ladder.",
    [id, method, params, meta, protocol_version, client_info, client_capabilities, name]
);
message_class!(Notification, "A message without an `id`, at a served protocol version.", [method, params, meta, protocol_version]);
message_class!(Response, "A result response (decoded only without headers).", [id, result]);
message_class!(ErrorResponse, "An error response (decoded only without headers).", [id, code, message, data]);
message_class!(RoutingKeys, "What a gateway routes on; each field `None` when absent.", [method, name, protocol_version, id]);
