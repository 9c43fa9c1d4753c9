"""Discovery of what the target supports, from its ``ServiceProviderConfig``.

Servers get this resource wrong in many ways: the path's case, missing
fields, no ``bulk`` object, numbers as strings. Discovery reads it leniently
and falls back to per-user mode whenever Bulk is not clearly supported.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import logging
from typing import Any

import httpx

from scim_tui.scim.responses import parse_json
from scim_tui.targets.base import CredentialsRejected, Target
from scim_tui.targets.oauth import TokenRequestFailed

log = logging.getLogger(__name__)


class DiscoveryError(Exception):
    """The target could not be reached or rejected the credentials during discovery."""


@dataclass(frozen=True)
class ServerCapabilities:
    bulk_supported: bool
    max_operations: int | None
    max_payload_size: int | None
    filter_supported: bool
    config_path: str | None
    user_extensions: frozenset[str] | None = None
    """Schema extension URNs the User resource type lists, or None when the server did not list them."""

    @property
    def mode(self) -> str:
        return "bulk" if self.bulk_supported else "per-user"


def _positive_int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _supported(section: Any) -> bool:
    if not isinstance(section, dict):
        return False
    value = next((value for key, value in section.items() if str(key).lower() == "supported"), None)
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def read_capabilities(document: Any, config_path: str | None) -> ServerCapabilities:
    """Turn a ServiceProviderConfig document into capabilities, defaulting whatever is missing."""
    if not isinstance(document, dict):
        return ServerCapabilities(False, None, None, True, config_path)

    lowered = {str(key).lower(): value for key, value in document.items()}
    bulk = lowered.get("bulk")
    if isinstance(bulk, dict):
        bulk = {str(key).lower(): value for key, value in bulk.items()}
    bulk_supported = _supported(bulk)
    max_operations = _positive_int(bulk.get("maxoperations")) if isinstance(bulk, dict) else None
    max_payload = _positive_int(bulk.get("maxpayloadsize")) if isinstance(bulk, dict) else None
    filter_section = lowered.get("filter")
    filter_supported = _supported(filter_section) if isinstance(filter_section, dict) else True
    return ServerCapabilities(bulk_supported, max_operations, max_payload, filter_supported, config_path)


def read_user_extensions(document: Any) -> frozenset[str] | None:
    """Return the schema extensions of the User resource type from a ResourceTypes response."""
    if isinstance(document, dict):
        resources = document.get("Resources") or document.get("resources")
        if resources is None and document.get("id"):
            resources = [document]
    elif isinstance(document, list):
        resources = document
    else:
        return None
    if not isinstance(resources, list):
        return None
    for resource in resources:
        if not isinstance(resource, dict):
            continue
        name = str(resource.get("name") or resource.get("id") or "")
        endpoint = str(resource.get("endpoint") or "")
        if name.lower() != "user" and endpoint.strip("/").lower() != "users":
            continue
        extensions = resource.get("schemaExtensions") or []
        if not isinstance(extensions, list):
            return frozenset()
        return frozenset(
            str(extension["schema"]) for extension in extensions if isinstance(extension, dict) and extension.get("schema")
        )
    return None


async def discover_user_extensions(client: httpx.AsyncClient, target: Target) -> frozenset[str] | None:
    """Read from ResourceTypes which extensions the User resource accepts, or None when the server does not serve it."""
    for path in ("ResourceTypes", "resourcetypes"):
        url = f"{target.base_url}/{path}"
        try:
            response = await client.get(url, headers=await target.auth_headers(client))
        except httpx.HTTPError as error:
            log.warning("cannot read %s: %s", url, error)
            return None
        if response.status_code == 200:
            extensions = read_user_extensions(parse_json(response.content))
            if extensions is not None:
                log.info("User resource type accepts extensions: %s", ", ".join(sorted(extensions)) or "none")
                return extensions
    return None


async def discover(client: httpx.AsyncClient, target: Target) -> ServerCapabilities:
    """Read the target's ServiceProviderConfig, trying the spellings servers use, then its User extensions.

    Raises DiscoveryError when the server cannot be reached or the credentials are rejected.
    """
    try:
        capabilities = await _discover_config(client, target)
        extensions = await discover_user_extensions(client, target)
    except CredentialsRejected as error:
        raise DiscoveryError(f"credentials rejected: {error}") from error
    except TokenRequestFailed as error:
        raise DiscoveryError(f"cannot get an access token: {error}") from error
    return replace(capabilities, user_extensions=extensions)


async def _discover_config(client: httpx.AsyncClient, target: Target) -> ServerCapabilities:
    last_error = "no discovery path returned a configuration"
    for path in target.service_provider_config_paths():
        url = f"{target.base_url}/{path}"
        headers = await target.auth_headers(client)
        try:
            response = await client.get(url, headers=headers)
        except httpx.HTTPError as error:
            raise DiscoveryError(f"cannot reach {target.base_url}: {type(error).__name__}: {error}") from error

        if response.status_code == 401 and await target.refresh_credentials(client, headers):
            response = await client.get(url, headers=await target.auth_headers(client))
        if response.status_code in (401, 403):
            raise DiscoveryError(
                f"{url} returned {response.status_code}: the credentials were rejected or lack permission"
            )
        if response.status_code == 200:
            document = parse_json(response.content)
            if isinstance(document, dict):
                capabilities = read_capabilities(document, path)
                log.info(
                    "discovered %s: %s mode, bulk.maxOperations=%s, bulk.maxPayloadSize=%s",
                    url, capabilities.mode, capabilities.max_operations, capabilities.max_payload_size,
                )
                return capabilities
            last_error = f"{url} returned 200 with a body that is not a JSON object"
        else:
            last_error = f"{url} returned {response.status_code}"

    log.warning("no ServiceProviderConfig found (%s); using per-user mode", last_error)
    return ServerCapabilities(False, None, None, True, None)
