"""The knobs of a run. None of them is a secret, so the whole object may be logged and reported."""

from __future__ import annotations

from dataclasses import asdict, dataclass

MAX_CONCURRENCY = 256


@dataclass
class RunSettings:
    concurrency: int = 8
    """Bound on HTTP requests in flight; changeable while the run goes on."""

    batch_size: int | None = None
    """Users per batch. None means ``bulk.maxOperations`` in Bulk mode, else 50."""

    max_attempts: int = 5
    """Requests allowed per user before it is failed with its last error."""

    backoff_base: float = 0.5
    """Seconds; the first retry waits up to this long (exponential backoff with full jitter)."""

    backoff_cap: float = 60.0
    """Seconds; no single backoff is longer, whatever the attempt number."""

    retry_after_cap: float = 900.0
    """Seconds; a longer ``Retry-After`` is clamped so that a bad header cannot stall a run for hours."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    write_timeout: float = 30.0
    pool_timeout: float = 30.0

    force_per_user: bool = False
    """Send one request per user even when the server supports Bulk."""

    permission_error_streak: int = 5
    """Consecutive 403 answers after which the run pauses: a missing permission, not bad users."""

    max_response_bytes: int = 8 * 1024 * 1024
    """Larger response bodies are cut off and treated as an error for the users concerned."""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
