"""The codec's wire rules (README, "Wire rules"), on both backends."""

from __future__ import annotations

import json

import pytest
from mcp_fastpath import Limits, Rejection

from .helpers import CAPS, INFO, PV, V, body, headers_for, meta, request


def rejected(backend, raw: bytes, headers=None, **kwargs) -> Rejection:
    with pytest.raises(Rejection) as info:
        backend.decode(raw, headers, **kwargs)
    return info.value


# ---- accepted requests ------------------------------------------------------------------


def test_request_fields(backend):
    msg = request(arguments={"a": 1, "b": [2.5, None, True, "é"]})
    req = backend.decode(body(msg), headers_for(msg))
    assert type(req).__name__ == "Request"
    assert (req.id, req.method, req.name, req.protocol_version) == (1, "tools/call", "add", V)
    assert req.params == msg["params"]
    assert req.meta is req.params["_meta"]
    assert req.client_info == {"name": "test-client", "version": "1.0"}
    assert req.client_capabilities == {}


@pytest.mark.parametrize(
    "headers",
    [
        {"mcp-protocol-version": V, "mcp-method": "tools/call", "mcp-name": "add"},
        [("MCP-PROTOCOL-VERSION", V), ("Mcp-Method", "tools/call"), ("mCp-NaMe", "add")],
        [
            (b"mcp-protocol-version", V.encode()),
            (b"mcp-method", b"tools/call"),
            (b"mcp-name", b"add"),
            (b"x-other", b"1"),
        ],
    ],
    ids=["mapping", "pairs-any-case", "asgi-bytes"],
)
def test_header_forms(backend, headers):
    assert backend.decode(body(request()), headers).name == "add"


def test_string_id_and_client_info_optional(backend):
    msg = request("tools/list", id="req-7", _meta={PV: V, CAPS: {"sampling": {}}})
    req = backend.decode(body(msg), headers_for(msg))
    assert (req.id, req.client_info, req.name, req.client_capabilities) == ("req-7", None, None, {"sampling": {}})


@pytest.mark.parametrize(
    ("method", "key", "value"),
    [
        ("prompts/get", "name", "greet"),
        ("resources/read", "uri", "file:///a b/é.txt"),
        ("tasks/get", "taskId", "t-1"),
        ("tasks/cancel", "taskId", "t-2"),
        ("tasks/update", "taskId", "t-3"),
    ],
)
def test_name_bearing_methods(backend, method, key, value):
    msg = request(method, **{key: value})
    headers = headers_for(msg, **{"Mcp-Name": backend.encode_header_value(value)})
    assert backend.decode(body(msg), headers).name == value
    bad = headers_for(msg, **{"Mcp-Name": "something-else"})
    r = rejected(backend, body(msg), bad)
    assert (r.code, r.http_status, r.request_id) == (-32020, 400, 1)
    assert repr(key) in r.message


def test_no_headers_skips_header_rung(backend):
    assert backend.decode(body(request()), None).method == "tools/call"


def test_bytearray_and_memoryview_bodies(backend):
    raw = body(request())
    assert backend.decode(bytearray(raw)).id == 1
    assert backend.decode(memoryview(raw)).id == 1


def test_non_bytes_body_is_a_type_error(backend):
    with pytest.raises(TypeError):
        backend.decode(json.dumps(request()))


# ---- shape: -32600 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        [request()],
        "just a string",
        42,
        {"jsonrpc": "2.0", "id": 1, "result": {}},
        {"jsonrpc": "1.0", "id": 1, "method": "tools/list", "params": {"_meta": meta()}},
        {"id": 1, "method": "tools/list", "params": {"_meta": meta()}},
        {"jsonrpc": "2.0", "id": True, "method": "tools/list", "params": {"_meta": meta()}},
        {"jsonrpc": "2.0", "id": 1.0, "method": "tools/list", "params": {"_meta": meta()}},
        {"jsonrpc": "2.0", "id": None, "method": "tools/list", "params": {"_meta": meta()}},
        {"jsonrpc": "2.0", "id": [1], "method": "tools/list", "params": {"_meta": meta()}},
        {"jsonrpc": "2.0", "id": 1, "method": 5, "params": {"_meta": meta()}},
        {"jsonrpc": "2.0", "id": 1, "params": {"_meta": meta()}},
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": [1]},
        {"jsonrpc": "2.0", "method": 7},
        {"jsonrpc": "2.0", "method": "notifications/x", "params": "p"},
    ],
    ids=[
        "batch",
        "string",
        "number",
        "posted-response",
        "jsonrpc-1.0",
        "no-jsonrpc",
        "bool-id",
        "float-id",
        "null-id",
        "list-id",
        "int-method",
        "no-method",
        "list-params",
        "notification-int-method",
        "notification-str-params",
    ],
)
def test_not_one_request(backend, message):
    r = rejected(backend, body(message), {"mcp-protocol-version": V, "mcp-method": "tools/list"})
    assert (r.code, r.http_status, r.request_id, r.data) == (-32600, 400, None, None)
    assert json.loads(r.to_bytes()) == {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": r.message}}


# ---- notifications ----------------------------------------------------------------------


def test_notification_accepted_at_served_version(backend):
    n = backend.decode(
        body({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}}),
        {"MCP-Protocol-Version": V},
    )
    assert (type(n).__name__, n.method, n.protocol_version, n.params, n.meta) == (
        "Notification",
        "notifications/cancelled",
        V,
        {"requestId": 3},
        None,
    )


