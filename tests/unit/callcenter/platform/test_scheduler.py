"""The scheduler: job state that survives a restart, one run across processes (the lease), failures recorded and
retried, a clean stop; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from callcenter.bootstrap.services import build_services
from callcenter.platform.scheduler import JobLag, Scheduler
from callcenter.platform.settings import load_settings
from db.engine import make_engine
from db.models import ScheduledJob

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


class Clock:
    """The schedulers' "now", moved by the test instead of waiting."""

    def __init__(self, at: datetime = START) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class Counter:
    def __init__(self) -> None:
        self.runs = 0

    def __call__(self) -> None:
        self.runs += 1


def job_row(engine: sa.Engine, name: str) -> ScheduledJob:
    with Session(engine) as session:
        row = session.get(ScheduledJob, name)
        assert row is not None
        return row


def a_scheduler(engine: sa.Engine, clock: Clock, job: object, *, owner: str = "backend-1",
                every: timedelta = HOUR) -> Scheduler:
    scheduler = Scheduler(engine=engine, owner=owner, now=clock)
    scheduler.register(name="purge", every=every, run=job)  # type: ignore[arg-type]
    return scheduler


async def test_given_a_new_job_when_the_scheduler_first_ticks_then_it_runs_and_is_next_due_one_interval_later(
    engine: sa.Engine,
) -> None:
    clock, job = Clock(), Counter()

    assert await a_scheduler(engine, clock, job).run_due() == ["purge"]

    row = job_row(engine, "purge")
    assert job.runs == 1
    assert (row.interval_seconds, row.next_run_at, row.last_started_at) == (3600, START + HOUR, START)
    assert row.last_finished_at == START and row.last_error is None
    assert (row.lease_owner, row.lease_until) == (None, None)


async def test_given_a_job_that_ran_when_the_backend_restarts_within_its_interval_then_it_does_not_run_again(
    engine: sa.Engine,
) -> None:
    clock, job = Clock(), Counter()
    await a_scheduler(engine, clock, job).run_due()

    clock.at = START + timedelta(minutes=10)
    restarted = a_scheduler(engine, clock, job)  # a new process: nothing in memory, only the database
    assert await restarted.run_due() == []
    clock.at = START + HOUR
    assert await restarted.run_due() == ["purge"]

    assert job.runs == 2


async def test_given_a_job_due_while_the_backend_was_down_when_it_starts_then_the_job_runs_once(
    engine: sa.Engine,
) -> None:
    clock, job = Clock(), Counter()
    await a_scheduler(engine, clock, job).run_due()

    clock.at = START + 5 * HOUR + timedelta(minutes=7)  # four runs missed while down
    restarted = a_scheduler(engine, clock, job)
    assert await restarted.run_due() == ["purge"]
    assert await restarted.run_due() == []  # the missed runs are not made up one by one

    assert job.runs == 2
    assert job_row(engine, "purge").next_run_at == clock.at + HOUR


async def test_given_two_backend_processes_when_both_tick_at_once_then_the_job_runs_in_one_of_them(
    engine: sa.Engine,
) -> None:
    clock, runs = Clock(), []
    release = asyncio.Event()

    async def slow_job() -> None:
        runs.append(1)
        await release.wait()  # still running while the other process ticks

    first, second = (a_scheduler(engine, clock, slow_job, owner=owner) for owner in ("backend-1", "backend-2"))
    ticks = asyncio.gather(first.run_due(), second.run_due())
    for _ in range(200):
        if runs:
            break
        await asyncio.sleep(0.01)
    assert await second.run_due() == [] and await first.run_due() == []  # leased while it runs
    release.set()
    ran = await ticks

    assert len(runs) == 1
    assert sorted(ran, key=len) == [[], ["purge"]]


async def test_given_a_lease_of_a_process_that_died_when_it_expires_then_another_process_takes_the_job(
    engine: sa.Engine,
) -> None:
    clock, job = Clock(), Counter()
    with Session(engine) as session:  # backend-1 claimed it, then crashed mid-run
        session.add(ScheduledJob(name="purge", interval_seconds=3600, next_run_at=START, last_started_at=START,
                                 lease_owner="backend-1", lease_until=START + timedelta(minutes=5)))
        session.commit()
    scheduler = a_scheduler(engine, clock, job, owner="backend-2")

    assert await scheduler.run_due() == []
    clock.at = START + timedelta(minutes=6)
    assert await scheduler.run_due() == ["purge"]

    assert job.runs == 1 and job_row(engine, "purge").lease_owner is None


async def test_given_a_failing_job_when_it_runs_then_the_error_is_recorded_and_it_is_retried_at_its_next_interval(
    engine: sa.Engine, caplog: pytest.LogCaptureFixture,
) -> None:
    clock, attempts = Clock(), []

    def flaky() -> None:
        attempts.append(clock())
        if len(attempts) == 1:
            raise OSError("disk refused")

    scheduler = a_scheduler(engine, clock, flaky)
    assert await scheduler.run_due() == ["purge"]

    failed = job_row(engine, "purge")
    assert failed.last_error == "OSError: disk refused" and failed.next_run_at == START + HOUR
    assert failed.lease_owner is None
    assert "Scheduled job purge failed" in caplog.text
    clock.at = START + timedelta(minutes=59)
    assert await scheduler.run_due() == []
    clock.at = START + HOUR
    assert await scheduler.run_due() == ["purge"]
    assert job_row(engine, "purge").last_error is None
    assert attempts == [START, START + HOUR]


