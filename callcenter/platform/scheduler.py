"""Periodic jobs run inside the backend, with their state and a lease in the database (decision 28)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from db.engine import is_database_outage
from db.models import ScheduledJob, utcnow

log = logging.getLogger(__name__)

JobFunction = Callable[[], Awaitable[object] | object]
_ERROR_LENGTH = 1000
_TABLE: sa.Table = ScheduledJob.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: JobFunction


@dataclass(frozen=True)
class JobLag:
    """How late a job is: seconds past its ``next_run_at`` (0 while not yet due; a run in progress counts, since
    the next run is set only when it ends), and whether its last run failed."""

    name: str
    lag_seconds: float
    failing: bool


def default_owner() -> str:
    """Host, process and a random part: a restarted process with a reused pid is still someone else."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Scheduler:
    """Runs registered jobs when they are due; any number of backend processes may run one on the same database.

    Each tick reads which registered jobs are due, then claims each with a compare-and-set ``UPDATE`` (due and
    nobody's lease current): only the process whose update changed the row runs the job, the others see zero
    rows. The lease is renewed while the job runs, and ``next_run_at`` moves on only when it ends, so a job
    interrupted by a crash or a shutdown is due again at the next start (or when its lease runs out elsewhere).
    """

    def __init__(
        self,
        *,
        engine: Engine,
        tick_seconds: float = 5.0,
        lease: timedelta = timedelta(minutes=5),
        owner: str | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._tick = tick_seconds
        self._lease = lease
        self.owner = owner or default_owner()
        self._now = now
        self._jobs: dict[str, Job] = {}
        self._known: set[str] = set()  # jobs whose row this scheduler has made sure of
        self._running: dict[str, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None

    def register(self, *, name: str, every: timedelta, run: JobFunction) -> None:
        """Add a job (before or after start). ``run`` may be sync (run in a thread) or async. A new job is due
        at once; a job the database already knows keeps its schedule, so a restart does not run it early."""
        if name in self._jobs:
            raise ValueError(f"a job named {name!r} is already registered")
        if every <= timedelta(0):
            raise ValueError("a job's interval must be positive")
        if len(name) > 64:
            raise ValueError("a job's name has at most 64 characters")
        self._jobs[name] = Job(name=name, every=every, run=run)

    @property
    def job_names(self) -> list[str]:
        return sorted(self._jobs)

    def job(self, name: str) -> Job:
        return self._jobs[name]

    @property
    def is_running(self) -> bool:
        return self._loop_task is not None

    def lags(self, now: datetime | None = None) -> list[JobLag]:
        """Each registered job's lag, read from its row by primary key. Rows of jobs no longer registered are left
        out (a renamed job would look late forever), as are jobs without a row yet (before the first tick)."""
        moment = now or self._now()
        names = list(self._jobs)
        if not names:
            return []
        with self._engine.connect() as connection:
            rows = connection.execute(
                sa.select(_TABLE.c.name, _TABLE.c.next_run_at, _TABLE.c.last_error).where(_TABLE.c.name.in_(names))
            ).all()
        return [JobLag(name=row.name, lag_seconds=max((moment - row.next_run_at).total_seconds(), 0.0),
                       failing=row.last_error is not None) for row in sorted(rows)]

    async def start(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._loop(), name="scheduler")
            log.info("Scheduler started as %s with jobs %s", self.owner, ", ".join(self.job_names) or "(none)")

    async def stop(self, *, grace: float = 5.0) -> None:
        """Stop ticking; give running jobs ``grace`` seconds, then cancel them (they are due again at the next
        start, since their ``next_run_at`` only moves when a run ends)."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        running = list(self._running.values())
        if running:
            _, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def run_due(self, now: datetime | None = None) -> list[str]:
        """One tick: claim and run every due job, waiting until they end; returns the names this process ran.
        (The loop does the same without waiting, so a long job does not hold up the others.)"""
        tasks = await self._start_due(now)
        await asyncio.gather(*tasks, return_exceptions=True)
        return [task.get_name() for task in tasks]

    async def _loop(self) -> None:
        database_away = False
        while True:
            try:
                await self._start_due(None)
            except Exception as exc:  # the database away for a moment must not end the schedule
                if not is_database_outage(exc):
                    log.exception("Scheduler tick failed; trying again in %g s", self._tick)
                elif not database_away:  # one line per outage, not a traceback per tick
                    log.warning("Scheduler: the database is unavailable (%s); trying every %g s",
                                type(exc).__name__, self._tick)
                database_away = database_away or is_database_outage(exc)
            else:
                if database_away:
                    log.info("Scheduler: the database is back")
                database_away = False
            await asyncio.sleep(self._tick)

    async def _start_due(self, now: datetime | None) -> list[asyncio.Task[None]]:
        moment = now or self._now()
        jobs = list(self._jobs.values())  # a snapshot: register() may add one while the threads below read
        await asyncio.to_thread(self._ensure_rows, [job for job in jobs if job.name not in self._known], moment)
        started: list[asyncio.Task[None]] = []
        for name in await asyncio.to_thread(self._due_names, [job.name for job in jobs], moment):
            if name in self._running:  # still running here (its lease is ours and renewed): not due twice
                continue
            if not await self._claim_or_release(name, moment):
                continue  # another process was quicker
            task = asyncio.create_task(self._run(self._jobs[name], moment), name=name)
            self._running[name] = task
            task.add_done_callback(self._forget)
            started.append(task)
        return started

    def _forget(self, task: asyncio.Task[None]) -> None:
        if self._running.get(task.get_name()) is task:
            del self._running[task.get_name()]

    async def _claim_or_release(self, name: str, now: datetime) -> bool:
        """The claim, not abandoned half-way by a shutdown: a lease taken just as we stop is given back at once
        rather than left to expire, so the next start runs the job without waiting."""
        claim = asyncio.ensure_future(asyncio.to_thread(self._claim, name, now))
        try:
            return await asyncio.shield(claim)
        except asyncio.CancelledError:
            if await claim:
                self._release(name)
            raise

    def _ensure_rows(self, jobs: list[Job], now: datetime) -> None:
        """A row for each new job: inserted when the database has none (due now); else its interval updated."""
        for job in jobs:
            seconds = job.every.total_seconds()
            try:
                with self._engine.begin() as connection:
                    connection.execute(sa.insert(_TABLE).values(name=job.name, interval_seconds=seconds,
                                                                next_run_at=now))
            except IntegrityError:  # known from an earlier run, or another process inserted it just now
                with self._engine.begin() as connection:
                    connection.execute(sa.update(_TABLE).where(_TABLE.c.name == job.name,
                                                               _TABLE.c.interval_seconds != seconds)
                                       .values(interval_seconds=seconds))
                    # A shortened interval should not wait out the old, longer one.
                    connection.execute(sa.update(_TABLE).where(_TABLE.c.name == job.name,
                                                               _TABLE.c.next_run_at > now + job.every)
                                       .values(next_run_at=now + job.every))
            self._known.add(job.name)

    def _due_names(self, names: list[str], now: datetime) -> list[str]:
        """A plain read first, so that an idle tick writes nothing (SQLite has one writer at a time)."""
        if not names:
            return []
        with self._engine.connect() as connection:
            rows = connection.execute(
                sa.select(_TABLE.c.name).where(
                    _TABLE.c.name.in_(names), _TABLE.c.next_run_at <= now,
                    sa.or_(_TABLE.c.lease_until.is_(None), _TABLE.c.lease_until < now),
                ).order_by(_TABLE.c.next_run_at, _TABLE.c.name)
            ).all()
        return [row.name for row in rows]

    def _claim(self, name: str, now: datetime) -> bool:
        """Compare-and-set: the row changes only if the job is still due and nobody holds a current lease.
        PostgreSQL re-checks the condition after waiting for a concurrent update's lock, SQLite serialises
        writers, so of two processes claiming at once exactly one sees a changed row."""
        with self._engine.begin() as connection:
            result = connection.execute(
                sa.update(_TABLE).where(
                    _TABLE.c.name == name, _TABLE.c.next_run_at <= now,
                    sa.or_(_TABLE.c.lease_until.is_(None), _TABLE.c.lease_until < now),
                ).values(lease_owner=self.owner, lease_until=now + self._lease, last_started_at=now)
            )
            return result.rowcount == 1

    async def _run(self, job: Job, started: datetime) -> None:
        work = asyncio.ensure_future(self._invoke(job))
        try:
            # Renew the lease while the job runs, so a long run is never taken over by another process.
            while not (await asyncio.wait({work}, timeout=self._lease.total_seconds() / 3))[0]:
                try:
                    await asyncio.to_thread(self._renew, job.name)
                except Exception:  # the next renewal may succeed; the lease has time left until then
                    log.exception("Scheduled job %s: could not renew its lease", job.name)
        except asyncio.CancelledError:
            work.cancel()
            with contextlib.suppress(BaseException):
                await work
            self._release(job.name)  # shutting down: due again at the next start, in this process or another
            raise
        error = work.exception()
        if error is not None:
            log.error("Scheduled job %s failed; it runs again in %s", job.name, job.every,
                      exc_info=(type(error), error, error.__traceback__))
        try:
            await asyncio.to_thread(self._finish, job, started, error)
        except Exception:  # the job stays due; it runs again once its lease has run out
            log.exception("Scheduled job %s: could not record the end of its run", job.name)

    async def _invoke(self, job: Job) -> None:
        if inspect.iscoroutinefunction(job.run):
            await job.run()
            return
        result = await asyncio.to_thread(job.run)
        if inspect.isawaitable(result):
            await result

    def _renew(self, name: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(sa.update(_TABLE).where(_TABLE.c.name == name, _TABLE.c.lease_owner == self.owner)
                               .values(lease_until=self._now() + self._lease))

    def _finish(self, job: Job, started: datetime, error: BaseException | None) -> None:
        finished = max(self._now(), started)
        # The next run one interval after this one started; a run longer than the interval is followed by a
        # full interval rather than at once, and runs missed meanwhile are not made up one by one.
        next_run = started + job.every if started + job.every > finished else finished + job.every
        with self._engine.begin() as connection:
            result = connection.execute(
                sa.update(_TABLE).where(_TABLE.c.name == job.name, _TABLE.c.lease_owner == self.owner)
                .values(last_finished_at=finished, next_run_at=next_run, lease_owner=None, lease_until=None,
                        last_error=None if error is None else f"{type(error).__name__}: {error}"[:_ERROR_LENGTH])
            )
        if result.rowcount != 1:
            log.warning("Scheduled job %s ended after its lease had passed to another process", job.name)

    def _release(self, name: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(sa.update(_TABLE).where(_TABLE.c.name == name, _TABLE.c.lease_owner == self.owner)
                               .values(lease_owner=None, lease_until=None))
