"""Unit tests of the submitter in Bulk mode: bulkIds, result matching, status encodings, 413 splits."""

from __future__ import annotations

import asyncio
from collections import Counter
import json
from typing import Any

import httpx
import pytest

from scim_tui.engine import events as ev
from scim_tui.engine.outcomes import Outcome
from scim_tui.engine.run import BULK_REQUEST_SCHEMA
from tests.unit.test_engine_support import (
    USERS_URL,
    Act,
    FakeScimServer,
    RefreshableTarget,
    bulk_operations_of,
    bulk_response,
    encode_user,
    fast_settings,
    make_plan,
    make_run,
    make_users,
    of_type,
    run_to_end,
    scim_error,
    serve,
    user_names,
    wait_until,
)


@pytest.fixture
def server():
    fake = FakeScimServer()
    fake.bulk_handler = lambda request, document: bulk_response(
        [fake.bulk_operation_result(operation) for operation in document["Operations"]]
    )
    with serve(fake):
        yield fake


def bulk_plan(names: list[str], batch_size: int = 10, max_payload_size: int | None = None):
    return make_plan(names, mode="bulk", batch_size=batch_size, max_payload_size=max_payload_size)


def answer_each(server: FakeScimServer, answers: dict[str, Any], *, reverse: bool = False):
    """Install a Bulk handler that looks up each operation's result in ``answers`` by userName.

    A result is a dict merged into the operation result (with ``bulkId``
    filled in), or None to leave the operation out of the response. Users
    not in ``answers`` are created normally.
    """

    def handle(request: httpx.Request, document: dict[str, Any]) -> httpx.Response:
        results = []
        for operation in document["Operations"]:
            name = operation["data"]["userName"]
            if name not in answers:
                results.append(server.bulk_operation_result(operation))
                continue
            answer = answers[name]
            if answer is None:
                continue
            results.append({"method": "POST", "bulkId": operation["bulkId"], **answer})
        if reverse:
            results.reverse()
        return bulk_response(results)

    server.bulk_handler = handle


def names_in(call) -> list[str]:
    return [operation["data"]["userName"] for operation in bulk_operations_of(call)]


# ---------------------------------------------------------------- request shape


async def test_bulk_request_carries_every_user(server):
    names = user_names(3)
    run, _ = make_run(bulk_plan(names))

    result = await run_to_end(run)

    bulk_calls = server.calls_of("bulk")
    assert len(bulk_calls) == 1
    document = json.loads(bulk_calls[0].request.content)
    assert document["schemas"] == [BULK_REQUEST_SCHEMA]
    operations = document["Operations"]
    assert [operation["method"] for operation in operations] == ["POST"] * 3
    assert [operation["path"] for operation in operations] == ["/Users"] * 3
    assert [operation["data"] for operation in operations] == [json.loads(encode_user(user)) for user in make_users(names)]
    assert len({operation["bulkId"] for operation in operations}) == 3
    assert server.calls_of("create") == []
    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 3
    assert [entry.resource_id for entry in result.results] == [server.users[name]["id"] for name in names]


async def test_bulk_ids_unique_across_requests(server):
    names = user_names(7)
    state = {"first": True}
    default = server.bulk_handler

    def handle(request, document):
        if state["first"]:
            state["first"] = False
            return httpx.Response(429, json=scim_error(429, "slow down"), headers={"Retry-After": "0"})
        return default(request, document)

    server.bulk_handler = handle
    run, _ = make_run(bulk_plan(names, batch_size=3))

    result = await run_to_end(run)

    bulk_ids = [operation["bulkId"] for call in server.calls_of("bulk") for operation in bulk_operations_of(call)]
    assert len(server.calls_of("bulk")) == 4
    assert len(bulk_ids) == 10
    assert len(set(bulk_ids)) == len(bulk_ids)
    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 7


async def test_bulk_bodies_respect_max_payload_size(server):
    names = user_names(12)
    run, _ = make_run(bulk_plan(names, batch_size=100, max_payload_size=700))

    result = await run_to_end(run)

    sizes = [len(call.request.content) for call in server.calls_of("bulk")]
    assert len(sizes) > 1
    assert all(size <= 700 for size in sizes)
    assert sum(len(bulk_operations_of(call)) for call in server.calls_of("bulk")) == 12
    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 12


