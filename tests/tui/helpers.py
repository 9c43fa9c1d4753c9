"""Helpers of the dashboard tests: input files, the job against the simulator, and waiting for conditions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
import time

from scim_tui.engine.job import TargetSpec
from scim_tui.engine.settings import RunSettings
from scim_tui.input import InputOptions
from scim_tui.simulator.server import SimulatorServer
from scim_tui.tui.app import JobOptions, ScimTuiApp

HEADER = "userName,givenName,familyName,displayName,title"

#: Seconds a test waits for a condition before it fails; generous for slow CI machines.
WAIT_TIMEOUT = 30.0


def write_users(path: Path, count: int, *, extra_rows: list[str] = ()) -> list[str]:
    """Write ``count`` valid users plus ``extra_rows`` to a CSV file and return the valid userNames."""
    names = [f"agent.{index:05d}@example.com" for index in range(count)]
    lines = [HEADER]
    for index, name in enumerate(names):
        lines.append(f"{name},Agent,Number {index},Agent {index},Support")
    lines.extend(extra_rows)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return names


async def wait_until(pilot, condition: Callable[[], bool], *, timeout: float = WAIT_TIMEOUT, what: str = "condition") -> None:
    """Let the app run until ``condition()`` holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.02)


def genesys_spec(server: SimulatorServer) -> TargetSpec:
    """Point the Genesys target at the simulator, which serves both the API and the login host."""
    return TargetSpec(
        kind="genesys",
        read_env_file=False,
        environ={
            "GENESYS_CLIENT_ID": server.client_id,
            "GENESYS_CLIENT_SECRET": server.client_secret,
            "GENESYS_API_URL": server.base_url,
            "GENESYS_LOGIN_URL": server.base_url,
        },
    )


def dashboard(server: SimulatorServer, input_path: Path, report_dir: Path, **settings) -> ScimTuiApp:
    """Build the dashboard for a Genesys job against ``server``, with fast retries."""
    options = JobOptions(
        input_path=input_path,
        target_spec=genesys_spec(server),
        settings=RunSettings(**{"backoff_base": 0.05, **settings}),
        input_options=InputOptions(user_name_must_be_email=True),
        report_dir=report_dir,
    )
    return ScimTuiApp(options)


def showing(app, screen_type: type) -> Callable[[], bool]:
    """Return a condition: the active screen is a ``screen_type`` whose widgets are composed and mounted."""

    def condition() -> bool:
        screen = app.screen
        if not isinstance(screen, screen_type) or not screen.is_mounted:
            return False
        return bool(screen.children) and all(child.is_mounted for child in screen.children)

    return condition
