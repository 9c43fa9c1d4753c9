"""Reading preload files and generating preloaded users."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scim_tui.simulator.preload import generated_users, preload_user_name, read_user_file


def test_generated_users_last_inactive() -> None:
    users = generated_users(5, 2)

    assert [user["userName"] for user in users] == [preload_user_name(index) for index in range(1, 6)]
    assert [user["active"] for user in users] == [True, True, True, False, False]
    assert preload_user_name(7) == "user00007@example.com"


def test_json_list_and_resources(tmp_path: Path) -> None:
    listed = tmp_path / "list.json"
    wrapped = tmp_path / "wrapped.json"
    user = {"userName": "a@example.com", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "X"}}
    listed.write_text(json.dumps([user]))
    wrapped.write_text(json.dumps({"Resources": [user]}))

    from_list = read_user_file(listed)
    from_wrapper = read_user_file(wrapped)

    assert from_list == from_wrapper
    assert from_list[0]["schemas"] == [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ]


def test_csv_columns_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("USERNAME,DisplayName,Active,email,givenName\nb@example.com,Bee,No,b.work@example.com,B\n")

    users = read_user_file(path)

    assert users == [
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "b@example.com",
            "displayName": "Bee",
            "name": {"givenName": "B"},
            "emails": [{"value": "b.work@example.com", "type": "work", "primary": True}],
            "active": False,
        }
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("users.csv", "userName,colour\na@example.com,red\n", "unknown column"),
        ("users.csv", "displayName\nA\n", "no userName column"),
        ("users.csv", "userName,active\na@example.com,maybe\n", "row 2"),
        ("users.json", "{not json", "invalid JSON"),
        ("users.json", '{"users": []}', "expected a list"),
        ("users.json", "[1]", "entry 1"),
        ("users.xml", "<users/>", "expected a .json or .csv"),
    ],
)
def test_invalid_files_raise(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)

    with pytest.raises(ValueError, match=message):
        read_user_file(path)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read preload file"):
        read_user_file(tmp_path / "absent.csv")
