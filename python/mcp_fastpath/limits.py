"""Resource limits the decoder enforces before and while parsing a body."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits", "DEFAULT_LIMITS"]

# Deep enough for any real tool schema or argument tree, shallow enough that no parser on the
# path (ours, the SDK's, pydantic's) can be driven into recursion trouble.
_MAX_DEPTH_CEILING = 512


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits on one body. Exceeding one is a `Rejection`, never a crash.

    - `max_body_bytes`: larger bodies are refused before parsing (-32600, HTTP 413).
    - `max_depth`: arrays/objects nested deeper are refused (-32700). At most 512.
    - `max_string_bytes`: a string (key or value) longer than this once decoded, in UTF-8
      bytes, is refused (-32700).
    """

    max_body_bytes: int = 4 * 1024 * 1024
    max_depth: int = 64
    max_string_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_depth", "max_string_bytes"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"Limits.{name} must be a positive int, not {value!r}")
        if self.max_depth > _MAX_DEPTH_CEILING:
            raise ValueError(f"Limits.max_depth must be at most {_MAX_DEPTH_CEILING}, not {self.max_depth}")


DEFAULT_LIMITS = Limits()
