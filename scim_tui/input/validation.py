"""Validate one row and turn it into a :class:`ValidUser` or a list of problems.

A row arrives as ``target -> (column, raw value)``. Validation has two steps:

1. Plain Python cleans and parses each cell: it rejects control characters,
   trims spaces (with a warning), splits ``Sales:4.5;Support:3`` into pairs,
   maps ``yes``/``inactive`` to booleans and strips punctuation from phone
   numbers. Parsing needs per-value decisions and wording, which Python code
   expresses directly.
2. A pydantic v2 ``TypeAdapter`` over the :data:`UserRow` TypedDict checks the
   parsed row: lengths, the email and phone patterns, proficiency ranges and
   list sizes. pydantic-core runs these checks in compiled code and collects
   every failure at once. A TypedDict of ten fields measured about 3 µs a row
   and a BaseModel with the same fields about 4 µs (timeit, Python 3.11,
   pydantic 2.14), so the TypedDict is used.

Every problem names its row, column, value, reason and fix. A row with
several problems gets one :class:`RowProblem` for each.
"""

from __future__ import annotations

from collections.abc import Callable
import json
import re
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, TypeAdapter, ValidationError
from typing_extensions import Required, TypedDict

from scim_tui.input import columns as targets
from scim_tui.input.formats import describe_json_value
from scim_tui.input.records import ExternalId, PhoneNumber, ProblemKind, Proficiency, RowProblem, ValidUser

# NOTE: a cautious limit chosen for every text attribute, not a limit documented by Genesys Cloud.
MAX_TEXT_LENGTH = 255

MAX_EMAIL_LENGTH = 254
"""An address longer than this cannot be used in SMTP (RFC 5321 limits a path to 256 octets with brackets)."""

MAX_ROUTING_ENTRIES = 50
"""Genesys Cloud accepts at most 50 routing skills and 50 routing languages on a user."""

MAX_PROFICIENCY = 5.0

_ADDRESS_CHARACTER = "A-Za-z0-9\u0080-\U0010ffff"
_ATOM = f"[{_ADDRESS_CHARACTER}!#$%&'*+/=?^_`{{|}}~-]+"
_LABEL = f"[{_ADDRESS_CHARACTER}](?:[{_ADDRESS_CHARACTER}-]{{0,61}}[{_ADDRESS_CHARACTER}])?"
EMAIL_PATTERN = (
    f"^{_ATOM}(?:\\.{_ATOM})*@(?:{_LABEL}\\.)+(?:[A-Za-z\u0080-\U0010ffff]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}})$"
)
"""A compact address check: a dot-atom local part, then a domain with at least two labels and a TLD of letters.

It rejects what cannot be an address (no ``@``, spaces, ``a..b``, a bare
host, a digit TLD) and checks no DNS. Any non-ASCII character counts as a
letter, so internationalized addresses pass. The check costs about 0.3 µs
because it uses character ranges: Unicode word classes made it ten times
slower in pydantic-core's regex engine. The ``email-validator`` package
measured about 34 µs an address.
"""

PHONE_PATTERN = r"^(?:\+[0-9]{8,15}|tel:\+[0-9]{8,15}(?:;ext=[0-9]{1,15})?)$"
"""E.164 (``+`` and 8 to 15 digits), or a tel URI with an optional extension."""

EMAIL_REGEX = re.compile(EMAIL_PATTERN)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_VISUAL_SEPARATORS = re.compile(r"[\s\-.()]+")
# A phone cell: an optional "tel:", the number, and an optional extension written
# ";ext=123", "x123", "ext 123", "ext. 123" or "extension 123".
_PHONE_CELL = re.compile(
    r"(?:tel:)?([^;,xXeE]*)(?:(?:;\s*ext\s*=|,?\s*(?:extension|ext\.?|x))\s*([^;]*))?",
    re.IGNORECASE,
)
_PROFICIENCY_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")

_PROFICIENCY_CACHE_SIZE = 4096

