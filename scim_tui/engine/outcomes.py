"""The outcome of every row of the input file, and the per-user record the report is built from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """Where a row of the input ended. Every row ends in exactly one of these."""

    CREATED = "created"
    EXISTED = "existed"
    FAILED = "failed"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    NOT_ATTEMPTED = "not_attempted"


FINAL_SUCCESS = frozenset({Outcome.CREATED, Outcome.EXISTED})


@dataclass(slots=True)
class UserResult:
    """The final result for one row.

    ``status``, ``scim_type`` and ``detail`` describe the last error for a
    failed user; ``resource_id`` is the server id for created and existing users.
    """

    row: int
    user_name: str | None
    outcome: Outcome
    resource_id: str | None = None
    status: int | None = None
    scim_type: str | None = None
    detail: str | None = None
    attempts: int = 0
    retriable: bool = False
    display_name: str | None = None
