"""SVG snapshots of each screen with fixed data, at 80x24 and, for the run screen, at 120x40.

Regenerate after an intended change with ``pytest tests/tui --snapshot-update``
and review the SVG files in ``tests/tui/__snapshots__``.
"""

from __future__ import annotations

from pathlib import Path

from scim_tui.engine.state import RunPhase
from scim_tui.tui.app import Stage
from scim_tui.tui.screens.plan import PlanScreen
from scim_tui.tui.screens.report import ReportScreen
from scim_tui.tui.screens.run import RunScreen
from tests.tui.screens import (
    SAMPLE_PATHS,
    TARGET_INFO,
    TARGET_URL,
    FrozenRun,
    fixed_clock,
    frozen_batches,
    frozen_events,
    frozen_snapshot,
    idle_app,
    sample_loaded,
    sample_report,
)

SMALL = (80, 24)
LARGE = (120, 40)
THROUGHPUT = [0, 5, 12, 20, 31, 38, 44, 47, 49, 48, 50, 47, 49, 48]


def show_loaded(directory: Path):
    loaded = sample_loaded(directory)

    async def run_before(pilot) -> None:
        app = pilot.app
        screen = app.load_screen
        screen.set_path("users.csv")
        screen.show_target(TARGET_INFO, 8)
        screen.show_loaded(loaded.reader, loaded.reader.problems, users=loaded.plan.total_users, batches=len(loaded.plan.batches))
        app.loaded = loaded
        app.stage = Stage.READY
        await pilot.pause()

    return run_before


def test_load_screen(snap_compare, tmp_path):
    assert snap_compare(idle_app(), terminal_size=SMALL, run_before=show_loaded(tmp_path))


def test_plan_screen(snap_compare, tmp_path):
    loaded = sample_loaded(tmp_path)

    async def run_before(pilot) -> None:
        app = pilot.app
        app.loaded = loaded
        app.stage = Stage.READY
        app.install_screen(PlanScreen(loaded.plan, TARGET_URL, 8), "plan")
        await app.switch_screen("plan")
        await pilot.pause()

    assert snap_compare(idle_app(), terminal_size=SMALL, run_before=run_before)


def show_frozen_run(snapshot_changes: dict | None = None):
    async def run_before(pilot) -> None:
        app = pilot.app
        app.stage = Stage.RUNNING
        source = FrozenRun(frozen_snapshot(**(snapshot_changes or {})), frozen_batches(), frozen_events())
        await app.switch_screen(RunScreen(source, interval=None, timestamp=fixed_clock, history=THROUGHPUT))
        await pilot.pause()

    return run_before


def test_run_screen_small(snap_compare):
    assert snap_compare(idle_app(), terminal_size=SMALL, run_before=show_frozen_run())


def test_run_screen_large(snap_compare):
    assert snap_compare(idle_app(), terminal_size=LARGE, run_before=show_frozen_run())


def test_run_screen_paused(snap_compare):
    paused = {"phase": RunPhase.PAUSED, "pause_reason": "operator", "in_flight": 0, "backoff_remaining": 0.0}
    assert snap_compare(idle_app(), terminal_size=SMALL, run_before=show_frozen_run(paused))


def test_report_screen(snap_compare):
    report, results = sample_report()

    async def run_before(pilot) -> None:
        app = pilot.app
        app.stage = Stage.FINISHED
        await app.switch_screen(ReportScreen(report, results, SAMPLE_PATHS, rerunnable=2))
        await pilot.pause()

    assert snap_compare(idle_app(), terminal_size=SMALL, run_before=run_before)
