"""Logging for the command line: level from ``SCIM_TUI_LOG_LEVEL``, secrets redacted at every level.

Redaction is a filter on the handler, so it also covers records from httpx,
httpcore and any other library, at DEBUG too. It replaces every registered
secret value and anything that looks like a bearer token or an access token
in a JSON body.
"""

from __future__ import annotations

import logging
import re
import sys
import threading

REDACTED = "[redacted]"

_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]+"),
    re.compile(r"""(?i)(["']?(?:access_token|client_secret|refresh_token|password)["']?\s*[:=]\s*["']?)[^"',&\s]+"""),
)

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Add ``value`` to the strings that are never written to a log."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now, redacted, so the handler does not format the raw one.
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        return True


def configure(default_level: str = "INFO", stream=None) -> logging.Handler:
    """Send log records to ``stream`` (stderr) through the redacting filter.

    The level is SCIM_TUI_LOG_LEVEL from the environment or ``.env``, else ``default_level``.
    """
    from scim_tui.config import configured_log_level

    level = configured_log_level() or default_level
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request at INFO; the engine already logs what matters.
    noisy_level = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(noisy_level)
    return handler
