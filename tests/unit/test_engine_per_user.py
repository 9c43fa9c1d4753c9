"""Unit tests of the submitter in per-user mode: outcomes, retries, lookups and conflicts.

Every test runs a real ProvisioningRun against the in-memory SCIM server of
``test_engine_support`` behind respx, and asserts on the results and on the
order of the requests the server received.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
import time

import httpx
import pytest

from scim_tui.engine import events as ev
from scim_tui.engine.outcomes import Outcome, UserResult
from tests.unit.test_engine_support import (
    LIST_SCHEMA,
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
)

ALICE = "alice@example.test"


@pytest.fixture
def server():
    fake = FakeScimServer()
    with serve(fake):
        yield fake


# ---------------------------------------------------------------- successes


async def test_created_users_get_server_ids(server):
    names = user_names(3)
    run, _ = make_run(make_plan(names))

    result = await run_to_end(run)

    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 3
    assert [entry.resource_id for entry in result.results] == [server.users[name]["id"] for name in names]
    assert [entry.attempts for entry in result.results] == [1, 1, 1]
    assert len(server.calls_of("create")) == 3
    assert server.calls_of("lookup") == []


async def test_created_id_from_location_header(server):
    server.script("create", ALICE, Act(201, store=True, content=b"", headers={"Location": "http://127.0.0.1:9/scim/v2/Users/from-location"}))
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert result.results[0].outcome is Outcome.CREATED
    assert result.results[0].resource_id == "from-location"
    assert server.sequence(ALICE) == ["create"]


async def test_created_id_from_meta_location(server):
    body = {"userName": ALICE, "meta": {"location": "http://127.0.0.1:9/scim/v2/Users/from-meta"}}
    server.script("create", ALICE, Act(201, store=True, body=body))
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert result.results[0].resource_id == "from-meta"
    assert server.sequence(ALICE) == ["create"]


@pytest.mark.parametrize("status", [200, 201, 202, 299])
async def test_any_identifying_2xx_counts_as_created(server, status):
    server.script("create", ALICE, Act(status, store=True, body={"id": "the-id", "userName": ALICE}))
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert result.results[0].outcome is Outcome.CREATED
    assert result.results[0].resource_id == "the-id"
    assert server.sequence(ALICE) == ["create"]


@pytest.mark.parametrize(
    "act",
    [
        Act(201, store=True, body={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}),
        Act(201, store=True, content=b""),
        Act(204, store=True, content=b""),
        Act(201, store=True, content=b"<html>created</html>", headers={"Content-Type": "text/html"}),
    ],
    ids=["json-without-id", "empty-body", "204", "html"],
)
async def test_unidentified_2xx_looks_user_up(server, act):
    server.script("create", ALICE, act)
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert server.sequence(ALICE) == ["create", "lookup"]
    assert result.results[0].outcome is Outcome.CREATED
    assert result.results[0].resource_id == server.users[ALICE]["id"]


# ---------------------------------------------------------------- permanent errors


@pytest.mark.parametrize(
    ("status", "scim_type", "detail"),
    [
        (400, "invalidValue", "displayName is required"),
        (400, None, "bad request"),
        (404, None, "no such endpoint"),
        (405, None, "method not allowed"),
        (413, "tooLarge", "payload too large"),
        (422, None, "unprocessable"),
    ],
)
async def test_permanent_4xx_fails_without_retry(server, status, scim_type, detail):
    server.script("create", ALICE, Act(status, body=scim_error(status, detail, scim_type)))
    run, events = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    failed = result.results[0]
    assert failed.outcome is Outcome.FAILED
    assert failed.status == status
    assert failed.scim_type == scim_type
    assert failed.detail == detail
    assert failed.retriable is False
    assert failed.attempts == 1
    assert server.sequence(ALICE) == ["create"]
    assert of_type(events, ev.RequestRetried) == []


async def test_permanent_error_reads_genesys_body(server):
    body = {"message": "The division does not exist", "code": "bad.request", "status": 400, "contextId": "c-1"}
    server.script("create", ALICE, Act(400, body=body))
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert result.results[0].status == 400
    assert result.results[0].detail == "The division does not exist (bad.request)"


async def test_single_403_fails_without_retry(server):
    server.script("create", ALICE, Act(403, body=scim_error(403, "missing permission directory:user:add")))
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert server.sequence(ALICE) == ["create"]
    assert result.results[0].outcome is Outcome.FAILED
    assert result.results[0].status == 403
    # Sent once, but marked retriable: a permission is operator-fixable, so "rerun --only failed" includes it.
    assert result.results[0].retriable is True


# ---------------------------------------------------------------- retriable errors


async def test_429_retried_without_lookup(server):
    server.script("create", ALICE, Act(429, headers={"Retry-After": "0"}))
    run, events = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert server.sequence(ALICE) == ["create", "create"]
    assert result.results[0].outcome is Outcome.CREATED
    assert result.results[0].attempts == 2
    retried = of_type(events, ev.RequestRetried)
    assert len(retried) == 1
    assert "429" in retried[0].reason
    assert retried[0].delay == 0.0


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
async def test_uncertain_status_looks_up_then_creates(server, status):
    server.script("create", ALICE, Act(status))
    run, events = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert server.sequence(ALICE) == ["create", "lookup", "create"]
    assert result.results[0].outcome is Outcome.CREATED
    assert result.results[0].attempts == 2
    retried = of_type(events, ev.RequestRetried)
    assert len(retried) == 1
    assert str(status) in retried[0].reason
    assert retried[0].delay >= 0.0
    assert retried[0].user_name == ALICE


@pytest.mark.parametrize(
    "act",
    [
        Act(500, store=True),
        Act(502, store=True),
        Act(503, store=True),
        Act(504, store=True),
        Act(408, store=True),
        Act(error=httpx.ReadTimeout("read timed out"), store=True),
        Act(error=httpx.WriteTimeout("write timed out"), store=True),
        Act(error=httpx.RemoteProtocolError("server disconnected"), store=True),
        Act(error=httpx.ReadError("connection reset"), store=True),
    ],
    ids=["500", "502", "503", "504", "408", "read-timeout", "write-timeout", "disconnected", "read-error"],
)
async def test_stored_create_is_never_sent_twice(server, act):
    server.script("create", ALICE, act)
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert server.sequence(ALICE) == ["create", "lookup"]
    assert result.results[0].outcome is Outcome.CREATED
    assert result.results[0].resource_id == server.users[ALICE]["id"]
    assert result.results[0].detail == "creation confirmed by lookup after an uncertain answer"


async def test_oversized_answer_looks_user_up(server):
    padding = {"id": "x", "userName": ALICE, "title": "t" * 5000}
    server.script("create", ALICE, Act(201, store=True, body=padding))
    run, events = make_run(make_plan([ALICE]), settings=fast_settings(max_response_bytes=2000))

    result = await run_to_end(run)

    assert server.sequence(ALICE) == ["create", "lookup"]
    assert result.results[0].outcome is Outcome.CREATED
    assert result.results[0].resource_id == server.users[ALICE]["id"]
    assert "ResponseTooLarge" in of_type(events, ev.RequestRetried)[0].reason


async def test_timeout_not_stored_sends_again(server):
    server.script("create", ALICE, Act(error=httpx.ReadTimeout("read timed out")))
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert server.sequence(ALICE) == ["create", "lookup", "create"]
    assert result.results[0].outcome is Outcome.CREATED


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("connection refused"), httpx.ConnectTimeout("connect timed out"), httpx.PoolTimeout("pool")],
    ids=["connect-error", "connect-timeout", "pool-timeout"],
)
async def test_error_before_sending_retried_without_lookup(server, error):
    server.script("create", ALICE, Act(error=error))
    run, events = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert server.sequence(ALICE) == ["create", "create"]
    assert result.results[0].outcome is Outcome.CREATED
    assert type(error).__name__ in of_type(events, ev.RequestRetried)[0].reason


async def test_lookup_after_5xx_finds_older_user(server):
    server.add_user(ALICE, created="2020-01-01T00:00:00Z")
    server.script("create", ALICE, Act(500))
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert server.sequence(ALICE) == ["create", "lookup"]
    assert result.results[0].outcome is Outcome.EXISTED
    assert result.results[0].resource_id == server.users[ALICE]["id"]


async def test_5xx_retry_after_sets_delay(server):
    server.script("create", ALICE, Act(503, headers={"Retry-After": "0.05"}))
    run, events = make_run(make_plan([ALICE]))

    await run_to_end(run)

    assert of_type(events, ev.RequestRetried)[0].delay == pytest.approx(0.05)


# ---------------------------------------------------------------- conflicts


async def test_409_records_existing_user(server):
    existing = server.add_user(ALICE)
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert server.sequence(ALICE) == ["create", "lookup"]
    assert result.results[0].outcome is Outcome.EXISTED
    assert result.results[0].resource_id == existing["id"]


@pytest.mark.parametrize(
    "body",
    [
        scim_error(409, "User name already in use by non-deleted user."),
        {"message": "User name already in use", "code": "general.conflict", "status": 409},
        None,
    ],
    ids=["scim-without-scimtype", "genesys-body", "default-body"],
)
async def test_409_without_scim_type_is_conflict(server, body):
    existing = server.add_user(ALICE)
    server.script("create", ALICE, Act(409, body=body))
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert result.results[0].outcome is Outcome.EXISTED
    assert result.results[0].resource_id == existing["id"]


async def test_409_lookup_is_case_insensitive(server):
    existing = server.add_user("Alice@Example.TEST")
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert result.results[0].outcome is Outcome.EXISTED
    assert result.results[0].resource_id == existing["id"]


async def test_409_lookup_miss_fails_clearly(server):
    server.script("create", ALICE, Act(409, body=scim_error(409, "externalId already in use", "uniqueness")))
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    failed = result.results[0]
    assert server.sequence(ALICE) == ["create", "lookup"]
    assert failed.outcome is Outcome.FAILED
    assert failed.status == 409
    assert "externalId already in use" in failed.detail
    assert "no user with this userName was found" in failed.detail
    assert failed.retriable is False


async def test_409_ignores_unrelated_listed_users(server):
    # A server that ignores the filter lists every user; none of them is ALICE.
    unrelated = {"id": "other-1", "userName": "bob@example.test"}
    listing = {"schemas": [LIST_SCHEMA], "totalResults": 1, "Resources": [unrelated]}
    server.script("create", ALICE, Act(409))
    server.script("lookup", ALICE, Act(200, body=listing))
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert result.results[0].outcome is Outcome.FAILED
    assert result.results[0].resource_id is None


# ---------------------------------------------------------------- retry budget


async def test_budget_exhausted_fails_with_last_error(server):
    server.script(
        "create", ALICE,
        Act(500), Act(502), Act(503), Act(504),
        Act(408, body=scim_error(408, "request timeout at the gateway")),
    )
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    failed = result.results[0]
    assert failed.outcome is Outcome.FAILED
    assert failed.status == 408
    assert failed.detail == "request timeout at the gateway"
    assert failed.attempts == 5
    assert failed.retriable is True
    assert len(server.calls_of("create")) == 5
    assert len(server.calls_of("lookup")) == 4


async def test_budget_follows_max_attempts(server):
    server.default_create = lambda name: Act(503)
    run, _ = make_run(make_plan([ALICE]), settings=fast_settings(max_attempts=2))

    result = await run_to_end(run)

    assert result.results[0].outcome is Outcome.FAILED
    assert result.results[0].attempts == 2
    assert len(server.calls_of("create")) == 2


async def test_budget_applies_to_429(server):
    server.default_create = lambda name: Act(429, headers={"Retry-After": "0"})
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert result.results[0].outcome is Outcome.FAILED
    assert result.results[0].status == 429
    assert result.results[0].attempts == 5
    assert server.sequence(ALICE) == ["create"] * 5


async def test_budget_applies_to_connection_errors(server):
    server.default_create = lambda name: Act(error=httpx.ConnectError("connection refused"))
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    failed = result.results[0]
    assert failed.outcome is Outcome.FAILED
    assert failed.status is None
    assert "ConnectError" in failed.detail
    assert failed.attempts == 5


async def test_backoff_delays_stay_under_cap(server):
    server.default_create = lambda name: Act(503)
    settings = fast_settings(backoff_base=0.004, backoff_cap=0.01, max_attempts=6)
    run, events = make_run(make_plan([ALICE]), settings=settings)

    await run_to_end(run)

    delays = [event.delay for event in of_type(events, ev.RequestRetried)]
    assert len(delays) == 5
    assert all(0.0 <= delay <= 0.01 for delay in delays)
    assert [event.attempt for event in of_type(events, ev.RequestRetried)] == [2, 3, 4, 5, 6]


# ---------------------------------------------------------------- one result per user


async def test_every_user_gets_one_result(server):
    names = user_names(8)
    server.add_user(names[1])
    server.script("create", names[2], Act(400, body=scim_error(400, "bad value", "invalidValue")))
    server.script("create", names[3], Act(503))
    server.script("create", names[4], Act(409))
    server.script("create", names[5], Act(429, headers={"Retry-After": "0"}))
    server.script("create", names[6], Act(error=httpx.ReadTimeout("timed out"), store=True))
    plan = make_plan(names, batch_size=3)
    run, events = make_run(plan, settings=fast_settings(concurrency=3))

    result = await run_to_end(run)

    assert [entry.row for entry in result.results] == [user.row for user in plan.users()]
    assert [entry.user_name for entry in result.results] == names
    assert [entry.outcome for entry in result.results] == [
        Outcome.CREATED, Outcome.EXISTED, Outcome.FAILED, Outcome.CREATED,
        Outcome.FAILED, Outcome.CREATED, Outcome.CREATED, Outcome.CREATED,
    ]
    outcomes = Counter(str(entry.outcome) for entry in result.results)
    assert result.snapshot.counts == dict(outcomes)
    assert result.snapshot.finished_users == 8
    assert result.snapshot.total_users == 8
    assert result.cancelled is False
    assert result.stop_reason is None

    finished = of_type(events, ev.RunFinished)
    assert len(finished) == 1
    assert finished[0].created == outcomes["created"]
    assert finished[0].existed == outcomes["existed"]
    assert finished[0].failed == outcomes["failed"]
    assert finished[0].not_attempted == 0
    assert finished[0].cancelled is False


async def test_run_emits_lifecycle_events(server):
    server.script("create", "user002@example.test", Act(503))
    plan = make_plan(user_names(5), batch_size=2)
    run, events = make_run(plan, settings=fast_settings(concurrency=2))

    await run_to_end(run)

    started = of_type(events, ev.RunStarted)
    assert len(started) == 1
    assert started[0].total_users == 5
    assert started[0].batches == 3
    assert started[0].mode == "per-user"
    assert started[0].concurrency == 2
    assert isinstance(events[0], ev.RunStarted)
    assert isinstance(events[-1], ev.RunFinished)
    assert sorted(event.batch for event in of_type(events, ev.BatchStarted)) == [1, 2, 3]
    assert [event.users for event in sorted(of_type(events, ev.BatchStarted), key=lambda event: event.batch)] == [2, 2, 1]
    finished_batches = sorted(of_type(events, ev.BatchFinished), key=lambda event: event.batch)
    assert [event.batch for event in finished_batches] == [1, 2, 3]
    assert [event.status for event in finished_batches] == ["done", "done", "done"]
    assert [event.created for event in finished_batches] == [2, 2, 1]
    retried = of_type(events, ev.RequestRetried)
    assert len(retried) == 1
    assert retried[0].batch == 1
    assert retried[0].reason
    assert [event.at for event in events] == sorted(event.at for event in events)


async def test_batch_views_track_outcomes(server):
    names = user_names(4)
    server.script("create", names[3], Act(400))
    plan = make_plan(names, batch_size=2)
    run, _ = make_run(plan)

    await run_to_end(run)

    version, batches = run.batches_changed_since(0)
    assert version > 0
    by_number = {batch.number: batch for batch in batches}
    assert str(by_number[1].status) == "done"
    assert by_number[1].created == 2
    assert str(by_number[2].status) == "partial"
    assert by_number[2].created == 1
    assert by_number[2].failed == 1
    assert by_number[2].last_error
    assert run.batches_changed_since(version) == (version, [])


async def test_409_then_failed_lookup_still_existed(server):
    existing = server.add_user(ALICE)
    del existing["meta"]["created"]
    server.script("lookup", ALICE, Act(503))
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert server.sequence(ALICE) == ["create", "lookup", "lookup"]
    assert result.results[0].outcome is Outcome.EXISTED
    assert result.results[0].resource_id == existing["id"]


# ---------------------------------------------------------------- resumed runs


async def test_finished_users_not_sent_again(server):
    names = user_names(3)
    plan = make_plan(names)
    known = UserResult(row=3, user_name=names[1], outcome=Outcome.CREATED, resource_id="from-journal", attempts=1)
    run, _ = make_run(plan, finished={3: known})

    result = await run_to_end(run)

    assert server.sequence(names[1]) == []
    assert result.results[1] is known
    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 3
    assert result.snapshot.counts == {"created": 3}


async def test_in_doubt_user_looked_up_first(server):
    existing = server.add_user(ALICE)
    plan = make_plan([ALICE])
    sent_at = datetime.fromisoformat(existing["meta"]["created"]).timestamp()
    run, _ = make_run(plan, in_doubt={2: sent_at})

    result = await run_to_end(run)

    assert server.sequence(ALICE) == ["lookup"]
    assert result.results[0].outcome is Outcome.CREATED
    assert result.results[0].resource_id == existing["id"]


async def test_in_doubt_user_created_earlier_existed(server):
    existing = server.add_user(ALICE, created="2020-01-01T00:00:00+00:00")
    run, _ = make_run(make_plan([ALICE]), in_doubt={2: time.time()})

    result = await run_to_end(run)

    assert server.sequence(ALICE) == ["lookup"]
    assert result.results[0].outcome is Outcome.EXISTED
    assert result.results[0].resource_id == existing["id"]


async def test_in_doubt_user_absent_is_created(server):
    run, _ = make_run(make_plan([ALICE]), in_doubt={2: None})

    result = await run_to_end(run)

    assert server.sequence(ALICE) == ["lookup", "create"]
    assert result.results[0].outcome is Outcome.CREATED
