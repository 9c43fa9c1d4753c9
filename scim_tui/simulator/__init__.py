"""A SCIM 2.0 server on 127.0.0.1 that imitates Genesys Cloud or a generic RFC 7644 server.

It is separate from the engine. Tests, benchmarks, ``scim-tui demo`` and
``scim-tui simulate`` use it as a target that behaves like the real one
(OAuth, rate limits, 409 on duplicates, inactive users hidden from filters)
and that can inject seeded faults and measure what the client did.
"""

from __future__ import annotations

from scim_tui.simulator.config import FaultScope, Profile, SimulatorConfig
from scim_tui.simulator.faults import FaultKind
from scim_tui.simulator.preload import preload_user_name
from scim_tui.simulator.server import SimulatorServer
from scim_tui.simulator.stats import RequestRecord, SimulatorStats, UserPosts

__all__ = [
    "FaultKind",
    "FaultScope",
    "Profile",
    "RequestRecord",
    "SimulatorConfig",
    "SimulatorServer",
    "SimulatorStats",
    "UserPosts",
    "preload_user_name",
]
