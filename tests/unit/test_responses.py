"""Unit tests of reading SCIM server responses: statuses, resource ids, listed users and error bodies."""

from __future__ import annotations

import pytest

from scim_tui.scim.responses import (
    ErrorInfo,
    FoundUser,
    first_listed_user,
    id_from_location,
    parse_json,
    parse_status,
    read_error,
    resource_id,
)

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LOCATION = "https://scim.example.test/scim/v2/Users/2819c223-7f76-453a-919d-413861904646"


# ---------------------------------------------------------------- parse_status


@pytest.mark.parametrize(
    "value",
    ["201", 201, {"code": "201"}, {"code": 201}, "201 Created", "HTTP/1.1 201 Created", " 201 ", 201.0, {"status": "201"}],
)
def test_parse_status_encodings(value):
    assert parse_status(value) == 201


@pytest.mark.parametrize(
    ("value", "expected"),
    [("409", 409), ("HTTP/1.1 409 Conflict", 409), ({"code": "500"}, 500), ("HTTP/2 204 No Content", 204), (100, 100), (599, 599)],
)
def test_parse_status_other_codes(value, expected):
    assert parse_status(value) == expected


@pytest.mark.parametrize(
    "value",
    [None, True, False, "", "Created", "abc", 42, 600, 1201, "1201", 201.5, [], {}, {"code": None}, {"code": "x"}],
)
def test_parse_status_unreadable(value):
    assert parse_status(value) is None


# ---------------------------------------------------------------- resource ids


def test_resource_id_from_body_id():
    assert resource_id({"id": "abc", "meta": {"location": LOCATION}}, "https://x.test/Users/other") == "abc"


def test_resource_id_numeric_id():
    assert resource_id({"id": 42}) == "42"


def test_resource_id_from_meta_location():
    assert resource_id({"meta": {"location": LOCATION}}) == "2819c223-7f76-453a-919d-413861904646"


def test_resource_id_from_location_header():
    assert resource_id(None, LOCATION) == "2819c223-7f76-453a-919d-413861904646"
    assert resource_id({}, LOCATION) == "2819c223-7f76-453a-919d-413861904646"
    assert resource_id({"id": ""}, LOCATION) == "2819c223-7f76-453a-919d-413861904646"


@pytest.mark.parametrize(
    ("document", "location"),
    [(None, None), ({}, None), ({"id": ""}, ""), ({"id": None, "meta": "x"}, "   "), ({"meta": {"location": ""}}, None), ([], None)],
)
def test_resource_id_absent(document, location):
    assert resource_id(document, location) is None


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (LOCATION, "2819c223-7f76-453a-919d-413861904646"),
        (LOCATION + "/", "2819c223-7f76-453a-919d-413861904646"),
        (LOCATION + "?attributes=id", "2819c223-7f76-453a-919d-413861904646"),
        (LOCATION + "#top", "2819c223-7f76-453a-919d-413861904646"),
        ("/Users/relative-id", "relative-id"),
        ("plain-id", "plain-id"),
        ("", None),
        (None, None),
        (123, None),
    ],
)
def test_id_from_location(location, expected):
    assert id_from_location(location) == expected


# ---------------------------------------------------------------- first_listed_user


def listing(*resources) -> dict:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": len(resources), "Resources": list(resources)}


def test_first_listed_user_matches_case_insensitively():
    document = listing({"id": "u1", "userName": "Alice@Example.COM", "active": True, "meta": {"created": "2024-01-02T03:04:05Z"}})

    found = first_listed_user(document, "alice@example.com")

    assert found == FoundUser("u1", "Alice@Example.COM", "2024-01-02T03:04:05Z", True)


