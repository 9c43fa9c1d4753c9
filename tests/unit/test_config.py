"""Unit tests of settings loading, URL checks and the target factories."""

from __future__ import annotations

import logging
import os

from pydantic import SecretStr
import pytest

from scim_tui.config import (
    ConfigError,
    Settings,
    is_loopback_host,
    load_settings,
    require_secure_url,
)
from scim_tui.targets.factory import generic_target_from_settings, genesys_target_from_settings
from scim_tui.targets.generic import GenericTarget
from scim_tui.targets.genesys import GenesysTarget

SECRET = "dotenv-secret-Q7+/="

GENESYS_ENV = {
    "GENESYS_REGION": "eu-central-1",
    "GENESYS_CLIENT_ID": "client-from-env",
    "GENESYS_CLIENT_SECRET": SECRET,
}


@pytest.fixture
def no_genesys_environment(monkeypatch):
    for name in (
        "GENESYS_REGION",
        "GENESYS_CLIENT_ID",
        "GENESYS_CLIENT_SECRET",
        "GENESYS_API_URL",
        "GENESYS_LOGIN_URL",
        "SCIM_TOKEN",
        "SCIM_TUI_LOG_LEVEL",
    ):
        monkeypatch.delenv(name, raising=False)


def test_settings_from_mapping():
    settings = load_settings({**GENESYS_ENV, "SCIM_TOKEN": " bearer-value \n", "SCIM_TUI_LOG_LEVEL": "debug"})

    assert settings.genesys_region == "eu-central-1"
    assert settings.genesys_client_id == "client-from-env"
    assert isinstance(settings.genesys_client_secret, SecretStr)
    assert settings.genesys_client_secret.get_secret_value() == SECRET
    assert settings.scim_token.get_secret_value() == "bearer-value"
    assert settings.log_level == "DEBUG"
    assert settings.log_level_number == logging.DEBUG
    assert settings.env_file is None


def test_empty_values_count_as_unset():
    settings = load_settings({"GENESYS_REGION": "", "GENESYS_CLIENT_SECRET": "   "})

    assert settings.genesys_region is None
    assert settings.genesys_client_secret is None


def test_settings_repr_hides_secrets():
    settings = load_settings({**GENESYS_ENV, "SCIM_TOKEN": "bearer-value"})

    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert "bearer-value" not in repr(settings)


@pytest.mark.parametrize(("value", "level"), [(None, "INFO"), ("warn", "WARNING"), ("Error", "ERROR")])
def test_log_level_forms(value, level):
    environ = {} if value is None else {"SCIM_TUI_LOG_LEVEL": value}

    assert load_settings(environ).log_level == level


def test_log_level_invalid():
    with pytest.raises(ConfigError, match="SCIM_TUI_LOG_LEVEL is invalid: 'chatty'"):
        load_settings({"SCIM_TUI_LOG_LEVEL": "chatty"})


