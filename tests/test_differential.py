"""Differential tests: native ≡ pure on generated and mutated bodies and header sets, and both ≡ the
official SDK's handling of a 2026-07-28 POST outside the deliberate divergences the README lists under "Wire rules"."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp.shared.inbound import (
    InboundLadderRejection,
    classify_inbound_request,
    find_duplicated_routing_header,
    unsupported_protocol_version_rejection,
)
from mcp_fastpath import Rejection
from mcp_types import JSONRPCNotification, JSONRPCRequest
from pydantic import ValidationError

from .helpers import CAPS, INFO, PV, V, outcome

# Thousands of cases per CI run across these tests; `soak` profile for more.
EXAMPLES = int(os.environ.get("MCP_FASTPATH_DIFF_EXAMPLES", "1500"))

METHODS = [
    "tools/call",
    "tools/list",
    "prompts/get",
    "resources/read",
    "tasks/get",
    "tasks/cancel",
    "custom/thing",
    "notifications/x",
]
NAME_KEY = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    "tasks/get": "taskId",
    "tasks/cancel": "taskId",
}

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12,
)
MISSING = object()


def maybe(strategy):
    return st.one_of(st.just(MISSING), strategy)


@st.composite
def messages(draw):
    method = draw(st.one_of(st.sampled_from(METHODS), st.integers(), st.just(MISSING)))
    meta = draw(
        st.one_of(
            st.fixed_dictionaries(
                {
                    PV: st.sampled_from([V, V, V, "2025-11-25", "", 20260728, None]),
                    CAPS: st.one_of(st.just({}), json_values),
                },
                optional={INFO: json_values, "dev.x/extra": json_values},
            ),
            st.dictionaries(st.sampled_from([PV, CAPS, INFO]), json_values, max_size=3),
            json_values,
        )
    )
    params = draw(
        st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "_meta": st.just(meta),
                    "name": st.one_of(st.sampled_from(["add", "héllo", " x", "=?base64?YQ==?="]), json_values),
                    "uri": st.sampled_from(["file:///a", "mem://é"]),
                    "taskId": st.sampled_from(["t1", "t2"]),
                    "arguments": json_values,
                },
            ),
            st.just(MISSING),
            st.none(),
            json_values,
        )
    )
    message = {}
    for key, value in (
        ("jsonrpc", draw(maybe(st.sampled_from(["2.0", "2.0", "2.0", "1.0", 2.0])))),
        (
            "id",
            draw(
                maybe(
                    st.one_of(
                        st.integers(min_value=-(2**64), max_value=2**64),
                        st.text(max_size=5),
                        st.booleans(),
                        st.none(),
                        st.floats(allow_nan=False),
                    )
                )
            ),
        ),
        ("method", method),
        ("params", params),
    ):
        if value is not MISSING:
            message[key] = value
    if draw(st.booleans()) and draw(st.booleans()):
        message[draw(st.sampled_from(["result", "error"]))] = draw(json_values)
    return message


def correct_headers(message) -> list[tuple[str, str]]:
    params = message.get("params") if isinstance(message.get("params"), dict) else {}
    meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else {}
    pairs = []
    if isinstance(meta.get(PV), str):
        pairs.append(("MCP-Protocol-Version", meta[PV]))
    if isinstance(message.get("method"), str):
        pairs.append(("Mcp-Method", message["method"]))
        key = NAME_KEY.get(message["method"])
        if key and isinstance(params.get(key), str):
            from mcp_fastpath._pure import encode_header_value

            pairs.append(("Mcp-Name", encode_header_value(params[key])))
    return pairs


@st.composite
def header_sets(draw, message):
    pairs = correct_headers(message)
    for _ in range(draw(st.integers(0, 2))):
        action = draw(st.sampled_from(["drop", "change", "duplicate", "case", "garbage-sentinel", "add-other"]))
        if action == "drop" and pairs:
            pairs.pop(draw(st.integers(0, len(pairs) - 1)))
        elif action == "change" and pairs:
            i = draw(st.integers(0, len(pairs) - 1))
            pairs[i] = (pairs[i][0], draw(st.sampled_from(["", "x", V, "tools/list", "=?base64?eA==?=", "2025-11-25"])))
        elif action == "duplicate" and pairs:
            name, value = pairs[draw(st.integers(0, len(pairs) - 1))]
            pairs.append((name.upper(), value))
        elif action == "case":
            pairs = [(name.swapcase(), value) for name, value in pairs]
        elif action == "garbage-sentinel":
            pairs.append(("Mcp-Name", "=?base64?" + draw(st.text(alphabet="A-Za-z0-9+/=", max_size=6)) + "?="))
        elif action == "add-other":
            pairs.append(("X-Other", "1"))
    if draw(st.booleans()):  # as an ASGI server hands them over
        pairs = [(name.encode("latin-1"), value.encode("latin-1", "replace")) for name, value in pairs]
    return pairs


@st.composite
def bodies(draw, message):
    text = json.dumps(
        message, ensure_ascii=draw(st.booleans()), separators=draw(st.sampled_from([(",", ":"), (", ", ": ")]))
    )
    raw = text.encode("utf-8", "surrogatepass")
    mutation = draw(st.sampled_from(["none"] * 6 + ["truncate", "flip", "insert", "dup-key", "nan"]))
    if mutation == "truncate" and raw:
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    elif mutation == "flip" and raw:
        i = draw(st.integers(0, len(raw) - 1))
        raw = raw[:i] + bytes([draw(st.integers(0, 255))]) + raw[i + 1 :]
    elif mutation == "insert":
        i = draw(st.integers(0, len(raw)))
        raw = raw[:i] + draw(st.sampled_from([b" ", b",", b'"', b"\\", b"\xff", b"{", b"]", b'"id":1,'])) + raw[i:]
    elif mutation == "dup-key" and raw.startswith(b"{") and len(raw) > 2:
        raw = b'{"method":"tools/list",' + raw[1:]
    elif mutation == "nan":
        raw = raw.replace(b"0.0", b"NaN", 1)
    return raw


def str_pairs(pairs):
    return [
        (n.decode("latin-1") if isinstance(n, bytes) else n, v.decode("latin-1") if isinstance(v, bytes) else v)
        for n, v in pairs
    ]


def sdk_outcome(raw: bytes, pairs):
    """The SDK's handle_modern_request, from the body read to the classifier's verdict."""
    pairs = [(n.lower(), v) for n, v in str_pairs(pairs)]
    try:
        decoded = json.loads(raw)
    except (ValueError, RecursionError):
        return ("rejected", -32700, 400, None, None)
    if isinstance(decoded, dict) and "id" not in decoded:
        try:
            JSONRPCNotification.model_validate(decoded)
        except ValidationError:
            return ("rejected", -32600, 400, None, None)
        version = next((v for n, v in pairs if n == "mcp-protocol-version"), "")
        rej = unsupported_protocol_version_rejection(version)
        if rej is not None:
            return ("rejected", rej.code, 400, rej.data, None)
        return ("accepted", "Notification", version)
    try:
        req = JSONRPCRequest.model_validate(decoded)
    except ValidationError:
        return ("rejected", -32600, 400, None, None)
    if find_duplicated_routing_header(pairs) is not None:
        return ("rejected", -32020, 400, None, req.id)
    verdict = classify_inbound_request(decoded, headers=dict(pairs))
    if isinstance(verdict, InboundLadderRejection):
        return ("rejected", verdict.code, 400, verdict.data, req.id)
    return (
        "accepted",
        "Request",
        (req.id, req.method, req.params, verdict.protocol_version, verdict.client_info, verdict.client_capabilities),
    )


def ours_for_sdk(result):
    if result[0] == "rejected":
        return result
    kind, fields = result[1], result[2]
    if kind == "Notification":
        return ("accepted", kind, fields["protocol_version"])
    return (
        "accepted",
        kind,
        (
            fields["id"],
            fields["method"],
            fields["params"],
            fields["protocol_version"],
            fields["client_info"],
            fields["client_capabilities"],
        ),
    )


def _has_wide_int(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not (-(2**63) <= value < 2**64)
    if isinstance(value, dict):
        return any(_has_wide_int(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_wide_int(v) for v in value)
    return False


def deliberate_divergence(raw: bytes, ours, message) -> bool:
    """True where the README's wire rules say we differ from the SDK on purpose."""
    try:
        tree = json.loads(raw)
    except (ValueError, RecursionError):
        return False
    if ours[0] == "rejected" and ours[1] == -32700:
        return True  # duplicate keys, NaN/Infinity, lone surrogates, depth: json.loads takes them, we do not
    if _has_wide_int(tree):
        return True  # beyond 64 bits: we read a double or refuse the id
    if isinstance(tree, dict) and type(tree.get("id")) is int and not (-(2**63) <= tree["id"] < 2**63):
        return True
    if isinstance(tree, dict) and tree.get("method") in ("tasks/get", "tasks/cancel", "tasks/update"):
        return True  # Mcp-Name = taskId is the Tasks extension's rule; the SDK has no Tasks extension
    return False


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_native_equals_pure_with_headers(native, pure, data):
    message = data.draw(messages())
    raw = data.draw(bodies(message))
    pairs = data.draw(header_sets(message))
    assert outcome(lambda: native.decode(raw, pairs)) == outcome(lambda: pure.decode(raw, pairs))


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_native_equals_pure_without_headers(native, pure, data):
    message = data.draw(messages())
    raw = data.draw(bodies(message))
    assert outcome(lambda: native.decode(raw)) == outcome(lambda: pure.decode(raw))
    assert outcome(lambda: native.routing_keys(raw)) == outcome(lambda: pure.routing_keys(raw))


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_arguments_json_agrees(native, pure, data):
    """Native gives `params.arguments` as the body's own bytes, pure as orjson's encoding: the
    same JSON either way (read with orjson, which reads both backends' numbers alike)."""
    import orjson

    message = data.draw(messages())
    raw = data.draw(bodies(message))
    pairs = correct_headers(message)
    try:
        mine, theirs = native.decode(raw, pairs), pure.decode(raw, pairs)
    except Rejection:
        return
    if type(mine).__name__ != "Request":
        return
    if mine.arguments_json is None:
        assert theirs.arguments_json is None
        return
    assert mine.arguments_json in raw
    assert orjson.loads(mine.arguments_json) == orjson.loads(theirs.arguments_json)
    assert orjson.loads(mine.arguments_json) == mine.params["arguments"]


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_backends_equal_the_sdk_ladder(backend, data):
    message = data.draw(messages())
    raw = data.draw(bodies(message))
    pairs = data.draw(header_sets(message))
    ours = outcome(lambda: backend.decode(raw, pairs))
    if deliberate_divergence(raw, ours, message):
        return
    assert ours_for_sdk(ours) == sdk_outcome(raw, pairs)


@settings(max_examples=EXAMPLES)
@given(st.binary(max_size=64) | st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_garbage_bodies_agree(native, pure, raw):
    assert outcome(lambda: native.decode(raw, {})) == outcome(lambda: pure.decode(raw, {}))


@settings(max_examples=EXAMPLES // 3)
@given(json_values, st.booleans())
def test_encoders_agree_byte_for_byte(native, pure, value, as_error):
    result = {"v": value}
    try:
        expected = pure.encode_error(1, -32000, "m", value) if as_error else pure.encode_response(1, result)
    except TypeError:
        with pytest.raises(TypeError):
            native.encode_error(1, -32000, "m", value) if as_error else native.encode_response(1, result)
        return
    assert (native.encode_error(1, -32000, "m", value) if as_error else native.encode_response(1, result)) == expected


@settings(max_examples=EXAMPLES // 3)
@given(st.text(max_size=20))
def test_header_value_codec_agrees(native, pure, text):
    assert native.encode_header_value(text) == pure.encode_header_value(text)
    assert native.decode_header_value(text) == pure.decode_header_value(text)
    assert pure.decode_header_value(pure.encode_header_value(text)) == text
