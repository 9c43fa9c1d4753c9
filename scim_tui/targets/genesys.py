"""Genesys Cloud as a SCIM target: its hosts, OAuth token and the quirks the engine must respect.

Genesys Cloud serves SCIM 2.0 under ``https://api.<domain>/api/v2/scim/v2``
with lowercase paths (``users``, ``serviceproviderconfig``). It has no
``/Bulk`` endpoint, pages lists at 25 users at most and requires userName to
be an email address. A filter without an ``active`` term returns only active
users, so finding an existing inactive user takes a second filter.
Requests carry an OAuth client-credentials token from ``https://login.<domain>``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from scim_tui.config import require_secure_url
from scim_tui.scim.filters import equals_filter
from scim_tui.targets.base import Target
from scim_tui.targets.oauth import ClientCredentialsAuth, RefreshListener, bearer_token

#: Path of the SCIM 2.0 API on the API host.
SCIM_PATH = "/api/v2/scim/v2"

#: Path of the OAuth token endpoint on the login host.
TOKEN_PATH = "/oauth/token"


class GenesysTarget(Target):
    """A Genesys Cloud org, reached with an OAuth client-credentials client.

    ``api_url`` and ``login_url`` are origins such as ``https://api.mypurecloud.ie``
    and ``https://login.mypurecloud.ie``. A URL that already ends with the
    SCIM path or the token path is accepted as well. Plain ``http://`` is
    accepted only for loopback hosts unless ``allow_insecure_http`` is set.
    """

    kind = "genesys"
    users_path = "users"
    max_page_size = 25
    user_name_is_email = True

    def __init__(
        self,
        *,
        api_url: str,
        login_url: str,
        client_id: str,
        client_secret: SecretStr,
        region: str | None = None,
        allow_insecure_http: bool = False,
        on_refresh: RefreshListener | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        api = require_secure_url(api_url, name="the Genesys API URL", allow_insecure_http=allow_insecure_http)
        api = _strip_suffix(api, SCIM_PATH)
        login = require_secure_url(login_url, name="the Genesys login URL", allow_insecure_http=allow_insecure_http)
        login = _strip_suffix(login, TOKEN_PATH)
        super().__init__(api + SCIM_PATH)

        self.api_url = api
        self.login_url = login
        self.region = region
        self._auth = ClientCredentialsAuth(
            login + TOKEN_PATH, client_id, client_secret, on_refresh=on_refresh, clock=clock, sleep=sleep
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, login_url={self.login_url!r}, "
            f"client_id={self._auth.client_id!r})"
        )

    @property
    def oauth(self) -> ClientCredentialsAuth:
        """The token cache, for front ends that show the token's remaining lifetime."""
        return self._auth

    @property
    def on_refresh(self) -> RefreshListener | None:
        """Listener called with the reason and lifetime after each new token, for the engine's events."""
        return self._auth.on_refresh

    @on_refresh.setter
    def on_refresh(self, listener: RefreshListener | None) -> None:
        self._auth.on_refresh = listener

    async def auth_headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        return await self._auth.headers(client)

    async def refresh_credentials(self, client: httpx.AsyncClient, rejected_headers: dict[str, str]) -> bool:
        """Replace the token that ``rejected_headers`` carried and wait for the new one.

        Always returns True, because a fresh token can always be requested.
        Raises CredentialsRejected when the token endpoint rejects the
        client id or secret, so the engine stops instead of retrying.
        """
        self._auth.invalidate(bearer_token(rejected_headers))
        await self._auth.access_token(client)
        return True

    def lookup_filters(self, user_name: str) -> list[str]:
        """Return the filter for an active user, then for an inactive one.

        Genesys Cloud lists only active users unless the filter contains
        ``active eq false``, so a user that exists but is inactive is
        found only by the second filter.
        """
        active_user = equals_filter("userName", user_name)
        return [active_user, f"{active_user} and active eq false"]

    def service_provider_config_paths(self) -> list[str]:
        paths = ["serviceproviderconfig"]
        paths.extend(path for path in super().service_provider_config_paths() if path not in paths)
        return paths

    def describe(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "base_url": self.base_url,
            "region": self.region,
            "api_host": urlsplit(self.api_url).netloc,
            "login_host": urlsplit(self.login_url).netloc,
            "token_url": self._auth.token_url,
            "client_id": self._auth.client_id,
        }


def _strip_suffix(url: str, suffix: str) -> str:
    if url.lower().endswith(suffix):
        return url[: -len(suffix)].rstrip("/")
    return url
