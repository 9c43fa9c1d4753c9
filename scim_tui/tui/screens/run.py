"""The run screen: live figures, one table row per batch, throughput and the event log.

The engine never calls into the screen. A timer (three times a second by
default) reads ``snapshot()``, the batches changed since the last redraw and
the events drained since then. It applies them inside one
``app.batch_update()``, so a run of thousands of batches costs the same per
redraw as a run of ten. Key presses that change the run redraw at once
through :meth:`RunScreen.refresh_view` instead of waiting for the timer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Protocol

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Sparkline, Static

from scim_tui.engine import events as ev
from scim_tui.engine.state import BatchStatus, BatchView, RunPhase, RunSnapshot
from scim_tui.tui.widgets.batch_table import BatchTable
from scim_tui.tui.widgets.title_bar import TitleBar
from scim_tui.tui.widgets.event_log import EventDigest, EventLog, wall_time
from scim_tui.tui.widgets.figures import RunFigures, status_line

#: Seconds between redraws: 3 Hz is smooth to the eye and cheap for thousands of batches.
REDRAW_INTERVAL = 1 / 3

#: Throughput samples kept for the sparkline: one per redraw, about a minute at 3 Hz.
THROUGHPUT_SAMPLES = 180

#: The batch table takes its changes on every third redraw, about once a second.
#: A DataTable renders every visible cell again after any change, which costs
#: about ten times the rest of a redraw, and batches change over seconds.
TABLE_EVERY = 3


class RunSource(Protocol):
    """The run's read side that the screen uses; ``ProvisioningRun`` provides it, and so can a test double."""

    def snapshot(self) -> RunSnapshot: ...

    def batches_changed_since(self, version: int) -> tuple[int, list[BatchView]]: ...

    def drain_events(self) -> list[ev.Event]: ...


class RunScreen(Screen):
    """Shows one run as it happens."""

    BINDINGS = [Binding("f", "toggle_follow", "Follow", id="toggle_follow")]

    # A tall terminal gives the event log more lines; the batch table takes the rest.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (40, "-tall")]

    def __init__(
        self,
        source: RunSource,
        *,
        notices: deque | None = None,
        interval: float | None = REDRAW_INTERVAL,
        timestamp: Callable[[float], str] = wall_time,
        history: list[float] | None = None,
        subject: str = "",
        **kwargs,
    ) -> None:
        """Show ``source``; ``notices`` contains events from outside the engine, such as token refreshes.

        ``interval`` None draws once and never again, which snapshot tests use.
        """
        super().__init__(**kwargs)
        self.source = source
        self.subject = subject
        self.notices = notices if notices is not None else deque()
        self.interval = interval
        self.timestamp = timestamp
        self.digest = EventDigest()
        self.follow = True
        self.last_snapshot: RunSnapshot | None = None
        self.redraws = 0
        self._version = -1
        self._samples: deque[float] = deque(history or (), maxlen=THROUGHPUT_SAMPLES)
        self._running_batches: set[int] = set()
        self._followed: int | None = None
        self._phase: RunPhase | None = None

    def compose(self) -> ComposeResult:
        yield TitleBar("Run", self.subject)
        yield RunFigures(id="figures")
        yield Static("", id="run-status")
        with Horizontal(id="run-meters"):
            yield ProgressBar(total=1, show_eta=False, id="run-progress")
            yield Sparkline([], id="throughput")
        yield BatchTable(id="batches")
        yield EventLog(timestamp=self.timestamp, id="events")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        version, views = self.source.batches_changed_since(-1)
        self._version = version
        self._track_running(views)
        self.query_one(BatchTable).load(views)
        self.refresh_view()
        if self.interval is not None:
            self.set_interval(self.interval, self.refresh_view)

    def _track_running(self, views: list[BatchView]) -> None:
        for view in views:
            if view.status is BatchStatus.RUNNING:
                self._running_batches.add(view.number)
            else:
                self._running_batches.discard(view.number)

    def _drain(self) -> list[ev.Event]:
        events = self.source.drain_events()
        if self.notices:
            while self.notices:
                events.append(self.notices.popleft())
            events.sort(key=lambda event: event.at)
        return events

    def refresh_view(self) -> None:
        """Redraw what changed since the last call; the batch table only on every TABLE_EVERY-th call."""
        snapshot = self.source.snapshot()
        events = self._drain()
        changed: list[BatchView] = []
        table_turn = self.redraws % TABLE_EVERY == 0 or snapshot.phase is RunPhase.FINISHED
        if table_turn:
            self._version, changed = self.source.batches_changed_since(self._version)
            self._track_running(changed)
        self._samples.append(snapshot.users_per_second)

        table = self.query_one(BatchTable)
        log = self.query_one(EventLog)
        with self.app.batch_update():
            self.query_one(RunFigures).show(snapshot)
            self.query_one("#run-status", Static).update(status_line(snapshot), layout=False)
            self.query_one("#run-progress", ProgressBar).update(
                total=max(1, snapshot.total_users), progress=snapshot.finished_users
            )
            self.query_one("#throughput", Sparkline).data = list(self._samples)
            if table_turn:
                table.apply(changed)
                if self.follow:
                    self._follow_running(table)
            for at, line in self.digest.digest(events):
                log.write_line(at, line)

        self.last_snapshot = snapshot
        self.redraws += 1
        if snapshot.phase is not self._phase:
            self._phase = snapshot.phase
            self.app.refresh_bindings()

    def _follow_running(self, table: BatchTable) -> None:
        if not self._running_batches:
            return
        first = min(self._running_batches)
        if first == self._followed:
            return
        self._followed = first
        table.move_cursor(row=table.get_row_index(str(first)), animate=False)

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self._followed = None
        self.notify("The table follows the first running batch." if self.follow else "The table stays where you scroll.")
