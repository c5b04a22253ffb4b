"""The similar-complaint clusters page over HTTP: who may open it, what each reader sees, the emerging ones first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from callcenter.platform.persian import persian_digits
from db.engine import unit_of_work
from db.models import Complaint, ComplaintDesk, Role, Unit
from tests.support.complaint_clusters import add_complaint, group_texts
from tests.support.console import log_in_sync
from tests.support.ticket_flow import PASSWORD, WASTE, add_staff

PAGE = "/inspection/analytics/clusters"
INSPECTION_OFFICE = "مدیریت بازرسی"


def unit_id(session: Session, name: str) -> int | None:
    return session.exec(select(Unit.id).where(Unit.name == name)).one()


def file_complaints(engine: sa.Engine) -> tuple[list[Complaint], list[Complaint], list[Complaint]]:
    """A burst of garbage complaints, a steady subject (phones), and complaints about the inspection office
    itself (the mayor's office's desk)."""
    now = datetime.now(UTC)
    with unit_of_work(engine) as session:
        waste, office = unit_id(session, WASTE), unit_id(session, INSPECTION_OFFICE)
        burst = [add_complaint(session, text, now - timedelta(days=1 + index), unit_id=waste)
                 for index, text in enumerate(group_texts("garbage_skip")[:6])]
        steady = [add_complaint(session, text, now - timedelta(days=3 + 7 * index), unit_id=waste)
                  for index, text in enumerate(group_texts("phone_unanswered")[:12])]
        mayors = [add_complaint(session, text, now - timedelta(days=2 + index), unit_id=office,
                                desk=ComplaintDesk.MAYOR_OFFICE)
                  for index, text in enumerate(group_texts("rude_counter")[:4])]
        session.commit()
        for row in burst + steady + mayors:
            session.refresh(row)
            session.expunge(row)
    return burst, steady, mayors


def test_given_a_burst_of_garbage_complaints_when_an_inspector_opens_the_page_then_it_is_first_and_marked_emerging(
    web_client: TestClient, engine: sa.Engine,
) -> None:
    burst, steady, mayors = file_complaints(engine)
    add_staff(engine, "clusters-inspector", Role.INSPECTOR, unit=INSPECTION_OFFICE)
    log_in_sync(web_client, "clusters-inspector", PASSWORD)

    response = web_client.get(PAGE)

    assert response.status_code == 200
    page = response.text
    first = page.index('class="card wide cluster')
    assert page.index("رو به افزایش", first) < page.index(f"/inspection/complaints/{steady[0].id}\"")
    assert page.count('class="card wide cluster emerging"') == 1
    for row in burst + steady:
        assert f'href="/inspection/complaints/{row.id}"' in page
        assert persian_digits(row.tracking_code) in page
    assert 'class="snippet"' in page
    for row in mayors:  # the inspection office's own complaints are the mayor's office's
        assert persian_digits(row.tracking_code) not in page


def test_given_complaints_about_the_inspection_office_when_the_mayors_office_opens_the_page_then_codes_not_texts(
    web_client: TestClient, engine: sa.Engine,
) -> None:
    burst, _steady, mayors = file_complaints(engine)
    add_staff(engine, "clusters-mayor", Role.VIEWER)
    log_in_sync(web_client, "clusters-mayor", PASSWORD)

    response = web_client.get(PAGE)

    assert response.status_code == 200
    for row in mayors:
        assert f'href="/inspection/complaints/{row.id}"' in response.text
    assert persian_digits(burst[0].tracking_code) not in response.text
    assert 'class="snippet"' not in response.text
    assert mayors[0].description[:30] not in response.text


@pytest.mark.parametrize(("role", "unit"), [(Role.OPERATOR, None), (Role.UNIT_LIAISON, WASTE)])
def test_given_staff_outside_inspection_when_they_open_the_page_then_they_are_refused(
    web_client: TestClient, engine: sa.Engine, role: Role, unit: str | None,
) -> None:
    file_complaints(engine)
    add_staff(engine, f"clusters-{role.value}", role, unit=unit)
    log_in_sync(web_client, f"clusters-{role.value}", PASSWORD)

    response = web_client.get(PAGE)

    assert response.status_code == 403
    assert "بازرسی" in response.text
