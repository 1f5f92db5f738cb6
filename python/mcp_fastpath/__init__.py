"""mcp-fastpath: the request path of stateless (2026-07-28) MCP servers, native with a pure twin.

Everything public is re-exported here from the active backend (`BACKEND` says which).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _backend
from .errors import BackendUnavailable, FastpathError, Forbidden, InvalidKey, Rejection, Replayed, Unauthenticated
from .limits import Limits
from .replay import MemoryReplayCache, RedisReplayCache, admit_once

if TYPE_CHECKING:
    # What a type checker sees: the native module's stub, which both backends implement (tests/test_twins.py
    # checks that their names and signatures agree, and stubtest that the stub matches the native module).
    from ._native import (
        Admitted,
        EcPublicKey,
        Ed25519PrivateKey,
        Ed25519PublicKey,
        EnvelopeSigner,
        EnvelopeVerifier,
        ErrorResponse,
        Gate,
        HmacKey,
        InvalidBase64,
        JwtVerifier,
        KeyRing,
        Notification,
        Principal,
        Request,
        Response,
        RoutingKeys,
        RsaPublicKey,
        ScopePolicy,
        SignatureInfo,
        b64url_decode,
        b64url_encode,
        canonicalize,
        check_param_headers,
        decode,
        decode_header_value,
        encode_error,
        encode_header_value,
        encode_response,
        http_status,
        request_headers,
        routing_keys,
        sign_jwt,
        signing_bytes,
    )

    BACKEND: str
else:
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
    HmacKey = _impl.HmacKey
    InvalidBase64 = _impl.InvalidBase64
    Ed25519PrivateKey = _impl.Ed25519PrivateKey
    Ed25519PublicKey = _impl.Ed25519PublicKey
    RsaPublicKey = _impl.RsaPublicKey
    EcPublicKey = _impl.EcPublicKey
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
    "EcPublicKey",
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "EnvelopeSigner",
    "EnvelopeVerifier",
    "ErrorResponse",
    "FastpathError",
    "Forbidden",
    "Gate",
    "HmacKey",
    "InvalidBase64",
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
    "RsaPublicKey",
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
