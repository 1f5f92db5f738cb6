"""`OutageLog`: one log line when a backing store becomes unreachable, one when it is back.

A store that is down fails every request that needs it; logging each failure (with a traceback)
writes megabytes per second and buries the one fact an operator needs. An `OutageLog` turns the
failures of one outage into a WARNING when it starts ("unreachable … answering 503 until it is
back"), a reminder every `remind_s` while it lasts, and a WARNING when the next call succeeds
("back after 3.2 s; 418 calls failed meanwhile"). Calls are cheap: `ok()` on the happy path is one
attribute test. Thread-safe enough for its purpose (a race can at worst log a line twice).
"""

from __future__ import annotations

import logging
import time

__all__ = ["OutageLog"]


class OutageLog:
    """The outage state of one store, named `what` in the log lines (e.g. "replay cache redis://…")."""

    def __init__(self, what: str, logger: logging.Logger, *, remind_s: float = 60.0) -> None:
        self.what = what
        self.logger = logger
        self.remind_s = remind_s
        self.down_since: float | None = None
        self.failures = 0
        self._last_line = 0.0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, exc: BaseException) -> None:
        """A call failed because the store is unreachable."""
        now = time.monotonic()
        self.failures += 1
        if self.down_since is None:
            self.down_since = now
            self._last_line = now
            self.logger.warning("%s is unreachable (%s): answering 503 until it is back", self.what, _why(exc))
        elif now - self._last_line >= self.remind_s:
            self._last_line = now
            self.logger.warning(
                "%s still unreachable after %.0f s (%d calls failed so far): %s",
                self.what,
                now - self.down_since,
                self.failures,
                _why(exc),
            )

    def ok(self) -> None:
        """A call succeeded: closes the outage, if there was one."""
        if self.down_since is None:
            return
        lasted = time.monotonic() - self.down_since
        failures, self.failures, self.down_since = self.failures, 0, None
        self.logger.warning("%s is back after %.1f s; %d calls failed meanwhile", self.what, lasted, failures)


def _why(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
