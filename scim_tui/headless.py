"""The headless front end: the same engine as the dashboard, driven from a terminal or a script.

On a terminal it redraws one progress line; otherwise it writes a plain log
line every few seconds, which suits CI logs and cron mail.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import logging
from pathlib import Path
import signal
import sys
import time
from typing import Any, TextIO

from scim_tui.engine import events as ev
from scim_tui.engine.discovery import DiscoveryError, discover
from scim_tui.engine.job import (
    LoadedInput,
    TargetSpec,
    choose_mode,
    default_report_dir,
    load_input,
    open_target,
    write_reports,
)
from scim_tui.engine.run import ProvisioningRun, RunResult
from scim_tui.engine.settings import RunSettings
from scim_tui.engine.state import RunSnapshot
from scim_tui.engine.transport import build_client
from scim_tui.exit_codes import ExitCode
from scim_tui.report import ReportPaths
from scim_tui.files import FileExistsWithoutOverwrite
from scim_tui.input import InputOptions, UserFileReader

log = logging.getLogger(__name__)

# Seconds between progress lines when the output is not a terminal.
PLAIN_PROGRESS_INTERVAL = 10.0
# Problems printed before the run. The report contains all of them.
PROBLEMS_SHOWN = 20


@dataclass
class HeadlessJob:
    input_path: Path
    target_spec: TargetSpec
    settings: RunSettings
    report_dir: Path | None = None
    overwrite: bool = False
    input_options: Any = None
    journal_path: Path | None = None


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


def progress_line(snapshot: RunSnapshot) -> str:
    counts = snapshot.counts
    parts = [
        f"{snapshot.finished_users}/{snapshot.total_users}",
        f"created {counts.get('created', 0)}",
        f"existed {counts.get('existed', 0)}",
        f"failed {counts.get('failed', 0)}",
        f"{snapshot.users_per_second:.1f} users/s",
        f"ETA {format_duration(snapshot.eta_seconds)}",
        f"in flight {snapshot.in_flight}/{snapshot.concurrency}",
        f"retry queue {snapshot.retry_queue_depth}",
        f"429s {snapshot.throttled}",
    ]
    if snapshot.backoff_remaining > 0:
        parts.append(f"backoff {snapshot.backoff_remaining:.1f}s")
    if snapshot.pause_reason:
        parts.append(f"PAUSED ({snapshot.pause_reason})")
    return " | ".join(parts)


def print_problems(loaded: LoadedInput, stream: TextIO) -> None:
    reader = loaded.reader
    print(
        f"{loaded.path}: {reader.rows_read} rows, {reader.valid} valid, {reader.invalid} invalid, "
        f"{reader.duplicates} duplicates",
        file=stream,
    )
    rejected = [problem for problem in reader.problems if str(problem.kind) != "warning"]
    for problem in rejected[:PROBLEMS_SHOWN]:
        print(f"  {problem.kind}: {problem.describe()}", file=stream)
    if len(rejected) > PROBLEMS_SHOWN:
        print(f"  ... and {len(rejected) - PROBLEMS_SHOWN} more in the report", file=stream)


async def _show_progress(run: ProvisioningRun, stream: TextIO, interactive: bool) -> None:
    last_plain = time.monotonic()
    while True:
        await asyncio.sleep(0.5)
        snapshot = run.snapshot()
        if interactive:
            stream.write("\r\x1b[2K" + progress_line(snapshot))
            stream.flush()
        elif time.monotonic() - last_plain >= PLAIN_PROGRESS_INTERVAL:
            last_plain = time.monotonic()
            log.info("progress: %s", progress_line(snapshot))


def exit_code_for(summary: dict[str, int], result: RunResult | None) -> int:
    """Return the exit code of a finished run; an interrupt by signal is handled by the caller."""
    if result is None:
        return ExitCode.TARGET_ERROR
    if result.stop_reason and result.stop_reason.startswith("credentials rejected"):
        return ExitCode.TARGET_ERROR
    if summary["rows"] > 0 and summary["valid"] == 0:
        # Nothing valid to send is a failed job, not a success: a broken export must not look fine to cron.
        return ExitCode.USERS_FAILED
    if summary["failed"] == 0 and summary["not_attempted"] == 0:
        return ExitCode.OK
    return ExitCode.USERS_FAILED


def check_report_dir(report_dir: Path, overwrite: bool) -> None:
    """Reject a report directory that already contains a report, before anything is sent."""
    if overwrite:
        return
    for name in ("report.json", "failed.csv"):
        if (report_dir / name).exists():
            raise FileExistsWithoutOverwrite(report_dir / name)


async def run_job(job: HeadlessJob, *, stream: TextIO = sys.stderr) -> int:
    """Run a job to the end and write its report. Returns the process exit code."""
    target = open_target(job.target_spec)
    settings = job.settings

    # Problems that need no server are reported before any connection: a
    # report that would be overwritten, and a file that cannot be read at all
    # (opening a reader reads the header and checks the encoding).
    report_dir = job.report_dir or default_report_dir(job.input_path)
    check_report_dir(report_dir, job.overwrite)
    UserFileReader(job.input_path, job.input_options or InputOptions())

    async with build_client(settings) as client:
        try:
            capabilities = await discover(client, target)
        except DiscoveryError as error:
            print(f"error: {error}", file=stream)
            return ExitCode.TARGET_ERROR
        mode = choose_mode(capabilities, settings)
        print(f"target {target.base_url}: {mode} mode", file=stream)

        loaded = await asyncio.to_thread(
            load_input,
            job.input_path,
            mode=mode,
            batch_size=settings.batch_size,
            max_operations=capabilities.max_operations,
            max_payload_size=capabilities.max_payload_size,
            input_options=job.input_options,
            user_extensions=capabilities.user_extensions,
        )
        print_problems(loaded, stream)
        for urn, count in loaded.dropped_extensions.items():
            print(f"  warning: the server does not accept {urn}; left out of {count} users", file=stream)

        from scim_tui.journal import Journal, default_journal_path

        # The journal lives in the report directory by default and must exist before the first request.
        journal_path = job.journal_path or default_journal_path(report_dir)
        recorder = Journal.create(journal_path, loaded, target, settings, report_dir=report_dir, overwrite=job.overwrite)
        print(f"journal: {journal_path} (resume with: scim-tui resume {journal_path} --headless)", file=stream)

        run = ProvisioningRun(loaded.plan, target, settings, client=client, recorder=recorder)
        try:
            result, interrupted = await drive_run(run, stream)
        finally:
            recorder.close()

    paths, report = write_reports(loaded, result, target, settings, report_dir, overwrite=job.overwrite)
    return print_outcome(paths, report, result, interrupted, stream)


async def drive_run(run: ProvisioningRun, stream: TextIO) -> tuple[RunResult, bool]:
    """Run to the end with a progress display and signal handling; return the result and whether a signal stopped it."""
    interactive = stream.isatty()
    run.add_listener(lambda event: _stop_on_operator_pause(run, event, stream))
    loop = asyncio.get_running_loop()
    interrupted = _install_interrupt_handler(loop, run, stream)

    progress = asyncio.create_task(_show_progress(run, stream, interactive))
    try:
        result = await run.run()
    finally:
        progress.cancel()
        _remove_interrupt_handler(loop)
        if interactive:
            stream.write("\r\x1b[2K" + progress_line(run.snapshot()) + "\n")
    return result, interrupted["signal"] is not None


def print_outcome(paths: ReportPaths, report: dict[str, Any], result: RunResult, interrupted: bool, stream: TextIO) -> int:
    """Print the summary and the report's paths, and return the exit code of the run."""
    summary = report["summary"]
    print("summary: " + ", ".join(f"{key} {value}" for key, value in summary.items()), file=stream)
    print(f"report: {paths.report_json}\nfailed users: {paths.failed_csv}", file=stream)
    if result.stop_reason:
        print(f"stopped: {result.stop_reason}", file=stream)
    if interrupted:
        return ExitCode.INTERRUPTED
    return exit_code_for(summary, result)


