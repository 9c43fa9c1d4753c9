"""Benchmark of the dashboard's cost: CPU time against the headless command, and key-press latency.

Three processes take part. The Genesys-like simulator runs in a process of
its own, so its CPU time is not counted. The same job then runs twice
against it: first by the headless front end, then by the dashboard in a
pseudo-terminal of 120x40, drawing to it as it would to a real terminal. Each front end's
CPU time (user + system) comes from ``os.wait4``. The simulator is reset
between the two runs, so both create the same users from an empty store.

Key-press latency is measured from outside, as an operator sees it: the time
from writing ``+`` or ``-`` to the terminal until the terminal output shows
the new concurrency figure, and from ``p`` until it shows the paused phase.

Run it from the repository root::

    .venv/bin/python bench/bench_dashboard.py                 # 100,000 users, 2,000 batches
    .venv/bin/python bench/bench_dashboard.py --users 10000   # a quicker look

It prints the figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
from pathlib import Path
import pty
import re
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLUMNS, LINES = 120, 40
BATCH_SIZE = 50
ANSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\x1b\][^\x07]*\x07")


# ------------------------------------------------------------------ children


def serve_simulator() -> None:
    """Child: run the simulator until stdin closes; print its address and credentials first."""
    from scim_tui.simulator.config import SimulatorConfig
    from scim_tui.simulator.server import SimulatorServer

    # A rate limit far above what the run reaches: the headers are sent and
    # paced on, but never stop the run.
    config = SimulatorConfig(rate_limit_per_minute=10_000_000)
    with SimulatorServer(config) as server:
        print(json.dumps({"url": server.base_url, "id": server.client_id, "secret": server.client_secret}), flush=True)
        sys.stdin.read()


def job_parts(url: str, client_id: str, secret: str, concurrency: int):
    from scim_tui.engine.job import TargetSpec
    from scim_tui.engine.settings import RunSettings
    from scim_tui.input import InputOptions

    spec = TargetSpec(
        kind="genesys",
        read_env_file=False,
        environ={"GENESYS_API_URL": url, "GENESYS_LOGIN_URL": url, "GENESYS_CLIENT_ID": client_id, "GENESYS_CLIENT_SECRET": secret},
    )
    settings = RunSettings(concurrency=concurrency, batch_size=BATCH_SIZE)
    return spec, settings, InputOptions(user_name_must_be_email=True)


def run_headless(url: str, client_id: str, secret: str, input_path: str, report_dir: str, concurrency: int) -> None:
    """Child: the headless front end, as ``scim-tui run --headless`` drives it."""
    import io

    from scim_tui.headless import HeadlessJob, run_job

    spec, settings, options = job_parts(url, client_id, secret, concurrency)
    job = HeadlessJob(Path(input_path), spec, settings, report_dir=Path(report_dir), input_options=options)
    started = time.monotonic()
    code = asyncio.run(run_job(job, stream=io.StringIO()))
    print(json.dumps({"code": int(code), "wall": time.monotonic() - started}), flush=True)


def run_dashboard(url: str, client_id: str, secret: str, input_path: str, report_dir: str, concurrency: int, result_path: str) -> None:
    """Child, on a pseudo-terminal: the dashboard with --start, closing itself when the report is shown."""
    from scim_tui.tui.app import JobOptions, ScimTuiApp, Stage

    class ClosingDashboard(ScimTuiApp):
        def watch_stage(self, stage: Stage) -> None:
            if stage is Stage.FINISHED:
                self.set_timer(1.0, lambda: self.exit(self.exit_code))

    spec, settings, options = job_parts(url, client_id, secret, concurrency)
    app = ClosingDashboard(
        JobOptions(Path(input_path), spec, settings, input_options=options, report_dir=Path(report_dir), start=True)
    )
    started = time.monotonic()
    code = app.run()
    Path(result_path).write_text(json.dumps({"code": code, "wall": time.monotonic() - started}))


# ------------------------------------------------------------------ parent


def write_users(path: Path, count: int) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("userName,givenName,familyName,displayName,title,department\n")
        for index in range(count):
            handle.write(f"agent.{index:06d}@example.com,Agent,Number {index},Agent {index},Support,Operations\n")


def child_command(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def cpu_of(pid: int) -> tuple[int, float]:
    _, status, usage = os.wait4(pid, 0)
    return status, usage.ru_utime + usage.ru_stime


class Terminal:
    """The parent's end of the dashboard's pseudo-terminal: reads its output, sends keys and times the responses."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.raw = b""

    def read(self, timeout: float) -> bool:
        """Read what the dashboard wrote within ``timeout`` seconds; False once the terminal is closed."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 1 << 16)
        except OSError:
            return False
        if not chunk:
            return False
        self.raw = (self.raw + chunk)[-400_000:]
        return True

    def wait_for(self, pattern: re.Pattern[bytes], timeout: float) -> re.Match[bytes] | None:
        """Wait until the text written since the last reset, without escape sequences, matches ``pattern``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = pattern.search(ANSI.sub(b"", self.raw))
            if match:
                return match
            if not self.read(0.002):
                return None
        return None

    def press_and_time(self, key: bytes, pattern: re.Pattern[bytes], timeout: float = 5.0) -> float | None:
        self.raw = b""
        started = time.perf_counter()
        os.write(self.fd, key)
        if self.wait_for(pattern, timeout) is None:
            return None
        return time.perf_counter() - started


