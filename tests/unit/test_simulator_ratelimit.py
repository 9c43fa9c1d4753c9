"""FixedWindowLimiter with a controlled clock."""

from __future__ import annotations

import pytest

from scim_tui.simulator.ratelimit import FixedWindowLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_counts_within_window() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(limit=2, window=60, clock=clock)

    decisions = [limiter.hit("token") for _ in range(3)]

    assert [decision.allowed for decision in decisions] == [True, True, False]
    assert [decision.count for decision in decisions] == [1, 2, 3]
    assert [decision.remaining for decision in decisions] == [1, 0, 0]


def test_reset_seconds_counts_down() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(limit=5, window=60, clock=clock)
    limiter.hit("token")
    clock.now += 59.2

    decision = limiter.hit("token")

    assert decision.reset_after == pytest.approx(0.8)
    assert decision.reset_seconds == 1


def test_new_window_after_expiry() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(limit=1, window=60, clock=clock)
    limiter.hit("token")
    limiter.hit("token")
    clock.now += 60

    decision = limiter.hit("token")

    assert decision.allowed
    assert decision.count == 1
    assert decision.reset_seconds == 60


def test_keys_are_independent() -> None:
    limiter = FixedWindowLimiter(limit=1, window=60, clock=FakeClock())

    first = limiter.hit("a")
    second = limiter.hit("b")

    assert first.allowed
    assert second.allowed


def test_reconfigure_and_reset() -> None:
    limiter = FixedWindowLimiter(limit=1, window=60, clock=FakeClock())
    limiter.hit("a")

    limiter.reconfigure(limit=3, window=60)
    raised = limiter.hit("a")
    limiter.reset()
    fresh = limiter.hit("a")

    assert raised.allowed
    assert raised.count == 2
    assert fresh.count == 1
