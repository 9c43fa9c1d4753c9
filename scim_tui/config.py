"""Typed settings from the environment and an optional ``.env`` file.

Secrets (the Genesys client secret and a generic SCIM bearer token) come only
from the environment or a ``.env`` file, never from the command line, where
they would land in shell history and in the process list. A ``.env`` file is
read only when the caller asks for it, so tests and library users are not
affected by a stray file in the working directory. Variables already set in
the environment win over the file.

URLs given by the operator are checked here, before any connection is made:
plain ``http://`` is accepted only for loopback hosts (the simulator and local
test servers) unless insecure HTTP is allowed explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
import ipaddress
import logging
import os
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import SecretStr

GENESYS_REGION = "GENESYS_REGION"
GENESYS_CLIENT_ID = "GENESYS_CLIENT_ID"
GENESYS_CLIENT_SECRET = "GENESYS_CLIENT_SECRET"
GENESYS_API_URL = "GENESYS_API_URL"
GENESYS_LOGIN_URL = "GENESYS_LOGIN_URL"
SCIM_TOKEN = "SCIM_TOKEN"
SCIM_TUI_LOG_LEVEL = "SCIM_TUI_LOG_LEVEL"

#: Every variable this module reads, in the order the documentation lists them.
VARIABLES = (
    GENESYS_REGION,
    GENESYS_CLIENT_ID,
    GENESYS_CLIENT_SECRET,
    GENESYS_API_URL,
    GENESYS_LOGIN_URL,
    SCIM_TOKEN,
    SCIM_TUI_LOG_LEVEL,
)

DEFAULT_ENV_FILE_NAME = ".env"

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_HINTS = {
    GENESYS_REGION: "a region name such as eu-west-1 or a domain such as mypurecloud.ie",
    GENESYS_CLIENT_ID: "the client id of a Genesys Cloud OAuth client with the Client Credentials grant",
    GENESYS_CLIENT_SECRET: "that OAuth client's secret",
    GENESYS_API_URL: "an API origin such as https://api.mypurecloud.ie",
    GENESYS_LOGIN_URL: "a login origin such as https://login.mypurecloud.ie",
    SCIM_TOKEN: "the bearer token of the SCIM server",
    SCIM_TUI_LOG_LEVEL: "one of " + ", ".join(_LOG_LEVELS),
}


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable and how to fix it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Settings read from the environment and, when requested, a ``.env`` file.

    Empty values count as unset. Secrets are :class:`~pydantic.SecretStr`, so
    ``repr`` and ``str`` of a Settings object never show them.
    """

    genesys_region: str | None = None
    genesys_client_id: str | None = None
    genesys_client_secret: SecretStr | None = None
    genesys_api_url: str | None = None
    genesys_login_url: str | None = None
    scim_token: SecretStr | None = None
    log_level: str = "INFO"
    env_file: Path | None = None
    """The ``.env`` file that was read, or None when none was."""

    @property
    def log_level_number(self) -> int:
        """The log level as a :mod:`logging` number."""
        return logging.getLevelName(self.log_level)

    def missing(self, variable: str, *, alternative: str | None = None) -> ConfigError:
        """Build the error for a required variable that is not set."""
        return missing_variable_error(variable, alternative=alternative, env_file=self.env_file)


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    read_env_file: bool = False,
    env_file: str | Path | None = None,
) -> Settings:
    """Read the settings from ``environ`` (default: ``os.environ``).

    With ``read_env_file=True`` the ``.env`` file in the current directory is
    read as well, if it exists. ``env_file`` names another file, which must
    exist. Values from the environment take precedence over the file, and
    ``os.environ`` itself is never changed. Raises ConfigError for an invalid
    log level or a missing ``env_file``.
    """
    values: dict[str, str] = {}
    used_file: Path | None = None

    if env_file is not None:
        used_file = Path(env_file)
        if not used_file.is_file():
            raise ConfigError(f"the settings file {str(used_file)!r} does not exist")
    elif read_env_file:
        candidate = Path.cwd() / DEFAULT_ENV_FILE_NAME
        used_file = candidate if candidate.is_file() else None

    if used_file is not None:
        values.update(_read_env_file(used_file))

    source = os.environ if environ is None else environ
    for name in VARIABLES:
        value = source.get(name)
        if value is not None and value.strip():
            values[name] = value

    return Settings(
        genesys_region=_text(values, GENESYS_REGION),
        genesys_client_id=_text(values, GENESYS_CLIENT_ID),
        genesys_client_secret=_secret(values, GENESYS_CLIENT_SECRET),
        genesys_api_url=_text(values, GENESYS_API_URL),
        genesys_login_url=_text(values, GENESYS_LOGIN_URL),
        scim_token=_secret(values, SCIM_TOKEN),
        log_level=_log_level(values.get(SCIM_TUI_LOG_LEVEL)),
        env_file=used_file,
    )


