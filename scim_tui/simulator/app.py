"""The simulator's ASGI application: Genesys or generic SCIM behaviour around scim2-server.

scim2-server's service and handler do the SCIM work (validation, storage,
filters, uniqueness, Bulk). This layer adds what a client of Genesys Cloud
meets and what tests need to control, in this order for each SCIM request:

1. routing by the profile's path prefix and case-insensitive endpoint names;
2. the admin gate, which holds SCIM requests until it is released;
3. added latency;
4. the rate limit (which counts every request) and authentication;
5. profile checks: no Bulk on genesys, no ``count`` above the list limit,
   no body above the size limit;
6. a seeded fault. A 503 comes before scim2-server serves the request. A
   500, a slow response or a dropped connection comes after it, so the
   change is stored;
7. Genesys error bodies and the Genesys 409 body.

The SCIM path is plain ASGI, not a framework router, to keep the
per-request overhead small. The admin endpoints live in :mod:`.admin`.
While the server runs, only its event loop touches the counters, the token
table and the rate windows, so they need no lock.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import math
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from scim2_models import Context, SCIMException
from scim2_server.handler import AsyncScimHandler
from scim2_server.memory import AsyncInMemoryStorage
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse

from scim_tui.simulator import errors
from scim_tui.simulator.admin import AdminEndpoints
from scim_tui.simulator.asgi import ClientDisconnected, Scope, close_connection, read_body, send_json
from scim_tui.simulator.config import FaultScope, SimulatorConfig
from scim_tui.simulator.faults import FaultKind, FaultPlan
from scim_tui.simulator.preload import generated_users, read_user_file, store_users
from scim_tui.simulator.ratelimit import FixedWindowLimiter, RateDecision
from scim_tui.simulator.schema import apply_runtime_limits, build_provider
from scim_tui.simulator.stats import NO_RESPONSE, StatsRecorder
from scim_tui.simulator.storage import ACTIVE_ONLY, SimulatorService, SimulatorStorage

logger = logging.getLogger(__name__)


GENESYS_PREFIXES = ("/api/v2/scim/v2", "/api/v2/scim")
"""Genesys serves SCIM at /api/v2/scim/v2 and an older family with the same operations at /api/v2/scim."""

GENERIC_PREFIXES = ("/scim/v2", "/v2")

TOKEN_PATH = "/oauth/token"

CANONICAL_ENDPOINTS = {
    "users": "Users",
    "groups": "Groups",
    "serviceproviderconfig": "ServiceProviderConfig",
    "resourcetypes": "ResourceTypes",
    "schemas": "Schemas",
    "bulk": "Bulk",
    "me": "Me",
}
"""Endpoint names by lowercase name. scim2-server matches the discovery names case-sensitively."""

GENESYS_ENDPOINTS = frozenset({"Users", "ServiceProviderConfig", "ResourceTypes", "Schemas"})

GENESYS_MAX_BODY = 512_000
"""Request body limit of the Genesys platform, in bytes."""

GENERIC_MAX_BODY = 10 * 1024 * 1024
"""Body limit of the generic profile outside Bulk, which has its own maxPayloadSize."""

UNKNOWN_ROUTE = "(unknown)"

MAX_TOKENS = 10_000
"""Issued tokens kept before expired ones are forgotten, so a client that logs in in a loop cannot exhaust memory."""

_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_ACTIVE_TERM = re.compile(r"\bactive\b", re.IGNORECASE)


def mentions_active(scim_filter: str | None) -> bool:
    """Tell whether a SCIM filter has a term on ``active``, ignoring quoted string values."""
    if not scim_filter:
        return False
    return _ACTIVE_TERM.search(_QUOTED.sub('""', scim_filter)) is not None


@dataclass(slots=True)
class ScimTarget:
    """The SCIM endpoint a request path names, once the profile's prefix is stripped."""

    path: str
    """Path for scim2-server, with canonical endpoint names, e.g. ``/Users/42``."""

    route: str
    """Route for the stats, lowercase with ids replaced, e.g. ``/users/{id}``."""

    endpoint: str | None
    """Canonical endpoint name, or None for the root and unknown endpoints."""

    is_collection: bool
    prefix: str


