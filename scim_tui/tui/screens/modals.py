"""Modal dialogs: set concurrency, confirm quitting a run in flight, choose a path, offer to resume.

Each is a ``ModalScreen[T]`` that dismisses with the operator's choice, or
with None when the operator cancels with escape.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.validation import Integer
from textual.widgets import Button, Checkbox, Input, Label, Static

from scim_tui.engine.settings import MAX_CONCURRENCY


class ConcurrencyScreen(ModalScreen[int | None]):
    """Asks for a new bound on requests in flight, 1 to MAX_CONCURRENCY."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Requests in flight at most (1 to {MAX_CONCURRENCY})", classes="dialog-title")
            yield Input(
                str(self.current),
                type="integer",
                validators=[Integer(minimum=1, maximum=MAX_CONCURRENCY)],
                id="concurrency-input",
            )
            yield Static("", id="concurrency-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Set", variant="primary", id="concurrency-set")
                yield Button("Cancel", id="concurrency-cancel")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.focus()
        field.select_all()

    def _submit(self) -> None:
        field = self.query_one(Input)
        result = field.validate(field.value)
        if result is not None and not result.is_valid:
            self.query_one("#concurrency-error", Static).update(
                Text(f"Enter a whole number from 1 to {MAX_CONCURRENCY}.", style="red")
            )
            return
        self.dismiss(int(field.value))

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._submit()

    @on(Button.Pressed, "#concurrency-set")
    def _set_pressed(self) -> None:
        self._submit()

    @on(Button.Pressed, "#concurrency-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmQuitScreen(ModalScreen[bool]):
    """Asks before quitting while requests are being sent."""

    BINDINGS = [
        Binding("y", "confirm", "Quit"),
        Binding("n,escape", "keep", "Keep running"),
    ]

    def __init__(self, in_flight: int, remaining: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.in_flight = in_flight
        self.remaining = remaining

    def compose(self) -> ComposeResult:
        message = Text()
        message.append("A run is in flight.\n", style="bold")
        message.append(
            f"Quitting cancels it: requests in flight ({self.in_flight}) finish, users not yet finished "
            f"({self.remaining:,}) are recorded as not attempted, and the report is written before the dashboard closes."
        )
        with Vertical(classes="dialog"):
            yield Static(message, classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel the run and quit (y)", variant="error", id="quit-confirm")
                yield Button("Keep running (n)", variant="primary", id="quit-keep")

    def on_mount(self) -> None:
        self.query_one("#quit-keep", Button).focus()

    @on(Button.Pressed, "#quit-confirm")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#quit-keep")
    def action_keep(self) -> None:
        self.dismiss(False)


class ResumeOfferScreen(ModalScreen[bool]):
    """Offers to continue an unfinished run of the same file instead of starting a new one."""

    BINDINGS = [
        Binding("y", "resume", "Resume"),
        Binding("n,escape", "new_run", "New run"),
    ]

    def __init__(self, journal_path: Path, finished: int, total: int, in_doubt: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.journal_path = journal_path
        self.finished = finished
        self.total = total
        self.in_doubt = in_doubt

    def compose(self) -> ComposeResult:
        message = Text()
        message.append("This file has an unfinished run.\n", style="bold")
        message.append(f"Journal {self.journal_path}: {self.finished:,} of {self.total:,} users finished")
        if self.in_doubt:
            message.append(f", {self.in_doubt:,} in flight when it stopped (looked up before anything is sent)")
        message.append(
            ".\nResuming skips finished users. A new run sends every user again; users already on the "
            "server then end as existed."
        )
        with Vertical(classes="dialog"):
            yield Static(message, classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Resume it (y)", variant="primary", id="resume-yes")
                yield Button("Start a new run (n)", id="resume-no")

    def on_mount(self) -> None:
        self.query_one("#resume-yes", Button).focus()

    @on(Button.Pressed, "#resume-yes")
    def action_resume(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#resume-no")
    def action_new_run(self) -> None:
        self.dismiss(False)


@dataclass(frozen=True)
class PathChoice:
    path: Path
    overwrite: bool


class PathScreen(ModalScreen[PathChoice | None]):
    """Asks for a file or directory path, with the choice to replace what is there."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, explanation: str, default: Path, *, confirm_label: str = "Write", **kwargs) -> None:
        super().__init__(**kwargs)
        self.title_text = title
        self.explanation = explanation
        self.default = default
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(Text(self.explanation), classes="dialog-text")
            yield Input(str(self.default), id="path-input")
            yield Checkbox("Replace files that exist", False, id="path-overwrite")
            yield Static("", id="path-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.confirm_label, variant="primary", id="path-confirm")
                yield Button("Cancel", id="path-cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _submit(self) -> None:
        value = self.query_one(Input).value.strip()
        if not value:
            self.query_one("#path-error", Static).update(Text("Enter a path.", style="red"))
            return
        path = Path(value).expanduser()
        self.dismiss(PathChoice(path=path, overwrite=self.query_one(Checkbox).value))

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._submit()

    @on(Button.Pressed, "#path-confirm")
    def _confirm_pressed(self) -> None:
        self._submit()

    @on(Button.Pressed, "#path-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