def test_notification_at_unserved_version(backend):
    r = rejected(backend, body({"jsonrpc": "2.0", "method": "notifications/x"}), {"MCP-Protocol-Version": "2025-11-25"})
    assert (r.code, r.http_status, r.request_id) == (-32022, 400, None)
    assert r.data == {"supported": [V], "requested": "2025-11-25"}
    r = rejected(backend, body({"jsonrpc": "2.0", "method": "notifications/x"}), {})
    assert r.data == {"supported": [V], "requested": ""}


def test_headerless_notification_reads_meta_version(backend):
    n = backend.decode(body({"jsonrpc": "2.0", "method": "notifications/x", "params": {"_meta": {PV: V}}}))
    assert n.protocol_version == V and n.meta == {PV: V}


# ---- ladder -----------------------------------------------------------------------------


@pytest.mark.parametrize("params", [None, {}, {"_meta": None}, {"_meta": [1]}, {"name": "add"}])
def test_rung1_meta_object_required(backend, params):
    msg = {"jsonrpc": "2.0", "id": 9, "method": "tools/list"}
    if params is not None:
        msg["params"] = params
    r = rejected(backend, body(msg), {"mcp-protocol-version": V, "mcp-method": "tools/list"})
    assert (r.code, r.http_status, r.request_id) == (-32602, 400, 9)
    assert PV in r.message and CAPS in r.message


def test_rung1_missing_envelope_keys_named(backend):
    msg = request("tools/list", _meta={INFO: {}})
    r = rejected(backend, body(msg), headers_for(msg, **{"MCP-Protocol-Version": V}))
    assert r.code == -32602
    assert r.message == f"params._meta is missing the required envelope key(s): {PV}, {CAPS}"


def test_rung1_precedes_header_rung(backend):
    msg = request("tools/list", _meta={CAPS: {}})
    assert rejected(backend, body(msg), {}).code == -32602


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"MCP-Protocol-Version": None}, "mcp-protocol-version"),
        ({"MCP-Protocol-Version": "2025-11-25"}, "mcp-protocol-version"),
        ({"Mcp-Method": None}, "mcp-method"),
        ({"Mcp-Method": "tools/list"}, "mcp-method"),
        ({"Mcp-Name": None}, "mcp-name"),
        ({"Mcp-Name": "Add"}, "mcp-name"),
    ],
)
def test_rung2_header_mismatch(backend, override, needle):
    msg = request()
    r = rejected(backend, body(msg), headers_for(msg, **override))
    assert (r.code, r.http_status, r.request_id) == (-32020, 400, 1)
    assert r.message.startswith(needle)


def test_rung2_duplicated_routing_header(backend):
    msg = request()
    pairs = list(headers_for(msg).items()) + [("mcp-method", "tools/call")]
    r = rejected(backend, body(msg), pairs)
    assert (r.code, r.http_status, r.message) == (-32020, 400, "mcp-method header appears more than once")


def test_rung2_duplicate_check_precedes_rung1(backend):
    msg = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    r = rejected(backend, body(msg), [("Mcp-Name", "a"), ("MCP-NAME", "a")])
    assert (r.code, r.message, r.request_id) == (-32020, "mcp-name header appears more than once", 2)


def test_rung2_base64_name(backend):
    msg = request(name="héllo wörld")
    h = headers_for(msg, **{"Mcp-Name": "=?base64?aMOpbGxvIHfDtnJsZA==?="})
    assert backend.decode(body(msg), h).name == "héllo wörld"
    for bad in ["=?base64?aMOpbGxvIHfDtnJsZA?=", "=?base64?not base64?=", "=?base64?/w==?=", "hello world"]:
        assert rejected(backend, body(msg), headers_for(msg, **{"Mcp-Name": bad})).code == -32020


def test_rung2_null_name_is_not_checked(backend):
    msg = request(name=None)
    req = backend.decode(body(msg), headers_for(msg))
    assert req.name is None


def test_rung2_non_string_name_never_matches(backend):
    msg = request(name=5)
    assert rejected(backend, body(msg), headers_for(msg, **{"Mcp-Name": "5"})).code == -32020


def test_rung2_version_must_equal_even_when_unsupported(backend):
    msg = request("tools/list", _meta={PV: "2099-01-01", CAPS: {}})
    r = rejected(backend, body(msg), headers_for(msg))
    assert (r.code, r.data) == (-32022, {"supported": [V], "requested": "2099-01-01"})


def test_rung3_version_must_be_a_string(backend):
    msg = request("tools/list", _meta={PV: 20260728, CAPS: {}})
    assert rejected(backend, body(msg)).code == -32602
    # With headers the header rung fires first (a header is a str, never equal to an int).
    assert rejected(backend, body(msg), {"mcp-protocol-version": "20260728", "mcp-method": "tools/list"}).code == -32020


