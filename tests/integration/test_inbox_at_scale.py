"""A unit holding more open tickets than one query may bind (PostgreSQL refuses past 65,535 parameters): its
liaison's inbox answers page after page over HTTP with the right counts and no overlap, and the escalation job's
round escalates the overdue rounds, batch after batch. SQLite (this build binds up to 250,000) runs the same with
fewer tickets, still more than a page and a batch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col, select

from callcenter.bootstrap.app import create_app
from callcenter.platform.notifier import Notifier
from callcenter.platform.settings import load_settings
from callcenter.tickets import escalation
from callcenter.tickets.escalation import Escalator
from db.engine import unit_of_work
from db.models import Role, TicketEscalation
from tests.support.backend import TEST_SECRETS
from tests.support.console import log_in_sync
from tests.support.ticket_flow import PASSWORD, WASTE, RecordingBus, add_staff, bulk_referred_tickets

# Past PostgreSQL's 65,535 bind parameters: the number the inbox and the job used to put in one IN list.
MANY = {"postgresql": 66_000, "sqlite": 1_200}
STILL_TO_ESCALATE_EVERY = {"postgresql": 10_000, "sqlite": 200}  # the ids whose round is not escalated yet


def many(database_url: str) -> int:
    return MANY["postgresql" if database_url.startswith("postgresql") else "sqlite"]


@pytest.fixture
def liaison_client(engine: sa.Engine, database_url: str) -> Iterator[TestClient]:
    add_staff(engine, "scale.liaison", Role.UNIT_LIAISON, unit=WASTE)
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url)
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as client:
        assert log_in_sync(client, "scale.liaison", PASSWORD).status_code == 303
        yield client


def page(client: TestClient, **params: str) -> dict[str, Any]:
    response = client.get("/api/inbox", params=params, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text[:500]
    return dict(response.json())


def test_given_a_unit_with_more_open_tickets_than_a_query_may_bind_when_its_liaison_pages_then_each_page_answers(
    engine: sa.Engine, database_url: str, liaison_client: TestClient,
) -> None:
    count = many(database_url)
    ids = bulk_referred_tickets(engine, unit=WASTE, count=count, prefix="B",
                                referred_at=datetime.now(UTC) - timedelta(hours=1))

    first = page(liaison_client)
    second = page(liaison_client, after=first["next_cursor"])

    assert len(ids) == count and first["total"] == second["total"] == count
    assert {tab["key"]: tab["count"] for tab in first["tabs"]} == {
        "all": count, "referred": count, "reopened": 0, "accepted": 0}
    assert len(first["items"]) == len(second["items"]) == first["page_size"] == 50
    codes = [item["ticket"]["tracking_code"] for item in first["items"] + second["items"]]
    # Urgent first (every third ticket, from the first), all due at once, so by id: B1, B4, B7…
    assert codes == [f"B{1 + 3 * n}" for n in range(100)]
    assert page(liaison_client, tab="accepted") | {"now": None} == {
        **first, "items": [], "tab": "accepted", "total": 0, "next_cursor": None, "now": None}


async def test_given_more_overdue_tickets_than_a_query_may_bind_when_the_job_runs_then_the_rounds_left_are_escalated(
    engine: sa.Engine, database_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    ids = bulk_referred_tickets(engine, unit=WASTE, count=many(database_url), prefix="L",
                                referred_at=datetime.now(UTC) - timedelta(hours=25),  # 24 hours for garbage
                                escalated_but_every=STILL_TO_ESCALATE_EVERY[key])
    left = [ticket_id for ticket_id in ids if ticket_id % STILL_TO_ESCALATE_EVERY[key] == 0]
    assert len(left) > 2
    monkeypatch.setattr(escalation, "BATCH_SIZE", 2)  # the rounds left span several batches
    bus = RecordingBus()
    escalator = Escalator(engine=engine, notifier=Notifier(bus=bus))

    assert await escalator.run() == len(left)
    assert await escalator.run() == 0

    with unit_of_work(engine) as session:
        newest = session.exec(select(TicketEscalation.ticket_id).where(col(TicketEscalation.ticket_id).in_(left))
                              .order_by(col(TicketEscalation.ticket_id))).all()
        escalated = session.exec(select(sa.func.count()).select_from(TicketEscalation)).one()
    assert list(newest) == left and escalated == len(ids)
    assert sorted(event.data["ticket"]["id"] for event in bus.events if event.name == "ticket_escalated") == left
