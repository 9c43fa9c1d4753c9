"""Row validation: each bad or awkward cell gives the exact problem, and the values that are kept."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from scim_tui.input import InputOptions, ProblemKind, UserFileReader
from scim_tui.input import reader as reader_module

GENESYS = InputOptions(user_name_must_be_email=True)


def write_csv(path: Path, header: list[str], *rows: list[str]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def load(path: Path, options: InputOptions = GENESYS) -> tuple[UserFileReader, list]:
    reader = UserFileReader(path, options)
    return reader, list(reader)


def one_row(tmp_path: Path, header: list[str], row: list[str], options: InputOptions = GENESYS):
    """Load a file of one user row; return the reader, the user or None, and the described problems."""
    reader, users = load(write_csv(tmp_path / "users.csv", header, row), options)
    return reader, (users[0] if users else None), [problem.describe() for problem in reader.problems]


FIX_PHONE = (
    "Write the number as + and the country code and number, 8 to 15 digits, such as +15551234567, "
    "or as tel:+15551234567;ext=123"
)

INVALID_ROWS = [
    pytest.param(
        ["userName", "displayName"],
        ["not-an-email", "Ann Lee"],
        "row 2, column 'userName', value 'not-an-email': userName is not a valid email address. "
        "Fix: Genesys Cloud needs an email address as userName, such as jane.doe@example.com",
        id="userName not an email",
    ),
    pytest.param(
        ["userName", "displayName"],
        ["ann lee@example.com", "Ann Lee"],
        "row 2, column 'userName', value 'ann lee@example.com': userName is not a valid email address. "
        "Fix: Genesys Cloud needs an email address as userName, such as jane.doe@example.com",
        id="space in email",
    ),
    pytest.param(
        ["userName", "displayName"],
        ["ann..lee@example.com", "Ann Lee"],
        "row 2, column 'userName', value 'ann..lee@example.com': userName is not a valid email address. "
        "Fix: Genesys Cloud needs an email address as userName, such as jane.doe@example.com",
        id="double dot in email",
    ),
    pytest.param(
        ["userName", "displayName"],
        ["", "Ann Lee"],
        "row 2, column 'userName': userName is empty. Fix: Fill in the user's email address, which Genesys Cloud uses as userName",
        id="userName empty",
    ),
    pytest.param(
        ["userName", "displayName"],
        ["ann@example.com", ""],
        "row 2, column 'displayName': displayName is empty and there is no given name or family name to build it from. "
        "Fix: Fill in displayName, or givenName and familyName",
        id="displayName empty",
    ),
    pytest.param(
        ["userName", "displayName"],
        ["ann@example.com", "A" * 256],
        f"row 2, column 'displayName', value '{'A' * 256}': displayName is 256 characters long, more than the limit of 255. "
        "Fix: Shorten the value to at most 255 characters",
        id="displayName too long",
    ),
    pytest.param(
        ["userName", "displayName"],
        ["ann@example.com", "Ann\x07Lee"],
        "row 2, column 'displayName', value 'Ann\\x07Lee': contains the control character U+0007. "
        "Fix: Remove tabs, line breaks and other control characters from the value",
        id="control character",
    ),
    pytest.param(
        ["userName", "displayName"],
        ["ann@example.com", "Ann\nLee"],
        "row 2, column 'displayName', value 'Ann\\nLee': contains the control character U+000A. "
        "Fix: Remove tabs, line breaks and other control characters from the value",
        id="line break inside quoted cell",
    ),
    pytest.param(
        ["userName", "displayName", "phone"],
        ["ann@example.com", "Ann Lee", "555-0100"],
        f"row 2, column 'phone', value '555-0100': the phone number has no + and country code (E.164). Fix: {FIX_PHONE}",
        id="phone without country code",
    ),
    pytest.param(
        ["userName", "displayName", "mobile"],
        ["ann@example.com", "Ann Lee", "+1234"],
        f"row 2, column 'mobile', value '+1234': the phone number must have 8 to 15 digits after the +. Fix: {FIX_PHONE}",
        id="phone too short",
    ),
    pytest.param(
        ["userName", "displayName", "phone"],
        ["ann@example.com", "Ann Lee", "+1 555 CALL-NOW"],
        "row 2, column 'phone', value '+1 555 CALL-NOW': the phone number contains characters other than digits, "
        f"spaces, dashes and parentheses. Fix: {FIX_PHONE}",
        id="phone with letters",
    ),
    pytest.param(
        ["userName", "displayName", "phone"],
        ["ann@example.com", "Ann Lee", "+15551234567 x12a"],
        f"row 2, column 'phone', value '+15551234567 x12a': the extension must be 1 to 15 digits. Fix: {FIX_PHONE}",
        id="phone extension with letters",
    ),
    pytest.param(
        ["userName", "displayName", "skills"],
        ["ann@example.com", "Ann Lee", "Sales:7"],
        "row 2, column 'skills', value 'Sales:7': the proficiency 7 of routing skill 'Sales' is outside 0 to 5. "
        "Fix: Use a proficiency from 0 to 5, such as 4.5",
        id="proficiency 7",
    ),
    pytest.param(
        ["userName", "displayName", "languages"],
        ["ann@example.com", "Ann Lee", "English:5;Spanish:-1"],
        "row 2, column 'languages', value 'English:5;Spanish:-1': the proficiency -1 of routing language 'Spanish' "
        "is outside 0 to 5. Fix: Use a proficiency from 0 to 5, such as 4.5",
        id="negative proficiency",
    ),
    pytest.param(
        ["userName", "displayName", "skills"],
        ["ann@example.com", "Ann Lee", "Sales;Support:3"],
        "row 2, column 'skills', value 'Sales;Support:3': routing skill 'Sales' has no proficiency. "
        "Fix: Write each entry as Name:proficiency with a proficiency from 0 to 5, such as Sales:4.5;Support:3",
        id="skill without proficiency",
    ),
    pytest.param(
        ["userName", "displayName", "skills"],
        ["ann@example.com", "Ann Lee", "Sales:high"],
        "row 2, column 'skills', value 'Sales:high': the proficiency 'high' of routing skill 'Sales' is not a number. "
        "Fix: Write the proficiency as a number from 0 to 5 with a dot for decimals, such as Sales:4.5;Support:3",
        id="proficiency not a number",
    ),
    pytest.param(
        ["userName", "displayName", "skills"],
        ["ann@example.com", "Ann Lee", "Sales:4;Sales:2"],
        "row 2, column 'skills', value 'Sales:4;Sales:2': routing skill 'Sales' is listed twice. Fix: List each name once",
        id="skill listed twice",
    ),
    pytest.param(
        ["userName", "displayName", "skills"],
        ["ann@example.com", "Ann Lee", ";".join(f"Skill {number}:3" for number in range(51))],
        f"row 2, column 'skills', value '{';'.join(f'Skill {number}:3' for number in range(51))}': "
        "51 routing skills, more than the Genesys Cloud limit of 50. Fix: Keep at most 50 routing skills for each user",
        id="51 skills",
    ),
    pytest.param(
        ["userName", "displayName", "active"],
        ["ann@example.com", "Ann Lee", "maybe"],
        "row 2, column 'active', value 'maybe': active must be true, false, yes, no, 1, 0, active or inactive. "
        "Fix: Write true or false, or leave the cell empty to use the server's default",
        id="active not a boolean",
    ),
    pytest.param(
        ["userName", "displayName", "manager"],
        ["ann@example.com", "Ann Lee", "boss@"],
        "row 2, column 'manager', value 'boss@': manager email is not a valid email address. "
        "Fix: Write a complete email address such as jane.doe@example.com",
        id="manager email invalid",
    ),
    pytest.param(
        ["userName", "displayName", "email"],
        ["ann", "Ann Lee", "ann@example"],
        "row 2, column 'email', value 'ann@example': work email is not a valid email address. "
        "Fix: Write a complete email address such as jane.doe@example.com",
        id="work email without domain",
    ),
    pytest.param(
        ["userName", "displayName", "externalIds"],
        ["ann@example.com", "Ann Lee", "hr:1;badge"],
        "row 2, column 'externalIds', value 'hr:1;badge': external id 'badge' needs an authority and a value. "
        "Fix: Write each external id as authority:value, such as hr:12345;badge:B-77",
        id="external id without authority",
    ),
]


@pytest.mark.parametrize(("header", "row", "expected"), INVALID_ROWS)
def test_invalid_row_problem(tmp_path: Path, header: list[str], row: list[str], expected: str) -> None:
    options = GENESYS if header[0] == "userName" and row[0] != "ann" else InputOptions()
    reader, user, problems = one_row(tmp_path, header, row, options)

    assert user is None
    assert problems == [expected]
    assert (reader.rows_read, reader.valid, reader.invalid) == (1, 0, 1)
    assert reader.problems[0].kind is ProblemKind.INVALID


def test_several_problems_one_row(tmp_path: Path) -> None:
    reader, user, problems = one_row(
        tmp_path,
        ["userName", "displayName", "phone", "skills", "active"],
        ["bad", "Ann Lee", "12345", "Sales:9", "perhaps"],
    )

    assert user is None
    assert [(problem.column, problem.kind) for problem in reader.problems] == [
        ("active", ProblemKind.INVALID),
        ("phone", ProblemKind.INVALID),
        ("userName", ProblemKind.INVALID),
        ("skills", ProblemKind.INVALID),
    ]
    assert all(problem.user_name == "bad" for problem in reader.problems)
    assert (reader.invalid, reader.valid) == (1, 0)


WARNING_ROWS = [
    pytest.param(
        ["userName", "displayName"],
        ["ann@example.com", "  Ann Lee "],
        "display_name",
        "Ann Lee",
        "row 2, column 'displayName', value '  Ann Lee ': leading or trailing spaces were removed. "
        "Fix: Remove the spaces in the file to silence this warning",
        id="trailing spaces",
    ),
    pytest.param(
        ["userName", "displayName", "phone"],
        ["ann@example.com", "Ann Lee", "+1 (555) 123-4567"],
        "phone_numbers",
        "+15551234567",
        "row 2, column 'phone', value '+1 (555) 123-4567': the phone number is sent as +15551234567. "
        "Fix: Write phone numbers in E.164 form (+ and 8 to 15 digits) to silence this warning",
        id="phone punctuation removed",
    ),
    pytest.param(
        ["userName", "displayName", "phone"],
        ["ann@example.com", "Ann Lee", "+1 555 123 4567 ext. 89"],
        "phone_numbers",
        "tel:+15551234567;ext=89",
        "row 2, column 'phone', value '+1 555 123 4567 ext. 89': the phone number is sent as tel:+15551234567;ext=89. "
        "Fix: Write phone numbers in E.164 form (+ and 8 to 15 digits) to silence this warning",
        id="phone extension suffix",
    ),
    pytest.param(
        ["userName", "displayName", "notes"],
        ["ann@example.com", "Ann Lee", "likes tea"],
        "display_name",
        "Ann Lee",
        "row 1, column 'notes': the column is not recognised, so its values are not sent. "
        "Fix: Map it with --map 'notes=SCIM.PATH' (see docs/input.md for the paths), "
        "or silence this warning with --map 'notes=ignore'",
        id="unknown column",
    ),
    pytest.param(
        ["userName", "displayName", "phone", "Work Phone"],
        ["ann@example.com", "Ann Lee", "+15551234567", "+15557654321"],
        "phone_numbers",
        "+15551234567",
        "row 1, column 'Work Phone': column 'phone' already sets phoneNumbers.work, so this column's values are not sent. "
        "Fix: Remove one of the two columns, or map this one elsewhere with --map 'Work Phone=SCIM.PATH'",
        id="two columns for one attribute",
    ),
]


@pytest.mark.parametrize(("header", "row", "attribute", "value", "expected"), WARNING_ROWS)
def test_warning_keeps_row(tmp_path: Path, header: list[str], row: list[str], attribute: str, value: str, expected: str) -> None:
    reader, user, problems = one_row(tmp_path, header, row)

    assert user is not None
    sent = getattr(user, attribute)
    assert (sent[0].value if attribute == "phone_numbers" else sent) == value
    assert problems == [expected]
    assert reader.problems[0].kind is ProblemKind.WARNING
    assert (reader.valid, reader.warnings) == (1, 1)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("Yes", True),
        ("1", True),
        ("active", True),
        ("false", False),
        ("No", False),
        ("0", False),
        ("Inactive", False),
        ("", None),
    ],
)
def test_active_values(tmp_path: Path, cell: str, expected: bool | None) -> None:
    _, user, problems = one_row(tmp_path, ["userName", "displayName", "enabled"], ["ann@example.com", "Ann", cell])

    assert user.active is expected
    assert problems == []


def test_display_name_from_given_and_family(tmp_path: Path) -> None:
    _, user, problems = one_row(tmp_path, ["email", "First Name", "last_name"], ["ann@example.com", "Ann", "Lee"])

    assert (user.user_name, user.display_name, user.given_name, user.family_name) == (
        "ann@example.com",
        "Ann Lee",
        "Ann",
        "Lee",
    )
    assert problems == []


def test_user_name_not_email_for_generic_target(tmp_path: Path) -> None:
    _, user, problems = one_row(tmp_path, ["userName", "displayName"], ["bjensen", "Barbara Jensen"], InputOptions())

    assert user.user_name == "bjensen"
    assert problems == []


def test_manager_email_and_id(tmp_path: Path) -> None:
    reader, users = load(
        write_csv(
            tmp_path / "users.csv",
            ["userName", "displayName", "managerId"],
            ["ann@example.com", "Ann", "boss@example.com"],
            ["bo@example.com", "Bo", "2c9a4f6e-77d1-4c55-9d2e-0f1f5c1a2b3c"],
        )
    )

    assert [(user.manager_email, user.manager_id) for user in users] == [
        ("boss@example.com", None),
        (None, "2c9a4f6e-77d1-4c55-9d2e-0f1f5c1a2b3c"),
    ]
    assert reader.problems == []


def test_list_cells_parsed(tmp_path: Path) -> None:
    _, user, problems = one_row(
        tmp_path,
        ["userName", "displayName", "routingSkills", "routingLanguages", "externalIds", "roles"],
        ["ann@example.com", "Ann", "Billing:4.5; Sales : 3", "English:5", "hr:1001;badge:B-7:x", "Employee;Supervisor;Employee"],
    )

    assert [(skill.name, skill.proficiency) for skill in user.routing_skills] == [("Billing", 4.5), ("Sales", 3.0)]
    assert [(language.name, language.proficiency) for language in user.routing_languages] == [("English", 5.0)]
    assert [(item.authority, item.value) for item in user.external_ids] == [("hr", "1001"), ("badge", "B-7:x")]
    assert user.roles == ["Employee", "Supervisor"]
    assert problems == []


def test_genesys_comma_separated_skills(tmp_path: Path) -> None:
    _, user, problems = one_row(tmp_path, ["userName", "displayName", "skills"], ["ann@example.com", "Ann", "Skill1:5,Skill2:3"])

    assert [(skill.name, skill.proficiency) for skill in user.routing_skills] == [("Skill1", 5.0), ("Skill2", 3.0)]
    assert problems == []


def test_fifty_skills_accepted(tmp_path: Path) -> None:
    cell = ";".join(f"Skill {number}:{number % 6}" for number in range(50))
    _, user, problems = one_row(tmp_path, ["userName", "displayName", "skills"], ["ann@example.com", "Ann", cell])

    assert len(user.routing_skills) == 50
    assert problems == []


def test_duplicate_user_name_other_case(tmp_path: Path) -> None:
    reader, users = load(
        write_csv(
            tmp_path / "users.csv",
            ["userName", "displayName"],
            ["Ann.Lee@Example.com", "Ann Lee"],
            ["bo@example.com", "Bo Chen"],
            ["ann.lee@example.COM", "Ann Again"],
        )
    )

    assert [user.row for user in users] == [2, 3]
    assert [problem.describe() for problem in reader.problems] == [
        "row 4, column 'userName', value 'ann.lee@example.COM': the userName repeats row 2 "
        "(userNames are compared without regard to case). Fix: Remove or correct one of the rows; only the first is sent"
    ]
    assert reader.problems[0].kind is ProblemKind.DUPLICATE
    assert (reader.rows_read, reader.valid, reader.invalid, reader.duplicates) == (3, 2, 0, 1)


def test_invalid_row_does_not_claim_user_name(tmp_path: Path) -> None:
    """An invalid first occurrence does not make a later valid row a duplicate."""
    reader, users = load(
        write_csv(
            tmp_path / "users.csv",
            ["userName", "displayName", "phone"],
            ["ann@example.com", "Ann", "bad"],
            ["ann@example.com", "Ann", "+15551234567"],
        )
    )

    assert [user.row for user in users] == [3]
    assert (reader.invalid, reader.duplicates) == (1, 0)


def test_json_values_of_wrong_shape(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(
        json.dumps(
            [
                {"userName": "ann@example.com", "displayName": {"text": "Ann"}},
                {"userName": "bo@example.com", "displayName": "Bo", "employeeNumber": 1001, "active": 0},
                {"userName": "cy@example.com", "displayName": "Cy", "phoneNumbers": ["+15551234567"]},
            ]
        ),
        encoding="utf-8",
    )

    reader, users = load(path)

    assert [(user.user_name, user.employee_number, user.active) for user in users] == [("bo@example.com", "1001", False)]
    assert [problem.describe() for problem in reader.problems] == [
        "row 1, column 'displayName', value '{\"text\": \"Ann\"}': expected a text value, got a JSON object. "
        "Fix: Give a string or a number",
        "row 3, column 'phoneNumbers[0]', value \"'+15551234567'\": each entry of phoneNumbers must be an object "
        'with value and type. Fix: Write it as {"value": ..., "type": "work"}',
    ]


def test_stored_warnings_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader_module, "MAX_STORED_WARNINGS", 2)
    rows = [[f"user{number}@example.com", f" User {number}"] for number in range(5)]

    reader, users = load(write_csv(tmp_path / "users.csv", ["userName", "displayName"], *rows))

    assert len(users) == 5
    assert reader.warnings == 5
    assert [problem.row for problem in reader.problems] == [2, 3]
    assert reader.suppressed_warnings == {"displayName: leading or trailing spaces were removed": 3}


def test_json_list_entries_of_wrong_kind(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(
        json.dumps(
            [
                {"userName": "ann@example.com", "displayName": "Ann", "routingSkills": [3, "Sales:2"]},
                {"userName": "bo@example.com", "displayName": "Bo", "roles": ["Employee", {"value": "Supervisor"}]},
            ]
        ),
        encoding="utf-8",
    )

    reader, users = load(path)

    assert [(user.user_name, user.roles) for user in users] == [("bo@example.com", ["Employee", "Supervisor"])]
    assert [problem.describe() for problem in reader.problems] == [
        "row 1, column 'routingSkills', value '[3, \"Sales:2\"]': an entry of the list is a number. "
        "Fix: Write each entry as a string or an object"
    ]


def test_work_phone_error_covers_extension(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("name,email,phone_work,extension\nAnn Lee,ann@example.com,555-0100,12\n", encoding="utf-8")

    reader, users = load(path)

    assert users == []
    assert [problem.column for problem in reader.problems] == ["phone_work"]
