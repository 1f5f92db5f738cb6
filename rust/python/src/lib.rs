//! `mcp_fastpath._native`: the thin PyO3 layer over the `fastpath_codec` and `fastpath_verify`
//! crates. Arguments become core types, the core decides, results become Python objects; errors
//! are the shared classes of `mcp_fastpath.errors`.

mod codec;
mod errors;
mod from_python;
mod messages;
mod to_python;
mod verify;

use pyo3::prelude::*;
use pyo3::types::PyDict;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    codec::register(m)?;
    m.add_class::<messages::Request>()?;
    m.add_class::<messages::Notification>()?;
    m.add_class::<messages::Response>()?;
    m.add_class::<messages::ErrorResponse>()?;
    m.add_class::<messages::RoutingKeys>()?;
    verify::register(m)?;
    // `setattr`, not `add`: `add` would list it in `__all__`, which holds the twins' shared API.
    m.setattr("_BUILD_INFO", build_info(m.py())?)?;
    Ok(())
}

/// How this module was built (recorded by build.rs): the crate version, abi3 or a per-version
/// build and its Python, cargo's profile and optimisation level, target triple and compiler.
fn build_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let info = PyDict::new(py);
    info.set_item("version", env!("CARGO_PKG_VERSION"))?;
    info.set_item("abi3", cfg!(Py_LIMITED_API))?;
    info.set_item("python", env!("FASTPATH_BUILD_PYTHON"))?;
    info.set_item("profile", env!("FASTPATH_BUILD_PROFILE"))?;
    info.set_item("opt_level", env!("FASTPATH_BUILD_OPT_LEVEL"))?;
    info.set_item("debug_assertions", cfg!(debug_assertions))?;
    info.set_item("target", env!("FASTPATH_BUILD_TARGET"))?;
    info.set_item("rustc", env!("FASTPATH_BUILD_RUSTC"))?;
    Ok(info)
}
