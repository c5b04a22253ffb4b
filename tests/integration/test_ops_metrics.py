"""The metrics an on-call person reads, scraped from a running backend's /metrics: every metric the shipped alert
rules and dashboard use is there, and each moves with what it measures (a real SIP call through the menu, the
queue and an operator; an SMS waiting; a job late; the recordings' disk). ADR 0081."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from callcenter.bootstrap.services import recording_store
from callcenter.tickets.sms import queue_sms
from db.engine import unit_of_work
from db.models import ScheduledJob, utcnow
from tests.support.backend import CITIZENS_PORT, OPERATOR_1, PHONES_PORT, TEST_SECRETS, RunningBackend, free_port
from tests.support.console import operator_in_queue
from tests.support.fixtures import WebBackend
from tests.support.monitoring import exposed_names, used_metric_names
from tests.support.sipp import Sipp

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
WAIT_SECONDS = 40


async def scrape(base_url: str, path: str = "/metrics") -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    return answer.text


def samples(text: str) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(found: Samples, metric: str, /, **labels: str) -> float | None:
    return found.get((metric, frozenset(labels.items())))


async def until_scraped(base_url: str, condition: Callable[[Samples], bool], what: str) -> Samples:
    """Scrape until ``condition`` holds (bounded: a state the call passes through for seconds)."""
    found: Samples = {}
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while not condition(found := samples(await scrape(base_url))):
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"not seen within {WAIT_SECONDS} s: {what}") from None
    return found


async def test_given_a_running_backend_when_scraped_then_every_metric_the_alerts_and_the_dashboard_use_is_there(
    web_backend: WebBackend,
) -> None:
    exposed = exposed_names(await scrape(web_backend.url))
    used = used_metric_names()

    assert len(used) >= 20  # the files were read: their expressions name this many of our metrics
    assert {name: sorted(where) for name, where in used.items() if name not in exposed} == {}


async def test_given_an_sms_waiting_when_scraped_then_the_outbox_backlog_counts_it_and_its_age(
    web_backend: WebBackend,
) -> None:
    before = samples(await scrape(web_backend.url))
    with unit_of_work(web_backend.engine) as session:
        queue_sms(session, to="09121234567", body="کد رهگیری شما: ۱۲۳", key="metrics-test:1")
        message = queue_sms(session, to="09127654321", body="کد رهگیری شما: ۴۵۶", key="metrics-test:2")
        assert message is not None
        message.created_at = utcnow() - timedelta(minutes=40)  # queued while the provider was away
        session.add(message)

    after = samples(await scrape(web_backend.url))

    assert value(before, "pasokh_sms_outbox_queued") == 0
    assert value(before, "pasokh_sms_outbox_oldest_queued_seconds") == 0
    assert value(after, "pasokh_sms_outbox_queued") == 2
    assert (value(after, "pasokh_sms_outbox_oldest_queued_seconds") or 0) >= 40 * 60


async def test_given_a_job_past_its_next_run_when_scraped_then_it_shows_its_lag_and_a_job_not_due_shows_none(
    web_backend: WebBackend,
) -> None:
    now = utcnow()
    with Session(web_backend.engine) as session:  # the scheduler is not ticking here: the rows stay as written
        session.add(ScheduledJob(name="ticket-escalation", interval_seconds=300,
                                 next_run_at=now - timedelta(minutes=25),
                                 last_error="OperationalError: the database was away"))
        session.add(ScheduledJob(name="photo-sweep", interval_seconds=3600, next_run_at=now + timedelta(minutes=5)))
        session.add(ScheduledJob(name="a-job-of-an-older-release", interval_seconds=60,
                                 next_run_at=now - timedelta(days=9)))
        session.commit()

    found = samples(await scrape(web_backend.url))

    assert (value(found, "pasokh_scheduler_job_lag_seconds", name="ticket-escalation") or 0) >= 25 * 60
    assert value(found, "pasokh_scheduler_job_failing", name="ticket-escalation") == 1
    assert value(found, "pasokh_scheduler_job_lag_seconds", name="photo-sweep") == 0
    assert value(found, "pasokh_scheduler_job_failing", name="photo-sweep") == 0
    assert not [key for key in found if ("name", "a-job-of-an-older-release") in key[1]]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_given_a_citizen_call_when_scraped_along_it_then_menu_queue_and_talking_and_fastagi_show_it(
    backend: RunningBackend, sipp: Sipp,
) -> None:
    calls = {state: (lambda s, state=state: value(s, "pasokh_calls_in_flight", line="137", state=state))
             for state in ("menu", "queued", "talking")}

    def idle(found: Samples) -> bool:
        return (all(calls[state](found) == 0 for state in calls)
                and value(found, "pasokh_agi_sessions_in_flight", route="line137") == 0
                and value(found, "pasokh_queue_callers_waiting", queue="line137") == 0)

    assert idle(samples(await scrape(backend.url)))
    # The operator's phone rings three seconds before it answers: the caller waits in the queue meanwhile.
    phones = await sipp.start_phones(local_port=PHONES_PORT, ring_ms=3000)
    try:
        async with operator_in_queue(backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password):
            citizen = asyncio.create_task(sipp.citizen_calls(caller="09121234567", digits="1", hold_ms=12000,
                                                             local_port=CITIZENS_PORT))
            # The call is in the menu from its first channel, the FastAGI session a moment later (after Answer).
            in_menu = await until_scraped(backend.url, lambda s: calls["menu"](s) == 1 and value(
                s, "pasokh_agi_sessions_in_flight", route="line137") == 1, "the call in the voice menu")
            queued = await until_scraped(backend.url, lambda s: calls["queued"](s) == 1, "the caller queued")
            queued_later = await until_scraped(
                backend.url, lambda s: calls["queued"](s) != 1
                or (value(s, "pasokh_queue_oldest_wait_seconds", queue="line137") or 0) >= 1, "a second's wait")
            talking = await until_scraped(backend.url, lambda s: calls["talking"](s) == 1, "the caller answered")
            result = await citizen
            ended = await until_scraped(backend.url, idle, "the call over")
    finally:
        phones.kill()
        await phones.wait()

    assert result.failed == 0, result.output[-3000:]
    assert value(in_menu, "pasokh_calls_in_flight", line="1888", state="menu") == 0
    assert value(queued, "pasokh_queue_callers_waiting", queue="line137") == 1
    assert value(queued, "pasokh_agi_sessions_in_flight", route="line137") == 0  # the menu handed it to the queue
    assert (value(queued_later, "pasokh_queue_oldest_wait_seconds", queue="line137") or 0) >= 1
    assert value(talking, "pasokh_queue_callers_waiting", queue="line137") == 0
    assert value(talking, "pasokh_queue_oldest_wait_seconds", queue="line137") == 0
    assert value(ended, "pasokh_calls_started_total", line="137") == 1
    assert (value(ended, "pasokh_asyncio_tasks") or 0) > 0
    assert value(ended, "pasokh_ami_connected") == 1
    disk = shutil.disk_usage(recording_store(backend.settings).host_dir)
    assert value(ended, "pasokh_recordings_disk_size_bytes") == disk.total
    assert 0 < (value(ended, "pasokh_recordings_disk_free_bytes") or 0) <= disk.total


async def test_given_the_telephony_process_apart_when_scraped_on_its_port_then_it_serves_its_metrics(
    database_url: str, tmp_path: Path,
) -> None:
    """`python -m callcenter telephony` (beside web-only workers) has no console port: its /metrics is its own.
    Asterisk is not needed to serve them: the AMI bridge keeps trying meanwhile."""
    port = free_port()
    environ = {**os.environ, "PASOKH_ENVIRONMENT": "test", "PASOKH_SECRET_KEY": TEST_SECRETS["secret_key"],
               "PASOKH_AMI_SECRET": TEST_SECRETS["ami_secret"], "DATABASE_URL": database_url,
               "PASOKH_STATE_DIR": str(tmp_path), "PASOKH_TELEPHONY_METRICS_PORT": str(port),
               "PASOKH_AMI_PORT": str(free_port()), "PASOKH_AGI_PORT": str(free_port()),
               "PASOKH_ASTERISK_INSTANCE": f"metrics-{port}"}
    environ.pop("REDIS_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "callcenter", "telephony", "--migrated"], env=environ,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        text = await until_served(f"http://127.0.0.1:{port}", process)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.to_thread(process.communicate, timeout=30)

    found = samples(text)
    assert value(found, "pasokh_ami_connected") == 0
    assert value(found, "pasokh_calls_in_flight", line="137", state="menu") == 0
    assert value(found, "pasokh_agi_sessions_in_flight", route="line137") == 0
    assert value(found, "pasokh_sms_outbox_queued") == 0
    assert process.returncode == 0, output.decode(errors="replace")[-3000:]


async def until_served(base_url: str, process: subprocess.Popen[bytes]) -> str:
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            assert process.poll() is None, "the telephony process ended"
            try:
                return await scrape(base_url)
            except httpx.TransportError:  # not listening yet
                await asyncio.sleep(0.2)
