"""Filing a complaint from its draft on both databases: every wrong field refused at once, the desk of a complaint
about the inspection office, a double submit (also at once) filing one complaint, a tracking-code clash drawn again,
the due date in working days, named web complaints needing a verified mobile and staff's not, the anonymous
budget."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from callcenter.complaints import filing
from callcenter.complaints.drafts import Drafts
from callcenter.complaints.filing import file_complaint
from callcenter.platform.errors import RateLimited, ValidationFailed
from callcenter.platform.service_hours import load_holidays
from callcenter.platform.settings import Settings, load_settings
from callcenter.platform.working_days import working_days_after
from db.engine import unit_of_work
from db.models import (
    Complaint,
    ComplaintChannel,
    ComplaintDesk,
    ComplaintDraft,
    ComplaintGround,
    ComplaintGroundSla,
    Role,
)
from tests.support.backend import TEST_SECRETS
from tests.support.complaint_form import WASTE, unit_named
from tests.support.ticket_flow import add_staff

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
TOKEN = "browser-session-token"
ADDRESS = "192.0.2.7"
INSPECTION_OFFICE = "مدیریت بازرسی"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                         state_dir=tmp_path / "state", anonymous_complaints_per_address_hour=2)


def complete(unit_id: int, **overrides: str) -> dict[str, str]:
    return {"unit_id": str(unit_id), "ground": "weak_service", "description": "پاسخ درستی ندادند",
            "day": "10", "month": "9", "year": "1405", "identity": "anonymous", **overrides}


def a_draft(engine: sa.Engine, settings: Settings, fields: dict[str, str], *,
            channel: ComplaintChannel = ComplaintChannel.WEB, filed_by_id: int | None = None) -> str:
    drafts = Drafts(settings)
    with unit_of_work(engine) as session:
        draft = drafts.create(session, session_token=TOKEN, now=NOW, channel=channel, filed_by_id=filed_by_id)
        drafts.save(session, draft, fields, step="review", now=NOW)
        return draft.id


def file(session: Session, settings: Settings, draft_id: str, *, address: str = ADDRESS) -> filing.Filed:
    draft = session.get(ComplaintDraft, draft_id)
    assert draft is not None
    return file_complaint(session, settings, draft, session_token=TOKEN, address=address, now=NOW)


def test_given_an_empty_draft_when_filed_then_each_missing_field_has_its_own_message(
    engine: sa.Engine, settings: Settings,
) -> None:
    draft_id = a_draft(engine, settings, {"personnel_code": "12a"})
    with unit_of_work(engine) as session, pytest.raises(ValidationFailed) as refused:
        file(session, settings, draft_id)
    assert refused.value.details["fields"] == {
        "unit_id": filing.PICK_UNIT, "personnel_code": filing.BAD_PERSONNEL_CODE, "ground": filing.PICK_GROUND,
        "description": filing.WRITE_DESCRIPTION, "identity": filing.PICK_IDENTITY}


def test_given_a_complete_anonymous_draft_when_filed_twice_then_one_complaint_with_its_due_date(
    engine: sa.Engine, settings: Settings,
) -> None:
    draft_id = a_draft(engine, settings, complete(unit_named(engine, WASTE)))
    with unit_of_work(engine) as session:
        draft = session.get(ComplaintDraft, draft_id)
        assert draft is not None
        first = file_complaint(session, settings, draft, session_token=TOKEN, address=ADDRESS, now=NOW)
    with unit_of_work(engine) as session:
        assert session.get(ComplaintDraft, draft_id) is None  # the filed draft is gone, its identity with it
        second = file_complaint(session, settings, draft, session_token=TOKEN, address=ADDRESS, now=NOW)
        assert filing.complaint_by_request(session, draft_id) is not None
        days = session.get(ComplaintGroundSla, ComplaintGround.WEAK_SERVICE)
        assert days is not None
    assert first.new and not second.new and second.receipt is None and first.receipt
    assert first.complaint.id == second.complaint.id
    assert first.complaint.occurred_on == "2026-12-01"
    assert first.complaint.due_at == working_days_after(NOW, days.working_days, load_holidays())
    assert first.complaint.tracking_code.startswith("8") and len(first.complaint.tracking_code) == 10


def test_given_a_complaint_about_the_inspection_office_when_filed_then_it_is_on_the_mayors_desk(
    engine: sa.Engine, settings: Settings,
) -> None:
    draft_id = a_draft(engine, settings, complete(unit_named(engine, INSPECTION_OFFICE)))
    with unit_of_work(engine) as session:
        assert file(session, settings, draft_id).complaint.desk == ComplaintDesk.MAYOR_OFFICE


def test_given_a_taken_tracking_code_when_filing_then_another_is_drawn(
    engine: sa.Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    unit_id = unit_named(engine, WASTE)
    with unit_of_work(engine) as session:
        taken = file(session, settings, a_draft(engine, settings, complete(unit_id))).complaint.tracking_code
    codes: Iterator[str] = iter([taken, "8000000017"])
    monkeypatch.setattr(filing, "new_complaint_code", lambda: next(codes))
    with unit_of_work(engine) as session:
        again = file(session, settings, a_draft(engine, settings, complete(unit_id)))
    assert again.new and again.complaint.tracking_code == "8000000017"


def test_given_a_named_web_draft_without_a_verified_mobile_when_filed_then_the_code_is_asked_for(
    engine: sa.Engine, settings: Settings,
) -> None:
    fields = complete(unit_named(engine, WASTE), identity="named", name="مریم احمدی", mobile="09121234567")
    draft_id = a_draft(engine, settings, fields)
    with unit_of_work(engine) as session, pytest.raises(ValidationFailed) as refused:
        file(session, settings, draft_id)
    assert refused.value.details["fields"] == {"code": filing.VERIFY_MOBILE}


def test_given_staff_filing_a_named_complaint_for_a_caller_when_filed_then_no_code_is_needed(
    engine: sa.Engine, settings: Settings,
) -> None:
    operator = add_staff(engine, "intake.operator", Role.OPERATOR)
    fields = complete(unit_named(engine, WASTE), identity="named", name="علی کریمی", mobile="09121234567")
    draft_id = a_draft(engine, settings, fields, channel=ComplaintChannel.PHONE, filed_by_id=operator.id)
    with unit_of_work(engine) as session:
        filed = file(session, settings, draft_id)
    assert (filed.complaint.channel, filed.complaint.filed_by_id, filed.receipt) == (
        ComplaintChannel.PHONE, operator.id, None)


def test_given_an_address_over_its_anonymous_budget_when_it_files_again_then_refused_and_another_is_not(
    engine: sa.Engine, settings: Settings,
) -> None:
    unit_id = unit_named(engine, WASTE)
    for _ in range(2):
        with unit_of_work(engine) as session:
            file(session, settings, a_draft(engine, settings, complete(unit_id)))
    over = a_draft(engine, settings, complete(unit_id))
    with unit_of_work(engine) as session, pytest.raises(RateLimited):
        file(session, settings, over)
    with unit_of_work(engine) as session:
        assert file(session, settings, over, address="198.51.100.1").new


def test_given_one_draft_filed_from_two_connections_at_once_then_one_complaint(
    engine: sa.Engine, settings: Settings, database_url: str,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers: the race needs PostgreSQL's concurrent transactions")
    draft_id = a_draft(engine, settings, complete(unit_named(engine, WASTE)))
    barrier = threading.Barrier(2)
    results: list[filing.Filed] = []

    def submit() -> None:
        with unit_of_work(engine) as session:
            draft = session.get(ComplaintDraft, draft_id)
            assert draft is not None
            barrier.wait()
            results.append(file_complaint(session, settings, draft, session_token=TOKEN, address=ADDRESS,
                                          now=NOW + timedelta(seconds=1)))

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with unit_of_work(engine) as session:
        rows = session.exec(select(Complaint)).all()
    assert len(rows) == 1 and sorted(result.new for result in results) == [False, True]
    assert {result.complaint.id for result in results} == {rows[0].id}
