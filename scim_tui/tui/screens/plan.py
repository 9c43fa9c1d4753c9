"""The plan screen: the batches a run will send, with a dry run that writes them to a file."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from scim_tui.engine.plan import Plan
from scim_tui.tui.formatting import format_bytes, format_count
from scim_tui.tui.widgets.title_bar import TitleBar

BATCH_COLUMNS = (
    ("batch", "Batch", 6),
    ("users", "Users", 6),
    ("bytes", "Payload", 10),
    ("first", "First userName", 32),
    ("last", "Last userName", 32),
)


def plan_summary(plan: Plan, target_url: str, concurrency: int) -> Text:
    text = Text()
    if plan.mode == "bulk":
        text.append("Bulk mode", style="bold")
        text.append(f": one Bulk request of up to {plan.batch_size} operations per batch")
        if plan.max_payload_size:
            text.append(f" and under {format_bytes(plan.max_payload_size)}")
        text.append(".\n")
    else:
        text.append("Per-user mode", style="bold")
        text.append(f": one request per user; a batch of up to {plan.batch_size} users is a unit of progress.\n")
    text.append(f"{format_count(plan.total_users)} users in {format_count(len(plan.batches))} batches to ")
    text.append(target_url, style="bold")
    text.append(f", up to {concurrency} requests in flight.")
    return text


class PlanScreen(Screen):
    """Lists every batch: number, users, payload bytes, first and last userName."""

    BINDINGS = [
        Binding("d", "app.dry_run", "Dry run", id="dry_run"),
        Binding("b", "app.show_load", "Rows", id="show_load"),
    ]

    def __init__(self, plan: Plan, target_url: str, concurrency: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.target_url = target_url
        self.concurrency = concurrency

    def compose(self) -> ComposeResult:
        yield TitleBar("Plan", self.target_url)
        with Vertical(id="plan-body"):
            yield Static(plan_summary(self.plan, self.target_url, self.concurrency), id="plan-summary")
            yield Static(
                Text("Press s to start sending, d to write the requests to a file without sending, b to see the problem rows."),
                id="plan-hint",
            )
            yield DataTable(id="plan-batches", cursor_type="row")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#plan-batches", DataTable)
        for key, label, width in BATCH_COLUMNS:
            table.add_column(label, width=width, key=key)
        for batch in self.plan.batches:
            table.add_row(
                Text(format_count(batch.number), justify="right"),
                Text(format_count(len(batch.users)), justify="right"),
                Text(format_count(batch.payload_bytes), justify="right"),
                Text(batch.first_user),
                Text(batch.last_user),
                key=str(batch.number),
            )

    def show_concurrency(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self.query_one("#plan-summary", Static).update(plan_summary(self.plan, self.target_url, concurrency))
