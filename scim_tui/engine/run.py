"""The submitter: sends a plan to a SCIM target and gives every planned user an outcome.

How a run keeps its promises:

- Bounded: at most ``concurrency`` requests are in flight, every user has a
  budget of ``max_attempts`` tries, and every wait is capped, so every loop that
  sends requests ends.
- No duplicates: when a create may have been stored (a timeout, a dropped
  connection after sending, a 5xx, a 2xx that names no resource), the user is
  looked up by userName before anything is sent again. A 409 is resolved by a
  lookup and recorded as ``existed``.
- Polite: a 429 stops all sending until its ``Retry-After`` has passed, and
  rate-limit headers pace requests so that 429s stay rare.
- Controllable: pause stops new requests at once (requests in flight finish),
  concurrency changes take effect at once, and cancel lets work in flight end
  and records the rest as ``not_attempted``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
import functools
import itertools
import json
import logging
import random
import time
from typing import Protocol

import httpx

from scim_tui.engine import events as ev
from scim_tui.engine.concurrency import AdjustableLimiter
from scim_tui.engine.managers import ManagerDirectory, is_manager_id, with_manager
from scim_tui.engine.outcomes import Outcome, UserResult
from scim_tui.engine.pacing import Pacer, read_rate_limit
from scim_tui.engine.plan import Plan, PlannedUser
from scim_tui.engine.retry import RetryQueue, backoff_delay, parse_retry_after
from scim_tui.engine.settings import MAX_CONCURRENCY, RunSettings
from scim_tui.engine.state import BatchStatus, BatchView, RunPhase, RunSnapshot, RunState
from scim_tui.engine.transport import (
    Reply,
    ResponseTooLarge,
    build_client,
    describe_transport_error,
    exchange,
    never_reached_server,
)
from scim_tui.scim.responses import first_listed_user, parse_json, parse_status, read_error, resource_id
from scim_tui.targets.base import CredentialsRejected, Target
from scim_tui.targets.oauth import TokenRequestFailed

log = logging.getLogger(__name__)

BULK_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"

# A user found by lookup after an uncertain create counts as created by this
# run unless the server created it this many seconds before our first try.
CREATED_TOLERANCE = 2.0

# Granularity of interruptible waits: pause, cancel and backoff are checked this often.
WAIT_SLICE = 0.25

RETRIABLE_STATUSES = frozenset({408, 429})


class RecorderFailed(Exception):
    """The recorder could not store a transition, so the request it precedes must not be sent."""


class RunRecorder(Protocol):
    """Receives each user's state transitions; the crash-safe journal implements it.

    ``users_sending`` is called before the request for those users is sent and
    raises RecorderFailed when the record is not durable.
    """

    def users_sending(self, rows: list[int]) -> None: ...

    def user_finished(self, result: UserResult) -> None: ...


class _NoRecorder:
    def users_sending(self, rows: list[int]) -> None:
        pass

    def user_finished(self, result: UserResult) -> None:
        pass


class CredentialsUnavailable(httpx.ConnectError):
    """The token endpoint failed in a way worth retrying; no request reached the SCIM server.

    It is a ``ConnectError`` so that it takes the path of any error that
    happened before sending: the user is retried without a lookup.
    """


_WAIT_FOR_MANAGER = object()


class _Abandoned(Exception):
    """The run was cancelled before this step sent its first request."""


@dataclass
class RunResult:
    results: list[UserResult]
    cancelled: bool
    started_at: datetime
    finished_at: datetime
    snapshot: RunSnapshot
    stop_reason: str | None = None


@dataclass(eq=False)
class UserWork:
    user: PlannedUser
    batch_index: int
    attempts: int = 0
    must_look_up: bool = False
    first_sent_epoch: float | None = None
    last_status: int | None = None
    last_scim_type: str | None = None
    last_detail: str | None = None
    last_retriable: bool = False
    payload: bytes | None = None
    """The payload with the manager's id spliced in, once resolved."""
    conflict: bool = False
    """A create returned 409: the user existed before this run."""
    manager_resolved: bool = False
    manager_wait_over: bool = False
    """Set when the user stopped waiting for a manager in the same run, who will never get an id first."""
    note: str | None = None

    def body(self) -> bytes:
        return self.payload if self.payload is not None else self.user.payload


@dataclass(eq=False)
class BulkWork:
    """Users sent together in one Bulk request."""

    users: list[UserWork]
    batch_index: int


@dataclass
class _Retry:
    """A step's verdict that the work must be tried again later."""

    reason: str
    delay: float | None = None


@dataclass
class _BatchProgress:
    pending: int
    created: int = 0
    existed: int = 0
    failed: int = 0
    not_attempted: int = 0
    retries: int = 0
    started: bool = False
    last_error: str | None = None


