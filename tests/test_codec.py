"""The codec's wire rules (DESIGN §5), on both backends."""

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
        [(b"mcp-protocol-version", V.encode()), (b"mcp-method", b"tools/call"), (b"mcp-name", b"add"), (b"x-other", b"1")],
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
    [("prompts/get", "name", "greet"), ("resources/read", "uri", "file:///a b/é.txt"), ("tasks/get", "taskId", "t-1"),
     ("tasks/cancel", "taskId", "t-2"), ("tasks/update", "taskId", "t-3")],
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
    ids=["batch", "string", "number", "posted-response", "jsonrpc-1.0", "no-jsonrpc", "bool-id", "float-id", "null-id",
         "list-id", "int-method", "no-method", "list-params", "notification-int-method", "notification-str-params"],
)
def test_not_one_request(backend, message):
    r = rejected(backend, body(message), {"mcp-protocol-version": V, "mcp-method": "tools/list"})
    assert (r.code, r.http_status, r.request_id, r.data) == (-32600, 400, None, None)
    assert json.loads(r.to_bytes()) == {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": r.message}}


# ---- notifications ----------------------------------------------------------------------


def test_notification_accepted_at_served_version(backend):
    n = backend.decode(body({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}}),
                       {"MCP-Protocol-Version": V})
    assert (type(n).__name__, n.method, n.protocol_version, n.params, n.meta) == (
        "Notification", "notifications/cancelled", V, {"requestId": 3}, None)


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
    [({"MCP-Protocol-Version": None}, "mcp-protocol-version"), ({"MCP-Protocol-Version": "2025-11-25"}, "mcp-protocol-version"),
     ({"Mcp-Method": None}, "mcp-method"), ({"Mcp-Method": "tools/list"}, "mcp-method"), ({"Mcp-Name": None}, "mcp-name"),
     ({"Mcp-Name": "Add"}, "mcp-name")],
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
    [b"", b"   ", b'{"jsonrpc":"2.0",', b"\xff\xfe{}", b'{"a":"\xc3"}', b'{"a":"\xed\xa0\x80"}', b"{}x", b"\xef\xbb\xbf{}",
     b'{"a":"\x01"}', b"[1,]", b"{'a':1}", b"01", b"tru"],
    ids=["empty", "blank", "truncated", "utf16-bom", "cut-utf8", "encoded-surrogate", "trailing", "utf8-bom",
         "raw-control", "trailing-comma", "single-quotes", "leading-zero", "truncated-literal"],
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
    req = backend.decode(b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"_meta":{"%s":"%s","%s":{}},"n":18446744073709551616,"m":18446744073709551615}}' % (PV.encode(), V.encode(), CAPS.encode()))
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
    for bad in [b'{"jsonrpc":"2.0","id":1,"result":[1]}', b'{"jsonrpc":"2.0","id":1,"result":{},"error":{}}',
                b'{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}']:
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
    result = {"content": [{"type": "text", "text": "3 é \u2028 \"q\"\n"}], "n": [1, 2.5, 1e16, -0.0, 1e-7, None, True]}
    out = backend.encode_response(1, result)
    assert json.loads(out) == {"jsonrpc": "2.0", "id": 1, "result": result}
    assert out.startswith(b'{"jsonrpc":"2.0","id":1,"result":{')
    assert backend.encode_error(None, -32601, "Method not found") == b'{"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"Method not found"}}'
    assert json.loads(backend.encode_error("x", -32022, "v", {"supported": [V]}))["error"]["data"] == {"supported": [V]}


@pytest.mark.parametrize("bad", [{"x": object()}, {"x": 2**70}, {1: "int key"}])
def test_encode_refuses_non_json(backend, bad):
    with pytest.raises(TypeError):
        backend.encode_response(1, bad)


def test_encode_non_finite_floats_as_null(backend):
    # orjson's reading: JSON has no NaN or Infinity, and a reply must still go out.
    assert json.loads(backend.encode_response(1, {"x": float("nan"), "y": float("-inf")}))["result"] == {"x": None, "y": None}


@pytest.mark.parametrize("bad_id", [True, 1.0, None, 2**63])
def test_encode_response_id_types(backend, bad_id):
    with pytest.raises(TypeError):
        backend.encode_response(bad_id, {})


def test_http_status(backend):
    assert [backend.http_status(c) for c in (-32700, -32600, -32601, -32602, -32020, -32021, -32022, -32010, -32011, -32012, -32603, 0)] == [
        400, 400, 404, 400, 400, 400, 400, 401, 403, 401, 200, 200]


# ---- header values and request headers -------------------------------------------------------


@pytest.mark.parametrize(
    ("plain", "encoded"),
    [("get_weather", "get_weather"), ("Hello, 世界", "=?base64?SGVsbG8sIOS4lueVjA==?="), (" padded ", "=?base64?IHBhZGRlZCA=?="),
     ("line1\nline2", "=?base64?bGluZTEKbGluZTI=?="), ("=?base64?literal?=", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="), ("", "")],
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
        "MCP-Protocol-Version": V, "Mcp-Method": "tools/call", "Mcp-Name": "=?base64?aMOpbGxv?="}
    assert backend.request_headers("tools/list", {"_meta": meta()}) == {"MCP-Protocol-Version": V, "Mcp-Method": "tools/list"}
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
        ({"region": "eu", "count": 42, "dry": True, "nested": {"zone": "a"}},
         {"Mcp-Param-Region": "eu", "Mcp-Param-Count": "42", "mcp-param-dry": "true", "Mcp-Param-Zone": "a"}),
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
        {"type": "object", "properties": {"a": {"type": "string", "x-mcp-header": "A"}, "b": {"type": "string", "x-mcp-header": "a"}}},
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
