//! Protocol decisions of mcp-fastpath in plain Rust: a strict JSON parser, the MCP 2026-07-28
//! request ladder, routing headers and response encoding. No Python here; `cargo test` covers it.

pub mod json;
pub mod value;

pub use value::Value;
