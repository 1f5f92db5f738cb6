"""Gate providers: where the adapters find the `Gate` for each request, so that keys can change
while a server runs — a JWK Set that its provider rotates, a key file that is rewritten.

A `Gate` is immutable and so is its `KeyRing`; a provider hands out the current one. The
adapters (`fast_http_app`, `EnvelopeGuard`) accept a `Gate` or a provider as `gate=`, and per
request call `provider.current()` (an attribute read and a comparison here: nothing is rebuilt on
the request path unless the keys changed). A provider has four methods and three properties:

- `current() -> Gate`: the gate to admit this request with;
- `async refresh_unknown_key(gate) -> bool`: `gate` (a gate it handed out) refused a token whose
  key id it does not hold; look for newer keys now (rate-limited, briefly awaited). True when a
  newer gate exists: the adapter then admits the request once more with `current()`;
- `async start()` / `async aclose()`: run by the app's lifespan (first fetch, background refresh,
  signal handler; and their end);
- `envelope`, `require_envelope`, `checks_tokens`: what every gate it hands out has in common
  (read before the first gate exists: a JWKS has no keys before `start()`).

- `StaticGate(gate)`: one gate for ever (what a plain `Gate` passed to an adapter becomes).
- `JwksGate(source, issuer=..., audience=..., policy=...)`: bearer JWTs checked against a
  `JwksSource` (an identity provider's `jwks_uri`), rebuilt when the key set changes; a token with
  a key id the set lacks makes the source refetch (see `JwksSource.refresh_unknown_key`).
- `KeyFileGate(path)`: the gate of a key file (`mcp_fastpath.keyfile`), reloaded on SIGHUP and
  when the file changes (polled every `poll_s`; also checked at once when a token names an unknown
  key id). A file that cannot be read or used keeps the gate in force (logged). Rotating a key:
  add the new key to the file's JWK Set next to the old one, let servers reload, then move
  clients to the new `kid`, then drop the old key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from typing import Any, Protocol, runtime_checkable

__all__ = ["GateProvider", "JwksGate", "KeyFileGate", "StaticGate", "as_gate_provider"]

logger = logging.getLogger(__name__)


@runtime_checkable
class GateProvider(Protocol):
    envelope: Any
    require_envelope: bool
    checks_tokens: bool

    def current(self) -> Any: ...

    async def refresh_unknown_key(self, gate: Any) -> bool: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...


class StaticGate:
    """One gate for the life of the app."""

    __slots__ = ("gate",)

    def __init__(self, gate: Any) -> None:
        self.gate = gate

    @property
    def envelope(self) -> Any:
        return self.gate.envelope

    @property
    def require_envelope(self) -> bool:
        return self.gate.require_envelope

    @property
    def checks_tokens(self) -> bool:
        return self.gate.jwt is not None

    def current(self) -> Any:
        return self.gate

    async def refresh_unknown_key(self, gate: Any) -> bool:
        return False

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"StaticGate({self.gate!r})"


def as_gate_provider(gate: Any) -> Any:
    """`gate` as a provider: a provider is returned as is, a `Gate` (either backend) is wrapped."""
    if gate is None:
        return None
    if isinstance(gate, GateProvider):
        return gate
    if not hasattr(gate, "admit"):
        raise TypeError(f"gate must be a Gate or a gate provider (mcp_fastpath.gates), not {type(gate).__name__}")
    return StaticGate(gate)


class JwksGate:
    """Bearer JWTs verified with the keys of a `JwksSource`.

    `issuer` and `audience` are the token's expected `iss` and `aud` (the audience is this
    server's canonical URL for MCP clients, RFC 8707); `policy` a `ScopePolicy` (or its rules);
    `leeway_s` the JWT clock leeway; `envelope` an optional `EnvelopeVerifier` whose keys do not
    rotate with the JWKS (`require_envelope` as for `Gate`). The app's lifespan starts the source
    (first fetch: a server does not serve before it has keys) and closes it.
    """

    def __init__(
        self,
        source: Any,
        *,
        issuer: str,
        audience: str,
        policy: Any = None,
        leeway_s: float = 30,
        envelope: Any = None,
        require_envelope: bool | None = None,
    ) -> None:
        self.source = source
        self.issuer = issuer
        self.audience = audience
        impl = source.backend
        if policy is not None and not isinstance(policy, impl.ScopePolicy):
            policy = impl.ScopePolicy(policy)
        self.policy = policy
        self.leeway_s = leeway_s
        self.envelope = envelope
        self.require_envelope = envelope is not None if require_envelope is None else bool(require_envelope)
        self.checks_tokens = True
        self._gate: Any = None
        self._version = -1

    def current(self) -> Any:
        source = self.source
        if source.version != self._version:
            # The source's keys changed since the last build (or this is the first request).
            version = source.version
            verifier = source.jwt_verifier(issuer=self.issuer, audience=self.audience, leeway_s=self.leeway_s)
            self._gate = source.backend.Gate(
                envelope=self.envelope,
                jwt=verifier,
                policy=self.policy,
                require_envelope=self.require_envelope,
                require_token=True,
            )
            self._version = version
        return self._gate

    async def refresh_unknown_key(self, gate: Any) -> bool:
        if gate is not self._gate:
            return True  # handed out before the keys changed: the current gate is newer
        return await self.source.refresh_unknown_key(self._version)

    async def start(self) -> None:
        await self.source.start()

    async def aclose(self) -> None:
        await self.source.aclose()

    def __repr__(self) -> str:
        return f"JwksGate({self.source.url!r}, issuer={self.issuer!r}, audience={self.audience!r})"


class KeyFileGate:
    """The gate of the key file at `path`, reloaded when it changes (see the module docstring).

    `jwks`: a `JwksSource` that supplies the JWT keys instead of the file's JWK Set (the file
    still gives the envelope keys, issuer, audience, leeway and policy); `issuer` / `audience`
    override the file's. `poll_s`: how often the file's identity (mtime, size, inode) is checked
    (0: never, only SIGHUP and `reload()`). `sighup`: reload on SIGHUP (only where the app's event
    loop runs in the main thread, as under `uvicorn`/`mcp-fastpath serve`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        jwks: Any = None,
        issuer: str | None = None,
        audience: str | None = None,
        poll_s: float = 2.0,
        sighup: bool = True,
    ) -> None:
        if poll_s < 0:
            raise ValueError("poll_s must not be negative")
        self.path = os.fspath(path)
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.poll_s = poll_s
        self.sighup = sighup
        self.reloads = 0  # successful reloads after the first load (for tests and logs)
        self._poller: asyncio.Task[None] | None = None
        self._signal_loop: asyncio.AbstractEventLoop | None = None
        self._identity = self._stat()
        self.keyfile = self._read()  # raises KeyFileError: a server does not start on a bad file
        self._gate: Any = None
        self._jwks_version = -1
        if jwks is None:
            self._gate = self._build()

    # -- the gate --------------------------------------------------------------------------------

    @property
    def envelope(self) -> Any:
        return self.keyfile.envelope_verifier(require=self.keyfile.envelope)

    @property
    def require_envelope(self) -> bool:
        return bool(self.keyfile.envelope)

    @property
    def checks_tokens(self) -> bool:
        return bool(self.keyfile.wants_token)

    def current(self) -> Any:
        jwks = self.jwks
        if jwks is not None and jwks.version != self._jwks_version:
            self._gate = self._build()
        return self._gate

    def _read(self) -> Any:
        from .keyfile import KeyFileError, load

        kf = load(self.path)
        if self.issuer is not None:
            kf.issuer = self.issuer
        if self.audience is not None:
            kf.audience = self.audience
        if self.jwks is not None:
            kf.token = True
            if kf.issuer is None or kf.audience is None:
                raise KeyFileError(f'{self.path}: JWT keys from a JWKS need an "issuer" and an "audience"')
        kf.gate()  # everything must build now, not on the first request
        return kf

    def _build(self) -> Any:
        kf = self.keyfile
        if self.jwks is None:
            return kf.gate()
        from . import Gate, ScopePolicy

        version = self.jwks.version
        gate = Gate(
            envelope=kf.envelope_verifier(require=kf.envelope),
            jwt=self.jwks.jwt_verifier(issuer=kf.issuer, audience=kf.audience, leeway_s=kf.leeway_s),
            policy=ScopePolicy(kf.policy) if kf.policy else None,
            require_envelope=kf.envelope,
            require_token=True,
        )
        self._jwks_version = version
        return gate

    # -- reloading -------------------------------------------------------------------------------

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def reload(self) -> bool:
        """Read the file again now. True when the new file is in force; False (logged, the gate in
        force kept) when it cannot be read or used."""
        from .errors import FastpathError

        identity = self._stat()
        try:
            kf = self._read()
        except FastpathError as exc:
            self._identity = identity  # do not retry the same broken file on every poll
            logger.error("key file %s not reloaded, the keys in force stay: %s", self.path, exc)
            return False
        self._identity = identity
        self.keyfile = kf
        if self.jwks is None:
            self._gate = self._build()
        else:
            self._jwks_version = -1  # `current()` rebuilds with the new file and the source's keys
        self.reloads += 1
        kids = ", ".join(str(jwk.get("kid")) for jwk in kf.jwks["keys"])
        logger.info("key file %s reloaded (keys: %s)", self.path, kids)
        return True

    def reload_if_changed(self) -> bool:
        """Reload when the file's mtime, size or inode changed; True when a new file is in force."""
        if self._stat() == self._identity:
            return False
        return self.reload()

    async def refresh_unknown_key(self, gate: Any) -> bool:
        if gate is not self._gate:
            return True
        if self.reload_if_changed():
            return True
        if self.jwks is not None:
            return await self.jwks.refresh_unknown_key(self._jwks_version)
        return False

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                self.reload_if_changed()
            except Exception:  # never let the poller die: the next round tries again
                logger.exception("key file %s: checking for changes failed", self.path)

    # -- lifespan --------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.jwks is not None:
            await self.jwks.start()
            self._gate = self._build()
        loop = asyncio.get_running_loop()
        if self.poll_s > 0 and self._poller is None:
            self._poller = loop.create_task(self._poll_forever(), name=f"keyfile-poll:{self.path}")
        if self.sighup and hasattr(signal, "SIGHUP") and threading.current_thread() is threading.main_thread():
            try:
                loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
            except (NotImplementedError, RuntimeError, ValueError) as exc:  # no signals on this loop
                logger.debug("key file %s: no SIGHUP reload (%s)", self.path, exc)
            else:
                self._signal_loop = loop

    def _on_sighup(self) -> None:
        logger.info("SIGHUP: reloading the key file %s", self.path)
        self.reload()

    async def aclose(self) -> None:
        if self._signal_loop is not None:
            with contextlib.suppress(Exception):
                self._signal_loop.remove_signal_handler(signal.SIGHUP)
            self._signal_loop = None
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self.jwks is not None:
            await self.jwks.aclose()

    def __repr__(self) -> str:
        return f"KeyFileGate({self.path!r}{', jwks=' + repr(self.jwks.url) if self.jwks is not None else ''})"