def test_rung3_supported_versions_argument(backend):
    msg = request("tools/list", _meta={PV: "2026-12-01", CAPS: {}})
    req = backend.decode(body(msg), headers_for(msg), supported_versions=("2026-07-28", "2026-12-01"))
    assert req.protocol_version == "2026-12-01"
    r = rejected(backend, body(msg), headers_for(msg), supported_versions=["2026-07-28"])
    assert json.loads(r.to_bytes())["error"]["data"] == {"supported": [V], "requested": "2026-12-01"}


# ---- bad input and the deliberate divergences (each refused where the SDK's json.loads accepts) ----


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b'{"jsonrpc":"2.0",',
        b"\xff\xfe{}",
        b'{"a":"\xc3"}',
        b'{"a":"\xed\xa0\x80"}',
        b"{}x",
        b"\xef\xbb\xbf{}",
        b'{"a":"\x01"}',
        b"[1,]",
        b"{'a':1}",
        b"01",
        b"tru",
    ],
    ids=[
        "empty",
        "blank",
        "truncated",
        "utf16-bom",
        "cut-utf8",
        "encoded-surrogate",
        "trailing",
        "utf8-bom",
        "raw-control",
        "trailing-comma",
        "single-quotes",
        "leading-zero",
        "truncated-literal",
    ],
)
def test_not_json(backend, raw):
    r = rejected(backend, raw)
    assert (r.code, r.http_status, r.request_id) == (-32700, 400, None)


DIVERGENCES = {
    "duplicate-key": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","name":"rm","_meta":{}}}',
    "duplicate-nested-key": b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"arguments":{"a":1,"a":2}}}',
    "duplicate-escaped-key": b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"\\u0061":1,"a":2}}',
    "nan": b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"v":NaN}}',
    "infinity": b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"v":-Infinity}}',
    "float-overflow": b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"v":1e400}}',
    "lone-high-surrogate": b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"v":"\\ud800"}}',
    "lone-low-surrogate": b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"v":"\\udc00x"}}',
}


@pytest.mark.parametrize("name", sorted(DIVERGENCES))
def test_divergence_parse_error(backend, name):
    raw = DIVERGENCES[name]
    json.loads(raw)  # the SDK's parser takes it
    r = rejected(backend, raw)
    assert (r.code, r.http_status) == (-32700, 400)


@pytest.mark.parametrize("id", [2**63, -(2**63) - 1, 2**64, 10**30])
def test_divergence_id_beyond_int64(backend, id):
    raw = body(request(id=id))
    r = rejected(backend, raw)
    assert (r.code, r.http_status, r.request_id) in {(-32600, 400, None), (-32700, 400, None)}


@pytest.mark.parametrize("id", [2**63 - 1, -(2**63)])
def test_int64_edge_ids_accepted(backend, id):
    assert backend.decode(body(request(id=id))).id == id


def test_divergence_depth(backend):
    deep = b"[" * 10_000 + b"]" * 10_000
    json.loads(b"[" * 900 + b"]" * 900)
    assert rejected(backend, deep).code == -32700
    # root object, params, arguments, then the arrays: 3 + 61 = 64 levels fit, 65 do not.
    msg = request(arguments={"x": json.loads(b"[" * 61 + b"]" * 61)})
    assert backend.decode(body(msg)).params["arguments"]["x"] is not None
    msg = request(arguments={"x": json.loads(b"[" * 62 + b"]" * 62)})
    assert rejected(backend, body(msg)).code == -32700
    assert backend.decode(body(msg), limits=Limits(max_depth=100)).id == 1


def test_divergence_body_size(backend):
    big = body(request(arguments={"blob": "x" * (50 * 1024 * 1024)}))
    r = rejected(backend, big)
    assert (r.code, r.http_status, r.request_id) == (-32600, 413, None)
    small = body(request())
    assert rejected(backend, small, limits=Limits(max_body_bytes=len(small) - 1)).http_status == 413
    assert backend.decode(small, limits=Limits(max_body_bytes=len(small))).id == 1


def test_string_limit(backend):
    raw = body(request(arguments={"s": "é" * 600}))
    assert rejected(backend, raw, limits=Limits(max_string_bytes=1000)).code == -32700
    assert backend.decode(raw, limits=Limits(max_string_bytes=1200)).id == 1


def test_big_integer_arguments_read_as_doubles(backend):
    # Beyond 64 bits a JSON number is read as an IEEE double (orjson's and JavaScript's reading).
    req = backend.decode(
        b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"_meta":{"%s":"%s","%s":{}},"n":18446744073709551616,"m":18446744073709551615}}'
        % (PV.encode(), V.encode(), CAPS.encode())
    )
    assert req.params["n"] == 1.8446744073709552e19 and type(req.params["n"]) is float
    assert req.params["m"] == 2**64 - 1 and type(req.params["m"]) is int


def test_limits_validation():
    with pytest.raises(ValueError):
        Limits(max_depth=0)
    with pytest.raises(ValueError):
        Limits(max_depth=10_000)
    with pytest.raises(ValueError):
        Limits(max_body_bytes=-1)


# ---- responses (header-less transports only) ---------------------------------------------


