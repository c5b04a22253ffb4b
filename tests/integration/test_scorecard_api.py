"""The scorecard over HTTP: a Jalali month's figures as JSON, and clear refusals."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from callcenter.lifecycle import apply_action
from db.models import Role, TicketAction
from tests.support.console import log_in_sync
from tests.support.ticket_flow import PASSWORD, WASTE, add_staff, referred_ticket


def test_given_a_unit_that_reported_done_when_the_inspector_asks_for_this_month_then_it_is_counted(
    web_client: TestClient, engine: sa.Engine,
) -> None:
    operator = add_staff(engine, "api-operator", Role.OPERATOR)
    liaison = add_staff(engine, "api-waste", Role.UNIT_LIAISON, unit=WASTE)
    add_staff(engine, "api-inspector", Role.INSPECTOR)
    filed = referred_ticket(engine, by=operator, unit=WASTE)
    with Session(engine) as session:
        apply_action(session, ticket_id=filed.id, action=TicketAction.ACCEPT, actor=liaison)
        apply_action(session, ticket_id=filed.id, action=TicketAction.REPORT_DONE, actor=liaison, note="انجام شد")
    log_in_sync(web_client, "api-inspector", PASSWORD)

    units = web_client.get("/api/scorecard").json()["units"]

    assert [(u["unit_name"], u["received"], u["reported_done"], u["on_time_rate"], u["rank"]) for u in units] == [
        (WASTE, 1, 1, 1.0, 1)]


def test_given_a_month_that_does_not_exist_when_asked_then_a_persian_validation_error(
    web_client: TestClient, engine: sa.Engine,
) -> None:
    add_staff(engine, "api-mayor", Role.VIEWER)
    log_in_sync(web_client, "api-mayor", PASSWORD)
    response = web_client.get("/api/scorecard", params={"year": 1405, "month": 13})
    assert response.status_code == 422
    assert response.json()["error_id"] == "invalid-data"


def test_given_an_operator_when_asking_for_the_scorecard_then_refused(
    web_client: TestClient, engine: sa.Engine,
) -> None:
    add_staff(engine, "api-op2", Role.OPERATOR)
    log_in_sync(web_client, "api-op2", PASSWORD)
    assert web_client.get("/api/scorecard").status_code == 403
