"""The live table of batches: one row per batch, updated cell by cell.

Columns have fixed widths set once, so an update never measures text, and
only cells whose value changed since the last redraw are touched.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import DataTable

from scim_tui.engine.state import BatchStatus, BatchView
from scim_tui.tui.formatting import format_count, shorten

STATUS_STYLES = {
    BatchStatus.QUEUED: "dim",
    BatchStatus.RUNNING: "bold cyan",
    BatchStatus.DONE: "green",
    BatchStatus.PARTIAL: "yellow",
    BatchStatus.FAILED: "bold red",
}

#: (key, label, width) of each column; the widths fit 80 columns without the last error.
COLUMNS = (
    ("batch", "Batch", 6),
    ("users", "Users", 6),
    ("status", "Status", 8),
    ("created", "Created", 7),
    ("existed", "Existed", 7),
    ("failed", "Failed", 6),
    ("not_attempted", "Not sent", 8),
    ("retries", "Retries", 7),
    ("last_error", "Last error", 60),
)

ERROR_LIMIT = 200


def _number(value: int) -> Text:
    return Text(format_count(value), justify="right")


def batch_cells(view: BatchView) -> dict[str, Text]:
    """Render every cell of one batch row."""
    return {
        "batch": _number(view.number),
        "users": _number(view.users),
        "status": Text(str(view.status), style=STATUS_STYLES.get(view.status, "")),
        "created": _number(view.created),
        "existed": _number(view.existed),
        "failed": Text(format_count(view.failed), style="red" if view.failed else "", justify="right"),
        "not_attempted": _number(view.not_attempted),
        "retries": _number(view.retries),
        "last_error": Text(shorten(view.last_error, ERROR_LIMIT), style="red" if view.last_error else ""),
    }


_FIELDS_BY_COLUMN = {
    "batch": "number",
    "users": "users",
    "status": "status",
    "created": "created",
    "existed": "existed",
    "failed": "failed",
    "not_attempted": "not_attempted",
    "retries": "retries",
    "last_error": "last_error",
}


class BatchTable(DataTable):
    """One row per batch, keyed by batch number."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._views: dict[int, BatchView] = {}
        self.cells_updated = 0

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, width=width, key=key)

    def load(self, views: Iterable[BatchView]) -> None:
        """Add a row for every batch; called once, before the first update."""
        rows = []
        for view in views:
            self._views[view.number] = view
            cells = batch_cells(view)
            rows.append(([cells[key] for key, _, _ in COLUMNS], str(view.number)))
        for cells, key in rows:
            self.add_row(*cells, key=key)

    def apply(self, changed: Iterable[BatchView]) -> int:
        """Update the cells that differ from the last view of each changed batch; return the count."""
        updated = 0
        for view in changed:
            previous = self._views.get(view.number)
            if previous is None:
                continue
            self._views[view.number] = view
            cells = None
            for column, field in _FIELDS_BY_COLUMN.items():
                if getattr(previous, field) == getattr(view, field):
                    continue
                if cells is None:
                    cells = batch_cells(view)
                self.update_cell(str(view.number), column, cells[column])
                updated += 1
        self.cells_updated += updated
        return updated

    def view_of(self, number: int) -> BatchView | None:
        return self._views.get(number)
