"""``scim-tui rerun --only failed`` from a report and from a journal, against the Genesys-like simulator.

The first run gives every user a single attempt while the simulator fails
some creates with a 503 before storing and some with a 500 after storing, so
that both kinds of retriable failure end in the report. The faults are then
turned off and the failed users are run again.
"""

from __future__ import annotations

from tests.integration.test_resume_support import (
    cli_environment,
    creations_per_user,
    expected_summary,
    read_report,
    run_cli,
    simulator,
    stored_user_names,
    target_arguments,
    write_input,
)
from scim_tui.exit_codes import ExitCode

VALID_USERS = 60
FAULTS = {"p503_before": 0.25, "p500_after": 0.25, "seed": 11}


def first_run(tmp_path, server, source, output):
    environment = cli_environment(server)
    code = run_cli(
        ["run", str(source.path), "--headless", *target_arguments(server), "--report-dir", str(tmp_path / "first"),
         "--max-attempts", "1"],
        environment=environment, cwd=tmp_path, log=output,
    )
    report = read_report(tmp_path / "first")
    failed = {entry["userName"].lower(): entry for entry in report["users"] if entry["outcome"] == "failed"}
    server.configure(p503_before=0.0, p500_after=0.0)
    return environment, code, report, failed


def test_rerun_from_report(tmp_path):
    source = write_input(tmp_path / "users.csv", VALID_USERS)
    output = tmp_path / "cli.log"

    with simulator("genesys", rate_limit_per_minute=100_000, **FAULTS) as server:
        environment, first_code, first, failed = first_run(tmp_path, server, source, output)
        code = run_cli(
            ["rerun", str(tmp_path / "first" / "report.json"), "--only", "failed", "--headless", "--report-dir", str(tmp_path / "second")],
            environment=environment, cwd=tmp_path, log=output,
        )
        stored = stored_user_names(server)
        creations = creations_per_user(server)

    log_text = output.read_text(encoding="utf-8", errors="replace")
    assert first_code == ExitCode.USERS_FAILED
    stored_by_fault = {name for name, entry in failed.items() if entry.get("httpStatus") == 500}
    assert stored_by_fault, "the seed gave no 500-after-store fault"
    assert len(failed) > len(stored_by_fault), "the seed gave no 503-before-store fault"
    assert all(entry["retriable"] for entry in failed.values())

    assert code == ExitCode.OK, log_text[-3000:]
    assert stored == sorted(source.valid)
    assert {name: count for name, count in creations.items() if count != 1} == {}
    second = read_report(tmp_path / "second")
    # A report does not record when a create was sent, so a user that the
    # first run stored despite its 500 is found again and counted as existed.
    assert second["summary"] == expected_summary(source, created=VALID_USERS - len(stored_by_fault), existed=len(stored_by_fault))
    existed = {entry["userName"].lower() for entry in second["users"] if entry["outcome"] == "existed"}
    assert existed == stored_by_fault
    unchanged = {entry["row"]: entry for entry in first["users"] if entry["outcome"] == "created"}
    assert all(entry == unchanged[entry["row"]] for entry in second["users"] if entry["row"] in unchanged)


def test_rerun_from_journal(tmp_path):
    source = write_input(tmp_path / "users.csv", VALID_USERS)
    output = tmp_path / "cli.log"

    with simulator("genesys", rate_limit_per_minute=100_000, **FAULTS) as server:
        environment, _, _, failed = first_run(tmp_path, server, source, output)
        code = run_cli(
            ["rerun", str(tmp_path / "first" / "journal.sqlite"), "--headless", "--report-dir", str(tmp_path / "second")],
            environment=environment, cwd=tmp_path, log=output,
        )
        again = run_cli(
            ["rerun", str(tmp_path / "second" / "journal.sqlite"), "--headless", "--report-dir", str(tmp_path / "third")],
            environment=environment, cwd=tmp_path, log=output,
        )
        stored = stored_user_names(server)
        creations = creations_per_user(server)

    log_text = output.read_text(encoding="utf-8", errors="replace")
    assert failed
    assert code == ExitCode.OK, log_text[-3000:]
    assert stored == sorted(source.valid)
    assert {name: count for name, count in creations.items() if count != 1} == {}
    # The journal records the time of each first send, so a user stored despite
    # its 500 is recognised as created by this job.
    assert read_report(tmp_path / "second")["summary"] == expected_summary(source, created=VALID_USERS)
    assert again == ExitCode.OK
    assert "nothing to re-run" in log_text
    assert not (tmp_path / "third").exists()


def test_rerun_rejects_changed_input(tmp_path):
    source = write_input(tmp_path / "users.csv", 10)
    output = tmp_path / "cli.log"

    with simulator("genesys", rate_limit_per_minute=100_000, p503_before=0.5, seed=3) as server:
        environment, _, first, _ = first_run(tmp_path, server, source, output)
        source.path.write_text(source.path.read_text(encoding="utf-8") + "late@example.com,Late\n", encoding="utf-8")
        code = run_cli(
            ["rerun", str(tmp_path / "first" / "report.json"), "--headless", "--report-dir", str(tmp_path / "second")],
            environment=environment, cwd=tmp_path, log=output,
        )

    log_text = output.read_text(encoding="utf-8", errors="replace")
    assert code == ExitCode.USAGE
    assert first["input"]["sha256"] in log_text
    assert "journal" in log_text
    assert not (tmp_path / "second").exists()
