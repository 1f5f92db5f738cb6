"""`JwksSource`: a JWK Set fetched from a URL and kept fresh in the background.

A node never blocks a request on a key fetch: `start()` fetches once (so a node does not serve
before it has keys), then a background task refetches every `refresh_s` (sooner after a failure,
every `retry_s`). A fetch that fails or returns a set that cannot be read whole keeps the keys
already held. Readers take `source.keyring`, or `source.jwt_verifier(...)`, which is rebuilt only
when the keys actually change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import httpx

from . import _impl as _backend_impl  # the active backend's classes
from .errors import FastpathError, InvalidKey

__all__ = ["JwksSource", "JwksFetchError"]

logger = logging.getLogger(__name__)


class JwksFetchError(FastpathError):
    """The JWK Set could not be fetched or read (no keys are held yet)."""


class JwksSource:
    def __init__(
        self,
        url: str,
        *,
        refresh_s: float = 300.0,
        retry_s: float = 15.0,
        timeout_s: float = 5.0,
        http_client: httpx.AsyncClient | None = None,
        backend: Any = None,
    ) -> None:
        if refresh_s <= 0 or retry_s <= 0 or timeout_s <= 0:
            raise ValueError("refresh_s, retry_s and timeout_s must be positive")
        self.url = url
        self.refresh_s = refresh_s
        self.retry_s = retry_s
        self._timeout = timeout_s
        self._client = http_client
        self._owns_client = http_client is None
        self._impl = backend or _backend_impl
        self._keyring: Any = None
        self._jwks: dict[str, Any] | None = None
        self._version = 0
        self._task: asyncio.Task[None] | None = None
        self._derived: dict[tuple[str, int, tuple[tuple[str, Any], ...]], Any] = {}

    @property
    def keyring(self) -> Any:
        """The current `KeyRing`; raises `JwksFetchError` before the first successful fetch."""
        if self._keyring is None:
            raise JwksFetchError(f"no keys fetched yet from {self.url}")
        return self._keyring

    @property
    def version(self) -> int:
        """Increments each time the key set changes."""
        return self._version

    async def start(self) -> Any:
        """Fetch once (raising `JwksFetchError` if that fails), then refresh in the background."""
        if not await self.refresh():
            raise JwksFetchError(f"could not fetch a usable JWK Set from {self.url}")
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._refresh_forever(), name=f"jwks:{self.url}")
        return self._keyring

    async def refresh(self) -> bool:
        """Fetch now; True when the held keys are current (changed or unchanged), False on failure."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        try:
            response = await self._client.get(self.url, headers={"Accept": "application/json"})
            response.raise_for_status()
            jwks = response.json()
            if jwks == self._jwks:
                return True
            keyring = self._impl.KeyRing.from_jwks(jwks)
        except (httpx.HTTPError, ValueError, InvalidKey) as exc:  # ValueError covers bad JSON
            logger.warning("JWKS refresh from %s failed, keeping %s keys: %s", self.url,
                           "the held" if self._keyring is not None else "no", exc)
            return False
        self._keyring, self._jwks = keyring, jwks
        self._version += 1
        self._derived.clear()
        logger.info("JWKS from %s now holds %d keys", self.url, len(keyring))
        return True

    async def _refresh_forever(self) -> None:
        delay = self.refresh_s
        while True:
            await asyncio.sleep(delay)
            delay = self.refresh_s if await self.refresh() else self.retry_s

    def _derive(self, kind: str, build: Callable[[], Any], kwargs: dict[str, Any]) -> Any:
        key = (kind, self._version, tuple(sorted((k, id(v) if not isinstance(v, (str, int, float, tuple)) else v) for k, v in kwargs.items())))
        derived = self._derived.get(key)
        if derived is None:
            derived = self._derived[key] = build()
        return derived

    def jwt_verifier(self, *, issuer: str, audience: str, **options: Any) -> Any:
        """A `JwtVerifier` over the current keys (the same object until the keys change)."""
        return self._derive(
            "jwt",
            lambda: self._impl.JwtVerifier(self.keyring, issuer=issuer, audience=audience, **options),
            {"issuer": issuer, "audience": audience, **options},
        )

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> JwksSource:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