def test_responses_without_headers(backend):
    r = backend.decode(b'{"jsonrpc":"2.0","id":"a","result":{"x":1}}')
    assert (type(r).__name__, r.id, r.result) == ("Response", "a", {"x": 1})
    e = backend.decode(b'{"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"nope","data":[1]}}')
    assert (type(e).__name__, e.id, e.code, e.message, e.data) == ("ErrorResponse", None, -32601, "nope", [1])
    for bad in [
        b'{"jsonrpc":"2.0","id":1,"result":[1]}',
        b'{"jsonrpc":"2.0","id":1,"result":{},"error":{}}',
        b'{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}',
    ]:
        assert rejected(backend, bad).code == -32600


# ---- routing keys ---------------------------------------------------------------------------


def test_routing_keys(backend):
    keys = backend.routing_keys(body(request(id="r1", name="add")))
    assert (keys.method, keys.name, keys.protocol_version, keys.id) == ("tools/call", "add", V, "r1")
    keys = backend.routing_keys(b'{"method":"resources/read","params":{"uri":7}}')
    assert (keys.method, keys.name, keys.protocol_version, keys.id) == ("resources/read", None, None, None)
    assert backend.routing_keys(b'{"id":true}').id is None
    assert rejected_keys(backend, b"[1]").code == -32600
    assert rejected_keys(backend, b'{"a":1,"a":1}').code == -32700


def rejected_keys(backend, raw):
    with pytest.raises(Rejection) as info:
        backend.routing_keys(raw)
    return info.value


# ---- encoding --------------------------------------------------------------------------------


def test_encode_response_and_error(backend):
    result = {"content": [{"type": "text", "text": '3 é \u2028 "q"\n'}], "n": [1, 2.5, 1e16, -0.0, 1e-7, None, True]}
    out = backend.encode_response(1, result)
    assert json.loads(out) == {"jsonrpc": "2.0", "id": 1, "result": result}
    assert out.startswith(b'{"jsonrpc":"2.0","id":1,"result":{')
    assert (
        backend.encode_error(None, -32601, "Method not found")
        == b'{"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"Method not found"}}'
    )
    assert json.loads(backend.encode_error("x", -32022, "v", {"supported": [V]}))["error"]["data"] == {"supported": [V]}


@pytest.mark.parametrize("bad", [{"x": object()}, {"x": 2**70}, {1: "int key"}])
def test_encode_refuses_non_json(backend, bad):
    with pytest.raises(TypeError):
        backend.encode_response(1, bad)


def test_encode_non_finite_floats_as_null(backend):
    # orjson's reading: JSON has no NaN or Infinity, and a reply must still go out.
    assert json.loads(backend.encode_response(1, {"x": float("nan"), "y": float("-inf")}))["result"] == {
        "x": None,
        "y": None,
    }


@pytest.mark.parametrize("bad_id", [True, 1.0, None, 2**63])
def test_encode_response_id_types(backend, bad_id):
    with pytest.raises(TypeError):
        backend.encode_response(bad_id, {})


def test_http_status(backend):
    assert [
        backend.http_status(c)
        for c in (-32700, -32600, -32601, -32602, -32020, -32021, -32022, -32010, -32011, -32012, -32603, 0)
    ] == [400, 400, 404, 400, 400, 400, 400, 401, 403, 401, 200, 200]


# ---- header values and request headers -------------------------------------------------------


@pytest.mark.parametrize(
    ("plain", "encoded"),
    [
        ("get_weather", "get_weather"),
        ("Hello, 世界", "=?base64?SGVsbG8sIOS4lueVjA==?="),
        (" padded ", "=?base64?IHBhZGRlZCA=?="),
        ("line1\nline2", "=?base64?bGluZTEKbGluZTI=?="),
        ("=?base64?literal?=", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="),
        ("", ""),
    ],
)
def test_header_value_codec_spec_examples(backend, plain, encoded):
    assert backend.encode_header_value(plain) == encoded
    assert backend.decode_header_value(encoded) == plain


def test_decode_header_value_strict(backend):
    assert backend.decode_header_value(None) is None
    for bad in ["=?base64?YQ?=", "=?base64?YR==?=", "=?base64?Y Q==?=", "=?base64?/w==?="]:
        assert backend.decode_header_value(bad) is None
    assert backend.decode_header_value("=?base64?YQ==?=\n") == "=?base64?YQ==?=\n"


def test_request_headers(backend):
    msg = request(name="héllo")
    assert backend.request_headers("tools/call", msg["params"]) == {
        "MCP-Protocol-Version": V,
        "Mcp-Method": "tools/call",
        "Mcp-Name": "=?base64?aMOpbGxv?=",
    }
    assert backend.request_headers("tools/list", {"_meta": meta()}) == {
        "MCP-Protocol-Version": V,
        "Mcp-Method": "tools/list",
    }
    with pytest.raises(ValueError):
        backend.request_headers("tools/list", {})
    # What request_headers produces, decode accepts.
    assert backend.decode(body(msg), backend.request_headers("tools/call", msg["params"])).name == "héllo"


# ---- Mcp-Param-* -----------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"},
        "count": {"type": "integer", "x-mcp-header": "Count"},
        "dry": {"type": "boolean", "x-mcp-header": "Dry"},
        "nested": {"type": "object", "properties": {"zone": {"type": "string", "x-mcp-header": "Zone"}}},
        "free": {"type": "string"},
    },
}