def drive_dashboard(terminal: Terminal, samples: int) -> dict[str, list[float]]:
    """Measure key-press latency while the run is sending, then let it finish.

    Pause and resume come first, then ``samples`` presses of ``+`` and ``-``
    in turn, half a second apart so that each lands on a busy run.
    """
    latencies: dict[str, list[float]] = {"concurrency": [], "pause": [], "missed": []}
    if terminal.wait_for(re.compile(rb"Phase RUNNING"), 120) is None:
        return latencies
    match = terminal.wait_for(re.compile(rb"Concurrency (\d+)"), 10)
    current = int(match.group(1)) if match else 8

    def settle(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            terminal.read(0.01)

    def record(kind: str, elapsed: float | None) -> None:
        latencies[kind if elapsed is not None else "missed"].append(elapsed or 0.0)

    for phase in (b"PAUSED", b"RUNNING"):
        settle(0.5)
        record("pause", terminal.press_and_time(b"p", re.compile(rb"Phase " + phase)))

    for index in range(samples):
        settle(0.5)
        key, current = (b"+", current + 1) if index % 2 == 0 else (b"-", current - 1)
        record("concurrency", terminal.press_and_time(key, re.compile(rb"Concurrency " + str(current).encode() + rb"\b")))

    while terminal.read(0.5):
        pass
    return latencies


def describe(values: list[float]) -> str:
    if not values:
        return "no samples"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return (
        f"median {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms ({len(ordered)} samples)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--samples", type=int, default=20, help="key presses timed during the run")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    input_path = workdir / "users.csv"
    write_users(input_path, args.users)
    batches = -(-args.users // BATCH_SIZE)
    print(f"{args.users:,} users in {batches:,} batches, concurrency {args.concurrency}, files in {workdir}")

    simulator = subprocess.Popen(child_command("serve"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        address = json.loads(simulator.stdout.readline())
        common = [address["url"], address["id"], address["secret"], str(input_path)]

        headless = subprocess.Popen(
            child_command("headless", *common, str(workdir / "headless-report"), str(args.concurrency)),
            stdout=subprocess.PIPE, text=True,
        )
        output = headless.stdout.read()
        _, headless_cpu = cpu_of(headless.pid)
        headless_result = json.loads(output)
        headless.returncode = 0

        httpx.post(f"{address['url']}/_admin/reset", timeout=30).raise_for_status()

        result_path = workdir / "dashboard.json"
        pid, fd = pty.fork()
        if pid == 0:
            fcntl.ioctl(sys.stdout.fileno(), termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
            os.environ["TERM"] = "xterm-256color"
            os.execv(sys.executable, child_command(
                "dashboard", *common, str(workdir / "dashboard-report"), str(args.concurrency), str(result_path)
            ))
        terminal = Terminal(fd)
        latencies = drive_dashboard(terminal, args.samples)
        _, dashboard_cpu = cpu_of(pid)
        os.close(fd)
        dashboard_result = json.loads(result_path.read_text())
    finally:
        simulator.stdin.close()
        simulator.wait(30)

    extra = dashboard_cpu - headless_cpu
    print(f"headless:  {headless_cpu:7.1f} s CPU in {headless_result['wall']:7.1f} s wall (exit {headless_result['code']})")
    print(f"dashboard: {dashboard_cpu:7.1f} s CPU in {dashboard_result['wall']:7.1f} s wall (exit {dashboard_result['code']})")
    print(f"dashboard extra CPU: {extra:.1f} s = {100 * extra / dashboard_result['wall']:.1f} % of one core over the run")
    print(f"key to screen, concurrency +/-: {describe(latencies['concurrency'])}")
    print(f"key to screen, pause/resume:    {describe(latencies['pause'])}")
    if latencies["missed"]:
        print(f"key presses whose effect never showed within 5 s: {len(latencies['missed'])}")

    # Both runs must have created the same users for the comparison to hold.
    for name in ("headless-report", "dashboard-report"):
        summary = json.loads((workdir / name / "report.json").read_text())["summary"]
        print(f"{name}: created {summary['created']:,}, existed {summary['existed']:,}, failed {summary['failed']:,}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve_simulator()
    elif len(sys.argv) > 1 and sys.argv[1] == "headless":
        run_headless(*sys.argv[2:7], int(sys.argv[7]))
    elif len(sys.argv) > 1 and sys.argv[1] == "dashboard":
        run_dashboard(*sys.argv[2:7], int(sys.argv[7]), sys.argv[8])
    else:
        raise SystemExit(main())
