"""The crash-safe journal of a run: enough to resume it without a duplicate and without a lost user.

A run of tens of thousands of users at Genesys Cloud's 300 requests a minute
takes hours, and the process may die at any moment: ctrl+c, a kill, a crash,
a laptop that sleeps and loses its network. The journal is an SQLite database
in WAL mode that holds:

- the input file's path and SHA-256, and the counts and warnings read from it;
- the plan: every batch, and every valid user's row, userName and encoded
  payload, so that a resume needs neither the input file nor a new plan;
- the rows rejected as invalid or duplicate, so that the final report still
  covers every row of the input;
- the settings and the target's description, neither of which contains a secret
  (credentials come from the environment again at resume);
- each user's state: ``pending``, then ``sending`` (committed before the first
  byte of its create request leaves), then ``finished`` with its outcome.

A user in ``sending`` without an outcome may or may not exist on the server,
so a resume looks it up before it sends anything for it again.

Durability: commits use ``synchronous=NORMAL``. In WAL mode a committed
transaction is then in the operating system's page cache before the commit
returns, so it survives the death of the process (SIGKILL, a crash, an
unhandled exception), which is the failure this journal is for. A power loss
or an operating-system crash can lose the commits made since the WAL was
last synced to disk, which every checkpoint does (the background checkpointer
runs one every CHECKPOINT_INTERVAL seconds). A resume then sends those users
again without a lookup; a server that enforces unique userNames, as Genesys
Cloud does, answers 409, and the engine resolves that by a lookup and reports
the user as ``existed``. ``synchronous="FULL"`` closes that gap at the cost of
an fsync per commit; :meth:`Journal.create` and :meth:`Journal.open` accept it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
import json
import logging
import os
from pathlib import Path
import sqlite3
import threading
import time
from typing import Any

from scim_tui.engine.job import LoadedInput
from scim_tui.engine.outcomes import Outcome, UserResult
from scim_tui.engine.plan import Batch, Plan, PlannedUser
from scim_tui.engine.run import RecorderFailed
from scim_tui.engine.settings import RunSettings
from scim_tui.files import PRIVATE_MODE, FileExistsWithoutOverwrite
from scim_tui.targets.base import Target

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

JOURNAL_FILE_NAME = "journal.sqlite"

#: Written to ``PRAGMA application_id`` so that a journal is recognised as one ("SCIM" in ASCII).
APPLICATION_ID = 0x5343494D

#: ``PRAGMA user_version`` of the schema below; a journal with another version is rejected.
SCHEMA_VERSION = 1

SYNCHRONOUS_MODES = ("NORMAL", "FULL")

PENDING = "pending"
SENDING = "sending"
FINISHED = "finished"

_SCHEMA = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE batches (
    number INTEGER PRIMARY KEY,
    payload_bytes INTEGER NOT NULL
);
CREATE TABLE users (
    row INTEGER PRIMARY KEY,
    batch INTEGER NOT NULL REFERENCES batches (number),
    position INTEGER NOT NULL,
    user_name TEXT NOT NULL,
    payload BLOB NOT NULL,
    manager TEXT,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'finished')),
    first_sent REAL,
    last_sent REAL,
    sends INTEGER NOT NULL DEFAULT 0,
    outcome TEXT,
    resource_id TEXT,
    status INTEGER,
    scim_type TEXT,
    detail TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    retriable INTEGER,
    finished_at REAL
);
CREATE TABLE rejected (
    row INTEGER PRIMARY KEY,
    user_name TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('invalid', 'duplicate')),
    detail TEXT,
    retriable INTEGER NOT NULL
);
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT
);
"""

_SENDING_UPDATE = (
    "UPDATE users SET state = CASE state WHEN 'finished' THEN 'finished' ELSE 'sending' END, "
    "first_sent = COALESCE(first_sent, ?), last_sent = ?, sends = sends + 1 WHERE row = ?"
)

