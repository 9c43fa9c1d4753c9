"""Resume a stopped run from its journal, and re-run the users that failed in an earlier run.

Resume continues the same job: users with a final outcome are not sent again,
users whose create was in flight when the run stopped are looked up before
anything else is sent for them, and users never sent are sent. The report it
writes covers every row of the input, as if the run had never stopped.

Re-run starts a new job for the users of an earlier run that ended failed or
not attempted with a retriable error. Every other row keeps the outcome the
earlier run gave it, so the new report covers the whole input too. From a
journal the payloads come from the journal. From a report the input file is
read again, so it must be the file the report was written for.

Both prepare a :class:`PreparedRun`, which the headless front end here and
the dashboard drive in the same way.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, fields, replace
import json
import logging
from pathlib import Path
import sys
from typing import Any, TextIO

import httpx

from scim_tui.config import ConfigError, load_settings
from scim_tui.engine.discovery import DiscoveryError, discover
from scim_tui.engine.job import LoadedInput, choose_mode, default_report_dir, file_sha256, load_input, write_reports
from scim_tui.engine.outcomes import Outcome, UserResult
from scim_tui.engine.run import ProvisioningRun, RunResult
from scim_tui.engine.settings import RunSettings
from scim_tui.engine.transport import build_client
from scim_tui.exit_codes import ExitCode
from scim_tui.journal import (
    InputChanged,
    Journal,
    JournalError,
    default_journal_path,
)
from scim_tui.report import ReportPaths
from scim_tui.targets.base import Target

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"

RERUN_OUTCOMES = frozenset({Outcome.FAILED, Outcome.NOT_ATTEMPTED})


class RerunError(Exception):
    """A re-run cannot be prepared from the given report or journal. The message gives the cause and the fix."""


@dataclass
class PreparedRun:
    """Everything a front end needs to drive a resumed run or a re-run and to write its report.

    ``journal`` is open for writing and locked until :meth:`close`; the
    caller passes it to the run as its recorder through :meth:`new_run`.
    """

    journal: Journal
    loaded: LoadedInput
    target: Target
    settings: RunSettings
    finished: dict[int, UserResult]
    in_doubt: dict[int, float | None]
    report_dir: Path
    overwrite_report: bool
    description: str

    @property
    def remaining(self) -> int:
        """Valid users that this run sends or looks up."""
        return self.loaded.plan.total_users - len(self.finished)

    def new_run(self, *, client: httpx.AsyncClient | None = None) -> ProvisioningRun:
        return ProvisioningRun(
            self.loaded.plan,
            self.target,
            self.settings,
            client=client,
            recorder=self.journal,
            finished=self.finished,
            in_doubt=self.in_doubt,
        )

    def write_reports(self, result: RunResult | None, *, stop_reason: str | None = None) -> tuple[ReportPaths, dict[str, Any]]:
        return write_reports(
            self.loaded, result, self.target, self.settings, self.report_dir,
            overwrite=self.overwrite_report, stop_reason=stop_reason,
        )

    def close(self) -> None:
        self.journal.close()


# ------------------------------------------------------------------ targets


def reopen_target(description: dict[str, Any], *, allow_insecure_http: bool = False, environ: dict[str, str] | None = None) -> Target:
    """Build the target that ``description`` (a ``Target.describe()``) names, with credentials from the environment.

    For Genesys Cloud the API and login URLs come from the description unless
    the environment configures a region or an API URL. In that case the
    environment's target must be the recorded one, because resuming against
    another org would look users up in the wrong place. Raises ConfigError.
    """
    from scim_tui.targets.factory import generic_target_from_settings, genesys_target_from_settings
    from scim_tui.targets.genesys import SCIM_PATH, TOKEN_PATH

    kind = description.get("kind")
    base_url = description.get("base_url")
    if not isinstance(base_url, str) or not base_url:
        raise ConfigError("the journal or report names no target base URL, so the target cannot be opened again")
    settings = load_settings(environ, read_env_file=True)

    if kind == "generic":
        return generic_target_from_settings(base_url, settings, allow_insecure_http=allow_insecure_http)
    if kind != "genesys":
        raise ConfigError(f"the journal or report names an unknown target kind {kind!r}")

    token_url = description.get("token_url")
    if not isinstance(token_url, str) or not token_url.endswith(TOKEN_PATH) or not base_url.endswith(SCIM_PATH):
        raise ConfigError(f"the recorded Genesys target {base_url!r} has no usable token URL, so it cannot be opened again")
    recorded_api = base_url.removesuffix(SCIM_PATH)
    recorded_login = token_url.removesuffix(TOKEN_PATH)

    if settings.genesys_api_url is None and settings.genesys_region is None:
        settings = replace(settings, genesys_api_url=recorded_api, genesys_login_url=settings.genesys_login_url or recorded_login)
    target = genesys_target_from_settings(settings, allow_insecure_http=allow_insecure_http)

    opened = target.describe()
    if target.base_url != base_url or opened.get("token_url") != token_url:
        raise ConfigError(
            f"the run was sent to {base_url} (token URL {token_url}), but the environment configures "
            f"{target.base_url} (token URL {opened.get('token_url')}). Unset GENESYS_REGION, GENESYS_API_URL and "
            f"GENESYS_LOGIN_URL to use the recorded target, or set them to match it"
        )
    return target


def _settings_from(recorded: dict[str, Any], concurrency: int | None) -> RunSettings:
    known = {item.name for item in fields(RunSettings)}
    settings = RunSettings(**{key: value for key, value in recorded.items() if key in known})
    if concurrency is not None:
        settings.concurrency = concurrency
    return settings


# ------------------------------------------------------------------- resume


def check_input_unchanged(input_path: Path, recorded_sha256: str) -> None:
    """Raise InputChanged when ``input_path`` is missing or its SHA-256 is not ``recorded_sha256``."""
    current = file_sha256(input_path) if input_path.is_file() else None
    if current != recorded_sha256:
        raise InputChanged(input_path, recorded_sha256, current)


def open_resume(
    journal_path: Path,
    *,
    accept_changed_input: bool = False,
    allow_insecure_http: bool = False,
    report_dir: Path | None = None,
    overwrite: bool = False,
    concurrency: int | None = None,
    environ: dict[str, str] | None = None,
) -> PreparedRun:
    """Open a journal to continue its run. Raises JournalError, InputChanged, JournalInUse or ConfigError.

    The report goes to the run's own report directory unless ``report_dir``
    is given, and it replaces the report an interrupted session wrote there:
    both describe the same job, and the new one is more complete.
    """
    journal = Journal.open(journal_path, kind="resume")
    try:
        meta = journal.meta()
        input_path = Path(meta["input_path"])
        try:
            check_input_unchanged(input_path, meta["input_sha256"])
        except InputChanged:
            if not accept_changed_input:
                raise
            log.warning("input file %s changed since the journal was written; resuming with the journal's payloads", input_path)

        target = reopen_target(meta["target"], allow_insecure_http=allow_insecure_http, environ=environ)
        settings = _settings_from(meta["settings"], concurrency)
        loaded = journal.load_input()
        finished = journal.finished_results()
        in_doubt = journal.in_doubt()

        own_report_dir = Path(meta["report_dir"])
        chosen_dir = report_dir or own_report_dir
        overwrite_report = overwrite or Path(chosen_dir).absolute() == own_report_dir.absolute()
    except BaseException:
        journal.close()
        raise

    log.info(
        "resuming %s: %d of %d users finished, %d in doubt (looked up first), %d never sent",
        journal.path, len(finished), loaded.plan.total_users, len(in_doubt),
        loaded.plan.total_users - len(finished) - len(in_doubt),
    )
    return PreparedRun(
        journal=journal,
        loaded=loaded,
        target=target,
        settings=settings,
        finished=finished,
        in_doubt=in_doubt,
        report_dir=Path(chosen_dir),
        overwrite_report=overwrite_report,
        description=(
            f"resume of {journal.path}: {len(finished)} of {loaded.plan.total_users} users already finished, "
            f"{len(in_doubt)} to look up first"
        ),
    )


# -------------------------------------------------------------------- rerun


def is_journal_file(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def rerun_rows(results: dict[int, UserResult]) -> set[int]:
    """Return the rows that ended failed or not attempted with an error worth another try."""
    return {row for row, result in results.items() if result.outcome in RERUN_OUTCOMES and result.retriable}


def result_from_report_entry(entry: dict[str, Any]) -> UserResult:
    """Rebuild a UserResult from one entry of report.json's ``users`` list."""
    outcome = Outcome(entry["outcome"])
    return UserResult(
        row=int(entry["row"]),
        user_name=entry.get("userName"),
        outcome=outcome,
        resource_id=entry.get("id"),
        status=entry.get("httpStatus"),
        scim_type=entry.get("scimType"),
        detail=entry.get("detail"),
        attempts=int(entry.get("attempts") or 0),
        retriable=bool(entry.get("retriable", False)),
    )


