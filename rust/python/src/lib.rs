//! `mcp_fastpath._native`: the thin PyO3 layer over the `fastpath_codec` and `fastpath_verify`
//! crates. Arguments become core types, the core decides, results become Python objects; errors
//! are the shared classes of `mcp_fastpath.errors`.

mod codec;
mod errors;
mod messages;
mod pyjson;
mod pyvalue;
mod verify;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(codec::decode, m)?)?;
    m.add_function(wrap_pyfunction!(codec::routing_keys, m)?)?;
    m.add_function(wrap_pyfunction!(codec::request_headers, m)?)?;
    m.add_function(wrap_pyfunction!(codec::encode_header_value, m)?)?;
    m.add_function(wrap_pyfunction!(codec::decode_header_value, m)?)?;
    m.add_function(wrap_pyfunction!(codec::check_param_headers, m)?)?;
    m.add_function(wrap_pyfunction!(codec::encode_response, m)?)?;
    m.add_function(wrap_pyfunction!(codec::encode_error, m)?)?;
    m.add_function(wrap_pyfunction!(codec::http_status, m)?)?;
    m.add_class::<messages::Request>()?;
    m.add_class::<messages::Notification>()?;
    m.add_class::<messages::Response>()?;
    m.add_class::<messages::ErrorResponse>()?;
    m.add_class::<messages::RoutingKeys>()?;
    verify::register(m)?;
    Ok(())
}
