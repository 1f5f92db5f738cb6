"""Keys that change while a server runs: `JwksSource`'s unknown-key refetch, `JwksGate`,
`KeyFileGate`, and `mcp-fastpath serve --jwks-url / --keys` against a real JWKS server on loopback
(rotation without a restart, the last good keys kept while the provider is down, key files
reloaded on SIGHUP and on change). Every case runs on both backends and for each JWT key type in
`KEY_KINDS` (a new algorithm is one more row there)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
from mcp_fastpath.demo.processes import free_port, wait_ready
from mcp_fastpath.errors import Unauthenticated
from mcp_fastpath.gates import JwksGate, KeyFileGate, StaticGate, as_gate_provider
from mcp_fastpath.jwks import JwksSource
from mcp_fastpath.keyfile import KeyFile, KeyFileError

from tests.adapter_helpers import headers_for, message
from tests.loopback import JwksEndpoint, ThreadedServer

ROOT = Path(__file__).resolve().parent.parent
ISSUER = "https://idp.test"


class Key(NamedTuple):
    """A JWT signer for the tests, and the JWK its provider publishes."""

    sign: Callable[[dict[str, Any]], str]
    jwk: dict[str, Any]


def _hs256(backend: Any, kid: str) -> Key:
    key = backend.HmacKey(kid, os.urandom(32))
    return Key(lambda claims: backend.sign_jwt(key, claims), key.to_jwk(private=True))  # a shared secret


def _eddsa(backend: Any, kid: str) -> Key:
    key = backend.Ed25519PrivateKey(kid, os.urandom(32))
    return Key(lambda claims: backend.sign_jwt(key, claims), key.public_key().to_jwk())


def _pyca(private: Any, alg: str, kid: str) -> Key:
    """A key made by pyca `cryptography`, its tokens minted by PyJWT (as an identity provider's)."""
    import jwt as pyjwt

    algorithm = pyjwt.algorithms.RSAAlgorithm if alg in ("RS256", "PS256") else pyjwt.algorithms.ECAlgorithm
    jwk = {**json.loads(algorithm.to_jwk(private.public_key())), "kid": kid, "alg": alg, "use": "sig"}
    return Key(lambda claims: pyjwt.encode(claims, private, algorithm=alg, headers={"kid": kid}), jwk)


def _rs256(backend: Any, kid: str) -> Key:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return _pyca(rsa.generate_private_key(65537, 2048), "RS256", kid)


def _ps256(backend: Any, kid: str) -> Key:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return _pyca(rsa.generate_private_key(65537, 2048), "PS256", kid)


def _es256(backend: Any, kid: str) -> Key:
    from cryptography.hazmat.primitives.asymmetric import ec

    return _pyca(ec.generate_private_key(ec.SECP256R1()), "ES256", kid)


# JWT key types: each row makes a signer and the JWK a provider publishes for it.
KEY_KINDS: dict[str, Callable[[Any, str], Key]] = {
    "HS256": _hs256,
    "EdDSA": _eddsa,
    "RS256": _rs256,
    "PS256": _ps256,
    "ES256": _es256,
}


@pytest.fixture(params=sorted(KEY_KINDS))
def key_kind(request: pytest.FixtureRequest) -> Callable[[Any, str], Key]:
    return KEY_KINDS[request.param]


@pytest.fixture()
def jwks() -> Iterator[tuple[JwksEndpoint, str]]:
    endpoint = JwksEndpoint()
    with ThreadedServer(endpoint.app) as server:
        yield endpoint, f"{server.url}/jwks.json"


def signer(backend: Any, key: Any) -> Key:
    """A backend's own signing key (HMAC, Ed25519) as a test `Key`."""
    return Key(lambda claims: backend.sign_jwt(key, claims), key.to_jwk(private=True))


def token(key: Key, audience: str, **claims: Any) -> str:
    return key.sign({"iss": ISSUER, "aud": audience, "sub": "user-1", "exp": int(time.time()) + 300, **claims})


# ---- JwksSource: the unknown-key refetch ---------------------------------------------------------


def test_unknown_key_refetch_is_shared_and_rate_limited(backend, jwks):
    endpoint, url = jwks
    _, jwk_a = _hs256(backend, "a")
    _, jwk_b = _hs256(backend, "b")
    endpoint.keys = [jwk_a]

    async def scenario() -> None:
        source = JwksSource(url, refresh_s=3600, unknown_key_interval_s=3600, backend=backend)
        async with source:
            assert endpoint.hits == 1 and source.version == 1
            endpoint.keys = [jwk_a, jwk_b]
            endpoint.delay_s = 0.2  # long enough for all ten requests to arrive during the one fetch
            answers = await asyncio.gather(*(source.refresh_unknown_key(1) for _ in range(10)))
            assert answers == [True] * 10
            assert endpoint.hits == 2 and source.version == 2 and "b" in source.keyring
            # Asked again at the new version within the interval: no fetch, nothing new.
            assert await source.refresh_unknown_key(2) is False
            assert endpoint.hits == 2
            # Asked with an old version: the keys already moved on, no fetch needed.
            assert await source.refresh_unknown_key(1) is True
            assert endpoint.hits == 2

    asyncio.run(scenario())


def test_unknown_key_wait_is_bounded_and_the_fetch_completes(backend, jwks):
    endpoint, url = jwks
    _, jwk_a = _eddsa(backend, "a")
    _, jwk_b = _eddsa(backend, "b")
    endpoint.keys = [jwk_a]

    async def scenario() -> None:
        source = JwksSource(url, refresh_s=3600, unknown_key_interval_s=0, unknown_key_wait_s=0.05, backend=backend)
        async with source:
            endpoint.keys = [jwk_a, jwk_b]
            endpoint.delay_s = 0.5
            # The provider is slower than the request may wait: the request gives up...
            assert await source.refresh_unknown_key(1) is False
            # ...but the fetch it started runs on and brings the new key for the next request.
            for _ in range(100):
                if source.version == 2:
                    break
                await asyncio.sleep(0.02)
            assert source.version == 2 and "b" in source.keyring

    asyncio.run(scenario())


def test_unknown_key_refetch_that_fails_keeps_the_keys(backend, jwks):
    endpoint, url = jwks
    _, jwk_a = _hs256(backend, "a")
    endpoint.keys = [jwk_a]

    async def scenario() -> None:
        async with JwksSource(url, refresh_s=3600, unknown_key_interval_s=0, backend=backend) as source:
            endpoint.status = 503
            assert await source.refresh_unknown_key(1) is False
            assert endpoint.hits == 2 and source.version == 1 and "a" in source.keyring

    asyncio.run(scenario())


# ---- JwksGate and KeyFileGate in process ---------------------------------------------------------


def test_jwks_gate_follows_the_key_set(backend, jwks, key_kind):
    endpoint, url = jwks
    key_a = key_kind(backend, "a")
    jwk_a = key_a.jwk
    key_b = key_kind(backend, "b")
    jwk_b = key_b.jwk
    endpoint.keys = [jwk_a]
    audience = "https://mcp.test/mcp"
    body = json.dumps(message("tools/list")).encode()

    def admit(gate: Any, key: Any) -> Any:
        headers = {**headers_for(message("tools/list")), "Authorization": f"Bearer {token(key, audience)}"}
        return gate.admit(body, headers)

    async def scenario() -> None:
        source = JwksSource(url, refresh_s=3600, unknown_key_interval_s=3600, backend=backend)
        gates = JwksGate(source, issuer=ISSUER, audience=audience, policy={"*": []})
        assert gates.checks_tokens and gates.envelope is None and not gates.require_envelope
        await gates.start()
        try:
            gate = gates.current()
            assert gates.current() is gate  # no rebuild while the keys stay
            assert admit(gate, key_a).principal.subject == "user-1"
            with pytest.raises(Unauthenticated, match="unknown key id"):
                admit(gate, key_b)
            endpoint.keys = [jwk_a, jwk_b]
            assert await gates.refresh_unknown_key(gate) is True
            rotated = gates.current()
            assert rotated is not gate
            assert admit(rotated, key_b).principal.subject == "user-1"
            assert await gates.refresh_unknown_key(gate) is True  # an old gate: a newer one exists
        finally:
            await gates.aclose()

    asyncio.run(scenario())


def write_keyfile(path: Path, backend: Any, keys: list[Any], **settings: Any) -> None:
    kf = KeyFile(jwks={"keys": [k.to_jwk(private=True) for k in keys]}, **settings)
    kf.write(path)


def test_keyfile_gate_reloads_and_keeps_the_last_good_file(backend, tmp_path):
    path = tmp_path / "keys.json"
    k1, k2 = backend.HmacKey("k1", os.urandom(32)), backend.HmacKey("k2", os.urandom(32))
    settings = {"issuer": ISSUER, "audience": "https://mcp.test", "envelope": False}
    write_keyfile(path, backend, [k1], **settings)
    gates = KeyFileGate(path, poll_s=0, sighup=False)
    first = gates.current()
    assert gates.checks_tokens and not gates.require_envelope
    assert "k1" in first.jwt.keyring and "k2" not in first.jwt.keyring
    assert gates.reload_if_changed() is False and gates.current() is first

    # Rotation: both kids in one file; a changed file is picked up.
    write_keyfile(path, backend, [k1, k2], **settings)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))  # a new mtime even on a coarse clock
    assert gates.reload_if_changed() is True and gates.reloads == 1
    second = gates.current()
    assert "k1" in second.jwt.keyring and "k2" in second.jwt.keyring

    # A broken file is not used: the keys in force stay, and the same broken file is not retried.
    path.write_text("{ not json")
    assert gates.reload_if_changed() is False
    assert gates.current() is second
    assert gates.reload_if_changed() is False

    # An unknown key id makes the gate look at the file at once (no need to wait for the poll).
    write_keyfile(path, backend, [k2], **settings)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 2_000_000))
    assert asyncio.run(gates.refresh_unknown_key(second)) is True
    assert "k1" not in gates.current().jwt.keyring


