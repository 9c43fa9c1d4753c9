"""Choosing the input file when none was given on the command line."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Label, Static

INPUT_SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".ndjson", ".jsonl")


class InputFileTree(DirectoryTree):
    """A directory tree showing folders and the files the reader can read."""

    def filter_paths(self, paths):
        return [path for path in paths if path.is_dir() or path.suffix.lower() in INPUT_SUFFIXES]


class FilePickerScreen(ModalScreen[Path | None]):
    """Browse for the input file, or type its path."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, root: Path | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.root = root or Path.cwd()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="picker"):
            yield Label("Choose the file of users (CSV, JSON array or NDJSON)", classes="dialog-title")
            yield InputFileTree(self.root, id="picker-tree")
            yield Input(placeholder="or type a path and press enter", id="picker-path")
            yield Static("", id="picker-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Open", variant="primary", id="picker-open")
                yield Button("Cancel", id="picker-cancel")

    @on(DirectoryTree.FileSelected)
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.query_one("#picker-path", Input).value = str(event.path)
        self._choose(event.path)

    @on(Input.Submitted)
    def _typed(self, event: Input.Submitted) -> None:
        self._choose(Path(event.value.strip()).expanduser())

    @on(Button.Pressed, "#picker-open")
    def _open_pressed(self) -> None:
        self._choose(Path(self.query_one("#picker-path", Input).value.strip()).expanduser())

    def _choose(self, path: Path) -> None:
        if not path.is_file():
            self.query_one("#picker-error", Static).update(Text(f"{path} is not a file.", style="red"))
            return
        self.dismiss(path)

    @on(Button.Pressed, "#picker-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
