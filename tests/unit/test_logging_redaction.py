"""Unit tests of log redaction: registered secrets and token-shaped values never reach the log, at DEBUG too."""

from __future__ import annotations

import io
import json
import logging

import pytest

from scim_tui import logging_setup
from scim_tui.config import SCIM_TUI_LOG_LEVEL as LEVEL_VARIABLE
from scim_tui.logging_setup import REDACTED, configure, redact, register_secret

SECRET = "k3Y_s3cret-value+/="
ACCESS_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjbGllbnQifQ.c2lnbmF0dXJl-_x"
BASIC = "Y2xpZW50LTE6azNZX3MzY3JldC12YWx1ZSsvPQ=="


@pytest.fixture
def log_output(monkeypatch):
    """Configure logging at DEBUG into a string buffer, and restore the root logger afterwards."""
    root = logging.getLogger()
    saved_handlers = list(root.handlers)
    saved_level = root.level
    monkeypatch.delenv(LEVEL_VARIABLE, raising=False)
    monkeypatch.setattr(logging_setup, "_secrets", set())
    stream = io.StringIO()
    configure("DEBUG", stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)


def logged(stream: io.StringIO) -> str:
    return stream.getvalue()


# ---------------------------------------------------------------- registered secrets


def test_registered_secret_in_message(log_output):
    register_secret(SECRET)
    logging.getLogger("scim_tui.engine.run").debug(f"client secret is {SECRET} today")

    text = logged(log_output)
    assert SECRET not in text
    assert f"client secret is {REDACTED} today" in text


def test_registered_secret_in_arguments(log_output):
    register_secret(SECRET)
    logging.getLogger("scim_tui.targets.oauth").debug("settings: %s and %r", {"secret": SECRET}, SECRET)

    text = logged(log_output)
    assert SECRET not in text
    assert text.count(REDACTED) == 2


def test_registered_secret_in_library_logger(log_output):
    register_secret(SECRET)
    logging.getLogger("httpx").debug("request body grant=%s", SECRET)
    logging.getLogger("httpcore.http11").debug("send_request_body.started %s", SECRET)

    assert SECRET not in logged(log_output)


def test_short_values_not_registered(log_output):
    register_secret("abc")
    register_secret("")
    register_secret(None)
    logging.getLogger("x").debug("abc def")

    assert "abc def" in logged(log_output)


# ---------------------------------------------------------------- token shapes


@pytest.mark.parametrize(
    "message",
    [
        f"Authorization: Bearer {ACCESS_TOKEN}",
        f"headers={{'authorization': 'bearer {ACCESS_TOKEN}'}}",
        f"Authorization: BEARER   {ACCESS_TOKEN}",
    ],
)
def test_bearer_tokens_redacted(log_output, message):
    logging.getLogger("httpx").debug(message)

    text = logged(log_output)
    assert ACCESS_TOKEN not in text
    assert REDACTED in text


@pytest.mark.parametrize("message", [f"Authorization: Basic {BASIC}", f"'authorization': 'basic {BASIC}'"])
def test_basic_credentials_redacted(log_output, message):
    logging.getLogger("scim_tui.targets.oauth").debug(message)

    text = logged(log_output)
    assert BASIC not in text
    assert REDACTED in text


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"access_token": ACCESS_TOKEN, "token_type": "bearer", "expires_in": 86400}),
        json.dumps({"access_token": ACCESS_TOKEN}, indent=2),
        '{"ACCESS_TOKEN" : "' + ACCESS_TOKEN + '"}',
        f"access_token={ACCESS_TOKEN}&token_type=bearer",
        json.dumps({"refresh_token": ACCESS_TOKEN}),
        f"grant_type=client_credentials&client_secret={ACCESS_TOKEN}",
        json.dumps({"password": ACCESS_TOKEN}),
    ],
    ids=["json", "json-indented", "json-upper", "form", "refresh-token", "client-secret-form", "password"],
)
def test_token_fields_redacted(log_output, body):
    logging.getLogger("scim_tui.targets.oauth").debug("token response: %s", body)

    text = logged(log_output)
    assert ACCESS_TOKEN not in text
    assert REDACTED in text


