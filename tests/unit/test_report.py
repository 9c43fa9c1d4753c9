"""Unit tests of the reconciliation report: counts, failed.csv, formula neutralising and private atomic files."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
import io
import json
import os
from pathlib import Path
import stat

import pytest

from scim_tui.engine.outcomes import Outcome, UserResult
from scim_tui.files import FileExistsWithoutOverwrite, write_private_atomically
from scim_tui.input.records import ProblemKind, RowProblem
from scim_tui.report import (
    FAILED_CSV_COLUMNS,
    ReportInconsistent,
    build_report,
    failed_rows_csv,
    neutralise_cell,
    rejected_results,
    run_metadata,
    summarise,
    write_report_files,
)


def result(row: int, outcome: Outcome, **fields) -> UserResult:
    fields.setdefault("user_name", f"user{row}@example.test")
    return UserResult(row=row, outcome=outcome, **fields)


def mixed_results() -> list[UserResult]:
    return [
        result(2, Outcome.CREATED, resource_id="id-2", attempts=1),
        result(3, Outcome.INVALID, user_name=None, detail="row 3, column 'userName': missing. Fix: add one", retriable=True),
        result(4, Outcome.EXISTED, resource_id="id-4", detail="already on the server (409)", attempts=1),
        result(5, Outcome.FAILED, status=400, scim_type="invalidValue", detail="bad title", attempts=1),
        result(6, Outcome.DUPLICATE, detail="repeats row 2", retriable=True),
        result(7, Outcome.NOT_ATTEMPTED, detail="cancelled by the operator", retriable=True),
        result(8, Outcome.FAILED, status=503, detail="unavailable", attempts=5, retriable=True),
        result(9, Outcome.CREATED, resource_id="id-9", attempts=2),
    ]


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def file_mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ---------------------------------------------------------------- summary


def test_summary_counts_add_up():
    summary = summarise(8, mixed_results())

    assert summary == {
        "rows": 8,
        "valid": 6,
        "invalid": 1,
        "duplicates": 1,
        "created": 2,
        "existed": 1,
        "failed": 2,
        "not_attempted": 1,
    }
    parts = ("invalid", "duplicates", "created", "existed", "failed", "not_attempted")
    assert sum(summary[part] for part in parts) == summary["rows"]


def test_summary_of_nothing():
    assert summarise(0, [])["rows"] == 0


def test_summary_missing_row_raises():
    with pytest.raises(ReportInconsistent, match="do not add up"):
        summarise(9, mixed_results())


def test_summary_extra_result_raises():
    with pytest.raises(ReportInconsistent):
        summarise(7, mixed_results())


def test_summary_repeated_row_raises():
    results = mixed_results()
    results[-1] = result(2, Outcome.FAILED, detail="second result for row 2")

    with pytest.raises(ReportInconsistent):
        summarise(8, results)


def test_build_report_document():
    results = mixed_results()
    started = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

    report = build_report(
        input_file=Path("people.csv"),
        input_info={"sha256": "ab" * 32, "rows": 8},
        rows=8,
        results=list(reversed(results)),
        target={"kind": "generic", "base_url": "https://scim.example.test"},
        mode="per-user",
        settings={"concurrency": 8},
        run=run_metadata(started_at=started, finished_at=started + timedelta(seconds=12.5), cancelled=False, stop_reason=None, snapshot=None),
    )

    assert report["version"] == 1
    assert report["summary"]["created"] == 2
    assert report["input"] == {"file": "people.csv", "sha256": "ab" * 32, "rows": 8}
    assert report["run"]["duration_seconds"] == 12.5
    assert [entry["row"] for entry in report["users"]] == [2, 3, 4, 5, 6, 7, 8, 9]
    by_row = {entry["row"]: entry for entry in report["users"]}
    assert by_row[2] == {"row": 2, "userName": "user2@example.test", "outcome": "created", "id": "id-2", "attempts": 1}
    assert by_row[5] == {
        "row": 5, "userName": "user5@example.test", "outcome": "failed", "httpStatus": 400,
        "scimType": "invalidValue", "detail": "bad title", "attempts": 1, "retriable": False,
    }
    assert by_row[8]["retriable"] is True
    assert "retriable" not in by_row[4]
    json.dumps(report)


def test_build_report_raises_when_inconsistent():
    with pytest.raises(ReportInconsistent):
        build_report(
            input_file=Path("x.csv"), input_info={}, rows=3, results=mixed_results()[:2],
            target={}, mode="per-user", settings={}, run={},
        )


def test_rejected_results_from_problems():
    problems = [
        RowProblem(3, "email", "not-an-email", "invalid email", "write a valid address", ProblemKind.INVALID, "a@x.test"),
        RowProblem(3, "title", "x" * 3, "title too long", "shorten it", ProblemKind.INVALID),
        RowProblem(4, "userName", "a@x.test", "repeats row 2", "remove the row", ProblemKind.DUPLICATE, "a@x.test"),
        RowProblem(5, "title", " t ", "trimmed", "none needed", ProblemKind.WARNING, "b@x.test"),
        RowProblem(6, "userName", "c@x.test", "repeats row 2", "remove the row", ProblemKind.DUPLICATE, "c@x.test"),
        RowProblem(6, "email", "bad", "invalid email", "fix it", ProblemKind.INVALID),
    ]

    rejected = rejected_results(problems)

    assert [(entry.row, entry.outcome) for entry in rejected] == [
        (3, Outcome.INVALID), (4, Outcome.DUPLICATE), (6, Outcome.INVALID),
    ]
    assert "invalid email" in rejected[0].detail
    assert "title too long" in rejected[0].detail
    assert rejected[0].user_name == "a@x.test"
    assert rejected[2].user_name == "c@x.test"
    assert all(entry.retriable for entry in rejected)


def test_run_metadata_with_snapshot():
    class Snapshot:
        requests_sent = 12
        requests_by_status = {"429": 1, "201": 10, "503": 1}
        retries = 2
        throttled = 1
        total_backoff = 3.14159
        users_per_second = 4.5678

    started = datetime(2024, 5, 1, tzinfo=timezone.utc)
    data = run_metadata(started_at=started, finished_at=started + timedelta(seconds=3), cancelled=True, stop_reason="x", snapshot=Snapshot())

    assert data["cancelled"] is True
    assert data["stop_reason"] == "x"
    assert data["requests_sent"] == 12
    assert list(data["requests_by_status"]) == ["201", "429", "503"]
    assert data["throttled_429"] == 1
    assert data["total_backoff_seconds"] == 3.142


# ---------------------------------------------------------------- failed.csv


def test_failed_csv_columns_and_rows():
    data = failed_rows_csv(mixed_results(), {3: "Row Three", 5: "Five", 7: "Seven", 8: "Eight"})

    rows = read_csv(data)
    assert rows[0] == FAILED_CSV_COLUMNS
    assert FAILED_CSV_COLUMNS == ["row", "userName", "displayName", "outcome", "httpStatus", "scimType", "detail", "attempts"]
    assert rows[1:] == [
        ["3", "", "Row Three", "invalid", "", "", "row 3, column 'userName': missing. Fix: add one", "0"],
        ["5", "user5@example.test", "Five", "failed", "400", "invalidValue", "bad title", "1"],
        ["6", "user6@example.test", "", "duplicate", "", "", "repeats row 2", "0"],
        ["7", "user7@example.test", "Seven", "not_attempted", "", "", "cancelled by the operator", "0"],
        ["8", "user8@example.test", "Eight", "failed", "503", "", "unavailable", "5"],
    ]


def test_failed_csv_uses_result_display_name():
    data = failed_rows_csv([result(2, Outcome.FAILED, display_name="From Result")], {2: "From Map"})
    assert read_csv(data)[1][2] == "From Result"


def test_failed_csv_sorted_by_row():
    results = [result(9, Outcome.FAILED), result(2, Outcome.FAILED), result(5, Outcome.FAILED)]
    assert [row[0] for row in read_csv(failed_rows_csv(results))[1:]] == ["2", "5", "9"]


def test_failed_csv_header_only_when_all_succeeded():
    data = failed_rows_csv([result(2, Outcome.CREATED), result(3, Outcome.EXISTED)])
    assert read_csv(data) == [FAILED_CSV_COLUMNS]


def test_failed_csv_uses_crlf():
    data = failed_rows_csv([result(2, Outcome.FAILED, detail="x")])
    assert data.count(b"\r\n") == 2


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_cells_neutralised(trigger):
    dangerous = f"{trigger}HYPERLINK(\"http://evil.test\",\"x\")"
    results = [
        result(2, Outcome.FAILED, user_name=dangerous, scim_type=dangerous, detail=dangerous),
    ]

    rows = read_csv(failed_rows_csv(results, {2: dangerous}))

    cells = rows[1]
    for column in ("userName", "displayName", "scimType", "detail"):
        cell = cells[FAILED_CSV_COLUMNS.index(column)]
        assert cell == "'" + dangerous
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_safe_cells_unchanged():
    text = "Smith, \"Jo\" = team lead\nsecond line"
    rows = read_csv(failed_rows_csv([result(2, Outcome.FAILED, detail=text, user_name="a=b@x.test")]))
    assert rows[1][FAILED_CSV_COLUMNS.index("detail")] == text
    assert rows[1][FAILED_CSV_COLUMNS.index("userName")] == "a=b@x.test"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), (0, "0"), (-5, "'-5"), ("=1+1", "'=1+1"), ("@SUM(A1)", "'@SUM(A1)"), ("plain", "plain"), ("", "")],
)
def test_neutralise_cell(value, expected):
    assert neutralise_cell(value) == expected


# ---------------------------------------------------------------- private atomic files


def test_written_file_is_private(tmp_path):
    target = tmp_path / "report.json"

    write_private_atomically(target, b"{}", overwrite=False)

    assert target.read_bytes() == b"{}"
    assert file_mode(target) == 0o600


def test_private_even_with_open_umask(tmp_path):
    previous = os.umask(0)
    try:
        write_private_atomically(tmp_path / "a.csv", b"x", overwrite=False)
    finally:
        os.umask(previous)

    assert file_mode(tmp_path / "a.csv") == 0o600


def test_overwrite_replaces_and_tightens_mode(tmp_path):
    target = tmp_path / "failed.csv"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)

    write_private_atomically(target, b"new", overwrite=True)

    assert target.read_bytes() == b"new"
    assert file_mode(target) == 0o600


def test_existing_file_kept_without_overwrite(tmp_path):
    target = tmp_path / "report.json"
    target.write_bytes(b"precious")

    with pytest.raises(FileExistsWithoutOverwrite, match="--overwrite"):
        write_private_atomically(target, b"new", overwrite=False)

    assert target.read_bytes() == b"precious"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report.json"]


def test_parent_directories_created(tmp_path):
    target = tmp_path / "reports" / "run-1" / "report.json"
    write_private_atomically(target, b"{}", overwrite=False)
    assert target.read_bytes() == b"{}"


def test_no_temporary_files_left(tmp_path):
    for name in ("a", "b", "c"):
        write_private_atomically(tmp_path / name, b"data", overwrite=False)
    write_private_atomically(tmp_path / "a", b"again", overwrite=True)

    assert sorted(path.name for path in tmp_path.iterdir()) == ["a", "b", "c"]


def test_write_goes_through_rename(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    seen: list[tuple[str, bytes, int]] = []
    real_replace = os.replace

    def recording_replace(source, destination):
        seen.append((str(source), Path(source).read_bytes(), file_mode(Path(source))))
        assert not Path(destination).exists()
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", recording_replace)
    write_private_atomically(target, b"complete content", overwrite=False)

    assert len(seen) == 1
    source, content, mode = seen[0]
    assert Path(source).parent == tmp_path
    assert Path(source) != target
    # The temporary file is complete and private before it takes the final name.
    assert content == b"complete content"
    assert mode == 0o600


def test_failed_rename_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_bytes(b"old content")

    def failing_replace(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_private_atomically(target, b"new content", overwrite=True)

    assert target.read_bytes() == b"old content"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report.json"]


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def failing_fsync(descriptor):
        raise OSError("I/O error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="I/O error"):
        write_private_atomically(tmp_path / "report.json", b"data", overwrite=False)

    assert list(tmp_path.iterdir()) == []


def test_report_files_written(tmp_path):
    results = mixed_results()
    report = {"version": 1, "summary": summarise(8, results)}

    paths = write_report_files(report, results, tmp_path / "out", display_names={5: "Five"})

    assert json.loads(paths.report_json.read_text("utf-8")) == report
    assert paths.report_json.name == "report.json"
    assert paths.failed_csv.name == "failed.csv"
    rows = read_csv(paths.failed_csv.read_bytes())
    assert rows[0] == FAILED_CSV_COLUMNS
    assert len(rows) == 6
    assert file_mode(paths.report_json) == 0o600
    assert file_mode(paths.failed_csv) == 0o600


def test_report_files_not_overwritten(tmp_path):
    results = mixed_results()
    report = {"version": 1}
    write_report_files(report, results, tmp_path)

    with pytest.raises(FileExistsWithoutOverwrite):
        write_report_files({"version": 2}, results, tmp_path)
    assert json.loads((tmp_path / "report.json").read_text("utf-8")) == {"version": 1}

    write_report_files({"version": 2}, results, tmp_path, overwrite=True)
    assert json.loads((tmp_path / "report.json").read_text("utf-8")) == {"version": 2}