@pytest.mark.parametrize(
    ("arguments", "headers"),
    [
        (
            {"region": "eu", "count": 42, "dry": True, "nested": {"zone": "a"}},
            {"Mcp-Param-Region": "eu", "Mcp-Param-Count": "42", "mcp-param-dry": "true", "Mcp-Param-Zone": "a"},
        ),
        ({"count": 42.0}, {"Mcp-Param-Count": "42"}),
        ({"count": 42}, {"Mcp-Param-Count": "42.000"}),
        ({"region": "Zürich"}, {"Mcp-Param-Region": "=?base64?WsO8cmljaA==?="}),
        ({"region": None, "free": "x"}, {}),
        ({}, {}),
    ],
)
def test_param_headers_accepted(backend, arguments, headers):
    assert backend.check_param_headers(SCHEMA, arguments, headers) is None


@pytest.mark.parametrize(
    ("arguments", "headers", "needle"),
    [
        ({"region": "eu"}, {}, "is missing"),
        ({}, {"Mcp-Param-Region": "eu"}, "is present but"),
        ({"region": "eu"}, {"Mcp-Param-Region": "us"}, "does not match"),
        ({"count": 42}, {"Mcp-Param-Count": "42.5"}, "does not match"),
        ({"count": 42}, {"Mcp-Param-Count": "4.2e1"}, "does not match"),
        ({"dry": False}, {"Mcp-Param-Dry": "False"}, "does not match"),
        ({"region": "eu"}, {"Mcp-Param-Region": "=?base64?ZXU?="}, "malformed base64"),
        ({"region": "eu"}, [("Mcp-Param-Region", "eu"), ("mcp-param-region", "eu")], "more than once"),
        ({"nested": {"zone": "a"}}, {}, "'nested.zone'"),
        ({"region": ["eu"]}, {"Mcp-Param-Region": "['eu']"}, "does not match"),
    ],
)
def test_param_headers_rejected(backend, arguments, headers, needle):
    with pytest.raises(Rejection) as info:
        backend.check_param_headers(SCHEMA, arguments, headers, request_id=3)
    r = info.value
    assert (r.code, r.http_status, r.request_id) == (-32020, 400, 3)
    assert needle in r.message


def test_param_headers_float_rendering(backend):
    schema = {"type": "object", "properties": {"f": {"type": "string", "x-mcp-header": "F"}}}
    for value, rendered in [(1e16, "1e+16"), (0.00001, "1e-05"), (2.5, "2.5"), (100.0, "100.0")]:
        backend.check_param_headers(schema, {"f": value}, {"Mcp-Param-F": rendered})


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "number", "x-mcp-header": "A"}}},
        {"type": "object", "x-mcp-header": "Root"},
        {"type": "object", "properties": {"a": {"type": "string", "x-mcp-header": "bad header"}}},
        {
            "type": "object",
            "properties": {"a": {"type": "string", "x-mcp-header": "A"}, "b": {"type": "string", "x-mcp-header": "a"}},
        },
        {"type": "object", "anyOf": [{"properties": {"a": {"type": "string", "x-mcp-header": "A"}}}]},
        {"type": "object", "properties": {"a": {"type": ["string"], "x-mcp-header": "A"}}},
    ],
    ids=["number-type", "root", "not-a-token", "case-duplicate", "under-anyOf", "type-list"],
)
def test_invalid_declarations_validate_nothing(backend, schema):
    assert backend.check_param_headers(schema, {"a": "x"}, {"Mcp-Param-A": "y"}) is None


def test_supported_versions_none_means_the_default(backend):
    assert backend.decode(body(request()), supported_versions=None).protocol_version == V


def test_non_object_body_is_refused_before_headers_are_read(backend):
    r = rejected(backend, b"[1]", [(1, 2)])
    assert r.code == -32600


def test_bytearray_header_names(backend):
    msg = request()
    pairs = [(bytearray(k.lower().encode()), v.encode()) for k, v in headers_for(msg).items()]
    assert backend.decode(body(msg), pairs).name == "add"


# ---- optional whitespace around header values (RFC 9110 §5.5) --------------------------------
# h11 strips SP/HTAB around a field value, httptools hands it over as received: both must decode
# the same. Only SP and HTAB are optional whitespace; VT, FF and NBSP are part of the value.

OWS_PADDINGS = ["  {}  ", "\t{}", "{}\t", " \t{}\t "]


@pytest.mark.parametrize("padding", OWS_PADDINGS)
def test_routing_header_values_lose_surrounding_sp_and_htab(backend, padding):
    msg = request()
    raw = [
        (b"host", b"127.0.0.1"),
        (b"mcp-protocol-version", padding.format(V).encode()),
        (b"mcp-method", padding.format("tools/call").encode()),
        (b"mcp-name", padding.format("add").encode()),
    ]
    req = backend.decode(body(msg), raw)
    assert (req.method, req.name, req.protocol_version) == ("tools/call", "add", V)
    # The same as str pairs and as a mapping.
    pairs = [(k.decode(), v.decode()) for k, v in raw]
    assert backend.decode(body(msg), pairs).name == "add"
    assert backend.decode(body(msg), dict(pairs)).name == "add"


