"""Pacing from rate-limit headers, so that 429s are rare instead of merely survived.

Servers announce their budget on every response: Genesys Cloud with
``inin-ratelimit-allowed``, ``-count`` and ``-reset`` (seconds until the
window resets), others with ``X-RateLimit-Limit``, ``-Remaining`` and
``-Reset``. The pacer spreads the remaining budget evenly over the rest of the
window. Requests sent after the one whose response carried the figures are
not counted in them yet, so the pacer subtracts them itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import time


# A reset value this large is an epoch timestamp, not a number of seconds.
_EPOCH_THRESHOLD = 1_000_000_000

# Safety margin after a window is expected to reset, for clock and rounding differences.
_RESET_MARGIN = 0.25

# Seconds to wait when a response shows no budget left but no reset time.
_UNKNOWN_RESET = 1.0

# Rounding of a whole-second reset value: estimates of one window's end differ by less.
_RESET_ROUNDING = 1.0

# Seconds between checks while a probe request learns the figures of a new window.
_PROBE_POLL = 0.05
# Seconds after which a probe that brought no figures (it failed) is replaced by another.
_PROBE_PATIENCE = 5.0


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    allowed: int | None
    remaining: int | None
    reset_seconds: float | None


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


def _reset_seconds(value: str | None, now_epoch: float) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if number >= _EPOCH_THRESHOLD:
        return max(0.0, number - now_epoch)
    return max(0.0, number)


def read_rate_limit(headers: Mapping[str, str], *, now_epoch: float | None = None) -> RateLimitInfo | None:
    """Return the rate-limit figures of a response's headers (names in lower case, or an httpx.Headers), or None."""
    now_epoch = time.time() if now_epoch is None else now_epoch

    allowed = _int_header(headers, "inin-ratelimit-allowed")
    count = _int_header(headers, "inin-ratelimit-count")
    if allowed is not None or count is not None:
        remaining = allowed - count if allowed is not None and count is not None else None
        return RateLimitInfo(allowed, remaining, _reset_seconds(headers.get("inin-ratelimit-reset"), now_epoch))

    limit = _int_header(headers, "x-ratelimit-limit")
    remaining = _int_header(headers, "x-ratelimit-remaining")
    if limit is not None or remaining is not None:
        return RateLimitInfo(limit, remaining, _reset_seconds(headers.get("x-ratelimit-reset"), now_epoch))
    return None


class Pacer:
    """Decides how long to wait before the next request, from the latest rate-limit figures."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._sent = 0
        self._observed_sequence = -1
        self._remaining: int | None = None
        self._window_end: float | None = None
        self._last_send: float | None = None
        self.allowed: int | None = None

    @property
    def remaining(self) -> int | None:
        if self._remaining is None:
            return None
        return max(0, self._remaining - self._unobserved())

    def _unobserved(self) -> int:
        return self._sent - self._observed_sequence - 1

    def next_sequence(self) -> int:
        """Record that a request is about to be sent and return its sequence number."""
        sequence = self._sent
        self._sent += 1
        self._last_send = self._clock()
        return sequence

    def observe(self, sequence: int, info: RateLimitInfo | None) -> None:
        """Take the figures of the response to request ``sequence``; older responses are ignored."""
        if sequence < self._observed_sequence:
            return
        if info is None or info.remaining is None:
            # Figures stopped coming. Once the window they described is over, forget
            # it, or a probe answered without figures would hold every later request.
            if self._window_end is not None and self._clock() >= self._window_end:
                self._remaining = None
                self._window_end = None
            return
        now = self._clock()
        previous_end, previous_remaining = self._window_end, self._remaining
        # Responses arrive out of order, so within one window a later response can
        # report a lower count, by at most the requests that were still unanswered.
        reordering = self._unobserved() + 1
        self._observed_sequence = sequence
        self._remaining = info.remaining
        self.allowed = info.allowed
        reset = info.reset_seconds
        if reset is None and info.remaining <= 0:
            # An exhausted budget with no reset time: wait a second and ask again.
            reset = _UNKNOWN_RESET
        end = None if reset is None else now + reset
        same_window = (
            end is not None
            and previous_end is not None
            and previous_remaining is not None
            and now < previous_end
            and info.remaining <= previous_remaining + reordering
            and end <= previous_end + _RESET_ROUNDING
        )
        # Reset values are whole seconds rounded up, so each overstates the window's
        # end by up to a second; within one window the earliest estimate is the closest.
        self._window_end = min(previous_end, end) if same_window else end

    def delay(self) -> float:
        """Return the seconds to wait before the next request may be sent (0 for none)."""
        if self._remaining is None or self._window_end is None:
            return 0.0
        now = self._clock()
        budget = self._remaining - self._unobserved()
        if now >= self._window_end + _RESET_MARGIN:
            # The window these figures describe should be over. If its budget was
            # used up, send one probe and wait for its figures before the rest,
            # in case the server's window ends later than the estimate.
            probe_out = self._unobserved() > self._remaining
            if probe_out and self._last_send is not None and now - self._last_send < _PROBE_PATIENCE:
                return _PROBE_POLL
            return 0.0
        if budget <= 0:
            return self._window_end + _RESET_MARGIN - now
        interval = (self._window_end - now) / budget
        if self._last_send is None:
            return 0.0
        return max(0.0, self._last_send + interval - now)
