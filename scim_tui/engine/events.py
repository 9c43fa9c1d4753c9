"""Typed events that a run emits, for front ends and logs.

Events are immutable and carry plain data only, so a front end can keep them,
print them or show them without touching engine internals. ``at`` is
``time.monotonic()`` when the event was made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import time


def _now() -> float:
    return time.monotonic()


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    at: float = field(default_factory=_now)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(Event):
    total_users: int
    batches: int
    mode: str
    concurrency: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchStarted(Event):
    batch: int
    users: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchProgress(Event):
    batch: int
    created: int
    existed: int
    failed: int
    pending: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchFinished(Event):
    batch: int
    status: str
    created: int
    existed: int
    failed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchSplit(Event):
    """A Bulk request was answered 413 and its operations were split in two."""

    batch: int
    operations: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRetried(Event):
    """A request will be sent again after ``delay`` seconds."""

    batch: int
    user_name: str | None
    reason: str
    delay: float
    attempt: int


@dataclass(frozen=True, slots=True, kw_only=True)
class UserFailed(Event):
    batch: int
    row: int
    user_name: str
    status: int | None
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BackoffStarted(Event):
    """All sending stops for ``delay`` seconds, after a 429 or a rate-limit header."""

    reason: str
    delay: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BackoffEnded(Event):
    waited: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ConcurrencyChanged(Event):
    old: int
    new: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Paused(Event):
    reason: str = "operator"


@dataclass(frozen=True, slots=True, kw_only=True)
class Resumed(Event):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialsRefreshed(Event):
    """A new access token was fetched; the token itself is never part of an event."""

    reason: str
    expires_in: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunMessage(Event):
    """A free-form notice for the operator, such as a likely missing permission."""

    level: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFinished(Event):
    cancelled: bool
    created: int
    existed: int
    failed: int
    not_attempted: int
    duration: float
