"""Admin endpoints under ``/_admin/``: inspect and steer a running simulator over HTTP.

They need no authentication and are never rate limited or faulted. They
reject clients outside the loopback interface (the simulator binds 127.0.0.1 anyway).

- ``GET /_admin/users``: every stored user, inactive ones included.
- ``GET /_admin/stats``: the measurements; ``?timeline=0`` leaves out the per-request timeline.
- ``POST /_admin/reset``: empty the store (then preload it again), the stats and the rate windows, and open the gate.
- ``GET|POST /_admin/config``: read or change runtime knobs, given as a JSON object.
- ``GET /_admin/gate``, ``POST /_admin/gate``, ``POST /_admin/release``: read, close or open the gate
  that holds every SCIM request (not the token or admin endpoints).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from scim_tui.simulator.asgi import ClientDisconnected, Scope, read_body, send_json

if TYPE_CHECKING:
    from scim_tui.simulator.app import SimulatorApp

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

MAX_ADMIN_BODY = 64 * 1024


class AdminEndpoints:
    """The ``/_admin/`` routes of one :class:`SimulatorApp`."""

    def __init__(self, app: SimulatorApp) -> None:
        self.app = app
        self.routes = {
            ("GET", "/_admin/users"): self.users,
            ("GET", "/_admin/stats"): self.stats,
            ("POST", "/_admin/reset"): self.reset,
            ("GET", "/_admin/config"): self.get_config,
            ("POST", "/_admin/config"): self.set_config,
            ("GET", "/_admin/gate"): self.gate_state,
            ("POST", "/_admin/gate"): self.close_gate,
            ("POST", "/_admin/release"): self.open_gate,
        }

    async def handle(self, scope: Scope, receive: Any, send: Any) -> None:
        client = scope.get("client")
        if client is None or (client[0] not in LOOPBACK_HOSTS and not str(client[0]).startswith("127.")):
            await send_json(send, 403, {"error": "the admin endpoints answer loopback clients only"})
            return

        path = scope["path"].rstrip("/")
        handler = self.routes.get((scope["method"], path))
        if handler is None:
            allowed = sorted(method for method, route in self.routes if route == path)
            if allowed:
                await send_json(send, 405, {"error": f"use {' or '.join(allowed)} on {path}"}, {"Allow": ", ".join(allowed)})
            else:
                await send_json(send, 404, {"error": f"no admin endpoint at {path}", "endpoints": sorted({r for _, r in self.routes})})
            return

        try:
            body = await read_body(receive, MAX_ADMIN_BODY)
        except ClientDisconnected:
            return
        if body is None:
            await send_json(send, 413, {"error": f"request body larger than {MAX_ADMIN_BODY} bytes"})
            return

        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        status, payload = handler(query, body)
        await send_json(send, status, payload)

    def users(self, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        users = self.app.user_dicts()
        return 200, {"totalResults": len(users), "Resources": users}

    def stats(self, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        include_timeline = query.get("timeline", "1").lower() not in ("0", "false", "no")
        snapshot = self.app.stats.snapshot(self.app.faults.seed, include_timeline=include_timeline)
        return 200, snapshot.to_json(include_timeline=include_timeline)

    def reset(self, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        self.app.reset()
        logger.info("simulator reset")
        return 200, {"reset": True, "users": len(self.app.storage.users())}

    def get_config(self, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        return 200, self.app.config.public_view()

    def set_config(self, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        try:
            changes = json.loads(body or b"{}")
        except ValueError as error:
            return 400, {"error": f"invalid JSON body: {error}"}
        if not isinstance(changes, dict):
            return 400, {"error": "the body must be a JSON object of knob names and values"}
        try:
            config = self.app.apply_config(changes)
        except ValueError as error:
            return 400, {"error": str(error)}
        return 200, config.public_view()

    def gate_state(self, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        return 200, self._gate_view()

    def close_gate(self, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        self.app.gate_open.clear()
        return 200, self._gate_view()

    def open_gate(self, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        self.app.gate_open.set()
        return 200, self._gate_view()

    def _gate_view(self) -> dict[str, Any]:
        return {"gate": "open" if self.app.gate_open.is_set() else "closed", "held": self.app.stats.held_at_gate}
