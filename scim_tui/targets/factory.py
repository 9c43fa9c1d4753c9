"""Build targets from :class:`~scim_tui.config.Settings`, checking every setting before any connection."""

from __future__ import annotations

from scim_tui import config
from scim_tui.config import ConfigError, Settings, require_secure_url
from scim_tui.targets import regions
from scim_tui.targets.generic import GenericTarget
from scim_tui.targets.genesys import GenesysTarget


def genesys_target_from_settings(settings: Settings, *, allow_insecure_http: bool = False) -> GenesysTarget:
    """Build the Genesys Cloud target from the GENESYS_* settings.

    The hosts come from GENESYS_REGION; GENESYS_API_URL and GENESYS_LOGIN_URL
    override them one by one, and with both set the region may be left out.
    Raises ConfigError naming the first missing or invalid variable.
    """
    if settings.genesys_client_id is None:
        raise settings.missing(config.GENESYS_CLIENT_ID)
    if settings.genesys_client_secret is None:
        raise settings.missing(config.GENESYS_CLIENT_SECRET)
    if ":" in settings.genesys_client_id:
        raise ConfigError(
            f"{config.GENESYS_CLIENT_ID} must not contain ':'. "
            "Copy the client id from the OAuth client's page in Genesys Cloud"
        )

    region_name: str | None = None
    domain: str | None = None
    if settings.genesys_region is not None:
        try:
            domain = regions.resolve_domain(settings.genesys_region)
        except ValueError as exc:
            raise ConfigError(f"{config.GENESYS_REGION} is invalid: {exc}") from None
        region_name = regions.region_of_domain(domain)

    missing_region = settings.missing(
        config.GENESYS_REGION,
        alternative=f"set both {config.GENESYS_API_URL} and {config.GENESYS_LOGIN_URL}",
    )

    if settings.genesys_api_url is not None:
        api_url = require_secure_url(
            settings.genesys_api_url, name=config.GENESYS_API_URL, allow_insecure_http=allow_insecure_http
        )
    elif domain is not None:
        api_url = regions.api_url(domain)
    else:
        raise missing_region

    if settings.genesys_login_url is not None:
        login_url = require_secure_url(
            settings.genesys_login_url, name=config.GENESYS_LOGIN_URL, allow_insecure_http=allow_insecure_http
        )
    elif domain is not None:
        login_url = regions.login_url(domain)
    else:
        raise missing_region

    return GenesysTarget(
        api_url=api_url,
        login_url=login_url,
        client_id=settings.genesys_client_id,
        client_secret=settings.genesys_client_secret,
        region=region_name,
        allow_insecure_http=allow_insecure_http,
    )


def generic_target_from_settings(url: str, settings: Settings, *, allow_insecure_http: bool = False) -> GenericTarget:
    """Build a generic SCIM target for the base ``url``, authenticated with SCIM_TOKEN when it is set."""
    base_url = require_secure_url(url, name="the SCIM base URL", allow_insecure_http=allow_insecure_http)
    return GenericTarget(base_url, settings.scim_token)
