"""Measure the engine's own CPU per user, in per-user and Bulk mode, against an in-process mock server.

Usage: python bench/bench_overhead.py [--users N] [--bulk-users N] [--repeat K] [--profile-top T]

The run sends through ``build_client(settings, transport=httpx.MockTransport(handler))``,
so no socket, no server and no latency is involved: what remains is the
engine (scheduling, pacing, state, events, retries bookkeeping), httpx's
request and response handling, JSON and asyncio. The plan is built before the
clock starts. The figures cover ``ProvisioningRun.run()`` only, with no
journal: a headless run adds one, and bench_bulk.py's ``job`` rows include it.

The handler returns canned responses at once: a 201 with a new id for each
create, and for Bulk a BulkResponse with one 201 per operation (it must parse
the request to echo each ``bulkId``). They carry the headers a real server
sends: Content-Type, Content-Length, Date, and on a create ETag and Location.
Its cost is measured after the run by answering every recorded request again
in a plain loop, timed with ``time.process_time()``, and subtracted. Timing
each call inside the run would cost more than a short handler does, because
a CPU-clock read took about 3 µs on the machine of docs/benchmarks.md, and a
wall clock would count time the system gave to other processes. The overhead per user is
(process CPU of the run - handler CPU in the replay) / users.

Each mode runs ``--repeat`` times and the median is reported. A last run under
cProfile shows where the time goes; profiling slows Python code several
times, so its shares matter, not its totals.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
from dataclasses import dataclass
from email.utils import formatdate
import json
from pathlib import Path
import pstats
import statistics
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import format_table, print_machine, valid_users, verdict  # noqa: E402

import httpx  # noqa: E402

from scim_tui.engine.plan import Plan, build_plan  # noqa: E402
from scim_tui.engine.run import ProvisioningRun  # noqa: E402
from scim_tui.engine.settings import RunSettings  # noqa: E402
from scim_tui.engine.transport import build_client  # noqa: E402
from scim_tui.targets.generic import GenericTarget  # noqa: E402

BASE_URL = "http://127.0.0.1:9/scim/v2"
BULK_OPERATIONS = 100

GOALS_US = {"per-user": 100.0, "bulk": 30.0}

SCIM_HEADERS = {"content-type": "application/scim+json"}


class CannedServer:
    """A mock SCIM server that returns success for every create and keeps the requests it received."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._next_id = 0

    def _new_id(self) -> str:
        self._next_id += 1
        return f"{self._next_id:032x}"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._answer(request)

    def replay_cpu(self) -> float:
        """Respond to every recorded request again, alone, and return the CPU seconds that took."""
        replica = CannedServer()
        started = time.process_time()
        for request in self.requests:
            replica._answer(request)
        return time.process_time() - started

    def _answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path.endswith("/Users"):
            user_id = self._new_id()
            body = b'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"' + user_id.encode() + b'"}'
            headers = {
                **SCIM_HEADERS,
                "date": formatdate(usegmt=True),
                "etag": 'W/"1"',
                "location": f"{BASE_URL}/Users/{user_id}",
            }
            return httpx.Response(201, content=body, headers=headers)
        if request.method == "POST" and path.endswith("/Bulk"):
            operations = json.loads(request.content)["Operations"]
            answers = []
            for operation in operations:
                user_id = self._new_id()
                answers.append(
                    '{"method":"POST","bulkId":"%s","location":"%s/Users/%s","status":"201"}'
                    % (operation["bulkId"], BASE_URL, user_id)
                )
            body = (
                '{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],"Operations":['
                + ",".join(answers) + "]}"
            ).encode()
            return httpx.Response(200, content=body, headers={**SCIM_HEADERS, "date": formatdate(usegmt=True)})
        return httpx.Response(404, content=b'{"detail":"not found"}', headers=SCIM_HEADERS)


@dataclass
class OverheadRun:
    mode: str
    users: int
    requests: int
    cpu: float
    handler: float

    def engine_us_per_user(self) -> float:
        return (self.cpu - self.handler) / self.users * 1e6

    def handler_us_per_user(self) -> float:
        return self.handler / self.users * 1e6


def make_plan(mode: str, users: int) -> Plan:
    batch_size = BULK_OPERATIONS if mode == "bulk" else 50
    return build_plan(valid_users(users), mode=mode, batch_size=batch_size, max_payload_size=None)


async def run_once(mode: str, users: int, concurrency: int, profiler: cProfile.Profile | None = None) -> OverheadRun:
    """Run one plan against the canned server and return the CPU it took."""
    plan = make_plan(mode, users)
    server = CannedServer()
    settings = RunSettings(concurrency=concurrency)
    client = build_client(settings, transport=httpx.MockTransport(server))
    run = ProvisioningRun(plan, GenericTarget(BASE_URL), settings, client=client)

    if profiler is not None:
        profiler.enable()
    started = time.process_time()
    result = await run.run()
    cpu = time.process_time() - started
    if profiler is not None:
        profiler.disable()
    await client.aclose()

    created = result.snapshot.counts.get("created", 0)
    if created != users:
        raise RuntimeError(f"{mode}: {created} of {users} users created; the canned server or the engine misbehaved")
    return OverheadRun(mode, users, len(server.requests), cpu, server.replay_cpu())