_ACTIVE_VALUES = {
    "true": True,
    "yes": True,
    "1": True,
    "active": True,
    "false": False,
    "no": False,
    "0": False,
    "inactive": False,
}

Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_LENGTH)]
Email = Annotated[str, StringConstraints(max_length=MAX_EMAIL_LENGTH, pattern=EMAIL_PATTERN)]
PhoneValue = Annotated[str, StringConstraints(pattern=PHONE_PATTERN)]
ProficiencyValue = Annotated[float, Field(ge=0.0, le=MAX_PROFICIENCY, allow_inf_nan=False)]
ProficiencyList = Annotated[list[tuple[Text, ProficiencyValue]], Field(max_length=MAX_ROUTING_ENTRIES)]


PhoneType = Literal["work", "work2", "work3", "work4", "home", "mobile", "other"]


class UserRow(TypedDict, total=False):
    """The parsed row as pydantic checks it; keys are :class:`ValidUser` field names."""

    user_name: Required[Text]
    display_name: Required[Text]
    given_name: Text
    family_name: Text
    email: Email
    title: Text
    active: bool
    external_id: Text
    department: Text
    division: Text
    employee_number: Text
    manager_id: Text
    manager_email: Email
    phone_numbers: list[tuple[PhoneValue, PhoneType]]
    routing_skills: ProficiencyList
    routing_languages: ProficiencyList
    external_ids: list[tuple[Text, Text]]
    roles: list[Text]


class EmailUserRow(UserRow):
    """The row for a target whose userName must be an email address (Genesys Cloud)."""

    user_name: Required[Email]  # type: ignore[misc]


_ROW_ADAPTER = TypeAdapter(UserRow)
_EMAIL_ROW_ADAPTER = TypeAdapter(EmailUserRow)

# ValidUser field -> the SCIM name used in messages.
_FIELD_LABELS = {
    "user_name": "userName",
    "display_name": "displayName",
    "given_name": "givenName",
    "family_name": "familyName",
    "email": "work email",
    "title": "title",
    "active": "active",
    "external_id": "externalId",
    "department": "department",
    "division": "division",
    "employee_number": "employeeNumber",
    "manager_id": "manager id",
    "manager_email": "manager email",
    "phone_numbers": "phone number",
    "routing_skills": "routing skill",
    "routing_languages": "routing language",
    "external_ids": "external id",
    "roles": "role",
}

_SIMPLE_TEXT_TARGETS: dict[str, str] = {
    targets.USER_NAME: "user_name",
    targets.DISPLAY_NAME: "display_name",
    targets.GIVEN_NAME: "given_name",
    targets.FAMILY_NAME: "family_name",
    targets.EMAIL: "email",
    targets.TITLE: "title",
    targets.EXTERNAL_ID: "external_id",
    targets.DEPARTMENT: "department",
    targets.DIVISION: "division",
    targets.EMPLOYEE_NUMBER: "employee_number",
}

_TEXT_TARGET_OF_FIELD = {key: target for target, key in _SIMPLE_TEXT_TARGETS.items()}

FIX_TRIMMED = "Remove the spaces in the file to silence this warning"
FIX_PHONE_REWRITTEN = "Write phone numbers in E.164 form (+ and 8 to 15 digits) to silence this warning"
FIX_PHONE = "Write the number as + and the country code and number, 8 to 15 digits, such as +15551234567, or as tel:+15551234567;ext=123"
FIX_EMAIL = "Write a complete email address such as jane.doe@example.com"

FieldValues = dict[str, tuple[str, Any]]
"""A row as the validator receives it: target -> (column, raw value)."""


