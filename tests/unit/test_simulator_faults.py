"""FaultPlan draws and the Genesys active-filter rule."""

from __future__ import annotations

from collections import Counter

import pytest

from scim_tui.simulator.app import mentions_active
from scim_tui.simulator.config import SimulatorConfig
from scim_tui.simulator.faults import FaultKind, FaultPlan


def draws(plan: FaultPlan, count: int) -> list[FaultKind | None]:
    return [plan.draw_fault() for _ in range(count)]


def test_no_probabilities_no_faults() -> None:
    plan = FaultPlan(SimulatorConfig(seed=1))

    assert draws(plan, 100) == [None] * 100
    assert plan.draw_latency() == 0.0


def test_certain_fault_every_time() -> None:
    plan = FaultPlan(SimulatorConfig(seed=1, p_drop=1.0))

    assert draws(plan, 20) == [FaultKind.DROP] * 20


def test_same_seed_same_draws() -> None:
    config = SimulatorConfig(seed=42, p503_before=0.25, p500_after=0.25, p_slow_after=0.1, latency_ms=(1, 9))
    first, second = FaultPlan(config), FaultPlan(config)

    assert draws(first, 50) == draws(second, 50)
    assert [first.draw_latency() for _ in range(5)] == [second.draw_latency() for _ in range(5)]


def test_reseed_replays() -> None:
    plan = FaultPlan(SimulatorConfig(seed=3, p503_before=0.5))
    before = draws(plan, 30)

    plan.reseed()

    assert draws(plan, 30) == before


def test_mix_follows_probabilities() -> None:
    plan = FaultPlan(SimulatorConfig(seed=9, p503_before=0.2, p500_after=0.3, p_drop=0.1))

    counts = Counter(draws(plan, 10_000))

    assert 1700 < counts[FaultKind.UNAVAILABLE_BEFORE] < 2300
    assert 2700 < counts[FaultKind.ERROR_AFTER] < 3300
    assert 800 < counts[FaultKind.DROP] < 1200
    assert counts[FaultKind.SLOW_AFTER] == 0


def test_latency_within_range() -> None:
    plan = FaultPlan(SimulatorConfig(seed=5, latency_ms=(10, 20)))

    latencies = [plan.draw_latency() for _ in range(200)]

    assert min(latencies) >= 0.010
    assert max(latencies) <= 0.020


def test_random_seed_is_reported() -> None:
    plan = FaultPlan(SimulatorConfig())

    assert isinstance(plan.seed, int)


def test_update_with_new_seed_reseeds() -> None:
    config = SimulatorConfig(seed=1, p503_before=0.5)
    plan = FaultPlan(config)
    draws(plan, 7)

    plan.update(config.with_changes({"seed": 2}))

    assert plan.seed == 2
    assert draws(plan, 30) == draws(FaultPlan(config.with_changes({"seed": 2})), 30)


@pytest.mark.parametrize(
    ("scim_filter", "expected"),
    [
        (None, False),
        ('userName eq "a@example.com"', False),
        ('userName eq "a@example.com" and active eq false', True),
        ("active eq true", True),
        ("ACTIVE eq false", True),
        ('urn:ietf:params:scim:schemas:core:2.0:User:active eq false', True),
        ('displayName eq "active"', False),
        ('displayName eq "say \\"active\\" here"', False),
        ('userName eq "inactive@example.com"', False),
    ],
)
def test_mentions_active(scim_filter: str | None, expected: bool) -> None:
    assert mentions_active(scim_filter) is expected