def test_first_listed_user_skips_other_users():
    document = listing(
        {"id": "u1", "userName": "bob@example.com"},
        "not a resource",
        {"id": "", "userName": "alice@example.com"},
        {"userName": "alice@example.com"},
        {"id": "u4", "userName": None},
        {"id": "u5", "userName": "alice@example.com", "active": "yes"},
        {"id": "u6", "userName": "alice@example.com"},
    )

    found = first_listed_user(document, "ALICE@example.com")

    assert found is not None
    assert found.id == "u5"
    assert found.active is None
    assert found.created is None


def test_first_listed_user_reads_inactive_user():
    found = first_listed_user(listing({"id": "u1", "userName": "a@x.test", "active": False}), "a@x.test")
    assert found.active is False


def test_first_listed_user_lowercase_resources_key():
    document = {"resources": [{"id": "u1", "userName": "a@x.test"}]}
    assert first_listed_user(document, "a@x.test").id == "u1"


def test_first_listed_user_unicode_casefold():
    document = listing({"id": "u1", "userName": "STRASSE@x.test"})
    assert first_listed_user(document, "straße@x.test").id == "u1"


@pytest.mark.parametrize(
    "document",
    [None, [], "text", {}, {"Resources": None}, {"Resources": "x"}, {"Resources": {}}, listing(), listing({"id": "u1", "userName": "b@x.test"})],
)
def test_first_listed_user_none_found(document):
    assert first_listed_user(document, "a@x.test") is None


# ---------------------------------------------------------------- read_error


def test_read_error_scim_body():
    body = {"schemas": [ERROR_SCHEMA], "status": "409", "scimType": "uniqueness", "detail": "User name already in use by non-deleted user."}
    assert read_error(body) == ErrorInfo("uniqueness", "User name already in use by non-deleted user.")


def test_read_error_scim_body_without_scim_type():
    body = {"schemas": [ERROR_SCHEMA], "status": "400", "detail": "Attribute 'title' is too long"}
    assert read_error(body) == ErrorInfo(None, "Attribute 'title' is too long")


def test_read_error_genesys_body():
    body = {
        "message": "Retry the request in [3] seconds",
        "code": "too.many.requests.retry.after",
        "status": 429,
        "contextId": "6a0f2f8c-1e3b-4d8e-9a0c-77b1b2e3c4d5",
        "details": [],
        "errors": [],
    }
    assert read_error(body) == ErrorInfo(None, "Retry the request in [3] seconds (too.many.requests.retry.after)")


def test_read_error_genesys_code_already_in_message():
    body = {"message": "bad.request: the division is unknown", "code": "bad.request", "status": 400}
    assert read_error(body).detail == "bad.request: the division is unknown"


def test_read_error_genesys_errors_list():
    body = {"code": "bad.request", "status": 400, "errors": [{"message": "name is required"}]}
    detail = read_error(body).detail
    assert "name is required" in detail


def test_read_error_oauth_body():
    assert read_error({"error": "invalid_client", "error_description": "Client authentication failed"}).detail == "Client authentication failed"


def test_read_error_plain_text_body():
    assert read_error(None, b"Bad Gateway\n  upstream   timed out") == ErrorInfo(None, "Bad Gateway upstream timed out")


def test_read_error_invalid_utf8_body():
    assert read_error(None, b"caf\xe9 failed").detail == "caf\ufffd failed"


def test_read_error_empty():
    assert read_error(None) == ErrorInfo(None, None)
    assert read_error(None, b"") == ErrorInfo(None, None)
    assert read_error({}) == ErrorInfo(None, None)


def test_read_error_long_detail_shortened():
    detail = read_error({"detail": "x" * 5000}).detail
    assert len(detail) == 500
    assert detail.endswith("…")


def test_read_error_non_string_fields():
    info = read_error({"scimType": 7, "detail": {"reason": "nested"}})
    assert info.scim_type == "7"
    assert "nested" in info.detail


# ---------------------------------------------------------------- parse_json


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b"", None), (b"not json", None), (b"\xff\xfe", None), (b'{"a": 1}', {"a": 1}), (b"[1]", [1]), (b"null", None)],
)
def test_parse_json(body, expected):
    assert parse_json(body) == expected
