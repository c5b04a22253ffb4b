"""The wallboard's snapshot over HTTP: agents with time in state, waiting and talking calls, today's KPIs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from callcenter.bootstrap.app import create_app
from callcenter.platform.security import hash_password
from callcenter.platform.settings import load_settings
from db.models import AgentState, AgentStateChange, Call, CallOutcome, Role, TicketSource, User
from tests.support.backend import TEST_SECRETS
from tests.support.channels import filed_through
from tests.support.console import log_in_sync

PASSWORD = "wallboard-pass"


@pytest.fixture
def client(engine: sa.Engine, database_url: str) -> Iterator[TestClient]:
    with Session(engine) as session:
        for role in (Role.SUPERVISOR, Role.VIEWER, Role.OPERATOR):
            session.add(User(username=role.value, full_name=f"{role.value} name", role=role,
                             password_hash=hash_password(PASSWORD)))
        session.add(User(username="zahra", full_name="زهرا احمدی", role=Role.OPERATOR, extension="1001",
                         password_hash=hash_password(PASSWORD)))
        session.commit()
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url)
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as test_client:
        yield test_client


def add_calls(engine: sa.Engine, now: datetime) -> None:
    minute = timedelta(minutes=1)
    with Session(engine) as session:
        session.add_all([
            Call(linkedid="w.1", line="137", caller_number="09120000001", started_at=now - 3 * minute,
                 queued_at=now - 3 * minute),  # still waiting
            Call(linkedid="t.1", line="1888", caller_number="09120000002", started_at=now - 5 * minute,
                 queued_at=now - 5 * minute, answered_at=now - 5 * minute + timedelta(seconds=10),
                 operator_extension="1001"),  # being talked
            Call(linkedid="d.1", line="137", caller_number="09120000003", started_at=now - 9 * minute,
                 queued_at=now - 9 * minute, answered_at=now - 9 * minute + timedelta(seconds=30),
                 ended_at=now - 7 * minute, operator_extension="1001", outcome=CallOutcome.ANSWERED,
                 recording="call-137-d.1.wav"),
            AgentStateChange(extension="1001", queue_name="line137", state=AgentState.TALKING,
                             at=now - 5 * minute + timedelta(seconds=10)),
        ])
        session.commit()


def test_given_calls_and_an_operator_when_a_supervisor_loads_the_wallboard_then_everything_is_there(
    client: TestClient, engine: sa.Engine,
) -> None:
    now = datetime.now(UTC)
    add_calls(engine, now)
    log_in_sync(client, "supervisor", PASSWORD)

    board = client.get("/api/wallboard").json()

    assert [(a["extension"], a["state"], a["name"]) for a in board["agents"]] == [("1001", "talking", "زهرا احمدی")]
    assert [c["linkedid"] for c in board["waiting"]] == ["w.1"]
    assert [c["linkedid"] for c in board["talking"]] == ["t.1"]
    assert [(c["linkedid"], c["has_recording"]) for c in board["recent"]] == [("d.1", True)]
    assert "recording" not in board["recent"][0]  # the file name stays on the server
    kpis = board["kpis"]
    assert (kpis["offered"], kpis["answered"], kpis["abandoned"]) == (2, 2, 0)
    # Answered after 10 s and 30 s: one of two within 20 s; ASA = (10 + 30) / 2.
    assert kpis["service_level"] == 0.5 and kpis["average_speed_of_answer_seconds"] == 20


def test_given_tickets_from_every_channel_when_the_wallboard_loads_then_today_s_counts_are_per_channel(
    client: TestClient, engine: sa.Engine,
) -> None:
    for source in (TicketSource.WEB, TicketSource.WEB, TicketSource.OPEN311, TicketSource.IN_PERSON):
        filed_through(engine, source)
    log_in_sync(client, "viewer", PASSWORD)  # the mayor's office reads the same figures

    counts = client.get("/api/wallboard").json()["kpis"]["tickets_by_channel"]

    assert counts == {"phone": 0, "web": 2, "in_person": 1, "open311": 1}


def test_given_the_mayors_office_viewer_when_loading_the_wallboard_then_it_sees_it_but_cannot_spy(
    client: TestClient,
) -> None:
    landed = log_in_sync(client, "viewer", PASSWORD)
    assert landed.headers["location"] == "/wallboard"  # the mayor's office starts at the wallboard
    assert client.get("/wallboard", headers={"Accept": "text/html"}).status_code == 200
    assert client.get("/api/wallboard").status_code == 200
    token = client.cookies["pasokh_csrf"]
    refused = client.post("/api/supervise", json={"extension": "1001", "mode": "listen"},
                          headers={"X-CSRF-Token": token})
    assert refused.status_code == 403 and refused.json()["error_id"] == "permission-denied"


def test_given_calls_when_the_mayors_office_loads_the_wallboard_then_citizens_numbers_are_masked(
    client: TestClient, engine: sa.Engine,
) -> None:
    add_calls(engine, datetime.now(UTC))
    log_in_sync(client, "viewer", PASSWORD)
    board = client.get("/api/wallboard").json()
    shown = [c["caller_number"] for part in ("waiting", "talking", "recent") for c in board[part]]
    assert shown == ["***0001", "***0002", "***0003"]
    assert board["kpis"]["offered"] == 2  # the figures are the supervisors' figures

    log_in_sync(client, "supervisor", PASSWORD)  # the same browser, now a supervisor
    assert client.get("/api/wallboard").json()["waiting"][0]["caller_number"] == "09120000001"


def test_given_an_operator_when_opening_the_wallboard_then_refused_in_persian(client: TestClient) -> None:
    log_in_sync(client, "operator", PASSWORD)
    response = client.get("/api/wallboard")
    assert response.status_code == 403
    assert "ناظران" in response.json()["message"]
