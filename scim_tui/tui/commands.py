"""The dashboard's commands in the command palette (ctrl+p).

Every key of the Footer has a command here. A command that cannot act right
now is still listed, marked "not available now", and running it only shows
the reason, so the palette and the Footer always agree.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from scim_tui.tui.app import ScimTuiApp

#: (palette name, action, help text) of every command.
COMMANDS = (
    ("Start sending", "start", "Start the run from the plan (s)"),
    ("Pause sending", "pause", "Stop new requests at once; requests in flight finish (p)"),
    ("Resume sending", "resume", "Send again after a pause (p)"),
    ("Concurrency up by one", "concurrency_up", "Allow one more request in flight (+)"),
    ("Concurrency down by one", "concurrency_down", "Allow one request fewer in flight (-)"),
    ("Set concurrency", "set_concurrency", "Type the number of requests in flight allowed (c)"),
    ("Dry run", "dry_run", "Write every request the run would send to a file, without sending (d)"),
    ("Export report", "export", "Write report.json and failed.csv to a chosen directory (e)"),
    ("Re-run failed users", "rerun", "Send again the users that failed for a reason that may pass now (r)"),
    ("Review the plan", "show_plan", "Show the batches the run will send (n)"),
    ("Show problem rows", "show_load", "Show the rows that were rejected or changed (b)"),
    ("Quit", "quit", "Quit; a run in flight is cancelled and its report written first (ctrl+q)"),
)

UNAVAILABLE = " (not available now)"


class DashboardCommands(Provider):
    """Offers the dashboard's actions, marking those that cannot act right now."""

    @property
    def dashboard(self) -> ScimTuiApp:
        return cast("ScimTuiApp", self.app)

    def _entries(self) -> list[tuple[str, object, str]]:
        app = self.dashboard
        entries = []
        for name, action, help_text in COMMANDS:
            state = app.check_action(action, ())
            if state is False:
                continue
            if state:
                entries.append((name, partial(app.run_action, action), help_text))
            else:
                entries.append((name, partial(app.explain_unavailable, action), help_text + UNAVAILABLE))
        return entries

    async def discover(self) -> Hits:
        for name, callback, help_text in self._entries():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._entries():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
