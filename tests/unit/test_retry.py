"""Unit tests of Retry-After parsing, full-jitter backoff and the retry queue."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
import random

import pytest

from scim_tui.engine.retry import RetryQueue, backoff_delay, parse_http_date, parse_retry_after

# The example instant of RFC 9110 section 5.6.7, in its three forms.
EXAMPLE = datetime(1994, 11, 6, 8, 49, 37, tzinfo=timezone.utc)
IMF_FIXDATE = "Sun, 06 Nov 1994 08:49:37 GMT"
RFC850_DATE = "Sunday, 06-Nov-94 08:49:37 GMT"
ASCTIME_DATE = "Sun Nov  6 08:49:37 1994"


# ---------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0.0), ("1", 1.0), ("120", 120.0), (" 30 ", 30.0), ("1.5", 1.5), ("86400", 86400.0)],
)
def test_retry_after_delay_seconds(value, expected):
    assert parse_retry_after(value) == expected


@pytest.mark.parametrize("value", [None, "", "   ", "-1", "soon", "nan", "inf", "-inf", "1 2", "12s"])
def test_retry_after_unusable_values(value):
    assert parse_retry_after(value) is None


@pytest.mark.parametrize("value", [IMF_FIXDATE, RFC850_DATE, ASCTIME_DATE], ids=["imf-fixdate", "rfc850", "asctime"])
def test_http_date_forms_parse(value):
    assert parse_http_date(value) == EXAMPLE


@pytest.mark.parametrize("value", [IMF_FIXDATE, RFC850_DATE, ASCTIME_DATE], ids=["imf-fixdate", "rfc850", "asctime"])
def test_retry_after_date_forms(value):
    now = EXAMPLE - timedelta(seconds=90)
    assert parse_retry_after(value, now=now) == 90.0


def test_retry_after_single_digit_asctime_day():
    now = EXAMPLE - timedelta(seconds=5)
    # asctime pads a one-digit day with a space; a single space must parse too.
    assert parse_retry_after("Sun Nov 6 08:49:37 1994", now=now) == 5.0


def test_retry_after_past_date_is_zero():
    now = EXAMPLE + timedelta(hours=1)
    assert parse_retry_after(IMF_FIXDATE, now=now) == 0.0


def test_retry_after_date_uses_current_time():
    moment = datetime.now(timezone.utc) + timedelta(seconds=60)
    value = moment.strftime("%a, %d %b %Y %H:%M:%S GMT")
    delay = parse_retry_after(value)
    assert delay is not None
    assert 55.0 <= delay <= 60.0


@pytest.mark.parametrize(
    "value",
    ["Sun, 06 Nov 1994 08:49:37", "06 Nov 1994 08:49:37 GMT", "Sun, 32 Nov 1994 08:49:37 GMT", "1994-11-06T08:49:37Z"],
)
def test_malformed_dates_rejected(value):
    assert parse_http_date(value) is None
    assert parse_retry_after(value, now=EXAMPLE) is None


# ---------------------------------------------------------------- backoff


def test_backoff_is_full_jitter():
    rng = random.Random(0)
    reference = random.Random(0)

    delays = [backoff_delay(attempt, base=0.5, cap=60.0, rng=rng) for attempt in range(1, 6)]

    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0]
    assert delays == [reference.uniform(0, ceiling) for ceiling in ceilings]
    assert all(0.0 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings))


def test_backoff_capped():
    rng = random.Random(1)
    delays = [backoff_delay(attempt, base=1.0, cap=3.0, rng=rng) for attempt in range(1, 200)]
    assert max(delays) <= 3.0
    # With 199 uniform draws, some land in the top of the capped range.
    assert max(delays) > 2.0


def test_backoff_spreads_values():
    rng = random.Random(2)
    delays = {round(backoff_delay(4, base=1.0, cap=60.0, rng=rng), 6) for _ in range(50)}
    assert len(delays) > 40
    assert all(0.0 <= delay <= 8.0 for delay in delays)


def test_backoff_attempt_zero_uses_base():
    rng = random.Random(3)
    assert all(backoff_delay(0, base=0.2, cap=10.0, rng=rng) <= 0.2 for _ in range(20))


def test_backoff_huge_attempt_stays_capped():
    assert backoff_delay(10_000, base=0.5, cap=2.0, rng=random.Random(4)) <= 2.0


# ---------------------------------------------------------------- queue


def test_queue_pops_earliest_due():
    queue: RetryQueue[str] = RetryQueue()
    queue.push("late", 30.0)
    queue.push("early", 10.0)
    queue.push("middle", 20.0)

    assert len(queue) == 3
    assert queue.next_due() == 10.0
    assert queue.pop_due(25.0) == "early"
    assert queue.pop_due(25.0) == "middle"
    assert queue.pop_due(25.0) is None
    assert queue.next_due() == 30.0
    assert len(queue) == 1


def test_queue_ties_keep_insertion_order():
    queue: RetryQueue[str] = RetryQueue()
    for name in ("a", "b", "c"):
        queue.push(name, 5.0)

    assert [queue.pop_due(5.0) for _ in range(3)] == ["a", "b", "c"]


def test_queue_items_need_no_ordering():
    queue: RetryQueue[object] = RetryQueue()
    first, second = object(), object()
    queue.push(first, 1.0)
    queue.push(second, 1.0)

    assert queue.pop_due(1.0) is first


def test_queue_drain_empties():
    queue: RetryQueue[int] = RetryQueue()
    for number in range(5):
        queue.push(number, float(number))

    assert sorted(queue.drain()) == [0, 1, 2, 3, 4]
    assert len(queue) == 0
    assert queue.next_due() is None
    assert queue.pop_due(100.0) is None
