"""Screens fed with fixed data: text from files and servers shows literally, keys enable where they can act."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import DataTable

from scim_tui.engine import events as ev
from scim_tui.engine.state import BatchStatus, RunPhase
from scim_tui.tui.app import Stage
from scim_tui.tui.commands import UNAVAILABLE, DashboardCommands
from scim_tui.tui.screens.report import ReportScreen
from scim_tui.tui.screens.run import RunScreen
from scim_tui.tui.widgets.batch_table import BatchTable
from scim_tui.tui.widgets.event_log import EventLog
from tests.tui.screens import (
    MARKUP_DETAIL,
    SAMPLE_PATHS,
    TARGET_INFO,
    FrozenRun,
    fixed_clock,
    frozen_batches,
    frozen_events,
    frozen_snapshot,
    idle_app,
    sample_loaded,
    sample_report,
)


def log_text(log: EventLog) -> str:
    """Return the log's text with wrapped lines joined again."""
    return " ".join(" ".join(strip.text.split()) for strip in log.lines)


async def test_markup_in_run_screen_shows_literally():
    app = idle_app()
    events = frozen_events() + [ev.RunMessage(at=112.0, level="error", text="[/]"), ev.RunMessage(at=112.5, level="error", text="[bold")]
    async with app.run_test(size=(160, 50)) as pilot:
        await app.switch_screen(RunScreen(FrozenRun(frozen_snapshot(), frozen_batches(), events), interval=None, timestamp=fixed_clock))
        await pilot.pause()
        table = app.screen.query_one(BatchTable)
        cell = table.get_cell("7", "last_error")
        assert isinstance(cell, Text)
        assert cell.plain == "400 " + MARKUP_DETAIL
        text = log_text(app.screen.query_one(EventLog))
        assert "[/] in [bold]title[/bold] and [red]x" in text
        assert "12:00:12 [/]" in text
        assert "[bold" in text


async def test_markup_in_problem_rows_shows_literally(tmp_path: Path):
    loaded = sample_loaded(tmp_path)
    app = idle_app()
    async with app.run_test(size=(160, 50)) as pilot:
        screen = app.load_screen
        screen.show_target(TARGET_INFO, 8)
        screen.show_loaded(loaded.reader, loaded.reader.problems, users=loaded.plan.total_users, batches=len(loaded.plan.batches))
        await pilot.pause()
        table = screen.query_one("#problems", DataTable)
        values = [table.get_cell(key, "value").plain for key in map(str, range(table.row_count))]
        assert "[/]not-an-email" in values


async def test_markup_in_report_detail_shows_literally():
    report, results = sample_report()
    app = idle_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await app.switch_screen(ReportScreen(report, results, SAMPLE_PATHS))
        await pilot.pause()
        table = app.screen.query_one("#failed-users", DataTable)
        assert table.get_cell("4", "detail").plain == MARKUP_DETAIL


async def test_report_filters_by_outcome_and_status():
    report, results = sample_report()
    app = idle_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await app.switch_screen(ReportScreen(report, results, SAMPLE_PATHS, rerunnable=2))
        await pilot.pause()
        screen = app.screen
        table = screen.query_one("#failed-users", DataTable)
        assert table.row_count == 5

        screen.query_one("#filter-outcome").value = "failed"
        await pilot.pause()
        assert [row.row for row in screen.shown] == [4, 5]

        screen.query_one("#filter-status").value = "503"
        await pilot.pause()
        assert [row.row for row in screen.shown] == [5]
        assert table.row_count == 1

        screen.query_one("#filter-outcome").value = "all"
        screen.query_one("#filter-status").value = "none"
        await pilot.pause()
        assert [row.row for row in screen.shown] == [6, 7, 8]


async def test_batch_table_updates_only_changed_cells():
    app = idle_app()
    batches = frozen_batches()
    source = FrozenRun(frozen_snapshot(), batches, [])
    async with app.run_test(size=(120, 40)) as pilot:
        await app.switch_screen(RunScreen(source, interval=None, timestamp=fixed_clock))
        await pilot.pause()
        table = app.screen.query_one(BatchTable)
        assert table.row_count == 40
        assert table.cells_updated == 0

        from dataclasses import replace

        changed = replace(batches[15], status=BatchStatus.RUNNING, created=5, version=99)
        assert table.apply([changed]) == 2
        assert table.get_cell("16", "status").plain == "running"
        assert table.get_cell("16", "created").plain == "5"
        assert table.apply([changed]) == 0


def footer_state(app) -> dict[str, bool]:
    """Map each action of the active bindings to whether it is enabled (False: shown dimmed)."""
    return {binding.binding.action: binding.enabled for binding in app.screen.active_bindings.values()}


async def test_keys_enabled_only_where_they_act(tmp_path: Path):
    app = idle_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.stage = Stage.LOADING
        await pilot.pause()
        state = footer_state(app)
        assert state["start"] is False
        assert state["pause"] is False
        assert state["export"] is False
        assert state["quit"] is True

        app.loaded = sample_loaded(tmp_path)
        app.stage = Stage.READY
        await pilot.pause()
        state = footer_state(app)
        assert state["start"] is True
        assert state["concurrency_up"] is True
        assert state["pause"] is False
        assert state["export"] is False

        await pilot.press("plus")
        assert app.options.settings.concurrency == 9

        app.stage = Stage.FINISHED
        await pilot.pause()
        state = footer_state(app)
        assert state["start"] is False
        assert state["concurrency_up"] is False
        assert state["export"] is False


async def test_palette_marks_unavailable_commands(tmp_path: Path):
    app = idle_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.loaded = sample_loaded(tmp_path)
        app.stage = Stage.READY
        await pilot.pause()
        provider = DashboardCommands(app.screen)
        entries = {name: help_text for name, _, help_text in provider._entries()}
        assert not entries["Start sending"].endswith(UNAVAILABLE)
        assert entries["Export report"].endswith(UNAVAILABLE)
        assert entries["Pause sending"].endswith(UNAVAILABLE)
        assert "Resume sending" not in entries


async def test_run_screen_redraws_phase_from_snapshot():
    app = idle_app()
    source = FrozenRun(frozen_snapshot(phase=RunPhase.CANCELLING), frozen_batches(), [])
    async with app.run_test(size=(120, 40)) as pilot:
        await app.switch_screen(RunScreen(source, interval=None, timestamp=fixed_clock))
        await pilot.pause()
        status = app.screen.query_one("#run-status")
        assert str(status.content).startswith("Cancelling")