def missing_variable_error(
    variable: str, *, alternative: str | None = None, env_file: Path | None = None
) -> ConfigError:
    """Build the error for a required variable that is not set, saying where to set it."""
    hint = _HINTS.get(variable, "its value")
    if env_file is not None:
        where = f"the environment or in {env_file}"
    else:
        where = "the environment or in a .env file in the current directory"
    message = f"{variable} is not set. Set it in {where}: {variable}=<{hint}>"
    if alternative:
        message += f", or {alternative}"
    return ConfigError(message)


def is_loopback_host(host: str) -> bool:
    """Return True for ``localhost`` and for addresses in 127.0.0.0/8 or ``::1``."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def require_secure_url(url: str, *, name: str, allow_insecure_http: bool = False) -> str:
    """Check an operator-supplied base URL and return it without a trailing slash.

    A URL without a scheme is taken as ``https://``. ``name`` is what the
    message calls the value, usually the variable it came from. Raises
    ConfigError for a scheme other than http or https, a missing host, a
    user name or password in the URL, a query or fragment, and for plain
    ``http://`` to a host that is not loopback unless ``allow_insecure_http``.
    """
    text = url.strip()
    if "://" not in text:
        text = "https://" + text

    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{name} is not a valid URL ({exc}): {url.strip()!r}") from None

    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme not in ("http", "https"):
        raise ConfigError(f"{name} must start with https:// (got {url.strip()!r})")
    if not host:
        raise ConfigError(f"{name} has no host name: {url.strip()!r}")
    if parts.username is not None or parts.password is not None:
        # Reported without the URL, because the password would be in the message.
        raise ConfigError(f"{name} must not contain a user name or password; credentials come from the environment")
    if parts.query or parts.fragment:
        raise ConfigError(f"{name} must not contain a query or fragment: {url.strip()!r}")
    if port == 0:
        raise ConfigError(f"{name} has an invalid port 0: {url.strip()!r}")

    if scheme == "http" and not allow_insecure_http and not is_loopback_host(host):
        raise ConfigError(
            f"{name} uses plain http:// to {host}, which would send credentials and user data unencrypted. "
            "Use https://. Plain http:// is accepted only for loopback hosts (localhost, 127.0.0.0/8, ::1) "
            "unless insecure HTTP is allowed explicitly (--insecure-http)."
        )

    return f"{scheme}://{parts.netloc}{parts.path}".rstrip("/")


def _read_env_file(path: Path) -> dict[str, str]:
    try:
        raw = dotenv_values(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the settings file {str(path)!r}: {exc}") from None

    # A line with a name and no "=" yields None: treat it as unset.
    return {name: value for name, value in raw.items() if value is not None and value.strip()}


def _text(values: Mapping[str, str], name: str) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    return value.strip() or None


def _secret(values: Mapping[str, str], name: str) -> SecretStr | None:
    # Stripping matters for secrets: a pasted value often ends with a newline or a space.
    value = _text(values, name)
    return None if value is None else SecretStr(value)


def configured_log_level(*, read_env_file: bool = True) -> str | None:
    """Return SCIM_TUI_LOG_LEVEL from the environment or ``.env``, normalised, or None when unset.

    Raises ConfigError for a value that is not a log level.
    """
    value = os.environ.get(SCIM_TUI_LOG_LEVEL)
    if (value is None or not value.strip()) and read_env_file:
        candidate = Path.cwd() / DEFAULT_ENV_FILE_NAME
        if candidate.is_file():
            value = _read_env_file(candidate).get(SCIM_TUI_LOG_LEVEL)
    if value is None or not value.strip():
        return None
    return _log_level(value)


def _log_level(value: str | None) -> str:
    if value is None or not value.strip():
        return "INFO"

    level = value.strip().upper()
    if level == "WARN":
        level = "WARNING"
    if level not in _LOG_LEVELS:
        raise ConfigError(f"{SCIM_TUI_LOG_LEVEL} is invalid: {value.strip()!r}. Use {_HINTS[SCIM_TUI_LOG_LEVEL]}")
    return level
