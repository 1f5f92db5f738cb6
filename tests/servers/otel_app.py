"""An official-SDK server through `fast_http_app` in a process with an OpenTelemetry SDK tracer
provider and an in-memory exporter (the SDK's `InMemorySpanExporter`), access log and metrics on.

Run as `python -m tests.servers.otel_app` (with `PYTHONPATH=python:.`). `GET /spans` answers the
finished spans as JSON (name, kind, trace and parent ids, attributes, status), so the test reads
what the provider recorded over real HTTP. Prints `PORT <n> <backend>` once listening.
"""

from __future__ import annotations

import asyncio
import sys

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.servers import serve_on_free_port

EXPORTER = InMemorySpanExporter()


def build_app():
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(provider)

    from mcp_fastpath.adapters.sdk import fast_http_app
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tests.servers.sdk_app import build_server

    app = fast_http_app(build_server(), json_response=True, access_log=True, metrics=True)

    async def spans(request):
        return JSONResponse(
            [
                {
                    "name": span.name,
                    "kind": span.kind.name,
                    "trace_id": f"{span.context.trace_id:032x}",
                    "parent_span_id": f"{span.parent.span_id:016x}" if span.parent else None,
                    "attributes": dict(span.attributes or {}),
                    "status": span.status.status_code.name,
                }
                for span in EXPORTER.get_finished_spans()
            ]
        )

    app.router.routes.append(Route("/spans", spans))
    return app


async def main() -> None:
    await serve_on_free_port(build_app())


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
