"""SCIM filter expressions (RFC 7644 section 3.4.2.2) built from untrusted values."""

from __future__ import annotations

import json
import re

# In a Python str, a code point in this range is always unpaired: valid pairs are
# decoded into one character. JSON input such as "\ud800" can produce one.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def quote_filter_value(value: str) -> str:
    """Quote ``value`` as a SCIM filter string literal.

    SCIM filter strings are JSON strings (RFC 7644 section 3.4.2.2 refers to
    RFC 7159 for ``compValue``), so JSON escaping covers quotes, backslashes
    and control characters. Percent-encoding of the query is left to httpx,
    which encodes ``+``, ``&``, ``#`` and ``%`` in parameter values.

    A lone surrogate is written as a ``\\uXXXX`` escape, because it cannot be
    encoded as UTF-8 and httpx would raise UnicodeEncodeError while building the URL.
    """
    quoted = json.dumps(value, ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", quoted)


def equals_filter(attribute: str, value: str) -> str:
    return f"{attribute} eq {quote_filter_value(value)}"
