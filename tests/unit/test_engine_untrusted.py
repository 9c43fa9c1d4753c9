"""Server responses are untrusted input: odd bodies become errors for one user, never a crashed run."""

from __future__ import annotations

import pytest

from scim_tui.engine.outcomes import Outcome
from tests.unit.test_engine_support import Act, FakeScimServer, fast_settings, make_plan, make_run, run_to_end, serve

ALICE = "alice@example.test"
BOB = "bob@example.test"


@pytest.fixture
def server():
    fake = FakeScimServer()
    with serve(fake):
        yield fake


async def test_html_error_page_becomes_detail(server):
    page = b"<html><body><h1>400 Bad Request</h1>[/] [bold]proxy says no</body></html>"
    server.script("create", ALICE, Act(400, content=page, headers={"Content-Type": "text/html"}))
    run, _ = make_run(make_plan([ALICE, BOB]))

    result = await run_to_end(run)

    alice, bob = result.results
    assert alice.outcome is Outcome.FAILED
    assert alice.status == 400
    assert "proxy says no" in alice.detail
    assert bob.outcome is Outcome.CREATED


async def test_oversized_response_is_capped(server):
    huge = b'{"detail": "' + b"x" * 20_000 + b'"}'
    server.script("create", ALICE, Act(201, store=True, content=huge, headers={"Content-Type": "application/scim+json"}))
    run, _ = make_run(make_plan([ALICE, BOB]), settings=fast_settings(max_response_bytes=4096))

    result = await run_to_end(run)

    alice, bob = result.results
    # The create may have been stored, so the user is looked up, not sent again.
    assert server.sequence(ALICE) == ["create", "lookup"]
    assert alice.outcome is Outcome.CREATED
    assert bob.outcome is Outcome.CREATED
    assert result.snapshot.requests_by_status["transport error"] == 1


async def test_garbage_json_on_500_is_retried(server):
    server.script("create", ALICE, Act(500, content=b"{not json", headers={"Content-Type": "application/json"}))
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert server.sequence(ALICE) == ["create", "lookup", "create"]
    assert result.results[0].outcome is Outcome.CREATED


async def test_binary_error_body_is_readable(server):
    server.script("create", ALICE, Act(422, content=bytes(range(256)), headers={"Content-Type": "application/octet-stream"}))
    run, _ = make_run(make_plan([ALICE]))

    result = await run_to_end(run)

    assert result.results[0].outcome is Outcome.FAILED
    assert result.results[0].status == 422
    assert isinstance(result.results[0].detail, str)


class BrokenRecorder:
    """A journal on a full disk: the record before a send cannot be made."""

    def users_sending(self, rows: list[int]) -> None:
        from scim_tui.engine.run import RecorderFailed

        raise RecorderFailed("database or disk is full")

    def user_finished(self, result) -> None:
        pass


async def test_recorder_failure_stops_before_sending(server):
    run, _ = make_run(make_plan([ALICE, BOB]), recorder=BrokenRecorder())

    result = await run_to_end(run)

    assert server.calls == []
    assert [user.outcome for user in result.results] == [Outcome.NOT_ATTEMPTED, Outcome.NOT_ATTEMPTED]
    assert "disk is full" in result.stop_reason
    assert all(user.attempts == 0 for user in result.results)


async def test_client_ignores_set_cookie():
    import httpx

    from scim_tui.engine.settings import RunSettings
    from scim_tui.engine.transport import build_client

    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"Set-Cookie": "session=abc; Path=/"}, json={})

    async with build_client(RunSettings(), transport=httpx.MockTransport(handler)) as client:
        await client.get("http://127.0.0.1:9/scim/v2/Users")
        await client.get("http://127.0.0.1:9/scim/v2/Users")

    assert seen == [None, None]
