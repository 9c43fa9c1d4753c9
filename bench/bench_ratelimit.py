"""Measure how close scim-tui gets to a Genesys-like per-token rate limit, next to two simple clients.

Usage: python bench/bench_ratelimit.py [--users N] [--limit L] [--window SECONDS] [--plot PNG] [--json FILE]

Each client provisions the same N clean users on a fresh simulator of its own.
The simulator runs the genesys profile: OAuth client credentials, a fixed
window of L requests per token, ``inin-ratelimit-*`` headers on every
response, 429 with ``Retry-After``, and latency drawn uniformly from 50 to
150 ms. The token lives a day, so no refresh starts a new per-token window
during the measurement.

- ``engine``: scim-tui's headless job (discovery, input file, plan, journal,
  pacing from the rate-limit headers, report), with its default concurrency.
- ``semaphore``: the typical script: asyncio, ``Semaphore(16)``, and on a 429
  sleep ``Retry-After`` and send again. It reads no rate-limit header.
- ``sequential``: one request at a time with a synchronous httpx client,
  sleeping ``Retry-After`` on a 429.

All figures come from the simulator's own request timeline, so every client
is measured the same way. The span runs from the arrival of its first SCIM
request to the end of its last one, and the OAuth token request is left out.
R is L / window; the ideal time is N / R. The achieved rate counts the
requests answered with anything but 429. Requests per user divides every
SCIM request (discovery, creates, 429s, lookups) by the users created.

Every client run has a hard timeout, and every request loop is bounded by a
deadline and an attempt count. Nothing is asserted: the script prints a table
(and optionally writes JSON and a plot) for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import asdict, dataclass, field
import io
import json
import math
from pathlib import Path
import sys
import tempfile
import time

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import format_table, print_machine, valid_users, verdict, with_timeout, write_user_csv  # noqa: E402

import httpx  # noqa: E402

from scim_tui.demo import simulator_environment  # noqa: E402
from scim_tui.engine.job import TargetSpec  # noqa: E402
from scim_tui.engine.settings import RunSettings  # noqa: E402
from scim_tui.exit_codes import ExitCode  # noqa: E402
from scim_tui.headless import HeadlessJob, run_job  # noqa: E402
from scim_tui.input import InputOptions  # noqa: E402
from scim_tui.scim.payloads import encode_user  # noqa: E402
from scim_tui.simulator.config import Profile, SimulatorConfig  # noqa: E402
from scim_tui.simulator.server import SimulatorServer  # noqa: E402
from scim_tui.simulator.stats import SimulatorStats  # noqa: E402

CLIENTS = ("engine", "semaphore", "sequential")

# Goals of the rate-limit claim.
GOAL_RATE_SHARE = 0.95
GOAL_THROTTLED_SHARE = 0.01
GOAL_REQUESTS_PER_USER = 1.02

TOKEN_LIFETIME = 86_400.0
LATENCY_MS = (50.0, 150.0)
SEED = 7

# A simple client gives up on a user after this many 429s in a row, so its loop is bounded.
SIMPLE_CLIENT_MAX_ATTEMPTS = 100


@dataclass
class ClientRun:
    """One client's figures, as the simulator recorded them."""

    client: str
    users: int
    created: int
    stored_twice: int
    requests: int
    throttled: int
    span: float
    client_seconds: float
    max_in_flight: int
    exit_status: str
    sent_per_second: list[int] = field(default_factory=list)
    throttled_per_second: list[int] = field(default_factory=list)

    def accepted_rate(self) -> float:
        return (self.requests - self.throttled) / self.span if self.span > 0 else 0.0

    def throttled_share(self) -> float:
        return self.throttled / self.requests if self.requests else 0.0

    def requests_per_user(self) -> float:
        return self.requests / self.created if self.created else math.inf


def measure(client: str, users: int, stats: SimulatorStats, stored: int, client_seconds: float, exit_status: str) -> ClientRun:
    """Read one client's figures and per-second series from the simulator's timeline."""
    records = [record for record in stats.timeline if record.route != "/oauth/token"]
    if not records:
        return ClientRun(client, users, stored, 0, 0, 0, 0.0, client_seconds, stats.max_in_flight, exit_status)

    first = min(record.started for record in records)
    last = max(record.finished for record in records)
    seconds = max(1, math.ceil(last - first))
    sent = [0] * seconds
    throttled = [0] * seconds
    for record in records:
        index = min(seconds - 1, int(record.started - first))
        sent[index] += 1
        if record.status == 429:
            throttled[index] += 1

    return ClientRun(
        client=client,
        users=users,
        created=stored,
        stored_twice=sum(1 for posts in stats.user_posts.values() if posts.stored > 1),
        requests=len(records),
        throttled=sum(throttled),
        span=last - first,
        client_seconds=client_seconds,
        max_in_flight=stats.max_in_flight,
        exit_status=exit_status,
        sent_per_second=sent,
        throttled_per_second=throttled,
    )