class _RowContext:
    """The state of one row while it is validated.

    Problems are kept as tuples and become RowProblem records at the end,
    when the row's userName is known.
    """

    __slots__ = ("row", "fields", "problems", "invalid", "data", "sources", "phones", "phone_columns", "extension")

    def __init__(self, row: int, fields: FieldValues) -> None:
        self.row = row
        self.fields = fields
        self.problems: list[tuple[str | None, Any, str, str, ProblemKind]] = []
        self.invalid = False
        self.data: dict[str, Any] = {}
        # ValidUser field -> (column, raw value), for values not taken straight from their own target.
        self.sources: dict[str, tuple[str, Any]] = {}
        self.phones: list[tuple[str, str, str]] = []
        self.phone_columns: list[str] = []
        self.extension: tuple[str, str] | None = None

    def reject(self, column: str | None, value: Any, reason: str, fix: str) -> None:
        self.invalid = True
        self.problems.append((column, value, reason, fix, ProblemKind.INVALID))

    def warn(self, column: str | None, value: Any, reason: str, fix: str) -> None:
        self.problems.append((column, value, reason, fix, ProblemKind.WARNING))

    def set(self, key: str, value: Any, column: str, raw: Any) -> None:
        self.data[key] = value
        self.sources[key] = (column, raw)

    def source(self, key: str) -> tuple[str | None, Any]:
        """Return the column and raw value that a ValidUser field came from."""
        source = self.sources.get(key)
        if source is not None:
            return source
        target = _TEXT_TARGET_OF_FIELD.get(key)
        if target is not None and target in self.fields:
            return self.fields[target]
        if key == "display_name":
            # Built from the given and family names.
            return self.source("given_name" if "given_name" in self.data else "family_name")
        return None, None

    def has_rejected(self, column: str | None) -> bool:
        return any(kind is ProblemKind.INVALID and problem_column == column for problem_column, _, _, _, kind in self.problems)

    def row_problems(self, user_name: str | None) -> list[RowProblem]:
        row = self.row
        return [
            RowProblem(row, column, _shown(value), reason, fix, kind, user_name)
            for column, value, reason, fix, kind in self.problems
        ]


def _shown(value: Any) -> str | None:
    """Return a cell value as text for a message; JSON values are shown as JSON."""
    if value is None or isinstance(value, str):
        return value
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