def test_keyfile_gate_refuses_a_bad_file_at_start(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text('{"jwks": {"keys": []}}')
    with pytest.raises(KeyFileError):
        KeyFileGate(path)


def test_as_gate_provider(backend):
    gate = backend.Gate(
        jwt=backend.JwtVerifier(backend.KeyRing([backend.HmacKey("k", b"k" * 32)]), issuer="i", audience="a")
    )
    provider = as_gate_provider(gate)
    assert isinstance(provider, StaticGate) and provider.current() is gate and provider.checks_tokens
    assert as_gate_provider(provider) is provider
    assert as_gate_provider(None) is None
    with pytest.raises(TypeError):
        as_gate_provider(object())


# ---- mcp-fastpath serve, for real -----------------------------------------------------------------


class Serve:
    """`mcp-fastpath serve` in a subprocess, its stderr in a file (read at any time, never blocking)."""

    def __init__(self, tmp_path: Path, backend: str, *args: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.log = tmp_path / f"serve-{self.port}.log"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), str(ROOT)]),
            "MCP_FASTPATH_BACKEND": backend,
        }
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "mcp_fastpath",
                    "serve",
                    "mcp_fastpath.demo.server:mcp",
                    "--port",
                    str(self.port),
                    *args,
                ],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        try:
            wait_ready(self.port, self.proc)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{self.stderr()}") from None

    def stderr(self) -> str:
        return self.log.read_text()

    def post(self, bearer: str, method: str = "tools/list") -> httpx.Response:
        msg = message(method)
        headers = {**headers_for(msg), "Authorization": f"Bearer {bearer}"}
        return httpx.post(self.url, content=json.dumps(msg), headers=headers, timeout=10)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def until(predicate: Callable[[], bool], timeout_s: float = 15) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_serve_jwks_rotation_without_a_restart(tmp_path, backend, jwks, key_kind):
    endpoint, jwks_url = jwks
    key_a = key_kind(backend, "a")
    jwk_a = key_a.jwk
    key_b = key_kind(backend, "b")
    jwk_b = key_b.jwk
    key_c = key_kind(backend, "c")
    endpoint.keys = [jwk_a]
    port = free_port()
    audience = f"http://127.0.0.1:{port}/mcp"
    server = Serve(
        tmp_path,
        backend.__name__.rpartition("_")[2],
        "--jwks-url",
        jwks_url,
        "--issuer",
        ISSUER,
        "--audience",
        audience,
        port=port,
    )
    try:
        assert endpoint.hits == 1  # fetched before the server accepted connections
        assert server.post(token(key_a, audience)).status_code == 200

        # The provider rotates: key b is published, and the first token signed with it is served
        # by the same process: that request waited for one refetch.
        endpoint.keys = [jwk_a, jwk_b]
        r = server.post(token(key_b, audience))
        assert r.status_code == 200, r.text
        assert endpoint.hits == 2

        # A key id nobody published: one refetch at most per interval, then refused without one.
        r = server.post(token(key_c, audience))
        assert r.status_code == 401 and "unknown key id" in r.text
        assert endpoint.hits == 2  # within the rate limit of the previous refetch
        assert 'resource_metadata="' in r.headers["www-authenticate"]
        # The access log writes in batches: wait for the refusal's line rather than for the exit.
        assert until(lambda: 'rejected="unknown key id"' in server.stderr()), server.stderr()
    finally:
        server.stop()
    log = server.stderr()
    assert "JWT (keys from" in log, log
    assert "sub=user-1" in log and 'rejected="unknown key id"' in log, log