@dataclass(slots=True)
class Reply:
    """A response about to be sent."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    created_user_names: list[str] = field(default_factory=list)
    """userNames whose 201 this reply carries, counted once the reply is sent."""


@dataclass(slots=True)
class RequestInfo:
    """The headers of a request that the simulator reads, found in one pass."""

    authorization: str | None = None
    host: str | None = None
    content_type: str | None = None


def read_headers(scope: Scope) -> RequestInfo:
    info = RequestInfo()
    for name, value in scope["headers"]:
        if name == b"authorization":
            info.authorization = value.decode("latin-1")
        elif name == b"host":
            info.host = value.decode("latin-1")
        elif name == b"content-type":
            info.content_type = value.decode("latin-1")
    return info


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


class SimulatorApp:
    """The ASGI application of one simulator; see the module docstring for the request pipeline."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.genesys = config.is_genesys
        self.prefixes = GENESYS_PREFIXES if self.genesys else GENERIC_PREFIXES

        self.stats = StatsRecorder()
        self.faults = FaultPlan(config)
        self.limiter = FixedWindowLimiter(config.rate_limit_per_minute or 0, config.rate_limit_window)
        self.tokens: dict[str, float] = {}

        self.gate_open = asyncio.Event()
        self.gate_open.set()
        self.closing = asyncio.Event()

        self.provider = build_provider(config)
        self.service = SimulatorService(self.provider, genesys=self.genesys)
        self.storage = SimulatorStorage(default_active=self.genesys, on_stored=self.stats.user_stored)
        self.handler = AsyncScimHandler(self.service, AsyncInMemoryStorage(self.storage))
        self.user_type = self.service.get_resource_type("User")
        self.preload()

        self.admin = AdminEndpoints(self)

    @property
    def max_body(self) -> int:
        """Largest request body read, in bytes; scim2-server rejects a Bulk body above maxPayloadSize itself."""
        if self.genesys:
            return GENESYS_MAX_BODY
        return max(GENERIC_MAX_BODY, self.config.bulk_max_payload + 1)

    def renew_events(self) -> None:
        """Create the gate and shutdown events afresh, with the gate in its current state.

        An asyncio event binds to the first loop that waits on it, so a
        simulator started again on a new loop needs new events.
        """
        gate_was_open = self.gate_open.is_set()
        self.gate_open = asyncio.Event()
        if gate_was_open:
            self.gate_open.set()
        self.closing = asyncio.Event()

    # -- Store -----------------------------------------------------------

    def preload(self) -> int:
        """Store the configured preloaded users; raises ValueError on an invalid entry."""
        stored = 0
        if self.config.preload_count:
            payloads = generated_users(self.config.preload_count, self.config.preload_inactive)
            stored += store_users(self.storage, self.service, self.user_type, payloads, "the generated users")
        if self.config.preload_file is not None:
            payloads = read_user_file(self.config.preload_file)
            stored += store_users(self.storage, self.service, self.user_type, payloads, str(self.config.preload_file))
        return stored

    def reset(self) -> None:
        """Empty the store, preload it again, forget the stats and rate windows and open the gate.

        Issued tokens stay valid, so a client need not log in again.
        """
        self.storage.resources = []
        self.preload()
        self.stats.reset()
        self.limiter.reset()
        self.faults.reseed()
        self.gate_open.set()

    def user_dicts(self) -> list[dict[str, Any]]:
        """Return every stored user, inactive ones included, as SCIM JSON."""
        with self.provider:
            return [user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE) for user in self.storage.users()]

    def apply_config(self, changes: dict[str, Any]) -> SimulatorConfig:
        """Change runtime knobs; raises ValueError and changes nothing when a value is invalid."""
        config = self.config.with_changes(changes)
        self.config = config
        self.faults.update(config)
        self.limiter.reconfigure(config.rate_limit_per_minute or 0, config.rate_limit_window)
        apply_runtime_limits(self.service.config, config)
        logger.info("simulator configuration changed: %s", ", ".join(sorted(changes)))
        return config

    def issue_token(self) -> tuple[str, int]:
        """Issue an OAuth access token; return it with its lifetime in whole seconds."""
        now = time.monotonic()
        if len(self.tokens) >= MAX_TOKENS:
            self.tokens = {token: expiry for token, expiry in self.tokens.items() if expiry > now}

        token = secrets.token_urlsafe(32)
        lifetime = self.config.token_lifetime
        self.tokens[token] = now + lifetime
        return token, max(1, math.ceil(lifetime))

    # -- ASGI entry point ------------------------------------------------

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            if path.startswith("/_admin/"):
                await self.admin.handle(scope, receive, send)
            elif self.genesys and path == TOKEN_PATH:
                await self.token_endpoint(scope, receive, send)
            else:
                await self.scim_endpoint(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)

    @staticmethod
    async def lifespan(receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- OAuth -----------------------------------------------------------

    async def token_endpoint(self, scope: Scope, receive: Any, send: Any) -> None:
        """Serve ``POST /oauth/token`` with client credentials, as the Genesys login host does.

        The token endpoint is neither rate limited nor faulted: Genesys runs it
        on another host (login.<domain>) with limits of its own.
        """
        started = self.stats.begin()
        status = NO_RESPONSE
        try:
            reply = await self._token_reply(scope, receive)
            await send_json(send, reply.status, reply.body, reply.headers)
            status = reply.status
        except ClientDisconnected:
            pass
        finally:
            self.stats.finish(scope["method"], TOKEN_PATH, status, started)

    async def _token_reply(self, scope: Scope, receive: Any) -> Reply:
        no_store = {"Cache-Control": "no-store"}
        if scope["method"] != "POST":
            return Reply(405, errors.oauth_error("invalid_request", "use POST"), {"Allow": "POST", **no_store})

        body = await read_body(receive, 64 * 1024)
        if body is None:
            return Reply(413, errors.oauth_error("invalid_request", "request body too large"), no_store)
        form = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))

        info = read_headers(scope)
        client_id, client_secret = basic_credentials(info.authorization)
        if client_id is None:
            client_id, client_secret = form.get("client_id"), form.get("client_secret")

        if form.get("grant_type") != "client_credentials":
            return Reply(400, errors.oauth_error("unsupported_grant_type", "grant type not supported"), no_store)

        config = self.config
        valid = (
            client_id is not None
            and client_secret is not None
            and same_secret(client_id, str(config.client_id))
            and same_secret(client_secret, str(config.client_secret))
        )
        if not valid:
            logger.info("token request rejected: invalid client credentials")
            return Reply(401, errors.oauth_error("invalid_client", "authentication failed"), no_store)

        token, expires_in = self.issue_token()
        return Reply(200, {"access_token": token, "token_type": "bearer", "expires_in": expires_in}, no_store)

    # -- SCIM ------------------------------------------------------------

    def resolve(self, path: str) -> ScimTarget | None:
        """Map a request path to its SCIM target, or None when it is outside the SCIM prefix."""
        for prefix in self.prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                rest = path[len(prefix) :]
                break
        else:
            return None

        segments = [segment for segment in rest.split("/") if segment]
        if not segments:
            return ScimTarget(path="/", route="/", endpoint=None, is_collection=True, prefix=prefix)

        endpoint = CANONICAL_ENDPOINTS.get(segments[0].lower())
        if endpoint is None:
            return ScimTarget(path=rest, route=UNKNOWN_ROUTE, endpoint=None, is_collection=False, prefix=prefix)

        tail = segments[1:]
        route = "/" + endpoint.lower()
        if len(tail) == 1:
            route += "/.search" if tail[0] == ".search" else "/{id}"
        elif tail:
            route = UNKNOWN_ROUTE
        return ScimTarget(
            path="/" + "/".join([endpoint, *tail]),
            route=route,
            endpoint=endpoint,
            is_collection=not tail,
            prefix=prefix,
        )

    async def scim_endpoint(self, scope: Scope, receive: Any, send: Any) -> None:
        started = self.stats.begin()
        method = scope["method"]
        route = UNKNOWN_ROUTE
        status = NO_RESPONSE
        fault: FaultKind | None = None
        try:
            target = self.resolve(scope["path"])
            if target is not None:
                route = target.route
            reply, fault = await self._scim_reply(scope, receive, send, method, target)
            if reply is not None:
                await send_json(send, reply.status, reply.body, reply.headers)
                status = reply.status
                for user_name in reply.created_user_names:
                    self.stats.user_created_response(user_name)
        except ClientDisconnected:
            pass
        finally:
            self.stats.finish(method, route, status, started, fault)

    async def _scim_reply(
        self, scope: Scope, receive: Any, send: Any, method: str, target: ScimTarget | None
    ) -> tuple[Reply | None, FaultKind | None]:
        """Run the request pipeline; a None reply means the connection was closed or the client left."""
        if not self.gate_open.is_set() and not await self._wait_at_gate():
            return self._error(503, "The simulator is shutting down."), None

        delay = self.faults.draw_latency()
        if delay:
            await asyncio.sleep(delay)

        info = read_headers(scope)
        token = bearer_token(info.authorization)
        headers: dict[str, str] = {}
        context_id = None
        if self.genesys:
            context_id = errors.new_context_id()
            headers["inin-correlation-id"] = context_id

        decision = None
        if self.config.rate_limit_per_minute:
            decision = self.limiter.hit(token or "")
            headers.update(self._rate_headers(decision))

        reply = self._check_auth(token, context_id)
        if reply is None and decision is not None and not decision.allowed:
            self.stats.rate_limited += 1
            reply = self._too_many_requests(decision, context_id)
        if reply is None:
            reply = self._check_target(method, target, scope, context_id)
        if reply is not None:
            # Reading the unread body lets uvicorn keep the connection open for the next request.
            await read_body(receive, self.max_body)
            reply.headers.update(headers)
            return reply, None

        assert target is not None
        body = await read_body(receive, self.max_body)
        if body is None:
            reply = self._error(413, f"The request body exceeds {self.max_body} bytes.", context_id)
            reply.headers.update(headers)
            return reply, None

        reply, fault = await self._serve_with_faults(scope, receive, send, method, target, body, info, context_id)
        if reply is not None:
            reply.headers.update(headers)
        return reply, fault

    async def _wait_at_gate(self) -> bool:
        """Hold a request until the gate opens; return False when the simulator shuts down first."""
        self.stats.held_at_gate += 1
        gate = asyncio.ensure_future(self.gate_open.wait())
        closing = asyncio.ensure_future(self.closing.wait())
        try:
            await asyncio.wait({gate, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.stats.held_at_gate -= 1
            gate.cancel()
            closing.cancel()
        return self.gate_open.is_set() and not self.closing.is_set()

    def _rate_headers(self, decision: RateDecision) -> dict[str, str]:
        if self.genesys:
            return {
                "inin-ratelimit-allowed": str(decision.limit),
                "inin-ratelimit-count": str(decision.count),
                "inin-ratelimit-reset": str(decision.reset_seconds),
            }
        return {
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(decision.remaining),
            "X-RateLimit-Reset": str(decision.reset_seconds),
        }

    def _too_many_requests(self, decision: RateDecision, context_id: str | None) -> Reply:
        retry_after = decision.reset_seconds
        if self.genesys:
            body = errors.genesys_error(
                429, errors.rate_limit_message(retry_after), "too.many.requests.retry.after", context_id
            )
        else:
            body = errors.scim_error(
                429,
                f"Too many requests: the limit is {decision.limit} requests per "
                f"{self.config.rate_limit_window:g} seconds. Retry after {retry_after} seconds.",
            )
        return Reply(429, body, {"Retry-After": str(retry_after)})

    def _check_auth(self, token: str | None, context_id: str | None) -> Reply | None:
        if self.genesys:
            if token is None:
                return Reply(401, errors.genesys_error(401, errors.MISSING_TOKEN_MESSAGE, "authentication.required", context_id))
            expires = self.tokens.get(token)
            if expires is None or expires <= time.monotonic():
                self.tokens.pop(token, None)
                return Reply(401, errors.genesys_error(401, errors.INVALID_TOKEN_MESSAGE, "bad.credentials", context_id))
            return None

        expected = self.config.bearer_token
        if expected is None:
            return None
        if token is None or not same_secret(token, expected):
            return Reply(
                401,
                errors.scim_error(401, "Authorization failure: a valid bearer token is required."),
                {"WWW-Authenticate": 'Bearer realm="SCIM"', "Content-Type": "application/scim+json"},
            )
        return None

    def _check_target(self, method: str, target: ScimTarget | None, scope: Scope, context_id: str | None) -> Reply | None:
        if target is None or (self.genesys and target.endpoint not in GENESYS_ENDPOINTS):
            return self._error(404, f"No SCIM endpoint at {scope['path']}.", context_id)

        limit = self.config.max_list_count
        if limit and method == "GET" and target.is_collection and scope["query_string"]:
            query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
            count = query.get("count", "")
            if count.strip().lstrip("-").isdigit() and int(count) > limit:
                return self._error(429, f"The requested count {count} exceeds the maximum page size of {limit}.", context_id)
        return None

    def _error(self, status: int, message: str, context_id: str | None = None) -> Reply:
        """Build an error reply in the profile's shape for platform errors."""
        if self.genesys:
            return Reply(status, errors.genesys_error(status, message, context_id=context_id))
        return Reply(status, errors.scim_error(status, message), {"Content-Type": "application/scim+json"})

    def _in_fault_scope(self, method: str, target: ScimTarget) -> bool:
        if self.config.fault_scope is FaultScope.ALL:
            return True
        return method == "POST" and target.is_collection and target.endpoint in ("Users", "Bulk")

    async def _serve_with_faults(
        self,
        scope: Scope,
        receive: Any,
        send: Any,
        method: str,
        target: ScimTarget,
        body: bytes,
        info: RequestInfo,
        context_id: str | None,
    ) -> tuple[Reply | None, FaultKind | None]:
        fault = self.faults.draw_fault() if self._in_fault_scope(method, target) else None
        creates_users = method == "POST" and target.is_collection and target.endpoint in ("Users", "Bulk")
        bulk_names: dict[str, str] = {}
        if creates_users:
            bulk_names = self._count_posts(target, body)

        if fault is FaultKind.UNAVAILABLE_BEFORE:
            self.stats.count_fault(fault)
            return self._error(503, "The service is temporarily unavailable.", context_id), fault

        response = await self._handle(scope, method, target, body, info)
        reply = self._reply_from(response, target, context_id, bulk_names)

        if fault is None:
            return reply, None
        self.stats.count_fault(fault)
        logger.debug("injected fault %s on %s %s", fault, method, target.route)

        if fault is FaultKind.ERROR_AFTER:
            return self._error(500, "An internal server error occurred.", context_id), fault

        if fault is FaultKind.SLOW_AFTER:
            if await self._wait_unless_disconnected(receive, self.config.slow_seconds):
                return reply, fault
            return None, fault

        if await close_connection(send):
            return None, fault
        # NOTE: without access to the transport (a server other than uvicorn),
        # a dropped connection degrades to an aborted response.
        raise RuntimeError("cannot drop the connection: the ASGI server does not expose its transport")

    async def _wait_unless_disconnected(self, receive: Any, seconds: float) -> bool:
        """Wait ``seconds`` before a slow response; return False as soon as the client disconnects.

        A shutdown of the simulator ends the wait early, so a stop does not
        wait ``slow_seconds`` for slow responses.
        """

        async def until_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        disconnect = asyncio.ensure_future(until_disconnect())
        closing = asyncio.ensure_future(self.closing.wait())
        try:
            done, _ = await asyncio.wait({disconnect, closing}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            disconnect.cancel()
            closing.cancel()
        return disconnect not in done

    def _count_posts(self, target: ScimTarget, body: bytes) -> dict[str, str]:
        """Count the userNames a create request carries; return Bulk userNames by bulkId."""
        try:
            payload = json.loads(body)
        except ValueError:
            return {}
        if not isinstance(payload, dict):
            return {}

        if target.endpoint == "Users":
            user_name = payload.get("userName")
            if isinstance(user_name, str):
                self.stats.user_posted(user_name)
            return {}

        names: dict[str, str] = {}
        operations = payload.get("Operations")
        for operation in operations if isinstance(operations, list) else []:
            if not isinstance(operation, dict) or str(operation.get("method", "")).upper() != "POST":
                continue
            if str(operation.get("path", "")).strip("/").lower() != "users":
                continue
            data = operation.get("data")
            user_name = data.get("userName") if isinstance(data, dict) else None
            if isinstance(user_name, str):
                self.stats.user_posted(user_name)
                if isinstance(operation.get("bulkId"), str):
                    names[operation["bulkId"]] = user_name
        return names

    async def _handle(self, scope: Scope, method: str, target: ScimTarget, body: bytes, info: RequestInfo) -> ScimResponse:
        host = info.host or "{}:{}".format(*scope.get("server") or ("127.0.0.1", 0))
        query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        request = ScimRequest(
            method=method,
            base_url=f"http://{host}{target.prefix}",
            path=target.path,
            query=query,
            headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]],
            body=body,
        )

        active_only = self.genesys and target.endpoint == "Users" and not mentions_active(self._search_filter(method, target, query, body))
        marker = ACTIVE_ONLY.set(active_only)
        try:
            return await self.handler.handle(request)
        except SCIMException as error:
            return self.service.error_response(error)
        except Exception as error:
            logger.exception("unexpected error while serving %s %s", method, target.route)
            return self.service.error_response(error)
        finally:
            ACTIVE_ONLY.reset(marker)

    @staticmethod
    def _search_filter(method: str, target: ScimTarget, query: dict[str, str], body: bytes) -> str | None:
        if method == "GET":
            return query.get("filter")
        if method == "POST" and target.path.endswith("/.search"):
            try:
                payload = json.loads(body)
            except ValueError:
                return None
            value = payload.get("filter") if isinstance(payload, dict) else None
            return value if isinstance(value, str) else None
        return None

    def _reply_from(
        self, response: ScimResponse, target: ScimTarget, context_id: str | None, bulk_names: dict[str, str]
    ) -> Reply:
        status = int(response.status)
        body = response.body
        headers = dict(response.headers)
        headers.setdefault("Cache-Control", "no-cache")
        reply = Reply(status, body, headers)

        if status == 201 and isinstance(body, dict) and isinstance(body.get("userName"), str):
            reply.created_user_names.append(body["userName"])
        elif target.endpoint == "Bulk" and status == 200 and isinstance(body, dict):
            for outcome in body.get("Operations") or []:
                if str(outcome.get("status")) == "201" and outcome.get("bulkId") in bulk_names:
                    reply.created_user_names.append(bulk_names[outcome["bulkId"]])

        if not self.genesys or not isinstance(body, dict) or status < 400:
            return reply

        if status == 409 and body.get("scimType") == "uniqueness":
            scim_type = "uniqueness" if self.config.conflict_scim_type else None
            reply.body = errors.scim_error(409, errors.DUPLICATE_USER_NAME_DETAIL, scim_type)
        elif status in (401, 403, 404, 429) or status >= 500:
            detail = str(body.get("detail") or "Request failed.")
            reply.body = errors.genesys_error(status, detail, context_id=context_id)
            reply.headers["Content-Type"] = "application/json"
        return reply


def same_secret(given: str, expected: str) -> bool:
    """Compare credentials in constant time; bytes, because compare_digest rejects non-ASCII strings."""
    return secrets.compare_digest(given.encode(), expected.encode())


def basic_credentials(authorization: str | None) -> tuple[str | None, str | None]:
    if not authorization:
        return None, None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, separator, client_secret = decoded.partition(":")
    if not separator:
        return None, None
    return client_id, client_secret
