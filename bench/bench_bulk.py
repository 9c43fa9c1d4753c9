"""Measure Bulk throughput and the client's CPU per user against the generic simulator in another process.

Usage: python bench/bench_bulk.py [--users N] [--max-operations OPS] [--concurrency C] [--modes bulk,per-user]

The simulator runs as ``python -m scim_tui simulate --profile generic`` in a
subprocess on 127.0.0.1 (no rate limit, no latency, no authentication), so
``time.process_time()`` in this process counts the client alone. A fresh
simulator serves each measurement, so every run creates N new users.

Two measurements per mode:

- ``engine``: ``ProvisioningRun.run()`` alone, on a plan built in memory,
  with no journal: the send loop's own cost.
- ``job``: the whole headless job as ``scim-tui run FILE --url URL --headless``
  runs it: discovery, reading and validating a CSV file, planning, the SQLite
  journal, the run and the report files.

Users per second is created users divided by the wall time of the
measurement. The server's CPU (from /proc/PID/stat) is printed next to the
client's, because with both on one machine the faster side waits for the
slower. Nothing is asserted: the script prints a table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
import io
import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, format_table, print_machine, valid_users, with_timeout, write_user_csv  # noqa: E402

from scim_tui.engine.discovery import discover  # noqa: E402
from scim_tui.engine.job import TargetSpec  # noqa: E402
from scim_tui.engine.plan import build_plan  # noqa: E402
from scim_tui.engine.run import ProvisioningRun  # noqa: E402
from scim_tui.engine.settings import RunSettings  # noqa: E402
from scim_tui.engine.transport import build_client  # noqa: E402
from scim_tui.exit_codes import ExitCode  # noqa: E402
from scim_tui.headless import HeadlessJob, run_job  # noqa: E402
from scim_tui.targets.generic import GenericTarget  # noqa: E402

MODES = ("bulk", "per-user")
STARTUP_TIMEOUT = 30.0


@dataclass
class BulkRun:
    mode: str
    scope: str
    users: int
    created: int
    wall: float
    client_cpu: float
    server_cpu: float | None
    requests: int
    status: str

    def users_per_second(self) -> float:
        return self.created / self.wall if self.wall > 0 else 0.0

    def client_us_per_user(self) -> float:
        return self.client_cpu / self.created * 1e6 if self.created else float("nan")

    def server_us_per_user(self) -> float | None:
        if self.server_cpu is None or not self.created:
            return None
        return self.server_cpu / self.created * 1e6


class SimulatorProcess:
    """A generic-profile simulator in a subprocess on 127.0.0.1, stopped on exit."""

    def __init__(self, max_operations: int) -> None:
        self.max_operations = max_operations
        self.process: subprocess.Popen[str] | None = None
        self.scim_url = ""

    def __enter__(self) -> SimulatorProcess:
        command = [
            sys.executable, "-m", "scim_tui", "simulate", "--profile", "generic", "--port", "0", "--no-auth",
            "--bulk-max-operations", str(self.max_operations), "--log-level", "WARNING",
        ]
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        # The banner is printed in one flush; a watchdog ends the process if it never comes.
        watchdog = threading.Timer(STARTUP_TIMEOUT, self.process.kill)
        watchdog.start()
        try:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                if line.strip().startswith("SCIM URL"):
                    self.scim_url = line.split()[-1]
                if line.startswith("Press ctrl+c"):
                    break
        finally:
            watchdog.cancel()
        if not self.scim_url or self.process.poll() is not None:
            self.__exit__()
            raise RuntimeError(f"the simulator did not start within {STARTUP_TIMEOUT:g} s")
        return self

    def cpu_seconds(self) -> float | None:
        """Return the simulator's CPU time so far (user and system), or None without /proc."""
        assert self.process is not None
        try:
            with open(f"/proc/{self.process.pid}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        # utime and stime are fields 14 and 15 of /proc/PID/stat; the split above starts at field 3.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *exc_info: object) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


async def measure_engine(url: str, users: int, mode: str, concurrency: int) -> tuple[int, int, str]:
    """Run the engine alone on an in-memory plan; return users created, requests sent and the status."""
    settings = RunSettings(concurrency=concurrency, force_per_user=mode == "per-user")
    target = GenericTarget(url)
    async with build_client(settings) as client:
        capabilities = await discover(client, target)
        actual_mode = "bulk" if capabilities.bulk_supported and mode == "bulk" else "per-user"
        plan = build_plan(
            valid_users(users),
            mode=actual_mode,
            batch_size=capabilities.max_operations if actual_mode == "bulk" and capabilities.max_operations else 50,
            max_payload_size=capabilities.max_payload_size,
        )
        run = ProvisioningRun(plan, target, settings, client=client)
        result = await run.run()
    created = result.snapshot.counts.get("created", 0)
    status = "finished" if not result.cancelled and created == users else f"{created} of {users} created"
    return created, result.snapshot.requests_sent, status


async def measure_job(url: str, input_path: Path, report_dir: Path, mode: str, concurrency: int) -> tuple[int, int, str]:
    """Run the whole headless job; return users created, requests sent and the status."""
    job = HeadlessJob(
        input_path=input_path,
        target_spec=TargetSpec(kind="generic", url=url, read_env_file=False, environ={}),
        settings=RunSettings(concurrency=concurrency, force_per_user=mode == "per-user"),
        report_dir=report_dir,
    )
    code = await run_job(job, stream=io.StringIO())
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    created = report["summary"]["created"]
    requests = sum(report["run"].get("requests_by_status", {}).values())
    return created, requests, "finished" if code == ExitCode.OK else f"exit code {int(code)}"


def run_one(mode: str, scope: str, arguments: argparse.Namespace, workdir: Path, input_path: Path) -> BulkRun:
    """Measure one mode and scope against a fresh simulator process."""
    with SimulatorProcess(arguments.max_operations) as simulator:
        server_before = simulator.cpu_seconds()
        wall_started = time.perf_counter()
        cpu_started = time.process_time()
        try:
            if scope == "engine":
                coroutine = measure_engine(simulator.scim_url, arguments.users, mode, arguments.concurrency)
            else:
                coroutine = measure_job(simulator.scim_url, input_path, workdir / f"report-{mode}", mode, arguments.concurrency)
            created, requests, status = asyncio.run(with_timeout(coroutine, arguments.timeout, f"the {scope} run"))
        except TimeoutError as error:
            created, requests, status = 0, 0, str(error)
        client_cpu = time.process_time() - cpu_started
        wall = time.perf_counter() - wall_started
        server_after = simulator.cpu_seconds()
    server_cpu = None if server_before is None or server_after is None else server_after - server_before
    return BulkRun(mode, scope, arguments.users, created, wall, client_cpu, server_cpu, requests, status)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000, help="users per measurement (default 20000)")
    parser.add_argument("--max-operations", type=int, default=100, help="bulk.maxOperations of the simulator (default 100)")
    parser.add_argument("--concurrency", type=int, default=RunSettings().concurrency, help="requests in flight (default: the engine's default)")
    parser.add_argument("--modes", default="bulk", help=f"comma-separated modes to measure: {', '.join(MODES)} (default bulk)")
    parser.add_argument("--scopes", default="engine,job", help="comma-separated: engine, job (default both)")
    parser.add_argument("--timeout", type=float, default=600.0, help="hard limit for one measurement, in seconds (default 600)")
    arguments = parser.parse_args()

    modes = [mode.strip() for mode in arguments.modes.split(",") if mode.strip()]
    scopes = [scope.strip() for scope in arguments.scopes.split(",") if scope.strip()]
    if set(modes) - set(MODES) or set(scopes) - {"engine", "job"}:
        parser.error("unknown mode or scope")

    print_machine("bench_bulk: throughput against the generic simulator in a separate process")
    print(
        f"  {arguments.users} users, bulk.maxOperations {arguments.max_operations}, concurrency {arguments.concurrency}, "
        "no rate limit, no added latency"
    )

    runs: list[BulkRun] = []
    with tempfile.TemporaryDirectory() as temporary:
        workdir = Path(temporary)
        input_path = write_user_csv(workdir / "users.csv", arguments.users)
        for mode in modes:
            for scope in scopes:
                print(f"  running {mode} / {scope} ...", flush=True)
                runs.append(run_one(mode, scope, arguments, workdir, input_path))

    rows = []
    for run in runs:
        server = run.server_us_per_user()
        rows.append(
            [
                f"{run.mode} / {run.scope}",
                f"{run.created}/{run.users}",
                str(run.requests),
                f"{run.wall:.2f}",
                f"{run.users_per_second():,.0f}",
                f"{run.client_us_per_user():.1f}",
                "n/a" if server is None else f"{server:.1f}",
                run.status,
            ]
        )
    print()
    print(format_table(
        ["mode / scope", "created", "requests", "wall s", "users/s", "client CPU µs/user", "server CPU µs/user", "status"],
        rows,
    ))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
