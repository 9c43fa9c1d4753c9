"""Resolving managers named by userName to the server ids that SCIM needs.

Input files name a user's manager by email address, but the enterprise
extension's ``manager.value`` must be the manager's id on the server. A manager
who is in the same run gets an id when created; any other manager is looked up
once on the server. The id is spliced into the user's payload just before the
user is sent. Users whose manager is still pending are set aside and released
when the manager gets an outcome; managers that name each other in a cycle
are released when nothing else is left to send.
"""

from __future__ import annotations

import json

from scim_tui.engine.plan import Plan

ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

class ManagerDirectory:
    """The ids of the managers this run needs: known, known to be missing, pending, or unknown."""

    def __init__(self, plan: Plan) -> None:
        self.wanted = {user.manager.casefold() for user in plan.users() if user.manager and not is_manager_id(user.manager)}
        self.in_plan = {user.user_name.casefold() for user in plan.users() if user.user_name.casefold() in self.wanted}
        self.ids: dict[str, str | None] = {}

    def record(self, user_name: str | None, resource_id: str | None) -> None:
        """Record the outcome of a user who may be somebody's manager; None means no id was obtained."""
        if user_name is None:
            return
        key = user_name.casefold()
        if key in self.wanted:
            self.ids[key] = resource_id

    def known(self, manager: str) -> bool:
        return manager.casefold() in self.ids

    def id_of(self, manager: str) -> str | None:
        return self.ids.get(manager.casefold())

    def pending(self, manager: str) -> bool:
        """Whether the manager is in this run and has no outcome yet."""
        key = manager.casefold()
        return key in self.in_plan and key not in self.ids


def is_manager_id(manager: str) -> bool:
    """Whether the input named the manager by server id rather than by address (the input layer's rule)."""
    return "@" not in manager


def with_manager(payload: bytes, manager_id: str, users_url: str) -> bytes:
    """Return ``payload`` with the enterprise extension's manager set to ``manager_id``.

    RFC 7643 section 4.3 makes ``$ref``, the manager's resource URI, required
    beside ``value``, and strict servers reject a manager without it.
    """
    document = json.loads(payload)
    extension = document.setdefault(ENTERPRISE_USER_SCHEMA, {})
    extension["manager"] = {"value": manager_id, "$ref": f"{users_url}/{manager_id}"}
    schemas = document.setdefault("schemas", [])
    if ENTERPRISE_USER_SCHEMA not in schemas:
        schemas.append(ENTERPRISE_USER_SCHEMA)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