@dataclass
class _RerunSource:
    loaded: LoadedInput
    target: Target
    settings: RunSettings
    earlier: dict[int, UserResult]
    """The earlier outcome of every valid row; a row never finished counts as not_attempted."""

    first_sent: dict[int, float]
    source_journal: Journal | None = None


def _earlier_from_journal(journal: Journal) -> tuple[LoadedInput, dict[int, UserResult], dict[int, float]]:
    loaded = journal.load_input()
    last = journal.last_results()
    finished = journal.finished_results()
    unfinished = sum(1 for user in loaded.plan.users() if user.row not in finished)
    if unfinished:
        # A rerun would send these in a new job while the journal still lists
        # them as pending, so a later resume of the journal would send them again.
        raise RerunError(
            f"{unfinished} users of this journal never finished; continue the run with "
            f"'scim-tui resume {journal.path}' instead, then rerun its failed users"
        )
    earlier: dict[int, UserResult] = {}
    for user in loaded.plan.users():
        if user.row in finished:
            earlier[user.row] = finished[user.row]
            continue
        previous = last.get(user.row)
        earlier[user.row] = UserResult(
            row=user.row,
            user_name=user.user_name,
            outcome=Outcome.NOT_ATTEMPTED,
            detail=previous.detail if previous is not None else "the run stopped before this user was sent",
            attempts=previous.attempts if previous is not None else 0,
            retriable=True,
        )
    return loaded, earlier, journal.first_sent()


