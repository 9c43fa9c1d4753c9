"""ASGI-level behaviour of the simulator that needs no socket: admin access, body limits, dropping."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from scim_tui.simulator.app import SimulatorApp, basic_credentials
from scim_tui.simulator.asgi import ClientDisconnected, close_connection, read_body
from scim_tui.simulator.config import SimulatorConfig


class Recorder:
    """An ASGI send callable that keeps the messages."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)


def body_messages(*chunks: bytes) -> Any:
    pending = [{"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1} for index, chunk in enumerate(chunks)]

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    return receive


def scope(path: str, client: tuple[str, int] = ("127.0.0.1", 5000), method: str = "GET") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "query_string": b"", "headers": [], "client": client}


async def test_admin_rejects_remote_client() -> None:
    app = SimulatorApp(SimulatorConfig(profile="generic"))  # type: ignore[arg-type]
    send = Recorder()

    await app(scope("/_admin/users", client=("192.0.2.10", 5000)), body_messages(b""), send)

    assert send.messages[0]["status"] == 403


async def test_admin_accepts_loopback_client() -> None:
    app = SimulatorApp(SimulatorConfig(profile="generic", preload_count=1))  # type: ignore[arg-type]
    send = Recorder()

    await app(scope("/_admin/users"), body_messages(b""), send)

    assert send.messages[0]["status"] == 200


async def test_read_body_joins_chunks() -> None:
    assert await read_body(body_messages(b"ab", b"cd"), limit=10) == b"abcd"


async def test_read_body_over_limit() -> None:
    assert await read_body(body_messages(b"abc", b"def"), limit=5) is None


async def test_read_body_disconnect() -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    with pytest.raises(ClientDisconnected):
        await read_body(receive, limit=5)


async def test_close_connection_without_transport() -> None:
    assert await close_connection(Recorder()) is False


async def test_genesys_body_limit_is_413() -> None:
    app = SimulatorApp(SimulatorConfig())
    token, _ = app.issue_token()
    request = scope("/api/v2/scim/v2/users", method="POST")
    request["headers"] = [(b"authorization", f"Bearer {token}".encode())]
    send = Recorder()

    await app(request, body_messages(b"x" * 512_001), send)

    assert send.messages[0]["status"] == 413


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Basic " + base64.b64encode(b"id:se:cret").decode(), ("id", "se:cret")),
        ("basic " + base64.b64encode(b"id:").decode(), ("id", "")),
        ("Basic " + base64.b64encode(b"no-colon").decode(), (None, None)),
        ("Basic !!!", (None, None)),
        ("Bearer abc", (None, None)),
        (None, (None, None)),
    ],
)
def testbasic_credentials(header: str | None, expected: tuple[str | None, str | None]) -> None:
    assert basic_credentials(header) == expected


async def test_token_with_non_ascii_secret_is_401() -> None:
    app = SimulatorApp(SimulatorConfig())
    request = scope("/oauth/token", method="POST")
    credentials = base64.b64encode(f"{app.config.client_id}:sécret".encode()).decode()
    request["headers"] = [(b"authorization", f"Basic {credentials}".encode())]
    send = Recorder()

    await app(request, body_messages(b"grant_type=client_credentials"), send)

    assert send.messages[0]["status"] == 401


async def test_expired_tokens_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scim_tui.simulator.app.MAX_TOKENS", 3)
    app = SimulatorApp(SimulatorConfig(token_lifetime=0.001))
    for _ in range(3):
        app.issue_token()
    app.tokens = {token: 0.0 for token in app.tokens}

    app.issue_token()

    assert len(app.tokens) == 1
