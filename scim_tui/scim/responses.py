"""Reading what SCIM servers send back, leniently: servers differ in the details.

Response bodies are untrusted input. Nothing here raises on an odd body: it
returns what it could read, and the caller decides.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import re
from typing import Any

_STATUS_IN_TEXT = re.compile(r"\b([1-5]\d\d)\b")
_MAX_DETAIL = 500


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """The useful part of an error body: the SCIM Error schema or the Genesys platform error body."""

    scim_type: str | None
    detail: str | None


def parse_json(body: bytes) -> Any:
    """Return the parsed JSON of ``body``, or None when it is empty or not JSON."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


_CONTROL_CHARACTERS = dict.fromkeys([*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)])


def _short(text: str) -> str:
    """Return ``text`` on one line, with control characters escaped and at most 500 characters.

    Server text reaches terminals, logs and spreadsheets: an escape sequence in
    it could clear a screen or retitle a window, so it is shown as ``\\x1b``.
    """
    text = " ".join(text.split())
    if any(ord(character) in _CONTROL_CHARACTERS for character in text):
        text = "".join(
            f"\\x{ord(character):02x}" if ord(character) in _CONTROL_CHARACTERS else character for character in text
        )
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def read_error(document: Any, body: bytes = b"") -> ErrorInfo:
    """Extract scimType and a one-line detail from an error response body."""
    if isinstance(document, dict):
        scim_type = document.get("scimType")
        detail = document.get("detail") or document.get("message") or document.get("error_description")
        if detail is None and document.get("errors"):
            detail = str(document["errors"])
        code = document.get("code")
        if detail and code and isinstance(code, str) and code not in detail:
            detail = f"{detail} ({code})"
        return ErrorInfo(
            scim_type=str(scim_type) if scim_type else None,
            detail=_short(str(detail)) if detail else None,
        )
    if body:
        return ErrorInfo(None, _short(body.decode("utf-8", "replace")))
    return ErrorInfo(None, None)


def parse_status(value: Any) -> int | None:
    """Read a per-operation status in any encoding servers use.

    Seen in the wild: ``"201"`` (RFC 7644), ``201``, ``{"code": "201"}`` and
    ``{"code": 201}`` (SCIM drafts), ``"201 Created"`` and ``"HTTP/1.1 201 Created"``.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 100 <= value <= 599 else None
    if isinstance(value, float) and value.is_integer():
        return parse_status(int(value))
    if isinstance(value, dict):
        return parse_status(value.get("code", value.get("status")))
    if isinstance(value, str):
        match = _STATUS_IN_TEXT.search(value)
        return int(match.group(1)) if match else None
    return None


def id_from_location(location: Any) -> str | None:
    """Return the last path segment of a resource location URL."""
    if not isinstance(location, str) or not location.strip():
        return None
    path = location.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    segment = path.rsplit("/", 1)[-1]
    return segment or None


def resource_id(document: Any, location_header: str | None = None) -> str | None:
    """Return the id of the resource a 2xx response identifies, or None."""
    if isinstance(document, dict):
        value = document.get("id")
        if isinstance(value, (str, int)) and str(value):
            return str(value)
        from_meta = id_from_location((document.get("meta") or {}).get("location") if isinstance(document.get("meta"), dict) else None)
        if from_meta:
            return from_meta
    return id_from_location(location_header)


@dataclass(frozen=True, slots=True)
class FoundUser:
    id: str
    user_name: str | None
    created: str | None
    active: bool | None


def first_listed_user(document: Any, user_name: str) -> FoundUser | None:
    """Return the listed user whose userName equals ``user_name`` case-insensitively.

    The match is checked here because a lenient server may answer a filter it
    does not support with an unfiltered list.
    """
    if not isinstance(document, dict):
        return None
    resources = document.get("Resources") or document.get("resources") or []
    if not isinstance(resources, list):
        return None
    wanted = user_name.casefold()
    for resource in resources:
        if not isinstance(resource, dict):
            continue
        name = resource.get("userName")
        if isinstance(name, str) and name.casefold() == wanted and resource.get("id"):
            meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
            active = resource.get("active")
            return FoundUser(str(resource["id"]), name, meta.get("created"), active if isinstance(active, bool) else None)
    return None