def test_serve_jwks_keeps_the_last_good_keys_while_the_provider_is_down(tmp_path, backend, jwks):
    endpoint, jwks_url = jwks
    key_a = _eddsa(backend, "a")
    jwk_a = key_a.jwk
    endpoint.keys = [jwk_a]
    port = free_port()
    audience = f"http://127.0.0.1:{port}/mcp"
    server = Serve(
        tmp_path,
        backend.__name__.rpartition("_")[2],
        *("--jwks-url", jwks_url, "--jwks-refresh", "0.2", "--issuer", ISSUER, "--audience", audience),
        port=port,
    )
    try:
        assert server.post(token(key_a, audience)).status_code == 200
        endpoint.status = 503
        hits = endpoint.hits
        assert until(lambda: endpoint.hits >= hits + 2)  # background refetches, failing
        assert server.post(token(key_a, audience)).status_code == 200
        # The provider answers again, with garbage: still the last good keys.
        endpoint.status, endpoint.keys = 200, [{"kty": "oct", "kid": "broken"}]
        hits = endpoint.hits
        assert until(lambda: endpoint.hits >= hits + 2)
        assert server.post(token(key_a, audience)).status_code == 200
    finally:
        server.stop()
    assert "failed, keeping the held keys" in server.stderr()


def test_serve_jwks_needs_issuer_and_audience(tmp_path, jwks):
    _, jwks_url = jwks
    r = subprocess.run(
        [sys.executable, "-m", "mcp_fastpath", "serve", "mcp_fastpath.demo.server:mcp", "--jwks-url", jwks_url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "python")},
        timeout=60,
    )
    assert r.returncode == 1 and "--jwks-url needs --issuer and --audience" in r.stderr


