"""Column mapping: header aliases, SCIM paths, --map values, mapping files and the Genesys CSV layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from scim_tui.input import (
    InputFileError,
    InputOptions,
    MappingError,
    ProblemKind,
    UserFileReader,
    load_mapping_file,
    parse_mapping_options,
)
from scim_tui.input import columns
from scim_tui.input.columns import ColumnResolver, parse_target

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "input"

ALIASES = [
    ("userName", columns.USER_NAME),
    ("user_name", columns.USER_NAME),
    ("USERNAME", columns.USER_NAME),
    ("Login", columns.USER_NAME),
    ("email", columns.EMAIL_OR_USER_NAME),
    ("E-Mail", columns.EMAIL_OR_USER_NAME),
    ("Email Address", columns.EMAIL_OR_USER_NAME),
    ("mail", columns.EMAIL_OR_USER_NAME),
    ("firstName", columns.GIVEN_NAME),
    ("first_name", columns.GIVEN_NAME),
    ("Given Name", columns.GIVEN_NAME),
    ("lastName", columns.FAMILY_NAME),
    ("Surname", columns.FAMILY_NAME),
    ("family_name", columns.FAMILY_NAME),
    ("displayName", columns.DISPLAY_NAME),
    ("Full Name", columns.DISPLAY_NAME),
    ("name", columns.DISPLAY_NAME),
    ("Job Title", columns.TITLE),
    ("Dept", columns.DEPARTMENT),
    ("division", columns.DIVISION),
    ("Employee ID", columns.EMPLOYEE_NUMBER),
    ("employee_number", columns.EMPLOYEE_NUMBER),
    ("manager_email", columns.MANAGER),
    ("ManagerId", columns.MANAGER),
    ("Enabled", columns.ACTIVE),
    ("status", columns.ACTIVE),
    ("externalId", columns.EXTERNAL_ID),
    ("Phone Number", "phoneNumbers.work"),
    ("workPhone", "phoneNumbers.work"),
    ("Mobile Phone", "phoneNumbers.mobile"),
    ("homePhone", "phoneNumbers.home"),
    ("routing_skills", columns.ROUTING_SKILLS),
    ("Skills", columns.ROUTING_SKILLS),
    ("languages", columns.ROUTING_LANGUAGES),
    ("roles", columns.ROLES),
    ("external_ids", columns.EXTERNAL_IDS),
    ("name.givenName", columns.GIVEN_NAME),
    ('emails[type eq "work"].value', columns.EMAIL),
    ("emails[0].value", columns.EMAIL),
    ('phoneNumbers[type eq "mobile"].value', "phoneNumbers.mobile"),
    ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", columns.DEPARTMENT),
    ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", columns.MANAGER),
    ("urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingSkills", columns.ROUTING_SKILLS),
    ("location_work", columns.UNSUPPORTED),
    ("favourite colour", None),
]


@pytest.mark.parametrize(("header", "target"), ALIASES)
def test_header_alias(header: str, target: str | None) -> None:
    assert ColumnResolver({}).resolve(header) == target


PATHS = [
    ("userName", "userName"),
    ("USERNAME", "userName"),
    ("phoneNumbers.work2", "phoneNumbers.work2"),
    ('phoneNumbers[type eq "home"].value', "phoneNumbers.home"),
    ("emails", "emails.work"),
    ("enterprise.manager", "enterprise.manager"),
    ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "enterprise.employeeNumber"),
    ("genesys.externalIds", "genesys.externalIds"),
    ("Ignore", "ignore"),
]


@pytest.mark.parametrize(("path", "target"), PATHS)
def test_parse_target(path: str, target: str) -> None:
    assert parse_target(path) == target


def test_parse_mapping_options() -> None:
    assert parse_mapping_options(["Emp No=enterprise.employeeNumber", "a=b=c=userName", " Cost Centre =ignore"]) == {
        "Emp No": "enterprise.employeeNumber",
        "a=b=c": "userName",
        "Cost Centre": "ignore",
    }


MAP_ERRORS = [
    pytest.param(
        "EmpNo",
        "invalid --map value 'EmpNo': write it as COLUMN=scim.path, for example 'Emp No=enterprise.employeeNumber'",
        id="no equals sign",
    ),
    pytest.param(
        "=userName",
        "invalid --map value '=userName': write it as COLUMN=scim.path, for example 'Emp No=enterprise.employeeNumber'",
        id="no column",
    ),
    pytest.param(
        "Emp No=enterprise.costCenter",
        "invalid --map value 'Emp No=enterprise.costCenter': unknown SCIM path 'enterprise.costCenter'. Use one of: "
        + ", ".join(columns.MAPPABLE_TARGETS)
        + " (see docs/input.md)",
        id="unknown path",
    ),
]


@pytest.mark.parametrize(("value", "expected"), MAP_ERRORS)
def test_parse_mapping_options_error(value: str, expected: str) -> None:
    with pytest.raises(MappingError) as caught:
        parse_mapping_options([value])

    assert str(caught.value) == expected
    assert isinstance(caught.value, ValueError)


def test_mapping_file_fixture() -> None:
    assert load_mapping_file(FIXTURES / "mapping.toml") == {
        "Login ID": "userName",
        "Preferred Name": "displayName",
        "Emp #": "enterprise.employeeNumber",
        "Cost Centre": "ignore",
    }


MAPPING_FILE_ERRORS = [
    pytest.param(
        '[cols]\n"Emp" = "userName"\n',
        "mapping file '{path}' has no [columns] table. Write one line per column under [columns], "
        'such as "Emp No" = "enterprise.employeeNumber"',
        id="no columns table",
    ),
    pytest.param(
        "[columns]\nEmp = 3\n",
        "mapping file '{path}': the value for column 'Emp' must be a SCIM path in quotes, not 3",
        id="value not a string",
    ),
    pytest.param(
        '[columns]\nEmp = "employee"\n',
        "mapping file '{path}', column 'Emp': unknown SCIM path 'employee'. Use one of: "
        + ", ".join(columns.MAPPABLE_TARGETS)
        + " (see docs/input.md)",
        id="unknown path",
    ),
]


@pytest.mark.parametrize(("text", "expected"), MAPPING_FILE_ERRORS)
def test_mapping_file_error(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(MappingError) as caught:
        load_mapping_file(path)

    assert str(caught.value) == expected.replace("{path}", str(path))


def test_mapping_file_invalid_toml_is_input_error(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text("[columns\n", encoding="utf-8")

    with pytest.raises(InputFileError) as caught:
        UserFileReader(FIXTURES / "hr_export_mapped.csv", InputOptions(mapping_file=mapping))

    assert str(caught.value).startswith(f"mapping file '{mapping}' is not valid TOML: ")


def test_mapping_file_applied() -> None:
    reader = UserFileReader(FIXTURES / "hr_export_mapped.csv", InputOptions(mapping_file=FIXTURES / "mapping.toml"))
    users = list(reader)

    assert [(user.user_name, user.display_name, user.employee_number) for user in users] == [
        ("kim.park@example.com", "Kim Park", "E-204")
    ]
    assert users[0].phone_numbers[0].value == "+15550102030"
    assert reader.unknown_columns == []
    assert [problem.kind for problem in reader.problems] == [ProblemKind.WARNING]


def test_map_option_overrides_file_and_alias() -> None:
    """--map wins over the mapping file for "Emp #" and over the alias for "Desk Phone"."""
    options = InputOptions(
        mapping=parse_mapping_options(["Emp #=externalId", "Desk Phone=phoneNumbers.work2"]),
        mapping_file=FIXTURES / "mapping.toml",
    )
    reader = UserFileReader(FIXTURES / "hr_export_mapped.csv", options)
    users = list(reader)

    assert (users[0].user_name, users[0].external_id, users[0].employee_number) == ("kim.park@example.com", "E-204", None)
    assert [(phone.type, phone.value) for phone in users[0].phone_numbers] == [("work2", "+15550102030")]
    assert [problem.describe() for problem in reader.problems] == [
        "row 2, column 'Desk Phone', value '+1 555 010 2030': the phone number is sent as +15550102030. "
        "Fix: Write phone numbers in E.164 form (+ and 8 to 15 digits) to silence this warning"
    ]


def test_map_option_names_missing_column() -> None:
    path = FIXTURES / "hr_export_mapped.csv"
    options = InputOptions(mapping={"Emp No": "enterprise.employeeNumber"})

    with pytest.raises(InputFileError) as caught:
        UserFileReader(path, options)

    assert str(caught.value) == (
        f"the column mapping names 'Emp No', which {path} does not have. Columns found: 'Login ID', "
        "'Preferred Name', 'Emp #', 'Cost Centre', 'Desk Phone'. Correct the --map option or the mapping file."
    )


def test_map_option_rescues_missing_user_name(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("Account,Name\nann@example.com,Ann Lee\n", encoding="utf-8")

    users = list(UserFileReader(path, InputOptions(mapping=parse_mapping_options(["account=userName"]))))

    assert [(user.user_name, user.display_name) for user in users] == [("ann@example.com", "Ann Lee")]


def test_email_is_work_email_beside_user_name(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("username,email,displayName\nbjensen,babs@example.com,Barbara\n", encoding="utf-8")

    users = list(UserFileReader(path))

    assert [(user.user_name, user.email) for user in users] == [("bjensen", "babs@example.com")]


def test_genesys_admin_import_layout() -> None:
    reader = UserFileReader(FIXTURES / "genesys_admin_import.csv", InputOptions(user_name_must_be_email=True))
    users = list(reader)

    assert reader.format == "genesys-csv"
    assert reader.unsupported_columns == ["location_work", "queues"]
    assert reader.unknown_columns == []

    jane, john = users
    assert (jane.user_name, jane.display_name, jane.given_name, jane.family_name) == (
        "jane.doe@example.com",
        "Doe, Jane",
        "Jane",
        "Doe",
    )
    assert [(phone.type, phone.value) for phone in jane.phone_numbers] == [("work", "tel:+13175551212;ext=1234")]
    assert (jane.title, jane.department, jane.division, jane.manager_email) == ("Agent", "Sales", "Home", "pat.boss@example.com")
    assert jane.roles == ["Employee", "Supervisor"]
    assert [(skill.name, skill.proficiency) for skill in jane.routing_skills] == [("Sales", 5.0), ("Support", 3.0)]
    assert (john.given_name, john.family_name, john.roles) == ("John", "Smith", ["Employee"])
    assert [(phone.type, phone.value) for phone in john.phone_numbers] == [("work", "+13175551313")]

    assert [problem.describe() for problem in reader.problems] == [
        "row 2, column 'location_work', value 'Indianapolis': Genesys Cloud's SCIM API cannot set a user's work "
        "location, so this column is ignored in every row. Fix: Assign work locations in Genesys Cloud, in the "
        "admin UI or with the Users API, after the users are created",
        "row 2, column 'queues', value 'Support Queue': queue membership is not a user attribute in Genesys Cloud's "
        "SCIM API, so this column is ignored in every row. Fix: Add the users to queues in Genesys Cloud, in the "
        "admin UI or with the Routing API, after they are created",
        "row 2, column 'roles_divisions', value 'Employee:Home;Supervisor:Home': SCIM grants roles by name only, "
        "so the division part of each role is ignored in every row. Fix: Grant the roles in the right divisions "
        "in Genesys Cloud after the import",
        "row 2, column 'phone_work', value '+1 317 555 1212': the phone number is sent as tel:+13175551212;ext=1234. "
        "Fix: Write phone numbers in E.164 form (+ and 8 to 15 digits) to silence this warning",
        "row 4, column 'extension', value '77': an extension needs a work phone number in the same row. "
        "Fix: Fill in the work phone number (phone_work), or leave the extension empty",
    ]
    assert (reader.rows_read, reader.valid, reader.invalid, reader.warnings) == (3, 2, 1, 4)


def test_scim_shaped_json() -> None:
    reader = UserFileReader(FIXTURES / "scim_users.json", InputOptions(user_name_must_be_email=True))
    ann, bo = list(reader)

    assert (ann.user_name, ann.display_name, ann.given_name, ann.family_name) == (
        "ann.lee@example.com",
        "Ann Lee",
        "Ann",
        "Lee",
    )
    assert (ann.title, ann.active, ann.external_id, ann.email) == ("Supervisor", True, "hr-1001", "ann.lee@example.com")
    assert [(phone.type, phone.value) for phone in ann.phone_numbers] == [
        ("work", "tel:+15551230001;ext=201"),
        ("mobile", "+447700900123"),
    ]
    assert ann.roles == ["Employee", "Supervisor"]
    assert (ann.department, ann.division, ann.employee_number, ann.manager_id) == (
        "Support",
        "Home",
        "1001",
        "6f1c2b9e-0d4a-4a8e-9a53-1c2d3e4f5a6b",
    )
    assert [(skill.name, skill.proficiency) for skill in ann.routing_skills] == [("Billing", 4.5)]
    assert [(language.name, language.proficiency) for language in ann.routing_languages] == [("English", 5.0)]
    assert [(item.authority, item.value) for item in ann.external_ids] == [("hr", "1001")]

    assert (bo.display_name, bo.manager_email, bo.active) == ("Bo Chen", "ann.lee@example.com", False)
    assert [(skill.name, skill.proficiency) for skill in bo.routing_skills] == [("Billing", 3.0), ("Sales", 2.0)]
    assert reader.problems == []
    assert reader.format == "json"


def test_unknown_json_keys_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "users.ndjson"
    path.write_text(
        '{"userName": "a@example.com", "displayName": "A", "shoeSize": 42}\n'
        '{"userName": "b@example.com", "displayName": "B", "shoeSize": 44, "hobby": ""}\n'
        '{"userName": "c@example.com", "displayName": "C", "hobby": "chess"}\n',
        encoding="utf-8",
    )
    reader = UserFileReader(path)
    users = list(reader)

    assert len(users) == 3
    assert reader.unknown_columns == ["shoeSize", "hobby"]
    assert [(problem.row, problem.column, problem.kind) for problem in reader.problems] == [
        (1, "shoeSize", ProblemKind.WARNING),
        (3, "hobby", ProblemKind.WARNING),
    ]


@pytest.mark.parametrize(
    ("cell", "roles"),
    [
        ("Employee:Home;Supervisor:Home|Sales", ["Employee", "Supervisor"]),
        ("Employee|Supervisor", ["Employee", "Supervisor"]),
        ("Employee,Supervisor", ["Employee", "Supervisor"]),
        ("Role1:Div1,Role2:Div2", ["Role1", "Role2"]),
        ("Employee:Home,Sales", ["Employee"]),
        ("Employee;Employee:Home", ["Employee"]),
    ],
)
def test_genesys_roles_divisions(tmp_path: Path, cell: str, roles: list[str]) -> None:
    path = tmp_path / "people.csv"
    path.write_text(f'name,email,roles_divisions\nAnn Lee,ann@example.com,"{cell}"\n', encoding="utf-8")

    users = list(UserFileReader(path, InputOptions(user_name_must_be_email=True)))

    assert users[0].roles == roles
