"""End-to-end runs over real HTTP against scim2-server on 127.0.0.1, in Bulk and per-user mode.

Each test ends with the same checks: the server holds exactly the valid input
(plus any users it had before), no user was created twice, and the report's
counts add up.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from scim_tui.engine.job import TargetSpec
from scim_tui.engine.settings import RunSettings
from scim_tui.exit_codes import ExitCode
from scim_tui.headless import HeadlessJob, run_job
from tests.support.scim2_server import Faults, Scim2Server

HEADER = "userName,givenName,familyName,displayName,title,department,active,externalId,workPhone"


def write_users(path: Path, count: int, *, extra_rows: list[str] = ()) -> list[str]:
    """Write ``count`` valid users plus ``extra_rows`` and return the valid userNames."""
    names = [f"Agent.{index:04d}@Example.com" for index in range(count)]
    lines = [HEADER]
    for index, name in enumerate(names):
        lines.append(f"{name},Agent,Nummer {index},,Agent,Support,true,emp-{index},+3531555{index:04d}")
    lines.extend(extra_rows)
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return names


async def provision(server: Scim2Server, input_path: Path, report_dir: Path, **settings) -> tuple[int, dict]:
    job = HeadlessJob(
        input_path=input_path,
        target_spec=TargetSpec(kind="generic", url=server.url, read_env_file=False, environ={}),
        settings=RunSettings(backoff_base=0.05, **settings),
        report_dir=report_dir,
    )
    code = await run_job(job, stream=io.StringIO())
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    return code, report


def assert_report_adds_up(report: dict) -> None:
    summary = report["summary"]
    parts = summary["invalid"] + summary["duplicates"] + summary["created"] + summary["existed"]
    parts += summary["failed"] + summary["not_attempted"]
    assert parts == summary["rows"]
    assert len(report["users"]) == summary["rows"]


def assert_no_duplicate_creates(server: Scim2Server) -> None:
    repeated = {name: count for name, count in server.recorder.creates_by_user.items() if count > 1}
    assert repeated == {}


@pytest.mark.parametrize("per_user", [False, True], ids=["bulk", "per-user"])
async def test_clean_run_provisions_every_valid_row(tmp_path, per_user):
    invalid_rows = [
        ",No,Name,,,,,,",  # no userName
        "AGENT.0003@example.com,Dup,Licate,,,,,,",  # case-insensitive duplicate of row 5
        "bad.phone@example.com,Bad,Phone,,,,,,not-a-number",
    ]
    with Scim2Server(Faults(bulk_max_operations=30)) as server:
        names = write_users(tmp_path / "users.csv", 120, extra_rows=invalid_rows)
        code, report = await provision(server, tmp_path / "users.csv", tmp_path / "report", force_per_user=per_user)

        assert code == ExitCode.OK
        assert sorted(n.casefold() for n in server.user_names()) == sorted(n.casefold() for n in names)
        assert_no_duplicate_creates(server)

    summary = report["summary"]
    assert report["mode"] == ("per-user" if per_user else "bulk")
    assert summary["rows"] == 123
    assert summary["created"] == 120
    assert summary["invalid"] == 2
    assert summary["duplicates"] == 1
    assert summary["failed"] == 0
    assert_report_adds_up(report)

    failed_csv = list(csv.DictReader(io.StringIO((tmp_path / "report" / "failed.csv").read_text(encoding="utf-8"))))
    assert sorted(row["outcome"] for row in failed_csv) == ["duplicate", "invalid", "invalid"]


@pytest.mark.parametrize("per_user", [False, True], ids=["bulk", "per-user"])
async def test_preexisting_users_are_recorded_as_existed(tmp_path, per_user):
    with Scim2Server() as server:
        names = write_users(tmp_path / "users.csv", 40)
        await server.preload([names[3].lower(), names[17].upper()])
        code, report = await provision(server, tmp_path / "users.csv", tmp_path / "report", force_per_user=per_user)

        assert code == ExitCode.OK
        assert len(server.user_names()) == 40
        assert_no_duplicate_creates(server)

    existed = [user for user in report["users"] if user["outcome"] == "existed"]
    assert sorted(user["row"] for user in existed) == [5, 19]
    assert all(user.get("id") for user in existed)
    assert report["summary"]["created"] == 38
    assert_report_adds_up(report)


@pytest.mark.parametrize("per_user", [False, True], ids=["bulk", "per-user"])
async def test_429_with_retry_after_is_honoured(tmp_path, per_user):
    with Scim2Server(Faults(throttle_first=2, retry_after="1", bulk_max_operations=10)) as server:
        names = write_users(tmp_path / "users.csv", 30)
        code, report = await provision(server, tmp_path / "users.csv", tmp_path / "report", force_per_user=per_user)

        assert code == ExitCode.OK
        assert len(server.user_names()) == len(names)
        assert_no_duplicate_creates(server)

    assert report["run"]["throttled_429"] >= 1
    assert report["run"]["requests_by_status"]["429"] >= 1
    assert report["run"]["total_backoff_seconds"] >= 1.0
    assert report["summary"]["created"] == 30
    assert_report_adds_up(report)


async def test_500_after_store_never_duplicates_per_user(tmp_path):
    with Scim2Server(Faults(error_after_store_every=4)) as server:
        names = write_users(tmp_path / "users.csv", 60)
        code, report = await provision(server, tmp_path / "users.csv", tmp_path / "report", force_per_user=True)

        assert code == ExitCode.OK
        assert len(server.user_names()) == len(names)
        assert_no_duplicate_creates(server)
        assert server.recorder.statuses[500] >= 10

    assert report["summary"]["created"] == 60
    assert report["run"]["requests_by_status"]["500"] >= 10
    assert_report_adds_up(report)


async def test_bulk_partial_failure_and_missing_operations(tmp_path):
    # A row whose userName scim2-server rejects makes a partial Bulk response; a
    # server that cuts the response short (failOnErrors) leaves operations out.
    faults = Faults(bulk_max_operations=20, drop_bulk_operations_after=12)
    with Scim2Server(faults) as server:
        names = write_users(tmp_path / "users.csv", 50)
        await server.preload([names[7]])
        code, report = await provision(server, tmp_path / "users.csv", tmp_path / "report")

        assert code == ExitCode.OK
        assert len(server.user_names()) == 50
        assert_no_duplicate_creates(server)

    assert report["summary"]["created"] == 49
    assert report["summary"]["existed"] == 1
    assert report["run"]["retries"] >= 1
    assert_report_adds_up(report)


async def test_bulk_413_splits_the_batch(tmp_path):
    with Scim2Server(Faults(bulk_max_operations=40, payload_too_large_above=9)) as server:
        write_users(tmp_path / "users.csv", 40)
        code, report = await provision(server, tmp_path / "users.csv", tmp_path / "report")

        assert code == ExitCode.OK
        assert len(server.user_names()) == 40
        assert server.recorder.statuses[413] >= 3
        assert_no_duplicate_creates(server)
    assert_report_adds_up(report)


async def test_permanent_failures_are_reported_not_retried(tmp_path):
    with Scim2Server(Faults(bulk_supported=False)) as server:
        names = write_users(tmp_path / "users.csv", 10)
        server.faults.reject_user_names = {names[2].casefold(), names[6].casefold()}
        code, report = await provision(server, tmp_path / "users.csv", tmp_path / "report")

        assert code == ExitCode.USERS_FAILED
        assert len(server.user_names()) == 8
        assert server.recorder.statuses[400] == 2

    failed = [user for user in report["users"] if user["outcome"] == "failed"]
    assert [user["row"] for user in failed] == [4, 8]
    assert all(user["httpStatus"] == 400 for user in failed)
    assert all(user["scimType"] == "invalidValue" for user in failed)
    assert all(user["attempts"] == 1 for user in failed)
    assert all(user["retriable"] is False for user in failed)
    assert report["summary"]["failed"] == 2
    assert_report_adds_up(report)
