"""The pure-Python backend: same API and behaviour as the native module, module for module."""

from .encode import encode_error, encode_response, http_status
from .headers import check_param_headers, decode_header_value, encode_header_value, request_headers
from .ladder import decode, routing_keys
from .messages import ErrorResponse, Notification, Request, Response, RoutingKeys

__all__ = [
    "ErrorResponse",
    "Notification",
    "Request",
    "Response",
    "RoutingKeys",
    "check_param_headers",
    "decode",
    "decode_header_value",
    "encode_error",
    "encode_header_value",
    "encode_response",
    "http_status",
    "request_headers",
    "routing_keys",
]