# ---------------------------------------------------------------- matching results


async def test_results_matched_by_bulk_id(server):
    names = user_names(4)
    server.add_user(names[1])
    answer_each(server, {names[2]: {"status": "400", "response": scim_error(400, "bad title", "invalidValue")}}, reverse=True)
    run, _ = make_run(bulk_plan(names))

    result = await run_to_end(run)

    outcomes = {entry.user_name: entry for entry in result.results}
    assert outcomes[names[0]].outcome is Outcome.CREATED
    assert outcomes[names[0]].resource_id == server.users[names[0]]["id"]
    assert outcomes[names[1]].outcome is Outcome.EXISTED
    assert outcomes[names[1]].resource_id == server.users[names[1]]["id"]
    assert outcomes[names[2]].outcome is Outcome.FAILED
    assert outcomes[names[2]].detail == "bad title"
    assert outcomes[names[3]].outcome is Outcome.CREATED
    assert outcomes[names[3]].resource_id == server.users[names[3]]["id"]


@pytest.mark.parametrize(
    "status",
    ["201", 201, {"code": "201"}, {"code": 201}, "201 Created", "HTTP/1.1 201 Created", 201.0],
    ids=["string", "integer", "code-string", "code-integer", "reason-phrase", "status-line", "float"],
)
async def test_status_encodings_read(server, status):
    names = user_names(2)
    answers = {
        name: {"status": status, "location": f"{USERS_URL}/id-for-{index}"} for index, name in enumerate(names)
    }
    answer_each(server, answers, reverse=True)
    run, _ = make_run(bulk_plan(names))

    result = await run_to_end(run)

    assert [entry.outcome for entry in result.results] == [Outcome.CREATED, Outcome.CREATED]
    assert [entry.resource_id for entry in result.results] == ["id-for-0", "id-for-1"]


@pytest.mark.parametrize(
    "answer",
    [
        {"status": "200", "response": {"id": "from-response"}},
        {"status": "202", "location": f"{USERS_URL}/from-response"},
        {"status": "204", "response": {"meta": {"location": f"{USERS_URL}/from-response"}}},
    ],
    ids=["200-response-id", "202-location", "204-meta-location"],
)
async def test_any_identifying_2xx_is_created(server, answer):
    name = user_names(1)[0]
    answer_each(server, {name: answer})
    run, _ = make_run(bulk_plan([name]))

    result = await run_to_end(run)

    assert result.results[0].outcome is Outcome.CREATED
    assert result.results[0].resource_id == "from-response"
    assert server.calls_of("lookup") == []


async def test_unidentified_2xx_leads_to_lookup(server):
    names = user_names(2)
    stored = server.add_user(names[0])
    answer_each(server, {names[0]: {"status": "201"}})
    run, _ = make_run(bulk_plan(names))

    result = await run_to_end(run)

    assert server.sequence(names[0]) == ["lookup"]
    assert result.results[0].outcome is Outcome.CREATED
    assert result.results[0].resource_id == stored["id"]
    assert len(server.calls_of("bulk")) == 1


async def test_unknown_and_repeated_bulk_ids_ignored(server):
    names = user_names(2)

    def handle(request, document):
        results = [server.bulk_operation_result(operation) for operation in document["Operations"]]
        first = document["Operations"][0]["bulkId"]
        results.append({"method": "POST", "bulkId": first, "status": "400", "response": scim_error(400, "late duplicate")})
        results.append({"method": "POST", "bulkId": "not-ours", "status": "400"})
        results.append({"method": "POST", "status": "400"})
        results.append("not an object")
        return bulk_response(results)

    server.bulk_handler = handle
    run, _ = make_run(bulk_plan(names))

    result = await run_to_end(run)

    assert [entry.outcome for entry in result.results] == [Outcome.CREATED, Outcome.CREATED]


# ---------------------------------------------------------------- missing and failed operations