class ProvisioningRun:
    """One run of a plan against a target. Create it, then ``await run()``."""

    def __init__(
        self,
        plan: Plan,
        target: Target,
        settings: RunSettings,
        *,
        client: httpx.AsyncClient | None = None,
        recorder: RunRecorder | None = None,
        finished: dict[int, UserResult] | None = None,
        in_doubt: dict[int, float | None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """Prepare a run.

        ``finished`` contains results already known (from a journal being
        resumed): those users are not sent again. ``in_doubt`` maps the rows
        whose create was in flight when an earlier run stopped to the epoch
        time of that first try (or None): they are looked up before anything
        is sent. ``rng`` makes backoff
        jitter reproducible in tests.
        """
        self.plan = plan
        self.target = target
        self.settings = settings
        self._client = client
        self._owns_client = client is None
        self._recorder = recorder or _NoRecorder()
        self._rng = rng or random.Random()

        self._state = RunState(mode=plan.mode, total_users=plan.total_users, concurrency=settings.concurrency)
        self._limiter = AdjustableLimiter(min(MAX_CONCURRENCY, max(1, settings.concurrency)))
        self._pacer = Pacer()
        self._pace_lock = asyncio.Lock()
        self._ready: deque[UserWork | BulkWork] = deque()
        self._retry_queue: RetryQueue[UserWork | BulkWork] = RetryQueue()
        self._tasks: set[asyncio.Task] = set()
        self._wake = asyncio.Event()
        self._unpaused = asyncio.Event()
        self._unpaused.set()
        self._cancelled = False
        self._stop_reason: str | None = None
        self._backoff_until = 0.0
        self._backoff_started: float | None = None
        self._forbidden_streak = 0
        self._forbidden_held: list[UserWork] = []
        self._requests_in_flight = 0
        self._server_skew = 0.0
        self._bulk_ids = itertools.count(1)

        self._events: deque[ev.Event] = deque(maxlen=10_000)
        self._listeners: list[Callable[[ev.Event], None]] = []
        self._results: dict[int, UserResult] = {}
        self._progress: list[_BatchProgress] = []
        self._prefinished = finished or {}
        self._in_doubt = in_doubt or {}
        self._managers = ManagerDirectory(plan)
        self._waiting_for_manager: dict[str, list[UserWork]] = {}

        if hasattr(target, "on_refresh"):
            target.on_refresh = self._on_credentials_refreshed

        for index, batch in enumerate(plan.batches):
            self._state.batches.append(
                BatchView(
                    number=batch.number,
                    users=len(batch.users),
                    payload_bytes=batch.payload_bytes,
                    first_user=batch.first_user,
                    last_user=batch.last_user,
                )
            )
            self._progress.append(_BatchProgress(pending=len(batch.users)))

    def _on_credentials_refreshed(self, reason: str, expires_in: float | None) -> None:
        self._emit(ev.CredentialsRefreshed(reason=reason, expires_in=expires_in))

    # ------------------------------------------------------------------ control

    def pause(self, reason: str = "operator") -> None:
        """Stop sending new requests at once; requests already in flight finish."""
        if self._cancelled or not self._unpaused.is_set():
            return
        self._unpaused.clear()
        self._state.phase = RunPhase.PAUSED
        self._state.pause_reason = reason
        log.info("run paused: %s", reason)
        self._emit(ev.Paused(reason=reason))

    def resume(self) -> None:
        if self._unpaused.is_set() or self._cancelled:
            return
        self._unpaused.set()
        self._state.phase = RunPhase.RUNNING
        self._state.pause_reason = None
        self._forbidden_streak = 0
        log.info("run resumed")
        self._emit(ev.Resumed())
        self._wake.set()

    @property
    def paused(self) -> bool:
        return not self._unpaused.is_set()

    def cancel(self, reason: str = "cancelled by the operator") -> None:
        """Stop starting work; work in flight ends normally and the rest is ``not_attempted``."""
        if self._cancelled:
            return
        self._cancelled = True
        self._stop_reason = self._stop_reason or reason
        if self._state.phase is not RunPhase.FINISHED:
            self._state.phase = RunPhase.CANCELLING
        log.info("run cancelling: %s", reason)
        self._unpaused.set()
        self._wake.set()

    def set_concurrency(self, limit: int) -> None:
        """Change the bound on requests in flight; it takes effect for the next request."""
        limit = min(MAX_CONCURRENCY, max(1, int(limit)))
        old = self._state.concurrency
        if limit == old:
            return
        self._state.concurrency = limit
        self.settings.concurrency = limit
        task = asyncio.get_running_loop().create_task(self._limiter.set_limit(limit))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        log.info("concurrency changed from %d to %d", old, limit)
        self._emit(ev.ConcurrencyChanged(old=old, new=limit))
        self._wake.set()

    # ------------------------------------------------------------- observation

    def snapshot(self) -> RunSnapshot:
        # Requests on the wire. A step waiting for pause, backoff or pacing occupies a slot but sends nothing.
        self._state.in_flight = self._requests_in_flight
        self._state.retry_queue_depth = len(self._retry_queue)
        self._state.rate_limit_remaining = self._pacer.remaining
        self._state.rate_limit_allowed = self._pacer.allowed
        return self._state.snapshot()

    def batches_changed_since(self, version: int) -> tuple[int, list[BatchView]]:
        return self._state.batches_changed_since(version)

    def drain_events(self) -> list[ev.Event]:
        drained = list(self._events)
        self._events.clear()
        return drained

    def add_listener(self, callback: Callable[[ev.Event], None]) -> None:
        self._listeners.append(callback)

    def _emit(self, event: ev.Event) -> None:
        self._events.append(event)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed on %s", type(event).__name__)

    # --------------------------------------------------------------- main loop

    async def run(self) -> RunResult:
        """Send every planned user and return one result per user."""
        started = datetime.now(timezone.utc)
        self._state.started_at = time.monotonic()
        self._state.phase = RunPhase.RUNNING if self._unpaused.is_set() else RunPhase.PAUSED
        if self._client is None:
            self._client = build_client(self.settings)

        self._queue_initial_work()
        log.info(
            "run started: %d users in %d batches, %s mode, concurrency %d, target %s",
            self.plan.total_users, len(self.plan.batches), self.plan.mode,
            self._state.concurrency, self.target.base_url,
        )
        self._emit(
            ev.RunStarted(
                total_users=self.plan.total_users,
                batches=len(self.plan.batches),
                mode=self.plan.mode,
                concurrency=self._state.concurrency,
            )
        )

        try:
            await self._dispatch()
        finally:
            await self._wait_for_tasks()
            self._abandon_queued_work()
            if self._owns_client:
                await self._client.aclose()

        if self._backoff_started is not None:
            self._emit(ev.BackoffEnded(waited=time.monotonic() - self._backoff_started))
            self._backoff_started = None
        self._state.phase = RunPhase.FINISHED
        self._state.finished_at = time.monotonic()
        snapshot = self.snapshot()
        counts = snapshot.counts
        log.info(
            "run %s after %.1f s: %d created, %d existed, %d failed, %d not attempted",
            "cancelled" if self._cancelled else "finished", snapshot.elapsed,
            counts.get("created", 0), counts.get("existed", 0), counts.get("failed", 0), counts.get("not_attempted", 0),
        )
        self._emit(
            ev.RunFinished(
                cancelled=self._cancelled,
                created=counts.get("created", 0),
                existed=counts.get("existed", 0),
                failed=counts.get("failed", 0),
                not_attempted=counts.get("not_attempted", 0),
                duration=snapshot.elapsed,
            )
        )
        ordered = [self._results[user.row] for user in self.plan.users()]
        return RunResult(ordered, self._cancelled, started, datetime.now(timezone.utc), snapshot, self._stop_reason)

    def _queue_initial_work(self) -> None:
        for index, batch in enumerate(self.plan.batches):
            waiting: list[UserWork] = []
            for user in batch.users:
                known = self._prefinished.get(user.row)
                if known is not None:
                    self._finish(UserWork(user, index), known.outcome, result=known, record=False)
                    continue
                work = UserWork(user, index)
                if user.row in self._in_doubt:
                    work.must_look_up = True
                    work.first_sent_epoch = self._in_doubt[user.row]
                waiting.append(work)
            if not waiting:
                continue
            if self.plan.mode == "bulk":
                doubtful = [work for work in waiting if work.must_look_up]
                certain = [work for work in waiting if not work.must_look_up]
                self._ready.extend(doubtful)
                if certain:
                    self._ready.append(BulkWork(certain, index))
            else:
                self._ready.extend(waiting)

    async def _dispatch(self) -> None:
        while not self._cancelled:
            if not self._unpaused.is_set():
                await self._wait_signal(None)
                continue

            item = self._next_item()
            if item is None:
                if not self._tasks and not self._ready and not len(self._retry_queue):
                    if self._forbidden_held:
                        self._settle_forbidden()
                        continue
                    if self._waiting_for_manager:
                        self._stop_waiting_for_managers()
                        continue
                    return
                due = self._retry_queue.next_due()
                await self._wait_signal(None if due is None else max(0.0, due - time.monotonic()))
                continue

            await self._limiter.acquire()
            if self._cancelled or not self._unpaused.is_set():
                await self._limiter.release()
                self._ready.appendleft(item)
                continue

            task = asyncio.create_task(self._run_step(item))
            self._tasks.add(task)
            task.add_done_callback(self._step_done)

    def _next_item(self) -> UserWork | BulkWork | None:
        due = self._retry_queue.pop_due(time.monotonic())
        if due is not None:
            return due
        if self._ready:
            return self._ready.popleft()
        return None

    async def _wait_signal(self, timeout: float | None) -> None:
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=timeout if timeout is not None else 1.0)
        except TimeoutError:
            pass

    def _step_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("a send step failed unexpectedly", exc_info=task.exception())

    async def _wait_for_tasks(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _stop_waiting_for_managers(self) -> None:
        """Send the users still waiting: their managers wait too (a cycle), so none will get an id first."""
        waiting = [work for group in self._waiting_for_manager.values() for work in group]
        self._waiting_for_manager.clear()
        for work in waiting:
            work.manager_wait_over = True
        log.warning("%d users name managers in a cycle; they are sent without waiting further", len(waiting))
        self._ready.extend(waiting)

    def _abandon_queued_work(self) -> None:
        self._settle_forbidden()
        waiting = [work for group in self._waiting_for_manager.values() for work in group]
        self._waiting_for_manager.clear()
        leftovers = list(self._ready) + self._retry_queue.drain() + waiting
        self._ready.clear()
        for item in leftovers:
            for work in item.users if isinstance(item, BulkWork) else [item]:
                self._abandon(work)
        self._state.retry_queue_depth = 0

    def _abandon(self, work: UserWork) -> None:
        if work.user.row in self._results:
            return
        detail = self._stop_reason or "run cancelled"
        if work.must_look_up:
            detail += "; a create was sent and its result is unknown, so a rerun looks the user up first"
        self._finish(work, Outcome.NOT_ATTEMPTED, detail=detail, retriable=True)

    # ------------------------------------------------------------------- steps

    async def _run_step(self, item: UserWork | BulkWork) -> None:
        try:
            if isinstance(item, BulkWork):
                await self._bulk_step(item)
            else:
                await self._user_step(item)
        except _Abandoned:
            for work in item.users if isinstance(item, BulkWork) else [item]:
                work.attempts -= 1
            self._requeue_front(item)
        except RecorderFailed as error:
            # Nothing was sent for these users: they stay pending and the run stops.
            for work in item.users if isinstance(item, BulkWork) else [item]:
                work.attempts -= 1
            self._requeue_front(item)
            self._stop_reason = f"the journal cannot be written: {error}"
            self._emit(ev.RunMessage(level="error", text=self._stop_reason))
            log.error("%s; stopping the run", self._stop_reason)
            self.cancel(self._stop_reason)
        except CredentialsRejected as error:
            self._requeue_front(item)
            self._stop_reason = f"credentials rejected: {error}"
            self._emit(ev.RunMessage(level="error", text=self._stop_reason))
            log.error("%s; stopping the run", self._stop_reason)
            self.cancel(self._stop_reason)
        except Exception as error:
            # A bug must not lose users: each one still gets an outcome, and the run goes on.
            log.exception("unexpected error while sending; the users of this step are failed")
            for work in item.users if isinstance(item, BulkWork) else [item]:
                self._fail(work, None, None, f"internal error: {describe_transport_error(error)}", retriable=True)
        finally:
            await self._limiter.release()

    def _requeue_front(self, item: UserWork | BulkWork) -> None:
        self._ready.appendleft(item)

    def _mark_batch_started(self, index: int) -> None:
        progress = self._progress[index]
        if progress.started:
            return
        progress.started = True
        self._state.update_batch(index, status=BatchStatus.RUNNING)
        self._emit(ev.BatchStarted(batch=self.plan.batches[index].number, users=len(self.plan.batches[index].users)))

    async def _user_step(self, work: UserWork) -> None:
        self._mark_batch_started(work.batch_index)
        work.attempts += 1

        if work.must_look_up:
            found = await self._look_up(work, primary=True)
            if isinstance(found, _Retry):
                self._schedule_retry(work, found)
                return
            if found is not None:
                self._finish_found(work, found)
                return
            work.must_look_up = False
            primary = False
        else:
            primary = True

        waiting = await self._resolve_manager(work, primary=primary)
        if waiting is _WAIT_FOR_MANAGER:
            return
        if waiting is not None:
            self._schedule_retry(work, waiting)
            return

        verdict = await self._create(work, primary=primary)
        if isinstance(verdict, _Retry):
            self._schedule_retry(work, verdict)

    async def _create(self, work: UserWork, *, primary: bool) -> _Retry | None:
        url = self._users_endpoint
        try:
            reply = await self._send(
                "POST", url, content=work.body(), primary=primary, user_name=work.user.user_name, sending=[work]
            )
        except (httpx.HTTPError, ResponseTooLarge) as error:
            return self._transport_failure(work, error)

        status = reply.status
        if 200 <= status < 300:
            document = parse_json(reply.body) if reply.is_json else None
            new_id = resource_id(document, reply.headers.get("location"))
            if new_id:
                self._finish(work, Outcome.CREATED, resource_id=new_id)
                return None
            work.must_look_up = True
            return self._note_error(work, status, None, "the server answered 2xx without identifying the resource", retriable=True, delay=0.0)

        info = read_error(parse_json(reply.body), reply.body)
        if status == 409:
            return await self._resolve_conflict(work, info.detail, info.scim_type)
        return self._classify_failure(work, reply, info.scim_type, info.detail)

    async def _resolve_conflict(self, work: UserWork, detail: str | None, scim_type: str | None = None) -> _Retry | None:
        work.conflict = True
        found = await self._look_up(work, primary=False)
        if isinstance(found, _Retry):
            work.must_look_up = True
            return found
        if found is None:
            self._fail(
                work, 409, scim_type,
                f"409 conflict ({detail or 'no detail'}), but no user with this userName was found, "
                "active or inactive; another attribute may be taken, or the user was deleted",
                retriable=False,
            )
            return None
        self._finish(work, Outcome.EXISTED, resource_id=found.id, detail="already on the server (409)")
        return None

    def _classify_failure(self, work: UserWork, reply: Reply, scim_type: str | None, detail: str | None) -> _Retry | None:
        status = reply.status
        if status == 429:
            delay = self._start_backoff(reply, f"429 for {work.user.user_name}")
            return self._note_error(work, status, scim_type, detail or "rate limited", retriable=True, delay=delay)
        if status == 403:
            self._forbidden([work], scim_type, detail)
            return None
        if status in RETRIABLE_STATUSES or status >= 500:
            # A 5xx or 408 may arrive after the server stored the user.
            work.must_look_up = True
            retry_after = parse_retry_after(reply.headers.get("retry-after"), now=self._server_now())
            return self._note_error(work, status, scim_type, detail or f"HTTP {status}", retriable=True, delay=retry_after)
        if status == 413:
            self._fail(work, status, scim_type, detail or "the user's payload is larger than the server accepts", retriable=False)
            return None
        self._fail(work, status, scim_type, detail or f"HTTP {status}", retriable=False)
        return None

    def _forbidden(self, works: list[UserWork], scim_type: str | None, detail: str | None) -> None:
        """Hold users whose create returned 403 until later responses tell a missing permission from a refused user.

        A 403 is permanent for its user, unless 403s keep coming: then the
        client lacks a permission, the run pauses, and the held users are
        sent again after the operator resumes.
        """
        for work in works:
            self._note_error(work, 403, scim_type, detail or "forbidden", retriable=True, delay=None)
            self._forbidden_held.append(work)
        self._count_forbidden()

    def _count_forbidden(self) -> None:
        self._forbidden_streak += 1
        if self._forbidden_streak < self.settings.permission_error_streak or self.paused or self._cancelled:
            return
        text = (
            f"{self._forbidden_streak} requests in a row returned 403 Forbidden: the credentials most likely "
            f"lack a permission to create users. "
        )
        if self.target.kind == "genesys":
            text += (
                "On Genesys Cloud that is directory:user:add in a role of the OAuth client, plus routing skill, "
                "language and grant permissions when those attributes are sent. "
            )
        text += "Fix the permissions, then resume."
        log.error(text)
        self._emit(ev.RunMessage(level="error", text=text))
        self.pause(reason="permission denied (403)")
        held, self._forbidden_held = self._forbidden_held, []
        for work in held:
            # Not the user's fault: the 403 costs no attempt.
            work.attempts -= 1
            self._retry_queue.push(work, time.monotonic())

    def _settle_forbidden(self) -> None:
        """Fail the held users: responses other than 403 showed that the permission problem was theirs alone."""
        held, self._forbidden_held = self._forbidden_held, []
        for work in held:
            self._fail(work, 403, work.last_scim_type, work.last_detail or "forbidden", retriable=True)

    def _transport_failure(self, work: UserWork, error: Exception) -> _Retry:
        if not (isinstance(error, httpx.HTTPError) and never_reached_server(error)):
            work.must_look_up = True
        reason = describe_transport_error(error)
        log.warning("request for %s failed: %s", work.user.user_name, reason)
        return self._note_error(work, None, None, reason, retriable=True, delay=None)

    def _note_error(self, work: UserWork, status: int | None, scim_type: str | None, detail: str, *, retriable: bool, delay: float | None) -> _Retry:
        work.last_status = status
        work.last_scim_type = scim_type
        work.last_detail = detail
        work.last_retriable = retriable
        self._progress[work.batch_index].last_error = f"{status or ''} {detail}".strip()
        return _Retry(reason=f"{status} {detail}" if status else detail, delay=delay)

    def _schedule_retry(self, work: UserWork, verdict: _Retry) -> None:
        if work.attempts >= self.settings.max_attempts:
            self._fail(work, work.last_status, work.last_scim_type, work.last_detail or verdict.reason, retriable=work.last_retriable)
            return
        delay = verdict.delay
        if delay is None:
            delay = backoff_delay(work.attempts, base=self.settings.backoff_base, cap=self.settings.backoff_cap, rng=self._rng)
        self._requeue(work, work.batch_index, delay, verdict.reason, work.user.user_name, work.attempts)

    def _requeue(self, item: UserWork | BulkWork, batch_index: int, delay: float, reason: str, user_name: str | None, attempt: int) -> None:
        self._retry_queue.push(item, time.monotonic() + delay)
        self._state.retries += 1
        progress = self._progress[batch_index]
        progress.retries += 1
        self._state.update_batch(batch_index, retries=progress.retries, last_error=progress.last_error)
        log.info("retrying %s in %.2f s (attempt %d): %s", user_name or f"batch {batch_index + 1}", delay, attempt + 1, reason)
        self._emit(
            ev.RequestRetried(
                batch=self.plan.batches[batch_index].number, user_name=user_name, reason=reason, delay=delay, attempt=attempt + 1
            )
        )
        self._wake.set()

    # ---------------------------------------------------------------- managers

    def _users_url(self) -> str:
        return f"{self.target.base_url}/{self.target.users_path}"

    @functools.cached_property
    def _users_endpoint(self) -> httpx.URL:
        """The Users endpoint, parsed once: httpx would parse a string again for every create."""
        return httpx.URL(self._users_url())

    async def _resolve_manager(self, work: UserWork, *, primary: bool) -> _Retry | object | None:
        """Splice the manager's id into the payload.

        Returns _WAIT_FOR_MANAGER when the user was set aside until its manager,
        who is in this run, has an outcome; a _Retry when a manager lookup failed.
        """
        if self._take_manager_from_directory(work):
            return None
        manager = work.user.manager

        if self._managers.pending(manager) and not work.manager_wait_over:
            # Waiting for a manager costs no attempt: the user has not been sent.
            work.attempts -= 1
            self._waiting_for_manager.setdefault(manager.casefold(), []).append(work)
            return _WAIT_FOR_MANAGER

        if not self._managers.pending(manager):
            probe = UserWork(PlannedUser(work.user.row, manager, b""), work.batch_index)
            found = await self._look_up(probe, primary=primary)
            if isinstance(found, _Retry):
                return found
            self._managers.record(manager, found.id if found is not None else None)
        self._splice_manager(work, self._managers.id_of(manager))
        return None

    def _take_manager_from_directory(self, work: UserWork) -> bool:
        """Resolve the manager without a request if possible; False when the user must wait or look up."""
        manager = work.user.manager
        if not manager or work.manager_resolved:
            return True
        if is_manager_id(manager):
            self._splice_manager(work, manager)
            return True
        if not self._managers.known(manager):
            return False
        self._splice_manager(work, self._managers.id_of(manager))
        return True

    def _splice_manager(self, work: UserWork, manager_id: str | None) -> None:
        """Put ``manager_id`` into the user's payload, or note why the user goes without a manager."""
        work.manager_resolved = True
        if manager_id is not None:
            work.payload = with_manager(work.user.payload, manager_id, self._users_url())
            return

        manager = work.user.manager
        if self._managers.pending(manager):
            work.note = (
                f"manager {manager} had no id yet because the managers in this file name each other in a cycle, "
                "so the user was sent without a manager"
            )
        else:
            work.note = f"manager {manager} was not found on the server, so the user was sent without a manager"
        log.warning("%s (row %d): %s", work.user.user_name, work.user.row, work.note)

    # ------------------------------------------------------------------ lookup

    async def _look_up(self, work: UserWork, *, primary: bool):
        """Find the user by userName: a FoundUser, None when absent, or a _Retry on failure."""
        url = f"{self.target.base_url}/{self.target.users_path}"
        count = str(min(10, self.target.max_page_size or 10))
        for scim_filter in self.target.lookup_filters(work.user.user_name):
            try:
                reply = await self._send(
                    "GET", url, params={"filter": scim_filter, "startIndex": "1", "count": count},
                    primary=primary, user_name=work.user.user_name,
                )
            except (httpx.HTTPError, ResponseTooLarge) as error:
                return self._note_error(work, None, None, f"lookup failed: {describe_transport_error(error)}", retriable=True, delay=None)
            primary = False

            if reply.status == 200:
                found = first_listed_user(parse_json(reply.body), work.user.user_name)
                if found is not None:
                    return found
                continue
            info = read_error(parse_json(reply.body), reply.body)
            if reply.status == 429:
                delay = self._start_backoff(reply, f"429 on lookup of {work.user.user_name}")
                return self._note_error(work, 429, info.scim_type, info.detail or "rate limited", retriable=True, delay=delay)
            if reply.status == 403:
                self._count_forbidden()
                return self._note_error(work, 403, info.scim_type, f"lookup forbidden: {info.detail or 'HTTP 403'}", retriable=True, delay=None)
            retriable = reply.status in RETRIABLE_STATUSES or reply.status >= 500
            return self._note_error(
                work, reply.status, info.scim_type, f"lookup failed: {info.detail or 'HTTP ' + str(reply.status)}",
                retriable=retriable, delay=None,
            )
        return None

    def _finish_found(self, work: UserWork, found) -> None:
        """Record a user found after an uncertain create: ours if the server made it after our first try."""
        outcome = Outcome.CREATED
        detail = "creation confirmed by lookup after an uncertain answer"
        created_epoch = _parse_timestamp(found.created)
        if work.conflict:
            outcome = Outcome.EXISTED
            detail = "already on the server (409)"
        elif created_epoch is not None and work.first_sent_epoch is not None:
            if created_epoch < work.first_sent_epoch + self._server_skew - CREATED_TOLERANCE:
                outcome = Outcome.EXISTED
                detail = "already on the server (found by lookup)"
        elif work.first_sent_epoch is None:
            outcome = Outcome.EXISTED
            detail = "already on the server (found by lookup)"
        self._finish(work, outcome, resource_id=found.id, detail=detail)

    # -------------------------------------------------------------------- bulk

    async def _bulk_step(self, item: BulkWork) -> None:
        self._mark_batch_started(item.batch_index)
        unresolved = [work for work in item.users if not self._take_manager_from_directory(work)]
        if unresolved:
            # Users whose manager has no id yet go one by one, after their manager.
            item.users = [work for work in item.users if work not in unresolved]
            for work in unresolved:
                self._retry_queue.push(work, time.monotonic())
            self._wake.set()
            if not item.users:
                return
        for work in item.users:
            work.attempts += 1

        by_bulk_id: dict[str, UserWork] = {}
        operations = []
        for work in item.users:
            bulk_id = f"u{next(self._bulk_ids)}"
            by_bulk_id[bulk_id] = work
            operations.append(
                b'{"method":"POST","path":"/' + self.target.users_path.encode() + b'","bulkId":'
                + json.dumps(bulk_id).encode() + b',"data":' + work.body() + b"}"
            )
        body = b'{"schemas":["' + BULK_REQUEST_SCHEMA.encode() + b'"],"Operations":[' + b",".join(operations) + b"]}"

        url = f"{self.target.base_url}/Bulk"
        try:
            reply = await self._send("POST", url, content=body, primary=True, user_name=None, sending=item.users)
        except (httpx.HTTPError, ResponseTooLarge) as error:
            for work in item.users:
                self._schedule_retry(work, self._transport_failure(work, error))
            return

        if reply.status == 413:
            self._split_bulk(item)
            return
        if not 200 <= reply.status < 300:
            info = read_error(parse_json(reply.body), reply.body)
            if reply.status == 403:
                self._forbidden(item.users, info.scim_type, info.detail)
                return
            if reply.status == 429:
                delay = self._start_backoff(reply, f"429 on Bulk request for batch {item.batch_index + 1}")
                for work in item.users:
                    self._note_error(work, 429, info.scim_type, info.detail or "rate limited", retriable=True, delay=delay)
                self._retry_bulk(item.users, item.batch_index, delay, "429 on Bulk request")
                return
            for work in item.users:
                verdict = self._classify_failure(work, reply, info.scim_type, info.detail)
                if verdict is not None:
                    self._schedule_retry(work, verdict)
            return

        await self._read_bulk_response(item, reply, by_bulk_id)

    async def _read_bulk_response(self, item: BulkWork, reply: Reply, by_bulk_id: dict[str, UserWork]) -> None:
        document = parse_json(reply.body)
        operations = document.get("Operations") if isinstance(document, dict) else None
        if not isinstance(operations, list):
            operations = []

        answered: set[str] = set()
        regroup: list[UserWork] = []
        conflicts: list[tuple[UserWork, str | None, str | None]] = []
        for operation in operations:
            if not isinstance(operation, dict):
                continue
            bulk_id = operation.get("bulkId")
            work = by_bulk_id.get(bulk_id) if isinstance(bulk_id, str) else None
            if work is None or bulk_id in answered:
                log.warning("Bulk response names an unknown or repeated bulkId %r; ignored", bulk_id)
                continue
            answered.add(bulk_id)

            status = parse_status(operation.get("status"))
            response = operation.get("response")
            if status is not None and 200 <= status < 300:
                new_id = resource_id(response, operation.get("location"))
                if new_id:
                    self._finish(work, Outcome.CREATED, resource_id=new_id)
                else:
                    work.must_look_up = True
                    self._schedule_retry(work, self._note_error(work, status, None, "Bulk operation succeeded without identifying the resource", retriable=True, delay=0.0))
                continue

            info = read_error(response)
            if status == 409:
                # Resolved after every result of this response is recorded: a
                # lookup can stop the run, and results in hand must not be lost.
                conflicts.append((work, info.detail, info.scim_type))
            elif status == 429:
                self._note_error(work, 429, info.scim_type, info.detail or "rate limited", retriable=True, delay=None)
                regroup.append(work)
            elif status is None or status >= 500 or status == 408:
                work.must_look_up = True
                self._schedule_retry(work, self._note_error(work, status, info.scim_type, info.detail or f"Bulk operation status {operation.get('status')!r}", retriable=True, delay=None))
            else:
                self._fail(work, status, info.scim_type, info.detail or f"HTTP {status}", retriable=False)

        missing = [work for bulk_id, work in by_bulk_id.items() if bulk_id not in answered]
        if missing:
            # A server that stops at failOnErrors leaves later operations out: they
            # were not processed, so they go back without costing an attempt, unless
            # the response processed nothing at all.
            if answered:
                for work in missing:
                    work.attempts -= 1
            for work in missing:
                self._note_error(work, None, None, "operation missing from the Bulk response (not processed)", retriable=True, delay=None)
            regroup.extend(missing)
        if regroup:
            self._retry_bulk(regroup, item.batch_index, None, f"{len(regroup)} operations to send again")

        for work, detail, scim_type in conflicts:
            verdict = await self._resolve_conflict(work, detail, scim_type)
            if verdict is not None:
                self._schedule_retry(work, verdict)

    def _retry_bulk(self, users: list[UserWork], batch_index: int, delay: float | None, reason: str) -> None:
        keep: list[UserWork] = []
        for work in users:
            if work.attempts >= self.settings.max_attempts:
                self._fail(work, work.last_status, work.last_scim_type, work.last_detail or reason, retriable=work.last_retriable)
            else:
                keep.append(work)
        if not keep:
            return
        if delay is None:
            attempt = max(work.attempts for work in keep)
            delay = backoff_delay(attempt, base=self.settings.backoff_base, cap=self.settings.backoff_cap, rng=self._rng)
        self._requeue(BulkWork(keep, batch_index), batch_index, delay, reason, None, max(work.attempts for work in keep))

    def _split_bulk(self, item: BulkWork) -> None:
        for work in item.users:
            work.attempts -= 1
        if len(item.users) == 1:
            # bulk.maxPayloadSize does not apply to POST /Users, so the user goes alone.
            self._ready.appendleft(item.users[0])
            self._wake.set()
            return
        middle = len(item.users) // 2
        halves = [BulkWork(item.users[:middle], item.batch_index), BulkWork(item.users[middle:], item.batch_index)]
        log.info("Bulk request of %d operations returned 413; sending it again in two halves", len(item.users))
        self._emit(ev.BatchSplit(batch=self.plan.batches[item.batch_index].number, operations=len(item.users)))
        for half in reversed(halves):
            self._ready.appendleft(half)
        self._wake.set()

    # ---------------------------------------------------------------- sending

    async def _send(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
        primary: bool,
        user_name: str | None,
        sending: list[UserWork] | None = None,
    ) -> Reply:
        """Send one request once pause, backoff and pacing allow, refreshing credentials once on 401.

        ``sending`` are the users a create carries. They are recorded as sending
        only once the request's turn has come, so that a run cancelled while
        waiting leaves them pending rather than in doubt.
        """
        refreshed = False
        while True:
            sequence = await self._wait_for_turn(primary)
            if sending:
                self._recorder.users_sending([work.user.row for work in sending])
                now = time.time()
                for work in sending:
                    if work.first_sent_epoch is None:
                        work.first_sent_epoch = now
                sending = None
            try:
                headers = await self.target.auth_headers(self._client)
            except TokenRequestFailed as error:
                if error.retriable:
                    raise CredentialsUnavailable(str(error)) from error
                raise CredentialsRejected(str(error)) from error
            self._state.requests_sent += 1
            self._requests_in_flight += 1
            try:
                reply = await exchange(
                    self._client, method, url, headers=headers, content=content, params=params,
                    max_bytes=self.settings.max_response_bytes,
                )
            except httpx.TimeoutException:
                self._state.requests_by_status["timeout"] += 1
                raise
            except (httpx.HTTPError, ResponseTooLarge):
                self._state.requests_by_status["transport error"] += 1
                raise
            finally:
                self._requests_in_flight -= 1
            self._observe(sequence, reply)

            if reply.status != 401:
                return reply
            if refreshed:
                raise CredentialsRejected(
                    f"{url} returned 401 twice in a row, before and after fetching new credentials; "
                    "check the client's credentials and roles"
                )
            log.info("401 for %s; refreshing credentials and trying once more", user_name or url)
            try:
                refreshed_ok = await self.target.refresh_credentials(self._client, headers)
            except TokenRequestFailed as error:
                if error.retriable:
                    raise CredentialsUnavailable(str(error)) from error
                raise CredentialsRejected(str(error)) from error
            if not refreshed_ok:
                raise CredentialsRejected(f"{url} returned 401 and the target cannot refresh its credentials; check the token")
            refreshed = True
            primary = False

    async def _wait_for_turn(self, primary: bool) -> int:
        while True:
            if self._cancelled and primary:
                raise _Abandoned()
            if not self._unpaused.is_set():
                try:
                    await asyncio.wait_for(self._unpaused.wait(), WAIT_SLICE)
                except TimeoutError:
                    pass
                continue

            async with self._pace_lock:
                now = time.monotonic()
                wait = max(self._backoff_until - now, self._pacer.delay())
                if wait <= 0:
                    self._end_backoff_if_over(now)
                    return self._pacer.next_sequence()
            await asyncio.sleep(min(wait, WAIT_SLICE))

    def _observe(self, sequence: int, reply: Reply) -> None:
        self._state.requests_by_status[str(reply.status)] += 1
        self._pacer.observe(sequence, read_rate_limit(reply.headers))
        server_time = reply.server_time()
        if server_time is not None:
            self._server_skew = server_time - time.time()
        if reply.status < 500 and reply.status not in (401, 403, 408, 429):
            self._forbidden_streak = 0
            if self._forbidden_held:
                self._settle_forbidden()

    def _server_now(self) -> datetime:
        """Return the server's current time as its Date headers show it, for HTTP-date Retry-After values."""
        return datetime.fromtimestamp(time.time() + self._server_skew, tz=timezone.utc)

    def _start_backoff(self, reply: Reply, reason: str) -> float:
        """Stop all sending after a 429 and return the delay chosen."""
        self._state.throttled += 1
        delay = parse_retry_after(reply.headers.get("retry-after"), now=self._server_now())
        if delay is None:
            attempt = min(self._state.throttled, 10)
            delay = backoff_delay(attempt, base=max(1.0, self.settings.backoff_base), cap=self.settings.backoff_cap, rng=self._rng)
            source = "no Retry-After, exponential backoff"
        else:
            delay = min(delay, self.settings.retry_after_cap)
            source = "Retry-After"
        now = time.monotonic()
        until = now + delay
        if until > self._backoff_until:
            extension = until - max(now, self._backoff_until)
            self._state.total_backoff += extension
            self._backoff_until = until
            self._state.backoff_until = until
            self._state.backoff_reason = reason
            if self._backoff_started is None:
                self._backoff_started = now
            log.warning("%s: all sending paused for %.2f s (%s)", reason, delay, source)
            self._emit(ev.BackoffStarted(reason=f"{reason} ({source})", delay=delay))
        return delay

    def _end_backoff_if_over(self, now: float) -> None:
        if self._backoff_started is not None and now >= self._backoff_until:
            waited = now - self._backoff_started
            self._backoff_started = None
            self._emit(ev.BackoffEnded(waited=waited))

    # ---------------------------------------------------------------- outcomes

    def _fail(self, work: UserWork, status: int | None, scim_type: str | None, detail: str, *, retriable: bool) -> None:
        log.warning("%s (row %d) failed: %s", work.user.user_name, work.user.row, detail)
        self._emit(ev.UserFailed(batch=self.plan.batches[work.batch_index].number, row=work.user.row, user_name=work.user.user_name, status=status, detail=detail))
        self._finish(work, Outcome.FAILED, status=status, scim_type=scim_type, detail=detail, retriable=retriable)

    def _finish(
        self,
        work: UserWork,
        outcome: Outcome,
        *,
        resource_id: str | None = None,
        status: int | None = None,
        scim_type: str | None = None,
        detail: str | None = None,
        retriable: bool = False,
        result: UserResult | None = None,
        record: bool = True,
    ) -> None:
        if work.user.row in self._results:
            return
        if result is None:
            result = UserResult(
                row=work.user.row,
                user_name=work.user.user_name,
                outcome=outcome,
                resource_id=resource_id,
                status=status,
                scim_type=scim_type,
                detail=detail,
                attempts=work.attempts,
                retriable=retriable,
            )
        if result.detail is None and work.note:
            result.detail = work.note
        self._results[work.user.row] = result
        self._managers.record(work.user.user_name, result.resource_id if result.outcome in (Outcome.CREATED, Outcome.EXISTED) else None)
        if work.user.user_name and self._waiting_for_manager:
            released = self._waiting_for_manager.pop(work.user.user_name.casefold(), None)
            if released:
                self._ready.extendleft(reversed(released))
                self._wake.set()
        self._state.counts[result.outcome] += 1
        if record:
            self._recorder.user_finished(result)

        progress = self._progress[work.batch_index]
        progress.pending -= 1
        if result.outcome is Outcome.CREATED:
            progress.created += 1
        elif result.outcome is Outcome.EXISTED:
            progress.existed += 1
        elif result.outcome is Outcome.FAILED:
            progress.failed += 1
            progress.last_error = detail or progress.last_error
        else:
            progress.not_attempted += 1

        number = self.plan.batches[work.batch_index].number
        status_now = BatchStatus.RUNNING if progress.started else BatchStatus.QUEUED
        if progress.pending == 0:
            status_now = _final_batch_status(progress)
        self._state.update_batch(
            work.batch_index,
            status=status_now,
            created=progress.created,
            existed=progress.existed,
            failed=progress.failed,
            not_attempted=progress.not_attempted,
            last_error=progress.last_error,
        )
        if progress.pending == 0:
            self._emit(ev.BatchFinished(batch=number, status=str(status_now), created=progress.created, existed=progress.existed, failed=progress.failed))
        else:
            self._emit(ev.BatchProgress(batch=number, created=progress.created, existed=progress.existed, failed=progress.failed, pending=progress.pending))


def _final_batch_status(progress: _BatchProgress) -> BatchStatus:
    succeeded = progress.created + progress.existed
    if progress.failed == 0 and progress.not_attempted == 0:
        return BatchStatus.DONE
    if succeeded == 0 and progress.not_attempted == 0:
        return BatchStatus.FAILED
    if succeeded == 0 and progress.failed == 0 and not progress.started:
        # Cancelled before any of its users was sent.
        return BatchStatus.QUEUED
    return BatchStatus.PARTIAL


def _parse_timestamp(value: str | None) -> float | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
