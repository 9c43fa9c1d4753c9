"""The dashboard's plain-Python parts: event digest, re-run plan, dry-run documents, loading, formatting."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

import httpx
import pytest

from scim_tui.engine import events as ev
from scim_tui.engine.outcomes import Outcome
from scim_tui.engine.plan import Batch, Plan, PlannedUser
from scim_tui.engine.settings import RunSettings
from scim_tui.files import FileExistsWithoutOverwrite
from scim_tui.input import InputOptions
from scim_tui.targets.generic import GenericTarget
from scim_tui.tui.dryrun import OMITTED, DryRunTarget, request_document, write_dry_run
from scim_tui.tui.formatting import format_bytes, format_count, plural, shorten
from scim_tui.tui.loading import LoadCancelled, LoadWatch, load_observed
from scim_tui.tui.widgets.event_log import EventDigest, describe_event
from tests.tui.screens import write_sample
from tests.tui.helpers import write_users


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def retry(at: float, reason: str = "503 unavailable") -> ev.RequestRetried:
    return ev.RequestRetried(at=at, batch=1, user_name="a@example.com", reason=reason, delay=1.0, attempt=2)


def test_digest_groups_repeats_in_one_redraw():
    digest = EventDigest(window=10.0, clock=Clock())
    lines = digest.digest([retry(1.0), retry(1.1), retry(1.2), retry(1.3, "429 rate limited")])
    texts = [line.text for _, line in lines]
    assert texts[0].startswith("3x retry a@example.com")
    assert texts[1].startswith("retry a@example.com")
    assert len(texts) == 2


def test_digest_holds_back_repeats_within_window():
    clock = Clock()
    digest = EventDigest(window=10.0, clock=clock)
    assert len(digest.digest([retry(1.0)])) == 1

    clock.now += 2
    assert digest.digest([retry(2.0), retry(2.1)]) == []
    clock.now += 3
    assert digest.digest([retry(3.0)]) == []

    clock.now += 6
    summary = digest.digest([])
    assert len(summary) == 1
    assert summary[0][1].text.startswith("3 more in the last 10 s like: retry")


def test_digest_never_holds_back_operator_events():
    digest = EventDigest(window=10.0, clock=Clock())
    events = [ev.Paused(at=1.0), ev.Resumed(at=2.0), ev.Paused(at=3.0), ev.ConcurrencyChanged(at=4.0, old=1, new=2)]
    assert len(digest.digest(events)) == 4


def test_progress_events_are_not_logged():
    assert describe_event(ev.BatchProgress(batch=1, created=1, existed=0, failed=0, pending=3)) is None
    assert describe_event(ev.BatchFinished(batch=1, status="done", created=1, existed=0, failed=0)) is None
    assert describe_event(ev.BatchFinished(batch=1, status="partial", created=1, existed=0, failed=1)) is not None


def planned(rows: range) -> Plan:
    users = [PlannedUser(row, f"user{row}@example.com", json.dumps({"userName": f"user{row}@example.com"}).encode()) for row in rows]
    batches = [Batch(number=index + 1, users=users[index * 3:(index + 1) * 3]) for index in range((len(users) + 2) // 3)]
    return Plan(mode="per-user", batches=batches, batch_size=3, max_payload_size=None, total_users=len(users))


def test_request_document_omits_credentials():
    request = httpx.Request(
        "POST", "https://scim.example.test/scim/v2/Users",
        headers={"Authorization": "Bearer secret-token", "Cookie": "s=1", "Accept": "application/scim+json"},
        content=b'{"userName":"a@example.com"}',
    )
    document = request_document(request)
    assert document["headers"]["authorization"] == OMITTED
    assert document["headers"]["cookie"] == OMITTED
    assert document["headers"]["accept"] == "application/scim+json"
    assert document["body"] == {"userName": "a@example.com"}
    assert "secret-token" not in json.dumps(document)


def test_dry_run_bulk_requests_and_no_token(tmp_path: Path):
    from pydantic import SecretStr

    plan = planned(range(2, 9))
    plan.mode = "bulk"
    target = GenericTarget("https://scim.example.test/scim/v2", SecretStr("static-secret-token"))
    path = tmp_path / "dry.ndjson"
    summary = write_dry_run(plan, target, RunSettings(), path)

    assert summary.requests == 3
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text(encoding="utf-8")
    assert "static-secret-token" not in text
    documents = [json.loads(line) for line in text.splitlines()]
    assert {document["url"] for document in documents} == {"https://scim.example.test/scim/v2/Bulk"}
    operations = [operation for document in documents for operation in document["body"]["Operations"]]
    assert [operation["data"]["userName"] for operation in operations] == [f"user{row}@example.com" for row in range(2, 9)]
    assert len({operation["bulkId"] for operation in operations}) == 7

    with pytest.raises(FileExistsWithoutOverwrite):
        write_dry_run(plan, target, RunSettings(), path)


def test_dry_run_target_without_token_sends_no_authorization():
    target = DryRunTarget(GenericTarget("https://scim.example.test/scim/v2"))
    import asyncio

    assert asyncio.run(target.auth_headers(None)) == {}


def test_load_observed_exposes_progress(tmp_path: Path):
    path = write_sample(tmp_path / "users.csv")
    watch = LoadWatch()
    assert watch.progress() == (0, None)
    loaded = load_observed(path, watch, mode="per-user", batch_size=5, input_options=InputOptions(user_name_must_be_email=True))
    done, total = watch.progress()
    assert total == path.stat().st_size
    assert done == total
    assert watch.rows() == 15
    assert loaded.plan.total_users == 12
    assert [result.outcome for result in loaded.rejected] == [Outcome.INVALID, Outcome.DUPLICATE, Outcome.INVALID]


def test_load_observed_stops_when_asked(tmp_path: Path):
    path = tmp_path / "users.csv"
    write_users(path, 50)
    watch = LoadWatch()
    watch.stop.set()
    with pytest.raises(LoadCancelled):
        load_observed(path, watch, mode="per-user", batch_size=5)


def test_formatting():
    assert format_count(1234567) == "1,234,567"
    assert format_count(None) == "-"
    assert format_bytes(999) == "999 B"
    assert format_bytes(1_500_000) == "1.5 MB"
    assert plural(1, "row") == "1 row"
    assert plural(2000, "row") == "2,000 rows"
    assert shorten("a  b\nc", 10) == "a b c"
    assert shorten("abcdefghijkl", 5) == "abcd…"


def test_engine_imports_without_textual():
    code = (
        "import sys\n"
        "import scim_tui.engine.run, scim_tui.engine.job, scim_tui.engine.discovery, scim_tui.engine.plan\n"
        "import scim_tui.headless, scim_tui.report, scim_tui.input, scim_tui.targets.genesys\n"
        "import scim_tui.simulator.server\n"
        "assert 'textual' not in sys.modules, sorted(name for name in sys.modules if name.startswith('textual'))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
