"""Unit tests of the run journal: schema, durability order, resume inputs, locking and secrecy.

The runs here are real ProvisioningRuns against an in-memory SCIM server
behind ``httpx.MockTransport``. The server's handler reads the journal through
its own SQLite connection, so a check made there reads only committed data.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone
import json
from pathlib import Path
import sqlite3
import stat

import httpx
from pydantic import SecretStr
import pytest

from scim_tui.cli import main
from scim_tui.engine.job import load_input
from scim_tui.engine.outcomes import Outcome, UserResult
from scim_tui.engine.run import ProvisioningRun
from scim_tui.engine.settings import RunSettings
from scim_tui.exit_codes import ExitCode
from scim_tui.files import FileExistsWithoutOverwrite
from scim_tui.journal import (
    APPLICATION_ID,
    OUTCOME_COMMIT_DELAY,
    SCHEMA_VERSION,
    InputChanged,
    Journal,
    JournalError,
    JournalInUse,
    find_unfinished_journal,
    read_journal_summary,
)
from scim_tui.report import _result_entry
from scim_tui.resume import open_resume, rerun_rows, result_from_report_entry
from scim_tui.targets.generic import GenericTarget
from scim_tui.targets.genesys import GenesysTarget

BASE_URL = "http://127.0.0.1:9/scim/v2"
TOKEN_MARKER = "tok-JOURNAL-SECRET-7f3a9c"
CLIENT_SECRET_MARKER = "cs-JOURNAL-SECRET-2b8e41"
ACCESS_TOKEN_MARKER = "at-JOURNAL-SECRET-c0ffee"


def fast_settings(**changes) -> RunSettings:
    settings = RunSettings(concurrency=4, backoff_base=0.01, backoff_cap=0.05, max_attempts=3)
    for name, value in changes.items():
        setattr(settings, name, value)
    return settings


def write_csv(path: Path, names: list[str], *, extra_rows: list[str] = ()) -> Path:
    lines = ["userName,displayName"]
    lines += [f"{name},{name.split('@')[0].title()}" for name in names]
    lines += list(extra_rows)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def user_names(count: int) -> list[str]:
    return [f"user{index:03d}@example.test" for index in range(count)]


def read_states(journal_path: Path) -> dict[str, str]:
    connection = sqlite3.connect(journal_path)
    try:
        return dict(connection.execute("SELECT user_name, state FROM users"))
    finally:
        connection.close()


@dataclass
class MemoryScim:
    """A small SCIM server: it creates users, serves filters and Bulk, and lets a hook inspect each request."""

    users: dict[str, dict] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    on_create: object = None
    bulk: bool = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.lower()
        if path.endswith("/bulk") and request.method == "POST":
            return self._bulk(request)
        if path.endswith("/users") and request.method == "POST":
            document = json.loads(request.content)
            self.requests.append(("create", document["userName"], request.headers.get("authorization")))
            if self.on_create is not None:
                self.on_create([document["userName"]])
            return self._create(document)
        if path.endswith("/users") and request.method == "GET":
            scim_filter = request.url.params.get("filter", "")
            name = scim_filter.split('"')[1] if '"' in scim_filter else ""
            self.requests.append(("lookup", name, request.headers.get("authorization")))
            found = [self.users[name.lower()]] if name.lower() in self.users else []
            return httpx.Response(
                200,
                json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": len(found), "Resources": found},
            )
        return httpx.Response(404, json={"detail": f"no route {request.method} {path}"})

    def _create(self, document: dict) -> httpx.Response:
        key = document["userName"].lower()
        if key in self.users:
            return httpx.Response(409, json={"status": "409", "detail": "userName taken"})
        resource = {
            "id": f"id-{len(self.users) + 1}",
            "userName": document["userName"],
            "meta": {"created": datetime.now(timezone.utc).isoformat()},
        }
        self.users[key] = resource
        return httpx.Response(201, json=resource)

    def _bulk(self, request: httpx.Request) -> httpx.Response:
        operations = json.loads(request.content)["Operations"]
        names = [operation["data"]["userName"] for operation in operations]
        self.requests.extend(("create", name, request.headers.get("authorization")) for name in names)
        if self.on_create is not None:
            self.on_create(names)
        answers = []
        for operation in operations:
            reply = self._create(operation["data"])
            answers.append({"method": "POST", "bulkId": operation["bulkId"], "status": str(reply.status_code), "response": reply.json()})
        return httpx.Response(200, json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"], "Operations": answers})

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    # Targets read a .env file in the current directory; keep the tests away from a stray one.
    monkeypatch.chdir(tmp_path)
    for name in ("SCIM_TOKEN", "GENESYS_REGION", "GENESYS_API_URL", "GENESYS_LOGIN_URL", "GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def make_journal(workdir: Path, names: list[str], *, mode: str = "per-user", batch_size: int | None = None, extra_rows=(), target=None, settings=None):
    source = write_csv(workdir / "users.csv", names, extra_rows=list(extra_rows))
    loaded = load_input(source, mode=mode, batch_size=batch_size)
    target = target or GenericTarget(BASE_URL)
    settings = settings or fast_settings()
    journal = Journal.create(workdir / "report" / "journal.sqlite", loaded, target, settings, report_dir=workdir / "report")
    return journal, loaded, target, settings


# ------------------------------------------------------------------ schema


def test_schema_and_wal_mode(workdir):
    journal, loaded, _, _ = make_journal(workdir, user_names(3), extra_rows=["bad-row,", "user000@example.test,Again"])
    journal.close()

    connection = sqlite3.connect(journal.path)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"meta", "batches", "users", "rejected", "sessions"}
        users = connection.execute("SELECT row, user_name, payload, state FROM users ORDER BY row").fetchall()
        rejected = connection.execute("SELECT row, outcome FROM rejected ORDER BY row").fetchall()
        meta = {key: json.loads(value) for key, value in connection.execute("SELECT key, value FROM meta")}
    finally:
        connection.close()

    assert [(row, name, bytes(payload)) for row, name, payload, _ in users] == [
        (user.row, user.user_name, user.payload) for user in loaded.plan.users()
    ]
    assert {state for *_, state in users} == {"pending"}
    assert rejected == [(5, "invalid"), (6, "duplicate")]
    assert meta["input_sha256"] == loaded.sha256
    assert meta["input_path"] == str(loaded.path.absolute())
    assert meta["settings"]["max_attempts"] == 3
    assert meta["target"] == {"kind": "generic", "base_url": BASE_URL, "auth": "none"}
    assert meta["mode"] == "per-user"


def test_file_is_private(workdir):
    journal, *_ = make_journal(workdir, user_names(1))
    journal.close()

    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600


def test_plan_round_trip(workdir):
    journal, loaded, _, _ = make_journal(workdir, user_names(7), mode="bulk", batch_size=3, extra_rows=["x,"])

    stored = journal.load_input()
    journal.close()

    assert [batch.number for batch in stored.plan.batches] == [1, 2, 3]
    assert [[(u.row, u.user_name, u.payload) for u in b.users] for b in stored.plan.batches] == [
        [(u.row, u.user_name, u.payload) for u in b.users] for b in loaded.plan.batches
    ]
    assert [batch.payload_bytes for batch in stored.plan.batches] == [batch.payload_bytes for batch in loaded.plan.batches]
    assert stored.plan.mode == "bulk"
    assert stored.plan.total_users == 7
    assert stored.rejected == loaded.rejected
    assert stored.rows == loaded.rows
    assert stored.info() == loaded.info()


def test_create_rejects_existing_file(workdir):
    journal, loaded, target, settings = make_journal(workdir, user_names(1))
    journal.close()

    with pytest.raises(FileExistsWithoutOverwrite):
        Journal.create(journal.path, loaded, target, settings)
    Journal.create(journal.path, loaded, target, settings, overwrite=True).close()


def test_second_writer_is_rejected(workdir):
    journal, *_ = make_journal(workdir, user_names(1))
    try:
        with pytest.raises(JournalInUse):
            Journal.open(journal.path)
    finally:
        journal.close()

    Journal.open(journal.path).close()


# ------------------------------------------------------------ state changes


def test_not_attempted_keeps_state(workdir):
    journal, loaded, _, _ = make_journal(workdir, user_names(3))
    first, second, third = [user.row for user in loaded.plan.users()]

    journal.users_sending([first])
    journal.user_finished(UserResult(row=first, user_name="a", outcome=Outcome.NOT_ATTEMPTED, detail="cancelled", retriable=True))
    journal.user_finished(UserResult(row=second, user_name="b", outcome=Outcome.NOT_ATTEMPTED, detail="cancelled", retriable=True))
    journal.users_sending([third])
    journal.user_finished(UserResult(row=third, user_name="c", outcome=Outcome.FAILED, status=400, detail="bad", attempts=1))

    in_doubt = journal.in_doubt()
    finished = journal.finished_results()
    journal.close()

    assert list(in_doubt) == [first]
    assert in_doubt[first] is not None
    assert list(finished) == [third]
    assert finished[third].status == 400
    assert read_states(journal.path) == {
        "user000@example.test": "sending",
        "user001@example.test": "pending",
        "user002@example.test": "finished",
    }


def test_first_send_time_is_kept(workdir):
    journal, loaded, _, _ = make_journal(workdir, user_names(1))
    row = next(iter(loaded.plan.users())).row

    journal.users_sending([row])
    first = journal.in_doubt()[row]
    journal.users_sending([row])
    again = journal.in_doubt()[row]
    journal.close()

    assert again == first


async def test_outcome_committed_after_delay(workdir):
    journal, loaded, _, _ = make_journal(workdir, user_names(1))
    row = next(iter(loaded.plan.users())).row
    journal.users_sending([row])

    journal.user_finished(UserResult(row=row, user_name="x", outcome=Outcome.CREATED, resource_id="id-1", attempts=1))
    before = read_states(journal.path)
    await asyncio.sleep(OUTCOME_COMMIT_DELAY * 2)
    after = read_states(journal.path)
    journal.close()

    assert before == {"user000@example.test": "sending"}
    assert after == {"user000@example.test": "finished"}


async def test_outcome_rides_on_next_sending(workdir):
    journal, loaded, _, _ = make_journal(workdir, user_names(2))
    first, second = [user.row for user in loaded.plan.users()]
    journal.users_sending([first])

    journal.user_finished(UserResult(row=first, user_name="x", outcome=Outcome.CREATED, resource_id="id-1", attempts=1))
    journal.users_sending([second])
    states = read_states(journal.path)
    journal.close()

    assert states == {"user000@example.test": "finished", "user001@example.test": "sending"}


def test_outcome_committed_at_once_outside_loop(workdir):
    journal, loaded, _, _ = make_journal(workdir, user_names(1))
    row = next(iter(loaded.plan.users())).row

    journal.user_finished(UserResult(row=row, user_name="x", outcome=Outcome.EXISTED, resource_id="id-9"))
    states = read_states(journal.path)
    journal.close()

    assert states == {"user000@example.test": "finished"}


def test_failed_sending_write_raises(workdir):
    journal, loaded, _, _ = make_journal(workdir, user_names(1))
    row = next(iter(loaded.plan.users())).row
    # query_only makes every write fail, as a full or read-only disk would.
    journal._connection.execute("PRAGMA query_only=1")

    with pytest.raises(JournalError, match="was not sent"):
        journal.users_sending([row])
    journal._connection.execute("PRAGMA query_only=0")
    journal.close()

    assert read_states(journal.path) == {"user000@example.test": "pending"}


def test_failed_outcome_write_is_retried(workdir, caplog):
    journal, loaded, _, _ = make_journal(workdir, user_names(2))
    first, second = [user.row for user in loaded.plan.users()]
    journal.users_sending([first])
    journal._connection.execute("PRAGMA query_only=1")

    journal.user_finished(UserResult(row=first, user_name="a", outcome=Outcome.CREATED, resource_id="id-1", attempts=1))
    failed_states = read_states(journal.path)
    journal._connection.execute("PRAGMA query_only=0")
    journal.users_sending([second])
    journal.close()

    assert "outcomes to the journal" in caplog.text
    assert failed_states == {"user000@example.test": "sending", "user001@example.test": "pending"}
    assert read_states(journal.path) == {"user000@example.test": "finished", "user001@example.test": "sending"}


# ---------------------------------------------------- sending before send


@pytest.mark.parametrize(("mode", "batch_size"), [("per-user", None), ("bulk", 4)])
async def test_sending_committed_before_request(workdir, mode, batch_size):
    journal, loaded, target, settings = make_journal(workdir, user_names(10), mode=mode, batch_size=batch_size)
    server = MemoryScim(bulk=mode == "bulk")
    seen: list[tuple[str, str]] = []

    def check_journal(names: list[str]) -> None:
        states = read_states(journal.path)
        seen.extend((name, states[name]) for name in names)

    server.on_create = check_journal
    async with server.client() as client:
        run = ProvisioningRun(loaded.plan, target, settings, client=client, recorder=journal)
        result = await run.run()
    journal.close()

    assert len(seen) == 10
    assert {state for _, state in seen} == {"sending"}
    assert [entry.outcome for entry in result.results] == [Outcome.CREATED] * 10
    assert set(read_states(journal.path).values()) == {"finished"}


async def test_outcomes_recorded(workdir):
    journal, loaded, target, settings = make_journal(workdir, user_names(4))
    server = MemoryScim()
    server.users["user001@example.test"] = {"id": "old", "userName": "user001@example.test", "meta": {"created": "2020-01-01T00:00:00Z"}}

    async with server.client() as client:
        await ProvisioningRun(loaded.plan, target, settings, client=client, recorder=journal).run()
    finished = journal.finished_results()
    summary = journal.summary()
    journal.close()

    by_name = {result.user_name: result for result in finished.values()}
    assert by_name["user001@example.test"].outcome is Outcome.EXISTED
    assert by_name["user001@example.test"].resource_id == "old"
    assert by_name["user000@example.test"].outcome is Outcome.CREATED
    assert by_name["user000@example.test"].attempts == 1
    assert summary.outcomes == {"created": 3, "existed": 1}
    assert summary.unfinished is False


# ------------------------------------------------------------------ resume


async def test_resume_skips_finished_and_looks_up_in_doubt(workdir):
    names = user_names(5)
    journal, loaded, target, settings = make_journal(workdir, names)
    rows = {user.user_name: user.row for user in loaded.plan.users()}
    server = MemoryScim()

    # user000 finished; user001 stored by the server but its response was lost;
    # user002 sent and never stored; user003 and user004 never sent.
    journal.users_sending([rows[names[0]], rows[names[1]], rows[names[2]]])
    server._create({"userName": names[0]})
    server._create({"userName": names[1]})
    journal.user_finished(UserResult(row=rows[names[0]], user_name=names[0], outcome=Outcome.CREATED, resource_id="id-1", attempts=1))
    journal.close()

    prepared = open_resume(journal.path)
    assert set(prepared.finished) == {rows[names[0]]}
    assert set(prepared.in_doubt) == {rows[names[1]], rows[names[2]]}
    async with server.client() as client:
        result = await prepared.new_run(client=client).run()
    prepared.close()

    sequence = [(kind, name) for kind, name, _ in server.requests]
    assert all(name != names[0] for _, name in sequence)
    assert sequence.count(("lookup", names[1])) == 1
    assert ("create", names[1]) not in sequence
    assert sequence.index(("lookup", names[2])) < sequence.index(("create", names[2]))
    assert ("lookup", names[3]) not in sequence
    assert ("create", names[3]) in sequence
    outcomes = {entry.user_name: entry.outcome for entry in result.results}
    assert outcomes == dict.fromkeys(names, Outcome.CREATED)
    assert read_journal_summary(journal.path).unfinished is False


def test_resume_rejects_changed_input(workdir):
    journal, loaded, _, _ = make_journal(workdir, user_names(2))
    journal.close()
    loaded.path.write_text(loaded.path.read_text() + "late@example.test,Late\n", encoding="utf-8")

    with pytest.raises(InputChanged) as caught:
        open_resume(journal.path)
    message = str(caught.value)

    assert loaded.sha256 in message
    assert caught.value.current_sha256 is not None
    assert caught.value.current_sha256 in message
    assert "--accept-changed-input" in message
    open_resume(journal.path, accept_changed_input=True).close()


def test_resume_command_names_both_hashes(workdir, capsys, monkeypatch):
    # The command would point the root logger at the captured stderr, which outlives this test.
    monkeypatch.setattr("scim_tui.resume._configure_logging", lambda: None)
    journal, loaded, _, _ = make_journal(workdir, user_names(2))
    journal.close()
    loaded.path.write_text("userName,displayName\nother@example.test,Other\n", encoding="utf-8")

    code = main(["resume", str(journal.path), "--headless"])
    error = capsys.readouterr().err

    assert code == ExitCode.USAGE
    assert loaded.sha256 in error
    assert "--accept-changed-input" in error


def test_resume_rejects_missing_input(workdir):
    journal, loaded, _, _ = make_journal(workdir, user_names(2))
    journal.close()
    loaded.path.unlink()

    with pytest.raises(InputChanged, match="is missing"):
        open_resume(journal.path)


def test_resume_rejects_other_genesys_org(workdir, monkeypatch):
    target = GenesysTarget(api_url="http://127.0.0.1:9", login_url="http://127.0.0.1:9", client_id="c", client_secret=SecretStr("s"))
    journal, *_ = make_journal(workdir, user_names(1), target=target)
    journal.close()
    monkeypatch.setenv("GENESYS_CLIENT_ID", "c")
    monkeypatch.setenv("GENESYS_CLIENT_SECRET", "s")
    monkeypatch.setenv("GENESYS_API_URL", "http://127.0.0.1:10")
    monkeypatch.setenv("GENESYS_LOGIN_URL", "http://127.0.0.1:10")

    with pytest.raises(ValueError, match="127.0.0.1:9"):
        open_resume(journal.path)


def test_resume_reopens_recorded_genesys_org(workdir, monkeypatch):
    target = GenesysTarget(api_url="http://127.0.0.1:9", login_url="http://127.0.0.1:9", client_id="c", client_secret=SecretStr("s"))
    journal, *_ = make_journal(workdir, user_names(1), target=target)
    journal.close()
    monkeypatch.setenv("GENESYS_CLIENT_ID", "c")
    monkeypatch.setenv("GENESYS_CLIENT_SECRET", "s")

    prepared = open_resume(journal.path)
    prepared.close()

    assert prepared.target.base_url == target.base_url
    assert prepared.target.describe()["token_url"] == target.describe()["token_url"]


# ------------------------------------------------------------------- rerun


def test_rerun_rows_selection():
    results = {
        1: UserResult(row=1, user_name="a", outcome=Outcome.CREATED),
        2: UserResult(row=2, user_name="b", outcome=Outcome.EXISTED),
        3: UserResult(row=3, user_name="c", outcome=Outcome.FAILED, status=503, retriable=True),
        4: UserResult(row=4, user_name="d", outcome=Outcome.FAILED, status=400, retriable=False),
        5: UserResult(row=5, user_name="e", outcome=Outcome.NOT_ATTEMPTED, retriable=True),
        6: UserResult(row=6, user_name="f", outcome=Outcome.INVALID, retriable=True),
    }

    assert rerun_rows(results) == {3, 5}


def test_report_entry_round_trip():
    original = UserResult(
        row=7, user_name="g@example.test", outcome=Outcome.FAILED, status=503, scim_type="tooMany",
        detail="busy", attempts=3, retriable=True,
    )

    assert result_from_report_entry(_result_entry(original)) == original


# ------------------------------------------------------------------ finding


def test_find_unfinished_journal(workdir):
    source = write_csv(workdir / "users.csv", user_names(2))
    other = write_csv(workdir / "other.csv", user_names(2))
    base = workdir / "reports"

    def journal_for(path: Path, directory: str, *, finish: bool) -> Path:
        loaded = load_input(path, mode="per-user", batch_size=None)
        journal = Journal.create(base / directory / "journal.sqlite", loaded, GenericTarget(BASE_URL), fast_settings())
        if finish:
            journal.carry_over(
                UserResult(row=user.row, user_name=user.user_name, outcome=Outcome.CREATED) for user in loaded.plan.users()
            )
        journal.close()
        return journal.path

    assert find_unfinished_journal(source, base) is None
    journal_for(source, "a-finished", finish=True)
    older = journal_for(source, "b-older", finish=False)
    journal_for(other, "c-other", finish=False)
    (base / "d-broken").mkdir()
    (base / "d-broken" / "journal.sqlite").write_bytes(b"not a database")

    assert find_unfinished_journal(source, base) == older
    newer = journal_for(source, "e-newer", finish=False)
    assert find_unfinished_journal(source, base) == newer
    assert find_unfinished_journal(workdir / "absent.csv", base) is None


# ------------------------------------------------------------------ secrets


async def test_no_bearer_token_in_journal(workdir):
    journal, loaded, _, settings = make_journal(workdir, user_names(3), target=GenericTarget(BASE_URL, SecretStr(TOKEN_MARKER)))
    target = GenericTarget(BASE_URL, SecretStr(TOKEN_MARKER))
    server = MemoryScim()

    async with server.client() as client:
        await ProvisioningRun(loaded.plan, target, settings, client=client, recorder=journal).run()
        stored = journal_bytes(journal.path)
    journal.close()
    stored += journal_bytes(journal.path)

    assert {auth for *_, auth in server.requests} == {f"Bearer {TOKEN_MARKER}"}
    assert TOKEN_MARKER.encode() not in stored
    assert b"user002@example.test" in stored


async def test_no_oauth_secret_in_journal(workdir):
    target = GenesysTarget(
        api_url="http://127.0.0.1:9", login_url="http://127.0.0.1:9", client_id="client-1", client_secret=SecretStr(CLIENT_SECRET_MARKER)
    )
    journal, loaded, _, settings = make_journal(workdir, user_names(3), target=target)
    server = MemoryScim()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": ACCESS_TOKEN_MARKER, "token_type": "bearer", "expires_in": 3600})
        return server.handler(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        await ProvisioningRun(loaded.plan, target, settings, client=client, recorder=journal).run()
        stored = journal_bytes(journal.path)
    journal.close()
    stored += journal_bytes(journal.path)

    assert {auth for *_, auth in server.requests} == {f"Bearer {ACCESS_TOKEN_MARKER}"}
    for marker in (CLIENT_SECRET_MARKER, ACCESS_TOKEN_MARKER):
        assert marker.encode() not in stored
    assert b"client-1" in stored


def journal_bytes(path: Path) -> bytes:
    """Every byte the journal has on disk: the database and, while it is open, its WAL."""
    data = b""
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            data += part.read_bytes()
    return data
