"""Plain-text formatting of the figures the dashboard shows.

Kept apart from the widgets so that the same wording appears on every screen
and can be tested without a terminal.
"""

from __future__ import annotations

from scim_tui.headless import format_duration

__all__ = ["format_bytes", "format_count", "format_duration", "format_rate", "plural", "shorten"]

_BYTE_UNITS = ("B", "KB", "MB", "GB", "TB")


def format_count(value: int | None) -> str:
    """Format a count with thousands separators, or a dash when unknown."""
    if value is None:
        return "-"
    return f"{value:,}"


def format_bytes(value: int | None) -> str:
    """Format a size in decimal units (1 KB = 1000 bytes), as file managers show it."""
    if value is None:
        return "-"
    size = float(value)
    for unit in _BYTE_UNITS:
        if size < 1000 or unit == _BYTE_UNITS[-1]:
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{value} B"


def format_rate(users_per_second: float) -> str:
    """Format a throughput with one decimal below 100 users/s and none above."""
    if users_per_second >= 100:
        return f"{users_per_second:,.0f}"
    return f"{users_per_second:.1f}"


def shorten(text: str | None, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters on one line, marking a cut with an ellipsis."""
    if not text:
        return ""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[: max(0, limit - 1)] + "…"


def plural(count: int, noun: str) -> str:
    """Return "1 row" or "2,000 rows": the count with the noun in the right number."""
    return f"{format_count(count)} {noun}" if count == 1 else f"{format_count(count)} {noun}s"