async def _load_from_report(
    report: dict[str, Any], report_path: Path, target: Target, settings: RunSettings, client: httpx.AsyncClient, input_options: Any
) -> LoadedInput:
    info = report.get("input") or {}
    input_path = Path(info.get("file") or "")
    recorded_sha = info.get("sha256")
    if not input_path.is_file():
        raise RerunError(
            f"the input file {input_path} named in {report_path} is not found; re-run from the run's journal "
            "instead, which holds every payload"
        )
    current = await asyncio.to_thread(file_sha256, input_path)
    if current != recorded_sha:
        raise RerunError(
            f"the input file {input_path} changed since {report_path} was written: the report was written for "
            f"SHA-256 {recorded_sha}, and the file now has SHA-256 {current}. Rows may have moved, so the report "
            "cannot select them; re-run from the run's journal instead, which holds every payload"
        )

    try:
        capabilities = await discover(client, target)
    except DiscoveryError as error:
        raise RerunError(f"cannot read the target's capabilities: {error}") from error
    mode = choose_mode(capabilities, settings)
    return await asyncio.to_thread(
        load_input,
        input_path,
        mode=mode,
        batch_size=settings.batch_size,
        max_operations=capabilities.max_operations,
        max_payload_size=capabilities.max_payload_size,
        input_options=input_options,
        user_extensions=capabilities.user_extensions,
    )


def _earlier_from_report(report: dict[str, Any], loaded: LoadedInput, report_path: Path) -> dict[int, UserResult]:
    entries = {int(entry["row"]): entry for entry in report.get("users", [])}
    earlier: dict[int, UserResult] = {}
    for user in loaded.plan.users():
        entry = entries.get(user.row)
        if entry is None:
            raise RerunError(
                f"row {user.row} ({user.user_name}) of {loaded.path} is valid now but has no entry in {report_path}; "
                "read the file with the same --map and --mapping options as the original run"
            )
        if (entry.get("userName") or "").lower() != user.user_name.lower():
            raise RerunError(
                f"row {user.row} is {entry.get('userName')!r} in {report_path} but {user.user_name!r} in {loaded.path} "
                "as read now; read the file with the same --map and --mapping options as the original run"
            )
        earlier[user.row] = result_from_report_entry(entry)
    return earlier