def test_padded_base64_name_is_decoded_after_trimming(backend):
    msg = request(name="héllo")
    encoded = backend.encode_header_value("héllo")
    req = backend.decode(body(msg), headers_for(msg, **{"Mcp-Name": f" \t{encoded} "}))
    assert req.name == "héllo"


def test_padded_version_of_a_notification(backend):
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    got = backend.decode(body(note), [(b"mcp-protocol-version", b"\t" + V.encode() + b"  ")])
    assert type(got).__name__ == "Notification"
    assert got.protocol_version == V


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (b"mcp-name", b"\x0badd"),  # vertical tab
        (b"mcp-name", b"add\x0c"),  # form feed
        (b"mcp-name", b"\xa0add"),  # NBSP (Latin-1)
        (b"mcp-name", b"add\xa0"),
        (b"mcp-method", b"tools/call\x0b"),
        (b"mcp-protocol-version", b"\xa0" + V.encode()),
    ],
)
def test_other_whitespace_is_part_of_a_routing_value(backend, header, value):
    msg = request()
    raw = [(k.lower().encode(), v.encode()) for k, v in headers_for(msg).items()]
    raw = [(k, value if k == header else v) for k, v in raw]
    r = rejected(backend, body(msg), raw)
    assert (r.code, r.http_status, r.request_id) == (-32020, 400, 1)
    assert header.decode() in r.message


@pytest.mark.parametrize("padding", OWS_PADDINGS)
def test_param_header_values_lose_surrounding_sp_and_htab(backend, padding):
    arguments = {"region": "eu", "count": 42, "dry": True}
    raw = [
        (b"mcp-param-region", padding.format("eu").encode()),
        (b"mcp-param-count", padding.format("42").encode()),
        (b"mcp-param-dry", padding.format("true").encode()),
    ]
    assert backend.check_param_headers(SCHEMA, arguments, raw) is None
    assert (
        backend.check_param_headers(
            SCHEMA, {"region": "Zürich"}, [(b"mcp-param-region", b" =?base64?WsO8cmljaA==?=\t")]
        )
        is None
    )


@pytest.mark.parametrize("value", [b"\x0beu", b"eu\x0c", b"\xa0eu", b"eu\xa0", b"e u"])
def test_other_whitespace_is_part_of_a_param_value(backend, value):
    with pytest.raises(Rejection) as info:
        backend.check_param_headers(SCHEMA, {"region": "eu"}, [(b"mcp-param-region", value)], request_id=4)
    assert (info.value.code, info.value.request_id) == (-32020, 4)
    assert "does not match" in info.value.message


# ---- text that is not valid Unicode (a lone surrogate) --------------------------------------
# JSON cannot carry it and HTTP never produces it. Both backends refuse it the same way: the
# encoders with orjson's TypeError (so a caller's `except TypeError` fallback behaves alike), the
# header readers with a TypeError, the parser with -32700.

LONE = "\ud800"


@pytest.mark.parametrize(
    "encode",
    [
        lambda b: b.encode_response(1, {"text": f"ab{LONE}cd"}),
        lambda b: b.encode_response(1, {f"key{LONE}": 1}),
        lambda b: b.encode_response(f"id{LONE}", {}),
        lambda b: b.encode_error(1, -32602, f"bad {LONE}"),
        lambda b: b.encode_error(1, -32602, "bad", {"detail": [LONE]}),
    ],
    ids=["result-value", "result-key", "id", "error-message", "error-data"],
)
def test_encoders_refuse_lone_surrogates_with_a_type_error(backend, encode):
    with pytest.raises(TypeError, match="^cannot encode as JSON: str is not valid UTF-8: surrogates not allowed$"):
        encode(backend)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({1, 2}, "Type is not JSON serializable: set"),
        (2**64, "Integer exceeds 64-bit range"),
        (-(2**63) - 1, "Integer exceeds 64-bit range"),
        ({1: 2}, "Dict key must be str"),
    ],
)
def test_encoders_give_orjsons_reasons(backend, value, reason):
    with pytest.raises(TypeError) as info:
        backend.encode_response(1, {"v": value})
    assert str(info.value) == f"cannot encode as JSON: {reason}"


