"""The dashboard driving real runs over HTTP against the Genesys-like simulator on 127.0.0.1.

While the simulator's gate is closed, every SCIM request that arrives waits
at the gate, so a run stays in flight for as long as a test needs to press
keys and count the requests the server received.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from textual.widgets import DataTable, Input

from scim_tui.engine.state import RunPhase
from scim_tui.tui.app import JobOptions, ScimTuiApp, Stage
from scim_tui.tui.screens.file_picker import FilePickerScreen
from scim_tui.tui.screens.load import LoadScreen
from scim_tui.tui.screens.modals import ConcurrencyScreen, ConfirmQuitScreen, PathScreen
from scim_tui.tui.screens.plan import PlanScreen
from scim_tui.tui.screens.report import ReportScreen
from scim_tui.tui.screens.run import RunScreen
from tests.tui.helpers import dashboard, showing, wait_until, write_users

SIZE = (120, 40)

BAD_ROWS = [
    "not-an-email,Bad,Row,Bad Row,Support",
    "agent.00001@example.com,Repeated,Row,Repeated Row,Support",
]

OUTCOME_PARTS = ("invalid", "duplicates", "created", "existed", "failed", "not_attempted")


def assert_adds_up(report: dict) -> None:
    summary = report["summary"]
    assert sum(summary[part] for part in OUTCOME_PARTS) == summary["rows"]
    assert len(report["users"]) == summary["rows"]


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


async def test_run_pause_resume_concurrency_export(simulator, tmp_path):
    users = tmp_path / "users.csv"
    names = write_users(users, 120, extra_rows=BAD_ROWS)
    app = dashboard(simulator, users, tmp_path / "report", concurrency=2)

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.stage is Stage.READY, what="the file to be read")
        assert isinstance(app.screen, LoadScreen)
        reader = app.loaded.reader
        assert (reader.rows_read, reader.valid, reader.invalid, reader.duplicates) == (122, 120, 1, 1)
        assert app.load_screen.query_one("#problems", DataTable).row_count == 2

        await pilot.press("n")
        assert isinstance(app.screen, PlanScreen)
        assert app.screen.query_one("#plan-batches", DataTable).row_count == len(app.loaded.plan.batches)

        simulator.gate()
        await pilot.press("s")
        await wait_until(pilot, showing(app, RunScreen), what="the run screen")
        run = app.current_run

        # Concurrency 2: exactly two requests reach the server and wait at the gate.
        await simulator.async_wait_until_held(2, timeout=10)
        await pilot.pause(0.3)
        assert simulator.stats(include_timeline=False).held_at_gate == 2

        await pilot.press("plus", "plus")
        assert run.snapshot().concurrency == 4
        await simulator.async_wait_until_held(4, timeout=10)
        await pilot.pause(0.3)
        stats = simulator.stats(include_timeline=False)
        assert stats.held_at_gate == 4
        assert stats.max_in_flight == 4

        # Pause, then let the held requests finish: the server receives no new request.
        await pilot.press("p")
        assert run.paused
        assert app.run_screen.last_snapshot.phase is RunPhase.PAUSED
        simulator.release()
        await simulator.async_wait_for(lambda s: s.in_flight == 0, timeout=10)
        before = simulator.stats(include_timeline=False).requests_total
        await pilot.pause(0.8)
        assert simulator.stats(include_timeline=False).requests_total == before
        assert run.snapshot().in_flight == 0

        # Set concurrency 3 in the dialog, close the gate again and resume.
        await pilot.press("c")
        assert isinstance(app.screen, ConcurrencyScreen)
        await pilot.press("3", "enter")
        assert run.snapshot().concurrency == 3
        simulator.gate()
        await pilot.press("p")
        assert not run.paused
        await simulator.async_wait_until_held(3, timeout=10)
        await pilot.pause(0.3)
        assert simulator.stats(include_timeline=False).held_at_gate == 3

        simulator.release()
        await wait_until(pilot, lambda: app.stage is Stage.FINISHED, what="the run to finish")
        await wait_until(pilot, showing(app, ReportScreen), what="the report screen")

        report = app.finished.report
        assert_adds_up(report)
        assert report["summary"]["created"] == 120
        assert report["summary"]["invalid"] == 1
        assert report["summary"]["duplicates"] == 1
        stored = {user["userName"] for user in simulator.users()}
        assert stored == set(names)
        assert all(simulator.stats(include_timeline=False).posts_for(name).stored == 1 for name in names)

        written = json.loads(app.finished.paths.report_json.read_text(encoding="utf-8"))
        assert written["summary"] == report["summary"]
        table = app.screen.query_one("#failed-users", DataTable)
        await wait_until(pilot, lambda: table.row_count == 2, what="the failed-user table")

        # Export to a chosen directory through the dialog.
        await pilot.press("e")
        assert isinstance(app.screen, PathScreen)
        export_dir = tmp_path / "exported"
        app.screen.query_one(Input).value = str(export_dir)
        await pilot.press("enter")
        await wait_until(pilot, lambda: (export_dir / "failed.csv").exists(), what="the export")
        await app.workers.wait_for_complete()

    exported = json.loads((export_dir / "report.json").read_text(encoding="utf-8"))
    assert_adds_up(exported)
    assert exported["summary"] == report["summary"]
    rows = csv_rows(export_dir / "failed.csv")
    assert sorted(row["outcome"] for row in rows) == ["duplicate", "invalid"]
    assert (export_dir / "report.json").stat().st_mode & 0o777 == 0o600
    assert app.return_code in (None, 0)


async def test_quit_in_flight_cancels_and_reports(simulator, tmp_path):
    users = tmp_path / "users.csv"
    write_users(users, 60)
    report_dir = tmp_path / "report"
    app = dashboard(simulator, users, report_dir, concurrency=3)

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.stage is Stage.READY, what="the file to be read")
        simulator.gate()
        await pilot.press("s")
        await simulator.async_wait_until_held(3, timeout=10)

        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmQuitScreen)
        await pilot.press("y")
        assert app.quit_after_run
        assert app.current_run.snapshot().phase is RunPhase.CANCELLING
        simulator.release()
        await wait_until(pilot, lambda: app.return_code is not None, what="the dashboard to exit")

    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    assert_adds_up(report)
    assert report["run"]["cancelled"] is True
    assert report["summary"]["created"] == 3
    assert report["summary"]["not_attempted"] == 57
    assert len(csv_rows(report_dir / "failed.csv")) == 57
    assert app.return_code == 130


async def test_quit_before_start_exits_at_once(simulator, tmp_path):
    users = tmp_path / "users.csv"
    write_users(users, 5)
    app = dashboard(simulator, users, tmp_path / "report")

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.stage is Stage.READY, what="the file to be read")
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: app.return_code is not None, what="the dashboard to exit")

    assert app.return_code == 130
    assert simulator.stats(include_timeline=False).count("POST /users") == 0
    assert not (tmp_path / "report").exists()


async def test_rerun_sends_retriable_failures_again(simulator, tmp_path):
    users = tmp_path / "users.csv"
    names = write_users(users, 20)
    simulator.configure(p503_before=1.0)
    app = dashboard(simulator, users, tmp_path / "report", concurrency=4, max_attempts=1)

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.stage is Stage.READY, what="the file to be read")
        await pilot.press("s")
        await wait_until(pilot, showing(app, ReportScreen), what="the first report")
        first = app.finished.report["summary"]
        assert first["failed"] == 20
        assert app.check_action("rerun", ()) is True

        simulator.configure(p503_before=0.0)
        await pilot.press("r")
        await wait_until(
            pilot, lambda: showing(app, ReportScreen)() and app.finished.report["summary"]["created"] == 20,
            what="the re-run report",
        )
        second = app.finished
        assert_adds_up(second.report)
        assert second.report_dir == tmp_path / "report-rerun-1"
        assert json.loads(second.paths.report_json.read_text(encoding="utf-8"))["summary"]["created"] == 20
        assert app.check_action("rerun", ()) is None

    assert {user["userName"] for user in simulator.users()} == set(names)


async def test_dry_run_writes_requests_without_sending(simulator, tmp_path):
    users = tmp_path / "users.csv"
    names = write_users(users, 7)
    app = dashboard(simulator, users, tmp_path / "report")
    target = tmp_path / "dry" / "requests.ndjson"

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.stage is Stage.READY, what="the file to be read")
        await pilot.press("n", "d")
        assert isinstance(app.screen, PathScreen)
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, lambda: target.exists() and not app.dry_run_busy, what="the dry run file")
        assert app.stage is Stage.READY

    assert target.stat().st_mode & 0o777 == 0o600
    documents = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [document["body"]["userName"] for document in documents] == names
    for document in documents:
        assert document["method"] == "POST"
        assert document["url"] == f"{simulator.base_url}/api/v2/scim/v2/users"
        headers = {name.lower(): value for name, value in document["headers"].items()}
        assert headers["authorization"] == "<omitted>"
        assert headers["content-type"] == "application/scim+json"
    assert simulator.stats(include_timeline=False).count("POST /users") == 0
    assert simulator.users() == []


async def test_file_picker_opens_chosen_file(simulator, tmp_path):
    users = tmp_path / "picked.csv"
    write_users(users, 4)
    app = dashboard(simulator, users, tmp_path / "report")
    app.options.input_path = None

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, showing(app, FilePickerScreen), what="the file picker")
        path_field = app.screen.query_one("#picker-path", Input)
        path_field.focus()
        path_field.value = str(tmp_path / "missing.csv")
        await pilot.press("enter")
        assert isinstance(app.screen, FilePickerScreen)
        assert "is not a file" in str(app.screen.query_one("#picker-error").content)

        path_field.value = str(users)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.stage is Stage.READY, what="the picked file to be read")
        assert app.loaded.plan.total_users == 4
        assert app.options.input_path == users


async def test_prepared_rerun_starts_at_once(simulator, tmp_path):
    from scim_tui.resume import prepare_rerun

    users = tmp_path / "users.csv"
    write_users(users, 10)
    simulator.configure(p503_before=1.0)
    first = dashboard(simulator, users, tmp_path / "first", max_attempts=1)
    async with first.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: first.stage is Stage.READY, what="the file to be read")
        await pilot.press("s")
        await wait_until(pilot, showing(first, ReportScreen), what="the first report")
    assert first.finished.report["summary"]["failed"] == 10

    simulator.configure(p503_before=0.0)
    spec = first.options.target_spec
    prepared = await prepare_rerun(
        first.finished.paths.report_json, report_dir=tmp_path / "again", environ=spec.environ,
        input_options=first.options.input_options,
    )
    app = ScimTuiApp(JobOptions(users, spec, prepared.settings), prepared=prepared)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, showing(app, ReportScreen), what="the re-run report")
            report = app.finished.report
    finally:
        prepared.close()

    assert_adds_up(report)
    assert report["summary"]["created"] == 10
    assert (tmp_path / "again" / "report.json").exists()
    assert (tmp_path / "again" / "journal.sqlite").exists()
