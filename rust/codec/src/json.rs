//! Strict JSON parser (RFC 8259) — to be implemented.
