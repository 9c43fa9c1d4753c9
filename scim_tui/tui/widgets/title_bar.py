"""A one-line title bar: the program, the screen and what it is about."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class TitleBar(Static):
    """Shows "scim-tui", the screen's name and a subject such as the input file."""

    DEFAULT_CSS = """
    TitleBar {
        dock: top;
        height: 1;
        background: $panel;
        padding: 0 1;
    }
    """

    def __init__(self, screen_name: str, subject: str = "", **kwargs) -> None:
        super().__init__(self._title(screen_name, subject), **kwargs)
        self.screen_name = screen_name

    @staticmethod
    def _title(screen_name: str, subject: str) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("scim-tui", style="bold")
        text.append(f"  {screen_name}")
        if subject:
            text.append(f"  {subject}", style="dim")
        return text

    def set_subject(self, subject: str) -> None:
        self.update(self._title(self.screen_name, subject))
