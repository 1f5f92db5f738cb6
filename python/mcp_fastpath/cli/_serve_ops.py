"""How `serve` runs in production: the access log (on unless `--no-access-log`) and Prometheus
metrics (`--metrics`)."""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from typing import Any

__all__ = ["add_ops_arguments", "configure_access_log", "ops_options", "prepare_metrics"]


def add_ops_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("operations")
    g.add_argument(
        "--no-access-log",
        action="store_true",
        help="no access log (default: one line per request on stderr: method, tool, status, JSON-RPC code, "
        "latency, kid/sub; refusals with their reason)",
    )
    g.add_argument(
        "--metrics",
        action="store_true",
        help="Prometheus metrics at /metrics (needs prometheus_client: pip install 'mcp-fastpath[metrics]')",
    )
    g.add_argument(
        "--metrics-path", default="/metrics", metavar="PATH", help="where the metrics are (default /metrics)"
    )


def ops_options(args: argparse.Namespace) -> dict[str, Any]:
    # The access log is INFO: a quieter --log-level means none (and none of its per-request cost).
    log = not args.no_access_log and args.log_level in ("info", "debug")
    return {"access_log": log, "metrics": args.metrics, "metrics_path": args.metrics_path}


class AccessFormatter(logging.Formatter):
    """`2026-11-26 00:37:48,906 <line>`: the local time to the millisecond and the access line,
    with the text of the current second formatted once per second (this runs per request)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(message)s")
        self._second = -1
        self._second_text = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._second, self._second_text = second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        return f"{self._second_text},{int(record.msecs):03d} {record.getMessage()}"


class BatchedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A `StreamHandler` that writes its lines in batches — every `interval_s`, or once `max_bytes`
    are waiting, and at exit (`logging.shutdown` flushes) — instead of one write per line: a line
    per request must not cost a system call per request."""

    def __init__(self, stream: Any, *, interval_s: float = 0.2, max_bytes: int = 64 * 1024) -> None:
        super().__init__(stream)
        self._lines: list[str] = []
        self._size = 0
        self._max_bytes = max_bytes
        flusher = threading.Thread(target=self._flush_every, args=(interval_s,), name="mcp-fastpath-access-log")
        flusher.daemon = True
        flusher.start()

    def emit(self, record: logging.LogRecord) -> None:  # called with the handler's lock held
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._lines.append(line)
        self._size += len(line) + 1
        if self._size >= self._max_bytes:
            self._drain()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._drain()

    def _drain(self) -> None:
        if not self._lines:
            return
        text = "\n".join(self._lines) + "\n"
        self._lines.clear()
        self._size = 0
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:  # a closed stream at exit: nothing left to tell
            pass

    def _flush_every(self, interval_s: float) -> None:
        while True:
            time.sleep(interval_s)
            self.flush()


def configure_access_log() -> None:
    """The `mcp_fastpath.access` logger writes to stderr (uvicorn configures only its own
    loggers), in batches (`BatchedStreamHandler`)."""
    from ..adapters._observe import ACCESS_LOGGER

    logger = logging.getLogger(ACCESS_LOGGER)
    if not logger.handlers:
        handler = BatchedStreamHandler(sys.stderr)
        handler.setFormatter(AccessFormatter())
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def prepare_metrics(workers: int) -> None:
    """With several workers, a shared directory for their samples (prometheus_client's
    multiprocess mode), set before any worker imports prometheus_client."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        from ..errors import FastpathError

        raise FastpathError(
            "--metrics needs prometheus_client: pip install 'mcp-fastpath[metrics]' (or prometheus_client)"
        ) from None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        directory = tempfile.mkdtemp(prefix="mcp-fastpath-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