def fetch_token(server: SimulatorServer) -> str:
    """Get an access token as any script would: client credentials at the token endpoint."""
    assert server.token_url is not None
    response = httpx.post(
        server.token_url,
        auth=(server.client_id, server.client_secret),
        data={"grant_type": "client_credentials"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def retry_after_seconds(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


def run_sequential(server: SimulatorServer, payloads: list[bytes], deadline: float) -> str:
    """Send one create at a time; on a 429 sleep Retry-After and send the same user again."""
    headers = {"Authorization": f"Bearer {fetch_token(server)}", "Content-Type": "application/scim+json"}
    url = f"{server.scim_url}/users"
    with httpx.Client(headers=headers, timeout=30) as client:
        for payload in payloads:
            for _ in range(SIMPLE_CLIENT_MAX_ATTEMPTS):
                if time.monotonic() > deadline:
                    return "timed out"
                response = client.post(url, content=payload)
                if response.status_code != 429:
                    break
                time.sleep(retry_after_seconds(response))
    return "finished"


async def run_semaphore(server: SimulatorServer, payloads: list[bytes], deadline: float, width: int) -> str:
    """Send creates with at most ``width`` in flight; on a 429 sleep Retry-After and send again."""
    token = await asyncio.to_thread(fetch_token, server)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    url = f"{server.scim_url}/users"
    limit = asyncio.Semaphore(width)
    timed_out = False

    async def create(client: httpx.AsyncClient, payload: bytes) -> None:
        nonlocal timed_out
        async with limit:
            for _ in range(SIMPLE_CLIENT_MAX_ATTEMPTS):
                if time.monotonic() > deadline:
                    timed_out = True
                    return
                response = await client.post(url, content=payload)
                if response.status_code != 429:
                    return
                await asyncio.sleep(retry_after_seconds(response))

    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        await asyncio.gather(*(create(client, payload) for payload in payloads))
    return "timed out" if timed_out else "finished"


async def run_engine(server: SimulatorServer, input_path: Path, report_dir: Path, concurrency: int) -> str:
    """Run scim-tui's headless job, as ``scim-tui run FILE --target genesys --headless`` does."""
    job = HeadlessJob(
        input_path=input_path,
        target_spec=TargetSpec(kind="genesys", read_env_file=False, environ=simulator_environment(server)),
        settings=RunSettings(concurrency=concurrency),
        report_dir=report_dir,
        input_options=InputOptions(user_name_must_be_email=True),
    )
    code = await run_job(job, stream=io.StringIO())
    return "finished" if code == ExitCode.OK else f"exit code {int(code)}"


def run_client(client: str, arguments: argparse.Namespace, workdir: Path, input_path: Path, payloads: list[bytes]) -> ClientRun:
    """Run one client against a fresh simulator and measure it; a timeout still yields figures."""
    config = SimulatorConfig(
        profile=Profile.GENESYS,
        rate_limit_per_minute=arguments.limit,
        rate_limit_window=arguments.window,
        token_lifetime=TOKEN_LIFETIME,
        latency_ms=LATENCY_MS,
        seed=SEED,
    )
    with SimulatorServer(config) as server:
        started = time.monotonic()
        deadline = started + arguments.timeout
        try:
            if client == "engine":
                coroutine = run_engine(server, input_path, workdir / "engine-report", arguments.concurrency)
                status = asyncio.run(with_timeout(coroutine, arguments.timeout, "the engine run"))
            elif client == "semaphore":
                coroutine = run_semaphore(server, payloads, deadline, arguments.semaphore)
                status = asyncio.run(with_timeout(coroutine, arguments.timeout + 5, "the semaphore client"))
            else:
                status = run_sequential(server, payloads, deadline)
        except TimeoutError as error:
            status = str(error)
        elapsed = time.monotonic() - started
        stats = server.stats(include_timeline=True)
        stored = len(server.users())
    return measure(client, arguments.users, stats, stored, elapsed, status)


def summary_rows(runs: list[ClientRun], rate: float, ideal: float) -> list[list[str]]:
    rows = []
    for run in runs:
        rows.append(
            [
                run.client,
                f"{run.created}/{run.users}",
                str(run.requests),
                f"{run.throttled} ({run.throttled_share():.1%})",
                f"{run.requests_per_user():.3f}",
                f"{run.accepted_rate() / rate:.3f}",
                f"{run.span:.1f}",
                f"{run.span / ideal:.3f}",
                str(run.max_in_flight),
                str(run.stored_twice),
                run.exit_status,
            ]
        )
    return rows


def print_goals(run: ClientRun, rate: float) -> None:
    share = run.accepted_rate() / rate
    print(f"\ngoals for {run.client}:")
    print(f"  achieved rate / R   {share:.3f}  (goal >= {GOAL_RATE_SHARE})  {verdict(share, GOAL_RATE_SHARE, at_most=False)}")
    print(
        f"  429 share           {run.throttled_share():.2%}  (goal <= {GOAL_THROTTLED_SHARE:.0%})  "
        f"{verdict(run.throttled_share(), GOAL_THROTTLED_SHARE, at_most=True)}"
    )
    print(
        f"  requests per user   {run.requests_per_user():.3f}  (goal <= {GOAL_REQUESTS_PER_USER})  "
        f"{verdict(run.requests_per_user(), GOAL_REQUESTS_PER_USER, at_most=True)}"
    )


def plot(runs: list[ClientRun], rate: float, arguments: argparse.Namespace, path: Path) -> None:
    """Plot requests per second and 429s per second over time, one panel per client."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    longest = max(len(run.sent_per_second) for run in runs)
    figure, axes = plt.subplots(len(runs), 1, figsize=(10, 2.4 * len(runs) + 0.8), sharex=True, squeeze=False)
    for axis, run in zip(axes[:, 0], runs):
        seconds = list(range(len(run.sent_per_second)))
        answered = [sent - throttled for sent, throttled in zip(run.sent_per_second, run.throttled_per_second)]
        axis.bar(seconds, answered, width=1.0, align="edge", color="#4C72B0", label="requests answered (not 429)")
        axis.bar(
            seconds, run.throttled_per_second, width=1.0, align="edge", bottom=answered,
            color="#DD5555", label="requests answered 429",
        )
        axis.axhline(rate, color="black", linestyle="--", linewidth=1, label=f"R = {rate:g} per second")
        axis.set_ylabel("requests / s")
        axis.set_title(
            f"{run.client}: {run.span:.0f} s for {run.created} users, rate {run.accepted_rate() / rate:.2f} R, "
            f"{run.throttled_share():.1%} answered 429",
            fontsize=10, loc="left",
        )
        axis.set_xlim(0, longest)
        axis.grid(axis="y", alpha=0.3)
    axes[-1, 0].set_xlabel("seconds since the client's first request (simulator clock)")
    axes[0, 0].legend(loc="upper right", fontsize=8)
    figure.suptitle(
        f"{arguments.users} users against a {arguments.limit} per {arguments.window:g} s per-token limit, "
        f"latency 50-150 ms",
        fontsize=11,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1200, help="users each client creates (default 1200)")
    parser.add_argument("--limit", type=int, default=200, help="requests allowed per token per window (default 200)")
    parser.add_argument("--window", type=float, default=10.0, help="length of the fixed window in seconds (default 10)")
    parser.add_argument("--concurrency", type=int, default=RunSettings().concurrency, help="engine concurrency (default: the engine's default)")
    parser.add_argument("--semaphore", type=int, default=16, help="requests in flight of the semaphore client (default 16)")
    parser.add_argument("--clients", default=",".join(CLIENTS), help=f"comma-separated clients to run (default {','.join(CLIENTS)})")
    parser.add_argument("--timeout", type=float, default=600.0, help="hard limit for one client's run, in seconds (default 600)")
    parser.add_argument("--plot", type=Path, help="write the per-second plot to this PNG, e.g. docs/img/ratelimit.png")
    parser.add_argument("--json", type=Path, help="write every figure and series to this JSON file")
    arguments = parser.parse_args()

    clients = [name.strip() for name in arguments.clients.split(",") if name.strip()]
    unknown = sorted(set(clients) - set(CLIENTS))
    if unknown:
        parser.error(f"unknown client {', '.join(unknown)}; choose from {', '.join(CLIENTS)}")

    rate = arguments.limit / arguments.window
    ideal = arguments.users / rate
    print_machine("bench_ratelimit: per-token rate limit, genesys profile")
    print(
        f"  {arguments.users} users, limit {arguments.limit} per {arguments.window:g} s (R = {rate * 60:g} per minute), "
        f"latency 50-150 ms, ideal time N/R = {ideal:.1f} s"
    )

    runs: list[ClientRun] = []
    with tempfile.TemporaryDirectory() as temporary:
        workdir = Path(temporary)
        input_path = write_user_csv(workdir / "users.csv", arguments.users)
        payloads = [encode_user(user) for user in valid_users(arguments.users)]
        for client in clients:
            print(f"  running {client} ...", flush=True)
            runs.append(run_client(client, arguments, workdir, input_path, payloads))

    print()
    headers = ["client", "created", "requests", "429s", "req/user", "rate/R", "span s", "span/ideal", "in flight", "dup", "status"]
    print(format_table(headers, summary_rows(runs, rate, ideal)))
    for run in runs:
        if run.client == "engine":
            print_goals(run, rate)

    if arguments.json:
        document = {
            "users": arguments.users, "limit": arguments.limit, "window": arguments.window,
            "rate_per_second": rate, "ideal_seconds": ideal, "runs": [asdict(run) for run in runs],
        }
        arguments.json.write_text(json.dumps(document, indent=1), encoding="utf-8")
    if arguments.plot:
        plot(runs, rate, arguments, arguments.plot)
        print(f"\nplot: {arguments.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