async def prepare_rerun(
    source: Path,
    *,
    client: httpx.AsyncClient | None = None,
    input_options: Any = None,
    allow_insecure_http: bool = False,
    report_dir: Path | None = None,
    journal_path: Path | None = None,
    overwrite: bool = False,
    concurrency: int | None = None,
    environ: dict[str, str] | None = None,
) -> PreparedRun | None:
    """Prepare a new run of the failed users of ``source`` (a report.json or a journal).

    Returns None when no user qualifies. The new job gets its own journal, in
    which every row that is not re-run already has its earlier outcome, so
    that the new report covers the whole input and the new job can itself be
    resumed. ``input_options`` (column mapping) matter only for a report,
    whose input file is read again. Raises RerunError, JournalError or ConfigError.
    """
    source = Path(source)
    if not source.is_file():
        raise RerunError(f"{source} not found; give a report.json or a journal.sqlite")

    if is_journal_file(source):
        origin = await asyncio.to_thread(_source_from_journal, source, allow_insecure_http, environ, concurrency)
    else:
        origin = await _source_from_report(source, client, input_options, allow_insecure_http, environ, concurrency)

    try:
        return _start_rerun_journal(origin, source, report_dir, journal_path, overwrite)
    finally:
        if origin.source_journal is not None:
            origin.source_journal.close()


def _source_from_journal(
    source: Path, allow_insecure_http: bool, environ: dict[str, str] | None, concurrency: int | None
) -> _RerunSource:
    # Held for writing until the re-run is prepared: a resume of the same
    # journal at the same time would send the same users.
    journal = Journal.open(source, kind="rerun-source")
    try:
        meta = journal.meta()
        loaded, earlier, first_sent = _earlier_from_journal(journal)
        target = reopen_target(meta["target"], allow_insecure_http=allow_insecure_http, environ=environ)
        settings = _settings_from(meta["settings"], concurrency)
    except BaseException:
        journal.close()
        raise
    return _RerunSource(loaded, target, settings, earlier, first_sent, journal)


async def _source_from_report(
    source: Path,
    client: httpx.AsyncClient | None,
    input_options: Any,
    allow_insecure_http: bool,
    environ: dict[str, str] | None,
    concurrency: int | None,
) -> _RerunSource:
    try:
        report = json.loads(source.read_bytes())
    except (OSError, ValueError) as error:
        raise RerunError(f"{source} is neither a journal nor a readable report.json: {error}") from error
    if not isinstance(report, dict) or "users" not in report or "target" not in report:
        raise RerunError(f"{source} is not a scim-tui report.json: it has no users or target")

    target = reopen_target(report["target"], allow_insecure_http=allow_insecure_http, environ=environ)
    settings = _settings_from(report.get("settings") or {}, concurrency)

    from scim_tui.input import InputOptions

    options = replace(input_options or InputOptions(), user_name_must_be_email=target.user_name_is_email)
    if client is None:
        async with build_client(settings) as own_client:
            loaded = await _load_from_report(report, source, target, settings, own_client, options)
    else:
        loaded = await _load_from_report(report, source, target, settings, client, options)

    recorded_rows = (report.get("summary") or {}).get("rows")
    if recorded_rows is not None and loaded.rows != recorded_rows:
        raise RerunError(
            f"{loaded.path} has {loaded.rows} rows as read now but {recorded_rows} in {source}; "
            "read the file with the same --map and --mapping options as the original run"
        )
    earlier = _earlier_from_report(report, loaded, source)
    return _RerunSource(loaded, target, settings, earlier, {})


