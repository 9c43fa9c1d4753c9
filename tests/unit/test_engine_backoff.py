"""Unit tests of how the submitter waits: 429 and Retry-After, backoff, and pacing from rate-limit headers.

Assertions about time compare the monotonic arrival times that the fake
server records with the engine's own BackoffStarted event. They allow a 0.1 s
margin on waits of about a second, and nothing asserts that the run is fast.
"""

from __future__ import annotations

from datetime import datetime, timezone
import email.utils
import math
import time

import pytest

from scim_tui.engine import events as ev
from scim_tui.engine.outcomes import Outcome
from tests.unit.test_engine_support import (
    Act,
    FakeScimServer,
    fast_settings,
    make_plan,
    make_run,
    of_type,
    run_to_end,
    serve,
    user_names,
)

ALICE = "alice@example.test"
MARGIN = 0.1


@pytest.fixture
def server():
    fake = FakeScimServer()
    with serve(fake):
        yield fake


def calls_after(server: FakeScimServer, moment: float):
    return [call for call in server.calls if call.at > moment]


def whole_second_ahead(seconds: int) -> datetime:
    """Return a UTC time on a whole second, at least ``seconds`` and less than ``seconds + 1`` from now."""
    return datetime.fromtimestamp(math.ceil(time.time() + seconds), timezone.utc)


# ---------------------------------------------------------------- Retry-After


async def test_retry_after_seconds_delays_next_request(server):
    server.script("create", ALICE, Act(429, headers={"Retry-After": "1"}))
    run, events = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    backoff = of_type(events, ev.BackoffStarted)
    assert len(backoff) == 1
    assert backoff[0].delay == 1.0
    assert "Retry-After" in backoff[0].reason
    first, second = server.calls_of("create", ALICE)
    assert second.at - backoff[0].at >= 1.0 - MARGIN
    assert result.results[0].outcome is Outcome.CREATED

    ended = of_type(events, ev.BackoffEnded)
    assert len(ended) == 1
    assert ended[0].waited >= 1.0 - MARGIN
    assert ended[0].at > backoff[0].at
    retried = of_type(events, ev.RequestRetried)
    assert retried[0].delay == 1.0
    assert "429" in retried[0].reason


@pytest.mark.parametrize(
    "form",
    [
        lambda moment: email.utils.format_datetime(moment, usegmt=True),
        lambda moment: moment.strftime("%A, %d-%b-%y %H:%M:%S GMT"),
        lambda moment: moment.strftime("%a %b ") + f"{moment.day:>2}" + moment.strftime(" %H:%M:%S %Y"),
    ],
    ids=["imf-fixdate", "rfc850", "asctime"],
)
async def test_retry_after_date_delays_next_request(server, form):
    value = form(whole_second_ahead(1))
    server.script("create", ALICE, Act(429, headers={"Retry-After": value}))
    run, events = make_run(make_plan([ALICE]))

    await run_to_end(run)

    backoff = of_type(events, ev.BackoffStarted)
    assert len(backoff) == 1
    assert 1.0 - MARGIN <= backoff[0].delay <= 2.0
    second = server.calls_of("create", ALICE)[1]
    assert second.at - backoff[0].at >= backoff[0].delay - MARGIN


async def test_429_pauses_every_user(server):
    names = user_names(6)
    server.answer_delay = 0.02
    server.script("create", names[0], Act(429, headers={"Retry-After": "1"}))
    run, events = make_run(make_plan(names), settings=fast_settings(concurrency=3))

    result = await run_to_end(run)

    backoff = of_type(events, ev.BackoffStarted)
    assert len(backoff) == 1
    later = calls_after(server, backoff[0].at)
    # The 429 user's retry and the three users not yet sent all came after the wait.
    assert len(later) >= 4
    assert {call.user_name for call in later} >= {names[0], names[3], names[4], names[5]}
    assert all(call.at - backoff[0].at >= 1.0 - MARGIN for call in later)
    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 6
    assert result.snapshot.throttled == 1
    assert result.snapshot.total_backoff >= 1.0 - MARGIN


async def test_429_on_lookup_pauses_sending(server):
    names = user_names(3)
    server.script("create", names[0], Act(503))
    server.script("lookup", names[0], Act(429, headers={"Retry-After": "1"}))
    server.script("create", names[1], Act(503))
    run, events = make_run(make_plan(names))

    await run_to_end(run)

    backoff = of_type(events, ev.BackoffStarted)
    assert len(backoff) == 1
    assert "lookup" in backoff[0].reason
    assert all(call.at - backoff[0].at >= 1.0 - MARGIN for call in calls_after(server, backoff[0].at))


