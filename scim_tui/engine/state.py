"""The observable state of a run.

The engine writes a :class:`RunState`; front ends read immutable
:class:`RunSnapshot` and :class:`BatchView` copies from it on a timer. Each
batch carries a version number, so a front end that asks for the batches
changed since its last redraw touches only those.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field, replace
from enum import StrEnum
import time

from scim_tui.engine.outcomes import Outcome


class RunPhase(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLING = "cancelling"
    FINISHED = "finished"


class BatchStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    PARTIAL = "partial"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class BatchView:
    """One batch as a front end shows it."""

    number: int
    users: int
    payload_bytes: int
    first_user: str
    last_user: str
    status: BatchStatus = BatchStatus.QUEUED
    created: int = 0
    existed: int = 0
    failed: int = 0
    not_attempted: int = 0
    retries: int = 0
    last_error: str | None = None
    version: int = 0


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """A consistent copy of the run's figures at one instant."""

    phase: RunPhase
    mode: str
    total_users: int
    finished_users: int
    counts: dict[str, int]
    in_flight: int
    concurrency: int
    retry_queue_depth: int
    requests_by_status: dict[str, int]
    requests_sent: int
    retries: int
    throttled: int
    backoff_remaining: float
    backoff_reason: str | None
    total_backoff: float
    rate_limit_allowed: int | None
    rate_limit_remaining: int | None
    users_per_second: float
    eta_seconds: float | None
    elapsed: float
    pause_reason: str | None
    batches_version: int


@dataclass
class RunState:
    """The mutable state the engine updates; read it only through its snapshot methods."""

    mode: str = "per-user"
    total_users: int = 0
    phase: RunPhase = RunPhase.PLANNED
    concurrency: int = 1
    in_flight: int = 0
    retry_queue_depth: int = 0
    counts: Counter = field(default_factory=Counter)
    requests_by_status: Counter = field(default_factory=Counter)
    requests_sent: int = 0
    retries: int = 0
    throttled: int = 0
    backoff_until: float = 0.0
    backoff_reason: str | None = None
    total_backoff: float = 0.0
    rate_limit_allowed: int | None = None
    rate_limit_remaining: int | None = None
    pause_reason: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    batches: list[BatchView] = field(default_factory=list)
    batches_version: int = 0
    # (monotonic time, finished users) samples for throughput over a sliding window.
    _samples: deque = field(default_factory=lambda: deque(maxlen=64))

    THROUGHPUT_WINDOW = 15.0

    def update_batch(self, index: int, **changes) -> None:
        """Replace batch ``index`` with a copy carrying ``changes`` and a new version."""
        self.batches_version += 1
        self.batches[index] = replace(self.batches[index], version=self.batches_version, **changes)

    def finished_users(self) -> int:
        return sum(self.counts[o] for o in (Outcome.CREATED, Outcome.EXISTED, Outcome.FAILED, Outcome.NOT_ATTEMPTED))

    def users_per_second(self, now: float) -> float:
        """Return the rate of finished users over the last ``THROUGHPUT_WINDOW`` seconds."""
        finished = self.finished_users()
        self._samples.append((now, finished))
        while len(self._samples) > 2 and now - self._samples[1][0] > self.THROUGHPUT_WINDOW:
            self._samples.popleft()
        first_time, first_finished = self._samples[0]
        if now - first_time < 0.5:
            return 0.0
        return (finished - first_finished) / (now - first_time)

    def snapshot(self) -> RunSnapshot:
        now = time.monotonic()
        finished = self.finished_users()
        rate = self.users_per_second(now) if self.phase is not RunPhase.FINISHED else self._average_rate()
        remaining_users = self.total_users - finished
        eta = remaining_users / rate if rate > 0 and remaining_users > 0 else (0.0 if remaining_users == 0 else None)
        end = self.finished_at or now
        return RunSnapshot(
            phase=self.phase,
            mode=self.mode,
            total_users=self.total_users,
            finished_users=finished,
            counts={str(k): v for k, v in self.counts.items()},
            in_flight=self.in_flight,
            concurrency=self.concurrency,
            retry_queue_depth=self.retry_queue_depth,
            requests_by_status={str(k): v for k, v in self.requests_by_status.items()},
            requests_sent=self.requests_sent,
            retries=self.retries,
            throttled=self.throttled,
            backoff_remaining=max(0.0, self.backoff_until - now),
            backoff_reason=self.backoff_reason if self.backoff_until > now else None,
            total_backoff=self.total_backoff,
            rate_limit_allowed=self.rate_limit_allowed,
            rate_limit_remaining=self.rate_limit_remaining,
            users_per_second=rate,
            eta_seconds=eta,
            elapsed=(end - self.started_at) if self.started_at else 0.0,
            pause_reason=self.pause_reason,
            batches_version=self.batches_version,
        )

    def _average_rate(self) -> float:
        if not self.started_at or not self.finished_at or self.finished_at <= self.started_at:
            return 0.0
        done = self.counts[Outcome.CREATED] + self.counts[Outcome.EXISTED] + self.counts[Outcome.FAILED]
        return done / (self.finished_at - self.started_at)

    def batches_changed_since(self, version: int) -> tuple[int, list[BatchView]]:
        """Return the current batches version and the batches changed after ``version``."""
        if version >= self.batches_version:
            return self.batches_version, []
        return self.batches_version, [b for b in self.batches if b.version > version]
