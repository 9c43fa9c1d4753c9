"""Unit tests of the client-credentials token cache against a mocked token endpoint."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

import httpx
from pydantic import SecretStr
import pytest
import respx

from scim_tui.targets.base import CredentialsRejected
from scim_tui.targets.oauth import (
    ClientCredentialsAuth,
    TokenRequestFailed,
    bearer_token,
    refresh_margin,
)

TOKEN_URL = "https://login.mypurecloud.ie/oauth/token"
CLIENT_ID = "3f1c9a2e-7b4d-4e8a-9c61-0d2f5b8e4a17"
SECRET = "Zx9-q_Lm2+/pW8vT="
# base64("3f1c9a2e-7b4d-4e8a-9c61-0d2f5b8e4a17:Zx9-q_Lm2+/pW8vT="), computed once by hand.
EXPECTED_BASIC = "Basic M2YxYzlhMmUtN2I0ZC00ZThhLTljNjEtMGQyZjViOGU0YTE3Olp4OS1xX0xtMisvcFc4dlQ9"


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def token_response(token: str, expires_in: object = 3600) -> httpx.Response:
    return httpx.Response(200, json={"access_token": token, "token_type": "bearer", "expires_in": expires_in})


def numbered_tokens():
    """Side effect that issues token-1, token-2, ... one per request."""
    issued = 0

    def issue(request: httpx.Request) -> httpx.Response:
        nonlocal issued
        issued += 1
        return token_response(f"token-{issued}")

    return issue


def make_auth(clock: FakeClock | None = None, sleep: RecordingSleep | None = None, **kwargs) -> ClientCredentialsAuth:
    return ClientCredentialsAuth(
        TOKEN_URL,
        CLIENT_ID,
        SecretStr(SECRET),
        clock=clock or FakeClock(),
        sleep=sleep or RecordingSleep(),
        **kwargs,
    )


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as http_client:
        yield http_client


@respx.mock
async def test_token_request_format(client):
    route = respx.post(TOKEN_URL).mock(return_value=token_response("abc"))
    auth = make_auth()

    headers = await auth.headers(client)

    assert headers == {"Authorization": "Bearer abc"}
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == TOKEN_URL
    assert request.headers["Authorization"] == EXPECTED_BASIC
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.content == b"grant_type=client_credentials"
    assert parse_qs(request.content.decode()) == {"grant_type": ["client_credentials"]}


@respx.mock
async def test_token_request_overrides_client_content_type():
    route = respx.post(TOKEN_URL).mock(return_value=token_response("abc"))
    auth = make_auth()

    async with httpx.AsyncClient(headers={"Content-Type": "application/scim+json"}) as scim_client:
        await auth.headers(scim_client)

    assert route.calls.last.request.headers["Content-Type"] == "application/x-www-form-urlencoded"


@respx.mock
async def test_token_cached_until_refresh_margin(client):
    route = respx.post(TOKEN_URL).mock(side_effect=numbered_tokens())
    clock = FakeClock(1000.0)
    reasons: list[tuple[str, float | None]] = []
    auth = make_auth(clock, on_refresh=lambda reason, expires_in: reasons.append((reason, expires_in)))

    assert (await auth.access_token(client)).get_secret_value() == "token-1"

    # 3600 s lifetime: the margin is 300 s, so the token is replaced at 1000 + 3300.
    clock.now = 1000.0 + 3299.9
    assert (await auth.access_token(client)).get_secret_value() == "token-1"
    assert route.call_count == 1

    clock.now = 1000.0 + 3300.0
    assert (await auth.access_token(client)).get_secret_value() == "token-2"
    assert route.call_count == 2
    assert reasons == [("initial", 3600.0), ("expiring", 3600.0)]


@respx.mock
async def test_expires_in_reports_remaining_lifetime(client):
    respx.post(TOKEN_URL).mock(return_value=token_response("abc", expires_in=600))
    clock = FakeClock(50.0)
    auth = make_auth(clock)

    assert auth.expires_in() is None
    await auth.access_token(client)
    clock.now = 150.0

    assert auth.expires_in() == pytest.approx(500.0)


@pytest.mark.parametrize(
    ("lifetime", "margin"),
    [
        (172_800, 300.0),
        (86_400, 300.0),
        (3_600, 300.0),
        (300, 30.0),
        (60, 6.0),
        (20, 5.0),
        (8, 4.0),
        (1, 0.5),
    ],
)
def test_refresh_margin(lifetime, margin):
    assert refresh_margin(lifetime) == pytest.approx(margin)


@respx.mock
async def test_short_lifetime_token_still_reused(client):
    route = respx.post(TOKEN_URL).mock(side_effect=lambda request: token_response("short", expires_in=4))
    clock = FakeClock(0.0)
    auth = make_auth(clock)

    await auth.access_token(client)
    clock.now = 1.9
    await auth.access_token(client)

    assert route.call_count == 1


@respx.mock
async def test_expires_in_as_string_accepted(client):
    respx.post(TOKEN_URL).mock(return_value=token_response("abc", expires_in="86399"))
    reasons: list[tuple[str, float | None]] = []
    auth = make_auth(on_refresh=lambda reason, expires_in: reasons.append((reason, expires_in)))

    await auth.access_token(client)

    assert reasons == [("initial", 86399.0)]


@respx.mock
async def test_missing_expires_in_keeps_token(client):
    route = respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json={"access_token": "forever"}))
    clock = FakeClock(0.0)
    reasons: list[tuple[str, float | None]] = []
    auth = make_auth(clock, on_refresh=lambda reason, expires_in: reasons.append((reason, expires_in)))

    await auth.access_token(client)
    clock.now = 10_000_000.0
    await auth.access_token(client)

    assert route.call_count == 1
    assert reasons == [("initial", None)]


@pytest.mark.parametrize("expires_in", [0, -5, "soon", True, None])
@respx.mock
async def test_invalid_expires_in_rejected(client, expires_in):
    respx.post(TOKEN_URL).mock(return_value=token_response("abc", expires_in=expires_in))
    auth = make_auth()

    with pytest.raises(TokenRequestFailed, match="invalid expires_in"):
        await auth.access_token(client)


def _gated_token_endpoint(started: asyncio.Event, release: asyncio.Event, response: httpx.Response):
    async def respond(request: httpx.Request) -> httpx.Response:
        started.set()
        await release.wait()
        return response

    return respond


async def _run_gated(route, calls, response: httpx.Response) -> list[object]:
    """Start every call, hold the token response until all of them are waiting, then release it."""
    started = asyncio.Event()
    release = asyncio.Event()
    route.mock(side_effect=_gated_token_endpoint(started, release, response))

    tasks = [asyncio.create_task(call()) for call in calls]
    await asyncio.wait_for(started.wait(), timeout=5)
    for _ in range(3):
        await asyncio.sleep(0)
    assert not any(task.done() for task in tasks)

    release.set()
    return await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=5)


@respx.mock
async def test_concurrent_callers_share_initial_fetch(client):
    route = respx.post(TOKEN_URL)
    auth = make_auth()

    results = await _run_gated(route, [lambda: auth.headers(client)] * 50, token_response("shared"))

    assert route.call_count == 1
    assert results == [{"Authorization": "Bearer shared"}] * 50


@respx.mock
async def test_concurrent_callers_share_expiry_refresh(client):
    route = respx.post(TOKEN_URL).mock(return_value=token_response("old"))
    clock = FakeClock(0.0)
    auth = make_auth(clock)
    await auth.access_token(client)
    clock.now = 4000.0

    results = await _run_gated(route, [lambda: auth.headers(client)] * 50, token_response("new"))

    assert route.call_count == 2
    assert results == [{"Authorization": "Bearer new"}] * 50
    assert auth.refresh_count == 2


@respx.mock
async def test_invalidate_same_stale_token_once(client):
    route = respx.post(TOKEN_URL).mock(side_effect=numbered_tokens())
    auth = make_auth()
    stale = await auth.access_token(client)

    dropped = [auth.invalidate(stale.get_secret_value()) for _ in range(50)]
    tokens = await asyncio.gather(*(auth.access_token(client) for _ in range(50)))

    assert dropped.count(True) == 1
    assert route.call_count == 2
    assert {token.get_secret_value() for token in tokens} == {"token-2"}


@respx.mock
async def test_concurrent_invalidate_and_refresh_once(client):
    route = respx.post(TOKEN_URL).mock(return_value=token_response("stale"))
    auth = make_auth()
    await auth.access_token(client)

    async def reject_and_fetch() -> str:
        auth.invalidate("stale")
        return (await auth.access_token(client)).get_secret_value()

    results = await _run_gated(route, [reject_and_fetch] * 50, token_response("fresh"))

    assert route.call_count == 2
    assert results == ["fresh"] * 50


@respx.mock
async def test_invalidate_ignores_replaced_token(client):
    route = respx.post(TOKEN_URL).mock(side_effect=numbered_tokens())
    auth = make_auth()
    await auth.access_token(client)
    auth.invalidate("token-1")
    await auth.access_token(client)

    assert auth.invalidate("token-1") is False
    assert auth.invalidate(None) is False
    assert (await auth.access_token(client)).get_secret_value() == "token-2"
    assert route.call_count == 2


@respx.mock
async def test_rejected_refresh_reason(client):
    respx.post(TOKEN_URL).mock(side_effect=numbered_tokens())
    reasons: list[str] = []
    auth = make_auth(on_refresh=lambda reason, expires_in: reasons.append(reason))

    await auth.access_token(client)
    auth.invalidate(SecretStr("token-1"))
    await auth.access_token(client)

    assert reasons == ["initial", "rejected"]


@respx.mock
async def test_failing_listener_keeps_token(client, caplog):
    respx.post(TOKEN_URL).mock(return_value=token_response("abc"))

    def broken_listener(reason: str, expires_in: float | None) -> None:
        raise RuntimeError("listener bug")

    auth = make_auth(on_refresh=broken_listener)

    with caplog.at_level(logging.WARNING, logger="scim_tui.targets.oauth"):
        token = await auth.access_token(client)

    assert token.get_secret_value() == "abc"
    assert "listener" in caplog.text


@respx.mock
async def test_endpoint_401_raises_credentials_rejected(client):
    respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(401, json={"error": "invalid_client", "description": "authentication failed"})
    )
    auth = make_auth()

    with pytest.raises(CredentialsRejected) as caught:
        await auth.access_token(client)

    message = str(caught.value)
    assert "client id or secret rejected by login.mypurecloud.ie" in message
    assert "GENESYS_CLIENT_ID/GENESYS_CLIENT_SECRET" in message
    assert SECRET not in message


@respx.mock
async def test_endpoint_error_echoing_secret_redacted(client):
    respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(401, json={"error": "invalid_client", "error_description": f"bad secret {SECRET}"})
    )
    auth = make_auth()

    with pytest.raises(CredentialsRejected) as caught:
        await auth.access_token(client)

    assert SECRET not in str(caught.value)
    assert "[redacted]" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": "invalid_client"}),
        (400, {"error": "unauthorized_client", "error_description": "grant not allowed"}),
        (403, {"message": "client is disabled"}),
    ],
)
@respx.mock
async def test_endpoint_refusals_raise_credentials_rejected(client, status, body):
    route = respx.post(TOKEN_URL).mock(return_value=httpx.Response(status, json=body))
    auth = make_auth()

    with pytest.raises(CredentialsRejected, match=f"HTTP {status}"):
        await auth.access_token(client)

    assert route.call_count == 1


@respx.mock
async def test_concurrent_callers_share_rejection(client):
    route = respx.post(TOKEN_URL)
    auth = make_auth()

    results = await _run_gated(route, [lambda: auth.headers(client)] * 50, httpx.Response(401))

    assert route.call_count == 1
    assert all(isinstance(result, CredentialsRejected) for result in results)
    assert len({id(result) for result in results}) == 50


@respx.mock
async def test_new_call_after_failure_retries(client):
    route = respx.post(TOKEN_URL).mock(side_effect=[httpx.Response(401), token_response("second")])
    auth = make_auth()

    with pytest.raises(CredentialsRejected):
        await auth.access_token(client)

    assert (await auth.access_token(client)).get_secret_value() == "second"
    assert route.call_count == 2


@respx.mock
async def test_transient_errors_retried(client):
    route = respx.post(TOKEN_URL).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(429, headers={"Retry-After": "7"}),
            token_response("after-retries"),
        ]
    )
    sleep = RecordingSleep()
    auth = make_auth(sleep=sleep)

    token = await auth.access_token(client)

    assert token.get_secret_value() == "after-retries"
    assert route.call_count == 3
    assert sleep.delays == [1.0, 7.0]


@respx.mock
async def test_retry_after_capped(client):
    respx.post(TOKEN_URL).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3600"}), token_response("abc")]
    )
    sleep = RecordingSleep()
    auth = make_auth(sleep=sleep)

    await auth.access_token(client)

    assert sleep.delays == [30.0]


@respx.mock
async def test_retries_bounded_then_fail(client):
    route = respx.post(TOKEN_URL).mock(return_value=httpx.Response(500))
    sleep = RecordingSleep()
    auth = make_auth(sleep=sleep)

    with pytest.raises(TokenRequestFailed) as caught:
        await auth.access_token(client)

    assert route.call_count == 3
    assert sleep.delays == [1.0, 2.0]
    assert caught.value.retriable is True
    assert caught.value.status == 500


@respx.mock
async def test_network_error_retried(client):
    route = respx.post(TOKEN_URL).mock(side_effect=[httpx.ConnectError("connection refused"), token_response("abc")])
    auth = make_auth()

    assert (await auth.access_token(client)).get_secret_value() == "abc"
    assert route.call_count == 2


@respx.mock
async def test_html_answer_not_retried(client):
    route = respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(200, text="<html>sign in</html>", headers={"Content-Type": "text/html"})
    )
    auth = make_auth()

    with pytest.raises(TokenRequestFailed, match="without a JSON object") as caught:
        await auth.access_token(client)

    assert caught.value.retriable is False
    assert route.call_count == 1


@respx.mock
async def test_missing_access_token_fails(client):
    respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json={"expires_in": 3600}))
    auth = make_auth()

    with pytest.raises(TokenRequestFailed, match="no access_token"):
        await auth.access_token(client)


@respx.mock
async def test_redirect_not_followed():
    route = respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(302, headers={"Location": "https://elsewhere.example.com/oauth/token"})
    )
    elsewhere = respx.post("https://elsewhere.example.com/oauth/token").mock(return_value=token_response("abc"))
    auth = make_auth()

    async with httpx.AsyncClient(follow_redirects=True) as redirecting_client:
        with pytest.raises(TokenRequestFailed, match="redirected"):
            await auth.access_token(redirecting_client)

    assert route.call_count == 1
    assert elsewhere.call_count == 0


@respx.mock
async def test_secret_absent_from_logs_and_repr(client, caplog):
    respx.post(TOKEN_URL).mock(
        side_effect=[
            token_response("tok-visible-only-in-headers"),
            httpx.Response(500, json={"message": f"echo {SECRET}"}),
            httpx.Response(401, json={"error_description": f"echo {SECRET}"}),
        ]
    )
    auth = make_auth()

    with caplog.at_level(logging.DEBUG):
        await auth.access_token(client)
        auth.invalidate("tok-visible-only-in-headers")
        with pytest.raises(CredentialsRejected) as caught:
            await auth.access_token(client)

    basic = EXPECTED_BASIC.removeprefix("Basic ")
    for text in (caplog.text, repr(auth), str(auth), str(caught.value)):
        assert SECRET not in text
        assert basic not in text
        assert "tok-visible-only-in-headers" not in text
    assert "token refreshed (initial), expires in 3600 s" in caplog.text


def test_client_id_with_colon_rejected():
    with pytest.raises(ValueError, match="':'"):
        ClientCredentialsAuth(TOKEN_URL, "bad:id", SecretStr(SECRET))


def test_empty_secret_rejected():
    with pytest.raises(ValueError, match="secret is empty"):
        ClientCredentialsAuth(TOKEN_URL, CLIENT_ID, SecretStr(""))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Authorization": "Bearer abc"}, "abc"),
        ({"authorization": "bearer  abc "}, "abc"),
        ({"Authorization": "Basic abc"}, None),
        ({"Authorization": "Bearer "}, None),
        ({}, None),
    ],
)
def test_bearer_token(headers, expected):
    assert bearer_token(headers) == expected


@respx.mock
async def test_cancelled_fetch_not_shared_as_failure(client):
    started = asyncio.Event()
    calls = 0

    async def endpoint(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(401)
        if calls == 2:
            started.set()
            await asyncio.Event().wait()
        return token_response("after-cancel")

    respx.post(TOKEN_URL).mock(side_effect=endpoint)
    auth = make_auth()
    with pytest.raises(CredentialsRejected):
        await auth.access_token(client)

    fetching = asyncio.create_task(auth.access_token(client))
    await asyncio.wait_for(started.wait(), timeout=5)
    waiting = asyncio.create_task(auth.access_token(client))
    await asyncio.sleep(0)
    fetching.cancel()

    token = await asyncio.wait_for(waiting, timeout=5)

    assert token.get_secret_value() == "after-cancel"
    assert calls == 3
