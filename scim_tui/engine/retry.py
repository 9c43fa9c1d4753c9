"""When to send a request again: ``Retry-After`` parsing, backoff and the retry queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
import heapq
import itertools
import random
from typing import Generic, TypeVar

T = TypeVar("T")

# The three HTTP-date forms of RFC 9110 section 5.6.7: IMF-fixdate, the
# obsolete RFC 850 form and C's asctime() form.
_HTTP_DATE_FORMATS = (
    "%a, %d %b %Y %H:%M:%S GMT",
    "%A, %d-%b-%y %H:%M:%S GMT",
    "%a %b %d %H:%M:%S %Y",
)


def parse_http_date(value: str) -> datetime | None:
    text = " ".join(value.split())
    for fmt in _HTTP_DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=timezone.utc)
    return None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Return the delay in seconds that a ``Retry-After`` value asks for, or None if it is unusable.

    RFC 9110 allows a non-negative integer of seconds or an HTTP-date. A
    decimal number of seconds is accepted too, since some servers send one. A
    date in the past means "now" (0 seconds).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        if seconds != seconds or seconds < 0 or seconds == float("inf"):
            return None
        return seconds
    moment = parse_http_date(text)
    if moment is None:
        return None
    now = now or datetime.now(timezone.utc)
    return max(0.0, (moment - now).total_seconds())


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Return a delay for retry number ``attempt`` (1 for the first retry): full jitter.

    Full jitter draws uniformly from [0, min(cap, base * 2**(attempt-1))]. It
    spreads retries of many clients better than a fixed exponential delay.
    """
    # The exponent is capped first, so that a huge attempt number cannot overflow.
    exponent = min(max(0, attempt - 1), 62)
    ceiling = min(cap, base * (2**exponent))
    return (rng or random).uniform(0, ceiling)


@dataclass(order=True)
class _Entry(Generic[T]):
    due: float
    sequence: int
    item: T = field(compare=False)


class RetryQueue(Generic[T]):
    """Work waiting for its next-attempt time, earliest first."""

    def __init__(self) -> None:
        self._heap: list[_Entry[T]] = []
        self._sequence = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, item: T, due: float) -> None:
        heapq.heappush(self._heap, _Entry(due, next(self._sequence), item))

    def next_due(self) -> float | None:
        return self._heap[0].due if self._heap else None

    def pop_due(self, now: float) -> T | None:
        """Remove and return the earliest item whose time has come, or None."""
        if self._heap and self._heap[0].due <= now:
            return heapq.heappop(self._heap).item
        return None

    def drain(self) -> list[T]:
        items = [entry.item for entry in self._heap]
        self._heap.clear()
        return items