async def test_given_jobs_late_and_on_time_when_their_lags_are_read_then_each_is_its_seconds_past_due(
    engine: sa.Engine,
) -> None:
    clock, job = Clock(), Counter()

    def broken() -> None:
        raise OSError("disk refused")

    scheduler = a_scheduler(engine, clock, job)
    scheduler.register(name="broken", every=HOUR, run=broken)
    assert scheduler.lags() == []  # no rows before the first tick: nothing to say yet
    await scheduler.run_due()
    retired = a_scheduler(engine, clock, job, owner="old-release")
    retired.register(name="renamed-since", every=HOUR, run=job)
    await retired.run_due()

    clock.at = START + HOUR + timedelta(minutes=25)  # both were due at START + HOUR

    assert scheduler.lags() == [JobLag(name="broken", lag_seconds=1500.0, failing=True),
                                JobLag(name="purge", lag_seconds=1500.0, failing=False)]
    assert scheduler.lags(START + timedelta(minutes=30)) == [JobLag(name="broken", lag_seconds=0.0, failing=True),
                                                             JobLag(name="purge", lag_seconds=0.0, failing=False)]


async def test_given_the_loop_when_a_job_keeps_failing_then_the_other_jobs_still_run_and_it_stops_cleanly(
    engine: sa.Engine,
) -> None:
    good, bad_runs = Counter(), []
    on_threads: set[int] = set()

    def bad() -> None:
        on_threads.add(threading.get_ident())
        bad_runs.append(1)
        raise RuntimeError("broken")

    scheduler = Scheduler(engine=engine, owner="backend-1", tick_seconds=0.01)
    scheduler.register(name="good", every=timedelta(milliseconds=20), run=good)
    scheduler.register(name="bad", every=timedelta(milliseconds=20), run=bad)
    await scheduler.start()
    try:
        for _ in range(500):
            if good.runs >= 3 and len(bad_runs) >= 3:
                break
            await asyncio.sleep(0.01)
    finally:
        await scheduler.stop()

    assert good.runs >= 3 and len(bad_runs) >= 3
    assert not scheduler.is_running
    assert threading.get_ident() not in on_threads  # sync jobs run in a thread, never on the event loop


async def test_given_a_job_running_when_the_backend_stops_then_it_is_cancelled_and_due_again_at_the_next_start(
    engine: sa.Engine,
) -> None:
    clock, started = Clock(), asyncio.Event()

    async def endless() -> None:
        started.set()
        await asyncio.Event().wait()

    scheduler = Scheduler(engine=engine, owner="backend-1", tick_seconds=0.01, now=clock)
    scheduler.register(name="purge", every=HOUR, run=endless)
    await scheduler.start()
    await asyncio.wait_for(started.wait(), 5)
    await scheduler.stop(grace=0.05)

    row = job_row(engine, "purge")
    assert (row.lease_owner, row.lease_until, row.last_finished_at) == (None, None, None)
    assert row.next_run_at == START  # never finished: the next start runs it


def test_given_a_job_name_taken_when_registering_it_again_then_it_is_refused(engine: sa.Engine) -> None:
    scheduler = a_scheduler(engine, Clock(), Counter())
    with pytest.raises(ValueError, match="already registered"):
        scheduler.register(name="purge", every=HOUR, run=Counter())


async def test_given_the_backend_when_built_then_the_purge_and_the_escalation_are_jobs_started_only_with_telephony(
    database_url: str, tmp_path: Path,
) -> None:
    settings = load_settings({}, database_url=database_url, state_dir=tmp_path / "state",
                             asterisk_cache_dir=tmp_path / "cache", escalation_interval_seconds=120,
                             recording_purge_interval_seconds=1800)
    services = build_services(settings)
    assert services.telephony is not None  # the "all" role: the jobs live in its telephony container
    scheduler = services.telephony.scheduler
    assert {"recording-purge", "ticket-escalation", "photo-sweep", "rate-limit-purge", "phone-code-purge",
            "meeting-reminders", "complaint-escalation", "complaint-draft-purge",
            "complaint-retention", "address-word-purge"} <= set(scheduler.job_names)
    assert scheduler.job("rate-limit-purge").run() == 0  # runs against the real database: nothing expired yet
    assert scheduler.job("phone-code-purge").run() == 0
    assert scheduler.job("meeting-reminders").run() == 0  # no meeting booked
    assert scheduler.job("complaint-draft-purge").run() == 0
    assert scheduler.job("address-word-purge").run() == 0  # no ticket filed yet
    assert scheduler.job("recording-purge").every == timedelta(seconds=1800)
    assert scheduler.job("ticket-escalation").every == timedelta(seconds=120)
    orphan = tmp_path / "state" / "photos" / f"{'d' * 32}.jpg"  # left by a process killed mid-step, a day ago
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"jpeg")
    os.utime(orphan, (time.time() - 86400, time.time() - 86400))
    assert scheduler.job("photo-sweep").run() == 1
    assert not orphan.exists()

    await services.start(telephony=False)  # a web-only app: no telephony, no jobs
    try:
        assert not scheduler.is_running
    finally:
        await services.stop()
    engine = make_engine(database_url)
    with Session(engine) as session:
        assert session.get(ScheduledJob, "ticket-escalation") is None  # never ran, not even once
    engine.dispose()