# A not_attempted outcome keeps the user's state: a user that was never sent
# stays pending, and one whose create may have been stored stays in doubt.
_FINISHED_UPDATE = (
    "UPDATE users SET state = CASE WHEN ? = 'not_attempted' THEN state ELSE 'finished' END, "
    "outcome = ?, resource_id = ?, status = ?, scim_type = ?, detail = ?, attempts = ?, retriable = ?, "
    "finished_at = ? WHERE row = ?"
)


class JournalError(RecorderFailed):
    """The journal cannot be created, opened or written. The message names the file and the cause."""


class JournalInUse(JournalError):
    """Another process has the journal open for writing."""


class InputChanged(JournalError):
    """The input file is not the one the journal was written for."""

    def __init__(self, input_path: Path, journal_sha256: str, current_sha256: str | None) -> None:
        now = "is missing" if current_sha256 is None else f"now has SHA-256 {current_sha256}"
        super().__init__(
            f"the input file {input_path} changed since the journal was written: the journal was written for "
            f"SHA-256 {journal_sha256}, and the file {now}. The journal holds every payload, so resuming does "
            f"not read the file; pass --accept-changed-input to resume with the journal's payloads anyway"
        )
        self.input_path = input_path
        self.journal_sha256 = journal_sha256
        self.current_sha256 = current_sha256


@dataclass(frozen=True)
class JournalSummary:
    """The contents of a journal in figures, for a front end that offers to resume it."""

    path: Path
    input_path: Path
    input_sha256: str
    created_at: str
    mode: str
    target: dict[str, Any]
    report_dir: Path | None
    total_users: int
    finished: int
    in_doubt: int
    never_sent: int
    rejected: int
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def unfinished(self) -> bool:
        """True while some valid user has no final outcome (a not_attempted user has none)."""
        return self.finished < self.total_users


@dataclass
class JournalledInput(LoadedInput):
    """The input as the journal recorded it: the plan and rejected rows without reading the file again."""

    stored_rows: int = 0
    stored_info: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.stored_rows

    def info(self) -> dict[str, Any]:
        return dict(self.stored_info)


def default_journal_path(report_dir: Path) -> Path:
    return Path(report_dir) / JOURNAL_FILE_NAME


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


class _WriterLock:
    """An advisory lock that keeps a second process from writing the same journal.

    The lock sits on a separate ``.lock`` file: an extra descriptor on the
    database file itself would drop SQLite's own POSIX locks when closed. The
    kernel releases the lock when the process dies, so a killed run never
    leaves a stale lock behind.
    """

    def __init__(self, journal_path: Path) -> None:
        self.path = _lock_path(journal_path)
        self._descriptor: int | None = None

    def acquire(self) -> None:
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_MODE)
        if fcntl is not None:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                raise JournalInUse(
                    f"the journal {self.path.with_suffix('')} is in use by another scim-tui process; "
                    "wait for it to end or stop it first"
                ) from None
        # NOTE: without fcntl (Windows) nothing stops two processes from resuming one journal at once.
        self._descriptor = descriptor

    def release(self) -> None:
        if self._descriptor is None:
            return
        if fcntl is not None:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)
        os.close(self._descriptor)
        self._descriptor = None


# The writer copies the WAL into the database itself only when the WAL reaches
# this many pages (about 16 MB): normally the background checkpointer does it first.
WRITER_CHECKPOINT_PAGES = 4_000

# Seconds between the background checkpointer's passes.
CHECKPOINT_INTERVAL = 0.5

# Seconds an outcome may wait for the next commit; a kill within them costs a lookup at resume.
OUTCOME_COMMIT_DELAY = 0.1


