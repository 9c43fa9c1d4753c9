"""The steps of a provisioning job, shared by the dashboard and the headless command.

A job is: open the target, discover what it supports, read and plan the input
file, run the plan, write the reports. Each step is a plain function so that
a front end can show progress between them; none of them touches a screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
import hashlib
import json
import logging
from pathlib import Path
from typing import Any


from scim_tui.engine.discovery import ServerCapabilities
from scim_tui.engine.outcomes import FINAL_SUCCESS, Outcome, UserResult
from scim_tui.engine.plan import ExtensionFilteringEncoder, Plan, build_plan, default_batch_size
from scim_tui.engine.run import RunResult
from scim_tui.engine.settings import RunSettings
from scim_tui.report import ReportPaths, build_report, rejected_results, run_metadata, write_report_files
from scim_tui.targets.base import Target

log = logging.getLogger(__name__)


@dataclass
class TargetSpec:
    """The server to send to: a generic SCIM base URL, or Genesys Cloud configured from the environment."""

    kind: str = "generic"
    url: str | None = None
    allow_insecure_http: bool = False
    read_env_file: bool = True
    environ: dict[str, str] | None = None


def open_target(spec: TargetSpec) -> Target:
    """Build the target from ``spec`` and the environment; raises ConfigError with a fix on bad settings."""
    from scim_tui.config import ConfigError, load_settings, require_secure_url
    from scim_tui.logging_setup import register_secret
    from scim_tui.targets.generic import GenericTarget

    settings = load_settings(spec.environ, read_env_file=spec.read_env_file)
    for secret in (settings.genesys_client_secret, settings.scim_token):
        if secret is not None:
            register_secret(secret.get_secret_value())
    if spec.kind == "genesys":
        from scim_tui.targets.factory import genesys_target_from_settings

        return genesys_target_from_settings(settings, allow_insecure_http=spec.allow_insecure_http)
    if not spec.url:
        raise ConfigError("no target given: pass --url URL for a SCIM server, or --target genesys")
    url = require_secure_url(spec.url, name="--url", allow_insecure_http=spec.allow_insecure_http)
    return GenericTarget(url, settings.scim_token)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class LoadedInput:
    """A read and planned input file, with every rejected row kept for the report."""

    path: Path
    reader: Any
    plan: Plan
    sha256: str
    rejected: list[UserResult] = field(default_factory=list)
    dropped_extensions: dict[str, int] = field(default_factory=dict)
    """Users whose data for an extension was not sent because the server does not accept it, per URN."""

    @property
    def rows(self) -> int:
        return self.reader.rows_read

    def info(self) -> dict[str, Any]:
        reader = self.reader
        return {
            "sha256": self.sha256,
            "format": getattr(reader, "format", None),
            "encoding": getattr(reader, "encoding", None),
            "rows": reader.rows_read,
            "valid": reader.valid,
            "invalid": reader.invalid,
            "duplicates": reader.duplicates,
            "warnings": [problem.describe() for problem in reader.problems if str(problem.kind) == "warning"][:1000],
            "unknown_columns": list(getattr(reader, "unknown_columns", []) or []),
            "extensions_not_sent": dict(self.dropped_extensions),
        }


def load_input(
    path: Path,
    *,
    mode: str,
    batch_size: int | None,
    max_operations: int | None = None,
    max_payload_size: int | None = None,
    input_options: Any = None,
    user_extensions: frozenset[str] | None = None,
) -> LoadedInput:
    """Read, validate and plan ``path`` in one streaming pass. Blocking: run it in a thread from async code.

    ``user_extensions`` are the extension URNs the server accepts on a User
    (from discovery); data for any other extension is left out of the
    payloads and counted. None sends every extension.
    Raises ``InputFileError`` when the file as a whole cannot be read.
    """
    from scim_tui.input import InputOptions, UserFileReader

    path = Path(path)
    reader = UserFileReader(path, input_options or InputOptions())
    size = batch_size or default_batch_size(mode, max_operations)
    encoder = ExtensionFilteringEncoder(user_extensions) if user_extensions is not None else None
    plan = build_plan(reader, mode=mode, batch_size=size, max_payload_size=max_payload_size, encode=encoder)
    loaded = LoadedInput(path=path, reader=reader, plan=plan, sha256=file_sha256(path))
    if encoder is not None and encoder.dropped:
        loaded.dropped_extensions = dict(encoder.dropped)
        for urn, count in encoder.dropped.items():
            log.warning("the server does not accept the extension %s on users; its values were left out for %d users", urn, count)
    loaded.rejected = rejected_results(reader.problems)
    log.info(
        "read %s: %d rows, %d valid, %d invalid, %d duplicates; %d batches",
        path, reader.rows_read, reader.valid, reader.invalid, reader.duplicates, len(plan.batches),
    )
    return loaded


def choose_mode(capabilities: ServerCapabilities, settings: RunSettings) -> str:
    if capabilities.bulk_supported and not settings.force_per_user:
        return "bulk"
    return "per-user"


def display_names_of(plan: Plan, rows: set[int]) -> dict[int, str]:
    """Read displayName back from the encoded payloads of ``rows``, for the failed-user CSV."""
    names: dict[int, str] = {}
    for user in plan.users():
        if user.row in rows:
            try:
                names[user.row] = json.loads(user.payload).get("displayName") or ""
            except ValueError:
                names[user.row] = ""
    return names


def not_attempted_results(plan: Plan, reason: str) -> list[UserResult]:
    return [
        UserResult(row=user.row, user_name=user.user_name, outcome=Outcome.NOT_ATTEMPTED, detail=reason, retriable=True)
        for user in plan.users()
    ]


def compose_report(
    loaded: LoadedInput,
    result: RunResult | None,
    target: Target,
    settings: RunSettings,
    *,
    stop_reason: str | None = None,
) -> tuple[dict[str, Any], list[UserResult]]:
    """Combine rejected rows and run results into the report document and the full result list."""
    if result is None:
        run_results = not_attempted_results(loaded.plan, stop_reason or "the run did not start")
        meta = run_metadata(started_at=None, finished_at=None, cancelled=True, stop_reason=stop_reason, snapshot=None)
    else:
        run_results = result.results
        meta = run_metadata(
            started_at=result.started_at,
            finished_at=result.finished_at,
            cancelled=result.cancelled,
            stop_reason=result.stop_reason or stop_reason,
            snapshot=result.snapshot,
        )
    everything = loaded.rejected + run_results
    report = build_report(
        input_file=loaded.path.absolute(),
        input_info=loaded.info(),
        rows=loaded.rows,
        results=everything,
        target=target.describe(),
        mode=loaded.plan.mode,
        settings=settings.as_dict(),
        run=meta,
    )
    return report, everything


def default_report_dir(input_path: Path, base: Path | None = None) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return (base or Path("reports")) / f"{Path(input_path).stem}-{stamp}"


def write_reports(
    loaded: LoadedInput,
    result: RunResult | None,
    target: Target,
    settings: RunSettings,
    report_dir: Path,
    *,
    overwrite: bool = False,
    stop_reason: str | None = None,
) -> tuple[ReportPaths, dict[str, Any]]:
    report, everything = compose_report(loaded, result, target, settings, stop_reason=stop_reason)
    unsuccessful = {entry.row for entry in everything if entry.outcome not in FINAL_SUCCESS}
    names = display_names_of(loaded.plan, unsuccessful)
    paths = write_report_files(report, everything, report_dir, overwrite=overwrite, display_names=names)
    log.info("report written to %s and %s", paths.report_json, paths.failed_csv)
    return paths, report
