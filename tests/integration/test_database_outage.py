"""PostgreSQL stopped for ten seconds under three operators filing tickets and a liaison acting, over real HTTP
against the real backend on a PostgreSQL of the test's own: every request in the outage is answered 503
database-unavailable (never a 500), /healthz says the database is down, and once it is back each retried
request (the same request_id, the same expected status) is stored exactly once (ADR 0087)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from callcenter.bootstrap.app import create_app
from callcenter.platform.errors import DatabaseUnavailable
from callcenter.platform.settings import load_settings
from db.engine import make_engine, unit_of_work, upgrade_database
from db.models import Category, Role, Ticket, TicketAction, User
from tests.support.ami import AmiObserver, heard
from tests.support.backend import (
    CITIZENS_PORT,
    OPERATOR_1,
    TEST_SECRETS,
    free_port,
    running_backend,
    seed_staff,
    start_serving,
)
from tests.support.console import logged_in_client, operator_in_queue
from tests.support.fixtures import AsteriskUnderTest
from tests.support.private_postgres import PrivatePostgres
from tests.support.sipp import Sipp
from tests.support.ticket_flow import PASSWORD, WASTE, Filed, add_staff, referred_ticket, steps_of

OUTAGE_SECONDS = 10
TICKETS_EACH = 4  # the first before the outage, the others from its start on
RETRY_SECONDS = 0.5  # the console's own pace between tries
OPERATORS = ("outage.op1", "outage.op2", "outage.op3")
CALLER = "09171000187"
# The greeting and the menu after the key, the operator's phone ringing and answering, a moment of talk.
CALL_HOLD_MS = 12_000


@dataclass
class OutageSite:
    url: str
    engine: sa.Engine
    database: PrivatePostgres
    category_id: int
    unit_id: int
    liaison_ticket: Filed


@dataclass
class Tries:
    """What one person's client met on the way: the 503s' error ids, and answers of any other error status."""

    refused: list[str] = field(default_factory=list)
    unexpected: list[tuple[int, str]] = field(default_factory=list)


@pytest.fixture
async def outage_site(private_postgres_server: PrivatePostgres, tmp_path: Path) -> AsyncIterator[OutageSite]:
    database_url = private_postgres_server.url
    upgrade_database(database_url)
    engine = make_engine(database_url)
    seed_staff(engine)
    operator = add_staff(engine, OPERATORS[0], Role.OPERATOR)
    for username in OPERATORS[1:]:
        add_staff(engine, username, Role.OPERATOR)
    add_staff(engine, "outage.liaison", Role.UNIT_LIAISON, unit=WASTE)
    ticket = referred_ticket(engine, by=operator, unit=WASTE)
    with unit_of_work(engine) as session:
        category = session.exec(select(Category).where(Category.line == "137")).first()
        assert category is not None and category.id is not None and category.default_unit_id is not None
        category_id, unit_id = category.id, category.default_unit_id
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                             web_port=free_port(), state_dir=tmp_path / "state")
    server, task = await start_serving(create_app(settings, telephony=False), settings.web_port)
    try:
        yield OutageSite(url=f"http://127.0.0.1:{settings.web_port}", engine=engine,
                         database=private_postgres_server, category_id=category_id, unit_id=unit_id,
                         liaison_ticket=ticket)
    finally:
        server.should_exit = True
        await task
        engine.dispose()


async def until_answered(client: httpx.AsyncClient, path: str, body: dict[str, object], tries: Tries
                         ) -> httpx.Response:
    """Post ``body`` again, unchanged, while the database is away (as the console does), until another answer."""
    while True:
        try:
            response = await client.post(path, json=body, headers={"Accept": "application/json"})
        except httpx.TransportError as exc:  # the backend itself must stay up: counted as unexpected
            tries.unexpected.append((0, type(exc).__name__))
        else:
            if response.status_code != 503:
                return response
            tries.refused.append(response.json()["error_id"])
        await asyncio.sleep(RETRY_SECONDS)


async def operator_files(site: OutageSite, username: str, filed_first: asyncio.Event, outage: asyncio.Event,
                         tries: Tries) -> list[str]:
    """One ticket, then (once the database is gone) the rest, each with its own request_id, retried as it was."""
    client = await logged_in_client(site.url, username, PASSWORD)
    request_ids = [f"{username}-{n}-{uuid.uuid4().hex[:8]}".replace(".", "_") for n in range(TICKETS_EACH)]
    try:
        for number, request_id in enumerate(request_ids):
            if number == 1:
                filed_first.set()
                await outage.wait()
            response = await until_answered(client, "/api/tickets", {
                "category_id": site.category_id, "unit_id": site.unit_id, "request_id": request_id,
                "description": f"چراغ کوچه خاموش است ({number + 1})", "address": "خیابان خیام، کوچه ۵"}, tries)
            if response.status_code != 201:
                tries.unexpected.append((response.status_code, response.text))
    finally:
        await client.aclose()
    return request_ids


async def liaison_accepts(site: OutageSite, outage: asyncio.Event, tries: Tries) -> None:
    client = await logged_in_client(site.url, "outage.liaison", PASSWORD)
    try:
        await outage.wait()
        response = await until_answered(client, f"/api/tickets/{site.liaison_ticket.tracking_code}/actions",
                                        {"action": "accept", "expected_status": "referred"}, tries)
        if response.status_code != 200:
            tries.unexpected.append((response.status_code, response.text))
    finally:
        await client.aclose()


async def test_given_operators_and_a_liaison_at_work_when_postgresql_stops_for_10_s_then_nothing_is_lost_or_doubled(
    outage_site: OutageSite,
) -> None:
    site = outage_site
    outage = asyncio.Event()
    firsts = [asyncio.Event() for _ in OPERATORS]
    operator_tries = [Tries() for _ in OPERATORS]
    liaison_tries = Tries()
    filing = [asyncio.create_task(operator_files(site, name, first, outage, tries))
              for name, first, tries in zip(OPERATORS, firsts, operator_tries, strict=True)]
    acting = asyncio.create_task(liaison_accepts(site, outage, liaison_tries))
    await asyncio.wait_for(asyncio.gather(*(first.wait() for first in firsts)), 30)

    await asyncio.to_thread(site.database.stop)
    outage.set()
    async with httpx.AsyncClient(base_url=site.url) as watcher:
        health_down = (await watcher.get("/healthz")).json()
        await asyncio.sleep(OUTAGE_SECONDS)
        await asyncio.to_thread(site.database.start)
        request_ids = [rid for batch in await asyncio.wait_for(asyncio.gather(*filing), 60) for rid in batch]
        await asyncio.wait_for(acting, 60)
        health_back = (await watcher.get("/healthz")).json()

    assert health_down["database"] != "ok" and health_back["database"] == "ok"
    for tries in (*operator_tries, liaison_tries):
        assert tries.unexpected == []  # no 500, no lost connection, no refusal but the outage's
        assert tries.refused and set(tries.refused) == {DatabaseUnavailable.error_id}  # each met the outage
    with unit_of_work(site.engine) as session:
        stored = session.exec(select(Ticket.request_id).where(col(Ticket.request_id).in_(request_ids))).all()
        filers = {user.id for user in session.exec(select(User).where(col(User.username).in_(OPERATORS))).all()}
        by_operators = session.exec(select(Ticket.id).where(col(Ticket.created_by_id).in_(filers))).all()
    assert sorted(str(rid) for rid in stored) == sorted(request_ids)  # every ticket an operator filed, once
    assert len(by_operators) == len(request_ids) + 1  # and nothing else (the one more: the liaison's referral)
    assert [step[0] for step in steps_of(site.engine, site.liaison_ticket)].count(TicketAction.ACCEPT) == 1


async def test_given_postgresql_stopped_when_a_citizen_calls_137_then_the_menu_answers_and_an_operator_takes_it(
    asterisk: AsteriskUnderTest, private_postgres_server: PrivatePostgres, sipp: Sipp, operator_phones: object,
    ami_observer: AmiObserver,
) -> None:
    upgrade_database(private_postgres_server.url)
    settings = asterisk.settings.model_copy(update={"database_url": private_postgres_server.url,
                                                    "web_port": free_port()})
    async with running_backend(settings) as backend, operator_in_queue(
            backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password):
        await asyncio.to_thread(private_postgres_server.stop)
        try:
            result = await sipp.citizen_calls(caller=CALLER, digits="1", hold_ms=CALL_HOLD_MS,
                                              local_port=CITIZENS_PORT)
            answered = ami_observer.matching(lambda e: e.get("Event") == "DialEnd" and e.get("DialStatus") == "ANSWER"
                                             and e.get("DestChannel", "").startswith(f"PJSIP/{OPERATOR_1.extension}-"))
        finally:
            await asyncio.to_thread(private_postgres_server.start)

    assert result.failed == 0 and result.successful == 1, result.output[-3000:]
    played = heard(ami_observer, CALLER)  # the menu as ever (1 may come during the greeting, skipping the menu)
    assert played[0] == "welcome_137" and played[-1] == "connecting_to_operator", played
    assert answered, "the operator's phone never answered the caller"
