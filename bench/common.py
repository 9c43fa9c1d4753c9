"""Helpers shared by the engine benchmarks: machine facts, generated users, tables and timeouts.

Every benchmark prints the machine it ran on next to its figures, because
every figure here depends on it. Generated users are clean (valid, unique,
none already on the server), so a run's requests per user measure the
engine and not the input.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Sequence
import csv
from datetime import datetime, timezone
import os
from pathlib import Path
import platform
import sys
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scim_tui.input.records import ValidUser  # noqa: E402

T = TypeVar("T")

USER_CSV_HEADER = ["userName", "givenName", "familyName", "title", "department"]


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or the platform's guess elsewhere."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def total_ram_gib() -> float | None:
    """Return the machine's memory in GiB from /proc/meminfo, or None where it does not exist."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def machine_info() -> dict[str, str]:
    """Describe the machine and interpreter a benchmark runs on, for its printed header and the docs."""
    ram = total_ram_gib()
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "cpu": cpu_model(),
        "ram": f"{ram:.1f} GiB" if ram is not None else "unknown",
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def print_machine(title: str) -> None:
    info = machine_info()
    print(title)
    print(
        f"  {info['date']}; {info['cpus']} CPUs ({info['cpu']}), {info['ram']} RAM; "
        f"Python {info['python']} on {info['platform']}"
    )


def user_name(index: int, prefix: str = "agent") -> str:
    return f"{prefix}{index:07d}@example.com"


def write_user_csv(path: Path, count: int, prefix: str = "agent") -> Path:
    """Write ``count`` valid, unique users with email userNames (as Genesys requires) to a CSV file."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(USER_CSV_HEADER)
        for index in range(count):
            writer.writerow([user_name(index, prefix), "Agent", f"Number {index}", "Agent", "Support"])
    return path


def valid_users(count: int, prefix: str = "agent") -> list[ValidUser]:
    """Build the same users as :func:`write_user_csv`, already validated, for in-process runs."""
    return [
        ValidUser(
            row=index + 2,
            user_name=user_name(index, prefix),
            display_name=f"Agent Number {index}",
            given_name="Agent",
            family_name=f"Number {index}",
            email=user_name(index, prefix),
            title="Agent",
            department="Support",
        )
        for index in range(count)
    ]


async def with_timeout(awaitable: Awaitable[T], seconds: float, description: str) -> T:
    """Await ``awaitable`` for at most ``seconds``; raise TimeoutError naming ``description`` after that."""
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except TimeoutError:
        raise TimeoutError(f"{description} did not finish within {seconds:g} s") from None


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Format rows as a plain-text table with right-aligned columns after the first."""
    text_rows = [[str(cell) for cell in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in text_rows:
        for column, cell in enumerate(row):
            widths[column] = max(widths[column], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = [cells[0].ljust(widths[0])]
        parts += [cell.rjust(widths[column]) for column, cell in enumerate(cells[1:], start=1)]
        return "  ".join(parts)

    separator = "  ".join("-" * width for width in widths)
    return "\n".join([line(list(headers)), separator] + [line(row) for row in text_rows])


def verdict(value: float, goal: float, *, at_most: bool) -> str:
    """Return "met" or "MISSED" for ``value`` against a goal that is a ceiling or a floor."""
    met = value <= goal if at_most else value >= goal
    return "met" if met else "MISSED"
