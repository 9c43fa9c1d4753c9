"""Opening a file that has an unfinished journal: the dashboard offers to resume it."""

from __future__ import annotations

from scim_tui.engine.job import load_input, open_target
from scim_tui.engine.settings import RunSettings
from scim_tui.input import InputOptions
from scim_tui.journal import Journal
from scim_tui.tui.app import Stage
from scim_tui.tui.screens.load import LoadScreen
from scim_tui.tui.screens.modals import ResumeOfferScreen
from scim_tui.tui.screens.report import ReportScreen
from tests.tui.helpers import dashboard, genesys_spec, showing, wait_until, write_users

SIZE = (120, 40)


def write_unfinished_journal(server, users, report_dir):
    """Plan the file and journal it without sending anything: every user is left pending."""
    target = open_target(genesys_spec(server))
    loaded = load_input(users, mode="per-user", batch_size=10, input_options=InputOptions(user_name_must_be_email=True))
    journal = Journal.create(report_dir / "journal.sqlite", loaded, target, RunSettings(), report_dir=report_dir)
    journal.close()
    return report_dir / "journal.sqlite"


async def test_offer_accepted_resumes_run(simulator, tmp_path):
    users = tmp_path / "users.csv"
    names = write_users(users, 30)
    journal = write_unfinished_journal(simulator, users, tmp_path / "reports" / "first")
    app = dashboard(simulator, users, tmp_path / "reports" / "second")

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, showing(app, ResumeOfferScreen), what="the resume offer")
        assert app.screen.journal_path == journal

        await pilot.press("y")
        await wait_until(pilot, lambda: app.finished is not None, timeout=30, what="the resumed run to finish")
        await wait_until(pilot, showing(app, ReportScreen), what="the report")
        summary = app.finished.report["summary"]

    stored = sorted(user["userName"].lower() for user in simulator.users())
    assert stored == sorted(name.lower() for name in names)
    assert summary["created"] == 30
    assert summary["not_attempted"] == 0
    assert str(app.finished.paths.report_json).startswith(str(tmp_path / "reports" / "first"))


async def test_offer_declined_loads_file(simulator, tmp_path):
    users = tmp_path / "users.csv"
    write_users(users, 5)
    write_unfinished_journal(simulator, users, tmp_path / "reports" / "first")
    app = dashboard(simulator, users, tmp_path / "reports" / "second")

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, showing(app, ResumeOfferScreen), what="the resume offer")
        await pilot.press("n")
        await wait_until(pilot, lambda: app.stage is Stage.READY, what="the file to be read")

        assert isinstance(app.screen, LoadScreen)
        assert app.loaded.plan.total_users == 5
    assert simulator.users() == []
