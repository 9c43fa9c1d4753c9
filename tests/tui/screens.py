"""Fixed data for tests of single screens: a loaded file, a run frozen at one instant, a report.

Every figure is constant, so a screen shows the same cells on every machine
and snapshot tests compare like with like.
"""

from __future__ import annotations

from pathlib import Path

from scim_tui.engine import events as ev
from scim_tui.engine.job import LoadedInput, TargetSpec, load_input
from scim_tui.engine.outcomes import Outcome, UserResult
from scim_tui.engine.settings import RunSettings
from scim_tui.engine.state import BatchStatus, BatchView, RunPhase, RunSnapshot
from scim_tui.input import InputOptions
from scim_tui.report import ReportPaths, build_report
from scim_tui.tui.app import JobOptions, ScimTuiApp
from scim_tui.tui.screens.load import TargetInfo

TARGET_URL = "https://api.mypurecloud.ie/api/v2/scim/v2"

TARGET_INFO = TargetInfo(
    url=TARGET_URL,
    kind="genesys",
    mode="per-user",
    max_operations=None,
    max_payload_size=None,
    discovery_path="serviceproviderconfig",
)

#: An error detail as a server might send it, with text that is also Rich markup.
MARKUP_DETAIL = "bad value [/] in [bold]title[/bold] and [red]x"


def idle_app() -> ScimTuiApp:
    """Build the dashboard without starting a job, for tests that put data on screens themselves."""
    options = JobOptions(
        input_path=Path("users.csv"),
        target_spec=TargetSpec(kind="generic", url="https://scim.example.test/scim/v2", read_env_file=False, environ={}),
        settings=RunSettings(concurrency=8),
    )
    return ScimTuiApp(options, begin=False, redraw_interval=None)


def write_sample(path: Path) -> Path:
    lines = ["userName,givenName,familyName,displayName,title"]
    for index in range(12):
        lines.append(f"agent.{index:02d}@example.com,Agent,Number {index},Agent {index},Support")
    lines.append("[/]not-an-email,Bad,Row,Bad Row,Support")
    lines.append("agent.03@example.com,Repeated,Row,Repeated Row,Support")
    lines.append(",Missing,Name,Missing Name,Support")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sample_loaded(directory: Path) -> LoadedInput:
    path = write_sample(directory / "users.csv")
    return load_input(path, mode="per-user", batch_size=5, input_options=InputOptions(user_name_must_be_email=True))


def frozen_snapshot(**changes) -> RunSnapshot:
    values = dict(
        phase=RunPhase.RUNNING,
        mode="per-user",
        total_users=2000,
        finished_users=730,
        counts={"created": 700, "existed": 20, "failed": 10},
        in_flight=8,
        concurrency=8,
        retry_queue_depth=3,
        requests_by_status={"201": 700, "409": 20, "400": 10, "429": 2},
        requests_sent=760,
        retries=14,
        throttled=2,
        backoff_remaining=4.5,
        backoff_reason="429 for agent.00731@example.com",
        total_backoff=9.0,
        rate_limit_allowed=300,
        rate_limit_remaining=212,
        users_per_second=48.7,
        eta_seconds=26.1,
        elapsed=15.0,
        pause_reason=None,
        batches_version=40,
    )
    values.update(changes)
    return RunSnapshot(**values)


def frozen_batches() -> list[BatchView]:
    batches = []
    for number in range(1, 41):
        first = f"agent.{(number - 1) * 50:05d}@example.com"
        last = f"agent.{number * 50 - 1:05d}@example.com"
        view = BatchView(number=number, users=50, payload_bytes=50 * 410, first_user=first, last_user=last, version=number)
        if number <= 13:
            view = _replace(view, status=BatchStatus.DONE, created=48, existed=2)
        if number == 7:
            view = _replace(view, status=BatchStatus.PARTIAL, created=38, existed=2, failed=10, last_error="400 " + MARKUP_DETAIL)
        if number in (14, 15):
            view = _replace(view, status=BatchStatus.RUNNING, created=20, retries=3, last_error="429 rate limited")
        batches.append(view)
    return batches


