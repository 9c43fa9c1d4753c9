"""A whole run against the Genesys-like simulator: OAuth, a short token lifetime, the rate limit, faults.

The input holds new users and users the server already has, active and
inactive, in a different case. Afterwards the server's users must equal the
valid input plus the preloaded users, no user may have been stored twice, and
the report's counts must be exact.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from scim_tui.demo import simulator_environment
from scim_tui.engine.job import TargetSpec
from scim_tui.engine.settings import RunSettings
from scim_tui.exit_codes import ExitCode
from scim_tui.headless import HeadlessJob, run_job
from scim_tui.input import InputOptions
from scim_tui.simulator.config import Profile, SimulatorConfig
from scim_tui.simulator.preload import preload_user_name
from scim_tui.simulator.server import SimulatorServer

NEW_USERS = 150
PRELOADED = 8
PRELOADED_INACTIVE = 3


def write_input(path: Path) -> tuple[list[str], list[str]]:
    """Write new users, preloaded users in upper case, and one invalid row; return both name lists."""
    new = [f"new.agent{index:03d}@Example.com" for index in range(NEW_USERS)]
    preloaded = [preload_user_name(index).upper() for index in range(1, PRELOADED + 1)]
    lines = ["userName,givenName,familyName,title,workPhone,routingSkills"]
    for index, name in enumerate(new + preloaded):
        lines.append(f"{name},Agent,Number {index},Agent,+35315550{index:03d},Billing:4;Sales:2.5")
    lines.append("not-an-email,Bad,Row,,,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return new, preloaded


@pytest.mark.parametrize("seed", [11, 29])
async def test_genesys_run_with_faults_is_exact(tmp_path, seed):
    config = SimulatorConfig(
        profile=Profile.GENESYS,
        rate_limit_per_minute=20,
        rate_limit_window=1.0,
        token_lifetime=2.0,
        latency_ms=(2.0, 10.0),
        p503_before=0.05,
        p500_after=0.05,
        p_slow_after=0.03,
        slow_seconds=1.5,
        p_drop=0.03,
        seed=seed,
        preload_count=PRELOADED,
        preload_inactive=PRELOADED_INACTIVE,
    )
    input_path = tmp_path / "users.csv"
    new, preloaded = write_input(input_path)

    with SimulatorServer(config) as server:
        job = HeadlessJob(
            input_path=input_path,
            target_spec=TargetSpec(kind="genesys", read_env_file=False, environ=simulator_environment(server)),
            settings=RunSettings(concurrency=32, backoff_base=0.05, backoff_cap=1.0, read_timeout=0.8, max_attempts=8),
            report_dir=tmp_path / "report",
            input_options=InputOptions(user_name_must_be_email=True),
        )
        code = await run_job(job, stream=io.StringIO())
        stored = server.users()
        stats = server.stats(include_timeline=False)

    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    summary = report["summary"]

    assert code == ExitCode.OK
    assert sorted(user["userName"].lower() for user in stored) == sorted(name.lower() for name in new + preloaded)
    assert all(posts.stored <= 1 for posts in stats.user_posts.values())
    assert summary == {
        "rows": NEW_USERS + PRELOADED + 1,
        "valid": NEW_USERS + PRELOADED,
        "invalid": 1,
        "duplicates": 0,
        "created": NEW_USERS,
        "existed": PRELOADED,
        "failed": 0,
        "not_attempted": 0,
    }
    existed = {user["userName"] for user in report["users"] if user["outcome"] == "existed"}
    assert existed == set(preloaded)

    # The run met every kind of trouble it is meant to survive.
    assert report["run"]["throttled_429"] >= 1
    assert sum(stats.faults.values()) >= 3
    assert stats.count("POST /oauth/token", 200) >= 3
    assert report["run"]["requests_by_status"].get("409", 0) >= 1
