"""Error bodies in the three shapes the simulator answers with.

- Genesys platform errors (401, 403, 404, 429, 5xx on the API host):
  ``{"message", "code", "status", "contextId", "details", "errors"}``, with
  ``status`` as a number.
- SCIM errors (RFC 7644 section 3.12), which Genesys also uses for 400 and
  409 on SCIM endpoints: ``status`` is a string there.
- OAuth errors of the Genesys login host (``/oauth/token``):
  ``{"error", "description", "error_description"}``.

NOTE: the Genesys ``code`` values other than ``too.many.requests.retry.after``
and ``too.many.requests`` and the exact messages are the simulator's
imitation; clients should branch on the HTTP status, not on this wording.
"""

from __future__ import annotations

import uuid
from typing import Any

SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"

GENESYS_CODES = {
    400: "bad.request",
    401: "bad.credentials",
    403: "missing.permissions",
    404: "not.found",
    405: "method.not.allowed",
    409: "conflict",
    413: "request.too.large",
    415: "unsupported.media.type",
    429: "too.many.requests",
    500: "internal.server.error",
    501: "not.implemented",
    502: "bad.gateway",
    503: "service.unavailable",
    504: "gateway.timeout",
}

MISSING_TOKEN_MESSAGE = "No authentication bearer token specified in authorization header."
INVALID_TOKEN_MESSAGE = "Invalid login credentials."
DUPLICATE_USER_NAME_DETAIL = "User name already in use by non-deleted user."


def new_context_id() -> str:
    return str(uuid.uuid4())


def genesys_error(status: int, message: str, code: str | None = None, context_id: str | None = None) -> dict[str, Any]:
    """Build a Genesys platform error body; ``code`` defaults to the one usual for ``status``."""
    return {
        "message": message,
        "code": code or GENESYS_CODES.get(status, "error"),
        "status": status,
        "contextId": context_id or new_context_id(),
        "details": [],
        "errors": [],
    }


def rate_limit_message(retry_after: int) -> str:
    return f"Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"


def scim_error(status: int, detail: str, scim_type: str | None = None) -> dict[str, Any]:
    """Build an RFC 7644 error body, with ``status`` as a string as the RFC's examples show."""
    body: dict[str, Any] = {"schemas": [SCIM_ERROR_SCHEMA], "status": str(status)}
    if scim_type:
        body["scimType"] = scim_type
    body["detail"] = detail
    return body


def oauth_error(error: str, description: str) -> dict[str, Any]:
    """Build the error body of the Genesys login host's token endpoint."""
    return {"error": error, "description": description, "error_description": description}
