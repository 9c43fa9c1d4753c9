"""SIGINT stops a headless run cleanly, its journal agrees with its report, and resume finishes the job."""

from __future__ import annotations

import signal
import sqlite3

from scim_tui.exit_codes import ExitCode
from scim_tui.journal import Journal
from tests.integration.test_resume_support import (
    cli_environment,
    creations_per_user,
    expected_summary,
    journal_states,
    read_report,
    run_cli,
    simulator,
    start_cli,
    stored_user_names,
    target_arguments,
    wait_for,
    write_input,
)

VALID_USERS = 120


def journal_outcomes(path) -> dict[str, tuple[str, str | None]]:
    connection = sqlite3.connect(path)
    try:
        return {name.lower(): (state, outcome) for name, state, outcome in connection.execute("SELECT user_name, state, outcome FROM users")}
    finally:
        connection.close()


def test_sigint_then_resume(tmp_path):
    source = write_input(tmp_path / "users.csv", VALID_USERS)
    report_dir = tmp_path / "report"
    journal = report_dir / "journal.sqlite"
    output = tmp_path / "cli.log"

    with simulator("genesys", rate_limit_per_minute=100_000, latency_ms=(20, 40), p500_after=0.1, p_drop=0.05, seed=7) as server:
        environment = cli_environment(server)
        process = start_cli(
            ["run", str(source.path), "--headless", *target_arguments(server), "--report-dir", str(report_dir),
             "--concurrency", "2", "--max-attempts", "10"],
            environment=environment, cwd=tmp_path, log=output,
        )
        reached = wait_for(lambda: process.poll() is not None or journal_states(journal).get("finished", 0) >= 30, timeout=60)
        assert reached
        assert process.poll() is None, "the run ended before it could be interrupted"

        process.send_signal(signal.SIGINT)
        code = process.wait(60)
        interrupted_report = read_report(report_dir)
        states = journal_outcomes(journal)

        resumed = run_cli(["resume", str(journal), "--headless"], environment=environment, cwd=tmp_path, log=output)
        stored = stored_user_names(server)
        creations = creations_per_user(server)

    log_text = output.read_text(encoding="utf-8", errors="replace")
    assert code == ExitCode.INTERRUPTED, log_text[-3000:]
    assert "interrupted" in log_text

    # The interrupted report covers every row, and the journal records the same for each user.
    summary = interrupted_report["summary"]
    assert summary["not_attempted"] > 0
    assert len(interrupted_report["users"]) == source.rows
    for entry in interrupted_report["users"]:
        if entry["outcome"] in ("invalid", "duplicate"):
            continue
        state, outcome = states[entry["userName"].lower()]
        if entry["outcome"] == "not_attempted":
            assert state in ("pending", "sending"), entry
        else:
            assert (state, outcome) == ("finished", entry["outcome"]), entry
    finished = sum(1 for state, _ in states.values() if state == "finished")
    assert finished == summary["created"] + summary["existed"] + summary["failed"]

    # The interrupted process released the journal.
    Journal.open(journal).close()

    assert resumed == ExitCode.OK, log_text[-3000:]
    assert stored == sorted(source.valid)
    assert {name: count for name, count in creations.items() if count != 1} == {}
    final = read_report(report_dir)
    assert final["summary"] == expected_summary(source, created=VALID_USERS)
    assert len(final["users"]) == source.rows
