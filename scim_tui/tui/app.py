"""The Textual dashboard: a thin front end that takes the headless command's steps with a screen.

The steps are those of ``scim_tui.headless.run_job``: open the target,
discover what it supports, read and plan the file, write the journal, run the
plan, write the reports. The app keeps the state between steps and decides
which keys can act; the screens only show what they are given.

Threads and tasks: discovery and the run are async workers on the app's
event loop (the run in the exclusive worker group ``run``). Reading the
file, writing the journal, the reports, exports and the dry run block, so
they go to threads. The engine never calls into Textual: the run screen reads
the run's snapshot on a timer.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
import logging
from pathlib import Path
from typing import Any

import httpx
from textual import work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from scim_tui.engine import events as ev
from scim_tui.engine.discovery import DiscoveryError, ServerCapabilities, discover
from scim_tui.engine.job import LoadedInput, TargetSpec, choose_mode, compose_report, default_report_dir, display_names_of, open_target
from scim_tui.engine.outcomes import FINAL_SUCCESS, UserResult
from scim_tui.engine.run import ProvisioningRun, RunResult
from scim_tui.engine.settings import MAX_CONCURRENCY, RunSettings
from scim_tui.engine.transport import build_client
from scim_tui.exit_codes import ExitCode
from scim_tui.files import FileExistsWithoutOverwrite
from scim_tui.headless import exit_code_for
from scim_tui.report import ReportInconsistent, ReportPaths, write_report_files
from scim_tui.targets.base import CredentialsRejected, Target
from scim_tui.tui.commands import DashboardCommands
from scim_tui.tui.dryrun import write_dry_run
from scim_tui.tui.loading import LoadCancelled, LoadWatch, load_observed
from scim_tui.tui.screens.file_picker import FilePickerScreen
from scim_tui.tui.screens.load import LoadScreen, TargetInfo
from scim_tui.tui.screens.modals import ConcurrencyScreen, ConfirmQuitScreen, PathChoice, PathScreen, ResumeOfferScreen
from scim_tui.tui.screens.plan import PlanScreen
from scim_tui.tui.screens.report import ReportScreen
from scim_tui.tui.screens.run import REDRAW_INTERVAL, RunScreen

log = logging.getLogger(__name__)

#: Seconds between updates of the load progress while the file is read.
LOAD_POLL_INTERVAL = 0.25


class Stage(StrEnum):
    """Where the dashboard is in the job; it decides which keys can act."""

    CHOOSING = "choosing"
    LOADING = "loading"
    READY = "ready"
    STARTING = "starting"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


@dataclass
class JobOptions:
    """The command line's options for one job: the same fields as the headless job."""

    input_path: Path | None
    target_spec: TargetSpec
    settings: RunSettings
    input_options: Any = None
    report_dir: Path | None = None
    journal_path: Path | None = None
    start: bool = False
    overwrite: bool = False
    offer_resume: bool = True
    """Look for an unfinished journal of the same file and offer to continue it."""


@dataclass
class RunJob:
    """One run with everything its report needs; the journal is closed when the run ends."""

    run: ProvisioningRun
    loaded: LoadedInput
    target: Target
    settings: RunSettings
    report_dir: Path
    overwrite: bool
    journal: Any = None

    def journal_path_text(self) -> str:
        return str(getattr(self.journal, "path", "(none)"))


@dataclass
class FinishedRun:
    """A run's report as written, with the per-row results the report screen lists."""

    result: RunResult | None
    report: dict[str, Any]
    results: list[UserResult]
    display_names: dict[int, str]
    paths: ReportPaths | None
    report_dir: Path
    error: str | None = None


