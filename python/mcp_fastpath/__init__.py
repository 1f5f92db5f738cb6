"""mcp-fastpath: the request path of stateless (2026-07-28) MCP servers, native with a pure twin.

Everything public is re-exported here from the active backend (`BACKEND` says which).
"""

from __future__ import annotations

from . import _backend
from .errors import BackendUnavailable, FastpathError, Forbidden, InvalidKey, Rejection, Replayed, Unauthenticated
from .limits import Limits
from .replay import MemoryReplayCache, RedisReplayCache, admit_once

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

# Verification (docs/verification.md).
HmacKey = _impl.HmacKey
Ed25519PrivateKey = _impl.Ed25519PrivateKey
Ed25519PublicKey = _impl.Ed25519PublicKey
KeyRing = _impl.KeyRing
EnvelopeSigner = _impl.EnvelopeSigner
EnvelopeVerifier = _impl.EnvelopeVerifier
SignatureInfo = _impl.SignatureInfo
JwtVerifier = _impl.JwtVerifier
Principal = _impl.Principal
ScopePolicy = _impl.ScopePolicy
Gate = _impl.Gate
Admitted = _impl.Admitted
sign_jwt = _impl.sign_jwt
canonicalize = _impl.canonicalize
signing_bytes = _impl.signing_bytes
b64url_encode = _impl.b64url_encode
b64url_decode = _impl.b64url_decode

__version__ = "0.1.0"

__all__ = [
    "Admitted",
    "BACKEND",
    "BackendUnavailable",
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "EnvelopeSigner",
    "EnvelopeVerifier",
    "ErrorResponse",
    "FastpathError",
    "Forbidden",
    "Gate",
    "HmacKey",
    "InvalidKey",
    "JwtVerifier",
    "KeyRing",
    "Limits",
    "MemoryReplayCache",
    "Notification",
    "Principal",
    "RedisReplayCache",
    "Rejection",
    "Replayed",
    "Request",
    "Response",
    "RoutingKeys",
    "ScopePolicy",
    "SignatureInfo",
    "Unauthenticated",
    "admit_once",
    "b64url_decode",
    "b64url_encode",
    "canonicalize",
    "check_param_headers",
    "decode",
    "decode_header_value",
    "encode_error",
    "encode_header_value",
    "encode_response",
    "http_status",
    "request_headers",
    "routing_keys",
    "sign_jwt",
    "signing_bytes",
]
