"""Unit tests of run control: pause, resume, cancel, concurrency changes and the 403 streak pause.

Where a test needs requests in flight, the fake server delays every response
until an asyncio.Event is set, so the tests observe real concurrency instead
of timing. Where a test checks that nothing is sent, it waits a short fixed time (0.4 s,
longer than the engine's 0.25 s wait slice) and counts requests.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from scim_tui.engine import events as ev
from scim_tui.engine.outcomes import Outcome
from scim_tui.engine.settings import MAX_CONCURRENCY
from scim_tui.engine.state import RunPhase
from tests.unit.test_engine_support import (
    RUN_TIMEOUT,
    Act,
    FakeScimServer,
    fast_settings,
    make_plan,
    make_run,
    of_type,
    run_to_end,
    scim_error,
    serve,
    user_names,
    wait_until,
)

QUIET_PERIOD = 0.4


@pytest.fixture
def server():
    fake = FakeScimServer()
    with serve(fake):
        yield fake


async def finish(task: asyncio.Task):
    return await asyncio.wait_for(task, RUN_TIMEOUT)


# ---------------------------------------------------------------- pause and resume


async def test_pause_stops_new_requests(server):
    names = user_names(6)
    server.hold = asyncio.Event()
    run, events = make_run(make_plan(names), settings=fast_settings(concurrency=2))
    task = asyncio.create_task(run.run())

    await wait_until(lambda: server.in_flight == 2)
    run.pause()
    assert run.paused is True
    snapshot = run.snapshot()
    assert snapshot.phase is RunPhase.PAUSED
    assert snapshot.pause_reason == "operator"

    server.hold.set()
    await wait_until(lambda: run.snapshot().counts.get("created", 0) == 2)
    await asyncio.sleep(QUIET_PERIOD)
    assert len(server.calls) == 2
    assert run.snapshot().phase is RunPhase.PAUSED

    run.resume()
    result = await finish(task)

    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 6
    assert len(server.calls) == 6
    paused = of_type(events, ev.Paused)
    resumed = of_type(events, ev.Resumed)
    assert len(paused) == 1
    assert paused[0].reason == "operator"
    assert len(resumed) == 1
    assert paused[0].at <= resumed[0].at
    assert result.snapshot.pause_reason is None


async def test_pause_holds_second_request_of_step(server):
    names = user_names(1)
    server.add_user(names[0])
    gate = asyncio.Event()
    server.script("create", names[0], Act(409, gate=gate))
    run, _ = make_run(make_plan(names))
    task = asyncio.create_task(run.run())

    await wait_until(lambda: server.in_flight == 1)
    run.pause()
    gate.set()
    await wait_until(lambda: server.in_flight == 0)
    await asyncio.sleep(QUIET_PERIOD)
    # The 409 response arrived while paused, and its lookup is a new request, so it waits.
    assert server.sequence(names[0]) == ["create"]

    run.resume()
    result = await finish(task)

    assert server.sequence(names[0]) == ["create", "lookup"]
    assert result.results[0].outcome is Outcome.EXISTED


async def test_pause_holds_due_retries(server):
    names = user_names(2)
    server.script("create", names[0], Act(503))
    server.hold = asyncio.Event()
    run, _ = make_run(make_plan(names), settings=fast_settings(concurrency=2))
    task = asyncio.create_task(run.run())

    await wait_until(lambda: server.in_flight == 2)
    run.pause()
    server.hold.set()
    await wait_until(lambda: server.in_flight == 0 and run.snapshot().retry_queue_depth == 1)
    await asyncio.sleep(QUIET_PERIOD)
    assert server.sequence(names[0]) == ["create"]

    run.resume()
    result = await finish(task)

    assert server.sequence(names[0]) == ["create", "lookup", "create"]
    assert [entry.outcome for entry in result.results] == [Outcome.CREATED, Outcome.CREATED]


async def test_paused_before_start_sends_nothing(server):
    names = user_names(3)
    run, _ = make_run(make_plan(names))
    run.pause()
    task = asyncio.create_task(run.run())

    await asyncio.sleep(QUIET_PERIOD)
    assert server.calls == []
    assert run.snapshot().phase is RunPhase.PAUSED

    run.resume()
    result = await finish(task)

    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 3


async def test_pause_and_resume_are_idempotent(server):
    run, events = make_run(make_plan(user_names(1)))
    run.pause()
    run.pause("again")
    run.resume()
    run.resume()

    await run_to_end(run)

    assert len(of_type(events, ev.Paused)) == 1
    assert len(of_type(events, ev.Resumed)) == 1


# ---------------------------------------------------------------- cancel


async def test_cancel_lets_in_flight_finish(server):
    names = user_names(6)
    server.hold = asyncio.Event()
    run, events = make_run(make_plan(names), settings=fast_settings(concurrency=2))
    task = asyncio.create_task(run.run())

    await wait_until(lambda: server.in_flight == 2)
    run.cancel()
    assert run.snapshot().phase is RunPhase.CANCELLING
    server.hold.set()
    result = await finish(task)

    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 2 + [Outcome.NOT_ATTEMPTED] * 4
    assert all(entry.detail == "cancelled by the operator" for entry in result.results[2:])
    assert all(entry.retriable for entry in result.results[2:])
    assert len(server.calls) == 2
    assert result.cancelled is True
    assert result.stop_reason == "cancelled by the operator"
    assert result.snapshot.phase is RunPhase.FINISHED
    assert result.snapshot.counts == {"created": 2, "not_attempted": 4}
    finished = of_type(events, ev.RunFinished)
    assert finished[0].cancelled is True
    assert finished[0].created == 2
    assert finished[0].not_attempted == 4


async def test_cancel_lets_step_finish_its_lookup(server):
    names = user_names(2)
    server.add_user(names[0])
    gate = asyncio.Event()
    server.script("create", names[0], Act(409, gate=gate))
    run, _ = make_run(make_plan(names))
    task = asyncio.create_task(run.run())

    await wait_until(lambda: server.in_flight == 1)
    run.cancel()
    gate.set()
    result = await finish(task)

    # The lookup resolves the 409 that was in flight; it starts no new user.
    assert server.sequence(names[0]) == ["create", "lookup"]
    assert result.results[0].outcome is Outcome.EXISTED
    assert result.results[1].outcome is Outcome.NOT_ATTEMPTED
    assert server.sequence(names[1]) == []


async def test_cancel_while_paused(server):
    names = user_names(3)
    run, _ = make_run(make_plan(names))
    run.pause()
    task = asyncio.create_task(run.run())
    await asyncio.sleep(0.05)

    run.cancel("operator quit")
    result = await finish(task)

    assert [entry.outcome for entry in result.results] == [Outcome.NOT_ATTEMPTED] * 3
    assert result.stop_reason == "operator quit"
    assert server.calls == []


async def test_cancel_during_backoff_does_not_wait(server):
    names = user_names(3)
    server.script("create", names[0], Act(429, headers={"Retry-After": "5"}))
    run, events = make_run(make_plan(names), settings=fast_settings(concurrency=2))
    task = asyncio.create_task(run.run())

    await wait_until(lambda: bool(of_type(events, ev.BackoffStarted)))
    run.cancel()
    # Bounded well under the 5 s backoff: the engine checks for cancel every wait slice.
    result = await asyncio.wait_for(task, 3.0)

    assert result.results[0].outcome is Outcome.NOT_ATTEMPTED
    assert len(result.results) == 3
    assert all(call.at < of_type(events, ev.BackoffStarted)[0].at for call in server.calls)


# ---------------------------------------------------------------- concurrency


async def test_raising_concurrency_adds_requests(server):
    names = user_names(8)
    server.hold = asyncio.Event()
    run, events = make_run(make_plan(names), settings=fast_settings(concurrency=1))
    task = asyncio.create_task(run.run())

    await wait_until(lambda: server.in_flight == 1)
    await asyncio.sleep(0.1)
    assert server.in_flight == 1

    run.set_concurrency(4)
    await wait_until(lambda: server.in_flight == 4)
    assert run.snapshot().concurrency == 4
    assert run.snapshot().in_flight == 4
    server.hold.set()
    result = await finish(task)

    assert server.max_in_flight == 4
    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 8
    changed = of_type(events, ev.ConcurrencyChanged)
    assert [(event.old, event.new) for event in changed] == [(1, 4)]


async def test_lowering_concurrency_limits_new_requests(server):
    names = user_names(10)
    server.hold = asyncio.Event()
    run, events = make_run(make_plan(names), settings=fast_settings(concurrency=4))
    task = asyncio.create_task(run.run())

    await wait_until(lambda: server.in_flight == 4)
    run.set_concurrency(1)
    changed_at = time.monotonic()
    server.answer_delay = 0.01
    server.hold.set()
    result = await finish(task)

    later = [call for call in server.calls if call.at > changed_at]
    assert len(later) == 6
    assert all(call.in_flight == 1 for call in later)
    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 10
    assert [(event.old, event.new) for event in of_type(events, ev.ConcurrencyChanged)] == [(4, 1)]


async def test_concurrency_bounds_requests_in_flight(server):
    names = user_names(12)
    server.hold = asyncio.Event()
    run, _ = make_run(make_plan(names), settings=fast_settings(concurrency=3))
    task = asyncio.create_task(run.run())

    await wait_until(lambda: server.in_flight == 3)
    await asyncio.sleep(0.1)
    assert server.in_flight == 3
    server.hold.set()
    await finish(task)

    assert server.max_in_flight == 3


async def test_set_concurrency_clamps(server):
    run, events = make_run(make_plan(user_names(1)))
    run.set_concurrency(0)
    run.set_concurrency(MAX_CONCURRENCY + 1000)
    run.set_concurrency(MAX_CONCURRENCY)

    await run_to_end(run)

    changed = of_type(events, ev.ConcurrencyChanged)
    # 0 is raised to 1, the current value, so only the clamped ceiling is a change.
    assert [(event.old, event.new) for event in changed] == [(1, MAX_CONCURRENCY)]
    assert run.snapshot().concurrency == MAX_CONCURRENCY


# ---------------------------------------------------------------- 403 streak


async def test_403_streak_pauses_with_message(server):
    names = user_names(6)
    server.default_create = lambda name: Act(403, body=scim_error(403, "Missing permission"))
    run, events = make_run(make_plan(names), settings=fast_settings(permission_error_streak=3))
    task = asyncio.create_task(run.run())

    await wait_until(lambda: run.paused)
    sent = len(server.calls)
    assert sent == 3
    messages = of_type(events, ev.RunMessage)
    assert len(messages) == 1
    assert messages[0].level == "error"
    assert "403" in messages[0].text
    assert "lack a permission" in messages[0].text
    # A generic target gets no Genesys permission names.
    assert "directory:user:add" not in messages[0].text
    paused = of_type(events, ev.Paused)
    assert len(paused) == 1
    assert "403" in paused[0].reason
    assert run.snapshot().pause_reason == paused[0].reason

    await asyncio.sleep(QUIET_PERIOD)
    assert len(server.calls) == sent

    server.default_create = None
    run.resume()
    result = await finish(task)

    # Users that never met a 403 are created once the permission is fixed.
    assert [entry.outcome for entry in result.results[3:]] == [Outcome.CREATED] * 3
    assert len(result.results) == 6


async def test_403_apart_do_not_pause(server):
    names = user_names(5)
    for name in names[0::2]:
        server.script("create", name, Act(403))
    run, events = make_run(make_plan(names), settings=fast_settings(permission_error_streak=2))

    result = await run_to_end(run)

    assert of_type(events, ev.Paused) == []
    assert of_type(events, ev.RunMessage) == []
    assert [entry.outcome for entry in result.results[1::2]] == [Outcome.CREATED, Outcome.CREATED]


async def test_403_streak_names_genesys_permission(server):
    from scim_tui.targets.generic import GenericTarget
    from tests.unit.test_engine_support import BASE_URL

    class GenesysLikeTarget(GenericTarget):
        kind = "genesys"

    server.default_create = lambda name: Act(403, body=scim_error(403, "Missing permission"))
    run, events = make_run(
        make_plan(user_names(3)), target=GenesysLikeTarget(BASE_URL), settings=fast_settings(permission_error_streak=3)
    )
    task = asyncio.create_task(run.run())

    await wait_until(lambda: run.paused)
    run.cancel()
    await finish(task)

    messages = of_type(events, ev.RunMessage)
    assert "directory:user:add" in messages[0].text
