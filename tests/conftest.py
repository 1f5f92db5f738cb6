"""Every codec/verify test runs on both backends: the `backend` fixture is the native module or
the pure twin (`MCP_FASTPATH_TEST_BACKENDS=native,pure` by default; a missing native module is a
failure, not a skip)."""

from __future__ import annotations

import os
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

from mcp_fastpath import _backend

settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False
)
settings.register_profile("soak", max_examples=20_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

BACKENDS = [name.strip() for name in os.environ.get("MCP_FASTPATH_TEST_BACKENDS", "native,pure").split(",") if name.strip()]


def load_backend(name: str) -> ModuleType:
    loaded, module = _backend.load(name)
    assert loaded == name
    return module


@pytest.fixture(params=BACKENDS, scope="session")
def backend(request: pytest.FixtureRequest) -> ModuleType:
    """The backend module under test (`mcp_fastpath._native` or `mcp_fastpath._pure`)."""
    return load_backend(request.param)


@pytest.fixture(scope="session")
def native() -> ModuleType:
    return load_backend("native")


@pytest.fixture(scope="session")
def pure() -> ModuleType:
    return load_backend("pure")
