"""Fixtures of the dashboard tests: a Genesys-like simulator on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from scim_tui.simulator.config import SimulatorConfig
from scim_tui.simulator.server import SimulatorServer


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorServer]:
    """A Genesys-profile simulator without a rate limit and with a little latency, so runs stay observable."""
    config = SimulatorConfig(rate_limit_per_minute=0, latency_ms=(5, 15), seed=7)
    async with SimulatorServer(config) as server:
        yield server
