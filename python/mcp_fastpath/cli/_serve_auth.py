"""How `serve` builds its gate: a key file (reloaded on SIGHUP and when it changes), a JWKS URL,
or both; the OAuth resource metadata options; the warning for configurations that let
unauthenticated requests through."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import PROG, positive_float

__all__ = ["add_auth_arguments", "auth_options", "build_gate", "open_door_warning"]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def add_auth_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "identity provider (JWKS) and OAuth metadata",
        "--jwks-url checks bearer JWTs with an identity provider's published keys (refreshed in the background, "
        "refetched when a token names a key id not held yet; the last good set is kept while the provider is "
        "down). With --keys as well, the key file gives everything else (envelope keys, policy, leeway).",
    )
    g.add_argument("--jwks-url", metavar="URL", help="the identity provider's JWK Set URL (its jwks_uri)")
    g.add_argument(
        "--jwks-refresh",
        type=positive_float,
        default=300.0,
        metavar="S",
        help="with --jwks-url: seconds between background refetches (default 300; 15 after a failure)",
    )
    g.add_argument("--issuer", metavar="ISS", help="the tokens' \"iss\" (with --jwks-url; overrides the key file's)")
    g.add_argument(
        "--audience",
        metavar="AUD",
        help="the tokens' \"aud\": this server's canonical URL, e.g. https://mcp.example.com/mcp "
        "(with --jwks-url; overrides the key file's)",
    )
    g.add_argument(
        "--policy",
        metavar="JSON|@FILE",
        help='with --jwks-url alone: scope policy rules, e.g. \'{"tools/call:add": ["tools.add"], "*": ["mcp"]}\'',
    )
    g.add_argument(
        "--authorization-server",
        metavar="URL",
        action="append",
        help="OAuth resource metadata (RFC 9728): the authorization server clients get tokens from "
        "(repeatable; default: the JWT issuer)",
    )
    g.add_argument(
        "--resource-url",
        metavar="URL",
        help="OAuth resource metadata: this endpoint's public URL (default: the JWT audience when it is a URL)",
    )
    g.add_argument(
        "--no-resource-metadata", action="store_true", help="do not serve /.well-known/oauth-protected-resource"
    )
    g.add_argument(
        "--no-reload-keys",
        action="store_true",
        help="do not reload the key file on SIGHUP or when it changes (checked every 2 s)",
    )


def auth_options(args: argparse.Namespace) -> dict[str, Any]:
    """The `build_app` options these arguments set (JSON-serialisable: workers rebuild from them)."""
    return {
        "jwks_url": args.jwks_url,
        "jwks_refresh_s": args.jwks_refresh,
        "issuer": args.issuer,
        "audience": args.audience,
        "policy": args.policy,
        "authorization_servers": args.authorization_server,
        "resource_url": args.resource_url,
        "resource_metadata": not args.no_resource_metadata,
        "reload_keys": not args.no_reload_keys,
    }


def _policy_rules(policy: str) -> dict[str, list[str]]:
    from ..errors import FastpathError

    text = policy
    if policy.startswith("@"):
        try:
            with open(policy[1:], encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise FastpathError(f"--policy: cannot read {policy[1:]}: {exc.strerror or exc}") from None
    try:
        rules = json.loads(text)
    except ValueError as exc:
        raise FastpathError(f"--policy is not JSON: {exc}") from None
    if not isinstance(rules, dict):
        raise FastpathError('--policy maps "<method>[:<name>]" or "*" to a list of scopes')
    return rules


def build_gate(
    *,
    keys: str | None,
    jwks_url: str | None = None,
    jwks_refresh_s: float = 300.0,
    issuer: str | None = None,
    audience: str | None = None,
    policy: str | None = None,
    reload_keys: bool = True,
    **_: Any,
) -> tuple[Any, list[str]]:
    """The gate provider these options describe (None: no gate), and what it checks, in words."""
    from ..errors import FastpathError
    from ..gates import JwksGate, KeyFileGate

    if not keys and not jwks_url:
        if issuer or audience or policy:
            raise FastpathError("--issuer, --audience and --policy need --jwks-url (or a key file: --keys)")
        return None, []
    if policy and keys:
        raise FastpathError('--policy is for --jwks-url alone; with --keys the key file\'s "policy" applies')
    source = None
    if jwks_url:
        from ..jwks import JwksSource

        source = JwksSource(jwks_url, refresh_s=jwks_refresh_s, retry_s=min(15.0, jwks_refresh_s))
    if keys:
        provider: Any = KeyFileGate(
            keys,
            jwks=source,
            issuer=issuer,
            audience=audience,
            poll_s=2.0 if reload_keys else 0.0,
            sighup=reload_keys,
        )
        kf = provider.keyfile
        parts = (
            (["signed envelope"] if kf.envelope else [])
            + ([f"JWT (keys from {jwks_url})" if jwks_url else "JWT"] if kf.wants_token else [])
            + (["scope policy"] if kf.policy else [])
        )
        if reload_keys:
            parts.append("key file reloaded on SIGHUP or change")
        return provider, parts
    if not issuer or not audience:
        raise FastpathError("--jwks-url needs --issuer and --audience (the tokens' iss and aud)")
    rules = _policy_rules(policy) if policy else None
    try:
        provider = JwksGate(source, issuer=issuer, audience=audience, policy=rules)
    except (TypeError, ValueError) as exc:
        raise FastpathError(f"--policy: {exc}") from None
    return provider, [f"JWT (keys from {jwks_url})"] + (["scope policy"] if rules else [])


def resource_metadata_option(
    *,
    resource_metadata: bool = True,
    authorization_servers: list[str] | None = None,
    resource_url: str | None = None,
    **_: Any,
) -> Any:
    """`fast_http_app(resource_metadata=...)` for these options."""
    from ..errors import FastpathError
    from ..resource_metadata import ResourceMetadata

    if not resource_metadata:
        if authorization_servers or resource_url:
            raise FastpathError("--authorization-server / --resource-url contradict --no-resource-metadata")
        return False
    if not authorization_servers and not resource_url:
        return None  # on whenever JWTs are checked, everything from the gate
    try:
        return ResourceMetadata(resource=resource_url, authorization_servers=authorization_servers)
    except (TypeError, ValueError) as exc:
        raise FastpathError(f"resource metadata: {exc}") from None


def open_door_warning(provider: Any, host: str) -> str | None:
    """A loud warning when requests without credentials would be served on a non-loopback address."""
    if host in LOOPBACK_HOSTS or host.startswith("127."):
        return None
    if provider is None:
        why = "no --keys or --jwks-url: no request is authenticated"
    elif not provider.require_envelope and not provider.checks_tokens:
        why = 'the key file requires neither a signed envelope nor a token ("envelope": false, no "issuer")'
    else:
        return None
    bar = "!" * 78
    return (
        f"{bar}\n{PROG} serve: WARNING: {why}.\n"
        f"Anyone who can reach {host} can call every tool of this server.\n"
        f"Bind to 127.0.0.1, or require credentials (--keys FILE, or --jwks-url URL --issuer … --audience …).\n{bar}"
    )
