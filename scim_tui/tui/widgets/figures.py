"""The header figures of the run screen, rendered from one RunSnapshot."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from scim_tui.engine.state import RunPhase, RunSnapshot
from scim_tui.tui.formatting import format_count, format_duration, format_rate, shorten

PHASE_STYLES = {
    RunPhase.PLANNED: "dim",
    RunPhase.RUNNING: "bold green",
    RunPhase.PAUSED: "bold yellow",
    RunPhase.CANCELLING: "bold red",
    RunPhase.FINISHED: "bold",
}


def _figure(label: str, value: str, style: str = "") -> Text:
    text = Text()
    text.append(f"{label} ", style="dim")
    text.append(value, style=style or "bold")
    return text


def rate_limit_text(snapshot: RunSnapshot) -> str:
    """Return "remaining/allowed" of the server's rate-limit window, or "unknown" before any figure arrived."""
    if snapshot.rate_limit_allowed is None and snapshot.rate_limit_remaining is None:
        return "unknown"
    remaining = format_count(snapshot.rate_limit_remaining)
    allowed = format_count(snapshot.rate_limit_allowed)
    return f"{remaining}/{allowed}"


def figures_table(snapshot: RunSnapshot) -> Table:
    """Lay the figures out in a grid of four columns that wraps at narrow widths."""
    counts = snapshot.counts
    total = snapshot.total_users
    done = snapshot.finished_users
    backoff = f"{snapshot.backoff_remaining:.1f} s left" if snapshot.backoff_remaining > 0 else "none"
    failed = counts.get("failed", 0)

    grid = Table.grid(expand=True, padding=(0, 1))
    # The second column takes the longest figures; the ratios keep every
    # figure whole at 80 columns.
    for ratio in (3, 5, 4, 3):
        grid.add_column(ratio=ratio, no_wrap=True, overflow="ellipsis")
    grid.add_row(
        _figure("Phase", str(snapshot.phase).upper(), PHASE_STYLES.get(snapshot.phase, "")),
        _figure("Done", f"{format_count(done)} of {format_count(total)}"),
        _figure("Users/s", format_rate(snapshot.users_per_second)),
        _figure("ETA", format_duration(snapshot.eta_seconds)),
    )
    grid.add_row(
        _figure("In flight", format_count(snapshot.in_flight)),
        _figure("Concurrency", format_count(snapshot.concurrency)),
        _figure("Retry queue", format_count(snapshot.retry_queue_depth)),
        _figure("Elapsed", format_duration(snapshot.elapsed)),
    )
    grid.add_row(
        _figure("Created", format_count(counts.get("created", 0)), "bold green"),
        _figure("Existed", format_count(counts.get("existed", 0))),
        _figure("Failed", format_count(failed), "bold red" if failed else ""),
        _figure("Not sent", format_count(counts.get("not_attempted", 0))),
    )
    grid.add_row(
        _figure("429s", format_count(snapshot.throttled), "bold yellow" if snapshot.throttled else ""),
        _figure("Backoff", backoff, "bold yellow" if snapshot.backoff_remaining > 0 else ""),
        _figure("Rate limit", rate_limit_text(snapshot)),
        _figure("Requests", format_count(snapshot.requests_sent)),
    )
    return grid


def status_line(snapshot: RunSnapshot) -> Text:
    """Say in one line why the run is not sending, when it is not."""
    text = Text()
    if snapshot.phase is RunPhase.PAUSED:
        text.append("Paused", style="bold yellow")
        text.append(f" ({snapshot.pause_reason or 'operator'}): no new requests are sent; press p to resume.")
    elif snapshot.phase is RunPhase.CANCELLING:
        text.append("Cancelling", style="bold red")
        text.append(f": waiting for {snapshot.in_flight} requests in flight, then writing the report.")
    elif snapshot.backoff_remaining > 0:
        text.append("Backoff", style="bold yellow")
        text.append(f" {snapshot.backoff_remaining:.1f} s: {shorten(snapshot.backoff_reason, 160)}")
    elif snapshot.phase is RunPhase.FINISHED:
        text.append("Finished", style="bold")
        text.append(f" after {format_duration(snapshot.elapsed)}.")
    else:
        text.append("Sending", style="bold green")
        text.append(f" with up to {snapshot.concurrency} requests in flight.")
    return text


class RunFigures(Static):
    """Done of total, throughput, ETA, in flight, concurrency, retry queue, 429s, backoff and rate limit."""

    def show(self, snapshot: RunSnapshot) -> None:
        self.update(figures_table(snapshot), layout=False)
