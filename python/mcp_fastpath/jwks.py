"""`JwksSource`: a JWK Set fetched from a URL and kept fresh in the background.

`start()` fetches once (so a node does not serve before it has keys), then a background task
refetches every `refresh_s` (sooner after a failure, every `retry_s`). A fetch that fails or
returns a set that cannot be read whole keeps the keys already held: a provider that is down never
takes the keys away. Readers take `source.keyring`, or `source.jwt_verifier(...)`, which is
rebuilt only when the keys actually change.

Key rotation: a provider publishes its next key before it signs with it, but a node may still hold
the old set when the first token signed with the new key arrives. `refresh_unknown_key(seen)` is
for that moment (the adapters call it when a token names a key id the held set lacks): one refetch,
shared by every request that asks while it runs, at most once per `unknown_key_interval_s` (so a
stream of tokens with made-up key ids costs one fetch per interval, not one per request), waited
for at most `unknown_key_wait_s`. The caller retries its verification once when it returns True.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
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
        unknown_key_interval_s: float = 30.0,
        unknown_key_wait_s: float = 2.0,
        http_client: httpx.AsyncClient | None = None,
        backend: Any = None,
    ) -> None:
        if refresh_s <= 0 or retry_s <= 0 or timeout_s <= 0:
            raise ValueError("refresh_s, retry_s and timeout_s must be positive")
        if unknown_key_interval_s < 0 or unknown_key_wait_s < 0:
            raise ValueError("unknown_key_interval_s and unknown_key_wait_s must not be negative")
        self.url = url
        self.refresh_s = refresh_s
        self.retry_s = retry_s
        self.unknown_key_interval_s = unknown_key_interval_s
        self.unknown_key_wait_s = unknown_key_wait_s
        self._timeout = timeout_s
        self._client = http_client
        self._owns_client = http_client is None
        self._impl = backend or _backend_impl
        self._keyring: Any = None
        self._jwks: dict[str, Any] | None = None
        self._version = 0
        self._task: asyncio.Task[None] | None = None
        # The fetch under way (shared by everyone who asks for one meanwhile), and when the last
        # fetch asked for by an unknown key id began (monotonic seconds).
        self._fetch: asyncio.Task[bool] | None = None
        self._unknown_key_fetch_at: float | None = None
        self._derived: dict[tuple[str, int, tuple[tuple[str, Any], ...]], Any] = {}

    @property
    def keyring(self) -> Any:
        """The current `KeyRing`; raises `JwksFetchError` before the first successful fetch."""
        if self._keyring is None:
            raise JwksFetchError(f"no keys fetched yet from {self.url}")
        return self._keyring

    @property
    def backend(self) -> Any:
        """The backend module whose `KeyRing` / `JwtVerifier` this source builds."""
        return self._impl

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
        """Fetch now; True when the held keys are current (changed or unchanged), False on failure.
        Callers that ask while a fetch is under way share its outcome (one request to the provider)."""
        fetch = self._fetch
        if fetch is None or fetch.done():
            fetch = self._fetch = asyncio.get_running_loop().create_task(
                self._fetch_once(), name=f"jwks-fetch:{self.url}"
            )
        # Shielded: a caller that gives up (a request cancelled or timed out) leaves the fetch running for the others.
        return await asyncio.shield(fetch)

    async def refresh_unknown_key(self, seen_version: int) -> bool:
        """A token named a key id that the keys of `seen_version` (the `version` its verifier was
        built from) lack: refetch, rate-limited, and wait (at most `unknown_key_wait_s`). True when
        the held keys are newer than `seen_version` (so verifying again may succeed); False when
        nothing changed, the refetch was rate-limited, failed or is still under way."""
        if self._version != seen_version:
            return True  # another request's refetch (or the background refresh) already brought new keys
        fetch = self._fetch
        if fetch is None or fetch.done():
            now = time.monotonic()
            last = self._unknown_key_fetch_at
            if last is not None and now - last < self.unknown_key_interval_s:
                return False
            self._unknown_key_fetch_at = now
            logger.info("JWKS: a token names a key id %s does not hold; refetching", self.url)
            fetch = self._fetch = asyncio.get_running_loop().create_task(
                self._fetch_once(), name=f"jwks-fetch:{self.url}"
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(fetch), self.unknown_key_wait_s)
        return self._version != seen_version

    async def _fetch_once(self) -> bool:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        try:
            response = await self._client.get(self.url, headers={"Accept": "application/json"})
            response.raise_for_status()
            jwks = response.json()
            if jwks == self._jwks:
                return True
            keyring = self._impl.KeyRing.from_jwks(jwks)
        except (
            httpx.HTTPError,
            ValueError,
            TypeError,
            InvalidKey,
        ) as exc:  # ValueError: bad JSON; TypeError: not a set
            logger.warning(
                "JWKS refresh from %s failed, keeping %s keys: %s",
                self.url,
                "the held" if self._keyring is not None else "no",
                exc,
            )
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
        key = (
            kind,
            self._version,
            tuple(sorted((k, id(v) if not isinstance(v, (str, int, float, tuple)) else v) for k, v in kwargs.items())),
        )
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
        if self._fetch is not None and not self._fetch.done():
            self._fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fetch
        self._fetch = None
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
