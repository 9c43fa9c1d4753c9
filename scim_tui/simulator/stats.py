"""Measurements of the simulator, for tests and benchmarks of the provisioning engine.

Every SCIM and token request is counted by route and status and recorded on
a timeline with its start and end. The recorder also tracks the requests in
flight and, for each userName, how many create requests carried it, how many
creations were stored and how many 201 responses were sent. A test proves
with these counts that no user was created twice.

The recorder is touched only from the server's event loop, so it needs no
lock; other threads read a :class:`SimulatorStats` snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_TIMELINE_RECORDS = 1_000_000
"""Requests kept on the timeline; later ones are counted but not recorded, to bound memory."""

NO_RESPONSE = 0
"""Status recorded for a request that got no response: a dropped connection, or a client that left first."""


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request on the timeline. Times are seconds since the simulator started or was last reset."""

    method: str
    route: str
    status: int
    started: float
    finished: float
    fault: str | None = None


@dataclass(slots=True)
class UserPosts:
    """Create-request counts of one userName, compared case-insensitively."""

    posts: int = 0
    """POST requests on Users, and POST operations in Bulk requests, that carried this userName."""

    stored: int = 0
    """Creations the store accepted. More than 1 means the user was created twice."""

    created_responses: int = 0
    """201 responses (or 201 Bulk outcomes) actually sent to the client."""


@dataclass(frozen=True, slots=True)
class SimulatorStats:
    """A snapshot of the simulator's measurements."""

    requests_total: int
    responses: dict[str, dict[int, int]]
    """Counts by route (``"POST /users"``) and then by status; status 0 means no response was sent."""

    in_flight: int
    max_in_flight: int
    held_at_gate: int
    faults: dict[str, int]
    rate_limited: int
    user_posts: dict[str, UserPosts]
    """Keyed by lowercased userName."""

    timeline: tuple[RequestRecord, ...]
    timeline_truncated: int
    seed: int

    def count(self, route: str, status: int | None = None) -> int:
        """Return how many requests on ``route`` got ``status``, or any status when it is None."""
        by_status = self.responses.get(route, {})
        if status is None:
            return sum(by_status.values())
        return by_status.get(status, 0)

    def posts_for(self, user_name: str) -> UserPosts:
        """Return the counts of one userName, zero when it was never posted."""
        return self.user_posts.get(user_name.lower(), UserPosts())

    def to_json(self, include_timeline: bool = True) -> dict[str, Any]:
        """Return the snapshot as JSON-ready values, as ``GET /_admin/stats`` serves it."""
        data: dict[str, Any] = {
            "requests_total": self.requests_total,
            "responses": {route: {str(status): n for status, n in counts.items()} for route, counts in self.responses.items()},
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "held_at_gate": self.held_at_gate,
            "faults": dict(self.faults),
            "rate_limited": self.rate_limited,
            "user_posts": {
                name: {"posts": counts.posts, "stored": counts.stored, "created_responses": counts.created_responses}
                for name, counts in self.user_posts.items()
            },
            "timeline_truncated": self.timeline_truncated,
            "seed": self.seed,
        }
        if include_timeline:
            data["timeline"] = [
                {
                    "method": record.method,
                    "route": record.route,
                    "status": record.status,
                    "started": round(record.started, 6),
                    "finished": round(record.finished, 6),
                    "fault": record.fault,
                }
                for record in self.timeline
            ]
        return data


@dataclass(slots=True)
class StatsRecorder:
    """Mutable counters behind :class:`SimulatorStats`; used from the event loop only."""

    clock: Callable[[], float] = time.monotonic
    origin: float = 0.0
    requests_total: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    held_at_gate: int = 0
    rate_limited: int = 0
    timeline_truncated: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    counts: dict[tuple[str, int], int] = field(default_factory=dict)
    timeline: list[tuple[str, str, int, float, float, str | None]] = field(default_factory=list)
    user_posts: dict[str, UserPosts] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.origin = self.clock()

    def reset(self) -> None:
        """Forget every measurement; requests in flight stay counted until they finish."""
        self.origin = self.clock()
        self.requests_total = 0
        self.max_in_flight = self.in_flight
        self.rate_limited = 0
        self.timeline_truncated = 0
        self.faults.clear()
        self.counts.clear()
        self.timeline.clear()
        self.user_posts.clear()

    def begin(self) -> float:
        """Count a request as in flight and return its start time."""
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight
        return self.clock()

    def finish(self, method: str, route: str, status: int, started: float, fault: str | None = None) -> None:
        """Record a finished request under ``"METHOD route"`` and its status."""
        self.in_flight -= 1
        self.requests_total += 1
        key = (f"{method} {route}", status)
        fault = None if fault is None else str(fault)
        self.counts[key] = self.counts.get(key, 0) + 1
        if len(self.timeline) < MAX_TIMELINE_RECORDS:
            self.timeline.append((method, route, status, started - self.origin, self.clock() - self.origin, fault))
        else:
            self.timeline_truncated += 1

    def count_fault(self, kind: str) -> None:
        name = str(kind)
        self.faults[name] = self.faults.get(name, 0) + 1

    def _user(self, user_name: str) -> UserPosts:
        key = user_name.lower()
        counts = self.user_posts.get(key)
        if counts is None:
            counts = self.user_posts[key] = UserPosts()
        return counts

    def user_posted(self, user_name: str) -> None:
        self._user(user_name).posts += 1

    def user_stored(self, user_name: str) -> None:
        self._user(user_name).stored += 1

    def user_created_response(self, user_name: str) -> None:
        self._user(user_name).created_responses += 1

    def snapshot(self, seed: int, include_timeline: bool = True) -> SimulatorStats:
        responses: dict[str, dict[int, int]] = {}
        for (route, status), count in sorted(self.counts.items()):
            responses.setdefault(route, {})[status] = count

        timeline: tuple[RequestRecord, ...] = ()
        if include_timeline:
            timeline = tuple(RequestRecord(*entry) for entry in self.timeline)

        return SimulatorStats(
            requests_total=self.requests_total,
            responses=responses,
            in_flight=self.in_flight,
            max_in_flight=self.max_in_flight,
            held_at_gate=self.held_at_gate,
            faults=dict(self.faults),
            rate_limited=self.rate_limited,
            user_posts={
                name: UserPosts(counts.posts, counts.stored, counts.created_responses)
                for name, counts in self.user_posts.items()
            },
            timeline=timeline,
            timeline_truncated=self.timeline_truncated,
            seed=seed,
        )
