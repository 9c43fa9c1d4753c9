"""The simulator's user store and SCIM service, built on scim2-server's in-memory storage.

scim2-server already validates payloads, enforces case-insensitive
uniqueness of userName with a 409, evaluates filters and runs Bulk. This
module adds what Genesys does differently and what the tests measure:

- a search on users skips inactive users while :data:`ACTIVE_ONLY` is set,
  which the genesys front end sets for filters without an ``active`` term;
- on genesys, a user stored without ``active`` is stored as active, and a
  create needs a ``displayName`` and an email address as ``userName``;
- every stored creation of a user is reported to a callback, so the stats
  can show how many times each userName was stored.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from scim2_models import InvalidValueException, Meta, Resource, ResourceType, ScimFilter, User
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService

ACTIVE_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("scim_tui_simulator_active_only", default=False)
"""True while a search must return active users only, as a Genesys search without an ``active`` term does."""


class SimulatorStorage(InMemoryStorage):
    """scim2-server's in-memory storage with Genesys defaults and a hook on stored creations.

    :param default_active: store ``active: true`` when a created user has no
        ``active``, and keep the stored value when a replacement omits it.
    :param on_stored: called with the userName of every user a creation stored.
    """

    def __init__(self, *, default_active: bool, on_stored: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.default_active = default_active
        self.on_stored = on_stored

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        created = self._create(resource_type, resource)
        if self.on_stored is not None and isinstance(created, User) and created.user_name:
            self.on_stored(created.user_name)
        return created

    def store_preloaded(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        """Store a user at start-up without reporting it as a stored creation."""
        return self._create(resource_type, resource)

    def _create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        if self.default_active and isinstance(resource, User) and resource.active is None:
            resource = resource.model_copy(update={"active": True})

        # scim2-server's create deep-copies its argument before storing it.
        # Every caller here (the handler, Bulk and preloading) builds the
        # resource for this call and never reads it again, so it is stored as
        # it is. The copy cost about a third of a create in a profile.
        # NOTE: relies on the private helpers of scim2-server 0.8's InMemoryStorage.
        with self.lock:
            resource.id = self.generate_id(resource_type, resource)
            now = self.clock()
            resource.meta = Meta(
                resource_type=resource_type.name,
                created=now,
                last_modified=now,
                version=self.next_version(),
            )
            values = self._values_of(resource)
            self._check_uniqueness(resource, values)
            self._store(resource, values)
            return resource.model_copy(deep=True)

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        if self.default_active and isinstance(resource, User) and resource.active is None:
            stored = self.get(resource_type, str(resource.id))
            resource = resource.model_copy(update={"active": getattr(stored, "active", None) is not False})
        return super().update(resource_type, resource, expected_version=expected_version)

    def _candidates(self, names: list[str | None], scim_filter: ScimFilter[Any] | None) -> list[Resource[Any]]:
        # NOTE: overrides a private hook of scim2-server 0.8's InMemoryStorage.search.
        # Every search calls it before filtering and paging, so dropping inactive
        # users here keeps totalResults and paging consistent.
        candidates = super()._candidates(names, scim_filter)
        if not ACTIVE_ONLY.get():
            return candidates
        return [resource for resource in candidates if getattr(resource, "active", None) is not False]

    def users(self) -> list[User]:
        """Return copies of every stored user, inactive ones included, oldest first."""
        with self.lock:
            users = [resource.model_copy(deep=True) for resource in self.resources if isinstance(resource, User)]
        # The storage fills meta.created on every write, so every stored user has it.
        users.sort(key=lambda user: (user.meta.created, str(user.id)))  # type: ignore[union-attr]
        return users


class SimulatorService(ScimService):
    """scim2-server's SCIM service, with the genesys profile's extra checks on created users.

    NOTE: the messages of these 400 errors are the simulator's own wording;
    Genesys's exact wording is not known.
    """

    def __init__(self, *args: Any, genesys: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.genesys = genesys

    def publish(self, base_url: str, resource: Resource[Any]) -> Resource[Any]:
        """Set the location and the references of a resource for the client, in place.

        scim2-server's publish works on a deep copy. Every resource that
        reaches it here is already a copy the storage made for this request
        (get, search, create and update all return copies), so the second
        copy is skipped.
        """
        assert resource.meta is not None and resource.id is not None
        update: dict[str, Any] = {
            "location": self.resource_location(base_url, self.get_resource_type_of(resource), resource.id)
        }
        if not self.etag_supported:
            update["version"] = None
        resource.meta = resource.meta.model_copy(update=update)
        self._publish_references(base_url, resource)
        return resource

    def read_creation(self, resource_type: ResourceType, body: bytes, content_type: str | None) -> Resource[Any]:
        resource = super().read_creation(resource_type, body, content_type)
        if self.genesys and isinstance(resource, User):
            check_genesys_user(resource)
        return resource


def check_genesys_user(user: User) -> None:
    """Raise InvalidValueException when a user lacks what Genesys requires on creation."""
    if not user.display_name or not user.display_name.strip():
        raise InvalidValueException(detail="displayName is required")

    name = user.user_name or ""
    local, at, domain = name.partition("@")
    if not at or not local or "." not in domain or domain.startswith(".") or domain.endswith(".") or " " in name:
        raise InvalidValueException(detail=f"userName must be an email address, got {name!r}")