def test_env_file_ignored_unless_requested(tmp_path, monkeypatch, no_genesys_environment):
    (tmp_path / ".env").write_text(f"GENESYS_CLIENT_SECRET={SECRET}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    settings = load_settings()

    assert settings.genesys_client_secret is None
    assert settings.env_file is None


def test_env_file_in_current_directory(tmp_path, monkeypatch, no_genesys_environment):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# Genesys sandbox\n"
        "GENESYS_REGION=eu-west-1\n"
        "export GENESYS_CLIENT_ID=client-from-file\n"
        f'GENESYS_CLIENT_SECRET="{SECRET}"\n'
        "SCIM_TUI_LOG_LEVEL\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)

    settings = load_settings(read_env_file=True)

    assert settings.genesys_region == "eu-west-1"
    assert settings.genesys_client_id == "client-from-file"
    assert settings.genesys_client_secret.get_secret_value() == SECRET
    assert settings.log_level == "INFO"
    assert settings.env_file == env_file


def test_environment_wins_over_env_file(tmp_path, monkeypatch, no_genesys_environment):
    (tmp_path / ".env").write_text("GENESYS_REGION=eu-west-1\nGENESYS_CLIENT_ID=from-file\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GENESYS_REGION", "ap-south-1")

    settings = load_settings(read_env_file=True)

    assert settings.genesys_region == "ap-south-1"
    assert settings.genesys_client_id == "from-file"


def test_env_file_does_not_change_os_environ(tmp_path, monkeypatch, no_genesys_environment):
    (tmp_path / ".env").write_text("GENESYS_CLIENT_ID=from-file\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    load_settings(read_env_file=True)

    assert "GENESYS_CLIENT_ID" not in os.environ


def test_missing_env_file_without_error(tmp_path, monkeypatch, no_genesys_environment):
    monkeypatch.chdir(tmp_path)

    assert load_settings(read_env_file=True).env_file is None


def test_explicit_env_file_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({}, env_file=tmp_path / "missing.env")


def test_explicit_env_file_read(tmp_path):
    env_file = tmp_path / "sandbox.env"
    env_file.write_text("GENESYS_REGION=us-west-2\n", encoding="utf-8")

    settings = load_settings({}, env_file=env_file)

    assert settings.genesys_region == "us-west-2"
    assert settings.env_file == env_file


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST", "127.0.0.1", "127.10.20.30", "::1", "[::1]"],
)
def test_loopback_hosts(host):
    assert is_loopback_host(host) is True


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "localhost.example.com",
        "10.0.0.1",
        "128.0.0.1",
        "0.0.0.0",
        "::",
        "169.254.169.254",
        "::ffff:8.8.8.8",
    ],
)
def test_non_loopback_hosts(host):
    assert is_loopback_host(host) is False


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.mypurecloud.ie/", "https://api.mypurecloud.ie"),
        ("api.mypurecloud.ie", "https://api.mypurecloud.ie"),
        ("HTTPS://scim.example.com/scim/v2/", "https://scim.example.com/scim/v2"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("http://localhost:8123/scim/v2", "http://localhost:8123/scim/v2"),
        ("http://[::1]:8123", "http://[::1]:8123"),
    ],
)
def test_secure_url_accepted(url, expected):
    assert require_secure_url(url, name="TEST_URL") == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://scim.example.com", "plain http:// to scim.example.com"),
        ("http://10.1.2.3:8080", "plain http:// to 10.1.2.3"),
        ("ftp://scim.example.com", "must start with https://"),
        ("https://", "has no host name"),
        ("https://user:hunter2@scim.example.com", "must not contain a user name or password"),
        ("https://scim.example.com/scim?x=1", "must not contain a query"),
        ("https://scim.example.com:99999", "not a valid URL"),
    ],
)
def test_secure_url_rejected(url, message):
    with pytest.raises(ConfigError, match="TEST_URL") as caught:
        require_secure_url(url, name="TEST_URL")

    assert message in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_insecure_http_allowed_explicitly():
    url = require_secure_url("http://scim.example.com/", name="TEST_URL", allow_insecure_http=True)

    assert url == "http://scim.example.com"


def test_genesys_factory_from_region():
    target = genesys_target_from_settings(load_settings(GENESYS_ENV))

    assert isinstance(target, GenesysTarget)
    assert target.base_url == "https://api.mypurecloud.de/api/v2/scim/v2"
    assert target.oauth.token_url == "https://login.mypurecloud.de/oauth/token"
    assert target.describe()["region"] == "eu-central-1"
    assert target.describe()["client_id"] == "client-from-env"


def test_genesys_factory_region_as_domain():
    settings = load_settings({**GENESYS_ENV, "GENESYS_REGION": "https://apps.mypurecloud.jp"})

    target = genesys_target_from_settings(settings)

    assert target.base_url == "https://api.mypurecloud.jp/api/v2/scim/v2"
    assert target.describe()["region"] == "ap-northeast-1"


def test_genesys_factory_host_overrides_without_region():
    environ = {
        "GENESYS_CLIENT_ID": "sim",
        "GENESYS_CLIENT_SECRET": SECRET,
        "GENESYS_API_URL": "http://127.0.0.1:8700",
        "GENESYS_LOGIN_URL": "http://127.0.0.1:8701/",
    }

    target = genesys_target_from_settings(load_settings(environ))

    assert target.base_url == "http://127.0.0.1:8700/api/v2/scim/v2"
    assert target.oauth.token_url == "http://127.0.0.1:8701/oauth/token"
    assert target.describe()["region"] is None


