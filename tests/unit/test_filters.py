"""Unit tests of SCIM filter quoting, and of the query string httpx builds from a filter."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs

import httpx
import pytest

from scim_tui.scim.filters import equals_filter, quote_filter_value

# Every kind of character an email address may contain (RFC 5321/5322 and RFC 6531),
# plus the characters that are special in a URL query.
EMAIL_ADDRESSES = [
    "plain@example.com",
    "first.last@example.com",
    "Mixed.Case@Example.COM",
    "agent+billing@example.com",
    "o'brien@example.com",
    "100%sure@example.com",
    "rock&roll@example.com",
    "hash#tag@example.com",
    "a=b?c/d@example.com",
    "!#$%&'*+-/=?^_`{|}~@example.com",
    '"john doe"@example.com',
    '"john..doe"@example.com',
    '"john\\"doe"@example.com',
    '"back\\\\slash"@example.com',
    '"semi;colon,comma"@example.com',
    "josé.núñez@example.com",
    "zoë.ørsted@example.com",
    "用户@例子.广告",
    "дмитрий@пример.рф",
    "user@[IPv6:2001:db8::1]",
    "emoji😀@example.com",
]


def filter_query(filter_text: str) -> httpx.URL:
    request = httpx.Request("GET", "https://api.example.com/api/v2/scim/v2/users", params={"filter": filter_text})
    return request.url


@pytest.mark.parametrize("address", EMAIL_ADDRESSES)
def test_quoted_value_is_json_string(address):
    quoted = quote_filter_value(address)

    assert quoted.startswith('"')
    assert quoted.endswith('"')
    assert json.loads(quoted) == address


@pytest.mark.parametrize("address", EMAIL_ADDRESSES)
def test_quoted_value_has_no_bare_quote(address):
    inner = quote_filter_value(address)[1:-1]

    # Drop every escape pair: what remains must contain no quote that would end the literal early.
    unescaped = inner.replace("\\\\", "").replace('\\"', "")
    assert '"' not in unescaped


@pytest.mark.parametrize("address", EMAIL_ADDRESSES)
def test_filter_survives_query_encoding(address):
    filter_text = equals_filter("userName", address)

    url = filter_query(filter_text)

    assert parse_qs(url.query.decode("ascii"), strict_parsing=True) == {"filter": [filter_text]}


@pytest.mark.parametrize("address", EMAIL_ADDRESSES)
def test_query_has_no_raw_separators(address):
    url = filter_query(equals_filter("userName", address))
    raw_query = url.query.decode("ascii")

    assert raw_query.startswith("filter=")
    assert "&" not in raw_query
    assert "#" not in raw_query
    assert raw_query.count("=") == 1
    assert re.fullmatch(r"(?:[A-Za-z0-9._~+=*-]|%[0-9A-F]{2})*", raw_query), raw_query


def test_plus_sign_encoded():
    raw_query = filter_query(equals_filter("userName", "agent+billing@example.com")).query.decode("ascii")

    # A literal "+" in a query means a space to most servers, so it must travel as %2B.
    assert "%2B" in raw_query
    assert "agent+billing" not in raw_query


def test_percent_sign_encoded():
    raw_query = filter_query(equals_filter("userName", "100%sure@example.com")).query.decode("ascii")

    assert "100%25sure" in raw_query


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ("tab\there", '"tab\\there"'),
        ("line\nbreak", '"line\\nbreak"'),
        ("bell\x07", '"bell\\u0007"'),
        ("josé", '"josé"'),
    ],
)
def test_quote_filter_value_escapes(value, expected):
    assert quote_filter_value(value) == expected


def test_lone_surrogate_escaped():
    value = "bad\ud800name@example.com"

    quoted = quote_filter_value(value)

    assert quoted == '"bad\\ud800name@example.com"'
    assert json.loads(quoted) == value
    filter_query(f"userName eq {quoted}")


def test_surrogate_pair_kept_as_character():
    assert quote_filter_value("emoji😀") == '"emoji😀"'


def test_equals_filter_format():
    assert equals_filter("userName", 'x"y@example.com') == 'userName eq "x\\"y@example.com"'