def _nested_lists(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_encoders_nest_as_deep_as_orjson(backend):
    # orjson refuses a container at depth 254 counting the message object as 0: the result object
    # is depth 1, so 252 lists inside it are the most that can be written.
    assert backend.encode_response(1, {"v": _nested_lists(252)}).count(b"[") == 252
    with pytest.raises(TypeError, match="Recursion limit reached"):
        backend.encode_response(1, {"v": _nested_lists(253)})
    assert backend.encode_error(1, -32000, "m", _nested_lists(252)).count(b"[") == 252
    with pytest.raises(TypeError, match="Recursion limit reached"):
        backend.encode_error(1, -32000, "m", _nested_lists(253))
    cycle: list = []
    cycle.append(cycle)
    with pytest.raises(TypeError, match="Recursion limit reached"):
        backend.encode_response(1, {"v": cycle})


@pytest.mark.parametrize(
    "headers",
    [
        {"Mcp-Name": LONE},
        {"mcp-protocol-version": f"{V}{LONE}"},
        [("x-other", f"a{LONE}")],
        [(f"x-{LONE}", "a")],
        [(f"mcp-name{LONE}", "add")],
    ],
    ids=["routing-value", "version-value", "other-value", "other-name", "routing-like-name"],
)
def test_header_text_with_a_lone_surrogate_is_a_type_error(backend, headers):
    msg = request()
    with pytest.raises(TypeError, match="valid Unicode"):
        backend.decode(b"{}", headers)
    with pytest.raises(TypeError, match="valid Unicode"):
        backend.decode(body(msg), headers)


def test_header_codec_refuses_lone_surrogates(backend):
    for call in (
        lambda: backend.encode_header_value(f"a{LONE}"),
        lambda: backend.decode_header_value(f"a{LONE}"),
        lambda: backend.request_headers(f"tools/{LONE}", {"_meta": meta()}),
        lambda: backend.request_headers("tools/list", {"_meta": meta(**{PV: f"v{LONE}"})}),
        lambda: backend.request_headers("tools/call", {"name": LONE, "_meta": meta()}),
        lambda: backend.check_param_headers(SCHEMA, {"region": "eu"}, {"Mcp-Param-Region": f"eu{LONE}"}),
    ):
        with pytest.raises(TypeError, match="valid Unicode"):
            call()
    with pytest.raises(TypeError):
        backend.decode_header_value(5)


@pytest.mark.parametrize("versions", [[f"{V}{LONE}"], [V, 7]])
def test_supported_versions_must_be_text(backend, versions):
    with pytest.raises(TypeError, match="supported_versions"):
        backend.decode(body(request()), supported_versions=versions)


@pytest.mark.parametrize("size", [1 << 20, (1 << 20) + 1])
def test_top_level_string_is_held_to_the_string_limit(backend, size):
    raw = b'"' + b"a" * size + b'"'
    r = rejected(backend, raw, {})
    if size > Limits().max_string_bytes:
        assert (r.code, r.http_status) == (-32700, 400)
    else:
        assert (r.code, r.http_status) == (-32600, 400)  # a string, but not one message
    tight = Limits(max_string_bytes=3)
    assert rejected(backend, b'"abcd"', limits=tight).code == -32700
    assert rejected(backend, b'"abc"', limits=tight).code == -32600


@pytest.mark.parametrize(
    ("arguments", "headers", "needle"),
    [
        # A non-JSON value elsewhere in the arguments does not hide the declared one.
        ({"region": "eu", "other": {1, 2}}, {"Mcp-Param-Region": "eu"}, None),
        ({"region": "eu", 3: "int key"}, {"Mcp-Param-Region": "eu"}, None),
        ({"region": "eu", "big": 2**70}, {"Mcp-Param-Region": "eu"}, None),
        # A declared argument that is no JSON scalar matches no header value.
        ({"region": object()}, {"Mcp-Param-Region": "x"}, "does not match"),
        ({"region": object()}, {}, None),
    ],
)
def test_param_headers_read_non_json_parts_one_by_one(backend, arguments, headers, needle):
    if needle is None:
        assert backend.check_param_headers(SCHEMA, arguments, headers) is None
        return
    with pytest.raises(Rejection) as info:
        backend.check_param_headers(SCHEMA, arguments, headers)
    assert needle in info.value.message


def test_param_headers_schema_with_non_json_parts(backend):
    schema = {**SCHEMA, "default": object(), "examples": [{1, 2}]}
    assert backend.check_param_headers(schema, {"region": "eu"}, {"Mcp-Param-Region": "eu"}) is None
    with pytest.raises(Rejection):
        backend.check_param_headers(schema, {"region": "eu"}, {})


# ---- lazy decode: params on first access, arguments_json -------------------------------------


def test_arguments_json_is_the_arguments_as_json(backend):
    import orjson

    raw = (
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add",'
        b'"arguments": { "a" : 1, "b":[2.5,null,true,"\\u00e9\\n"] , "c":{}},'
        b'"_meta":' + json.dumps(meta()).encode() + b"}}"
    )
    req = backend.decode(raw, {"mcp-protocol-version": V, "mcp-method": "tools/call", "mcp-name": "add"})
    got = req.arguments_json
    assert type(got) is bytes
    assert orjson.loads(got) == {"a": 1, "b": [2.5, None, True, "é\n"], "c": {}}
    if backend.__name__.endswith("_native"):
        # The native backend hands over the bytes exactly as sent.
        assert got == b'{ "a" : 1, "b":[2.5,null,true,"\\u00e9\\n"] , "c":{}}'
    assert req.arguments_json is got  # built once
    assert req.params["arguments"] == orjson.loads(got)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [(None, b"null"), ([], b"[]"), ("x", b'"x"'), (7, b"7")],
)
def test_arguments_json_of_any_json_value(backend, arguments, expected):
    msg = request(arguments=arguments)
    assert backend.decode(body(msg), headers_for(msg)).arguments_json == expected


