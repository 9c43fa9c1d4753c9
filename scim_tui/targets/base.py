"""What the engine needs to know about a SCIM server, apart from what discovery tells it."""

from __future__ import annotations

from abc import ABC, abstractmethod

import httpx


class CredentialsRejected(Exception):
    """The server rejected fresh credentials; the run cannot continue without operator action."""


class Target(ABC):
    """A SCIM service provider the engine sends users to.

    A target supplies the SCIM base URL, the authorization header for each
    request and the filters that find an existing user. It never exposes a
    secret: :meth:`describe` is safe to log and to write to reports.
    """

    #: Short name used in reports and on screen.
    kind: str = "generic"

    #: Path of the Users endpoint relative to the base URL.
    users_path: str = "Users"

    #: Largest ``count`` a list request may ask for, or None when the server sets no limit.
    max_page_size: int | None = None

    #: Whether userName must be an email address on this target.
    user_name_is_email: bool = False

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    @abstractmethod
    async def auth_headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        """Return the headers that authorize one request, fetching credentials if needed."""

    async def refresh_credentials(self, client: httpx.AsyncClient, rejected_headers: dict[str, str]) -> bool:
        """Replace credentials after a 401 on a request sent with ``rejected_headers``.

        Returns True when new credentials are in place and the request may be
        sent once more, False when there is nothing to refresh (a static token).
        Concurrent callers that saw the same rejected token share one refresh.
        """
        return False

    def lookup_filters(self, user_name: str) -> list[str]:
        """Return the SCIM filters to try, in order, to find a user by userName."""
        from scim_tui.scim.filters import equals_filter

        return [equals_filter("userName", user_name)]

    def service_provider_config_paths(self) -> list[str]:
        """Return the discovery paths to try, in order: servers differ in case."""
        return ["ServiceProviderConfig", "serviceproviderconfig", "serviceProviderConfig", "ServiceProviderConfigs"]

    def describe(self) -> dict[str, object]:
        """Return the target's settings for reports and logs, with no secret in them."""
        return {"kind": self.kind, "base_url": self.base_url}