def test_other_json_fields_kept(log_output):
    body = json.dumps({"access_token": ACCESS_TOKEN, "token_type": "bearer", "expires_in": 86400})
    logging.getLogger("x").debug(body)

    text = logged(log_output)
    assert '"expires_in": 86400' in text
    assert '"token_type": "bearer"' in text


def test_token_in_dict_repr_redacted(log_output):
    logging.getLogger("scim_tui.targets.oauth").debug("token response: %s", {"access_token": ACCESS_TOKEN})

    assert ACCESS_TOKEN not in logged(log_output)


# ---------------------------------------------------------------- tracebacks


def test_traceback_redacted(log_output):
    register_secret(SECRET)
    try:
        raise ValueError(f"login failed with secret {SECRET} and Bearer {ACCESS_TOKEN}")
    except ValueError:
        logging.getLogger("scim_tui.engine.run").debug("request failed", exc_info=True)

    text = logged(log_output)
    assert "Traceback (most recent call last)" in text
    assert "ValueError: login failed with secret" in text
    assert SECRET not in text
    assert ACCESS_TOKEN not in text


def test_chained_traceback_redacted(log_output):
    try:
        try:
            raise KeyError(json.dumps({"access_token": ACCESS_TOKEN}))
        except KeyError as inner:
            raise RuntimeError("token refresh failed") from inner
    except RuntimeError:
        logging.getLogger("scim_tui.targets.oauth").exception("refresh failed")

    text = logged(log_output)
    assert "RuntimeError: token refresh failed" in text
    assert "KeyError" in text
    assert ACCESS_TOKEN not in text


def test_exception_as_argument_redacted(log_output):
    register_secret(SECRET)
    error = RuntimeError(f"bad secret {SECRET}")
    logging.getLogger("x").warning("failed: %s", error)

    text = logged(log_output)
    assert SECRET not in text
    assert f"failed: bad secret {REDACTED}" in text


def test_exc_info_tuple_redacted(log_output):
    register_secret(SECRET)
    try:
        raise OSError(SECRET)
    except OSError as error:
        logging.getLogger("x").error("I/O", exc_info=(type(error), error, error.__traceback__))

    assert SECRET not in logged(log_output)


# ---------------------------------------------------------------- ordinary messages and levels


def test_plain_messages_unchanged(log_output):
    logger = logging.getLogger("scim_tui.engine.run")
    logger.info("created %d users in %.1f s", 5, 2.25)
    logger.info("100%% of batch %s", "b1")

    text = logged(log_output)
    assert "created 5 users in 2.2 s" in text
    assert "100% of batch b1" in text


def test_redacted_message_with_percent(log_output):
    register_secret(SECRET)
    logging.getLogger("x").debug("100%% sent with %s", SECRET)

    assert f"100% sent with {REDACTED}" in logged(log_output)


def test_level_from_environment(monkeypatch, log_output):
    monkeypatch.setenv(LEVEL_VARIABLE, "warning")
    stream = io.StringIO()
    configure("DEBUG", stream=stream)

    logging.getLogger("x").debug("hidden debug")
    logging.getLogger("x").warning("shown warning")

    assert "hidden debug" not in stream.getvalue()
    assert "shown warning" in stream.getvalue()


def test_invalid_level_is_rejected(monkeypatch, log_output):
    from scim_tui.config import ConfigError

    monkeypatch.setenv(LEVEL_VARIABLE, "chatty")

    with pytest.raises(ConfigError, match="'chatty'"):
        configure("DEBUG", stream=io.StringIO())


def test_redact_function_directly():
    text = f"Bearer {ACCESS_TOKEN} and Basic {BASIC}"
    cleaned = redact(text)
    assert ACCESS_TOKEN not in cleaned
    assert BASIC not in cleaned
    assert cleaned == f"Bearer {REDACTED} and Basic {REDACTED}"