async def test_missing_operations_requeued(server):
    names = user_names(4)
    # A server that stops at failOnErrors=1 leaves out everything after the first error.
    answer_each(server, {names[1]: {"status": "400", "response": scim_error(400, "bad phone")}, names[2]: None, names[3]: None})
    run, _ = make_run(bulk_plan(names))

    first_handler = server.bulk_handler
    calls = {"count": 0}

    def once_then_default(request, document):
        calls["count"] += 1
        if calls["count"] == 1:
            return first_handler(request, document)
        return bulk_response([server.bulk_operation_result(operation) for operation in document["Operations"]])

    server.bulk_handler = once_then_default
    result = await run_to_end(run)

    bulk_calls = server.calls_of("bulk")
    assert len(bulk_calls) == 2
    assert names_in(bulk_calls[1]) == [names[2], names[3]]
    outcomes = {entry.user_name: entry for entry in result.results}
    assert outcomes[names[0]].outcome is Outcome.CREATED
    assert outcomes[names[1]].outcome is Outcome.FAILED
    assert outcomes[names[1]].status == 400
    assert outcomes[names[2]].outcome is Outcome.CREATED
    assert outcomes[names[3]].outcome is Outcome.CREATED
    # The operations the server never processed cost no attempt.
    assert outcomes[names[2]].attempts == 1
    assert outcomes[names[3]].attempts == 1


async def test_empty_bulk_response_requeues_all(server):
    names = user_names(3)
    calls = {"count": 0}

    def handle(request, document):
        calls["count"] += 1
        if calls["count"] == 1:
            return bulk_response([])
        return bulk_response([server.bulk_operation_result(operation) for operation in document["Operations"]])

    server.bulk_handler = handle
    run, _ = make_run(bulk_plan(names))

    result = await run_to_end(run)

    assert len(server.calls_of("bulk")) == 2
    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 3


async def test_missing_operations_never_answered_fail_after_budget(server):
    names = user_names(2)
    server.bulk_handler = lambda request, document: bulk_response([])
    run, _ = make_run(bulk_plan(names), settings=fast_settings(max_attempts=3))

    result = await run_to_end(run)

    assert len(server.calls_of("bulk")) == 3
    assert [entry.outcome for entry in result.results] == [Outcome.FAILED, Outcome.FAILED]
    assert all("missing from the Bulk response" in entry.detail for entry in result.results)


async def test_operation_409_recorded_as_existed(server):
    names = user_names(2)
    existing = server.add_user(names[1])
    run, _ = make_run(bulk_plan(names))

    result = await run_to_end(run)

    assert result.results[1].outcome is Outcome.EXISTED
    assert result.results[1].resource_id == existing["id"]
    assert server.sequence(names[1]) == ["lookup"]


async def test_operation_409_lookup_miss_fails(server):
    names = user_names(1)
    answer_each(server, {names[0]: {"status": "409", "response": scim_error(409, "email taken")}})
    run, _ = make_run(bulk_plan(names))

    result = await run_to_end(run)

    assert result.results[0].outcome is Outcome.FAILED
    assert result.results[0].status == 409
    assert "no user with this userName was found" in result.results[0].detail


async def test_operation_4xx_fails_with_details(server):
    names = user_names(2)
    answer_each(server, {names[0]: {"status": {"code": "400"}, "response": scim_error(400, "bad manager", "invalidValue")}})
    run, _ = make_run(bulk_plan(names))

    result = await run_to_end(run)

    failed = result.results[0]
    assert failed.outcome is Outcome.FAILED
    assert failed.status == 400
    assert failed.scim_type == "invalidValue"
    assert failed.detail == "bad manager"
    assert failed.retriable is False
    assert result.results[1].outcome is Outcome.CREATED
    assert len(server.calls_of("bulk")) == 1


@pytest.mark.parametrize("status", ["500", "503", 408, "garbage"])
async def test_uncertain_operation_looked_up_before_resend(server, status):
    names = user_names(2)
    answer_each(server, {names[0]: {"status": status}})
    run, _ = make_run(bulk_plan(names))

    result = await run_to_end(run)

    assert server.sequence(names[0]) == ["lookup", "create"]
    assert result.results[0].outcome is Outcome.CREATED
    assert len(server.calls_of("bulk")) == 1


async def test_uncertain_operation_stored_not_sent_again(server):
    names = user_names(1)

    def handle(request, document):
        operation = document["Operations"][0]
        server.add_user(operation["data"]["userName"])
        return bulk_response([{"method": "POST", "bulkId": operation["bulkId"], "status": "500"}])

    server.bulk_handler = handle
    run, _ = make_run(bulk_plan(names))

    result = await run_to_end(run)

    assert server.sequence(names[0]) == ["lookup"]
    assert result.results[0].outcome is Outcome.CREATED