class _Checkpointer:
    """Copies the WAL into the database file from a thread of its own.

    A checkpoint with ``synchronous=NORMAL`` ends with an fsync of the
    database file, which takes milliseconds and, in the writer, would stall
    the event loop every thousand pages. A PASSIVE checkpoint here runs
    beside the writer without blocking it. When writes never pause, a
    passive checkpoint may not let the WAL start over, so the writer still
    checkpoints itself at WRITER_CHECKPOINT_PAGES to bound the file's size.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"journal-checkpoint-{path.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self._path, isolation_level=None)
        except sqlite3.Error as error:
            log.warning("journal checkpoints fall back to the writer: cannot open %s: %s", self._path, error)
            return
        try:
            while not self._stop.wait(CHECKPOINT_INTERVAL):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as error:
                    log.warning("journal checkpoint of %s failed: %s", self._path, error)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
    if synchronous not in SYNCHRONOUS_MODES:
        raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}, got {synchronous!r}")
    # isolation_level=None: transactions are opened and committed explicitly, so
    # that a commit happens exactly where durability is promised.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        connection.close()
        raise JournalError(f"the journal {path} cannot use WAL mode (SQLite chose {mode!r}); put it on a local disk")
    connection.execute(f"PRAGMA synchronous={synchronous}")
    connection.execute("PRAGMA busy_timeout=5000")
    return connection


class Journal:
    """The journal of one job, open for writing; implements the engine's ``RunRecorder``.

    ``users_sending`` commits before it returns, because the engine sends the
    request right after it. Outcomes from ``user_finished`` are committed with
    the next ``users_sending`` transaction or OUTCOME_COMMIT_DELAY seconds
    later, whichever comes first (at once outside an event loop). A busy run
    thus makes one commit per request, not two. An outcome lost to a kill in
    between leaves the user in ``sending``, and a resume looks it up.
    """

    def __init__(self, path: Path, connection: sqlite3.Connection, lock: _WriterLock, session: int) -> None:
        self.path = path
        self._connection = connection
        self._lock = lock
        self._session = session
        connection.execute(f"PRAGMA wal_autocheckpoint={WRITER_CHECKPOINT_PAGES}")
        self._checkpointer = _Checkpointer(path)
        self._mutex = threading.Lock()
        self._pending: list[UserResult] = []
        self._flush_scheduled = False
        self._closed = False

    # ------------------------------------------------------------ create, open

    @classmethod
    def create(
        cls,
        path: Path,
        loaded: LoadedInput,
        target: Target,
        settings: RunSettings,
        *,
        report_dir: Path | None = None,
        overwrite: bool = False,
        synchronous: str = "NORMAL",
        kind: str = "run",
        extra: dict[str, Any] | None = None,
    ) -> Journal:
        """Write a new journal for ``loaded`` at ``path`` and return it open for writing.

        Raises FileExistsWithoutOverwrite when ``path`` exists and ``overwrite``
        is False, JournalInUse when another process holds it, and JournalError
        when SQLite cannot write it. ``extra`` adds JSON values to the meta table.
        """
        path = Path(path).absolute()
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = _WriterLock(path)
        lock.acquire()
        try:
            if path.exists() and not overwrite:
                raise FileExistsWithoutOverwrite(path)
            _write_complete_journal(path, loaded, target, settings, report_dir, extra or {})
            connection = _connect(path, synchronous)
            try:
                session = _begin_session(connection, kind)
            except BaseException:
                connection.close()
                raise
        except sqlite3.Error as error:
            lock.release()
            raise JournalError(f"cannot write the journal {path}: {error}") from error
        except BaseException:
            lock.release()
            raise

        log.info("journal %s written: %d users in %d batches", path, loaded.plan.total_users, len(loaded.plan.batches))
        return cls(path, connection, lock, session)

    @classmethod
    def open(cls, path: Path, *, synchronous: str = "NORMAL", kind: str = "resume") -> Journal:
        """Open an existing journal for writing, to resume it. Raises JournalError or JournalInUse."""
        path = Path(path).absolute()
        if not path.is_file():
            raise JournalError(f"journal {path} not found")
        lock = _WriterLock(path)
        lock.acquire()
        try:
            connection = _connect(path, synchronous)
            try:
                _check_schema(connection, path)
                session = _begin_session(connection, kind)
            except BaseException:
                connection.close()
                raise
        except sqlite3.Error as error:
            lock.release()
            raise JournalError(f"cannot open the journal {path}: {error}") from error
        except BaseException:
            lock.release()
            raise
        return cls(path, connection, lock, session)

    # ------------------------------------------------------------- recording

    def users_sending(self, rows: list[int]) -> None:
        """Record that a create request for ``rows`` is about to be sent; durable when this returns."""
        now = time.time()
        with self._mutex:
            self._ensure_open()
            try:
                with _transaction(self._connection):
                    self._write_outcomes(self._pending)
                    self._connection.executemany(_SENDING_UPDATE, [(now, now, row) for row in rows])
            except sqlite3.Error as error:
                raise JournalError(
                    f"writing the journal {self.path} failed, so the request for {len(rows)} users was not sent: {error}"
                ) from error
            self._pending.clear()

    def user_finished(self, result: UserResult) -> None:
        """Record a user's outcome; committed with the next commit, within OUTCOME_COMMIT_DELAY seconds."""
        with self._mutex:
            self._ensure_open()
            self._pending.append(result)
            if self._flush_scheduled:
                return
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is None:
                self._flush_locked()
                return
            self._flush_scheduled = True
            loop.call_later(OUTCOME_COMMIT_DELAY, self.flush)

    def carry_over(self, results: Iterable[UserResult]) -> None:
        """Record outcomes decided by an earlier run, so that this journal's run does not send those users."""
        with self._mutex:
            self._ensure_open()
            with _transaction(self._connection):
                self._connection.executemany(_FINISHED_UPDATE, [_finished_values(result, None) for result in results])

    def mark_in_doubt(self, first_sent: dict[int, float | None]) -> None:
        """Record rows whose create an earlier run sent, so that a resume looks them up before sending."""
        with self._mutex:
            self._ensure_open()
            with _transaction(self._connection):
                self._connection.executemany(
                    "UPDATE users SET state = 'sending', first_sent = ? WHERE row = ? AND state != 'finished'",
                    [(sent, row) for row, sent in first_sent.items()],
                )

    def flush(self) -> None:
        """Commit the outcomes recorded since the last commit."""
        with self._mutex:
            if self._closed:
                return
            self._flush_locked()

    def close(self) -> None:
        """Commit what is left, record the end of this session and release the journal."""
        with self._mutex:
            if self._closed:
                return
            try:
                self._flush_locked()
                with _transaction(self._connection):
                    self._connection.execute("UPDATE sessions SET ended_at = ? WHERE id = ?", (_now_iso(), self._session))
            except sqlite3.Error as error:
                log.error("recording the end of the session in the journal %s failed: %s", self.path, error)
            finally:
                self._closed = True
                self._checkpointer.stop()
                # The last connection to close checkpoints the whole WAL and removes it.
                self._connection.close()
                self._lock.release()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _ensure_open(self) -> None:
        if self._closed:
            raise JournalError(f"the journal {self.path} is closed")

    def _flush_locked(self) -> None:
        self._flush_scheduled = False
        if not self._pending:
            return
        try:
            with _transaction(self._connection):
                self._write_outcomes(self._pending)
        except sqlite3.Error as error:
            # Kept for the next commit. If none succeeds, those users stay in
            # sending, and a resume looks them up: a lost outcome costs a
            # lookup, never a duplicate.
            log.error("writing %d outcomes to the journal %s failed: %s", len(self._pending), self.path, error)
            return
        self._pending.clear()

    def _write_outcomes(self, results: list[UserResult]) -> None:
        if results:
            now = time.time()
            self._connection.executemany(_FINISHED_UPDATE, [_finished_values(result, now) for result in results])

    # ---------------------------------------------------------------- reading
    # Each reader commits the outcomes still waiting first, so that it sees them.

    def meta(self) -> dict[str, Any]:
        with self._mutex:
            self._flush_locked()
            return _read_meta(self._connection)

    def load_input(self) -> JournalledInput:
        """Rebuild the plan and the rejected rows exactly as the journal recorded them."""
        with self._mutex:
            self._flush_locked()
            return _load_input(self._connection)

    def finished_results(self) -> dict[int, UserResult]:
        """Return the final outcome of every user that has one; not_attempted is not final."""
        with self._mutex:
            self._flush_locked()
            return _finished_results(self._connection)

    def in_doubt(self) -> dict[int, float | None]:
        """Map the rows whose create was sent without a final outcome to the epoch time of their first send."""
        with self._mutex:
            self._flush_locked()
            cursor = self._connection.execute("SELECT row, first_sent FROM users WHERE state = 'sending'")
            return {row: first_sent for row, first_sent in cursor}

    def first_sent(self) -> dict[int, float]:
        """Map every row that was ever sent to the epoch time of its first send."""
        with self._mutex:
            self._flush_locked()
            cursor = self._connection.execute("SELECT row, first_sent FROM users WHERE first_sent IS NOT NULL")
            return dict(cursor.fetchall())

    def last_results(self) -> dict[int, UserResult]:
        """Return the last recorded outcome of every user, final or not_attempted."""
        with self._mutex:
            self._flush_locked()
            return _results_where(self._connection, "outcome IS NOT NULL")

    def summary(self) -> JournalSummary:
        with self._mutex:
            self._flush_locked()
            return _summarise(self._connection, self.path)


