"""mcp-fastpath: the request path of stateless (2026-07-28) MCP servers, native with a pure twin.

Everything public is re-exported here from the active backend (`BACKEND` says which).
"""

from __future__ import annotations

from . import _backend
from .errors import BackendUnavailable, FastpathError, Forbidden, InvalidKey, Rejection, Replayed, Unauthenticated
from .limits import Limits

BACKEND, _impl = _backend.load()

decode = _impl.decode
routing_keys = _impl.routing_keys
request_headers = _impl.request_headers
encode_header_value = _impl.encode_header_value
decode_header_value = _impl.decode_header_value
check_param_headers = _impl.check_param_headers
encode_response = _impl.encode_response
encode_error = _impl.encode_error
http_status = _impl.http_status
Request = _impl.Request
Notification = _impl.Notification
Response = _impl.Response
ErrorResponse = _impl.ErrorResponse
RoutingKeys = _impl.RoutingKeys

__version__ = "0.1.0"

__all__ = [
    "BACKEND",
    "BackendUnavailable",
    "ErrorResponse",
    "FastpathError",
    "Forbidden",
    "InvalidKey",
    "Limits",
    "Notification",
    "Rejection",
    "Replayed",
    "Request",
    "Response",
    "RoutingKeys",
    "Unauthenticated",
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
