//! Binds the scope policy: `ScopePolicy`, which scopes a method (and target name) requires and
//! the `Forbidden`/`Unauthenticated` refusal when a principal lacks them. Twin of
//! `mcp_fastpath._pure.policy`. The core has no notion of policy: the rule table is read here once,
//! and `Gate.admit` decides over it without building Python objects.

use std::collections::HashMap;

use fastpath_verify::errors::msg;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyMapping, PySet, PyString, PyTuple};

use super::{py_repr, rejection, str_of, type_name, unauthenticated, CHALLENGE};

// ---- Policy --------------------------------------------------------------------------------------

/// Which scopes a method (and target name) requires: keys `"<method>:<name>"`, `"<method>"` and
/// `"*"`; the most specific key present wins and its value lists the scopes that must all be held.
#[pyclass(frozen, module = "mcp_fastpath._native")]
pub struct ScopePolicy {
    /// The rules as given (keys as passed, values deduplicated tuples), for `rules` and `repr`.
    rules: Py<PyDict>,
    /// The same table for the per-request decision.
    table: HashMap<String, Vec<String>>,
}

fn scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// `Forbidden` (-32011) naming the `missing` scopes, message and `WWW-Authenticate` alike.
fn insufficient_scope<S: AsRef<str>>(
    py: Python<'_>,
    missing: &[S],
    request_id: &Bound<'_, PyAny>,
) -> PyErr {
    let wanted = missing
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<&str>>()
        .join(" ");
    let challenge = format!("Bearer error=\"insufficient_scope\", scope=\"{wanted}\"");
    rejection(
        py,
        "Forbidden",
        -32011,
        &format!("insufficient scope: {wanted}"),
        &challenge,
        Some(request_id),
    )
}

impl ScopePolicy {
    fn rule_for(&self, method: &str, name: Option<&str>) -> &[String] {
        if let Some(name) = name {
            if let Some(scopes) = self.table.get(&format!("{method}:{name}")) {
                return scopes;
            }
        }
        self.table
            .get(method)
            .or_else(|| self.table.get("*"))
            .map_or(&[], Vec::as_slice)
    }

    /// `Forbidden` naming the scopes `held` lacks, or `Unauthenticated` without a principal.
    pub(super) fn decide<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        name: Option<&str>,
        held: Option<&dyn Fn(&str) -> bool>,
        request_id: &dyn Fn() -> PyResult<Bound<'py, PyAny>>,
    ) -> PyResult<()> {
        let required = self.rule_for(method, name);
        if required.is_empty() {
            return Ok(());
        }
        let Some(held) = held else {
            return Err(unauthenticated(
                py,
                msg::AUTHENTICATION_REQUIRED,
                CHALLENGE,
                Some(&request_id()?),
            ));
        };
        let missing: Vec<&str> = required
            .iter()
            .map(String::as_str)
            .filter(|s| !held(s))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(insufficient_scope(py, &missing, &request_id()?))
    }
}

#[pymethods]
impl ScopePolicy {
    #[new]
    fn py_new(py: Python<'_>, rules: &Bound<'_, PyAny>) -> PyResult<Self> {
        if rules.cast::<PyMapping>().is_err() {
            return Err(PyTypeError::new_err(
                "rules is a mapping of rule key to required scopes",
            ));
        }
        let parsed = PyDict::new(py);
        let mut table = HashMap::new();
        for item in rules.call_method0("items")?.try_iter()? {
            let (key, scopes): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            let Ok(key_str) = key.cast::<PyString>() else {
                return Err(PyTypeError::new_err(format!(
                    "rule keys are str, not {}",
                    type_name(&key)
                )));
            };
            if scopes.is_instance_of::<PyString>() || scopes.is_instance_of::<PyBytes>() {
                return Err(PyTypeError::new_err(format!(
                    "the scopes of rule {} must be a list of str, not a single string",
                    py_repr(&key)?
                )));
            }
            let mut unique: Vec<String> = Vec::new();
            for scope in py
                .get_type::<PyTuple>()
                .call1((scopes,))?
                .cast::<PyTuple>()?
                .iter()
            {
                let text = str_of(&scope).filter(|s| scope_token(s));
                let Some(text) = text else {
                    return Err(PyValueError::new_err(format!(
                        "rule {}: a scope is a non-empty RFC 6749 scope-token (printable ASCII, no space, quote or backslash)",
                        py_repr(&key)?
                    )));
                };
                if !unique.iter().any(|s| s == text) {
                    unique.push(text.to_owned());
                }
            }
            parsed.set_item(&key, PyTuple::new(py, &unique)?)?;
            table.insert(key_str.to_str()?.to_owned(), unique);
        }
        Ok(ScopePolicy {
            rules: parsed.unbind(),
            table,
        })
    }

    #[getter]
    fn rules<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.rules.bind(py).copy()
    }

    /// The scopes the most specific matching rule requires (`()` when none matches).
    #[pyo3(name = "required", signature = (method, name=None))]
    fn py_required<'py>(
        &self,
        py: Python<'py>,
        method: &Bound<'py, PyAny>,
        name: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let rules = self.rules.bind(py);
        if let Some(name) = name.filter(|n| !n.is_none()) {
            let key = format!("{}:{}", method.str()?.to_str()?, name.str()?.to_str()?);
            if let Some(scopes) = rules.get_item(key)? {
                return Ok(scopes.cast_into::<PyTuple>()?);
            }
        }
        for key in [method.clone(), PyString::new(py, "*").into_any()] {
            if key.is_instance_of::<PyString>() {
                if let Some(scopes) = rules.get_item(key)? {
                    return Ok(scopes.cast_into::<PyTuple>()?);
                }
            }
        }
        Ok(PyTuple::empty(py))
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
        let required = self.py_required(
            py,
            &request.getattr("method")?,
            request.getattr("name").ok().as_ref(),
        )?;
        if required.is_empty() {
            return Ok(());
        }
        let request_id = request
            .getattr("id")
            .ok()
            .unwrap_or_else(|| py.None().into_bound(py));
        if principal.is_none() {
            return Err(unauthenticated(
                py,
                msg::AUTHENTICATION_REQUIRED,
                CHALLENGE,
                Some(&request_id),
            ));
        }
        let held = py
            .get_type::<PySet>()
            .call1((principal.getattr("scopes")?,))?;
        let mut missing = Vec::new();
        for scope in required.iter() {
            if !held.contains(&scope)? {
                missing.push(scope.cast::<PyString>()?.to_str()?.to_owned());
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        Err(insufficient_scope(py, &missing, &request_id))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "ScopePolicy({})",
            py_repr(self.rules.bind(py).as_any())?
        ))
    }
}
