"""Settings of the built-in SCIM simulator.

One frozen :class:`SimulatorConfig` describes a simulator: which server it
imitates (the profile), its limits and the faults it injects. The knobs in
:data:`RUNTIME_KNOBS` can be changed while the simulator runs, through
``POST /_admin/config`` or :meth:`SimulatorServer.configure
<scim_tui.simulator.server.SimulatorServer.configure>`; a change builds a
new config with :meth:`SimulatorConfig.with_changes`, so every check in
``__post_init__`` applies to it as well.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class Profile(StrEnum):
    """The server a simulator imitates."""

    GENESYS = "genesys"
    """Genesys Cloud: OAuth client credentials, lowercase paths, no Bulk, per-token rate limit."""

    GENERIC = "generic"
    """An RFC 7644 server with Bulk and an optional static bearer token."""


class FaultScope(StrEnum):
    """The requests that the fault probabilities apply to."""

    CREATE = "create"
    """Only requests that create users: POST on Users and POST on Bulk."""

    ALL = "all"
    """Every SCIM request. The token endpoint and the admin endpoints are never faulted."""


GENESYS_RATE_LIMIT_PER_MINUTE = 300
GENESYS_MAX_LIST_COUNT = 25
DEFAULT_TOKEN_LIFETIME = 86400.0
DEFAULT_SLOW_SECONDS = 30.0
DEFAULT_BULK_MAX_OPERATIONS = 100
DEFAULT_BULK_MAX_PAYLOAD = 1_048_576

RUNTIME_KNOBS = frozenset(
    {
        "rate_limit_per_minute",
        "rate_limit_window",
        "token_lifetime",
        "latency_ms",
        "p503_before",
        "p500_after",
        "p_slow_after",
        "slow_seconds",
        "p_drop",
        "fault_scope",
        "seed",
        "max_list_count",
        "conflict_scim_type",
        "bulk_max_operations",
        "bulk_max_payload",
    }
)
"""The fields that may change while the simulator runs. The others shape the server and its store."""


def parse_latency(value: object) -> tuple[float, float] | None:
    """Read a latency range in milliseconds.

    Accepts ``None``, a number (a fixed latency), a string ``"A-B"`` or ``"A"``,
    or a pair ``[A, B]``. Returns ``(minimum, maximum)`` or ``None`` for no
    added latency. Raises ValueError on anything else.
    """
    if value is None or value == "":
        return None

    if isinstance(value, bool):
        raise ValueError(f"invalid latency {value!r}: expected milliseconds such as 50 or 50-150")

    if isinstance(value, int | float):
        low = high = float(value)
    elif isinstance(value, str):
        low_text, separator, high_text = value.strip().partition("-")
        try:
            low = float(low_text)
            high = float(high_text) if separator else low
        except ValueError:
            raise ValueError(f"invalid latency {value!r}: expected milliseconds such as 50 or 50-150") from None
    elif isinstance(value, list | tuple) and len(value) == 2:
        try:
            low, high = float(value[0]), float(value[1])
        except (TypeError, ValueError):
            raise ValueError(f"invalid latency {value!r}: expected two numbers of milliseconds") from None
    else:
        raise ValueError(f"invalid latency {value!r}: expected milliseconds such as 50 or 50-150")

    if low < 0 or high < low:
        raise ValueError(f"invalid latency {value!r}: the range must be 0 <= minimum <= maximum")
    return (low, high)


_INTEGER_KNOBS = frozenset({"rate_limit_per_minute", "max_list_count", "bulk_max_operations", "bulk_max_payload"})
_NUMBER_KNOBS = frozenset(
    {"rate_limit_window", "token_lifetime", "p503_before", "p500_after", "p_slow_after", "slow_seconds", "p_drop"}
)


def _coerce_knob(name: str, value: Any) -> Any:
    """Convert a knob value read from JSON or a command line to the field's type, or raise ValueError."""
    if name in _INTEGER_KNOBS or (name == "seed" and value is not None):
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"invalid {name} {value!r}: expected a whole number")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(f"invalid {name} {value!r}: expected a whole number") from None
    if name in _NUMBER_KNOBS:
        if isinstance(value, bool):
            raise ValueError(f"invalid {name} {value!r}: expected a number")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"invalid {name} {value!r}: expected a number") from None
    if name == "conflict_scim_type" and not isinstance(value, bool):
        raise ValueError(f"invalid {name} {value!r}: expected true or false")
    if name == "fault_scope":
        try:
            return FaultScope(value)
        except ValueError:
            raise ValueError(f"invalid {name} {value!r}: expected one of {', '.join(FaultScope)}") from None
    return value


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Everything that shapes one simulator.

    ``None`` in ``rate_limit_per_minute``, ``max_list_count``, ``client_id``
    and ``client_secret`` means "the profile's default" and is replaced in
    ``__post_init__``, so a built config always holds the values in force.
    A ``0`` rate limit or list count means no limit.
    """

    profile: Profile = Profile.GENESYS

    rate_limit_per_minute: int | None = None
    """Requests allowed per token in one window: 300 on genesys and no limit on generic unless set."""

    rate_limit_window: float = 60.0
    """Length of the fixed rate-limit window, in seconds. Genesys uses 60."""

    token_lifetime: float = DEFAULT_TOKEN_LIFETIME
    """Seconds an OAuth token stays valid (genesys), reported as ``expires_in``."""

    latency_ms: tuple[float, float] | None = None
    """Added latency drawn uniformly from this range of milliseconds, on every SCIM request."""

    p503_before: float = 0.0
    """Probability of a 503 before the request is served: nothing is stored."""

    p500_after: float = 0.0
    """Probability of a 500 after the request is served: the user is stored."""

    p_slow_after: float = 0.0
    """Probability of waiting ``slow_seconds`` after the request is served, before answering."""

    slow_seconds: float = DEFAULT_SLOW_SECONDS
    """How long a slow answer waits, in seconds; set it above the client's read timeout."""

    p_drop: float = 0.0
    """Probability of closing the connection without a response, after the request is served."""

    fault_scope: FaultScope = FaultScope.CREATE

    seed: int | None = None
    """Seed of the fault and latency draws; ``None`` draws a seed, which the stats report."""

    max_list_count: int | None = None
    """Largest ``count`` a list request may ask for before a 429: 25 on genesys, no limit on generic."""

    bulk_max_operations: int = DEFAULT_BULK_MAX_OPERATIONS
    """``bulk.maxOperations`` of the generic profile."""

    bulk_max_payload: int = DEFAULT_BULK_MAX_PAYLOAD
    """``bulk.maxPayloadSize`` of the generic profile, in bytes."""

    conflict_scim_type: bool = False
    """Whether a genesys 409 carries ``scimType: uniqueness``; whether Genesys sets it is not confirmed."""

    preload_count: int = 0
    """Users stored at start-up, named by :func:`scim_tui.simulator.preload.preload_user_name`."""

    preload_inactive: int = 0
    """How many of the ``preload_count`` users are inactive (the last ones)."""

    preload_file: Path | None = None
    """A JSON or CSV file of users stored at start-up, in addition to ``preload_count``."""

    client_id: str | None = None
    """OAuth client id (genesys); generated when not set."""

    client_secret: str | None = None
    """OAuth client secret (genesys); generated when not set."""

    bearer_token: str | None = None
    """Static bearer token of the generic profile; ``None`` accepts requests without authentication."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "profile", Profile(self.profile))
        object.__setattr__(self, "fault_scope", FaultScope(self.fault_scope))
        object.__setattr__(self, "latency_ms", parse_latency(self.latency_ms))

        genesys = self.profile is Profile.GENESYS
        if self.rate_limit_per_minute is None:
            object.__setattr__(self, "rate_limit_per_minute", GENESYS_RATE_LIMIT_PER_MINUTE if genesys else 0)
        if self.max_list_count is None:
            object.__setattr__(self, "max_list_count", GENESYS_MAX_LIST_COUNT if genesys else 0)
        if self.client_id is None:
            object.__setattr__(self, "client_id", f"sim-{secrets.token_hex(8)}")
        if self.client_secret is None:
            object.__setattr__(self, "client_secret", secrets.token_urlsafe(24))
        if self.preload_file is not None:
            object.__setattr__(self, "preload_file", Path(self.preload_file))

        self._check()

    def _check(self) -> None:
        probabilities = {
            "p503_before": self.p503_before,
            "p500_after": self.p500_after,
            "p_slow_after": self.p_slow_after,
            "p_drop": self.p_drop,
        }
        for name, value in probabilities.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"invalid {name} {value!r}: a probability must be between 0 and 1")
        if sum(probabilities.values()) > 1.0 + 1e-9:
            raise ValueError("invalid fault probabilities: p503_before + p500_after + p_slow_after + p_drop must not exceed 1")

        non_negative = {
            "rate_limit_per_minute": self.rate_limit_per_minute,
            "max_list_count": self.max_list_count,
            "preload_count": self.preload_count,
            "preload_inactive": self.preload_inactive,
            "slow_seconds": self.slow_seconds,
        }
        for name, value in non_negative.items():
            if value is None or value < 0:
                raise ValueError(f"invalid {name} {value!r}: must be 0 or more")

        positive = {
            "rate_limit_window": self.rate_limit_window,
            "token_lifetime": self.token_lifetime,
            "bulk_max_operations": self.bulk_max_operations,
            "bulk_max_payload": self.bulk_max_payload,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"invalid {name} {value!r}: must be greater than 0")

        if self.preload_inactive > self.preload_count:
            raise ValueError(
                f"invalid preload_inactive {self.preload_inactive}: it counts inactive users among "
                f"preload_count ({self.preload_count}), so it cannot be larger"
            )
        if not self.client_id or not self.client_secret:
            raise ValueError("invalid OAuth credentials: client_id and client_secret must not be empty")
        if self.bearer_token == "":
            raise ValueError("invalid bearer_token: use None for no authentication, not an empty string")

    @property
    def is_genesys(self) -> bool:
        return self.profile is Profile.GENESYS

    def with_changes(self, changes: Mapping[str, Any]) -> SimulatorConfig:
        """Return a copy with runtime knobs changed; raises ValueError on an unknown or fixed field."""
        unknown = sorted(set(changes) - RUNTIME_KNOBS)
        if unknown:
            raise ValueError(
                f"cannot change {', '.join(unknown)} at run time; changeable knobs: {', '.join(sorted(RUNTIME_KNOBS))}"
            )
        coerced = {name: _coerce_knob(name, value) for name, value in changes.items()}
        return dataclasses.replace(self, **coerced)

    def public_view(self) -> dict[str, Any]:
        """Return the settings as JSON-ready values, without the client secret or the bearer token."""
        view: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            if item.name in ("client_secret", "bearer_token"):
                continue
            value = getattr(self, item.name)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            view[item.name] = value
        view["auth"] = "oauth" if self.is_genesys else ("bearer" if self.bearer_token else "none")
        return view
