"""Measure what the journal costs a run: commit latency, and a whole run with and without it.

Usage: python bench/bench_journal.py [--users N] [--repeats R] [--simulator] [--concurrency C]

Three measurements, printed as a table; nothing is asserted, because
wall-clock time depends on the machine and its disk:

1. Commit latency of ``users_sending`` (one user, and one Bulk batch of 100)
   in a journal of N users, with ``synchronous=NORMAL`` and ``FULL``. This is
   the time the engine waits before each create request.
2. A whole per-user run of N users against ``httpx.MockTransport``, whose
   handler responds at once, so the journal's share of the time is as large as
   it can be: no journal, a NORMAL journal and a FULL journal, best of R.
   Beside the wall-clock difference, the time the journal's calls held the
   event loop is added up per user (median of R); on a busy machine it is the
   steadier figure.
3. With ``--simulator``, the same run against the generic simulator (no
   rate limit, no faults, no authentication) in a child process on
   127.0.0.1, where each request crosses a socket.

Journal creation (writing the plan) is timed separately and not counted in
the run: it happens once, before the first request.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
import json
from pathlib import Path
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from scim_tui.engine.job import load_input  # noqa: E402
from scim_tui.engine.run import ProvisioningRun  # noqa: E402
from scim_tui.engine.settings import RunSettings  # noqa: E402
from scim_tui.journal import Journal  # noqa: E402
from scim_tui.targets.base import Target  # noqa: E402
from scim_tui.targets.generic import GenericTarget  # noqa: E402

BASE_URL = "http://127.0.0.1:9/scim/v2"


def write_users(path: Path, count: int) -> Path:
    lines = ["userName,displayName,title,department"]
    lines += [f"bench{index:06d}@example.com,Bench User {index},Agent,Support" for index in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class InstantScim:
    """A SCIM server in memory that creates every user it is sent."""

    def __init__(self) -> None:
        self.count = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        name = json.loads(request.content)["userName"]
        return httpx.Response(201, json={"id": f"id-{self.count}", "userName": name})


class TimedJournal(Journal):
    """A journal that adds up the time its recording calls hold the event loop."""

    spent = {"users_sending": 0.0, "outcomes": 0.0}

    def users_sending(self, rows: list[int]) -> None:
        started = time.perf_counter()
        super().users_sending(rows)
        self.spent["users_sending"] += time.perf_counter() - started

    def user_finished(self, result) -> None:
        started = time.perf_counter()
        super().user_finished(result)
        self.spent["outcomes"] += time.perf_counter() - started

    def flush(self) -> None:
        started = time.perf_counter()
        super().flush()
        self.spent["outcomes"] += time.perf_counter() - started


def measure_commits(directory: Path, loaded, synchronous: str) -> dict[str, float]:
    """Return median and 99th percentile of users_sending latency, in microseconds."""
    journal = Journal.create(
        directory / f"commits-{synchronous}.sqlite", loaded, GenericTarget(BASE_URL), RunSettings(), synchronous=synchronous
    )
    rows = [user.row for user in loaded.plan.users()]
    singles: list[float] = []
    for row in rows[:2000]:
        started = time.perf_counter()
        journal.users_sending([row])
        singles.append((time.perf_counter() - started) * 1e6)
    batches: list[float] = []
    for start in range(0, min(len(rows), 20_000), 100):
        chunk = rows[start:start + 100]
        started = time.perf_counter()
        journal.users_sending(chunk)
        batches.append((time.perf_counter() - started) * 1e6)
    journal.close()
    return {
        "single_mean": statistics.mean(singles),
        "single_p50": statistics.median(singles),
        "single_p99": statistics.quantiles(singles, n=100)[98],
        "batch_p50": statistics.median(batches),
        "batch_p99": statistics.quantiles(batches, n=100)[98] if len(batches) >= 2 else batches[0],
    }


async def timed_run(loaded, target: Target, settings: RunSettings, client: httpx.AsyncClient, journal: Journal | None) -> float:
    run = ProvisioningRun(loaded.plan, target, settings, client=client, recorder=journal)
    started = time.perf_counter()
    result = await run.run()
    elapsed = time.perf_counter() - started
    if journal is not None:
        journal.close()
    created = sum(1 for entry in result.results if entry.outcome == "created")
    if created != loaded.plan.total_users:
        raise SystemExit(f"benchmark run created {created} of {loaded.plan.total_users} users; the numbers would be meaningless")
    return elapsed


async def run_variants(directory: Path, loaded, repeats: int, concurrency: int, make_client, make_target, label: str) -> None:
    settings = RunSettings(concurrency=concurrency)
    best: dict[str, float] = {}
    spent: dict[str, list[float]] = {"NORMAL": [], "FULL": []}
    create_times: list[float] = []
    for repeat in range(repeats):
        for variant in ("none", "NORMAL", "FULL"):
            journal = None
            TimedJournal.spent = {"users_sending": 0.0, "outcomes": 0.0}
            if variant != "none":
                started = time.perf_counter()
                journal = TimedJournal.create(
                    directory / f"{label}-{variant}-{repeat}.sqlite", loaded, GenericTarget(BASE_URL), settings,
                    synchronous=variant,
                )
                create_times.append(time.perf_counter() - started)
            async with make_client() as client:
                target = await make_target(client)
                elapsed = await timed_run(loaded, target, settings, client, journal)
            best[variant] = min(best.get(variant, elapsed), elapsed)
            if variant != "none":
                spent[variant].append(sum(TimedJournal.spent.values()))

    users = loaded.plan.total_users
    baseline = best["none"]
    print(f"\n{label}: {users} users, per-user mode, concurrency {concurrency}, best of {repeats}")
    print(f"  {'journal':<10} {'run s':>8} {'users/s':>10} {'overhead':>10} {'per user':>10} {'in journal calls':>18}")
    for variant in ("none", "NORMAL", "FULL"):
        elapsed = best[variant]
        extra = elapsed - baseline
        inside = f"{statistics.median(spent[variant]) / users * 1e6:>14.0f}µs/user" if variant != "none" else ""
        print(
            f"  {variant:<10} {elapsed:>8.3f} {users / elapsed:>10.0f} "
            f"{(extra / baseline * 100 if variant != 'none' else 0):>9.1f}% {extra / users * 1e6:>8.0f}µs {inside}"
        )
    print(f"  writing the plan (Journal.create): median {statistics.median(create_times) * 1000:.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3000, help="users in the input (default 3000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each variant; the best is kept (default 3)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    parser.add_argument("--simulator", action="store_true", help="also run against the simulator over HTTP on 127.0.0.1")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-journal-") as temporary:
        directory = Path(temporary)
        loaded = load_input(write_users(directory / "users.csv", args.users), mode="per-user", batch_size=None)

        print(f"users_sending commit latency, journal of {args.users} users, in {directory}")
        print(f"  {'synchronous':<12} {'1 user mean':>12} {'p50':>9} {'p99':>9} {'100 users p50':>14} {'p99':>9}")
        for synchronous in ("NORMAL", "FULL"):
            figures = measure_commits(directory, loaded, synchronous)
            print(
                f"  {synchronous:<12} {figures['single_mean']:>10.0f}µs {figures['single_p50']:>7.0f}µs {figures['single_p99']:>7.0f}µs "
                f"{figures['batch_p50']:>12.0f}µs {figures['batch_p99']:>7.0f}µs"
            )

        server = InstantScim()

        def mock_client() -> httpx.AsyncClient:
            return httpx.AsyncClient(transport=httpx.MockTransport(server.handler))

        async def mock_target(client: httpx.AsyncClient) -> Target:
            return GenericTarget(BASE_URL)

        await run_variants(directory, loaded, args.repeats, args.concurrency, mock_client, mock_target, "httpx.MockTransport")

        if args.simulator:
            with simulator_process() as scim_url:

                def http_client() -> httpx.AsyncClient:
                    return httpx.AsyncClient()

                async def http_target(client: httpx.AsyncClient) -> Target:
                    reply = await client.post(scim_url.rsplit("/scim/", 1)[0] + "/_admin/reset")
                    reply.raise_for_status()
                    return GenericTarget(scim_url)

                await run_variants(directory, loaded, args.repeats, args.concurrency, http_client, http_target, "simulator over HTTP")


@contextmanager
def simulator_process() -> Iterator[str]:
    """Start the generic simulator in a child process, so that it does not share this process's GIL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "scim_tui", "simulate", "--profile", "generic", "--port", str(port), "--no-auth", "--log-level", "WARNING"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(base + "/_admin/stats?timeline=0", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("the simulator did not start within 20 seconds") from None
                time.sleep(0.1)
        yield base + "/scim/v2"
    finally:
        process.terminate()
        process.wait(10)

if __name__ == "__main__":
    asyncio.run(main())
