"""The dry run: every request a run would send, written to a file instead of the network.

The requests are produced by the engine itself, so the file shows exactly
what a real run sends: the same URLs, headers, Bulk envelopes and bulkIds.
The engine runs against an ``httpx.MockTransport`` that records each request
and answers it as a server that creates every user would. Nothing leaves the
process, no token is fetched, and the Authorization header is written without
its value.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
import itertools
import json
import os
from pathlib import Path
import tempfile
from typing import IO, Any

import httpx

from scim_tui.engine.plan import Plan
from scim_tui.engine.run import ProvisioningRun
from scim_tui.engine.settings import RunSettings
from scim_tui.engine.transport import build_client
from scim_tui.files import PRIVATE_MODE, FileExistsWithoutOverwrite
from scim_tui.targets.base import Target

#: Stands in for the value of every header that carries credentials.
OMITTED = "<omitted>"

#: Headers whose values are credentials; they are written with ``OMITTED`` as the value.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})

BULK_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


@dataclass(frozen=True)
class DryRunSummary:
    path: Path
    requests: int
    users: int


class DryRunTarget(Target):
    """A copy of a target's addressing with a placeholder in place of its credentials."""

    def __init__(self, target: Target) -> None:
        super().__init__(target.base_url)
        self.kind = target.kind
        self.users_path = target.users_path
        self.max_page_size = target.max_page_size
        self.user_name_is_email = target.user_name_is_email
        self._original = target
        self._authenticates = target.describe().get("auth") != "none"

    async def auth_headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        return {"Authorization": OMITTED} if self._authenticates else {}

    def lookup_filters(self, user_name: str) -> list[str]:
        return self._original.lookup_filters(user_name)


def request_document(request: httpx.Request) -> dict[str, Any]:
    """Describe one request as a JSON-ready document, with credential header values omitted."""
    headers = {
        name: (OMITTED if name.lower() in CREDENTIAL_HEADERS else value)
        for name, value in request.headers.items()
    }
    body: Any = None
    if request.content:
        try:
            body = json.loads(request.content)
        except ValueError:
            body = request.content.decode("utf-8", errors="replace")
    return {"method": request.method, "url": str(request.url), "headers": headers, "body": body}


class _RecordingServer:
    """Writes each request to ``handle`` and answers as a server that creates every user."""

    def __init__(self, handle: IO[bytes], users_url: str) -> None:
        self.handle = handle
        self.users_url = users_url
        self.requests = 0
        self._ids = itertools.count(1)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        self.handle.write(json.dumps(request_document(request), ensure_ascii=False).encode("utf-8") + b"\n")

        if request.method == "POST" and request.url.path.rstrip("/").endswith("/Bulk"):
            operations = json.loads(request.content).get("Operations", [])
            answers = [
                {
                    "bulkId": operation.get("bulkId"),
                    "method": "POST",
                    "status": "201",
                    "location": f"{self.users_url}/dry-run-{next(self._ids)}",
                }
                for operation in operations
            ]
            return httpx.Response(200, json={"schemas": [BULK_RESPONSE_SCHEMA], "Operations": answers})
        if request.method == "POST":
            return httpx.Response(201, json={"schemas": [USER_SCHEMA], "id": f"dry-run-{next(self._ids)}"})
        if request.method == "GET":
            return httpx.Response(200, json={"totalResults": 0, "Resources": []})
        return httpx.Response(404)


async def _send_to_recorder(plan: Plan, target: Target, settings: RunSettings, handle: IO[bytes]) -> int:
    dry_target = DryRunTarget(target)
    server = _RecordingServer(handle, f"{dry_target.base_url}/{dry_target.users_path}")
    # Concurrency 1 writes the requests in plan order.
    quiet = replace(settings, concurrency=1)
    async with build_client(quiet, transport=httpx.MockTransport(server)) as client:
        await ProvisioningRun(plan, dry_target, quiet, client=client).run()
    return server.requests


def write_dry_run(plan: Plan, target: Target, settings: RunSettings, path: Path, *, overwrite: bool = False) -> DryRunSummary:
    """Write one JSON document per request, one per line, to ``path`` with mode 0600.

    Blocking: it runs its own event loop, so call it from a thread. Raises
    FileExistsWithoutOverwrite when ``path`` exists and ``overwrite`` is False.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsWithoutOverwrite(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(temporary, PRIVATE_MODE)
        with os.fdopen(descriptor, "wb") as handle:
            requests = asyncio.run(_send_to_recorder(plan, target, settings, handle))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    return DryRunSummary(path=path, requests=requests, users=plan.total_users)
