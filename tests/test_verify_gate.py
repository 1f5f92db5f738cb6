"""`Gate.admit` and `ScopePolicy` (docs/verification.md, Policy and Gate), on both backends."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mcp_fastpath.errors import FastpathError, Forbidden, Rejection, Unauthenticated

NOW = 1_767_225_600.0
ISS = "https://auth.example.com"
AUD = "https://mcp.example.com/mcp"
SECRET = b"0123456789abcdef0123456789abcdef"
SIG = "dev.mcp-fastpath/sig"
TOKEN = "dev.mcp-fastpath/token"
META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


def message(*, id=11, method="tools/call", name="add", arguments=None, meta=None) -> dict:
    params: dict = {"_meta": {**META, **(meta or {})}}
    if method in ("tools/call", "prompts/get"):
        params["name"] = name
        params["arguments"] = arguments if arguments is not None else {"a": 1, "b": 2}
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": params}


@pytest.fixture
def envelope_key(backend):
    return backend.Ed25519PrivateKey("client-1", bytes(range(32)))


@pytest.fixture
def token_key(backend):
    return backend.HmacKey("idp", SECRET)


@pytest.fixture
def signer(backend, envelope_key):
    return backend.EnvelopeSigner(envelope_key, audience=AUD)


@pytest.fixture
def gate(backend, envelope_key, token_key):
    return backend.Gate(
        envelope=backend.EnvelopeVerifier(backend.KeyRing([envelope_key.public_key()]), audience=AUD),
        jwt=backend.JwtVerifier(backend.KeyRing([token_key]), issuer=ISS, audience=AUD),
        policy=backend.ScopePolicy(
            {"tools/call:add": ["tools.add"], "tools/call": ["tools.call"], "tools/list": [], "*": ["mcp"]}
        ),
    )


def token(backend, key, *, scope="mcp tools.add", **claims) -> str:
    payload = {"iss": ISS, "aud": AUD, "sub": "alice", "exp": NOW + 600, "scope": scope, **claims}
    return backend.sign_jwt(key, payload)


def http(backend, msg: dict, bearer: str | None = None, *, scheme: str = "Bearer") -> tuple[bytes, dict]:
    headers = backend.request_headers(msg["method"], msg["params"])
    if bearer is not None:
        headers["Authorization"] = f"{scheme} {bearer}"
    return orjson.dumps(msg), headers


def signed(
    backend, signer, msg: dict, bearer: str | None = None, *, now: float = NOW, scheme: str = "Bearer"
) -> tuple[bytes, dict]:
    signed_msg = signer.sign(msg, now=now)
    body, headers = http(backend, signed_msg, bearer, scheme=scheme)
    return body, headers


def refused(excinfo, cls, code: int, status: int, text: str, *, request_id=11) -> Rejection:
    exc = excinfo.value
    assert type(exc) is cls, type(exc)
    assert (exc.code, exc.http_status, exc.message) == (code, status, text)
    assert exc.request_id == request_id
    assert orjson.loads(exc.to_bytes())["id"] == request_id
    return exc


# ---- Admitted ------------------------------------------------------------------------------------


def test_admits_a_signed_request_with_a_token(backend, gate, signer, token_key, envelope_key):
    body, headers = signed(backend, signer, message(), token(backend, token_key))
    admitted = gate.admit(body, headers, now=NOW)
    assert isinstance(admitted, backend.Admitted)
    assert admitted.request.id == 11 and admitted.request.method == "tools/call" and admitted.request.name == "add"
    assert admitted.principal.subject == "alice" and admitted.principal.scopes == ("mcp", "tools.add")
    assert admitted.signature.kid == envelope_key.kid and admitted.signature.aud == AUD
    assert admitted.signature.iat == int(NOW * 1000)


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_bearer_scheme_is_case_insensitive(backend, gate, signer, token_key, scheme):
    body, headers = signed(backend, signer, message(), token(backend, token_key), scheme=scheme)
    assert gate.admit(body, headers, now=NOW).principal.subject == "alice"


def test_token_from_meta_when_there_is_no_header(backend, gate, signer, token_key):
    body, headers = signed(backend, signer, message(meta={TOKEN: token(backend, token_key)}))
    assert gate.admit(body, headers, now=NOW).principal.subject == "alice"


def test_header_token_wins_over_meta_token(backend, gate, signer, token_key):
    body, headers = signed(backend, signer, message(meta={TOKEN: "garbage"}), token(backend, token_key))
    assert gate.admit(body, headers, now=NOW).principal.subject == "alice"


def test_without_headers_the_meta_token_is_used(backend, gate, signer, token_key):
    body = orjson.dumps(signer.sign(message(meta={TOKEN: token(backend, token_key)}), now=NOW))
    assert gate.admit(body, None, now=NOW).principal.subject == "alice"


def test_raw_header_pairs_are_accepted(backend, gate, signer, token_key):
    body, headers = signed(backend, signer, message(), token(backend, token_key))
    pairs = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    assert gate.admit(body, pairs, now=NOW).principal.subject == "alice"


def test_header_pairs_from_a_one_shot_iterator(backend, gate, signer, token_key):
    body, headers = signed(backend, signer, message(), token(backend, token_key))
    assert gate.admit(body, iter(list(headers.items())), now=NOW).principal.subject == "alice"


def test_notification_passes_through(backend, gate):
    body = orjson.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"_meta": META}})
    admitted = gate.admit(body, {"MCP-Protocol-Version": "2026-07-28"}, now=NOW)
    assert isinstance(admitted.request, backend.Notification)
    assert admitted.principal is None and admitted.signature is None


def test_gate_with_nothing_configured_admits(backend):
    body, headers = http(backend, message())
    admitted = backend.Gate().admit(body, headers, now=NOW)
    assert admitted.principal is None and admitted.signature is None


# ---- Token failures ------------------------------------------------------------------------------


def test_missing_token(backend, gate, signer):
    body, headers = signed(backend, signer, message())
    with pytest.raises(Unauthenticated) as excinfo:
        gate.admit(body, headers, now=NOW)
    exc = refused(excinfo, Unauthenticated, -32010, 401, "authentication required")
    assert exc.headers["WWW-Authenticate"] == "Bearer"


def test_non_bearer_authorization_is_no_token(backend, gate, signer):
    body, headers = signed(backend, signer, message(), "dXNlcjpwYXNz", scheme="Basic")
    with pytest.raises(Unauthenticated) as excinfo:
        gate.admit(body, headers, now=NOW)
    refused(excinfo, Unauthenticated, -32010, 401, "authentication required")


def test_invalid_token_is_refused_with_the_request_id(backend, gate, signer, token_key):
    body, headers = signed(backend, signer, message(), token(backend, token_key, exp=NOW - 3600))
    with pytest.raises(Unauthenticated) as excinfo:
        gate.admit(body, headers, now=NOW)
    exc = refused(excinfo, Unauthenticated, -32010, 401, "token expired")
    assert exc.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_non_string_meta_token(backend, gate, signer):
    body, headers = signed(backend, signer, message(meta={TOKEN: {"not": "a token"}}))
    with pytest.raises(Unauthenticated) as excinfo:
        gate.admit(body, headers, now=NOW)
    refused(excinfo, Unauthenticated, -32010, 401, "malformed token")


def test_two_authorization_headers_are_refused(backend, gate, signer, token_key):
    body, headers = signed(backend, signer, message())
    good = token(backend, token_key)
    pairs = [*headers.items(), ("Authorization", f"Bearer {good}"), ("authorization", f"Bearer {good}")]
    with pytest.raises(Unauthenticated) as excinfo:
        gate.admit(body, pairs, now=NOW)
    refused(excinfo, Unauthenticated, -32010, 401, "malformed token")


def test_optional_token(backend, envelope_key, token_key, signer):
    gate = backend.Gate(
        envelope=backend.EnvelopeVerifier(backend.KeyRing([envelope_key.public_key()])),
        jwt=backend.JwtVerifier(backend.KeyRing([token_key]), issuer=ISS, audience=AUD),
        require_token=False,
    )
    body, headers = signed(backend, signer, message())
    assert gate.admit(body, headers, now=NOW).principal is None
    body, headers = signed(backend, signer, message(), "not.a.token")
    with pytest.raises(Unauthenticated) as excinfo:
        gate.admit(body, headers, now=NOW)
    refused(excinfo, Unauthenticated, -32010, 401, "malformed token")


# ---- Envelope failures ---------------------------------------------------------------------------


def test_unsigned_request(backend, gate, token_key):
    body, headers = http(backend, message(), token(backend, token_key))
    with pytest.raises(Unauthenticated) as excinfo:
        gate.admit(body, headers, now=NOW)
    exc = refused(excinfo, Unauthenticated, -32010, 401, "request is not signed")
    assert exc.headers["WWW-Authenticate"] == "Bearer"


def test_optional_envelope(backend, envelope_key, signer):
    gate = backend.Gate(
        envelope=backend.EnvelopeVerifier(backend.KeyRing([envelope_key.public_key()])), require_envelope=False
    )
    body, headers = http(backend, message())
    assert gate.admit(body, headers, now=NOW).signature is None
    body, headers = signed(backend, signer, message())
    tampered = body.replace(b'"a":1', b'"a":5')
    with pytest.raises(Unauthenticated) as excinfo:
        gate.admit(tampered, headers, now=NOW)
    refused(excinfo, Unauthenticated, -32010, 401, "bad signature")


def test_tampered_arguments(backend, gate, signer, token_key):
    body, headers = signed(backend, signer, message(), token(backend, token_key))
    with pytest.raises(Unauthenticated) as excinfo:
        gate.admit(body.replace(b'"a":1', b'"a":5'), headers, now=NOW)
    refused(excinfo, Unauthenticated, -32010, 401, "bad signature")


def test_stale_envelope(backend, gate, signer, token_key):
    body, headers = signed(backend, signer, message(), token(backend, token_key), now=NOW - 120)
    with pytest.raises(Unauthenticated) as excinfo:
        gate.admit(body, headers, now=NOW)
    refused(excinfo, Unauthenticated, -32010, 401, "signature is stale or from the future")


def test_token_is_checked_before_the_envelope(backend, gate, token_key):
    body, headers = http(backend, message(), token(backend, token_key, iss="https://evil"))
    with pytest.raises(Unauthenticated) as excinfo:
        gate.admit(body, headers, now=NOW)
    refused(excinfo, Unauthenticated, -32010, 401, "wrong issuer")


def test_duplicate_key_smuggling_is_refused(backend, gate, signer, token_key):
    body, headers = signed(backend, signer, message(), token(backend, token_key))
    smuggled = body.replace(b'"arguments":{"a":1,"b":2}', b'"arguments":{"a":1,"b":2},"arguments":{"a":1000,"b":2}')
    assert smuggled != body
    with pytest.raises(Rejection) as excinfo:
        gate.admit(smuggled, headers, now=NOW)
    assert excinfo.value.code == -32700 and excinfo.value.http_status == 400


def test_integer_beyond_2_53(backend, gate, signer, token_key):
    body, headers = signed(backend, signer, message(), token(backend, token_key))
    with pytest.raises(Unauthenticated) as excinfo:
        gate.admit(body.replace(b'"a":1', b'"a":18014398509481984'), headers, now=NOW)
    assert excinfo.value.code == -32010 and excinfo.value.http_status == 401 and excinfo.value.request_id == 11
    assert excinfo.value.message.startswith("message is not I-JSON: ")


def test_header_mismatch_is_the_codecs(backend, gate, signer, token_key):
    body, headers = signed(backend, signer, message(), token(backend, token_key))
    headers["Mcp-Name"] = "sub"
    with pytest.raises(Rejection) as excinfo:
        gate.admit(body, headers, now=NOW)
    assert excinfo.value.code == -32020 and excinfo.value.http_status == 400


# ---- Policy --------------------------------------------------------------------------------------


def test_missing_scope_is_forbidden(backend, gate, signer, token_key):
    body, headers = signed(backend, signer, message(), token(backend, token_key, scope="mcp"))
    with pytest.raises(Forbidden) as excinfo:
        gate.admit(body, headers, now=NOW)
    exc = refused(excinfo, Forbidden, -32011, 403, "insufficient scope: tools.add")
    assert exc.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="tools.add"'


def test_most_specific_rule_wins(backend, gate, signer, token_key):
    # tools/call:add needs only tools.add (not tools.call, not mcp)
    body, headers = signed(backend, signer, message(), token(backend, token_key, scope="tools.add"))
    assert gate.admit(body, headers, now=NOW).principal.scopes == ("tools.add",)
    # another tool falls back to the method rule
    body, headers = signed(backend, signer, message(name="sub"), token(backend, token_key, scope="tools.add"))
    with pytest.raises(Forbidden) as excinfo:
        gate.admit(body, headers, now=NOW)
    refused(excinfo, Forbidden, -32011, 403, "insufficient scope: tools.call")


def test_empty_rule_allows_and_star_catches_the_rest(backend, gate, signer, token_key):
    body, headers = signed(backend, signer, message(method="tools/list"), token(backend, token_key, scope=""))
    assert gate.admit(body, headers, now=NOW).principal.scopes == ()
    body, headers = signed(backend, signer, message(method="resources/list"), token(backend, token_key, scope=""))
    with pytest.raises(Forbidden) as excinfo:
        gate.admit(body, headers, now=NOW)
    refused(excinfo, Forbidden, -32011, 403, "insufficient scope: mcp")


def test_policy_without_principal_needs_authentication(backend, envelope_key, signer):
    gate = backend.Gate(
        envelope=backend.EnvelopeVerifier(backend.KeyRing([envelope_key.public_key()])),
        policy=backend.ScopePolicy({"tools/call": ["tools.call"]}),
    )
    body, headers = signed(backend, signer, message())
    with pytest.raises(Unauthenticated) as excinfo:
        gate.admit(body, headers, now=NOW)
    exc = refused(excinfo, Unauthenticated, -32010, 401, "authentication required")
    assert exc.headers["WWW-Authenticate"] == "Bearer"


def test_policy_check_directly(backend):
    policy = backend.ScopePolicy({"tools/call:add": ["a", "b"], "*": []})
    request = backend.decode(orjson.dumps(message()))
    principal = backend.Principal("alice", ISS, AUD, ("a",), {}, NOW)
    with pytest.raises(Forbidden) as excinfo:
        policy.check(principal, request)
    exc = refused(excinfo, Forbidden, -32011, 403, "insufficient scope: b")
    assert exc.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="b"'
    policy.check(backend.Principal("alice", ISS, AUD, ("b", "a"), {}, NOW), request)
    with pytest.raises(Forbidden) as excinfo:
        policy.check(backend.Principal("alice", ISS, AUD, (), {}, NOW), request)
    refused(excinfo, Forbidden, -32011, 403, "insufficient scope: a b")
    backend.ScopePolicy({}).check(None, request)  # no rule: allowed, even anonymously


@pytest.mark.parametrize("rules", [{"x": "scope"}, {"x": ["has space"]}, {"x": ['quo"te']}, {"x": [""]}, {1: ["a"]}])
def test_policy_refuses_bad_rules(backend, rules):
    with pytest.raises((TypeError, ValueError)):
        backend.ScopePolicy(rules)


def test_gate_refuses_require_without_verifier(backend):
    with pytest.raises(ValueError):
        backend.Gate(require_token=True)
    with pytest.raises(ValueError):
        backend.Gate(require_envelope=True)


# ---- Only our errors, whatever the body ----------------------------------------------------------


def make_fuzz_gate(backend):
    key = backend.HmacKey("k", SECRET)
    return backend.Gate(
        envelope=backend.EnvelopeVerifier(backend.KeyRing([key])),
        jwt=backend.JwtVerifier(backend.KeyRing([backend.HmacKey("idp", SECRET)]), issuer=ISS, audience=AUD),
        policy=backend.ScopePolicy({"*": ["mcp"]}),
    )


@given(st.binary(max_size=400))
def test_garbage_bodies_raise_only_fastpath_errors(backend, body):
    fuzz_gate = make_fuzz_gate(backend)
    try:
        fuzz_gate.admit(body, {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call"}, now=NOW)
    except FastpathError as exc:
        assert isinstance(exc, Rejection) and exc.code in (-32700, -32600, -32602, -32020, -32022, -32010, -32011)


@given(st.data())
def test_mutated_signed_bodies_raise_only_rejections(backend, data):
    fuzz_gate = make_fuzz_gate(backend)
    key = backend.HmacKey("k", SECRET)
    msg = message(meta={TOKEN: token(backend, backend.HmacKey("idp", SECRET))})
    body = bytearray(backend.EnvelopeSigner(key).sign_bytes(msg, now=NOW))
    headers = backend.request_headers(msg["method"], msg["params"])
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(body) - 1))
        body[index] = data.draw(st.sampled_from(b'{}[]",:0123456789aeE.-+ \\tnul'))
    try:
        admitted = fuzz_gate.admit(bytes(body), headers, now=NOW)
    except FastpathError as exc:
        assert isinstance(exc, Rejection) and exc.code in (-32700, -32600, -32602, -32020, -32022, -32010, -32011)
    else:
        assert admitted.principal is None or admitted.principal.issuer == ISS


_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
)
_json = st.recursive(
    _json_leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=10
)


@given(
    st.dictionaries(
        st.sampled_from(["v", "alg", "kid", "iat", "nonce", "aud", "sig", "x"]),
        _json | st.sampled_from(["k", "hmac-sha256", 1, "AAAAAAAAAAAAAAAAAAAAAA"]),
    )
)
def test_type_confused_envelopes_raise_only_unauthenticated(backend, envelope):
    fuzz_gate = make_fuzz_gate(backend)
    import json

    msg = message(meta={SIG: envelope, TOKEN: token(backend, backend.HmacKey("idp", SECRET))})
    body = json.dumps(msg, allow_nan=True).encode()
    try:
        fuzz_gate.admit(body, backend.request_headers(msg["method"], msg["params"]), now=NOW)
    except FastpathError as exc:
        assert isinstance(exc, Rejection) and exc.code in (-32700, -32010), exc
    else:  # pragma: no cover - would be a forgery
        pytest.fail("a random envelope was admitted")


def test_policy_required_takes_str(backend):
    policy = backend.ScopePolicy({"tools/call:add": ["a"], "*": ["b"]})
    assert policy.required("tools/call", "add") == ("a",)
    assert policy.required("tools/call", None) == ("b",)
    for method, name in ((5, None), ("tools/call", 5), (b"tools/call", None)):
        with pytest.raises(TypeError, match="method and name are str"):
            policy.required(method, name)