def package_of(filename: str) -> str:
    """Group a profiled function's file into the layer it belongs to."""
    path = filename.replace("\\", "/")
    for marker, name in (
        ("/bench/", "mock server (this script)"),
        ("/scim_tui/engine/", "scim_tui.engine"),
        ("/scim_tui/", "scim_tui (other)"),
        ("/httpx/", "httpx"),
        ("/http/cookiejar.py", "cookie handling (http.cookiejar, email, urllib)"),
        ("/email/", "cookie handling (http.cookiejar, email, urllib)"),
        ("/urllib/", "cookie handling (http.cookiejar, email, urllib)"),
        ("/httpcore/", "httpcore"),
        ("/asyncio/", "asyncio"),
        ("/json/", "json"),
        ("/logging/", "logging"),
    ):
        if marker in path:
            return name
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins"
    return "other Python"


def print_profile(mode: str, profiler: cProfile.Profile, users: int, top: int) -> None:
    stats = pstats.Stats(profiler)
    total = sum(entry[2] for entry in stats.stats.values())  # type: ignore[attr-defined]

    by_layer: dict[str, float] = {}
    for (filename, _, _), entry in stats.stats.items():  # type: ignore[attr-defined]
        by_layer[package_of(filename)] = by_layer.get(package_of(filename), 0.0) + entry[2]
    print(f"\nprofile of {mode} mode, {users} users (share of profiled own time, by layer):")
    print(format_table(
        ["layer", "own time share"],
        [[layer, f"{seconds / total:.1%}"] for layer, seconds in sorted(by_layer.items(), key=lambda item: -item[1])],
    ))

    def rows(sort_index: int) -> list[list[str]]:
        ordered = sorted(stats.stats.items(), key=lambda item: -item[1][sort_index])[:top]  # type: ignore[attr-defined]
        table = []
        for (filename, line, function), (_, calls, own, cumulative, _) in ordered:
            short = "/".join(Path(filename).parts[-2:]) if not filename.startswith("~") else "builtin"
            table.append([f"{function} ({short}:{line})", f"{calls / users:.2f}", f"{own / total:.1%}", f"{cumulative / total:.1%}"])
        return table

    headers = ["function", "calls/user", "own", "cumulative"]
    print(f"\ntop {top} by own time:")
    print(format_table(headers, rows(2)))
    print(f"\ntop {top} by cumulative time:")
    print(format_table(headers, rows(3)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000, help="users in per-user mode (default 20000)")
    parser.add_argument("--bulk-users", type=int, default=100_000, help="users in Bulk mode (default 100000)")
    parser.add_argument("--concurrency", type=int, default=RunSettings().concurrency, help="requests in flight (default: the engine's default)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode; the median is reported (default 3)")
    parser.add_argument("--profile-top", type=int, default=15, help="functions listed per profile table; 0 skips profiling (default 15)")
    parser.add_argument("--modes", default="per-user,bulk", help="comma-separated modes (default per-user,bulk)")
    arguments = parser.parse_args()

    print_machine("bench_overhead: engine CPU per user against httpx.MockTransport")
    print(f"  concurrency {arguments.concurrency}, Bulk requests of {BULK_OPERATIONS} operations, median of {arguments.repeat} runs")

    modes = [mode.strip() for mode in arguments.modes.split(",") if mode.strip()]
    medians: list[OverheadRun] = []
    rows = []
    for mode in modes:
        users = arguments.bulk_users if mode == "bulk" else arguments.users
        runs = [asyncio.run(run_once(mode, users, arguments.concurrency)) for _ in range(arguments.repeat)]
        runs.sort(key=OverheadRun.engine_us_per_user)
        median = runs[len(runs) // 2]
        medians.append(median)
        spread = ", ".join(f"{run.engine_us_per_user():.1f}" for run in runs)
        goal = GOALS_US[mode]
        rows.append(
            [
                mode, str(users), str(median.requests), f"{median.cpu:.2f}", f"{median.handler_us_per_user():.1f}",
                f"{median.engine_us_per_user():.1f}", spread, f"<= {goal:g}",
                verdict(median.engine_us_per_user(), goal, at_most=True),
            ]
        )
    print()
    print(format_table(
        ["mode", "users", "requests", "CPU s", "handler µs/user", "engine µs/user", "all runs", "goal", "verdict"],
        rows,
    ))

    if arguments.profile_top > 0:
        for mode in modes:
            users = min(arguments.users if mode == "per-user" else arguments.bulk_users, 20_000)
            profiler = cProfile.Profile()
            asyncio.run(run_once(mode, users, arguments.concurrency, profiler))
            print_profile(mode, profiler, users, arguments.profile_top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
