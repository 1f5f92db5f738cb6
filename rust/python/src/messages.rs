//! The decoded message classes, twins of `mcp_fastpath._pure.messages`.
//!
//! A decoded `Request` keeps its body and builds `params` (and `_meta`) only when asked: most
//! callers route on `method` and `name` and hand `arguments_json` to the tool's own validator.

use fastpath_codec::json::Span;
use fastpath_codec::ladder::{RequestSpans, CAPABILITIES_KEY, CLIENT_INFO_KEY};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use crate::codec::json_bytes;
use crate::to_python::validated_to_py;

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
            #[allow(clippy::too_many_arguments)] // one argument per field, as the pure twin's dataclass
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
    Notification,
    "A message without an `id`, at a served protocol version.",
    [method, params, meta, protocol_version]
);
message_class!(
    Response,
    "A result response (decoded only without headers).",
    [id, result]
);
message_class!(
    ErrorResponse,
    "An error response (decoded only without headers).",
    [id, code, message, data]
);
message_class!(
    RoutingKeys,
    "What a gateway routes on; each field `None` when absent.",
    [method, name, protocol_version, id]
);

/// A 2026-07-28 request that passed every rung of the ladder.
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct Request {
    #[pyo3(get)]
    id: Py<PyAny>,
    #[pyo3(get)]
    method: Py<PyAny>,
    #[pyo3(get)]
    protocol_version: Py<PyAny>,
    #[pyo3(get)]
    name: Py<PyAny>,
    /// The body and where the parts lie in it; `None` for a `Request` built from Python.
    body: Option<(Py<PyBytes>, RequestSpans)>,
    params: PyOnceLock<Py<PyAny>>,
    meta: PyOnceLock<Py<PyAny>>,
    client_info: PyOnceLock<Py<PyAny>>,
    client_capabilities: PyOnceLock<Py<PyAny>>,
    arguments_json: PyOnceLock<Py<PyAny>>,
}

impl Request {
    /// A decoded request: the eagerly read fields, and the body its other parts are built from.
    pub fn from_body(
        id: Py<PyAny>,
        method: Py<PyAny>,
        protocol_version: Py<PyAny>,
        name: Py<PyAny>,
        body: Py<PyBytes>,
        spans: RequestSpans,
    ) -> Self {
        Request {
            id,
            method,
            protocol_version,
            name,
            body: Some((body, spans)),
            params: PyOnceLock::new(),
            meta: PyOnceLock::new(),
            client_info: PyOnceLock::new(),
            client_capabilities: PyOnceLock::new(),
            arguments_json: PyOnceLock::new(),
        }
    }

    /// The JSON at `span` of the body, as Python objects.
    fn build(&self, py: Python<'_>, span: Span) -> PyResult<Py<PyAny>> {
        let (body, _) = self.body.as_ref().expect("only a decoded request builds");
        let bytes = &body.as_bytes(py)[span.start..span.end];
        Ok(validated_to_py(py, bytes)?.unbind())
    }

    fn meta_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.meta(py)?.into_bound(py))
    }

    /// The eight fields, in the constructor's order (all built).
    fn fields(&self, py: Python<'_>) -> PyResult<[Py<PyAny>; 8]> {
        Ok([
            self.id.clone_ref(py),
            self.method.clone_ref(py),
            self.params(py)?,
            self.meta(py)?,
            self.protocol_version.clone_ref(py),
            self.client_info(py)?,
            self.client_capabilities(py)?,
            self.name.clone_ref(py),
        ])
    }
}

#[pymethods]
impl Request {
    #[new]
    #[allow(clippy::too_many_arguments)] // one argument per field, as the pure twin's class
    fn py_new(
        py: Python<'_>,
        id: Py<PyAny>,
        method: Py<PyAny>,
        params: Py<PyAny>,
        meta: Py<PyAny>,
        protocol_version: Py<PyAny>,
        client_info: Py<PyAny>,
        client_capabilities: Py<PyAny>,
        name: Py<PyAny>,
    ) -> Self {
        let given = |value: Py<PyAny>| {
            let cell = PyOnceLock::new();
            let _ = cell.set(py, value);
            cell
        };
        Request {
            id,
            method,
            protocol_version,
            name,
            body: None,
            params: given(params),
            meta: given(meta),
            client_info: given(client_info),
            client_capabilities: given(client_capabilities),
            arguments_json: PyOnceLock::new(),
        }
    }

