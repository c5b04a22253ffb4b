"""Writes the call tracker's records behind its announcements: in order, in batches of one transaction each, retried."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session

from db.engine import unit_of_work

log = logging.getLogger(__name__)

T = TypeVar("T")
Write = Callable[[Session], Any]

# The database away (down, restarting, a dropped connection, SQLite busy): the batch is tried again, whole.
TRANSIENT = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
RETRY_DELAYS_SECONDS = (0.05, 0.2, 0.5, 1.0, 2.0)  # then every 2 s until the database answers
MAX_BATCH = 500
STOP_TIMEOUT_SECONDS = 10.0


@dataclass
class _Pending:
    write: Write
    done: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class RecordWriter:
    """One writer task: each batch is every write waiting (up to MAX_BATCH), applied in the order submitted, in
    one transaction. A batch that fails because the database is away is retried whole (its transaction rolled
    back, so nothing lands twice) until it lands; a batch that fails for another reason is written one record
    per transaction, so one bad record (logged) does not hold back the others. Nothing waits for a timer: with
    the database keeping up a write lands one round trip after it is submitted; under load the writes that
    arrived during one batch form the next."""

    def __init__(self, *, engine: Engine, retry_delays: Sequence[float] = RETRY_DELAYS_SECONDS,
                 max_batch: int = MAX_BATCH) -> None:
        self._engine = engine
        self._retry_delays = tuple(retry_delays)
        self._max_batch = max_batch
        self._queue: deque[_Pending] = deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._in_flight = 0
        # Its own thread: behind the shared worker threads' queue (FastAGI's database calls, under load a few
        # dozen deep) every batch, and every announcement waiting for one, would wait its turn.
        self._thread: ThreadPoolExecutor | None = None
        self.batches = 0  # how many transactions landed (tests and the bench read it)
        self.failed = 0  # records refused by the database for good (each logged)
        self.lost = 0  # writes still unsaved when the writer was stopped (the database away past the timeout)

    @property
    def pending(self) -> int:
        """Writes submitted and not yet committed: what a crash now would lose."""
        return len(self._queue) + self._in_flight

    def submit(self, write: Callable[[Session], T]) -> asyncio.Future[T]:
        """Queue ``write`` (run in a worker thread, inside the batch's session); its future holds what it returned
        once committed, or the error that made the database refuse it."""
        pending = _Pending(write)
        pending.done.add_done_callback(_retrieve)
        self._queue.append(pending)
        self._ensure_running().set()
        return pending.done

    async def flush(self) -> None:
        """Return once every write submitted so far has landed (or been refused)."""
        if not self._queue and not self._in_flight:
            return
        marker = self.submit(lambda _session: None)
        await asyncio.shield(marker)

    async def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Flush, then end the writer; what could not be written within ``timeout`` is logged as lost."""
        try:
            await asyncio.wait_for(self.flush(), timeout)
        except TimeoutError:
            self.lost = self.pending - 1  # flush's own marker is not a record
            log.error("call records: %d writes not saved at shutdown (database unavailable; "
                      "error_id=call-records-lost-at-shutdown)", self.lost)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._thread is not None:
            self._thread.shutdown(wait=False)
            self._thread = None

    def _ensure_running(self) -> asyncio.Event:
        if self._wakeup is None:
            self._wakeup = asyncio.Event()
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="record-writer")
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return self._wakeup

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self._max_batch))]
                self._in_flight = len(batch)
                try:
                    await self._land(batch)
                finally:
                    self._in_flight = 0

    async def _land(self, batch: list[_Pending]) -> None:
        attempt = 0
        while True:
            try:
                results = await asyncio.get_running_loop().run_in_executor(
                    self._thread, self._write_all, [p.write for p in batch])  # set by _ensure_running
            except TRANSIENT as exc:
                delay = self._retry_delays[min(attempt, len(self._retry_delays) - 1)] if self._retry_delays else 0
                if attempt == 0:
                    log.warning("call records: database unavailable (%s); retrying %d writes", type(exc).__name__,
                                len(batch))
                attempt += 1
                await asyncio.sleep(delay)
                continue
            except Exception as exc:
                if len(batch) > 1:
                    log.warning("call records: a batch of %d was refused; writing them one by one", len(batch))
                    for pending in batch:
                        await self._land([pending])
                    return
                self.failed += 1
                log.exception("call records: a write refused by the database is lost (error_id=call-record-refused)")
                _settle(batch[0].done, error=exc)
                return
            self.batches += 1
            for pending, result in zip(batch, results, strict=True):
                _settle(pending.done, result=result)
            return

    def _write_all(self, writes: list[Write]) -> list[Any]:
        with unit_of_work(self._engine) as session:
            return [write(session) for write in writes]


def _settle(done: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    if done.done():
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(result)


def _retrieve(done: asyncio.Future[Any]) -> None:
    """A refused write is logged by the writer; nobody has to ask its future for the error."""
    if not done.cancelled():
        done.exception()

