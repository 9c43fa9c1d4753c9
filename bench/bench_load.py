"""Time loading and validating a 1,000,000-row CSV file, and report peak memory.

Usage: python bench/bench_load.py [--rows N] [--out DIR] [--keep]

The script writes a CSV of N generated users (1,000,000 by default) into a
temporary directory, or into DIR, and then runs each phase in a fresh
subprocess so that each peak RSS (``resource.getrusage``, ``ru_maxrss``)
belongs to that phase alone. It prints wall-clock and CPU seconds; on a
shared machine the CPU time is the steadier figure.

- load: iterate a UserFileReader over the file, keeping nothing;
- encode: the same, plus ``encode_user`` for every valid user;
- plan: ``build_plan(reader, mode="per-user", batch_size=50, max_payload_size=None)``,
  when ``scim_tui.engine.plan.build_plan`` exists.

One row in 1,000 is invalid and one in 1,000 repeats an earlier userName in
another case, so the problem paths run too. Results are printed; nothing
is asserted, because wall-clock time depends on the machine.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
import resource
import subprocess
import sys
import tempfile
import time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADER = [
    "userName",
    "First Name",
    "Last Name",
    "title",
    "department",
    "division",
    "employee_id",
    "manager",
    "phone",
    "mobile",
    "skills",
    "languages",
    "active",
]
TITLES = ["Agent", "Senior Agent", "Supervisor", "Team Lead", "Analyst"]
DEPARTMENTS = ["Sales", "Support", "Billing", "Retention", "Onboarding"]
SKILLS = ["Sales:4.5;Support:3", "Billing:2", "", "Retention:5;Sales:1;Onboarding:2.5"]


def generate(path: Path, rows: int) -> None:
    """Write ``rows`` users; every 1,000th row is invalid and every 1,000th (offset 500) a duplicate."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for number in range(rows):
            user_name = f"user{number:07d}@example.com"
            phone = f"+1 (555) {number % 1000:03d}-{number % 10000:04d}"
            if number % 1000 == 999:
                phone = "555-0100"  # no country code: invalid
            if number % 1000 == 500 and number > 1000:
                user_name = f"USER{number - 1001:07d}@example.com"  # repeats an earlier row in another case
            writer.writerow(
                [
                    user_name,
                    f"Given{number}",
                    f"Family{number % 997}",
                    TITLES[number % len(TITLES)],
                    DEPARTMENTS[number % len(DEPARTMENTS)],
                    "Home",
                    f"E{number:07d}",
                    f"user{max(number - 1, 0):07d}@example.com",
                    phone,
                    f"+4420{number % 100000000:08d}",
                    SKILLS[number % len(SKILLS)],
                    "English:5" if number % 3 else "",
                    "true" if number % 7 else "false",
                ]
            )


def run_phase(phase: str, path: Path) -> dict[str, object]:
    from scim_tui.input import InputOptions, UserFileReader
    from scim_tui.scim.payloads import encode_user

    options = InputOptions(user_name_must_be_email=True)
    started = time.perf_counter()
    cpu_started = time.process_time()
    reader = UserFileReader(path, options)
    result: dict[str, object] = {"phase": phase}

    if phase == "load":
        count = sum(1 for _ in reader)
        result["yielded"] = count
    elif phase == "encode":
        size = 0
        for user in reader:
            size += len(encode_user(user))
        result["payload_bytes"] = size
        result["average_payload_bytes"] = round(size / max(reader.valid, 1))
    elif phase == "plan":
        from scim_tui.engine.plan import build_plan

        plan = build_plan(reader, mode="per-user", batch_size=50, max_payload_size=None)
        result["planned_users"] = plan.total_users
        result["batches"] = len(plan.batches)

    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    result.update(
        seconds=round(elapsed, 2),
        cpu_seconds=round(cpu, 2),
        cpu_microseconds_per_row=round(cpu / reader.rows_read * 1e6, 1),
        rows_read=reader.rows_read,
        valid=reader.valid,
        invalid=reader.invalid,
        duplicates=reader.duplicates,
        warnings=reader.warnings,
        problems_kept=len(reader.problems),
        rows_per_second=round(reader.rows_read / elapsed),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    return result


def plan_available() -> bool:
    try:
        from scim_tui.engine.plan import build_plan  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="number of users to generate (default 1,000,000)")
    parser.add_argument("--out", type=Path, help="directory for the generated CSV (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()

    if arguments.phase:
        print(json.dumps(run_phase(arguments.phase, arguments.file)))
        return 0

    with tempfile.TemporaryDirectory() as temporary:
        directory = arguments.out or Path(temporary)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"users_{arguments.rows}.csv"
        started = time.perf_counter()
        generate(path, arguments.rows)
        print(f"generated {arguments.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s")
        print(f"python {sys.version.split()[0]} on {sys.platform}")

        phases = ["load", "encode"] + (["plan"] if plan_available() else [])
        for phase in phases:
            output = subprocess.run(
                [sys.executable, __file__, "--phase", phase, "--file", str(path)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(output)
            print(" ".join(f"{key}={value}" for key, value in result.items()))
        if not plan_available():
            print("plan: skipped, scim_tui.engine.plan.build_plan does not exist yet")
        if arguments.out and not arguments.keep:
            path.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
