"""The reconciliation report: where every row of the input ended, with counts that add up.

``report.json`` holds the summary, the run's metadata and one entry per row.
``failed.csv`` lists every row that was not created and did not already
exist, for the operator to fix and re-run. Both are written atomically with
mode 0600, and CSV cells are neutralised so that spreadsheet programs do not
evaluate them as formulas.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
import csv
from dataclasses import dataclass
from datetime import datetime
import io
import json
from pathlib import Path
from typing import Any

from scim_tui.engine.outcomes import FINAL_SUCCESS, Outcome, UserResult
from scim_tui.files import write_private_atomically
from scim_tui.input.records import ProblemKind, RowProblem

REPORT_VERSION = 1

FAILED_CSV_COLUMNS = ["row", "userName", "displayName", "outcome", "httpStatus", "scimType", "detail", "attempts"]

# Leading characters that make spreadsheet programs treat a cell as a formula (OWASP "CSV injection").
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class ReportInconsistent(Exception):
    """The counts of a report do not add up: a bug, never an operator error."""


@dataclass(frozen=True)
class ReportPaths:
    report_json: Path
    failed_csv: Path


def neutralise_cell(value: object) -> str:
    """Return ``value`` as text that a spreadsheet shows literally instead of evaluating."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_TRIGGERS):
        return "'" + text
    return text


def rejected_results(problems: Iterable[RowProblem]) -> list[UserResult]:
    """Turn the reader's problems into one result per rejected row; warnings reject nothing."""
    by_row: dict[int, UserResult] = {}
    for problem in problems:
        if problem.kind is ProblemKind.WARNING:
            continue
        outcome = Outcome.DUPLICATE if problem.kind is ProblemKind.DUPLICATE else Outcome.INVALID
        existing = by_row.get(problem.row)
        if existing is None:
            by_row[problem.row] = UserResult(
                row=problem.row,
                user_name=problem.user_name,
                outcome=outcome,
                detail=problem.describe(),
                retriable=True,
            )
        else:
            if outcome is Outcome.INVALID:
                existing.outcome = Outcome.INVALID
            existing.detail = f"{existing.detail}; {problem.describe()}"
            existing.user_name = existing.user_name or problem.user_name
    return sorted(by_row.values(), key=lambda result: result.row)


def summarise(rows: int, results: list[UserResult]) -> dict[str, int]:
    """Count outcomes and check that they add up to ``rows``."""
    counts = Counter(result.outcome for result in results)
    summary = {
        "rows": rows,
        "valid": rows - counts[Outcome.INVALID] - counts[Outcome.DUPLICATE],
        "invalid": counts[Outcome.INVALID],
        "duplicates": counts[Outcome.DUPLICATE],
        "created": counts[Outcome.CREATED],
        "existed": counts[Outcome.EXISTED],
        "failed": counts[Outcome.FAILED],
        "not_attempted": counts[Outcome.NOT_ATTEMPTED],
    }
    parts = ("invalid", "duplicates", "created", "existed", "failed", "not_attempted")
    total = sum(summary[part] for part in parts)
    distinct_rows = len({result.row for result in results})
    if total != rows or len(results) != rows or distinct_rows != rows:
        raise ReportInconsistent(
            f"report counts do not add up: {rows} rows read, {len(results)} results for "
            f"{distinct_rows} distinct rows, outcomes sum to {total}"
        )
    return summary


def _result_entry(result: UserResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"row": result.row, "userName": result.user_name, "outcome": str(result.outcome)}
    if result.resource_id:
        entry["id"] = result.resource_id
    if result.status is not None:
        entry["httpStatus"] = result.status
    if result.scim_type:
        entry["scimType"] = result.scim_type
    if result.detail:
        entry["detail"] = result.detail
    if result.attempts:
        entry["attempts"] = result.attempts
    if result.outcome not in FINAL_SUCCESS:
        entry["retriable"] = result.retriable
    return entry


def build_report(
    *,
    input_file: Path,
    input_info: dict[str, Any],
    rows: int,
    results: list[UserResult],
    target: dict[str, Any],
    mode: str,
    settings: dict[str, Any],
    run: dict[str, Any],
) -> dict[str, Any]:
    """Assemble the report document. ``results`` covers every row, rejected rows included."""
    ordered = sorted(results, key=lambda result: result.row)
    return {
        "version": REPORT_VERSION,
        "summary": summarise(rows, ordered),
        "input": {"file": str(input_file), **input_info},
        "target": target,
        "mode": mode,
        "settings": settings,
        "run": run,
        "users": [_result_entry(result) for result in ordered],
    }


def run_metadata(
    *,
    started_at: datetime | None,
    finished_at: datetime | None,
    cancelled: bool,
    stop_reason: str | None,
    snapshot: Any | None,
) -> dict[str, Any]:
    """Describe the run for the report: times, request counts by status, retries, 429s, throughput."""
    duration = (finished_at - started_at).total_seconds() if started_at and finished_at else 0.0
    data: dict[str, Any] = {
        "started_at": started_at.isoformat() if started_at else None,
        "finished_at": finished_at.isoformat() if finished_at else None,
        "duration_seconds": round(duration, 3),
        "cancelled": cancelled,
        "stop_reason": stop_reason,
    }
    if snapshot is not None:
        data.update(
            {
                "requests_sent": snapshot.requests_sent,
                "requests_by_status": dict(sorted(snapshot.requests_by_status.items())),
                "retries": snapshot.retries,
                "throttled_429": snapshot.throttled,
                "total_backoff_seconds": round(snapshot.total_backoff, 3),
                "users_per_second": round(snapshot.users_per_second, 3),
            }
        )
    return data


def failed_rows_csv(results: Iterable[UserResult], display_names: dict[int, str] | None = None) -> bytes:
    """Render the rows that were neither created nor already on the server as CSV bytes."""
    display_names = display_names or {}
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FAILED_CSV_COLUMNS)
    for result in sorted(results, key=lambda result: result.row):
        if result.outcome in FINAL_SUCCESS:
            continue
        row = [
            result.row,
            result.user_name,
            result.display_name or display_names.get(result.row),
            str(result.outcome),
            result.status,
            result.scim_type,
            result.detail,
            result.attempts,
        ]
        writer.writerow([neutralise_cell(cell) for cell in row])
    return buffer.getvalue().encode("utf-8")


def write_report_files(
    report: dict[str, Any],
    results: list[UserResult],
    directory: Path,
    *,
    overwrite: bool = False,
    display_names: dict[int, str] | None = None,
) -> ReportPaths:
    """Write ``report.json`` and ``failed.csv`` into ``directory`` and return their paths."""
    directory = Path(directory)
    report_path = write_private_atomically(
        directory / "report.json",
        json.dumps(report, indent=2, ensure_ascii=False).encode("utf-8") + b"\n",
        overwrite=overwrite,
    )
    failed_path = write_private_atomically(
        directory / "failed.csv", failed_rows_csv(results, display_names), overwrite=overwrite
    )
    return ReportPaths(report_path, failed_path)