def _start_rerun_journal(
    origin: _RerunSource, source: Path, report_dir: Path | None, journal_path: Path | None, overwrite: bool
) -> PreparedRun | None:
    selected = rerun_rows(origin.earlier)
    if not selected:
        return None

    keep = {row: result for row, result in origin.earlier.items() if row not in selected}
    # A user whose create was sent may be on the server, so it is looked up
    # first. From a report the time of the first send is unknown (None), so
    # a user found there is reported as existed rather than created.
    in_doubt: dict[int, float | None] = {}
    for row in selected:
        if row in origin.first_sent:
            in_doubt[row] = origin.first_sent[row]
        elif origin.earlier[row].attempts > 0:
            in_doubt[row] = None

    chosen_dir = Path(report_dir) if report_dir is not None else default_report_dir(origin.loaded.path)
    path = journal_path or default_journal_path(chosen_dir)
    journal = Journal.create(
        path, origin.loaded, origin.target, origin.settings,
        report_dir=chosen_dir, overwrite=overwrite, kind="rerun", extra={"rerun_of": str(source.absolute())},
    )
    try:
        journal.carry_over(keep.values())
        # Recorded as in doubt in the new journal too, so that a resume of an
        # interrupted re-run still looks these users up first.
        journal.mark_in_doubt(in_doubt)
    except BaseException:
        journal.close()
        raise

    return PreparedRun(
        journal=journal,
        loaded=origin.loaded,
        target=origin.target,
        settings=origin.settings,
        finished=keep,
        in_doubt=in_doubt,
        report_dir=chosen_dir,
        overwrite_report=overwrite,
        description=f"re-run of {len(selected)} users from {source}, {len(in_doubt)} of them looked up first",
    )


# --------------------------------------------------------------- front end


async def drive_headless(prepared: PreparedRun, *, stream: TextIO = sys.stderr) -> int:
    """Run a prepared resume or re-run without the dashboard, write its report and return the exit code."""
    from scim_tui.headless import drive_run, print_outcome

    print(prepared.description, file=stream)
    try:
        async with build_client(prepared.settings) as client:
            result, interrupted = await drive_run(prepared.new_run(client=client), stream)
    finally:
        prepared.close()

    paths, report = prepared.write_reports(result)
    return print_outcome(paths, report, result, interrupted, stream)


def _launch_dashboard(prepared: PreparedRun) -> int:
    from scim_tui.tui.app import launch_prepared

    return launch_prepared(prepared)


def _configure_logging() -> None:
    from scim_tui.logging_setup import configure

    configure(default_level="WARNING" if sys.stderr.isatty() else "INFO")


def resume_main(args: argparse.Namespace) -> int:
    """``scim-tui resume JOURNAL``: continue the run that JOURNAL records."""
    if args.headless:
        _configure_logging()
    try:
        prepared = open_resume(
            args.journal,
            accept_changed_input=args.accept_changed_input,
            allow_insecure_http=args.insecure_http,
            report_dir=args.report_dir,
            overwrite=args.overwrite,
            concurrency=getattr(args, "concurrency", None),
        )
    except JournalError as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.USAGE

    if not args.headless:
        return _launch_dashboard(prepared)
    return asyncio.run(drive_headless(prepared))


def rerun_main(args: argparse.Namespace) -> int:
    """``scim-tui rerun REPORT_OR_JOURNAL --only failed``: send again the users worth another try."""
    if args.headless:
        _configure_logging()
    input_options = None
    if getattr(args, "map", None) or getattr(args, "mapping", None) or getattr(args, "encoding", None):
        from scim_tui.input import InputOptions, parse_mapping_options

        input_options = InputOptions(
            mapping=parse_mapping_options(args.map), mapping_file=args.mapping, encoding=getattr(args, "encoding", None)
        )

    try:
        prepared = asyncio.run(
            prepare_rerun(
                args.source,
                input_options=input_options,
                allow_insecure_http=args.insecure_http,
                report_dir=args.report_dir,
                journal_path=getattr(args, "journal", None),
                overwrite=args.overwrite,
                concurrency=getattr(args, "concurrency", None),
            )
        )
    except (RerunError, JournalError) as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    if prepared is None:
        print(f"{args.source}: no user ended failed or not attempted with a retriable error; nothing to re-run", file=sys.stderr)
        return ExitCode.OK

    if not args.headless:
        return _launch_dashboard(prepared)
    return asyncio.run(drive_headless(prepared))