def test_genesys_factory_one_override_with_region():
    environ = {**GENESYS_ENV, "GENESYS_API_URL": "https://scim-proxy.example.net"}

    target = genesys_target_from_settings(load_settings(environ))

    assert target.base_url == "https://scim-proxy.example.net/api/v2/scim/v2"
    assert target.oauth.token_url == "https://login.mypurecloud.de/oauth/token"


@pytest.mark.parametrize(
    ("removed", "message"),
    [
        ("GENESYS_CLIENT_ID", "GENESYS_CLIENT_ID is not set"),
        ("GENESYS_CLIENT_SECRET", "GENESYS_CLIENT_SECRET is not set"),
        ("GENESYS_REGION", "GENESYS_REGION is not set"),
    ],
)
def test_genesys_factory_missing_variable(removed, message):
    environ = {name: value for name, value in GENESYS_ENV.items() if name != removed}

    with pytest.raises(ConfigError) as caught:
        genesys_target_from_settings(load_settings(environ))

    assert message in str(caught.value)
    assert ".env" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_genesys_factory_missing_region_mentions_overrides():
    environ = {name: value for name, value in GENESYS_ENV.items() if name != "GENESYS_REGION"}
    environ["GENESYS_API_URL"] = "https://api.mypurecloud.ie"

    with pytest.raises(ConfigError, match="set both GENESYS_API_URL and GENESYS_LOGIN_URL"):
        genesys_target_from_settings(load_settings(environ))


def test_genesys_factory_missing_variable_names_env_file(tmp_path):
    env_file = tmp_path / "sandbox.env"
    env_file.write_text("GENESYS_REGION=eu-west-1\n", encoding="utf-8")

    with pytest.raises(ConfigError, match="sandbox.env"):
        genesys_target_from_settings(load_settings({}, env_file=env_file))


def test_genesys_factory_unknown_region():
    with pytest.raises(ConfigError, match="GENESYS_REGION is invalid: unknown Genesys Cloud region"):
        genesys_target_from_settings(load_settings({**GENESYS_ENV, "GENESYS_REGION": "moon-1"}))


def test_genesys_factory_remote_http_rejected():
    environ = {**GENESYS_ENV, "GENESYS_LOGIN_URL": "http://login.mypurecloud.de"}

    with pytest.raises(ConfigError, match="GENESYS_LOGIN_URL uses plain http://"):
        genesys_target_from_settings(load_settings(environ))


def test_genesys_factory_remote_http_allowed_explicitly():
    environ = {**GENESYS_ENV, "GENESYS_API_URL": "http://gateway.example.net"}

    target = genesys_target_from_settings(load_settings(environ), allow_insecure_http=True)

    assert target.base_url == "http://gateway.example.net/api/v2/scim/v2"


def test_genesys_factory_client_id_with_colon():
    with pytest.raises(ConfigError, match="GENESYS_CLIENT_ID must not contain ':'"):
        genesys_target_from_settings(load_settings({**GENESYS_ENV, "GENESYS_CLIENT_ID": "a:b"}))


async def test_generic_factory_with_token():
    settings = load_settings({"SCIM_TOKEN": "bearer-value"})

    target = generic_target_from_settings("https://scim.example.com/scim/v2/", settings)

    assert isinstance(target, GenericTarget)
    assert target.base_url == "https://scim.example.com/scim/v2"
    assert await target.auth_headers(None) == {"Authorization": "Bearer bearer-value"}
    assert "bearer-value" not in str(target.describe())


async def test_generic_factory_without_token():
    target = generic_target_from_settings("http://127.0.0.1:9000/scim/v2", Settings())

    assert await target.auth_headers(None) == {}
    assert target.describe()["auth"] == "none"


def test_generic_factory_remote_http_rejected():
    with pytest.raises(ConfigError, match="the SCIM base URL uses plain http://"):
        generic_target_from_settings("http://scim.example.com/scim/v2", Settings())