async def test_operation_429_regrouped_into_bulk(server):
    names = user_names(3)
    calls = {"count": 0}

    def handle(request, document):
        calls["count"] += 1
        results = []
        for operation in document["Operations"]:
            if calls["count"] == 1 and operation["data"]["userName"] == names[1]:
                results.append({"method": "POST", "bulkId": operation["bulkId"], "status": "429"})
            else:
                results.append(server.bulk_operation_result(operation))
        return bulk_response(results)

    server.bulk_handler = handle
    run, _ = make_run(bulk_plan(names))

    result = await run_to_end(run)

    bulk_calls = server.calls_of("bulk")
    assert len(bulk_calls) == 2
    assert names_in(bulk_calls[1]) == [names[1]]
    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 3


# ---------------------------------------------------------------- whole-request statuses


async def test_413_splits_batch_in_halves(server):
    names = user_names(4)
    default = server.bulk_handler

    def handle(request, document):
        if len(document["Operations"]) > 2:
            return httpx.Response(413, json=scim_error(413, "too large", "tooLarge"))
        return default(request, document)

    server.bulk_handler = handle
    run, events = make_run(bulk_plan(names))

    result = await run_to_end(run)

    bulk_calls = server.calls_of("bulk")
    assert [len(bulk_operations_of(call)) for call in bulk_calls] == [4, 2, 2]
    assert names_in(bulk_calls[1]) == names[:2]
    assert names_in(bulk_calls[2]) == names[2:]
    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 4
    assert [entry.attempts for entry in result.results] == [1] * 4
    split = of_type(events, ev.BatchSplit)
    assert len(split) == 1
    assert split[0].operations == 4
    assert split[0].batch == 1


async def test_413_single_operation_goes_alone(server):
    names = user_names(4)
    big = names[1]
    default = server.bulk_handler

    def handle(request, document):
        if big in [operation["data"]["userName"] for operation in document["Operations"]]:
            return httpx.Response(413, json=scim_error(413, "too large"))
        return default(request, document)

    server.bulk_handler = handle
    run, _ = make_run(bulk_plan(names))

    result = await run_to_end(run)

    sizes = [len(bulk_operations_of(call)) for call in server.calls_of("bulk")]
    assert sizes[:2] == [4, 2]
    assert sorted(sizes) == [1, 1, 2, 2, 4]
    outcomes = {entry.user_name: entry for entry in result.results}
    # bulk.maxPayloadSize does not limit POST /Users, so the user is created on its own.
    assert [call.user_name for call in server.calls_of("create")] == [big]
    assert outcomes[big].outcome is Outcome.CREATED
    assert all(outcomes[name].outcome is Outcome.CREATED for name in names)


async def test_bulk_request_429_backs_off_and_resends(server):
    names = user_names(3)
    calls = {"count": 0}
    default = server.bulk_handler

    def handle(request, document):
        calls["count"] += 1
        if calls["count"] == 1:
            return httpx.Response(429, json={"message": "Retry the request in [0] seconds", "code": "too.many.requests.retry.after"}, headers={"Retry-After": "0"})
        return default(request, document)

    server.bulk_handler = handle
    run, events = make_run(bulk_plan(names))

    result = await run_to_end(run)

    bulk_calls = server.calls_of("bulk")
    assert len(bulk_calls) == 2
    assert names_in(bulk_calls[1]) == names
    assert len(of_type(events, ev.BackoffStarted)) == 1
    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 3
    assert server.calls_of("lookup") == []


async def test_bulk_request_5xx_looks_users_up(server):
    names = user_names(2)
    calls = {"count": 0}
    default = server.bulk_handler

    def handle(request, document):
        calls["count"] += 1
        if calls["count"] == 1:
            # The server stored the first user, then failed.
            server.add_user(names[0])
            return httpx.Response(502, text="bad gateway")
        return default(request, document)

    server.bulk_handler = handle
    run, _ = make_run(bulk_plan(names))

    result = await run_to_end(run)

    assert server.sequence(names[0]) == ["lookup"]
    assert server.sequence(names[1]) == ["lookup", "create"]
    assert [entry.outcome for entry in result.results] == [Outcome.CREATED, Outcome.CREATED]


