//! Protocol decisions of mcp-fastpath in plain Rust: a strict JSON parser, the MCP 2026-07-28
//! request ladder, routing headers and response encoding. No Python here; `cargo test` covers it.

pub mod encode;
pub mod headers;
pub mod json;
pub mod ladder;
pub mod pyfmt;
pub mod rejection;
pub mod value;

pub use rejection::{Rejection, RejectionData, RequestId};
pub use value::Value;