def _replace(view: BatchView, **changes) -> BatchView:
    from dataclasses import replace

    return replace(view, **changes)


def frozen_events() -> list[ev.Event]:
    return [
        ev.RunStarted(at=100.0, total_users=2000, batches=40, mode="per-user", concurrency=8),
        ev.CredentialsRefreshed(at=100.1, reason="initial", expires_in=86400.0),
        ev.UserFailed(at=104.0, batch=7, row=310, user_name="agent.00308@example.com", status=400, detail=MARKUP_DETAIL),
        ev.RequestRetried(at=110.0, batch=14, user_name="agent.00651@example.com", reason="429 rate limited", delay=4.5, attempt=2),
        ev.RequestRetried(at=110.2, batch=15, user_name="agent.00702@example.com", reason="429 rate limited", delay=4.5, attempt=2),
        ev.BackoffStarted(at=110.2, reason="429 for agent.00702@example.com (Retry-After)", delay=4.5),
        ev.ConcurrencyChanged(at=111.0, old=6, new=8),
    ]


class FrozenRun:
    """A run source that always shows the same instant."""

    def __init__(self, snapshot: RunSnapshot, batches: list[BatchView], events: list[ev.Event]) -> None:
        self._snapshot = snapshot
        self._batches = batches
        self._events = list(events)

    def snapshot(self) -> RunSnapshot:
        return self._snapshot

    def batches_changed_since(self, version: int) -> tuple[int, list[BatchView]]:
        latest = max(view.version for view in self._batches)
        return latest, [view for view in self._batches if view.version > version]

    def drain_events(self) -> list[ev.Event]:
        events, self._events = self._events, []
        return events


def fixed_clock(at: float) -> str:
    """Render an event time as a fixed wall-clock time, counting seconds from 12:00:00."""
    seconds = int(at - 100.0)
    return f"12:{seconds // 60:02d}:{seconds % 60:02d}"


def sample_report() -> tuple[dict, list[UserResult]]:
    results = [
        UserResult(row=2, user_name="agent.00@example.com", outcome=Outcome.CREATED, resource_id="id-1", attempts=1),
        UserResult(row=3, user_name="agent.01@example.com", outcome=Outcome.EXISTED, resource_id="id-2", status=409, attempts=1),
        UserResult(row=4, user_name="agent.02@example.com", outcome=Outcome.FAILED, status=400, scim_type="invalidValue",
                   detail=MARKUP_DETAIL, attempts=1),
        UserResult(row=5, user_name="agent.03@example.com", outcome=Outcome.FAILED, status=503,
                   detail="The service is temporarily unavailable.", attempts=5, retriable=True),
        UserResult(row=6, user_name="agent.04@example.com", outcome=Outcome.NOT_ATTEMPTED, detail="cancelled by the operator",
                   retriable=True),
        UserResult(row=7, user_name="not-an-email", outcome=Outcome.INVALID, detail="row 7, column 'userName': not an email"),
        UserResult(row=8, user_name="agent.00@example.com", outcome=Outcome.DUPLICATE, detail="row 8 repeats row 2"),
    ]
    report = build_report(
        input_file=Path("users.csv"),
        input_info={"rows": 7},
        rows=7,
        results=results,
        target={"kind": "genesys", "base_url": TARGET_URL},
        mode="per-user",
        settings=RunSettings().as_dict(),
        run={
            "started_at": "2025-01-01T12:00:00+00:00",
            "finished_at": "2025-01-01T12:00:12+00:00",
            "duration_seconds": 12.0,
            "cancelled": True,
            "stop_reason": "cancelled by the operator",
            "requests_sent": 11,
            "requests_by_status": {"201": 1, "409": 1, "400": 1, "503": 5},
            "retries": 4,
            "throttled_429": 0,
            "users_per_second": 0.3,
        },
    )
    return report, results


SAMPLE_PATHS = ReportPaths(Path("reports/users/report.json"), Path("reports/users/failed.csv"))