async def test_bulk_request_400_fails_every_user(server):
    names = user_names(3)
    server.bulk_handler = lambda request, document: httpx.Response(400, json=scim_error(400, "invalid bulk", "invalidSyntax"))
    run, _ = make_run(bulk_plan(names))

    result = await run_to_end(run)

    assert [entry.outcome for entry in result.results] == [Outcome.FAILED] * 3
    assert all(entry.status == 400 and entry.scim_type == "invalidSyntax" for entry in result.results)
    assert len(server.calls_of("bulk")) == 1


async def test_bulk_transport_error_looks_users_up(server):
    names = user_names(2)
    calls = {"count": 0}
    default = server.bulk_handler

    def handle(request, document):
        calls["count"] += 1
        if calls["count"] == 1:
            raise httpx.ReadTimeout("timed out")
        return default(request, document)

    server.bulk_handler = handle
    run, _ = make_run(bulk_plan(names))

    result = await run_to_end(run)

    assert server.sequence(names[0]) == ["lookup", "create"]
    assert server.sequence(names[1]) == ["lookup", "create"]
    assert [entry.outcome for entry in result.results] == [Outcome.CREATED, Outcome.CREATED]


# ---------------------------------------------------------------- one result per user


async def test_bulk_every_user_gets_one_result(server):
    names = user_names(9)
    server.add_user(names[4])
    answer_each(
        server,
        {
            names[1]: {"status": "400", "response": scim_error(400, "bad")},
            names[2]: {"status": "201"},
            names[7]: {"status": "503"},
        },
        reverse=True,
    )
    plan = bulk_plan(names, batch_size=4)
    run, events = make_run(plan, settings=fast_settings(concurrency=2))

    result = await run_to_end(run)

    assert [entry.row for entry in result.results] == [user.row for user in plan.users()]
    assert len({entry.row for entry in result.results}) == 9
    counts = Counter(str(entry.outcome) for entry in result.results)
    assert counts == {"created": 7, "existed": 1, "failed": 1}
    assert result.snapshot.counts == dict(counts)
    assert sorted(event.batch for event in of_type(events, ev.BatchFinished)) == [1, 2, 3]
    started = of_type(events, ev.RunStarted)[0]
    assert started.mode == "bulk"
    assert started.batches == 3


# ---------------------------------------------------------------- stops in the middle of a response


async def test_credentials_stop_keeps_returned_results(server):
    names = user_names(2)
    server.add_user(names[0])
    server.script("lookup", names[0], Act(401), Act(401))
    run, _ = make_run(bulk_plan(names), target=RefreshableTarget())

    result = await run_to_end(run)

    assert "401" in result.stop_reason
    assert result.results[0].outcome is Outcome.NOT_ATTEMPTED
    # The server created the second user and reported it in the same Bulk response.
    assert result.results[1].outcome is Outcome.CREATED
    assert result.results[1].resource_id == server.users[names[1]]["id"]


async def test_bulk_403_counts_once_toward_streak(server):
    names = user_names(3)
    server.bulk_handler = lambda request, document: httpx.Response(403, json=scim_error(403, "forbidden"))
    run, events = make_run(bulk_plan(names), settings=fast_settings(permission_error_streak=3))
    forbidden_at_message: list[int] = []

    def note_message(event):
        if isinstance(event, ev.RunMessage):
            forbidden_at_message.append(run.snapshot().requests_by_status.get("403", 0))

    run.add_listener(note_message)
    task = asyncio.create_task(run.run())
    try:
        await wait_until(lambda: task.done() or run.paused)
    finally:
        run.cancel()
        await asyncio.wait_for(task, 10)

    # Whenever the run announced a 403 streak, at least that many responses were 403.
    assert all(count >= 3 for count in forbidden_at_message)


async def test_in_doubt_users_looked_up_outside_bulk(server):
    names = user_names(3)
    stored = server.add_user(names[1])
    run, _ = make_run(bulk_plan(names), in_doubt={3: None})

    result = await run_to_end(run)

    assert server.sequence(names[1]) == ["lookup"]
    assert [names_in(call) for call in server.calls_of("bulk")] == [[names[0], names[2]]]
    assert result.results[1].outcome is Outcome.EXISTED
    assert result.results[1].resource_id == stored["id"]
    assert [result.results[0].outcome, result.results[2].outcome] == [Outcome.CREATED, Outcome.CREATED]