    /// `params`, built on first access (the same object afterwards).
    #[getter]
    fn params(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.params
            .get_or_try_init(py, || {
                let (_, spans) = self.body.as_ref().expect("a given request has params");
                let params = self.build(py, spans.params)?;
                // `meta` built first stays the one object: `params["_meta"] is meta`.
                if let Some(meta) = self.meta.get(py) {
                    params.bind(py).set_item(intern!(py, "_meta"), meta)?;
                }
                Ok(params)
            })
            .map(|p| p.clone_ref(py))
    }

    /// `params._meta`, built on first access.
    #[getter]
    fn meta(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.meta
            .get_or_try_init(py, || match self.params.get(py) {
                Some(params) => Ok(params.bind(py).get_item(intern!(py, "_meta"))?.unbind()),
                None => {
                    let (_, spans) = self.body.as_ref().expect("a given request has meta");
                    self.build(py, spans.meta)
                }
            })
            .map(|m| m.clone_ref(py))
    }

    #[getter]
    fn client_info(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.client_info
            .get_or_try_init(py, || {
                let info = self
                    .meta_dict(py)?
                    .cast::<PyDict>()?
                    .get_item(CLIENT_INFO_KEY)?;
                Ok::<_, PyErr>(info.map_or_else(|| py.None(), Bound::unbind))
            })
            .map(|c| c.clone_ref(py))
    }

    #[getter]
    fn client_capabilities(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.client_capabilities
            .get_or_try_init(py, || {
                let caps = self
                    .meta_dict(py)?
                    .cast::<PyDict>()?
                    .get_item(CAPABILITIES_KEY)?;
                Ok::<_, PyErr>(caps.map_or_else(|| py.None(), Bound::unbind))
            })
            .map(|c| c.clone_ref(py))
    }

    /// The JSON text of `params.arguments` (`bytes`), `None` when there is no such member. A
    /// decoded request gives the bytes exactly as sent; one built from Python, their encoding.
    #[getter]
    fn arguments_json(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.arguments_json
            .get_or_try_init(py, || match &self.body {
                Some((body, spans)) => Ok(match spans.arguments {
                    Some(span) => {
                        let bytes = &body.as_bytes(py)[span.start..span.end];
                        PyBytes::new(py, bytes).into_any().unbind()
                    }
                    None => py.None(),
                }),
                None => {
                    let params = self.params(py)?;
                    let arguments = match params.bind(py).cast::<PyDict>() {
                        Ok(params) => params.get_item(intern!(py, "arguments"))?,
                        Err(_) => None,
                    };
                    match arguments {
                        Some(arguments) => Ok(json_bytes(py, &arguments)?.into_any().unbind()),
                        None => Ok::<_, PyErr>(py.None()),
                    }
                }
            })
            .map(|a| a.clone_ref(py))
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast::<Request>() else {
            return Ok(py.NotImplemented());
        };
        let (mine, theirs) = (self.fields(py)?, other.get().fields(py)?);
        for (a, b) in mine.iter().zip(theirs.iter()) {
            if !a.bind(py).eq(b.bind(py))? {
                return Ok(false.into_pyobject(py)?.to_owned().into_any().unbind());
            }
        }
        Ok(true.into_pyobject(py)?.to_owned().into_any().unbind())
    }

    /// Every field but `params` (which is not built for it).
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let fields = [
            ("id", self.id.clone_ref(py)),
            ("method", self.method.clone_ref(py)),
            ("meta", self.meta(py)?),
            ("protocol_version", self.protocol_version.clone_ref(py)),
            ("client_info", self.client_info(py)?),
            ("client_capabilities", self.client_capabilities(py)?),
            ("name", self.name.clone_ref(py)),
        ];
        let mut parts = Vec::with_capacity(fields.len());
        for (name, value) in fields {
            parts.push(format!("{name}={}", value.bind(py).repr()?));
        }
        Ok(format!("Request({})", parts.join(", ")))
    }

    fn __getnewargs__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.fields(py)?)
    }
}
