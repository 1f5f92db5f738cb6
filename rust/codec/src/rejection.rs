//! A refused message: the JSON-RPC error and the HTTP status that carry it (README, "Wire rules").

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const HEADER_MISMATCH: i64 = -32020;
pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i64 = -32021;
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
pub const UNAUTHENTICATED: i64 = -32010;
pub const FORBIDDEN: i64 = -32011;
pub const REPLAYED: i64 = -32012;

/// The HTTP status for a JSON-RPC error code (200 for codes with no mapping, like the SDK).
pub fn http_status(code: i64) -> u16 {
    match code {
        PARSE_ERROR
        | INVALID_REQUEST
        | INVALID_PARAMS
        | HEADER_MISMATCH
        | MISSING_REQUIRED_CLIENT_CAPABILITY
        | UNSUPPORTED_PROTOCOL_VERSION => 400,
        METHOD_NOT_FOUND => 404,
        UNAUTHENTICATED | REPLAYED => 401,
        FORBIDDEN => 403,
        _ => 200,
    }
}

/// A request id as read from the body (only ids that passed the shape check).
#[derive(Debug, Clone, PartialEq)]
pub enum RequestId {
    Int(i64),
    Str(String),
}

/// The structured `data` a rejection carries.
#[derive(Debug, Clone, PartialEq)]
pub enum RejectionData {
    /// -32022: `{"supported": [...], "requested": "..."}`.
    UnsupportedVersion {
        supported: Vec<String>,
        requested: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub code: i64,
    pub message: String,
    pub data: Option<RejectionData>,
    pub http_status: u16,
    pub request_id: Option<RequestId>,
}

impl Rejection {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
            data: None,
            http_status: http_status(code),
            request_id: None,
        }
    }

    pub fn with_id(mut self, id: Option<RequestId>) -> Self {
        self.request_id = id;
        self
    }
}
