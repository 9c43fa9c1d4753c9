"""SCIM filter expressions (RFC 7644 section 3.4.2.2) built from untrusted values."""

from __future__ import annotations

import json


def quote_filter_value(value: str) -> str:
    """Quote ``value`` as a SCIM filter string literal.

    SCIM filter strings are JSON strings (RFC 7644 section 3.4.2.2 refers to
    RFC 7159 for ``compValue``), so JSON escaping covers quotes, backslashes
    and control characters. Percent-encoding of the query is left to httpx,
    which encodes ``+``, ``&``, ``#`` and ``%`` in parameter values.
    """
    return json.dumps(value, ensure_ascii=False)


def equals_filter(attribute: str, value: str) -> str:
    return f"{attribute} eq {quote_filter_value(value)}"
