"""The load screen: the input file being read, its problem rows, and the target it goes to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, ProgressBar, Static

from scim_tui.tui.formatting import format_bytes, format_count, shorten
from scim_tui.tui.widgets.title_bar import TitleBar

#: Problem rows shown in the table; the report lists all of them.
PROBLEMS_SHOWN = 1000

PROBLEM_COLUMNS = (
    ("row", "Row", 7),
    ("kind", "Kind", 9),
    ("field", "Field", 18),
    ("value", "Value", 24),
    ("reason", "Reason", 90),
)

KIND_STYLES = {"invalid": "red", "duplicate": "yellow", "warning": "dim"}


@dataclass(frozen=True)
class TargetInfo:
    """The target as the load screen shows it: its address and how the run will send."""

    url: str
    kind: str
    mode: str
    max_operations: int | None
    max_payload_size: int | None
    discovery_path: str | None


def _pair(grid: Table, label: str, value: str, style: str = "bold") -> None:
    grid.add_row(Text(label, style="dim"), Text(value, style=style))


def target_table(info: TargetInfo, concurrency: int) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    _pair(grid, "Target", info.url)
    _pair(grid, "Kind", info.kind)
    mode = "Bulk" if info.mode == "bulk" else "per-user (one request per user)"
    _pair(grid, "Mode", mode)
    if info.mode == "bulk":
        _pair(grid, "maxOperations", format_count(info.max_operations))
        _pair(grid, "maxPayloadSize", format_bytes(info.max_payload_size))
    _pair(grid, "Rate limit", "read from the server's first response", "")
    _pair(grid, "Concurrency", str(concurrency))
    if info.discovery_path is None:
        _pair(grid, "Discovery", "no ServiceProviderConfig answered; per-user mode", "yellow")
    return grid


def counts_table(reader) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right")
    _pair(grid, "Rows read", format_count(reader.rows_read))
    _pair(grid, "Valid", format_count(reader.valid), "bold green")
    _pair(grid, "Invalid", format_count(reader.invalid), "bold red" if reader.invalid else "bold")
    _pair(grid, "Duplicates", format_count(reader.duplicates), "bold yellow" if reader.duplicates else "bold")
    _pair(grid, "Warnings", format_count(getattr(reader, "warnings", 0)))
    return grid


def problem_cells(problem) -> list[Text]:
    """Render one RowProblem as table cells; every value is plain text from the file."""
    kind = str(problem.kind)
    reason = problem.reason if not problem.fix else f"{problem.reason}. Fix: {problem.fix}"
    return [
        Text(str(problem.row), justify="right"),
        Text(kind, style=KIND_STYLES.get(kind, "")),
        Text(shorten(problem.column, 60)),
        Text(shorten(problem.value, 200)),
        Text(shorten(reason, 400)),
    ]


class LoadScreen(Screen):
    """Shows reading progress, then the counts, the problem rows and the target."""

    BINDINGS = [Binding("n", "app.show_plan", "Plan", id="show_plan")]

    def __init__(self, path_label: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.path_label = path_label

    def compose(self) -> ComposeResult:
        yield TitleBar("Load", self.path_label)
        with Vertical(id="load-body"):
            with Horizontal(id="load-progress-row"):
                yield ProgressBar(total=None, show_eta=False, id="load-progress")
                yield Label("", id="load-bytes")
            with Horizontal(id="load-panels"):
                yield Static(Text("Waiting for the file…", style="dim"), id="load-counts", classes="panel")
                yield Static(Text("Contacting the target…", style="dim"), id="load-target", classes="panel")
            yield Static("", id="load-message")
            yield Label("Problem rows (not sent, or sent with a change)", id="problems-title")
            yield DataTable(id="problems", cursor_type="row")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#problems", DataTable)
        for key, label, width in PROBLEM_COLUMNS:
            table.add_column(label, width=width, key=key)

    def set_path(self, path_label: str) -> None:
        self.path_label = path_label
        self.query_one(TitleBar).set_subject(path_label)

    def show_progress(self, bytes_read: int, total_bytes: int | None, rows: int) -> None:
        bar = self.query_one("#load-progress", ProgressBar)
        if total_bytes:
            bar.update(total=total_bytes, progress=min(bytes_read, total_bytes))
        label = f"{format_bytes(bytes_read)} of {format_bytes(total_bytes)} read, {format_count(rows)} rows"
        self.query_one("#load-bytes", Label).update(Text(label))

    def show_target(self, info: TargetInfo, concurrency: int) -> None:
        self.query_one("#load-target", Static).update(target_table(info, concurrency))

    def show_loaded(
        self, reader, problems: Iterable, *, users: int, batches: int, dropped_extensions: dict[str, int] | None = None
    ) -> None:
        """Show the final counts and the problem rows of a file read to the end."""
        total = getattr(reader, "total_bytes", None) or getattr(reader, "bytes_read", 0) or 1
        self.query_one("#load-progress", ProgressBar).update(total=total, progress=total)
        self.query_one("#load-bytes", Label).update(
            Text(f"{format_bytes(getattr(reader, 'bytes_read', None))} read, {format_count(reader.rows_read)} rows")
        )
        self.query_one("#load-counts", Static).update(counts_table(reader))

        problems = list(problems)
        table = self.query_one("#problems", DataTable)
        table.clear()
        for index, problem in enumerate(problems[:PROBLEMS_SHOWN]):
            table.add_row(*problem_cells(problem), key=str(index))

        message = Text()
        message.append(f"{format_count(users)} users in {format_count(batches)} batches are ready. ", style="bold")
        message.append("Press n to review the plan, or s to start sending.")
        if len(problems) > PROBLEMS_SHOWN:
            message.append(f"\nThe table shows the first {format_count(PROBLEMS_SHOWN)} of {format_count(len(problems))} problems; the report lists all.")
        unknown = list(getattr(reader, "unknown_columns", []) or [])
        if unknown:
            message.append("\nColumns not sent (not recognised): ", style="yellow")
            message.append(", ".join(unknown))
        for urn, count in (dropped_extensions or {}).items():
            message.append("\nThe server does not accept ", style="yellow")
            message.append(urn)
            message.append(f"; its values are left out of {format_count(count)} users.", style="yellow")
        self.query_one("#load-message", Static).update(message)

    def show_error(self, message: str) -> None:
        # A determinate bar stops the indeterminate animation, which would otherwise run on.
        self.query_one("#load-progress", ProgressBar).update(total=1, progress=0)
        text = Text()
        text.append("Cannot continue: ", style="bold red")
        text.append(message)
        text.append("\nPress ctrl+q to quit.", style="dim")
        self.query_one("#load-message", Static).update(text)
