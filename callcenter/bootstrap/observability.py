"""The gauges Prometheus reads at scrape time, wired to the parts whose state they show (names: ADR 0081).

State is read when scraped, never kept up to date by every change: in-memory state by one atomic copy, the
database's by one small indexed query (the SMS outbox's queued range, the scheduler's rows by primary key).
"""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine

from callcenter.platform.metrics import GaugeSamples, Metrics
from callcenter.platform.scheduler import Scheduler
from callcenter.telephony.ami_bridge import AmiBridge
from callcenter.telephony.asterisk_actions import AsteriskActions
from callcenter.telephony.call_tracker import CallTracker
from callcenter.telephony.recordings import RecordingStore
from callcenter.tickets.sms import outbox_backlog
from db.models import utcnow
from ivr.agi_server import AgiServer


def watch_process(metrics: Metrics, loop: asyncio.AbstractEventLoop) -> None:
    """Every process: its event loop's tasks (a steady climb is a leak: sessions or timers never ending)."""
    metrics.add_single_gauge("pasokh_asyncio_tasks", "asyncio tasks of this process not yet done",
                             lambda: len(asyncio.all_tasks(loop)))


def watch_ami(metrics: Metrics, ami: AsteriskActions) -> None:
    """Every process: the AMI bridge's state (in a web-only worker, as the telephony process reports it)."""
    metrics.add_single_gauge("pasokh_ami_connected", "1 while connected to Asterisk's AMI and resynced after its boot",
                             lambda: 1.0 if ami.connected else 0.0)


def watch_telephony(
    metrics: Metrics, *, tracker: CallTracker, bridge: AmiBridge, agi: AgiServer, scheduler: Scheduler,
    engine: Engine, recordings: RecordingStore,
) -> None:
    """The process that drives Asterisk and runs the jobs: calls, queues, FastAGI, AMI, SMS, jobs, disk."""
    metrics.add_gauge("pasokh_calls_in_flight", "Citizens' calls now, by line and state (menu, queued, talking)",
                      lambda: {key: float(n) for key, n in tracker.calls_in_flight().items()}, labels=("line", "state"))
    metrics.add_gauge("pasokh_queue_callers_waiting", "Callers waiting in each line's queue",
                      lambda: {(queue,): float(wait.callers) for queue, wait in tracker.queue_waits().items()},
                      labels=("queue",))
    metrics.add_gauge("pasokh_queue_oldest_wait_seconds", "How long the first caller in a queue has waited (0: none)",
                      lambda: {(queue,): wait.oldest_seconds for queue, wait in tracker.queue_waits().items()},
                      labels=("queue",))
    metrics.add_gauge("pasokh_agi_sessions_in_flight", "FastAGI sessions running now, by route",
                      lambda: {(route,): float(n) for route, n in agi.sessions_in_flight().items()},
                      labels=("route",))
    metrics.add_single_gauge("pasokh_ami_events_pending", "AMI events received and not yet handled",
                             lambda: bridge.events_pending)
    metrics.add_single_gauge("pasokh_call_writes_pending",
                             "Call and operator-state records announced and not yet committed (ADR 0084)",
                             lambda: tracker.writes_pending)
    _watch_sms_outbox(metrics, engine)
    _watch_scheduler(metrics, scheduler)
    _watch_disk(metrics, recordings)


def _watch_sms_outbox(metrics: Metrics, engine: Engine) -> None:
    metrics.add_single_gauge("pasokh_sms_outbox_queued", "SMS messages waiting to be sent (not sent, not given up)",
                             lambda: outbox_backlog(engine).queued)

    def oldest() -> float:
        queued_at = outbox_backlog(engine).oldest_queued_at
        return 0.0 if queued_at is None else max((utcnow() - queued_at).total_seconds(), 0.0)

    metrics.add_single_gauge("pasokh_sms_outbox_oldest_queued_seconds",
                             "Age of the oldest SMS message waiting to be sent (0: none)", oldest)


def _watch_scheduler(metrics: Metrics, scheduler: Scheduler) -> None:
    def lag() -> GaugeSamples:
        return {(job.name,): job.lag_seconds for job in scheduler.lags()}

    def failing() -> GaugeSamples:
        return {(job.name,): 1.0 if job.failing else 0.0 for job in scheduler.lags()}

    # "name", not "job": Prometheus gives every scraped series a "job" label of its own (the scrape job's).
    metrics.add_gauge("pasokh_scheduler_job_lag_seconds",
                      "Seconds a periodic job is past its next run (0 until due; a run in progress counts)", lag,
                      labels=("name",))
    metrics.add_gauge("pasokh_scheduler_job_failing", "1 when a periodic job's last run failed", failing,
                      labels=("name",))


def _watch_disk(metrics: Metrics, recordings: RecordingStore) -> None:
    def usage(index: int) -> float | None:
        found = recordings.disk_usage()
        return None if found is None else float(found[index])

    metrics.add_single_gauge("pasokh_recordings_disk_free_bytes",
                             "Free bytes on the file system of the recordings folder", lambda: usage(0))
    metrics.add_single_gauge("pasokh_recordings_disk_size_bytes",
                             "Size in bytes of the file system of the recordings folder", lambda: usage(1))

    def writable() -> float | None:
        found = recordings.can_write()
        return None if found is None else float(found)

    # Asterisk's MixMonitor failing to write leaves the call going on and says nothing to us: this is the sign.
    metrics.add_single_gauge("pasokh_recordings_writable",
                             "1 when a second of audio can be written to the recordings folder, 0 when not "
                             "(disk full, read-only)", writable)
