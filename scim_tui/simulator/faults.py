"""Seeded draws of the simulator's injected faults and latency.

Each request in the fault scope takes exactly one draw from the fault
generator and each SCIM request one draw from the latency generator, from two
generators seeded from the same seed. With one request at a time, the same
seed therefore gives the same faults in the same order; with concurrent
requests the order in which requests arrive decides which request gets
which draw.
"""

from __future__ import annotations

import random
from enum import StrEnum

from scim_tui.simulator.config import SimulatorConfig


class FaultKind(StrEnum):
    """A fault the simulator can inject into one request."""

    UNAVAILABLE_BEFORE = "503_before"
    """503 before the request is served: nothing is stored."""

    ERROR_AFTER = "500_after"
    """500 after the request is served: the change is stored, the client sees an error."""

    SLOW_AFTER = "slow_after"
    """The response waits ``slow_seconds`` after the change is stored."""

    DROP = "drop"
    """The connection is closed without a response after the change is stored."""


class FaultPlan:
    """Draws faults and latencies for requests, from the probabilities of a config."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
        self.reseed()

    def reseed(self) -> None:
        """Start both generators again from the seed, so a reset replays the same draws."""
        self._faults = random.Random(f"{self.seed}:faults")
        self._latency = random.Random(f"{self.seed}:latency")

    def update(self, config: SimulatorConfig) -> None:
        """Apply a new config; a changed seed restarts the generators."""
        self.config = config
        if config.seed is not None and config.seed != self.seed:
            self.seed = config.seed
            self.reseed()

    def draw_fault(self) -> FaultKind | None:
        """Pick at most one fault for a request, each with its configured probability."""
        config = self.config
        draw = self._faults.random()
        for kind, probability in (
            (FaultKind.UNAVAILABLE_BEFORE, config.p503_before),
            (FaultKind.ERROR_AFTER, config.p500_after),
            (FaultKind.SLOW_AFTER, config.p_slow_after),
            (FaultKind.DROP, config.p_drop),
        ):
            if draw < probability:
                return kind
            draw -= probability
        return None

    def draw_latency(self) -> float:
        """Return the latency to add to a request, in seconds (0 when none is configured)."""
        latency = self.config.latency_ms
        if latency is None:
            return 0.0
        low, high = latency
        return self._latency.uniform(low, high) / 1000.0
