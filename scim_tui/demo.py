"""``scim-tui demo``: the built-in Genesys-like simulator in the background, the sample data against it.

Nothing here needs credentials or a network: the simulator listens on
127.0.0.1, issues its own OAuth client, and is stopped when the demo ends.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import sys

from scim_tui.engine.job import TargetSpec
from scim_tui.engine.settings import RunSettings
from scim_tui.input import InputOptions

# Latency of the simulator, in milliseconds: about what a cloud API answers in.
DEMO_LATENCY_MS = (40.0, 120.0)


def simulator_environment(server) -> dict[str, str]:
    """Return the GENESYS_* variables that point scim-tui at a running simulator."""
    return {
        "GENESYS_API_URL": server.base_url,
        "GENESYS_LOGIN_URL": server.login_url,
        "GENESYS_CLIENT_ID": server.client_id,
        "GENESYS_CLIENT_SECRET": server.client_secret,
    }


def run_demo(
    *,
    input_path: Path,
    headless: bool,
    rate_limit: int,
    concurrency: int,
    report_dir: Path | None,
    start: bool = False,
) -> int:
    from scim_tui.simulator.config import Profile, SimulatorConfig
    from scim_tui.simulator.server import SimulatorServer

    config = SimulatorConfig(profile=Profile.GENESYS, rate_limit_per_minute=rate_limit, latency_ms=DEMO_LATENCY_MS)
    with SimulatorServer(config) as server:
        spec = TargetSpec(kind="genesys", read_env_file=False, environ=simulator_environment(server))
        settings = RunSettings(concurrency=concurrency)
        input_options = InputOptions(user_name_must_be_email=True)
        print(f"simulator: {server.scim_url} (genesys profile, {rate_limit} requests per minute)", file=sys.stderr)

        if headless:
            from scim_tui.cli import configure_logging
            from scim_tui.headless import HeadlessJob, run_job

            configure_logging(sys.stderr.isatty())
            job = HeadlessJob(
                input_path=input_path, target_spec=spec, settings=settings, report_dir=report_dir, input_options=input_options
            )
            return asyncio.run(run_job(job))

        from scim_tui.tui.app import launch

        return launch(
            input_path=input_path,
            target_spec=spec,
            settings=settings,
            input_options=input_options,
            report_dir=report_dir,
            journal_path=None,
            start=start,
            overwrite=False,
            # Each demo starts an empty simulator on a new port: a journal of an earlier demo cannot be resumed there.
            offer_resume=False,
        )