def test_arguments_json_is_none_without_arguments(backend):
    msg = request("tools/list")
    assert backend.decode(body(msg), headers_for(msg)).arguments_json is None
    msg = request()
    del msg["params"]["arguments"]
    assert backend.decode(body(msg), headers_for(msg)).arguments_json is None


def test_lazy_params_are_built_once_and_share_meta(backend):
    msg = request(arguments={"x": [1, {"y": "z"}]}, cursor="c1")
    for first in ("params", "meta", "client_info"):
        req = backend.decode(body(msg), headers_for(msg))
        getattr(req, first)
        assert req.params == msg["params"]
        assert req.params is req.params
        assert req.meta is req.params["_meta"]
        assert req.client_info is req.meta[INFO]
        assert req.client_capabilities is req.meta[CAPS]


def test_constructed_request_gives_arguments_json(backend):
    params = {"name": "add", "arguments": {"a": 1, "é": [True, None]}, "_meta": meta()}
    req = backend.Request(1, "tools/call", params, params["_meta"], V, None, {}, "add")
    assert req.arguments_json == b'{"a":1,"\xc3\xa9":[true,null]}'
    assert backend.Request(1, "tools/list", {"_meta": meta()}, meta(), V, None, {}, None).arguments_json is None
    with pytest.raises(TypeError, match="cannot encode as JSON"):
        backend.Request(1, "tools/call", {"arguments": {1, 2}}, {}, V, None, {}, "x").arguments_json  # noqa: B018


def test_decoded_and_constructed_requests_compare_equal(backend):
    import copy
    import pickle

    msg = request(arguments={"a": 1})
    req = backend.decode(body(msg), headers_for(msg))
    built = backend.Request(1, "tools/call", msg["params"], msg["params"]["_meta"], V, meta()[INFO], {}, "add")
    assert req == built
    assert "arguments" not in repr(req)
    again = pickle.loads(pickle.dumps(req))
    assert again == req
    assert again.arguments_json == b'{"a":1}'
    assert copy.copy(req) == req


@pytest.mark.parametrize(
    "arguments",
    [
        b'{"a":1,"a":2}',
        b'{"a":[1e400]}',
        b'{"a":"\\ud800"}',
        b'{"a":NaN}',
        b'{"a":[01]}',
        b'{"a":"x\x01"}',
        b'{"a":"\xff"}',
        b"[" * 70 + b"]" * 70,
        b'{"a":1,}',
    ],
    ids=["duplicate", "overflow", "surrogate", "nan", "leading-zero", "control", "utf8", "depth", "trailing-comma"],
)
def test_arguments_are_validated_at_decode_time(backend, arguments):
    raw = (
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":'
        + arguments
        + b',"_meta":'
        + json.dumps(meta()).encode()
        + b"}}"
    )
    r = rejected(backend, raw, {"mcp-protocol-version": V, "mcp-method": "tools/call", "mcp-name": "add"})
    assert (r.code, r.http_status) == (-32700, 400)


def test_other_params_members_are_validated_too(backend):
    raw = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":{"a":1,"a":1},"_meta":{}}}'
    assert rejected(backend, raw, {}).code == -32700
    # A notification's params are read from the body as well.
    note = {"jsonrpc": "2.0", "method": "notifications/x", "params": {"k": [1, {"v": "é"}], "_meta": {PV: V}}}
    got = backend.decode(body(note))
    assert (got.params, got.meta) == (note["params"], note["params"]["_meta"])


@pytest.mark.parametrize("signed", [False, True], ids=["lazy", "envelope"])
def test_gate_admit_builds_the_same_request(backend, signed):
    """Gate.admit decodes through the same code: a lazy parse without an envelope verifier, the
    whole tree with one (the signature covers it); the Request reads the same either way."""
    import orjson

    key = backend.HmacKey("k1", b"s" * 32)
    msg = request(arguments={"a": 1, "b": ["x", {"c": None}]})
    if signed:
        gate = backend.Gate(envelope=backend.EnvelopeVerifier(backend.KeyRing([key])))
        msg = backend.EnvelopeSigner(key).sign(msg)
    else:
        gate = backend.Gate()
    raw = body(msg)
    admitted = gate.admit(raw, headers_for(msg))
    assert orjson.loads(admitted.request.arguments_json) == msg["params"]["arguments"]
    assert admitted.request.params == msg["params"]
    assert admitted.request == backend.decode(raw, headers_for(msg))


def test_native_key_cache_serves_repeated_names(native):
    """Argument names repeat request after request: the native module hands out the same `str`
    objects for them (a cache, not interning). Names that differ only in their last byte must not
    crowd into a few slots (they did: nearly every key missed)."""
    args = {f"arg_{i:04d}": i for i in range(200)}
    msg = request(arguments=args)
    first = list(native.decode(body(msg), headers_for(msg)).params["arguments"])
    second = list(native.decode(body(msg), headers_for(msg)).params["arguments"])
    assert first == second
    assert sum(a is b for a, b in zip(first, second, strict=True)) >= 190
