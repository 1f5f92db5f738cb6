"""The pure-Python backend: same API and behaviour as the native module, module for module."""

from .b64url import InvalidBase64, b64url_decode, b64url_encode
from .encode import encode_error, encode_response, http_status
from .envelope import EnvelopeSigner, EnvelopeVerifier, SignatureInfo
from .gate import Admitted, Gate
from .headers import check_param_headers, decode_header_value, encode_header_value, request_headers
from .jcs import canonicalize, signing_bytes
from .jwt import JwtVerifier, Principal, sign_jwt
from .keyring import KeyRing
from .keys import EcPublicKey, Ed25519PrivateKey, Ed25519PublicKey, HmacKey, RsaPublicKey
from .ladder import decode, routing_keys
from .messages import ErrorResponse, Notification, Request, Response, RoutingKeys
from .policy import ScopePolicy

__all__ = [
    "Admitted",
    "EcPublicKey",
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "EnvelopeSigner",
    "EnvelopeVerifier",
    "ErrorResponse",
    "Gate",
    "HmacKey",
    "InvalidBase64",
    "JwtVerifier",
    "KeyRing",
    "Notification",
    "Principal",
    "Request",
    "Response",
    "RoutingKeys",
    "RsaPublicKey",
    "ScopePolicy",
    "SignatureInfo",
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