class ScimTuiApp(App[int]):
    """The dashboard.

    ``begin=False`` builds it without starting the job, for tests that put
    data on single screens. With ``prepared`` (a resume or re-run from
    ``scim_tui.resume``) it starts sending at once.
    """

    # Absolute, so that subclasses defined elsewhere (tests, benchmarks) find it too.
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "scim-tui"
    COMMANDS = App.COMMANDS | {DashboardCommands}

    BINDINGS = [
        Binding("s", "start", "Start", id="start"),
        Binding("p", "pause", "Pause", id="pause"),
        Binding("p", "resume", "Resume", id="resume"),
        Binding("plus", "concurrency_up", "More", key_display="+", id="concurrency_up"),
        Binding("minus", "concurrency_down", "Fewer", key_display="-", id="concurrency_down"),
        Binding("c", "set_concurrency", "Concurrency", id="set_concurrency"),
        Binding("e", "export", "Export", id="export"),
        Binding("ctrl+q", "quit", "Quit", priority=True, id="quit"),
    ]

    stage: reactive[Stage] = reactive(Stage.CHOOSING, bindings=True)

    def __init__(
        self,
        options: JobOptions,
        *,
        begin: bool = True,
        prepared: Any = None,
        redraw_interval: float | None = REDRAW_INTERVAL,
    ) -> None:
        super().__init__()
        self.options = options
        self.begin = begin
        self.prepared = prepared
        self.redraw_interval = redraw_interval

        self.target: Target | None = None
        self.client: httpx.AsyncClient | None = None
        self.capabilities: ServerCapabilities | None = None
        self.loaded: LoadedInput | None = None
        self.load_watch = LoadWatch()
        self.job: RunJob | None = None
        self.finished: FinishedRun | None = None
        self.notices: deque[ev.Event] = deque(maxlen=1000)
        self.exit_code: int = ExitCode.INTERRUPTED
        self.quit_after_run = False
        self.dry_run_busy = False
        self.reruns = 0
        self._load_timer: Timer | None = None

    @property
    def current_run(self) -> ProvisioningRun | None:
        return self.job.run if self.job is not None else None

    @property
    def settings(self) -> RunSettings:
        return self.options.settings

    # ------------------------------------------------------------------ start-up

    def on_mount(self) -> None:
        path = self.options.input_path
        self.install_screen(LoadScreen(str(path) if path else "(none chosen yet)"), "load")
        self.push_screen("load")
        if not self.begin:
            return
        if self.prepared is not None:
            self._begin_prepared()
        elif path is None:
            self.push_screen(FilePickerScreen(), self._file_chosen)
        else:
            self._prepare_or_offer_resume()

    def _file_chosen(self, path: Path | None) -> None:
        if path is None:
            self.exit(ExitCode.USAGE, return_code=ExitCode.USAGE)
            return
        self.options.input_path = path
        self.load_screen.set_path(str(path))
        self._prepare_or_offer_resume()

    def _prepare_or_offer_resume(self) -> None:
        """Offer an unfinished journal of this file when there is one, else load the file."""
        from scim_tui.journal import JournalError, find_unfinished_journal, read_journal_summary

        journal_path = None
        if self.options.offer_resume and self.options.input_path is not None:
            report_base = self.options.report_dir.parent if self.options.report_dir else Path("reports")
            journal_path = find_unfinished_journal(self.options.input_path, report_base)
        if journal_path is None:
            self.prepare()
            return
        try:
            summary = read_journal_summary(journal_path)
        except JournalError as error:
            log.warning("cannot read the unfinished journal %s: %s", journal_path, error)
            self.prepare()
            return
        offer = ResumeOfferScreen(journal_path, summary.finished, summary.total_users, summary.in_doubt)
        self.push_screen(offer, lambda resume: self._resume_chosen(journal_path, resume))

    def _resume_chosen(self, journal_path: Path, resume: bool | None) -> None:
        if resume:
            self.resume_journal(journal_path)
        else:
            self.prepare()

    @work(exclusive=True, group="load", exit_on_error=False)
    async def resume_journal(self, journal_path: Path) -> None:
        """Open the journal as ``scim-tui resume`` does, then start sending at once."""
        from scim_tui.config import ConfigError
        from scim_tui.journal import JournalError
        from scim_tui.resume import open_resume

        self.stage = Stage.LOADING
        spec = self.options.target_spec
        try:
            prepared = await asyncio.to_thread(
                open_resume,
                journal_path,
                allow_insecure_http=spec.allow_insecure_http,
                concurrency=self.settings.concurrency,
                environ=spec.environ,
            )
        except (JournalError, ConfigError) as error:
            self._fail(f"the journal {journal_path} cannot be resumed: {error}", ExitCode.USAGE)
            return
        self.prepared = prepared
        self._begin_prepared()

    @property
    def load_screen(self) -> LoadScreen:
        return self.get_screen("load")  # type: ignore[return-value]

    def _fail(self, message: str, code: int) -> None:
        log.error("dashboard stopped before the run: %s", message)
        self.exit_code = code
        self.stage = Stage.FAILED
        self.load_screen.show_error(message)

    @work(exclusive=True, group="load", exit_on_error=False)
    async def prepare(self) -> None:
        """Open the target, discover it, then read and plan the file in a thread."""
        from scim_tui.config import ConfigError
        from scim_tui.input import InputFileError
        from scim_tui.targets.oauth import TokenRequestFailed

        self.stage = Stage.LOADING
        try:
            target = open_target(self.options.target_spec)
        except ConfigError as error:
            self._fail(str(error), ExitCode.USAGE)
            return
        if hasattr(target, "on_refresh"):
            # The run takes this hook over when it starts; until then the first
            # token, fetched for discovery, goes to the event log through here.
            target.on_refresh = self._token_refreshed
        self.target = target
        self.client = build_client(self.settings)

        try:
            capabilities = await discover(self.client, target)
        except (DiscoveryError, CredentialsRejected, TokenRequestFailed, httpx.HTTPError) as error:
            self._fail(f"the target {target.base_url} could not be used: {error}", ExitCode.TARGET_ERROR)
            return
        self.capabilities = capabilities
        mode = choose_mode(capabilities, self.settings)
        info = TargetInfo(
            url=target.base_url,
            kind=target.kind,
            mode=mode,
            max_operations=capabilities.max_operations,
            max_payload_size=capabilities.max_payload_size,
            discovery_path=capabilities.config_path,
        )
        self.load_screen.show_target(info, self.settings.concurrency)

        self._load_timer = self.set_interval(LOAD_POLL_INTERVAL, self._show_load_progress)
        try:
            loaded = await asyncio.to_thread(
                load_observed,
                self.options.input_path,
                self.load_watch,
                mode=mode,
                batch_size=self.settings.batch_size,
                max_operations=capabilities.max_operations,
                max_payload_size=capabilities.max_payload_size,
                input_options=self.options.input_options,
                user_extensions=capabilities.user_extensions,
            )
        except LoadCancelled:
            return
        except (InputFileError, OSError, ValueError) as error:
            self._fail(str(error), ExitCode.USAGE)
            return
        finally:
            self._load_timer.stop()

        self.loaded = loaded
        self.load_screen.show_loaded(
            loaded.reader,
            loaded.reader.problems,
            users=loaded.plan.total_users,
            batches=len(loaded.plan.batches),
            dropped_extensions=loaded.dropped_extensions,
        )
        self.install_screen(PlanScreen(loaded.plan, target.base_url, self.settings.concurrency), "plan")
        self.stage = Stage.READY
        if self.options.start:
            self.action_start()

    def _show_load_progress(self) -> None:
        done, total = self.load_watch.progress()
        self.load_screen.show_progress(done, total, self.load_watch.rows())

    def _token_refreshed(self, reason: str, expires_in: float | None) -> None:
        self.notices.append(ev.CredentialsRefreshed(reason=reason, expires_in=expires_in))

    def _begin_prepared(self) -> None:
        """Start a resume or re-run that ``scim_tui.resume`` prepared: its journal is already open."""
        prepared = self.prepared
        self.loaded = prepared.loaded
        self.target = prepared.target
        self.options.settings = prepared.settings
        self.client = build_client(prepared.settings)
        self.notices.append(ev.RunMessage(level="notice", text=prepared.description))
        self._begin(self._job_from_prepared(prepared))

    def _job_from_prepared(self, prepared: Any) -> RunJob:
        return RunJob(
            run=prepared.new_run(client=self.client),
            loaded=prepared.loaded,
            target=prepared.target,
            settings=prepared.settings,
            report_dir=prepared.report_dir,
            overwrite=prepared.overwrite_report,
            journal=prepared.journal,
        )

    # ------------------------------------------------------------------- screens

    def show_main(self, screen: Screen | str) -> None:
        """Replace the main screen, closing any dialog open above it first."""
        while len(self.screen_stack) > 2 and isinstance(self.screen, ModalScreen):
            self.pop_screen()
        self.switch_screen(screen)

    def action_show_plan(self) -> None:
        if self.stage is Stage.READY:
            self.show_main("plan")

    def action_show_load(self) -> None:
        if self.stage is Stage.READY:
            self.show_main("load")

    @property
    def run_screen(self) -> RunScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, RunScreen):
                return screen
        return None

    def _redraw_run(self) -> None:
        screen = self.run_screen
        if screen is not None and screen.is_mounted:
            screen.refresh_view()

    # ------------------------------------------------------------- key actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enable each key only where it can act; a key that cannot act stays in the Footer, dimmed."""
        run = self.current_run
        running = self.stage is Stage.RUNNING and run is not None and not self.quit_after_run
        if action == "start":
            return True if self.stage is Stage.READY else None
        if action == "pause":
            if running and run.paused:
                return False
            return True if running else None
        if action == "resume":
            return True if running and run.paused else False
        if action in ("concurrency_up", "concurrency_down", "set_concurrency"):
            if not (running or self.stage is Stage.READY):
                return None
            current = self._concurrency()
            if action == "concurrency_up" and current >= MAX_CONCURRENCY:
                return None
            if action == "concurrency_down" and current <= 1:
                return None
            return True
        if action == "export":
            return True if self.stage is Stage.FINISHED and self.finished is not None else None
        if action == "dry_run":
            return True if self.stage is Stage.READY and not self.dry_run_busy else None
        if action == "rerun":
            return True if self.stage is Stage.FINISHED and self.rerunnable() else None
        if action in ("show_plan", "show_load"):
            return True if self.stage is Stage.READY else None
        return True

    def explain_unavailable(self, action: str) -> None:
        """Say why a command from the palette cannot act now."""
        reasons = {
            "start": "Start is available once the plan is ready, before a run.",
            "pause": "Pause is available while a run is sending.",
            "resume": "Resume is available while a run is paused.",
            "concurrency_up": f"Concurrency can change before or during a run, up to {MAX_CONCURRENCY}.",
            "concurrency_down": "Concurrency can change before or during a run, down to 1.",
            "set_concurrency": "Concurrency can change before or during a run.",
            "export": "Export is available when the run has finished.",
            "dry_run": "A dry run is available once the plan is ready, one at a time.",
            "rerun": "Re-run is available after a run whose report lists users that failed for a retriable reason.",
            "show_plan": "The plan is shown once the file is read, before the run.",
            "show_load": "The problem rows are shown once the file is read, before the run.",
        }
        self.notify(reasons.get(action, "Not available now."), severity="warning")

    def _concurrency(self) -> int:
        # The run's settings, not its snapshot: check_action calls this often,
        # and each snapshot adds a throughput sample.
        if self.current_run is not None and self.stage is Stage.RUNNING:
            return self.current_run.settings.concurrency
        return self.settings.concurrency

    def action_start(self) -> None:
        if self.stage is Stage.READY and self.loaded is not None:
            self.stage = Stage.STARTING
            self.start_job()

    @work(exclusive=True, group="prepare", exit_on_error=False)
    async def start_job(self) -> None:
        """Write the journal in a thread, as the headless command does, then start the run."""
        from scim_tui.journal import Journal, JournalError, default_journal_path

        report_dir = self.options.report_dir or default_report_dir(self.options.input_path)
        journal_path = self.options.journal_path or default_journal_path(report_dir)
        try:
            journal = await asyncio.to_thread(
                Journal.create, journal_path, self.loaded, self.target, self.settings,
                report_dir=report_dir, overwrite=self.options.overwrite,
            )
        except (JournalError, FileExistsWithoutOverwrite, OSError) as error:
            log.error("run not started: %s", error)
            self.notify(f"The run did not start: {error}", severity="error", timeout=15)
            self.stage = Stage.READY
            return
        self.notices.append(ev.RunMessage(level="notice", text=f"journal {journal_path}; resume with: scim-tui resume {journal_path}"))
        run = ProvisioningRun(self.loaded.plan, self.target, self.settings, client=self.client, recorder=journal)
        self._begin(RunJob(run, self.loaded, self.target, self.settings, report_dir, self.options.overwrite, journal))

    def _begin(self, job: RunJob) -> None:
        self.job = job
        self.stage = Stage.RUNNING
        # The worker starts before the screen's first snapshot, so the users a
        # resumed run already finished never count as throughput.
        self.drive_run(job)
        subject = f"{job.loaded.path.name} to {job.target.base_url}"
        self.show_main(RunScreen(job.run, notices=self.notices, interval=self.redraw_interval, subject=subject))

    def action_pause(self) -> None:
        if self.check_action("pause", ()) is True:
            self.current_run.pause()
            # The redraw notices the new phase and refreshes the Footer.
            self._redraw_run()

    def action_resume(self) -> None:
        if self.check_action("resume", ()) is True:
            self.current_run.resume()
            self._redraw_run()

    def action_concurrency_up(self) -> None:
        if self.check_action("concurrency_up", ()) is True:
            self.change_concurrency(self._concurrency() + 1)

    def action_concurrency_down(self) -> None:
        if self.check_action("concurrency_down", ()) is True:
            self.change_concurrency(self._concurrency() - 1)

    def action_set_concurrency(self) -> None:
        if self.check_action("set_concurrency", ()) is True:
            self.push_screen(ConcurrencyScreen(self._concurrency()), self._concurrency_chosen)

    def _concurrency_chosen(self, value: int | None) -> None:
        if value is not None:
            self.change_concurrency(value)

    def change_concurrency(self, value: int) -> None:
        """Apply a new bound on requests in flight: to the run in flight, or to the run about to start."""
        value = min(MAX_CONCURRENCY, max(1, value))
        keys_before = self._concurrency_keys()
        if self.stage is Stage.RUNNING and self.current_run is not None:
            self.current_run.set_concurrency(value)
            self._redraw_run()
        elif self.stage is Stage.READY:
            self.settings.concurrency = value
            if self.is_screen_installed("plan"):
                self.get_screen("plan").show_concurrency(value)  # type: ignore[attr-defined]
            self.notify(f"The run will send up to {value} requests at once.")
        # Refreshing the Footer rebuilds it, so only when a key turns on or off (at 1 and at the maximum).
        if self._concurrency_keys() != keys_before:
            self.refresh_bindings()

    def _concurrency_keys(self) -> tuple[bool | None, bool | None]:
        return self.check_action("concurrency_up", ()), self.check_action("concurrency_down", ())

    async def action_quit(self) -> None:
        if self.stage is Stage.RUNNING and self.current_run is not None:
            if self.quit_after_run:
                self.notify("Already cancelling: the dashboard closes once the report is written.")
                return
            snapshot = self.current_run.snapshot()
            remaining = snapshot.total_users - snapshot.finished_users
            self.push_screen(ConfirmQuitScreen(snapshot.in_flight, remaining), self._quit_confirmed)
            return
        if self.stage is Stage.STARTING:
            self.notify("The journal is being written; quit again once the run has started.", severity="warning")
            return
        self.load_watch.stop.set()
        self.exit(self.exit_code, return_code=self.exit_code)

    def _quit_confirmed(self, confirmed: bool | None) -> None:
        if not confirmed or self.current_run is None or self.stage is not Stage.RUNNING:
            return
        self.quit_after_run = True
        self.current_run.cancel("the operator quit the dashboard")
        self.notify("Cancelling: requests in flight finish, then the report is written and the dashboard closes.")
        self._redraw_run()
        self.refresh_bindings()

    # ------------------------------------------------------------------ the run

    @work(exclusive=True, group="run", exit_on_error=False)
    async def drive_run(self, job: RunJob) -> None:
        """Await the run, then write its report and show it; a confirmed quit exits afterwards."""
        result: RunResult | None = None
        failure: str | None = None
        try:
            result = await job.run.run()
        except Exception as error:
            # A defect in the engine: the report is still written, with every
            # user not attempted, so the operator learns what is known.
            log.exception("the run stopped on an unexpected error")
            failure = f"the run stopped on an unexpected error: {type(error).__name__}: {error}"
        finally:
            if job.journal is not None:
                await asyncio.to_thread(job.journal.close)

        self._redraw_run()
        try:
            finished = await asyncio.to_thread(self._write_report, job, result, failure)
        except ReportInconsistent as error:
            # A defect: the outcomes do not cover the rows. An error message is
            # better than a report that does not add up, and the journal keeps every outcome.
            log.exception("the report could not be composed")
            self._report_failed(f"The report could not be composed: {error}. The journal {job.journal_path_text()} holds the outcomes.")
            return
        self.finished = finished
        self.exit_code = exit_code_for(finished.report["summary"], result)
        if self.quit_after_run:
            # Quitting during a run is the dashboard's ctrl+c: the exit code says so, as the headless command's does.
            self.exit_code = ExitCode.INTERRUPTED
        if finished.error:
            self.notify(finished.error, severity="error", timeout=15)

        self.stage = Stage.FINISHED
        if self.quit_after_run:
            self.exit(self.exit_code, return_code=self.exit_code)
            return
        screen = ReportScreen(
            finished.report,
            finished.results,
            finished.paths,
            rerunnable=len(self.rerunnable()),
            note=failure or finished.error,
        )
        self.show_main(screen)

    def _report_failed(self, message: str) -> None:
        """End a run whose report cannot be shown: notify the reason, and exit if the operator confirmed a quit."""
        self.notify(message, severity="error", timeout=30)
        self.exit_code = ExitCode.USERS_FAILED
        self.stage = Stage.FAILED
        if self.quit_after_run:
            self.exit(self.exit_code, return_code=self.exit_code)

    def _write_report(self, job: RunJob, result: RunResult | None, failure: str | None) -> FinishedRun:
        """Compose the report and write report.json and failed.csv; blocking, run in a thread."""
        report, everything = compose_report(job.loaded, result, job.target, job.settings, stop_reason=failure)
        unsuccessful = {entry.row for entry in everything if entry.outcome not in FINAL_SUCCESS}
        names = display_names_of(job.loaded.plan, unsuccessful)
        finished = FinishedRun(result, report, everything, names, None, job.report_dir)
        try:
            finished.paths = write_report_files(report, everything, job.report_dir, overwrite=job.overwrite, display_names=names)
        except (OSError, FileExistsWithoutOverwrite, ReportInconsistent) as error:
            log.error("report not written to %s: %s", job.report_dir, error)
            finished.error = f"The report was not written to {job.report_dir}: {error}. Press e to export it elsewhere."
        return finished

    # --------------------------------------------------------- after the run

    def rerunnable(self) -> set[int]:
        """Return the rows of the last report that a re-run would send again."""
        from scim_tui.resume import rerun_rows

        if self.finished is None or self.finished.paths is None:
            return set()
        return rerun_rows({result.row: result for result in self.finished.results})

    def action_rerun(self) -> None:
        if self.check_action("rerun", ()) is True:
            self.stage = Stage.STARTING
            self.start_rerun()

    @work(exclusive=True, group="prepare", exit_on_error=False)
    async def start_rerun(self) -> None:
        """Prepare a re-run from the report just written, as ``scim-tui rerun REPORT`` does, and start it."""
        from scim_tui.config import ConfigError
        from scim_tui.input import InputFileError
        from scim_tui.journal import JournalError
        from scim_tui.resume import RerunError

        finished = self.finished
        self.reruns += 1
        report_dir = finished.report_dir.parent / f"{self._first_report_name()}-rerun-{self.reruns}"
        spec = self.options.target_spec
        try:
            prepared = await asyncio.to_thread(
                _prepare_rerun_blocking,
                finished.paths.report_json,
                input_options=self.options.input_options,
                allow_insecure_http=spec.allow_insecure_http,
                report_dir=report_dir,
                overwrite=self.options.overwrite,
                concurrency=self.settings.concurrency,
                environ=spec.environ,
            )
        except (
            RerunError, JournalError, ConfigError, InputFileError, FileExistsWithoutOverwrite,
            DiscoveryError, CredentialsRejected, httpx.HTTPError, OSError,
        ) as error:
            log.error("re-run not started: %s", error)
            self.notify(f"The re-run did not start: {error}", severity="error", timeout=15)
            self.stage = Stage.FINISHED
            return
        if prepared is None:
            self.notify("No user failed for a reason worth another try.")
            self.stage = Stage.FINISHED
            return
        self.notify(prepared.description)
        self.notices.append(ev.RunMessage(level="notice", text=prepared.description))
        self.target = prepared.target
        self.options.settings = prepared.settings
        self._begin(self._job_from_prepared(prepared))

    def _first_report_name(self) -> str:
        name = self.finished.report_dir.name
        return name.split("-rerun-")[0]

    def action_export(self) -> None:
        if self.check_action("export", ()) is not True:
            return
        default = Path.cwd() / f"{Path(self.options.input_path).stem}-export"
        self.push_screen(
            PathScreen(
                "Export the report",
                "report.json and failed.csv are written into this directory, readable by you only (mode 0600).",
                default,
                confirm_label="Export",
            ),
            self._export_chosen,
        )

    def _export_chosen(self, choice: PathChoice | None) -> None:
        if choice is not None:
            self.export_report(choice)

    @work(group="export", exit_on_error=False)
    async def export_report(self, choice: PathChoice) -> None:
        finished = self.finished
        try:
            paths = await asyncio.to_thread(
                write_report_files,
                finished.report,
                finished.results,
                choice.path,
                overwrite=choice.overwrite,
                display_names=finished.display_names,
            )
        except (OSError, FileExistsWithoutOverwrite) as error:
            log.error("export to %s failed: %s", choice.path, error)
            self.notify(f"Export failed: {error}", severity="error", timeout=15)
            return
        self.notify(f"Exported {paths.report_json} and {paths.failed_csv}.", timeout=8)

    def action_dry_run(self) -> None:
        if self.check_action("dry_run", ()) is not True:
            return
        default = Path.cwd() / f"{Path(self.options.input_path).stem}-dry-run.ndjson"
        self.push_screen(
            PathScreen(
                "Dry run: write the requests without sending them",
                "One JSON document per line for each request the run would send: method, URL, headers "
                "(the Authorization value omitted) and body. The file is readable by you only (mode 0600).",
                default,
                confirm_label="Write",
            ),
            self._dry_run_chosen,
        )

    def _dry_run_chosen(self, choice: PathChoice | None) -> None:
        if choice is not None:
            self.dry_run(choice)

    @work(group="dry-run", exit_on_error=False)
    async def dry_run(self, choice: PathChoice) -> None:
        self.dry_run_busy = True
        self.refresh_bindings()
        self.notify(f"Writing the dry run to {choice.path}…")
        try:
            summary = await asyncio.to_thread(
                write_dry_run, self.loaded.plan, self.target, self.settings, choice.path, overwrite=choice.overwrite
            )
        except (OSError, FileExistsWithoutOverwrite) as error:
            log.error("dry run to %s failed: %s", choice.path, error)
            self.notify(f"Dry run failed: {error}", severity="error", timeout=15)
            return
        finally:
            self.dry_run_busy = False
            self.refresh_bindings()
        self.notify(f"Dry run: {summary.requests:,} requests for {summary.users:,} users written to {summary.path}.", timeout=8)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Show the error of a worker that failed unexpectedly, so the dashboard does not wait on it silently."""
        if event.state is not WorkerState.ERROR:
            return
        worker = event.worker
        error = worker.error
        log.error("%s stopped on an unexpected error", worker.name, exc_info=error)
        message = f"{worker.name} stopped on an unexpected error: {type(error).__name__}: {error}"
        if worker.group == "load":
            self._fail(message, ExitCode.USAGE)
        elif worker.group == "prepare":
            self.notify(message, severity="error", timeout=30)
            self.stage = Stage.READY if self.finished is None else Stage.FINISHED
        elif worker.group == "run":
            self._report_failed(message)
        else:
            self.notify(message, severity="error", timeout=30)
            self.dry_run_busy = False
            self.refresh_bindings()

    async def on_unmount(self) -> None:
        self.load_watch.stop.set()
        if self.client is not None:
            await self.client.aclose()


def _prepare_rerun_blocking(report_json: Path, **options: Any) -> Any:
    """Run ``scim_tui.resume.prepare_rerun`` on an event loop of this thread: it reads the file and writes a journal."""
    from scim_tui.resume import prepare_rerun

    return asyncio.run(prepare_rerun(report_json, **options))


def launch(
    *,
    input_path: Path | None,
    target_spec: TargetSpec,
    settings: RunSettings,
    input_options: Any = None,
    report_dir: Path | None = None,
    journal_path: Path | None = None,
    start: bool = False,
    overwrite: bool = False,
    offer_resume: bool = True,
) -> int:
    """Run the dashboard until the operator quits; return the process exit code (as the headless command)."""
    options = JobOptions(
        offer_resume=offer_resume,
        input_path=Path(input_path) if input_path is not None else None,
        target_spec=target_spec,
        settings=settings,
        input_options=input_options,
        report_dir=report_dir,
        journal_path=journal_path,
        start=start,
        overwrite=overwrite,
    )
    return _run_app(ScimTuiApp(options))


def launch_prepared(prepared: Any) -> int:
    """Run the dashboard on a resume or re-run from ``scim_tui.resume``; it starts sending at once.

    The prepared run's journal is closed when the run ends, or here when the
    dashboard closes before the run started.
    """
    options = JobOptions(
        input_path=prepared.loaded.path,
        target_spec=TargetSpec(kind=prepared.target.kind, url=prepared.target.base_url),
        settings=prepared.settings,
        report_dir=prepared.report_dir,
        overwrite=prepared.overwrite_report,
    )
    try:
        return _run_app(ScimTuiApp(options, prepared=prepared))
    finally:
        prepared.close()


def _run_app(app: ScimTuiApp) -> int:
    result = app.run()
    if result is not None:
        return int(result)
    return app.return_code if app.return_code is not None else ExitCode.INTERRUPTED
