"""The scorecard over HTTP: a Jalali month's figures as JSON, and clear refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from callcenter.platform.calendar import jalali_month_window, previous_jalali_months, this_jalali_month
from callcenter.tickets.lifecycle import apply_action
from db.engine import unit_of_work
from db.models import Role, TicketAction, TicketSource
from tests.support.channels import filed_through
from tests.support.console import log_in_sync
from tests.support.ticket_flow import GREENERY, PASSWORD, WASTE, add_staff, referred_long_ago, referred_ticket


def test_given_a_unit_that_reported_done_when_the_inspector_asks_for_this_month_then_it_is_counted(
    web_client: TestClient, engine: sa.Engine,
) -> None:
    operator = add_staff(engine, "api-operator", Role.OPERATOR)
    liaison = add_staff(engine, "api-waste", Role.UNIT_LIAISON, unit=WASTE)
    add_staff(engine, "api-inspector", Role.INSPECTOR)
    filed = referred_ticket(engine, by=operator, unit=WASTE)
    with unit_of_work(engine) as session:
        apply_action(session, ticket_id=filed.id, action=TicketAction.ACCEPT, actor=liaison)
        apply_action(session, ticket_id=filed.id, action=TicketAction.REPORT_DONE, actor=liaison, note="انجام شد")
    log_in_sync(web_client, "api-inspector", PASSWORD)

    units = web_client.get("/api/scorecard").json()["units"]

    assert [(u["unit_name"], u["received"], u["reported_done"], u["on_time_rate"], u["rank"]) for u in units] == [
        (WASTE, 1, 1, 1.0, 1)]


def test_given_tickets_from_each_channel_when_the_mayor_asks_for_the_scorecard_then_receipts_are_per_channel(
    web_client: TestClient, engine: sa.Engine,
) -> None:
    operator = add_staff(engine, "api-operator", Role.OPERATOR)
    desk = add_staff(engine, "api-desk", Role.DESK)
    referred_ticket(engine, by=operator, unit=WASTE)
    for source in (TicketSource.WEB, TicketSource.OPEN311):
        filed_through(engine, source)
    filed_through(engine, TicketSource.IN_PERSON, desk=desk)
    add_staff(engine, "api-mayor", Role.VIEWER)
    log_in_sync(web_client, "api-mayor", PASSWORD)

    card = web_client.get("/api/scorecard").json()

    waste = next(unit for unit in card["units"] if unit["unit_name"] == WASTE)
    assert waste["received"] == 4
    assert waste["received_by_channel"] == {"phone": 1, "web": 1, "in_person": 1, "open311": 1}
    assert card["received_by_channel"] == {"phone": 1, "web": 1, "in_person": 1, "open311": 1}


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


def test_given_tickets_this_month_and_last_when_the_mayor_asks_for_the_trend_then_six_months_a_line_per_unit(
    web_client: TestClient, engine: sa.Engine,
) -> None:
    operator = add_staff(engine, "tr-operator", Role.OPERATOR)
    liaison = add_staff(engine, "tr-waste", Role.UNIT_LIAISON, unit=WASTE)
    add_staff(engine, "tr-mayor", Role.VIEWER)
    now = datetime.now(UTC)
    year, month = this_jalali_month(now)
    months = previous_jalali_months(year, month, 6)
    # This month the waste unit reports done at once; last month the greenery unit let a ticket go past its
    # deadline (moved to the middle of the previous Jalali month).
    done = referred_ticket(engine, by=operator, unit=WASTE)
    with unit_of_work(engine) as session:
        apply_action(session, ticket_id=done.id, action=TicketAction.ACCEPT, actor=liaison)
        apply_action(session, ticket_id=done.id, action=TicketAction.REPORT_DONE, actor=liaison, note="انجام شد")
    late = referred_ticket(engine, by=operator, unit=GREENERY, description="درخت شکسته در پارک")
    referred_long_ago(engine, late, by=now - (jalali_month_window(*months[-2])[0] + timedelta(days=10)))
    log_in_sync(web_client, "tr-mayor", PASSWORD)

    trend = web_client.get("/api/scorecard/trend").json()

    assert [(m["year"], m["month"]) for m in trend["months"]] == months
    lines = {unit["unit_name"]: unit["points"] for unit in trend["units"]}
    assert list(lines) == [WASTE, GREENERY]  # this month's rank first, then the units absent from it
    assert lines[WASTE][:5] == [None] * 5
    assert (lines[WASTE][5]["score"], lines[WASTE][5]["on_time_rate"], lines[WASTE][5]["received"]) == (1.0, 1.0, 1)
    assert lines[GREENERY][4] is not None and lines[GREENERY][4]["on_time_rate"] == 0.0
    assert lines[GREENERY][5] is None

    past = web_client.get("/api/scorecard/trend", params={"year": 1404, "month": 2}).json()
    assert [(m["year"], m["month"]) for m in past["months"]] == previous_jalali_months(1404, 2, 6)
    assert past["units"] == []


def test_given_an_operator_when_asking_for_the_trend_then_refused(web_client: TestClient, engine: sa.Engine) -> None:
    add_staff(engine, "tr-op", Role.OPERATOR)
    log_in_sync(web_client, "tr-op", PASSWORD)
    assert web_client.get("/api/scorecard/trend").status_code == 403
