"""scim2-server (the reference SCIM implementation) on 127.0.0.1, with injectable faults.

The faults sit in a small ASGI middleware in front of the unmodified
scim2-server application, so that what the engine meets is a real server
that can also misbehave on command.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
import json
import socket
import threading
import time

import uvicorn
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage
from scim2_server.utils import load_default_provider


@dataclass
class Faults:
    """Faults applied to user creation requests (POST /Users and POST /Bulk)."""

    throttle_first: int = 0
    """Answer this many create requests with 429 before letting any through."""

    retry_after: str = "1"
    error_after_store_every: int = 0
    """Answer every Nth stored create with 500, after the user was stored."""

    bulk_max_operations: int = 1000
    bulk_max_payload: int = 1_048_576
    bulk_supported: bool = True
    drop_bulk_operations_after: int | None = None
    """Process only the first N operations of each Bulk request and leave the rest out of the response, as a failOnErrors stop does."""

    payload_too_large_above: int | None = None
    """Answer 413 to a Bulk request with more operations than this."""

    reject_user_names: set[str] = field(default_factory=set)
    """Casefolded userNames whose per-user create is answered 400 invalidValue."""


@dataclass
class Recorder:
    creates_by_user: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    requests: int = 0


class FaultyScim:
    def __init__(self, app: ASGIApplication, faults: Faults, recorder: Recorder) -> None:
        self.app = app
        self.faults = faults
        self.recorder = recorder
        self.creates_seen = 0
        self.stored = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.recorder.requests += 1
        path = scope["path"].rstrip("/")
        is_create = scope["method"] == "POST" and (path.endswith("/Users") or path.endswith("/Bulk"))

        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)

        if path.endswith("/ServiceProviderConfig") and scope["method"] == "GET":
            config = {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                "patch": {"supported": True},
                "bulk": {
                    "supported": self.faults.bulk_supported,
                    "maxOperations": self.faults.bulk_max_operations,
                    "maxPayloadSize": self.faults.bulk_max_payload,
                },
                "filter": {"supported": True, "maxResults": 1000},
            }
            await self._reply(send, 200, config)
            return

        if is_create:
            self.creates_seen += 1
            if self.creates_seen <= self.faults.throttle_first:
                await self._reply(send, 429, {"detail": "slow down", "status": "429"}, {"retry-after": self.faults.retry_after})
                return
            if path.endswith("/Users") and self.faults.reject_user_names:
                name = json.loads(body).get("userName", "").casefold()
                if name in self.faults.reject_user_names:
                    document = {"status": "400", "scimType": "invalidValue", "detail": f"{name} is not accepted here"}
                    await self._reply(send, 400, document)
                    return
            if path.endswith("/Bulk") and self.faults.payload_too_large_above is not None:
                operations = json.loads(body).get("Operations", [])
                if len(operations) > self.faults.payload_too_large_above:
                    await self._reply(send, 413, {"detail": "too many operations", "status": "413"})
                    return

        if is_create and path.endswith("/Bulk") and self.faults.drop_bulk_operations_after is not None:
            # As a server that stops at failOnErrors: later operations are never processed.
            document = json.loads(body)
            document["Operations"] = document["Operations"][: self.faults.drop_bulk_operations_after]
            body = json.dumps(document).encode()

        captured: dict = {"status": 0, "headers": [], "body": b""}

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message):
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            else:
                captured["body"] += message.get("body", b"")

        await self.app(scope, replay, capture)

        status = captured["status"]
        response_body = captured["body"]
        if is_create and path.endswith("/Users") and status == 201:
            name = json.loads(body).get("userName", "").casefold()
            self.recorder.creates_by_user[name] += 1
            self.stored += 1
            if self.faults.error_after_store_every and self.stored % self.faults.error_after_store_every == 0:
                await self._reply(send, 500, {"detail": "stored, then failed", "status": "500"})
                return
        if is_create and path.endswith("/Bulk") and status == 200:
            request_ops = {op.get("bulkId"): op for op in json.loads(body).get("Operations", [])}
            document = json.loads(response_body)
            for operation in document.get("Operations", []):
                if str(operation.get("status", "")).startswith("201"):
                    user = request_ops.get(operation.get("bulkId"), {}).get("data", {})
                    self.recorder.creates_by_user[user.get("userName", "").casefold()] += 1
        self.recorder.statuses[status] += 1
        await send({"type": "http.response.start", "status": status, "headers": captured["headers"]})
        await send({"type": "http.response.body", "body": response_body})

    async def _reply(self, send, status: int, document: dict, headers: dict | None = None) -> None:
        self.recorder.statuses[status] += 1
        body = json.dumps(document).encode()
        raw_headers = [(b"content-type", b"application/scim+json"), (b"content-length", str(len(body)).encode())]
        raw_headers += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Scim2Server:
    """A scim2-server in a background thread on 127.0.0.1; ``url`` is its SCIM base URL."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.recorder = Recorder()
        self.storage = AsyncInMemoryStorage()
        self.app = FaultyScim(ASGIApplication(self.storage, load_default_provider()), self.faults, self.recorder)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v2"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "Scim2Server":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("scim2-server did not start within 10 s")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def user_names(self) -> list[str]:
        return [resource.user_name for resource in self.storage.resources if getattr(resource, "user_name", None)]

    async def preload(self, user_names: list[str]) -> None:
        """Create users before a test, straight in scim2-server, past the fault middleware and its counters."""
        import httpx

        if True:
            # Straight to scim2-server, past the fault middleware and its counters.
            transport = httpx.ASGITransport(app=self.app.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://preload") as client:
                for name in user_names:
                    response = await client.post(
                        "/v2/Users",
                        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name},
                    )
                    assert response.status_code == 201, response.text

