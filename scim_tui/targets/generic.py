"""A generic RFC 7644 service provider with a static bearer token or no authentication."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from scim_tui.targets.base import Target


class GenericTarget(Target):
    kind = "generic"

    def __init__(self, base_url: str, token: SecretStr | None = None) -> None:
        super().__init__(base_url)
        self._token = token

    async def auth_headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        if self._token is None:
            return {}
        return {"Authorization": f"Bearer {self._token.get_secret_value()}"}

    def describe(self) -> dict[str, object]:
        return {"kind": self.kind, "base_url": self.base_url, "auth": "bearer" if self._token else "none"}
