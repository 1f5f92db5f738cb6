//! The codec binding, module for module the twin of `mcp_fastpath._pure`'s codec modules:
//! `ladder` (decode, routing_keys), `headers` (header lines and the header functions), `encode`
//! (responses). Each converts arguments to core types, calls `fastpath_codec`, and converts the
//! result back; the decisions are the core's.

mod encode;
mod headers;
mod ladder;

use pyo3::prelude::*;

pub use encode::json_bytes;
pub use headers::header_pairs;
pub use ladder::{message_to_py, read_body, read_limits, request_to_py, supported_list};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(ladder::decode, m)?)?;
    m.add_function(wrap_pyfunction!(ladder::routing_keys, m)?)?;
    m.add_function(wrap_pyfunction!(headers::request_headers, m)?)?;
    m.add_function(wrap_pyfunction!(headers::encode_header_value, m)?)?;
    m.add_function(wrap_pyfunction!(headers::decode_header_value, m)?)?;
    m.add_function(wrap_pyfunction!(headers::check_param_headers, m)?)?;
    m.add_function(wrap_pyfunction!(encode::encode_response, m)?)?;
    m.add_function(wrap_pyfunction!(encode::encode_error, m)?)?;
    m.add_function(wrap_pyfunction!(encode::http_status, m)?)?;
    Ok(())
}