class RowValidator:
    """Validates the rows of one file; it remembers which once-per-file notes it has made."""

    def __init__(self, *, user_name_must_be_email: bool, column_names: dict[str, str] | None = None) -> None:
        self.user_name_must_be_email = user_name_must_be_email
        # Target -> the file's header for it, so that an empty required cell names its column.
        self.column_names = column_names or {}
        self._adapter = _EMAIL_ROW_ADAPTER if user_name_must_be_email else _ROW_ADAPTER
        self._noted: set[str] = set()
        # Skill and language cells repeat across rows, so their parsed pairs are reused.
        self._proficiency_cache: dict[str, tuple[tuple[str, float], ...]] = {}
        self._handlers: dict[str, Callable[[_RowContext, str, Any], None]] = {
            targets.ACTIVE: self._active,
            targets.MANAGER: self._manager,
            targets.ROUTING_SKILLS: self._routing_skills,
            targets.ROUTING_LANGUAGES: self._routing_languages,
            targets.EXTERNAL_IDS: self._external_ids,
            targets.ROLES: self._roles,
            targets.ROLES_WITH_DIVISIONS: self._roles_with_divisions,
            targets.NAME_TO_SPLIT: self._name_to_split,
            targets.PHONE_EXTENSION: self._phone_extension,
        }
        for target, key in _SIMPLE_TEXT_TARGETS.items():
            self._handlers[target] = self._simple_text(key)
        for target, phone_type in targets.PHONE_TARGETS.items():
            self._handlers[target] = self._phone(phone_type)

    def validate(
        self, row: int, fields: FieldValues, problems: list[RowProblem] | None = None
    ) -> tuple[ValidUser | None, list[RowProblem]]:
        """Validate one row. Returns the user (None when the row is invalid) and every problem found.

        ``problems`` carries problems the reader already found in the row,
        such as a JSON value of the wrong shape; an INVALID one rejects the row.
        """
        context = _RowContext(row, fields)
        if problems:
            for problem in problems:
                context.problems.append((problem.column, problem.value, problem.reason, problem.fix, problem.kind))
                context.invalid = context.invalid or problem.kind is ProblemKind.INVALID

        # Fast path: a printable text cell without surrounding spaces goes straight
        # into the row; anything else takes its target's handler, which explains it.
        data = context.data
        handlers = self._handlers
        text_fields = _SIMPLE_TEXT_TARGETS
        for target, (column, raw) in fields.items():
            key = text_fields.get(target)
            if key is not None and raw.__class__ is str and raw.isprintable():
                value = raw.strip()
                if value is raw:
                    if value:
                        data[key] = value
                    continue
            handlers[target](context, column, raw)

        if context.phones or context.extension is not None:
            self._finish_phones(context)
        if "display_name" not in data:
            self._derive_display_name(context)
        user_name = data.get("user_name")
        if user_name is None:
            self._reject_missing_user_name(context)

        try:
            checked = self._adapter.validate_python(data)
        except ValidationError as error:
            for detail in error.errors(include_url=False):
                self._reject_checked(context, detail)
            checked = None

        if context.invalid or checked is None:
            return None, context.row_problems(user_name)
        user = _build_user(row, checked)
        return user, context.row_problems(user_name) if context.problems else []

    # -- cells ---------------------------------------------------------------

    def _clean(self, context: _RowContext, column: str, raw: Any) -> str | None:
        """Return the trimmed text of a cell, or None when it is empty. Control characters and trimming are recorded as problems."""
        if raw.__class__ is not str:
            if raw is None:
                return None
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                context.reject(column, raw, f"expected a text value, got {describe_json_value(raw)}", "Give a string or a number")
                return None
            raw = str(raw)

        control = None if raw.isprintable() else _CONTROL.search(raw)
        if control is not None:
            character = control.group()
            context.reject(
                column,
                raw,
                f"contains the control character U+{ord(character):04X}",
                "Remove tabs, line breaks and other control characters from the value",
            )
            return None

        value = raw.strip()
        if len(value) != len(raw) and value:
            context.warn(column, raw, "leading or trailing spaces were removed", FIX_TRIMMED)
        return value or None

    def _simple_text(self, key: str) -> Callable[[_RowContext, str, Any], None]:
        clean = self._clean

        def handle(context: _RowContext, column: str, raw: Any) -> None:
            value = clean(context, column, raw)
            if value is not None:
                context.set(key, value, column, raw)

        return handle

    def _active(self, context: _RowContext, column: str, raw: Any) -> None:
        if isinstance(raw, bool):
            context.set("active", raw, column, raw)
            return
        if isinstance(raw, int) and raw in (0, 1):
            context.set("active", bool(raw), column, raw)
            return
        value = self._clean(context, column, raw)
        if value is None:
            return
        active = _ACTIVE_VALUES.get(value.casefold())
        if active is None:
            context.reject(
                column,
                value,
                "active must be true, false, yes, no, 1, 0, active or inactive",
                "Write true or false, or leave the cell empty to use the server's default",
            )
            return
        context.set("active", active, column, raw)

    def _manager(self, context: _RowContext, column: str, raw: Any) -> None:
        if isinstance(raw, dict):
            raw = raw.get("value")
        value = self._clean(context, column, raw)
        if value is None:
            return
        # An address names the manager by userName; the engine resolves it to an id before sending.
        key = "manager_email" if "@" in value else "manager_id"
        context.set(key, value, column, raw)

    def _name_to_split(self, context: _RowContext, column: str, raw: Any) -> None:
        value = self._clean(context, column, raw)
        if value is None:
            return
        context.set("display_name", value, column, raw)
        given, family = split_full_name(value)
        if given is not None:
            context.set("given_name", given, column, raw)
        if family is not None:
            context.set("family_name", family, column, raw)

    # -- phones --------------------------------------------------------------

    def _phone(self, phone_type: str) -> Callable[[_RowContext, str, Any], None]:
        clean = self._clean

        def handle(context: _RowContext, column: str, raw: Any) -> None:
            value = clean(context, column, raw)
            if value is not None:
                context.phones.append((phone_type, value, column))

        return handle

    def _phone_extension(self, context: _RowContext, column: str, raw: Any) -> None:
        value = self._clean(context, column, raw)
        if value is None:
            return
        digits = _VISUAL_SEPARATORS.sub("", value)
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 15):
            context.reject(column, value, "the extension must be 1 to 15 digits", "Write only the extension's digits, such as 1234")
            return
        context.extension = (column, digits)

    def _finish_phones(self, context: _RowContext) -> None:
        extension = context.extension
        phones: list[tuple[str, str]] = []
        columns: list[str] = []
        seen_types: dict[str, str] = {}
        for phone_type, value, column in context.phones:
            if phone_type in seen_types:
                context.reject(
                    column,
                    value,
                    f"a second {phone_type} phone number; column {seen_types[phone_type]!r} already gives one",
                    "Keep one phone number of each type, or map the column to another type such as phoneNumbers.work2",
                )
                continue
            seen_types[phone_type] = column

            number, number_extension, error = _split_phone(value)
            if error is not None:
                context.reject(column, value, error, FIX_PHONE)
                if phone_type == "work":
                    extension = None  # The work phone's own problem covers its extension.
                continue
            if phone_type == "work" and extension is not None:
                if number_extension is not None and number_extension != extension[1]:
                    context.reject(
                        extension[0],
                        extension[1],
                        f"the extension differs from the one in the work phone number ({number_extension})",
                        "Give the extension in one place only",
                    )
                    continue
                number_extension = extension[1]
                extension = None

            phone = f"tel:{number};ext={number_extension}" if number_extension else number
            if phone != value and not (phone_type == "work" and context.extension and value == number):
                context.warn(column, value, f"the phone number is sent as {phone}", FIX_PHONE_REWRITTEN)
            phones.append((phone, phone_type))
            columns.append(column)

        if extension is not None:
            context.reject(
                extension[0],
                extension[1],
                "an extension needs a work phone number in the same row",
                "Fill in the work phone number (phone_work), or leave the extension empty",
            )
        if phones:
            context.data["phone_numbers"] = phones
            context.phone_columns = columns

    # -- lists ---------------------------------------------------------------

    def _routing_skills(self, context: _RowContext, column: str, raw: Any) -> None:
        self._proficiencies(context, column, raw, "routing_skills", "routing skill")

    def _routing_languages(self, context: _RowContext, column: str, raw: Any) -> None:
        self._proficiencies(context, column, raw, "routing_languages", "routing language")

    def _proficiencies(self, context: _RowContext, column: str, raw: Any, key: str, label: str) -> None:
        if raw.__class__ is str:
            cached = self._proficiency_cache.get(raw)
            if cached is None:
                cached = _parse_plain_proficiencies(raw)
                if cached is not None:
                    if len(self._proficiency_cache) >= _PROFICIENCY_CACHE_SIZE:
                        self._proficiency_cache.clear()
                    self._proficiency_cache[raw] = cached
            if cached is not None:
                context.set(key, list(cached), column, raw)
                return

        entries = self._entries(context, column, raw)
        if entries is None:
            return
        example = "Sales:4.5;Support:3" if key == "routing_skills" else "English:5;Spanish:3"
        pairs: list[tuple[str, float]] = []
        names: set[str] = set()
        for entry in entries:
            if isinstance(entry, dict):
                name = entry.get("name")
                proficiency = entry.get("proficiency")
            else:
                name, separator, proficiency = entry.rpartition(":")
                if not separator:
                    name, proficiency = entry, None
            if isinstance(name, str):
                name = name.strip()
            if isinstance(proficiency, str):
                proficiency = proficiency.strip()
            if not isinstance(name, str) or not name:
                context.reject(column, _shown(raw), f"a {label} entry has no name", f"Write each entry as Name:proficiency, such as {example}")
                continue
            if proficiency is None or proficiency == "":
                context.reject(
                    column,
                    _shown(raw),
                    f"{label} {name!r} has no proficiency",
                    f"Write each entry as Name:proficiency with a proficiency from 0 to 5, such as {example}",
                )
                continue
            number = _proficiency_number(proficiency)
            if number is None:
                context.reject(
                    column,
                    _shown(raw),
                    f"the proficiency {proficiency!r} of {label} {name!r} is not a number",
                    f"Write the proficiency as a number from 0 to 5 with a dot for decimals, such as {example}",
                )
                continue
            if name in names:
                context.reject(column, _shown(raw), f"{label} {name!r} is listed twice", "List each name once")
                continue
            names.add(name)
            pairs.append((name, number))
        if pairs:
            context.set(key, pairs, column, raw)

    def _external_ids(self, context: _RowContext, column: str, raw: Any) -> None:
        entries = self._entries(context, column, raw)
        if entries is None:
            return
        pairs: list[tuple[str, str]] = []
        for entry in entries:
            if isinstance(entry, dict):
                authority, value = entry.get("authority"), entry.get("value")
            else:
                authority, separator, value = entry.partition(":")
                if not separator:
                    authority, value = "", entry
            authority = authority.strip() if isinstance(authority, str) else authority
            value = value.strip() if isinstance(value, str) else value
            if not authority or not value or not isinstance(authority, str) or not isinstance(value, (str, int)):
                context.reject(
                    column,
                    _shown(raw),
                    f"external id {_shown(entry)!r} needs an authority and a value",
                    "Write each external id as authority:value, such as hr:12345;badge:B-77",
                )
                continue
            pairs.append((authority, str(value)))
        if pairs:
            context.set("external_ids", pairs, column, raw)

    def _roles(self, context: _RowContext, column: str, raw: Any) -> None:
        entries = self._entries(context, column, raw)
        if entries is None:
            return
        roles: list[str] = []
        for entry in entries:
            name = entry.get("value") if isinstance(entry, dict) else entry
            if not isinstance(name, str) or not name.strip():
                context.reject(column, _shown(raw), "a role entry has no name", "Write role names separated by ';', such as Employee;Supervisor")
                continue
            name = name.strip()
            if name not in roles:
                roles.append(name)
        if roles:
            context.set("roles", roles, column, raw)

    def _roles_with_divisions(self, context: _RowContext, column: str, raw: Any) -> None:
        """Read the Genesys CSV ``roles_divisions`` cell: ``Role:Division`` entries, of which only the role is kept.

        Genesys does not document this cell's format, so it is read leniently.
        Entries are separated by ``;``, else by ``|``. Commas separate entries
        only when every comma-separated part has its own ``:`` or none has one,
        because in ``Employee:Home,Sales`` the comma more likely separates
        divisions.
        """
        if isinstance(raw, list):
            entries = self._entries(context, column, raw)
        else:
            value = self._clean(context, column, raw)
            entries = None if value is None else _split_role_entries(value)
        if not entries:
            return
        roles: list[str] = []
        dropped_divisions = False
        for entry in entries:
            if not isinstance(entry, str):
                context.reject(column, _shown(raw), "a roles_divisions entry must be text", "Write each entry as Role or Role:Division")
                return
            name, separator, divisions = entry.partition(":")
            name = name.strip()
            dropped_divisions = dropped_divisions or bool(separator and divisions.strip())
            if name and name not in roles:
                roles.append(name)
        if dropped_divisions and "roles_divisions" not in self._noted:
            self._noted.add("roles_divisions")
            context.warn(
                column,
                _shown(raw),
                "SCIM grants roles by name only, so the division part of each role is ignored in every row",
                "Grant the roles in the right divisions in Genesys Cloud after the import",
            )
        if roles:
            context.set("roles", roles, column, raw)

    def _entries(self, context: _RowContext, column: str, raw: Any) -> list[Any] | None:
        """Split a list cell into entries, or return a JSON list as it is.

        Entries are split on ``;``, and on ``,`` only when the cell has no
        ``;``, as the Genesys CSV import writes ``Skill1:5,Skill2:3``.
        """
        if isinstance(raw, list):
            cleaned: list[Any] = []
            for item in raw:
                if isinstance(item, str):
                    item = self._clean(context, column, item)
                    if item is None:
                        continue
                elif isinstance(item, dict):
                    for sub_value in item.values():
                        if isinstance(sub_value, str) and _CONTROL.search(sub_value):
                            self._clean(context, column, sub_value)
                            return None
                else:
                    context.reject(
                        column,
                        _shown(raw),
                        f"an entry of the list is {describe_json_value(item)}",
                        "Write each entry as a string or an object",
                    )
                    return None
                cleaned.append(item)
            return cleaned or None

        value = self._clean(context, column, raw)
        if value is None:
            return None
        separator = ";" if ";" in value else ","
        return [entry for entry in (part.strip() for part in value.split(separator)) if entry]

    # -- whole row -----------------------------------------------------------

    def _derive_display_name(self, context: _RowContext) -> None:
        data = context.data
        parts = [data[key] for key in ("given_name", "family_name") if key in data]
        if parts:
            data["display_name"] = " ".join(parts)
            return
        column = self.column_names.get(targets.DISPLAY_NAME) or self.column_names.get(targets.NAME_TO_SPLIT) or "displayName"
        for target in (targets.DISPLAY_NAME, targets.NAME_TO_SPLIT):
            if target in context.fields:
                column = context.fields[target][0]
                if context.has_rejected(column):
                    return  # The cell's own problem explains why there is no displayName.
        context.reject(
            column,
            None,
            "displayName is empty and there is no given name or family name to build it from",
            "Fill in the user's full name"
            if targets.NAME_TO_SPLIT in self.column_names
            else "Fill in displayName, or givenName and familyName",
        )

    def _reject_missing_user_name(self, context: _RowContext) -> None:
        column = self.column_names.get(targets.USER_NAME, "userName")
        if targets.USER_NAME in context.fields:
            column = context.fields[targets.USER_NAME][0]
            if context.has_rejected(column):
                return  # The cell's own problem explains why there is no userName.
        fix = (
            "Fill in the user's email address, which Genesys Cloud uses as userName"
            if self.user_name_must_be_email
            else "Fill in the user's userName"
        )
        context.reject(column, None, "userName is empty", fix)

    def _reject_checked(self, context: _RowContext, detail: dict[str, Any]) -> None:
        """Turn one pydantic error into a row problem worded for the operator."""
        location = detail["loc"]
        key = location[0]
        error_type = detail["type"]
        if error_type == "missing":
            return  # userName and displayName: already reported with a better message.

        column, raw = context.source(key)
        value = detail["input"]
        label = _FIELD_LABELS.get(key, key)
        if key == "phone_numbers" and len(location) > 1:
            column = context.phone_columns[location[1]]
            value = raw = context.data["phone_numbers"][location[1]][0]

        if error_type == "string_too_long":
            limit = detail["ctx"]["max_length"]
            reason = f"{label} is {len(value)} characters long, more than the limit of {limit}"
            fix = f"Shorten the value to at most {limit} characters"
        elif error_type == "string_pattern_mismatch" and key in ("user_name", "email", "manager_email"):
            reason = f"{label} is not a valid email address"
            fix = FIX_EMAIL
            if key == "user_name":
                fix = "Genesys Cloud needs an email address as userName, such as jane.doe@example.com"
        elif error_type == "string_pattern_mismatch" and key == "phone_numbers":
            reason = "the phone number must have 8 to 15 digits after the +"
            fix = FIX_PHONE
        elif error_type == "too_long" and key in ("routing_skills", "routing_languages"):
            count = len(value)
            reason = f"{count} {label}s, more than the Genesys Cloud limit of {MAX_ROUTING_ENTRIES}"
            fix = f"Keep at most {MAX_ROUTING_ENTRIES} {label}s for each user"
        elif error_type in ("greater_than_equal", "less_than_equal") and key in ("routing_skills", "routing_languages"):
            name = context.data[key][location[1]][0]
            reason = f"the proficiency {value:g} of {label} {name!r} is outside 0 to 5"
            fix = "Use a proficiency from 0 to 5, such as 4.5"
        elif error_type == "finite_number":
            name = context.data[key][location[1]][0]
            reason = f"the proficiency of {label} {name!r} is not a finite number"
            fix = "Use a proficiency from 0 to 5, such as 4.5"
        else:
            reason = f"{label}: {detail['msg']}"
            fix = "Correct the value"
        context.reject(column, _shown(raw if raw is not None else value), reason, fix)