def _stop_on_operator_pause(run: ProvisioningRun, event: ev.Event, stream: TextIO) -> None:
    """Without an operator to resume it, a run that pauses itself (a likely missing permission) stops."""
    if isinstance(event, ev.RunMessage):
        print(f"\n{event.level}: {event.text}", file=stream)
    if isinstance(event, ev.Paused) and event.reason != "operator":
        run.cancel(f"paused: {event.reason}; no operator to resume a headless run")


def _install_interrupt_handler(loop: asyncio.AbstractEventLoop, run: ProvisioningRun, stream: TextIO) -> dict[str, object]:
    """Cancel the run cleanly on SIGINT or SIGTERM; a second ctrl+c aborts without a report.

    A repeated SIGTERM only repeats the request: GNU timeout sends SIGTERM to
    the child and again to its process group, and that must still leave a report.
    """
    interrupted: dict[str, object] = {"signal": None, "interrupts": 0}

    def on_signal(name: str) -> None:
        if name == "SIGINT":
            interrupted["interrupts"] = int(interrupted["interrupts"]) + 1
            if int(interrupted["interrupts"]) > 1:
                raise KeyboardInterrupt
        if interrupted["signal"] is None:
            interrupted["signal"] = name
            hint = " (ctrl+c again to abort without a report)" if name == "SIGINT" else ""
            print(f"\ninterrupted by {name}: finishing requests in flight, then writing the report{hint}", file=stream)
            run.cancel(f"interrupted ({name})")

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, on_signal, signum.name)
        except (NotImplementedError, RuntimeError):
            pass
    return interrupted


def _remove_interrupt_handler(loop: asyncio.AbstractEventLoop) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.remove_signal_handler(signum)
        except (NotImplementedError, RuntimeError):
            pass