@pytest.mark.parametrize("header", [None, "soon", "-5", ""], ids=["missing", "text", "negative", "empty"])
async def test_429_without_usable_retry_after_backs_off(server, header):
    headers = {} if header is None else {"Retry-After": header}
    server.script("create", ALICE, Act(429, headers=headers))
    run, events = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    backoff = of_type(events, ev.BackoffStarted)
    assert len(backoff) == 1
    assert "exponential backoff" in backoff[0].reason
    # Full jitter for the first 429: uniform in [0, 1 s], since the engine's base for 429 is at least 1 s.
    assert 0.0 <= backoff[0].delay <= 1.0
    second = server.calls_of("create", ALICE)[1]
    assert second.at - backoff[0].at >= backoff[0].delay - MARGIN
    assert result.results[0].outcome is Outcome.CREATED


async def test_retry_after_clamped_to_cap(server):
    server.script("create", ALICE, Act(429, headers={"Retry-After": "3600"}))
    run, events = make_run(make_plan([ALICE]), settings=fast_settings(retry_after_cap=0.2))

    result = await run_to_end(run)

    assert of_type(events, ev.BackoffStarted)[0].delay == 0.2
    assert of_type(events, ev.RequestRetried)[0].delay == 0.2
    assert result.results[0].outcome is Outcome.CREATED


async def test_snapshot_counts_requests_by_status(server):
    server.script("create", ALICE, Act(429, headers={"Retry-After": "0"}), Act(503))
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert result.snapshot.requests_by_status == {"429": 1, "503": 1, "200": 1, "201": 1}
    assert result.snapshot.requests_sent == 4
    assert result.snapshot.retries == 2


# ---------------------------------------------------------------- pacing


@pytest.mark.parametrize(
    "headers",
    [
        {"inin-ratelimit-allowed": "300", "inin-ratelimit-count": "300", "inin-ratelimit-reset": "1"},
        {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"},
    ],
    ids=["genesys", "x-ratelimit"],
)
@pytest.mark.parametrize("status", [201, 400])
async def test_exhausted_budget_waits_for_reset(server, headers, status):
    names = user_names(2)
    body = None if status == 201 else {"detail": "bad"}
    server.script("create", names[0], Act(status, headers=headers, body=body))
    run, events = make_run(make_plan(names))

    result = await run_to_end(run)

    first = server.calls_of("create", names[0])[0]
    second = server.calls_of("create", names[1])[0]
    assert second.at - first.at >= 1.0 - MARGIN
    assert result.snapshot.rate_limit_allowed == 300
    assert result.results[1].outcome is Outcome.CREATED
    assert of_type(events, ev.BackoffStarted) == []


async def test_epoch_reset_header_paces(server):
    names = user_names(2)
    reset = whole_second_ahead(1).timestamp()
    headers = {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(reset))}
    server.script("create", names[0], Act(201, headers=headers))
    run, _ = make_run(make_plan(names))

    await run_to_end(run)

    first = server.calls_of("create", names[0])[0]
    second = server.calls_of("create", names[1])[0]
    assert second.at - first.at >= 1.0 - MARGIN


async def test_rate_limit_shown_in_snapshot(server):
    names = user_names(1)
    headers = {"inin-ratelimit-allowed": "300", "inin-ratelimit-count": "12", "inin-ratelimit-reset": "50"}
    server.script("create", names[0], Act(201, headers=headers))
    run, _ = make_run(make_plan(names))

    result = await run_to_end(run)

    assert result.snapshot.rate_limit_allowed == 300
    assert result.snapshot.rate_limit_remaining == 288


async def test_stale_rate_limit_window_does_not_block(server):
    names = user_names(3)
    fresh = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "100", "X-RateLimit-Reset": "1"}
    server.script("create", names[0], Act(201, headers={**fresh, "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0"}))
    server.script("create", names[1], Act(201, headers=fresh))
    server.script("create", names[2], Act(201, headers=fresh))
    run, _ = make_run(make_plan(names))

    result = await run_to_end(run)

    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 3
    first, second, third = (server.calls_of("create", name)[0] for name in names)
    # The exhausted window ended at once, so the wait is only the pacer's margin
    # after a reset, far below the second that a window would take.
    assert second.at - first.at < 1.0
    assert third.at - second.at < 1.0


def test_whole_second_ahead_is_in_range():
    now = time.time()
    moment = whole_second_ahead(1).timestamp()
    assert moment.is_integer()
    assert 1.0 <= moment - now < 2.0 + MARGIN


async def test_every_backoff_ends_before_run_finished(server):
    server.script("create", ALICE, Act(429, headers={"Retry-After": "0.2"}))
    run, events = make_run(make_plan([ALICE]), settings=fast_settings(max_attempts=1))

    result = await run_to_end(run)

    assert result.results[0].outcome is Outcome.FAILED
    assert len(of_type(events, ev.BackoffStarted)) == 1
    assert len(of_type(events, ev.BackoffEnded)) == 1