def _split_role_entries(value: str) -> list[str]:
    for separator in ";|":
        if separator in value:
            return [entry for entry in value.split(separator) if entry.strip()]
    parts = value.split(",")
    with_colon = sum(1 for part in parts if ":" in part)
    if with_colon in (0, len(parts)):
        return [part for part in parts if part.strip()]
    return [value]


def split_full_name(full_name: str) -> tuple[str | None, str | None]:
    """Split a full name into given and family names.

    ``Family, Given`` splits at the comma; otherwise the last word is the
    family name. A single word sets neither, because it could be either.
    """
    family, comma, given = full_name.partition(",")
    if comma and family.strip() and given.strip():
        return given.strip(), family.strip()
    given, space, family = full_name.rpartition(" ")
    if space and given.strip() and family:
        return given.strip(), family
    return None, None


def _split_phone(value: str) -> tuple[str, str | None, str | None]:
    """Split a phone cell into an E.164 number and an extension, or return an error reason."""
    digits = value[1:]
    if value[:1] == "+" and digits.isdigit() and digits.isascii():
        return value, None, None

    cell = _PHONE_CELL.fullmatch(value)
    if cell is None:
        return value, None, "the phone number contains characters other than digits, spaces, dashes and parentheses"
    number, extension = cell.group(1), cell.group(2)

    number = _VISUAL_SEPARATORS.sub("", number)
    if not number.startswith("+"):
        return number, extension, "the phone number has no + and country code (E.164)"
    digits = number[1:]
    if not (digits.isascii() and digits.isdigit()):
        return number, extension, "the phone number contains characters other than digits, spaces, dashes and parentheses"
    if extension is not None:
        extension = extension.strip()
        if not (extension.isascii() and extension.isdigit() and len(extension) <= 15):
            return number, extension, "the extension must be 1 to 15 digits"
    return number, extension or None, None


