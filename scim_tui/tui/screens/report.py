"""The report screen: a summary whose counts add up, and the users that did not make it.

The failed-user table lists every row that was neither created nor already on
the server, filterable by outcome and by HTTP status. The counts come from
the report document the engine built, so the screen and ``report.json``
always agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Select, Static

from scim_tui.engine.outcomes import FINAL_SUCCESS, UserResult
from scim_tui.report import ReportPaths
from scim_tui.tui.formatting import format_count, format_duration, plural, shorten
from scim_tui.tui.widgets.title_bar import TitleBar

#: Users shown in the table at once; failed.csv has all of them.
ROWS_SHOWN = 5000

ALL = "all"
NO_STATUS = "none"

OUTCOME_ORDER = ("failed", "not_attempted", "invalid", "duplicate")
OUTCOME_STYLES = {"failed": "red", "not_attempted": "yellow", "invalid": "magenta", "duplicate": "dim"}

FAILED_COLUMNS = (
    ("row", "Row", 7),
    ("user", "userName", 30),
    ("outcome", "Outcome", 13),
    ("status", "HTTP", 5),
    ("scim_type", "scimType", 12),
    ("attempts", "Tries", 5),
    ("detail", "Detail", 100),
)

SUMMARY_PARTS = (
    ("invalid", "Invalid"),
    ("duplicates", "Duplicates"),
    ("created", "Created"),
    ("existed", "Existed"),
    ("failed", "Failed"),
    ("not_attempted", "Not attempted"),
)


def summary_table(summary: dict[str, int]) -> Table:
    """List the outcome counts in two columns and show that they add up to the rows read."""
    styles = {"created": "bold green", "failed": "bold red", "not_attempted": "bold yellow"}
    grid = Table.grid(padding=(0, 1))
    for _ in range(2):
        grid.add_column(no_wrap=True)
        grid.add_column(justify="right", no_wrap=True)

    def cells(key: str, label: str) -> list[Text]:
        value = summary.get(key, 0)
        style = styles.get(key, "bold") if value else "bold"
        return [Text(label, style="dim"), Text(format_count(value), style=style)]

    grid.add_row(*cells("rows", "Rows read"), *cells("valid", "Valid"))
    for (left, left_label), (right, right_label) in zip(SUMMARY_PARTS[0::2], SUMMARY_PARTS[1::2]):
        grid.add_row(*cells(left, left_label), *cells(right, right_label))

    total = sum(summary.get(key, 0) for key, _ in SUMMARY_PARTS)
    rows = summary.get("rows", 0)
    adds_up = total == rows
    check = Text(
        f"{format_count(total)} {'=' if adds_up else '≠'} rows read",
        style="green" if adds_up else "bold red",
    )
    grid.add_row(Text("Sum", style="dim"), check)
    return grid


def run_table(report: dict, paths: ReportPaths | None, note: str | None) -> Table:
    run = report.get("run", {})
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")

    def pair(label: str, value: str, style: str = "bold") -> None:
        grid.add_row(Text(label, style="dim"), Text(value, style=style))

    state = "cancelled" if run.get("cancelled") else "finished"
    pair("Run", f"{state} in {format_duration(run.get('duration_seconds'))}, {report.get('mode', '')} mode")
    users_per_second = run.get("users_per_second")
    rate = "-" if users_per_second is None else f"{users_per_second:.1f}"
    pair(
        "Requests",
        f"{format_count(run.get('requests_sent'))}, {format_count(run.get('retries'))} retries, "
        f"{format_count(run.get('throttled_429'))} 429s, {rate} users/s",
    )
    if run.get("stop_reason"):
        pair("Stopped", shorten(str(run["stop_reason"]), 300), "bold yellow")
    if paths is not None:
        pair("Report", str(paths.report_json), "")
        pair("Failed CSV", str(paths.failed_csv), "")
    if note:
        pair("Note", note, "bold red")
    return grid


def unsuccessful(results: Iterable[UserResult]) -> list[UserResult]:
    return [result for result in results if result.outcome not in FINAL_SUCCESS]


def filter_results(results: list[UserResult], outcome: str, status: str) -> list[UserResult]:
    """Return the results matching an outcome and an HTTP status (``all``, ``none`` or a number)."""
    chosen = []
    for result in results:
        if outcome != ALL and str(result.outcome) != outcome:
            continue
        if status != ALL:
            if status == NO_STATUS and result.status is not None:
                continue
            if status != NO_STATUS and str(result.status) != status:
                continue
        chosen.append(result)
    return chosen


def result_cells(result: UserResult) -> list[Text]:
    outcome = str(result.outcome)
    return [
        Text(str(result.row), justify="right"),
        Text(result.user_name or ""),
        Text(outcome, style=OUTCOME_STYLES.get(outcome, "")),
        Text("" if result.status is None else str(result.status), justify="right"),
        Text(result.scim_type or ""),
        Text(str(result.attempts), justify="right"),
        Text(shorten(result.detail, 400)),
    ]


class ReportScreen(Screen):
    """The end of a run: summary, run figures, report paths and the failed users."""

    BINDINGS = [Binding("r", "app.rerun", "Re-run failed", id="rerun")]

    def __init__(
        self,
        report: dict,
        results: list[UserResult],
        paths: ReportPaths | None,
        *,
        rerunnable: int = 0,
        note: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.report = report
        self.failed = unsuccessful(results)
        self.paths = paths
        self.rerunnable = rerunnable
        self.note = note
        self.shown: list[UserResult] = []

    def compose(self) -> ComposeResult:
        outcomes = Counter(str(result.outcome) for result in self.failed)
        statuses = Counter(result.status for result in self.failed)
        outcome_options = [(f"All outcomes ({format_count(len(self.failed))})", ALL)]
        outcome_options += [(f"{name} ({format_count(outcomes[name])})", name) for name in OUTCOME_ORDER if outcomes[name]]
        status_options = [("All HTTP statuses", ALL)]
        status_options += [
            (f"HTTP {status} ({format_count(count)})", str(status))
            for status, count in sorted((s, c) for s, c in statuses.items() if s is not None)
        ]
        if statuses.get(None):
            status_options.append((f"No HTTP status ({format_count(statuses[None])})", NO_STATUS))

        yield TitleBar("Report", str(self.report.get("input", {}).get("file", "")))
        with Vertical(id="report-body"):
            with Horizontal(id="report-panels"):
                yield Static(summary_table(self.report["summary"]), id="report-summary", classes="panel")
                yield Static(run_table(self.report, self.paths, self.note), id="report-run", classes="panel")
            yield Static(self._hint(), id="report-hint")
            with Horizontal(id="report-filters"):
                yield Label("Show", classes="filter-label")
                yield Select(outcome_options, value=ALL, allow_blank=False, compact=True, id="filter-outcome")
                yield Select(status_options, value=ALL, allow_blank=False, compact=True, id="filter-status")
            yield DataTable(id="failed-users", cursor_type="row")
        yield Footer(compact=True)

    def _hint(self) -> Text:
        text = Text()
        if not self.failed:
            text.append("Every valid row was created or already on the server.", style="bold green")
        else:
            text.append(f"{plural(len(self.failed), 'row')} did not make it. ")
            if self.rerunnable:
                text.append(f"{format_count(self.rerunnable)} of them failed for a reason that may pass now: press r to send them again. ")
        text.append("Press e to export the report and the failed-user CSV.", style="dim")
        return text

    def on_mount(self) -> None:
        table = self.query_one("#failed-users", DataTable)
        for key, label, width in FAILED_COLUMNS:
            table.add_column(label, width=width, key=key)
        self.apply_filter(ALL, ALL)

    def apply_filter(self, outcome: str, status: str) -> None:
        """Refill the table with the users matching both filters (not a hot path: once per change)."""
        self.shown = filter_results(self.failed, outcome, status)
        table = self.query_one("#failed-users", DataTable)
        table.clear()
        for result in self.shown[:ROWS_SHOWN]:
            table.add_row(*result_cells(result), key=str(result.row))
        if len(self.shown) > ROWS_SHOWN:
            self.notify(f"Showing the first {format_count(ROWS_SHOWN)} of {format_count(len(self.shown))}; failed.csv has all.")

    def on_select_changed(self, event: Select.Changed) -> None:
        outcome = self.query_one("#filter-outcome", Select).value
        status = self.query_one("#filter-status", Select).value
        self.apply_filter(str(outcome), str(status))
