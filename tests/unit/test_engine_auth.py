"""Unit tests of how the submitter handles 401: one refresh and one more try, then a clear stop."""

from __future__ import annotations

import asyncio

import httpx
from pydantic import SecretStr
import pytest

from scim_tui.engine import events as ev
from scim_tui.engine.outcomes import Outcome
from scim_tui.targets.generic import GenericTarget
from scim_tui.targets.oauth import TokenRequestFailed
from tests.unit.test_engine_support import (
    BASE_URL,
    Act,
    FakeScimServer,
    RefreshableTarget,
    fast_settings,
    make_plan,
    make_run,
    of_type,
    run_to_end,
    serve,
    user_names,
)


@pytest.fixture
def server():
    fake = FakeScimServer()
    with serve(fake):
        yield fake


async def test_401_refreshes_once_and_retries(server):
    names = user_names(2)
    server.script("create", names[0], Act(401))
    target = RefreshableTarget()
    run, events = make_run(make_plan(names), target=target)

    result = await run_to_end(run)

    assert [entry.outcome for entry in result.results] == [Outcome.CREATED, Outcome.CREATED]
    assert target.refreshes == 1
    assert [call.authorization for call in server.calls_of("create", names[0])] == ["Bearer token-1", "Bearer token-2"]
    assert server.calls_of("create", names[1])[0].authorization == "Bearer token-2"
    assert len(of_type(events, ev.CredentialsRefreshed)) == 1
    assert result.stop_reason is None
    # A 401 means nothing was stored, so no lookup is needed.
    assert server.calls_of("lookup") == []


async def test_401_apart_refreshes_each_time(server):
    names = user_names(3)
    server.script("create", names[0], Act(401))
    server.script("create", names[2], Act(401))
    target = RefreshableTarget()
    run, _ = make_run(make_plan(names), target=target)

    result = await run_to_end(run)

    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 3
    assert target.refreshes == 2
    assert result.stop_reason is None


async def test_second_401_stops_run(server):
    names = user_names(4)
    server.script("create", names[0], Act(401), Act(401))
    target = RefreshableTarget()
    run, events = make_run(make_plan(names), target=target)

    result = await run_to_end(run)

    assert result.cancelled is True
    assert result.stop_reason is not None
    assert "401" in result.stop_reason
    assert "credentials" in result.stop_reason
    assert [entry.outcome for entry in result.results] == [Outcome.NOT_ATTEMPTED] * 4
    assert all(entry.detail and "401" in entry.detail for entry in result.results)
    assert target.refreshes == 1
    assert len(server.calls) == 2
    messages = of_type(events, ev.RunMessage)
    assert len(messages) == 1
    assert messages[0].level == "error"
    assert "401" in messages[0].text
    finished = of_type(events, ev.RunFinished)
    assert finished[0].cancelled is True
    assert finished[0].not_attempted == 4


async def test_second_401_keeps_finished_users(server):
    names = user_names(4)
    server.script("create", names[2], Act(401), Act(401))
    run, _ = make_run(make_plan(names), target=RefreshableTarget())

    result = await run_to_end(run)

    assert [entry.outcome for entry in result.results] == [
        Outcome.CREATED, Outcome.CREATED, Outcome.NOT_ATTEMPTED, Outcome.NOT_ATTEMPTED,
    ]
    assert server.calls_of("create", names[3]) == []


async def test_401_with_static_token_stops_run(server):
    names = user_names(2)
    server.script("create", names[0], Act(401))
    target = GenericTarget(BASE_URL, SecretStr("static-token-value"))
    run, _ = make_run(make_plan(names), target=target)

    result = await run_to_end(run)

    assert len(server.calls) == 1
    assert result.stop_reason is not None
    assert "401" in result.stop_reason
    assert [entry.outcome for entry in result.results] == [Outcome.NOT_ATTEMPTED] * 2


async def test_second_401_on_lookup_stops_run(server):
    names = user_names(2)
    server.script("create", names[0], Act(503))
    server.script("lookup", names[0], Act(401), Act(401))
    run, _ = make_run(make_plan(names), target=RefreshableTarget())

    result = await run_to_end(run)

    assert server.sequence(names[0]) == ["create", "lookup", "lookup"]
    assert "401" in result.stop_reason
    assert result.results[0].outcome is Outcome.NOT_ATTEMPTED
    # The first create may have been stored, so its detail asks a rerun for a lookup first.
    assert "looks the user up first" in result.results[0].detail
    # The second user was sent while the first one waited for its retry.
    assert result.results[1].outcome is Outcome.CREATED


class FailingRefreshTarget(RefreshableTarget):
    """A target whose token endpoint is down once when the engine requests a new token."""

    def __init__(self) -> None:
        super().__init__()
        self.failures_left = 1

    async def refresh_credentials(self, client: httpx.AsyncClient, rejected_headers: dict[str, str]) -> bool:
        if self.failures_left:
            self.failures_left -= 1
            raise TokenRequestFailed("token endpoint answered 503", status=503, retriable=True)
        return await super().refresh_credentials(client, rejected_headers)


async def test_refresh_failure_still_gives_results(server):
    names = user_names(2)
    server.script("create", names[0], Act(401))
    run, _ = make_run(make_plan(names), target=FailingRefreshTarget())

    result = await asyncio.wait_for(run.run(), 10)

    assert len(result.results) == 2
    assert [entry.outcome for entry in result.results] == [Outcome.CREATED, Outcome.CREATED]


async def test_credentials_refreshed_event_has_no_token(server):
    server.script("create", "user001@example.test", Act(401))
    run, events = make_run(make_plan(user_names(1)), target=RefreshableTarget())

    await run_to_end(run)

    refreshed = of_type(events, ev.CredentialsRefreshed)
    assert len(refreshed) == 1
    assert "token-" not in repr(refreshed[0])
    assert refreshed[0].reason == "rejected"
    assert refreshed[0].expires_in == 3600.0


async def test_concurrent_401_stop_leaves_one_result_each(server):
    names = user_names(6)
    server.default_create = lambda name: Act(401)
    run, _ = make_run(make_plan(names), target=RefreshableTarget(), settings=fast_settings(concurrency=3))

    result = await run_to_end(run)

    assert len(result.results) == 6
    assert {entry.row for entry in result.results} == {row for row in range(2, 8)}
    assert all(entry.outcome is Outcome.NOT_ATTEMPTED for entry in result.results)
    assert "401" in result.stop_reason
    assert result.snapshot.counts == {"not_attempted": 6}
