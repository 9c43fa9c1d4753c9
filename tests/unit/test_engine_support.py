"""Shared helpers for the engine's unit tests: a scripted in-memory SCIM server behind respx.

The engine tests need a server that behaves like a real one by default
(creates users, returns 409 for a taken userName, serves filters) and that
can be scripted to fail one request at a time. :class:`FakeScimServer`
does both and records every request with its monotonic arrival time, so a
test can assert on the order of requests and on waits. This module contains
no tests. Its name follows the engine test files so that it sits beside them.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
import json
import random
import re
import time
from typing import Any

import httpx
import respx

from scim_tui.engine import events as ev
from scim_tui.engine.plan import Plan, build_plan
from scim_tui.engine.run import ProvisioningRun, RunResult
from scim_tui.engine.settings import RunSettings
from scim_tui.input.records import ValidUser
from scim_tui.targets.base import Target
from scim_tui.targets.generic import GenericTarget

# Loopback with a port nothing listens on: respx intercepts every request, and
# if one ever escaped the mock it could reach nothing.
BASE_URL = "http://127.0.0.1:9/scim/v2"
USERS_URL = f"{BASE_URL}/Users"
BULK_URL = f"{BASE_URL}/Bulk"

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
BULK_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"

# Bound on every run in these tests, so that an engine bug shows up as a failure instead of a hang.
RUN_TIMEOUT = 20.0

_FILTER_VALUE = re.compile(r'^userName eq (".*?(?<!\\)")')


def encode_user(user: ValidUser) -> bytes:
    """Encode a minimal SCIM User, standing in for the real payload encoder."""
    document = {"schemas": [USER_SCHEMA], "userName": user.user_name, "displayName": user.display_name}
    return json.dumps(document, separators=(",", ":")).encode()


def user_names(count: int, prefix: str = "user") -> list[str]:
    return [f"{prefix}{index:03d}@example.test" for index in range(1, count + 1)]


def make_users(names: Iterable[str], first_row: int = 2) -> list[ValidUser]:
    return [
        ValidUser(row=first_row + offset, user_name=name, display_name=f"Display {name.split('@')[0]}")
        for offset, name in enumerate(names)
    ]


def make_plan(
    names: Iterable[str],
    *,
    mode: str = "per-user",
    batch_size: int = 50,
    max_payload_size: int | None = None,
) -> Plan:
    return build_plan(
        make_users(names), mode=mode, batch_size=batch_size, max_payload_size=max_payload_size, encode=encode_user
    )


def fast_settings(**changes: Any) -> RunSettings:
    """Settings with tiny backoff so that retries cost milliseconds."""
    settings = RunSettings(concurrency=1, backoff_base=0.01, backoff_cap=0.05, retry_after_cap=5.0)
    for name, value in changes.items():
        setattr(settings, name, value)
    return settings


class RefreshableTarget(Target):
    """A target whose bearer token changes each time the engine requests new credentials.

    Like the Genesys target, it reports each new token to ``on_refresh``
    with the reason and the lifetime, never the token.
    """

    kind = "test"

    def __init__(self, base_url: str = BASE_URL) -> None:
        super().__init__(base_url)
        self.token_number = 1
        self.refreshes = 0
        self.on_refresh: Callable[[str, float | None], None] | None = None

    async def auth_headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        return {"Authorization": f"Bearer token-{self.token_number}"}

    async def refresh_credentials(self, client: httpx.AsyncClient, rejected_headers: dict[str, str]) -> bool:
        self.refreshes += 1
        self.token_number += 1
        if self.on_refresh is not None:
            self.on_refresh("rejected", 3600.0)
        return True


def make_run(
    plan: Plan,
    *,
    target: Target | None = None,
    settings: RunSettings | None = None,
    **kwargs: Any,
) -> tuple[ProvisioningRun, list[ev.Event]]:
    """Create a run with a seeded random generator and a list that collects its events."""
    run = ProvisioningRun(
        plan,
        target or GenericTarget(BASE_URL),
        settings or fast_settings(),
        rng=random.Random(0),
        **kwargs,
    )
    collected: list[ev.Event] = []
    run.add_listener(collected.append)
    return run, collected


async def run_to_end(run: ProvisioningRun) -> RunResult:
    return await asyncio.wait_for(run.run(), RUN_TIMEOUT)


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``condition`` until it is true, and fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.005)


def of_type(events: list[ev.Event], kind: type) -> list:
    return [event for event in events if isinstance(event, kind)]


def scim_error(status: int, detail: str | None = None, scim_type: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status)}
    if detail is not None:
        document["detail"] = detail
    if scim_type is not None:
        document["scimType"] = scim_type
    return document


@dataclass
class Act:
    """One scripted response to one request.

    ``error`` is raised instead of responding. ``store`` creates the user on
    the server before responding or raising, as a server does when it stores a
    user and then fails to deliver the response. ``body`` (JSON) or ``content``
    (raw bytes) replaces the default body, and ``gate`` delays the response
    until the event is set. A 2xx create without a body returns the resource.
    """

    status: int = 201
    error: Exception | None = None
    store: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    content: bytes | None = None
    gate: asyncio.Event | None = None


@dataclass
class Call:
    """One request the fake server received."""

    at: float
    kind: str
    user_name: str | None
    request: httpx.Request
    in_flight: int

    @property
    def authorization(self) -> str | None:
        return self.request.headers.get("authorization")


class FakeScimServer:
    """A SCIM server in memory: users by userName, scripted failures, recorded calls.

    Without a script, POST /Users creates the user (201 with id and Location)
    or returns 409 when the userName is taken, and GET /Users returns the
    users that match a ``userName eq`` filter. Scripts are consumed one
    Act per request, keyed by request kind and userName.
    """

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.hold: asyncio.Event | None = None
        self.answer_delay = 0.0
        self.bulk_handler: Callable[[httpx.Request, dict[str, Any]], Any] | None = None
        self.default_create: Callable[[str], Act | None] | None = None
        self._scripts: dict[tuple[str, str | None], deque[Act]] = defaultdict(deque)
        self._next_id = 0

    # ---------------------------------------------------------------- scripting

    def script(self, kind: str, user_name: str | None, *acts: Act) -> None:
        self._scripts[(kind, user_name.lower() if user_name else None)].extend(acts)

    def add_user(self, user_name: str, *, created: str | None = None, active: bool = True) -> dict[str, Any]:
        self._next_id += 1
        resource_id = f"id-{self._next_id}"
        resource = {
            "schemas": [USER_SCHEMA],
            "id": resource_id,
            "userName": user_name,
            "active": active,
            "meta": {
                "resourceType": "User",
                "created": created or datetime.now(timezone.utc).isoformat(),
                "location": f"{USERS_URL}/{resource_id}",
            },
        }
        self.users[user_name.lower()] = resource
        return resource

    # ---------------------------------------------------------------- queries

    def calls_of(self, kind: str, user_name: str | None = None) -> list[Call]:
        return [
            call for call in self.calls
            if call.kind == kind and (user_name is None or (call.user_name or "").lower() == user_name.lower())
        ]

    def sequence(self, user_name: str) -> list[str]:
        """Return the kinds of request sent for one user, in order."""
        return [call.kind for call in self.calls if (call.user_name or "").lower() == user_name.lower()]

    # ---------------------------------------------------------------- handling

    async def handle(self, request: httpx.Request) -> httpx.Response:
        kind, user_name = self._classify(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.calls.append(Call(time.monotonic(), kind, user_name, request, self.in_flight))
        try:
            if self.hold is not None:
                await self.hold.wait()
            if self.answer_delay:
                await asyncio.sleep(self.answer_delay)
            return await self._answer(kind, user_name, request)
        finally:
            self.in_flight -= 1

    def _classify(self, request: httpx.Request) -> tuple[str, str | None]:
        path = request.url.path.rstrip("/")
        if request.method == "POST" and path.endswith("/Bulk"):
            return "bulk", None
        if request.method == "POST" and path.lower().endswith("/users"):
            return "create", json.loads(request.content)["userName"]
        if request.method == "GET" and path.lower().endswith("/users"):
            match = _FILTER_VALUE.match(request.url.params.get("filter", ""))
            return "lookup", json.loads(match.group(1)) if match else None
        return "other", None

    async def _answer(self, kind: str, user_name: str | None, request: httpx.Request) -> httpx.Response:
        queue = self._scripts.get((kind, user_name.lower() if user_name else None))
        act = queue.popleft() if queue else None
        if act is None and kind == "create" and self.default_create is not None:
            act = self.default_create(user_name)

        if act is not None:
            if act.gate is not None:
                await act.gate.wait()
            if act.store and user_name and user_name.lower() not in self.users:
                self.add_user(user_name)
            if act.error is not None:
                raise act.error
            if act.content is not None:
                return httpx.Response(act.status, content=act.content, headers=act.headers)
            if act.body is not None:
                return httpx.Response(act.status, json=act.body, headers=act.headers)
            if not 200 <= act.status < 300:
                return httpx.Response(act.status, json=scim_error(act.status, f"scripted {act.status}"), headers=act.headers)

        if kind == "create":
            return self._create(user_name, act)
        if kind == "lookup":
            return self._list(user_name)
        if kind == "bulk" and self.bulk_handler is not None:
            return self.bulk_handler(request, json.loads(request.content))
        return httpx.Response(404, json=scim_error(404, "not found"))

    def _create(self, user_name: str, act: Act | None) -> httpx.Response:
        """Create the user, or return 409 when it exists unless a script makes the create succeed."""
        existing = self.users.get(user_name.lower())
        if existing is not None and act is None:
            return httpx.Response(409, json=scim_error(409, "User name already in use", "uniqueness"))
        resource = existing or self.add_user(user_name)
        headers = {"Location": resource["meta"]["location"], **(act.headers if act else {})}
        return httpx.Response(act.status if act else 201, json=resource, headers=headers)

    def _list(self, user_name: str | None) -> httpx.Response:
        found = [self.users[user_name.lower()]] if user_name and user_name.lower() in self.users else []
        body = {"schemas": [LIST_SCHEMA], "totalResults": len(found), "startIndex": 1, "itemsPerPage": len(found), "Resources": found}
        return httpx.Response(200, json=body)

    # ---------------------------------------------------------------- bulk

    def bulk_operation_result(self, operation: dict[str, Any]) -> dict[str, Any]:
        """Process one Bulk POST operation the default way and return its result entry."""
        user_name = operation["data"]["userName"]
        existing = self.users.get(user_name.lower())
        if existing is not None:
            return {
                "method": "POST",
                "bulkId": operation["bulkId"],
                "status": "409",
                "response": scim_error(409, "User name already in use", "uniqueness"),
            }
        resource = self.add_user(user_name)
        return {
            "method": "POST",
            "bulkId": operation["bulkId"],
            "location": resource["meta"]["location"],
            "status": "201",
        }


def bulk_response(operations: list[dict[str, Any]], status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"schemas": [BULK_RESPONSE_SCHEMA], "Operations": operations})


def bulk_operations_of(call: Call) -> list[dict[str, Any]]:
    return json.loads(call.request.content)["Operations"]


@contextmanager
def serve(server: FakeScimServer) -> Iterator[respx.MockRouter]:
    """Route every request under ``BASE_URL`` to ``server``; any other request fails the test."""
    with respx.mock(assert_all_called=False) as router:
        router.route(url__startswith=BASE_URL).mock(side_effect=server.handle)
        yield router
