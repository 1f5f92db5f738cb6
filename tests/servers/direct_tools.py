"""A purpose-built `MCPServer` for the direct-dispatch proof (tests/test_direct_dispatch.py): one
tool per shape the plan treats differently — how the arguments validate (JSON text or the SDK's
dict), what the result is (text, structured with and without an output schema, content blocks,
images, embedded resources, a `CallToolResult`, `input_required`), how the tool fails (a
`ToolError`, a crash, an `MCPError`, an output that does not fit its schema), sync or async, with
a `Context` or without. Every tool is deterministic, so two instances answer alike.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from mcp.shared.exceptions import MCPError
from mcp.types import (
    CallToolResult,
    ElicitRequest,
    ElicitRequestFormParams,
    EmbeddedResource,
    ImageContent,
    InputRequiredResult,
    TextContent,
    TextResourceContents,
)
from pydantic import BaseModel, Field

PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


class Place(BaseModel):
    city: str = Field(description="City name")
    days: int = Field(default=1, ge=1, le=7)


class Forecast(BaseModel):
    city: str
    days: int
    high_c: float
    tags: list[str] = []


class Aliased(BaseModel):
    first_name: str = Field(alias="firstName")
    age: int | None = None


class Priced(BaseModel):
    price: decimal.Decimal


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


def build_server() -> MCPServer:
    server = MCPServer("direct-proof", version="1.0")

    # -- arguments -----------------------------------------------------------------------------

    @server.tool()
    def add(a: int, b: int) -> int:
        """Sync, two ints."""
        return a + b

    @server.tool()
    async def forecast(place: Place) -> Forecast:
        """Async, a pydantic model in and out."""
        return Forecast(city=place.city, days=place.days, high_c=12.5 + place.days, tags=["mild"])

    @server.tool()
    def echo(text: str, times: int = 1, sep: str = " ") -> str:
        """Strings and defaults."""
        return sep.join([text] * max(0, min(times, 50)))

    @server.tool()
    def optional_text(note: str | None = None) -> str:
        """Optional[str]: the SDK pre-parses '"null"'-like strings, so this validates the SDK's way."""
        return repr(note)

    @server.tool()
    def anything(value: Any = None) -> str:
        """Any: pre-parsed by the SDK when it is a JSON string of a list or object."""
        return repr(value)

    @server.tool()
    def choose(colour: Colour, mode: Literal["fast", "safe"] = "fast", flag: bool = False) -> dict[str, Any]:
        """Enum, Literal and bool."""
        return {"colour": colour.value, "mode": mode, "flag": flag}

    @server.tool()
    def when(at: dt.datetime, offset_s: float = 0.0) -> str:
        """A datetime and a float."""
        return (at + dt.timedelta(seconds=offset_s)).isoformat()

    @server.tool()
    def person(who: Aliased) -> dict[str, Any]:
        """A model with an aliased field."""
        return who.model_dump(by_alias=True)

    @server.tool()
    def price(item: Priced) -> str:
        """A Decimal inside a model: JSON text and decoded floats read differently, so the SDK's way."""
        return str(item.price)

    @server.tool()
    def numbers(values: list[int], scale: float = 1.0) -> list[float]:
        """A list in, a list out (structured, wrapped; one text block per item)."""
        return [v * scale for v in values[:100]]

    @server.tool()
    def mapping(data: dict[str, int]) -> dict[str, int]:
        """A dict in and out."""
        return {k: v + 1 for k, v in list(data.items())[:50]}

    @server.tool()
    def pairs(pair: tuple[int, int]) -> int:
        """A tuple."""
        return pair[0] * pair[1]

    @server.tool()
    def header_bound(region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})]) -> str:
        """An x-mcp-header parameter."""
        return region

    # -- results -------------------------------------------------------------------------------

    @server.tool()
    def unstructured(x: str = "q"):
        """No return annotation: text content only."""
        return {"k": x, "n": [1, 2]}

    @server.tool(structured_output=False)
    def unstructured_model(x: str = "q") -> Forecast:
        """structured_output=False with a model return."""
        return Forecast(city=x, days=1, high_c=1.0)

    @server.tool()
    def nothing() -> None:
        """Returns None."""
        return None

    @server.tool()
    def image() -> Image:
        """An Image helper."""
        import base64

        return Image(data=base64.b64decode(PNG_1X1), format="png")

    @server.tool()
    def blocks() -> list[TextContent | ImageContent | EmbeddedResource]:
        """Several content blocks, one of them an embedded resource."""
        return [
            TextContent(type="text", text="here"),
            ImageContent(type="image", data=PNG_1X1, mime_type="image/png"),
            EmbeddedResource(
                type="resource",
                resource=TextResourceContents(uri="test://doc", mime_type="text/plain", text="body"),
            ),
        ]

    @server.tool()
    def raw_result() -> CallToolResult:
        """A CallToolResult returned as is."""
        return CallToolResult(content=[TextContent(type="text", text="mine")], structured_content={"a": 1})

    @server.tool()
    def bad_output() -> int:
        """Declares int, returns a string: the output validation fails (a crash)."""
        return "not a number"  # type: ignore[return-value]

    @server.tool()
    def unicode_text(text: str = "héllo ✓") -> str:
        """Non-ASCII both ways."""
        return text.upper()

    # -- failures ------------------------------------------------------------------------------

    @server.tool()
    def tool_error(why: str = "nope") -> str:
        """A ToolError: its text reaches the client."""
        raise ToolError(f"refused: {why}")

    @server.tool()
    async def crash() -> str:
        """An unexpected exception: its text stays on the server."""
        raise RuntimeError("secret internals")

    @server.tool()
    def protocol_error() -> str:
        """An MCPError: a JSON-RPC error, not a result."""
        raise MCPError(code=-32042, message="custom protocol error", data={"x": 1})

    # -- context and input_required ------------------------------------------------------------

    @server.tool()
    async def with_context(label: str, ctx: Context) -> dict[str, Any]:
        """Takes a Context: reads the request id and the client capabilities."""
        await ctx.report_progress(1, 2)  # no progress token on these requests: a no-op, as in the SDK
        caps = ctx.session.client_capabilities
        return {"label": label, "request_id": str(ctx.request_id), "caps": caps is not None}

    @server.tool()
    def sync_context(ctx: Context) -> str:
        """A sync tool with a Context."""
        return f"request {ctx.request_id}"

    @server.tool()
    async def ask(ctx: Context) -> str | InputRequiredResult:
        """Declares input_required: served by the SDK's kernel."""
        if ctx.input_responses:
            return "thanks"
        return InputRequiredResult(
            input_requests={
                "who": ElicitRequest(
                    params=ElicitRequestFormParams(
                        message="Name?", requested_schema={"type": "object", "properties": {}}
                    )
                )
            },
            request_state="round-1",
        )

    @server.tool()
    async def sneaky_input_required() -> str:
        """Returns input_required without declaring it: the direct path finishes it the SDK's way."""
        return InputRequiredResult(  # type: ignore[return-value]
            input_requests={
                "who": ElicitRequest(
                    params=ElicitRequestFormParams(
                        message="Name?", requested_schema={"type": "object", "properties": {}}
                    )
                )
            },
            request_state="undeclared",
        )

    return server
