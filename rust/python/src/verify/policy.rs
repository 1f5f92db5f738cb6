//! Binds the scope policy `ScopePolicy` over `fastpath_verify::policy` (rule lookup and the
//! refusal are the core's). Twin of `mcp_fastpath._pure.policy`.

use std::sync::Arc;

use fastpath_verify::policy::{is_scope_token, ScopePolicy as CorePolicy};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyMapping, PyString, PyTuple};

use super::{py_repr, str_of, type_name, verify_error};

/// Which scopes a method (and target name) requires: keys `"<method>:<name>"`, `"<method>"` and
/// `"*"`; the most specific key present wins and its value lists the scopes that must all be held.
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct ScopePolicy {
    pub(super) core: Arc<CorePolicy>,
}

/// One rule of the `rules=` mapping, read as the pure twin reads it (its `TypeError`s and
/// `ValueError`s, in its order).
fn read_rule(key: &Bound<'_, PyAny>, scopes: &Bound<'_, PyAny>) -> PyResult<(String, Vec<String>)> {
    let Ok(text) = key.cast::<PyString>() else {
        return Err(PyTypeError::new_err(format!(
            "rule keys are str, not {}",
            type_name(key)
        )));
    };
    let Ok(text) = text.to_str() else {
        return Err(PyValueError::new_err(format!(
            "rule key {} is not valid Unicode (it holds a lone surrogate)",
            py_repr(key)?
        )));
    };
    if scopes.is_instance_of::<PyString>() || scopes.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(format!(
            "the scopes of rule {} must be a list of str, not a single string",
            py_repr(key)?
        )));
    }
    let mut read = Vec::new();
    for scope in scopes
        .py()
        .get_type::<PyTuple>()
        .call1((scopes,))?
        .cast::<PyTuple>()?
        .iter()
    {
        match str_of(&scope).filter(|s| is_scope_token(s)) {
            Some(scope) => read.push(scope.to_owned()),
            None => {
                return Err(PyValueError::new_err(format!(
                    "rule {}: a scope is a non-empty RFC 6749 scope-token (printable ASCII, no space, quote or backslash)",
                    py_repr(key)?
                )))
            }
        }
    }
    Ok((text.to_owned(), read))
}

#[pymethods]
impl ScopePolicy {
    #[new]
    fn py_new(rules: &Bound<'_, PyAny>) -> PyResult<Self> {
        if rules.cast::<PyMapping>().is_err() {
            return Err(PyTypeError::new_err(
                "rules is a mapping of rule key to required scopes",
            ));
        }
        let mut read = Vec::new();
        for item in rules.call_method0("items")?.try_iter()? {
            let (key, scopes): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            read.push(read_rule(&key, &scopes)?);
        }
        let core = CorePolicy::new(read).expect("every scope was checked");
        Ok(ScopePolicy {
            core: Arc::new(core),
        })
    }

    /// `{rule key: (scopes, ...)}`, a copy.
    #[getter]
    fn rules<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let rules = PyDict::new(py);
        for (key, scopes) in self.core.rules() {
            rules.set_item(key, PyTuple::new(py, scopes)?)?;
        }
        Ok(rules)
    }

    /// The scopes the most specific matching rule requires (`()` when none matches). Text that
    /// is not Unicode matches no rule key (they all are).
    #[pyo3(signature = (method, name=None))]
    fn required<'py>(
        &self,
        py: Python<'py>,
        method: &Bound<'py, PyAny>,
        name: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, required(&self.core, method, name)?)
    }

    /// Raise `Forbidden` (-32011, 403) naming the scopes `principal` lacks for `request`, or
    /// `Unauthenticated` (-32010, 401, "authentication required") when scopes are required and
    /// there is no principal.
    fn check(
        &self,
        py: Python<'_>,
        principal: &Bound<'_, PyAny>,
        request: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let name = request.getattr("name").ok();
        let required = required(&self.core, &request.getattr("method")?, name.as_ref())?;
        if required.is_empty() {
            return Ok(());
        }
        let held = if principal.is_none() {
            None
        } else {
            let scopes = principal.getattr("scopes")?;
            let mut held = Vec::new();
            for scope in scopes.try_iter()? {
                // Only a (Unicode) str can equal a rule's scope.
                if let Some(scope) = str_of(&scope?) {
                    held.push(scope.to_owned());
                }
            }
            Some(held)
        };
        CorePolicy::check(required, held.as_deref()).map_err(|err| {
            let request_id = request
                .getattr("id")
                .unwrap_or_else(|_| py.None().into_bound(py));
            verify_error(py, &err, Some(&request_id))
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "ScopePolicy({})",
            py_repr(self.rules(py)?.as_any())?
        ))
    }
}

/// `policy.required(method, name)` for Python arguments: `method` a `str`, `name` a `str` or
/// `None` (`TypeError` otherwise).
fn required<'p>(
    policy: &'p CorePolicy,
    method: &Bound<'_, PyAny>,
    name: Option<&Bound<'_, PyAny>>,
) -> PyResult<&'p [String]> {
    let name = name.filter(|n| !n.is_none());
    let is_text = |obj: &Bound<'_, PyAny>| obj.is_instance_of::<PyString>();
    if !is_text(method) || name.is_some_and(|n| !is_text(n)) {
        return Err(PyTypeError::new_err(
            "method and name are str (name may be None)",
        ));
    }
    Ok(match str_of(method) {
        Some(method) => policy.required(method, name.and_then(str_of)),
        None => policy.wildcard(),
    })
}
