"""Shared helpers for the resume, re-run and kill tests: input files, a simulator and the CLI in a subprocess.

The CLI runs as ``python -m scim_tui`` in a child process, so that a test can
kill it like an operator or a crash would. The Genesys-like simulator runs in
the test process on 127.0.0.1, and its admin helpers tell the test what was
stored and how often each userName was created. This module contains no tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
import json
import os
from pathlib import Path
import subprocess
import sys
import time

from scim_tui.journal import state_counts
from scim_tui.simulator.config import SimulatorConfig
from scim_tui.simulator.server import SimulatorServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Rows that the reader rejects for any target (no userName, no displayName);
# the report must still list them.
INVALID_ROWS = [",No Name", "nodisplay1@example.com,", "nodisplay2@example.com,"]


@dataclass
class InputFile:
    path: Path
    valid: list[str]
    rows: int
    invalid: int
    duplicates: int


def write_input(path: Path, valid_count: int, *, duplicates: int = 2) -> InputFile:
    """Write a CSV of ``valid_count`` valid users, three invalid rows and ``duplicates`` repeated userNames."""
    valid = [f"user{index:04d}@example.com" for index in range(valid_count)]
    lines = ["userName,displayName"]
    lines += [f"{name},User {index}" for index, name in enumerate(valid)]
    lines += INVALID_ROWS
    lines += [f"{valid[index].upper()},Repeated {index}" for index in range(duplicates)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return InputFile(path, valid, rows=len(lines) - 1, invalid=len(INVALID_ROWS), duplicates=duplicates)


GENERIC_TOKEN = "generic-simulator-token"


@contextmanager
def simulator(profile: str = "genesys", **knobs) -> Iterator[SimulatorServer]:
    """Serve a simulator of ``profile``; the generic one requires the bearer token GENERIC_TOKEN."""
    if profile == "generic":
        knobs.setdefault("bearer_token", GENERIC_TOKEN)
    with SimulatorServer(SimulatorConfig(profile=profile, **knobs)) as server:
        yield server


def cli_environment(server: SimulatorServer) -> dict[str, str]:
    """Return the environment for a CLI child whose credentials reach ``server``.

    On the genesys profile the API and login URLs point at the simulator; on
    the generic profile the child gets ``--url`` from :func:`target_arguments`.
    """
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GENESYS_", "SCIM_TOKEN", "SCIM_TUI_"))
    }
    environment.update({"SCIM_TUI_LOG_LEVEL": "WARNING", "PYTHONPATH": str(PROJECT_ROOT)})
    if server.app.genesys:
        environment.update(
            {
                "GENESYS_API_URL": server.base_url,
                "GENESYS_LOGIN_URL": server.base_url,
                "GENESYS_CLIENT_ID": server.client_id,
                "GENESYS_CLIENT_SECRET": server.client_secret,
            }
        )
    else:
        environment["SCIM_TOKEN"] = GENERIC_TOKEN
    return environment


def target_arguments(server: SimulatorServer) -> list[str]:
    if server.app.genesys:
        return ["--target", "genesys"]
    return ["--url", server.scim_url]


def start_cli(arguments: list[str], *, environment: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    """Start ``python -m scim_tui ARGUMENTS`` with its output appended to ``log``."""
    handle = open(log, "ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "scim_tui", *arguments],
            env=environment,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    finally:
        handle.close()


def run_cli(arguments: list[str], *, environment: dict[str, str], cwd: Path, log: Path, timeout: float = 60.0) -> int:
    process = start_cli(arguments, environment=environment, cwd=cwd, log=log)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def journal_states(path: Path) -> dict[str, int]:
    """Count the journal's users by state; empty while the journal does not exist yet."""
    if not path.is_file():
        return {}
    return state_counts(path)


def wait_for(condition, *, timeout: float, interval: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def read_report(report_dir: Path) -> dict:
    return json.loads((report_dir / "report.json").read_text(encoding="utf-8"))


def stored_user_names(simulator: SimulatorServer) -> list[str]:
    return sorted(user["userName"].lower() for user in simulator.users())


def creations_per_user(simulator: SimulatorServer) -> dict[str, int]:
    """Map each userName the simulator stored to how many times it was stored."""
    return {name: posts.stored for name, posts in simulator.stats(include_timeline=False).user_posts.items() if posts.stored}


def expected_summary(source: InputFile, *, created: int, existed: int = 0) -> dict[str, int]:
    return {
        "rows": source.rows,
        "valid": len(source.valid),
        "invalid": source.invalid,
        "duplicates": source.duplicates,
        "created": created,
        "existed": existed,
        "failed": 0,
        "not_attempted": 0,
    }
