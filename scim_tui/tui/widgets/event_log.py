"""The event log of the run screen, and the digest that keeps it readable.

A run can emit thousands of events a second. Progress events are left to the
batch table, and the rest are grouped per redraw by kind and reason. A kind
already written within the last ``window`` seconds is counted instead of
written, then summarised once the window has passed. Every line is a
``rich.text.Text`` built by appending plain strings, so an error detail from
a server (``[/]``, ``[bold]``) shows as those characters.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
import time

from rich.text import Text
from textual.widgets import RichLog

from scim_tui.engine import events as ev
from scim_tui.tui.formatting import format_count, shorten

#: Seconds during which a repeated kind of message is counted instead of written.
REPEAT_WINDOW = 10.0

#: Characters of a server's error detail shown in one log line.
DETAIL_LIMIT = 200

LEVEL_STYLES = {"error": "bold red", "warning": "yellow", "info": "", "notice": "cyan"}


@dataclass
class LogLine:
    """One line ready for the log: its grouping key (None never groups), level and text."""

    key: Hashable | None
    level: str
    text: str


def describe_event(event: ev.Event) -> LogLine | None:
    """Turn an engine event into a log line, or None for events the batch table already shows."""
    if isinstance(event, (ev.BatchStarted, ev.BatchProgress)):
        return None
    if isinstance(event, ev.BatchFinished):
        if event.status == "done":
            return None
        return LogLine(
            ("batch", event.status), "warning",
            f"batch {event.batch} {event.status}: {event.created} created, {event.existed} existed, {event.failed} failed",
        )
    if isinstance(event, ev.RequestRetried):
        who = event.user_name or f"batch {event.batch}"
        reason = shorten(event.reason, DETAIL_LIMIT)
        return LogLine(("retry", reason), "info", f"retry {who} in {event.delay:.1f} s (attempt {event.attempt}): {reason}")
    if isinstance(event, ev.UserFailed):
        detail = shorten(event.detail, DETAIL_LIMIT)
        status = event.status if event.status is not None else "no response"
        return LogLine(("failed", event.status, detail), "error", f"failed {event.user_name} (row {event.row}): {status} {detail}")
    if isinstance(event, ev.BackoffStarted):
        return LogLine(("backoff",), "warning", f"backoff: all sending waits {event.delay:.1f} s: {shorten(event.reason, DETAIL_LIMIT)}")
    if isinstance(event, ev.BackoffEnded):
        return LogLine(("backoff-ended",), "info", f"backoff ended after {event.waited:.1f} s")
    if isinstance(event, ev.ConcurrencyChanged):
        return LogLine(None, "notice", f"concurrency changed from {event.old} to {event.new}")
    if isinstance(event, ev.Paused):
        return LogLine(None, "warning", f"paused ({event.reason}): no new requests; requests in flight finish")
    if isinstance(event, ev.Resumed):
        return LogLine(None, "notice", "resumed")
    if isinstance(event, ev.CredentialsRefreshed):
        lifetime = f", valid for {event.expires_in:.0f} s" if event.expires_in else ""
        return LogLine(("token",), "info", f"new access token ({event.reason}){lifetime}")
    if isinstance(event, ev.BatchSplit):
        return LogLine(("split",), "warning", f"batch {event.batch}: Bulk request of {event.operations} operations too large (413), sent in two halves")
    if isinstance(event, ev.RunMessage):
        return LogLine(("message", event.text), event.level if event.level in LEVEL_STYLES else "info", event.text)
    if isinstance(event, ev.RunStarted):
        return LogLine(
            None, "notice",
            f"run started: {format_count(event.total_users)} users in {format_count(event.batches)} batches, "
            f"{event.mode} mode, concurrency {event.concurrency}",
        )
    if isinstance(event, ev.RunFinished):
        verb = "cancelled" if event.cancelled else "finished"
        return LogLine(
            None, "notice",
            f"run {verb} after {event.duration:.1f} s: {format_count(event.created)} created, {format_count(event.existed)} existed, "
            f"{format_count(event.failed)} failed, {format_count(event.not_attempted)} not attempted",
        )
    return LogLine((type(event).__name__,), "info", type(event).__name__)


@dataclass
class _Pending:
    last_written: float
    suppressed: int = 0
    sample: LogLine | None = None


class EventDigest:
    """Groups events into log lines and limits how often one kind of line is written."""

    def __init__(self, window: float = REPEAT_WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self._pending: dict[Hashable, _Pending] = {}

    def digest(self, events: Iterable[ev.Event]) -> list[tuple[float, LogLine]]:
        """Return (event time, line) pairs to write for ``events``, oldest first."""
        now = self.clock()
        groups: dict[Hashable, list] = {}
        order: list[tuple[float, Hashable | None, LogLine]] = []
        for event in events:
            line = describe_event(event)
            if line is None:
                continue
            if line.key is None:
                order.append((event.at, None, line))
                continue
            group = groups.get(line.key)
            if group is None:
                groups[line.key] = [event.at, line, 1]
                order.append((event.at, line.key, line))
            else:
                group[2] += 1

        written: list[tuple[float, LogLine]] = []
        for at, key, line in order:
            if key is None:
                written.append((at, line))
                continue
            count = groups[key][2]
            pending = self._pending.get(key)
            if pending is not None and now - pending.last_written < self.window:
                pending.suppressed += count
                pending.sample = line
                continue
            earlier = pending.suppressed if pending is not None else 0
            self._pending[key] = _Pending(last_written=now)
            written.append((at, _counted(line, count + earlier)))

        written.extend(self.flush(now))
        written.sort(key=lambda item: item[0])
        return written

    def flush(self, now: float | None = None) -> list[tuple[float, LogLine]]:
        """Return summaries of lines held back longer than the window, and forget them."""
        now = self.clock() if now is None else now
        summaries = []
        for key, pending in list(self._pending.items()):
            if now - pending.last_written < self.window:
                continue
            if pending.suppressed and pending.sample is not None:
                sample = pending.sample
                text = f"{format_count(pending.suppressed)} more in the last {self.window:.0f} s like: {sample.text}"
                summaries.append((now, LogLine(key, sample.level, text)))
                self._pending[key] = _Pending(last_written=now)
            else:
                del self._pending[key]
        return summaries


def _counted(line: LogLine, count: int) -> LogLine:
    if count <= 1:
        return line
    return LogLine(line.key, line.level, f"{format_count(count)}x {line.text}")


def wall_time(monotonic_at: float) -> str:
    """Format a ``time.monotonic()`` instant as local wall-clock time."""
    return time.strftime("%H:%M:%S", time.localtime(time.time() - (time.monotonic() - monotonic_at)))


class EventLog(RichLog):
    """The run's event log: retries, backoffs, token refreshes, concurrency changes and errors."""

    def __init__(self, *, timestamp: Callable[[float], str] = wall_time, max_lines: int = 2000, **kwargs) -> None:
        super().__init__(max_lines=max_lines, wrap=True, markup=False, highlight=False, **kwargs)
        self.timestamp = timestamp

    def write_line(self, at: float, line: LogLine) -> None:
        text = Text(no_wrap=False)
        text.append(self.timestamp(at), style="dim")
        text.append(" ")
        text.append(line.text, style=LEVEL_STYLES.get(line.level, ""))
        self.write(text)
