"""Unit tests of rate-limit header reading and of the Pacer, on a fake clock."""

from __future__ import annotations

import httpx
import pytest

from scim_tui.engine.pacing import Pacer, RateLimitInfo, read_rate_limit

NOW_EPOCH = 1_700_000_000.0


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def info(remaining: int | None, reset: float | None, allowed: int | None = 300) -> RateLimitInfo:
    return RateLimitInfo(allowed=allowed, remaining=remaining, reset_seconds=reset)


def observed_pacer(clock: FakeClock, remaining: int, reset: float, allowed: int = 300) -> Pacer:
    """Return a pacer that sent one request and read ``remaining`` and ``reset`` from its response."""
    pacer = Pacer(clock)
    sequence = pacer.next_sequence()
    pacer.observe(sequence, info(remaining, reset, allowed))
    return pacer


# ---------------------------------------------------------------- headers


def test_genesys_headers_read():
    headers = httpx.Headers({"inin-ratelimit-allowed": "300", "inin-ratelimit-count": "12", "inin-ratelimit-reset": "50"})
    assert read_rate_limit(headers, now_epoch=NOW_EPOCH) == RateLimitInfo(300, 288, 50.0)


def test_x_ratelimit_headers_read():
    headers = httpx.Headers({"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "7", "X-RateLimit-Reset": "30"})
    assert read_rate_limit(headers, now_epoch=NOW_EPOCH) == RateLimitInfo(100, 7, 30.0)


def test_header_names_case_insensitive():
    headers = httpx.Headers({"ININ-RateLimit-Allowed": "10", "Inin-Ratelimit-Count": "4", "ININ-RATELIMIT-RESET": "9"})
    assert read_rate_limit(headers, now_epoch=NOW_EPOCH) == RateLimitInfo(10, 6, 9.0)


def test_epoch_reset_becomes_seconds():
    headers = httpx.Headers({"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "7", "X-RateLimit-Reset": str(int(NOW_EPOCH) + 45)})
    assert read_rate_limit(headers, now_epoch=NOW_EPOCH).reset_seconds == 45.0


def test_past_epoch_reset_is_zero():
    headers = httpx.Headers({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW_EPOCH) - 45)})
    assert read_rate_limit(headers, now_epoch=NOW_EPOCH).reset_seconds == 0.0


def test_genesys_headers_win_over_x_ratelimit():
    headers = httpx.Headers({
        "inin-ratelimit-allowed": "300", "inin-ratelimit-count": "1", "inin-ratelimit-reset": "60",
        "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1",
    })
    assert read_rate_limit(headers, now_epoch=NOW_EPOCH) == RateLimitInfo(300, 299, 60.0)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Content-Type": "application/json"}, None),
        ({"inin-ratelimit-allowed": "300"}, RateLimitInfo(300, None, None)),
        ({"inin-ratelimit-count": "5"}, RateLimitInfo(None, None, None)),
        ({"X-RateLimit-Remaining": "3"}, RateLimitInfo(None, 3, None)),
        ({"X-RateLimit-Limit": "abc", "X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "soon"}, RateLimitInfo(None, 2, None)),
        ({"X-RateLimit-Limit": "10.0", "X-RateLimit-Remaining": " 4 ", "X-RateLimit-Reset": "2.5"}, RateLimitInfo(10, 4, 2.5)),
        ({"X-RateLimit-Limit": "abc"}, None),
    ],
    ids=["none", "unrelated", "allowed-only", "count-only", "remaining-only", "garbage", "decimals", "garbage-only"],
)
def test_partial_and_odd_headers(headers, expected):
    assert read_rate_limit(httpx.Headers(headers), now_epoch=NOW_EPOCH) == expected


# ---------------------------------------------------------------- pacer


def test_no_figures_no_wait():
    clock = FakeClock()
    pacer = Pacer(clock)
    assert pacer.delay() == 0.0
    pacer.next_sequence()
    assert pacer.delay() == 0.0
    assert pacer.remaining is None


def test_figures_without_remaining_ignored():
    clock = FakeClock()
    pacer = Pacer(clock)
    sequence = pacer.next_sequence()
    pacer.observe(sequence, info(None, 60.0))
    pacer.observe(sequence, None)
    assert pacer.delay() == 0.0
    assert pacer.remaining is None


def test_budget_spread_over_window():
    clock = FakeClock()
    pacer = observed_pacer(clock, remaining=10, reset=10.0)

    # Ten requests left for ten seconds: one a second.
    assert pacer.delay() == pytest.approx(1.0)
    clock.advance(0.4)
    assert 0.0 < pacer.delay() <= 0.6
    clock.advance(0.6)
    assert pacer.delay() == 0.0


def test_paced_sends_fit_the_window():
    clock = FakeClock(0.0)
    pacer = observed_pacer(clock, remaining=10, reset=10.0)
    window_end = 10.0
    send_times = []

    for _ in range(30):
        wait = pacer.delay()
        if clock.now + wait >= window_end:
            break
        clock.advance(wait)
        pacer.next_sequence()
        send_times.append(clock.now)

    assert len(send_times) <= 10
    assert len(send_times) >= 8
    gaps = [later - earlier for earlier, later in zip([0.0] + send_times, send_times)]
    assert all(gap >= 0.9 for gap in gaps)


def test_unobserved_sends_use_budget():
    clock = FakeClock()
    pacer = observed_pacer(clock, remaining=10, reset=10.0)
    for _ in range(3):
        pacer.next_sequence()

    assert pacer.remaining == 7
    # Seven left for ten seconds, and the last send was just now.
    assert pacer.delay() == pytest.approx(10.0 / 7)


def test_remaining_never_negative():
    clock = FakeClock()
    pacer = observed_pacer(clock, remaining=1, reset=10.0)
    for _ in range(5):
        pacer.next_sequence()
    assert pacer.remaining == 0


def test_exhausted_budget_waits_until_reset():
    clock = FakeClock()
    pacer = observed_pacer(clock, remaining=0, reset=5.0)

    wait = pacer.delay()
    assert 5.0 <= wait <= 6.0
    clock.advance(2.0)
    assert 3.0 <= pacer.delay() <= 4.0
    clock.advance(wait - 2.0)
    assert pacer.delay() == 0.0


def test_exhausted_by_unobserved_sends_waits():
    clock = FakeClock()
    pacer = observed_pacer(clock, remaining=2, reset=4.0)
    pacer.next_sequence()
    pacer.next_sequence()

    assert 4.0 <= pacer.delay() <= 5.0


def test_stale_window_ignored():
    clock = FakeClock()
    pacer = observed_pacer(clock, remaining=0, reset=2.0)
    clock.advance(10.0)

    assert pacer.delay() == 0.0


def test_stale_spread_window_ignored():
    clock = FakeClock()
    pacer = observed_pacer(clock, remaining=1, reset=1.0)
    clock.advance(30.0)
    pacer.next_sequence()

    assert pacer.delay() == 0.0


def test_new_window_figures_resume_sending():
    clock = FakeClock()
    pacer = observed_pacer(clock, remaining=0, reset=2.0)
    clock.advance(3.0)
    probe = pacer.next_sequence()
    pacer.observe(probe, info(remaining=299, reset=60.0))

    assert pacer.remaining == 299
    assert pacer.delay() <= 60.0 / 299 + 1e-9


def test_probe_without_figures_does_not_stall():
    clock = FakeClock()
    pacer = observed_pacer(clock, remaining=0, reset=2.0)
    clock.advance(3.0)
    probe = pacer.next_sequence()
    clock.advance(0.1)
    pacer.observe(probe, None)

    assert pacer.delay() == 0.0


def test_out_of_order_observation_ignored():
    clock = FakeClock()
    pacer = Pacer(clock)
    older = pacer.next_sequence()
    newer = pacer.next_sequence()

    pacer.observe(newer, info(remaining=50, reset=10.0, allowed=300))
    pacer.observe(older, info(remaining=0, reset=10.0, allowed=999))

    assert pacer.remaining == 50
    assert pacer.allowed == 300
    assert pacer.delay() <= 10.0 / 50 + 1e-9


def test_newer_observation_replaces_older():
    clock = FakeClock()
    pacer = observed_pacer(clock, remaining=0, reset=30.0)
    newer = pacer.next_sequence()
    pacer.observe(newer, info(remaining=100, reset=30.0, allowed=120))

    assert pacer.remaining == 100
    assert pacer.allowed == 120
    assert pacer.delay() < 1.0


def test_sequence_numbers_increase():
    pacer = Pacer(FakeClock())
    assert [pacer.next_sequence() for _ in range(4)] == [0, 1, 2, 3]


def test_window_end_keeps_earliest_estimate():
    from scim_tui.engine.pacing import Pacer, RateLimitInfo

    now = [0.0]
    pacer = Pacer(clock=lambda: now[0])
    first = pacer.next_sequence()
    second = pacer.next_sequence()
    pacer.observe(first, RateLimitInfo(allowed=100, remaining=99, reset_seconds=10))
    now[0] = 0.6
    pacer.observe(second, RateLimitInfo(allowed=100, remaining=98, reset_seconds=10))

    # Whole-second reset values round up: the first estimate (10.0) is closer than 10.6.
    assert pacer._window_end == 10.0

    now[0] = 10.5
    third = pacer.next_sequence()
    pacer.observe(third, RateLimitInfo(allowed=100, remaining=99, reset_seconds=10))

    assert pacer._window_end == 20.5