def _parse_plain_proficiencies(text: str) -> tuple[tuple[str, float], ...] | None:
    """Parse a well-formed ``Name:4.5;Other:3`` cell quickly; None sends the cell to the explaining parser."""
    if not text.isprintable() or text.strip() is not text:
        return None
    separator = ";" if ";" in text else ","
    pairs: list[tuple[str, float]] = []
    for entry in text.split(separator):
        name, colon, number = entry.rpartition(":")
        name = name.strip()
        number = number.strip()
        if not (colon and name and number.isascii() and number.replace(".", "", 1).isdigit()):
            return None
        pairs.append((name, float(number)))
    if len(pairs) > 1 and len({name for name, _ in pairs}) != len(pairs):
        return None
    return tuple(pairs)


def _proficiency_number(proficiency: Any) -> float | None:
    if isinstance(proficiency, bool):
        return None
    if isinstance(proficiency, (int, float)):
        return float(proficiency)
    if isinstance(proficiency, str) and _PROFICIENCY_NUMBER.fullmatch(proficiency):
        return float(proficiency)
    return None


def _build_user(row: int, checked: dict[str, Any]) -> ValidUser:
    phones = checked.get("phone_numbers")
    if phones is not None:
        checked["phone_numbers"] = [PhoneNumber(value, phone_type) for value, phone_type in phones]
    for key in ("routing_skills", "routing_languages"):
        pairs = checked.get(key)
        if pairs is not None:
            checked[key] = [Proficiency(name, proficiency) for name, proficiency in pairs]
    external_ids = checked.get("external_ids")
    if external_ids is not None:
        checked["external_ids"] = [ExternalId(authority, value) for authority, value in external_ids]
    return ValidUser(row, **checked)
