"""Users stored before the simulator accepts requests.

A run against a real tenant meets users that already exist, some of them
inactive; preloading reproduces that. Users come from a count, named by
:func:`preload_user_name`, and from a JSON or CSV file.

- JSON: a list of SCIM user objects, or an object with a ``Resources`` list.
  ``schemas`` may be left out; it is then derived from the extension keys.
- CSV: a header row with some of the columns in :data:`CSV_COLUMNS`
  (``userName`` is required, names are matched case-insensitively), then
  one user a row. ``active`` takes true/false, yes/no or 1/0.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from scim2_models import Context, ResourceType, SCIMException, User

from scim_tui.simulator.storage import SimulatorService, SimulatorStorage, check_genesys_user

CORE_USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"

CSV_COLUMNS = ("userName", "displayName", "active", "externalId", "givenName", "familyName", "email", "title")

_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def preload_user_name(index: int) -> str:
    """Return the userName of the ``index``-th generated user, counting from 1."""
    return f"user{index:05d}@example.com"


def generated_users(count: int, inactive: int) -> list[dict[str, Any]]:
    """Return ``count`` SCIM user payloads; the last ``inactive`` of them are inactive."""
    first_inactive = count - inactive + 1
    return [
        {
            "schemas": [CORE_USER_SCHEMA],
            "userName": preload_user_name(index),
            "displayName": f"Preloaded User {index}",
            "name": {"givenName": "Preloaded", "familyName": f"User {index}"},
            "emails": [{"value": preload_user_name(index), "type": "work", "primary": True}],
            "active": index < first_inactive,
        }
        for index in range(1, count + 1)
    ]


def read_user_file(path: Path) -> list[dict[str, Any]]:
    """Read SCIM user payloads from a JSON or CSV file; raises ValueError naming the file and the entry."""
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ValueError(f"cannot read preload file {path}: {error.strerror or error}") from None

    if suffix == ".json":
        return _users_from_json(path, text)
    if suffix == ".csv":
        return _users_from_csv(path, text)
    raise ValueError(f"unsupported preload file {path}: expected a .json or .csv file")


def _users_from_json(path: Path, text: str) -> list[dict[str, Any]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"invalid JSON in preload file {path}: {error}") from None

    if isinstance(document, dict) and isinstance(document.get("Resources"), list):
        document = document["Resources"]
    if not isinstance(document, list):
        raise ValueError(f"invalid preload file {path}: expected a list of users or an object with a Resources list")

    users = []
    for position, entry in enumerate(document, start=1):
        if not isinstance(entry, dict):
            raise ValueError(f"invalid preload file {path}: entry {position} is not a JSON object")
        payload = dict(entry)
        if "schemas" not in payload:
            payload["schemas"] = [CORE_USER_SCHEMA] + [key for key in payload if key.startswith("urn:")]
        users.append(payload)
    return users


def _users_from_csv(path: Path, text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(text.splitlines())
    known = {column.lower(): column for column in CSV_COLUMNS}
    header = reader.fieldnames or []
    unknown = [name for name in header if name.strip().lower() not in known]
    if unknown:
        raise ValueError(
            f"invalid preload file {path}: unknown column(s) {', '.join(unknown)}; allowed: {', '.join(CSV_COLUMNS)}"
        )
    if "username" not in {name.strip().lower() for name in header}:
        raise ValueError(f"invalid preload file {path}: the header has no userName column")

    users = []
    # Row 1 is the header, so the first user is on row 2, as a spreadsheet shows it.
    for row_number, row in enumerate(reader, start=2):
        values = {known[name.strip().lower()]: (value or "").strip() for name, value in row.items() if name is not None}
        users.append(_user_from_row(path, row_number, values))
    return users


def _user_from_row(path: Path, row_number: int, values: dict[str, str]) -> dict[str, Any]:
    payload: dict[str, Any] = {"schemas": [CORE_USER_SCHEMA], "userName": values.get("userName", "")}
    if values.get("displayName"):
        payload["displayName"] = values["displayName"]
    if values.get("externalId"):
        payload["externalId"] = values["externalId"]
    if values.get("title"):
        payload["title"] = values["title"]
    if values.get("givenName") or values.get("familyName"):
        payload["name"] = {key: values[key] for key in ("givenName", "familyName") if values.get(key)}
    if values.get("email"):
        payload["emails"] = [{"value": values["email"], "type": "work", "primary": True}]

    active = values.get("active", "").lower()
    if active in _TRUE:
        payload["active"] = True
    elif active in _FALSE:
        payload["active"] = False
    elif active:
        raise ValueError(f"invalid preload file {path}: row {row_number}, active {active!r} must be true or false")
    return payload


def store_users(
    storage: SimulatorStorage,
    service: SimulatorService,
    resource_type: ResourceType,
    payloads: list[dict[str, Any]],
    source: str,
) -> int:
    """Validate and store user payloads; raises ValueError naming ``source`` and the entry that failed."""
    model = service.get_model(resource_type)
    with service.provider:
        for position, payload in enumerate(payloads, start=1):
            try:
                user = model.model_validate(payload, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
                if service.genesys and isinstance(user, User):
                    check_genesys_user(user)
                storage.store_preloaded(resource_type, user)
            except ValidationError as error:
                raise ValueError(f"invalid user {position} in {source}: {error.errors()[0]['msg']}") from None
            except SCIMException as error:
                reason = "userName already taken" if error.status == 409 else str(error)
                raise ValueError(f"invalid user {position} ({payload.get('userName')!r}) in {source}: {reason}") from None
    return len(payloads)
