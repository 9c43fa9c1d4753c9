"""A fixed-window rate limiter keyed by bearer token, as Genesys Cloud limits each client-credentials token.

Genesys allows a number of requests per token in each 60-second window and
reports the window on every response. Each key's window starts with its
first request and ends ``window`` seconds later; the next request after that
starts a new window. Every request counts, including those answered with 429.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The limiter's verdict on one request."""

    allowed: bool
    limit: int
    count: int
    """Requests counted in the current window, this one included."""

    reset_after: float
    """Seconds until the current window ends."""

    @property
    def reset_seconds(self) -> int:
        """``reset_after`` rounded up to whole seconds, at least 1, as headers and Retry-After carry it."""
        return max(1, math.ceil(self.reset_after))

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)


class FixedWindowLimiter:
    """Counts requests per key in fixed windows of ``window`` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._windows: dict[str, list[float]] = {}

    def hit(self, key: str) -> RateDecision:
        """Count one request for ``key`` and decide whether it is within the limit."""
        now = self.clock()
        state = self._windows.get(key)
        if state is None or now >= state[0] + self.window:
            state = self._windows[key] = [now, 0]
        state[1] += 1
        count = int(state[1])
        return RateDecision(
            allowed=count <= self.limit,
            limit=self.limit,
            count=count,
            reset_after=state[0] + self.window - now,
        )

    def reconfigure(self, limit: int, window: float) -> None:
        """Apply a new limit at once; a new window length applies from each key's next window."""
        self.limit = limit
        self.window = window

    def reset(self) -> None:
        self._windows.clear()
