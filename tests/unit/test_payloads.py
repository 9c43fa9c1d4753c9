"""SCIM creation payloads: built by hand for speed, checked here against scim2-models."""

from __future__ import annotations

import copy
import json
from pathlib import Path
import random

import pytest
from scim2_models import Context

from scim_tui.input import ExternalId, InputOptions, PhoneNumber, Proficiency, UserFileReader, ValidUser
from scim_tui.input.columns import PHONE_TYPES
from scim_tui.scim.genesys_schema import GENESYS_USER_SCHEMA, GenesysScimUser
from scim_tui.scim.payloads import CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, build_user_payload, encode_user

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "input"


def scim2_round_trip(payload: dict) -> tuple[dict, dict]:
    """Validate ``payload`` as a creation request with scim2-models and dump it back.

    scim2-models 0.12 requires ``manager.$ref`` in requests, while Genesys
    Cloud takes ``manager.value`` alone, so a ``$ref`` is added to the copy
    that scim2-models checks. Returns the checked document and the dump.
    """
    document = copy.deepcopy(payload)
    manager = document.get(ENTERPRISE_USER_SCHEMA, {}).get("manager")
    if manager is not None:
        manager["$ref"] = f"https://api.example.com/api/v2/scim/v2/Users/{manager['value']}"
    user = GenesysScimUser.model_validate(document, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    return document, user.model_dump(scim_ctx=Context.RESOURCE_CREATION_REQUEST)


def generated_users(count: int) -> list[ValidUser]:
    """Users that switch every optional attribute on and off, with non-ASCII text and list sizes up to 50."""
    generator = random.Random(20240611)
    names = ["Ann", "Bo", "Zoë", "Łukasz", "大翔", "O'Brien", "Anne-Marie", 'Quote "Q"']
    users = []
    for number in range(count):
        def maybe(value):
            return value if generator.random() < 0.5 else None

        given = maybe(generator.choice(names))
        family = maybe(generator.choice(names))
        user = ValidUser(
            row=number + 2,
            user_name=f"user{number}@example.com" if number % 5 else f"login{number}",
            display_name=" ".join(part for part in (given, family) if part) or f"User {number}",
            given_name=given,
            family_name=family,
            email=maybe(f"work{number}@example.org"),
            title=maybe(generator.choice(["Agent", "Team Lead", "Directeur général"])),
            active=generator.choice([True, False, None]),
            external_id=maybe(f"ext-{number}"),
            department=maybe("Support"),
            division=maybe("Home"),
            employee_number=maybe(f"E{number:05d}"),
            manager_id=maybe(f"00000000-0000-4000-8000-{number:012d}"),
            manager_email=maybe("boss@example.com"),
            phone_numbers=[
                PhoneNumber(f"+1555{number:07d}" if index % 2 else f"tel:+1555{number:07d};ext={index}", phone_type)
                for index, phone_type in enumerate(generator.sample(PHONE_TYPES, generator.randint(0, len(PHONE_TYPES))))
            ],
            routing_skills=[Proficiency(f"Skill {index}", generator.choice([0.0, 2.5, 5.0])) for index in range(generator.choice([0, 1, 3, 50]))],
            routing_languages=[Proficiency(language, 4.0) for language in generator.sample(["English", "Español", "日本語"], generator.randint(0, 3))],
            external_ids=[ExternalId("hr", str(number))] if generator.random() < 0.3 else [],
            roles=generator.sample(["Employee", "Supervisor", "Admin"], generator.randint(0, 3)),
        )
        users.append(user)
    return users


@pytest.mark.parametrize("user", generated_users(300), ids=lambda user: f"row{user.row}")
def test_payload_valid_for_scim2_models(user: ValidUser) -> None:
    payload = build_user_payload(user)

    document, dumped = scim2_round_trip(payload)

    assert dumped == document


@pytest.mark.parametrize("user", generated_users(300), ids=lambda user: f"row{user.row}")
def test_encode_user_equals_json_dumps(user: ValidUser) -> None:
    expected = json.dumps(build_user_payload(user), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    assert encode_user(user) == expected


def test_encode_user_integer_proficiency() -> None:
    user = ValidUser(row=2, user_name="ann@example.com", display_name="Ann", routing_skills=[Proficiency("Sales", 4)])

    assert b'"routingSkills":[{"name":"Sales","proficiency":4.0}]' in encode_user(user)
    assert json.loads(encode_user(user)) == build_user_payload(user)


def test_payloads_of_fixture_files() -> None:
    for name in ("genesys_admin_import.csv", "scim_users.json"):
        reader = UserFileReader(FIXTURES / name, InputOptions(user_name_must_be_email=True))
        for user in reader:
            document, dumped = scim2_round_trip(build_user_payload(user))
            assert dumped == document, f"{name} row {user.row}"


def test_full_payload() -> None:
    user = ValidUser(
        row=2,
        user_name="ann.lee@example.com",
        display_name="Ann Lee",
        given_name="Ann",
        family_name="Lee",
        title="Supervisor",
        active=True,
        external_id="hr-1001",
        department="Support",
        division="Home",
        employee_number="1001",
        manager_id="6f1c2b9e",
        phone_numbers=[PhoneNumber("tel:+15551230001;ext=201", "work"), PhoneNumber("+447700900123", "mobile")],
        routing_skills=[Proficiency("Billing", 4.5)],
        routing_languages=[Proficiency("English", 5.0)],
        external_ids=[ExternalId("hr", "1001")],
        roles=["Employee"],
    )

    assert build_user_payload(user) == {
        "schemas": [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GENESYS_USER_SCHEMA],
        "userName": "ann.lee@example.com",
        "displayName": "Ann Lee",
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": "ann.lee@example.com", "type": "work", "primary": True}],
        "title": "Supervisor",
        "active": True,
        "externalId": "hr-1001",
        "phoneNumbers": [
            {"value": "tel:+15551230001;ext=201", "type": "work"},
            {"value": "+447700900123", "type": "mobile"},
        ],
        "roles": [{"value": "Employee"}],
        ENTERPRISE_USER_SCHEMA: {
            "employeeNumber": "1001",
            "division": "Home",
            "department": "Support",
            "manager": {"value": "6f1c2b9e"},
        },
        GENESYS_USER_SCHEMA: {
            "routingSkills": [{"name": "Billing", "proficiency": 4.5}],
            "routingLanguages": [{"name": "English", "proficiency": 5.0}],
            "externalIds": [{"authority": "hr", "value": "1001"}],
        },
    }


def test_minimal_payload_has_core_schema_only() -> None:
    payload = build_user_payload(ValidUser(row=2, user_name="bjensen", display_name="Barbara Jensen"))

    assert payload == {"schemas": [CORE_USER_SCHEMA], "userName": "bjensen", "displayName": "Barbara Jensen"}


def test_work_email_column_wins_over_user_name() -> None:
    user = ValidUser(row=2, user_name="ann@example.com", display_name="Ann", email="ann.lee@example.org")

    assert build_user_payload(user)["emails"] == [{"value": "ann.lee@example.org", "type": "work", "primary": True}]


def test_manager_email_not_sent() -> None:
    user = ValidUser(row=2, user_name="ann@example.com", display_name="Ann", manager_email="boss@example.com")

    payload = build_user_payload(user)

    assert ENTERPRISE_USER_SCHEMA not in payload
    assert payload["schemas"] == [CORE_USER_SCHEMA]
    assert "boss@example.com" not in json.dumps(payload)


def test_encode_user_compact_utf8() -> None:
    user = ValidUser(row=2, user_name="zoe@example.com", display_name="Zoë 大翔", title='He said "hi"')

    encoded = encode_user(user)

    assert encoded == (
        '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"zoe@example.com",'
        '"displayName":"Zoë 大翔","emails":[{"value":"zoe@example.com","type":"work","primary":true}],'
        '"title":"He said \\"hi\\""}'
    ).encode("utf-8")
    assert json.loads(encoded) == build_user_payload(user)
