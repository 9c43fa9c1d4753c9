"""Genesys Cloud regions and the domains their API and login hosts live under.

Every Genesys Cloud org lives in one region. Its API host is ``api.<domain>``
and its login (OAuth) host is ``login.<domain>``. Operators copy whatever
their admin console or browser shows, so :func:`resolve_domain` accepts a
region name, a bare domain, a host name or a URL, and returns the domain.
Sandboxes, proxies and the built-in simulator bypass this table through the
host overrides in :mod:`scim_tui.config`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping
from urllib.parse import urlsplit

#: Region name -> domain, as in the PureCloudRegionHosts enum of Genesys's platform client SDKs.
REGIONS: Mapping[str, str] = MappingProxyType(
    {
        "us-east-1": "mypurecloud.com",
        "us-east-2": "use2.us-gov-pure.cloud",
        "us-west-2": "usw2.pure.cloud",
        "ca-central-1": "cac1.pure.cloud",
        "sa-east-1": "sae1.pure.cloud",
        "mx-central-1": "mxc1.pure.cloud",
        "eu-west-1": "mypurecloud.ie",
        "eu-west-2": "euw2.pure.cloud",
        "eu-central-1": "mypurecloud.de",
        "eu-central-2": "euc2.pure.cloud",
        "me-central-1": "mec1.pure.cloud",
        "ap-southeast-2": "mypurecloud.com.au",
        "ap-northeast-1": "mypurecloud.jp",
        "ap-northeast-2": "apne2.pure.cloud",
        "ap-northeast-3": "apne3.pure.cloud",
        "ap-south-1": "aps1.pure.cloud",
        "ap-southeast-1": "apse1.pure.cloud",
    }
)

_DOMAIN_TO_REGION: Mapping[str, str] = MappingProxyType({domain: region for region, domain in REGIONS.items()})

# Host prefixes that operators paste along with the domain: the API host, the
# login host and the admin console host.
_HOST_PREFIXES = ("api.", "login.", "apps.")


def resolve_domain(value: str) -> str:
    """Return the Genesys Cloud domain for a region name, domain, host or URL.

    Accepted forms include ``eu-west-1``, ``EU_WEST_1``, ``mypurecloud.ie``,
    ``api.mypurecloud.ie``, ``login.mypurecloud.ie`` and
    ``https://api.mypurecloud.ie/api/v2``. Raises ValueError for any other
    value, listing the region names that are accepted.
    """
    text = value.strip().lower()
    if not text:
        raise ValueError(f"the Genesys Cloud region is empty. {_accepted_values()}")

    region_key = text.replace("_", "-")
    if region_key in REGIONS:
        return REGIONS[region_key]

    host = _host_of(text)
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host[len(prefix) :] in _DOMAIN_TO_REGION:
            host = host[len(prefix) :]
            break
    if host in _DOMAIN_TO_REGION:
        return host

    raise ValueError(f"unknown Genesys Cloud region or domain {value.strip()!r}. {_accepted_values()}")


def region_of_domain(domain: str) -> str | None:
    """Return the region name of a known domain, or None for a domain outside the table."""
    return _DOMAIN_TO_REGION.get(domain.strip().lower())


def api_url(domain: str) -> str:
    """Return the API origin for ``domain``, such as ``https://api.mypurecloud.ie``."""
    return f"https://api.{domain}"


def login_url(domain: str) -> str:
    """Return the login (OAuth) origin for ``domain``, such as ``https://login.mypurecloud.ie``."""
    return f"https://login.{domain}"


def _host_of(text: str) -> str:
    """Strip a scheme, credentials, port, path and trailing dot, leaving the host name."""
    if "://" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname or ""
    except ValueError:
        # An unbalanced IPv6 bracket: not a Genesys host either way.
        return ""
    return host.rstrip(".")


def _accepted_values() -> str:
    names = ", ".join(REGIONS)
    return (
        f"Use a region name ({names}) or its domain (such as mypurecloud.ie). "
        "For a sandbox, proxy or the simulator, set GENESYS_API_URL and GENESYS_LOGIN_URL instead."
    )
