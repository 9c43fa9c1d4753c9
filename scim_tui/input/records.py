"""The records that the input layer hands to the planner.

A reader yields one :class:`ValidUser` for each row that passed validation and
records a :class:`RowProblem` for each row it rejected or changed. Row numbers
follow the operator's view of the file: in a CSV file the header is row 1 and
the first user is row 2, as a spreadsheet shows them; in JSON and NDJSON the
first user is row 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ProblemKind(StrEnum):
    """How a problem affects its row."""

    INVALID = "invalid"
    """The row is rejected and never sent."""

    DUPLICATE = "duplicate"
    """The row repeats an earlier userName (compared case-insensitively) and is never sent."""

    WARNING = "warning"
    """The row is sent, but a value was changed (for example trimmed) or ignored."""


@dataclass(slots=True, frozen=True)
class RowProblem:
    """One problem found in one row, worded for the operator who must fix the file."""

    row: int
    column: str | None
    value: str | None
    reason: str
    fix: str
    kind: ProblemKind = ProblemKind.INVALID
    user_name: str | None = None

    def describe(self) -> str:
        """Format the problem as one line: row, column, value, reason and fix."""
        where = f"row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        value = "" if self.value is None else f", value {self.value!r}"
        return f"{where}{value}: {self.reason}. Fix: {self.fix}"


@dataclass(slots=True)
class PhoneNumber:
    value: str
    type: str = "work"


@dataclass(slots=True)
class Proficiency:
    """A Genesys routing skill or language with its proficiency (0.0 to 5.0)."""

    name: str
    proficiency: float


@dataclass(slots=True)
class ExternalId:
    """A Genesys external identifier, unique within its authority."""

    authority: str
    value: str


@dataclass(slots=True)
class ValidUser:
    """A validated user, normalised and ready to be turned into a SCIM payload.

    Every string is trimmed and non-empty or ``None``. ``manager_id`` is a
    server id; ``manager_email`` is a userName that must be resolved to an id
    before it can be sent.
    """

    row: int
    user_name: str
    display_name: str
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    title: str | None = None
    active: bool | None = None
    external_id: str | None = None
    department: str | None = None
    division: str | None = None
    employee_number: str | None = None
    manager_id: str | None = None
    manager_email: str | None = None
    phone_numbers: list[PhoneNumber] = field(default_factory=list)
    routing_skills: list[Proficiency] = field(default_factory=list)
    routing_languages: list[Proficiency] = field(default_factory=list)
    external_ids: list[ExternalId] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