def test_serve_jwks_provider_down_at_start_fails(tmp_path, jwks):
    endpoint, jwks_url = jwks
    endpoint.status = 503
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mcp_fastpath",
            "serve",
            "mcp_fastpath.demo.server:mcp",
            "--port",
            str(free_port()),
            "--jwks-url",
            jwks_url,
            "--issuer",
            ISSUER,
            "--audience",
            "https://mcp.test",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "python")},
        timeout=60,
    )
    # No keys, no serving: the lifespan's first fetch fails and uvicorn exits.
    assert r.returncode != 0 and "could not fetch a usable JWK Set" in r.stderr


@pytest.mark.parametrize("how", ["sighup", "file change"])
def test_serve_reloads_the_key_file(tmp_path, backend, how):
    path = tmp_path / "server-keys.json"
    k1, k2 = backend.HmacKey("k1", os.urandom(32)), backend.HmacKey("k2", os.urandom(32))
    port = free_port()
    audience = f"http://127.0.0.1:{port}/mcp"
    settings = {"issuer": ISSUER, "audience": audience, "envelope": False}
    write_keyfile(path, backend, [k1], **settings)
    server = Serve(tmp_path, backend.__name__.rpartition("_")[2], "--keys", str(path), port=port)
    try:
        assert server.post(token(signer(backend, k1), audience)).status_code == 200
        assert server.post(token(signer(backend, k2), audience)).status_code == 401

        # Rotation in the file: k2 next to k1, then (SIGHUP, or the change noticed by itself) both work.
        write_keyfile(path, backend, [k1, k2], **settings)
        if how == "sighup":
            server.proc.send_signal(signal.SIGHUP)
            assert until(lambda: "reloaded" in server.stderr())
        else:
            assert until(lambda: "reloaded" in server.stderr())
        assert server.post(token(signer(backend, k2), audience)).status_code == 200
        assert server.post(token(signer(backend, k1), audience)).status_code == 200
        assert server.proc.poll() is None  # SIGHUP did not end the process

        # A broken file is refused and the keys in force stay.
        path.write_text('{"jwks": "nope"}')
        if how == "sighup":
            server.proc.send_signal(signal.SIGHUP)
        assert until(lambda: "not reloaded" in server.stderr())
        assert server.post(token(signer(backend, k2), audience)).status_code == 200
    finally:
        server.stop()