# ------------------------------------------------------------------ helpers


class _transaction:
    """BEGIN ... COMMIT on an autocommit connection, rolled back on any error."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> None:
        self._connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None:
            self._connection.execute("COMMIT")
        elif self._connection.in_transaction:
            # SQLite has already rolled back after some errors, such as a full disk.
            self._connection.execute("ROLLBACK")


def _finished_values(result: UserResult, now: float | None) -> tuple:
    outcome = str(result.outcome)
    return (
        outcome,
        outcome,
        result.resource_id,
        result.status,
        result.scim_type,
        result.detail,
        result.attempts,
        int(result.retriable),
        now if now is not None else time.time(),
        result.row,
    )


def _database_files(path: Path) -> tuple[Path, Path, Path]:
    return path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def _write_complete_journal(
    path: Path,
    loaded: LoadedInput,
    target: Target,
    settings: RunSettings,
    report_dir: Path | None,
    extra: dict[str, Any],
) -> None:
    """Write the journal under a temporary name and rename it into place.

    A process killed while the plan is written leaves no journal at ``path``,
    so ``run`` can simply be started again. The next attempt, under the lock,
    removes the temporary file that the killed process left.
    """
    partial = path.with_name(path.name + ".partial")
    for stale in _database_files(partial):
        stale.unlink(missing_ok=True)

    # Created here with mode 0600 because the journal contains personal data.
    # SQLite gives its -wal and -shm files the database file's mode.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))
    connection = _connect(partial, "FULL")
    try:
        _write_new_journal(connection, path, loaded, target, settings, report_dir, extra)
    finally:
        # Closing the only connection checkpoints the WAL into the database
        # file and removes the WAL, so the one file below contains everything.
        connection.close()

    for stale in _database_files(path):
        stale.unlink(missing_ok=True)
    os.replace(partial, path)
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        # NOTE: Windows cannot open a directory to fsync it, so there the rename is not forced to disk.
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _write_new_journal(
    connection: sqlite3.Connection,
    path: Path,
    loaded: LoadedInput,
    target: Target,
    settings: RunSettings,
    report_dir: Path | None,
    extra: dict[str, Any],
) -> None:
    plan = loaded.plan
    connection.execute(f"PRAGMA application_id={APPLICATION_ID}")
    connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    meta = {
        "created_at": _now_iso(),
        "input_path": str(Path(loaded.path).absolute()),
        "input_sha256": loaded.sha256,
        "input_rows": loaded.rows,
        "input_info": loaded.info(),
        "mode": plan.mode,
        "batch_size": plan.batch_size,
        "max_payload_size": plan.max_payload_size,
        "total_users": plan.total_users,
        "settings": settings.as_dict(),
        "target": target.describe(),
        "report_dir": str(Path(report_dir).absolute()) if report_dir is not None else str(path.parent),
        **extra,
    }
    with _transaction(connection):
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                connection.execute(statement)
        connection.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [(key, json.dumps(value)) for key, value in meta.items()])
        connection.executemany(
            "INSERT INTO batches (number, payload_bytes) VALUES (?, ?)",
            [(batch.number, batch.payload_bytes) for batch in plan.batches],
        )
        connection.executemany(
            "INSERT INTO users (row, batch, position, user_name, payload, manager) VALUES (?, ?, ?, ?, ?, ?)",
            (
                # The payload is stored as the plan holds it, deflated in large plans.
                (user.row, batch.number, position, user.user_name, user.data, user.manager)
                for batch in plan.batches
                for position, user in enumerate(batch.users)
            ),
        )
        connection.executemany(
            "INSERT INTO rejected (row, user_name, outcome, detail, retriable) VALUES (?, ?, ?, ?, ?)",
            [
                (result.row, result.user_name, str(result.outcome), result.detail, int(result.retriable))
                for result in loaded.rejected
            ],
        )


def _begin_session(connection: sqlite3.Connection, kind: str) -> int:
    with _transaction(connection):
        cursor = connection.execute(
            "INSERT INTO sessions (kind, pid, started_at) VALUES (?, ?, ?)", (kind, os.getpid(), _now_iso())
        )
    return int(cursor.lastrowid)


def _check_schema(connection: sqlite3.Connection, path: Path) -> None:
    application_id = connection.execute("PRAGMA application_id").fetchone()[0]
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if application_id != APPLICATION_ID:
        raise JournalError(f"{path} is not a scim-tui journal")
    if version != SCHEMA_VERSION:
        raise JournalError(
            f"the journal {path} has schema version {version}; this scim-tui reads version {SCHEMA_VERSION}"
        )


def _read_meta(connection: sqlite3.Connection) -> dict[str, Any]:
    return {key: json.loads(value) for key, value in connection.execute("SELECT key, value FROM meta")}


def _load_input(connection: sqlite3.Connection) -> JournalledInput:
    meta = _read_meta(connection)
    sizes = dict(connection.execute("SELECT number, payload_bytes FROM batches"))
    batches: dict[int, Batch] = {number: Batch(number=number, payload_bytes=size) for number, size in sorted(sizes.items())}
    cursor = connection.execute("SELECT row, batch, user_name, payload, manager FROM users ORDER BY batch, position")
    for row, number, user_name, payload, manager in cursor:
        batches[number].users.append(PlannedUser(row, user_name, bytes(payload), manager))
    ordered = [batch for batch in batches.values() if batch.users]
    plan = Plan(
        mode=meta["mode"],
        batches=ordered,
        batch_size=meta["batch_size"],
        max_payload_size=meta["max_payload_size"],
        total_users=sum(len(batch.users) for batch in ordered),
    )

    rejected = [
        UserResult(row=row, user_name=user_name, outcome=Outcome(outcome), detail=detail, retriable=bool(retriable))
        for row, user_name, outcome, detail, retriable in connection.execute(
            "SELECT row, user_name, outcome, detail, retriable FROM rejected ORDER BY row"
        )
    ]
    return JournalledInput(
        path=Path(meta["input_path"]),
        reader=None,
        plan=plan,
        sha256=meta["input_sha256"],
        rejected=rejected,
        dropped_extensions=dict(meta["input_info"].get("extensions_not_sent") or {}),
        stored_rows=meta["input_rows"],
        stored_info=meta["input_info"],
    )


_RESULT_COLUMNS = "row, user_name, outcome, resource_id, status, scim_type, detail, attempts, retriable"


def _results_where(connection: sqlite3.Connection, condition: str) -> dict[int, UserResult]:
    results: dict[int, UserResult] = {}
    for row, user_name, outcome, resource_id, status, scim_type, detail, attempts, retriable in connection.execute(
        f"SELECT {_RESULT_COLUMNS} FROM users WHERE {condition}"
    ):
        results[row] = UserResult(
            row=row,
            user_name=user_name,
            outcome=Outcome(outcome),
            resource_id=resource_id,
            status=status,
            scim_type=scim_type,
            detail=detail,
            attempts=attempts,
            retriable=bool(retriable),
        )
    return results


def _finished_results(connection: sqlite3.Connection) -> dict[int, UserResult]:
    return _results_where(connection, "state = 'finished'")


def _summarise(connection: sqlite3.Connection, path: Path) -> JournalSummary:
    meta = _read_meta(connection)
    states = Counter(dict(connection.execute("SELECT state, COUNT(*) FROM users GROUP BY state").fetchall()))
    outcomes = dict(connection.execute("SELECT outcome, COUNT(*) FROM users WHERE state = 'finished' GROUP BY outcome").fetchall())
    rejected = connection.execute("SELECT COUNT(*) FROM rejected").fetchone()[0]
    report_dir = meta.get("report_dir")
    return JournalSummary(
        path=path,
        input_path=Path(meta["input_path"]),
        input_sha256=meta["input_sha256"],
        created_at=meta["created_at"],
        mode=meta["mode"],
        target=meta["target"],
        report_dir=Path(report_dir) if report_dir else None,
        total_users=sum(states.values()),
        finished=states[FINISHED],
        in_doubt=states[SENDING],
        never_sent=states[PENDING],
        rejected=rejected,
        outcomes=outcomes,
    )


def _open_for_reading(path: Path) -> sqlite3.Connection:
    # A plain connection, not mode=ro: after a kill the WAL must be recovered,
    # which needs write access to the -shm file. query_only keeps it a reader.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA busy_timeout=5000")
    connection.execute("PRAGMA query_only=1")
    return connection


def read_journal_summary(path: Path) -> JournalSummary:
    """Summarise a journal without taking it for writing; raises JournalError for a file that is not one."""
    path = Path(path).absolute()
    if not path.is_file():
        raise JournalError(f"journal {path} not found")
    try:
        connection = _open_for_reading(path)
        try:
            _check_schema(connection, path)
            return _summarise(connection, path)
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise JournalError(f"cannot read the journal {path}: {error}") from error


def find_unfinished_journal(input_path: Path, report_base_dir: Path) -> Path | None:
    """Return the newest journal under ``report_base_dir`` that is unfinished and was written for ``input_path``.

    Journals are looked for in ``report_base_dir`` itself and in its direct
    subdirectories (one per run by default). A journal matches when it names
    the same input file, whatever the file's content now. Resuming checks the
    hash and reports a change. Returns None when there is none.
    """
    wanted = Path(input_path).absolute()
    base = Path(report_base_dir)
    if not base.is_dir():
        return None

    candidates = [base / JOURNAL_FILE_NAME, *sorted(base.glob(f"*/{JOURNAL_FILE_NAME}"))]
    best: tuple[str, Path] | None = None
    for candidate in candidates:
        if not candidate.is_file():
            continue
        try:
            summary = read_journal_summary(candidate)
        except JournalError as error:
            log.debug("skipping %s: %s", candidate, error)
            continue
        if summary.input_path != wanted or not summary.unfinished:
            continue
        if best is None or summary.created_at > best[0]:
            best = (summary.created_at, summary.path)
    return None if best is None else best[1]


def state_counts(path: Path) -> dict[str, int]:
    """Count users by state (pending, sending, finished); for tests and tools watching a live journal."""
    connection = _open_for_reading(Path(path))
    try:
        return dict(connection.execute("SELECT state, COUNT(*) FROM users GROUP BY state").fetchall())
    finally:
        connection.close()
