"""Case work on both databases: the lifecycle table step by step (allowed and refused), who may take each step,
the compare-and-set, the result told to the complainant, the triage queue, information requests that reveal
nothing to the unit, and the SLA escalation marking a complaint once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from callcenter.complaints import information_requests, lifecycle, sla, triage
from callcenter.complaints.sms import FOLLOW_PATH
from callcenter.platform.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from callcenter.platform.persian import persian_digits
from callcenter.platform.settings import Settings, load_settings
from db.engine import unit_of_work
from db.models import (
    Complaint,
    ComplaintAction,
    ComplaintGround,
    ComplaintMessage,
    ComplaintStatus,
    ComplaintTransition,
    Role,
    SmsMessage,
    User,
    utcnow,
)
from tests.support.backend import TEST_SECRETS
from tests.support.casework import COMPLAINANT, INSPECTION_OFFICE, file_complaint
from tests.support.ticket_flow import GREENERY, WASTE, add_staff

S, A = ComplaintStatus, ComplaintAction


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url)


@pytest.fixture
def staff(engine: sa.Engine) -> dict[str, User]:
    return {
        "inspector": add_staff(engine, "insp.one", Role.INSPECTOR, unit=INSPECTION_OFFICE),
        "inspector2": add_staff(engine, "insp.two", Role.INSPECTOR, unit=INSPECTION_OFFICE),
        "head": add_staff(engine, "insp.head", Role.HEAD_OF_INSPECTION, unit=INSPECTION_OFFICE),
        "mayor": add_staff(engine, "mayor.office", Role.VIEWER),
        "waste": add_staff(engine, "waste.liaison", Role.UNIT_LIAISON, unit=WASTE),
        "greenery": add_staff(engine, "green.liaison", Role.UNIT_LIAISON, unit=GREENERY),
        "operator": add_staff(engine, "op.one", Role.OPERATOR),
    }


def _step(engine: sa.Engine, settings: Settings, complaint_id: int, action: ComplaintAction, by: User,
          expected: ComplaintStatus, **words: object) -> ComplaintTransition:
    with unit_of_work(engine) as session:
        user = session.get(User, by.id)
        assert user is not None
        return lifecycle.apply(session, complaint_id, action, user, expected, settings=settings, **words)  # type: ignore[arg-type]


def _complaint(engine: sa.Engine, complaint_id: int) -> Complaint:
    with unit_of_work(engine) as session:
        found = session.get(Complaint, complaint_id)
        assert found is not None
        session.expunge(found)
        return found


WORDS: dict[ComplaintAction, dict[str, str]] = {
    A.RECORD_FINDINGS: {"note": "مأمور در سه نوبت حاضر نشده است"},
    A.CLOSE: {"note": "تذکر کتبی به پیمانکار داده شد و برنامهٔ جمع‌آوری اصلاح شد"},
    A.REFER: {"referred_to": "هیئت رسیدگی به تخلفات اداری"},
    A.REJECT: {"note": "موضوع در صلاحیت این مدیریت نیست"},
}


@pytest.mark.parametrize(("source", "action"), list(lifecycle.TRANSITIONS), ids=lambda v: v.value)
def test_given_each_edge_of_the_table_when_the_one_entitled_takes_it_then_the_complaint_moves_as_listed(
    engine: sa.Engine, settings: Settings, staff: dict[str, User], source: ComplaintStatus, action: ComplaintAction,
) -> None:
    """The assigned inspector takes the steps; the head (re)assigns, here to that same inspector."""
    inspector = staff["inspector"]
    complaint = file_complaint(engine, settings, target_unit=WASTE, status=source,
                               assigned_to_id=None if action == A.ASSIGN else inspector.id)
    assert complaint.id is not None
    actor = staff["head"] if action == A.ASSIGN else inspector
    step = _step(engine, settings, complaint.id, action, actor, source, assignee_id=inspector.id,
                 **WORDS.get(action, {}))
    after = _complaint(engine, complaint.id)
    assert (step.from_status, step.to_status, after.status) == (source, lifecycle.TRANSITIONS[(source, action)],
                                                               lifecycle.TRANSITIONS[(source, action)])
    assert (after.closed_at is not None) == (after.status in lifecycle.FINAL_STATUSES)
    assert after.assigned_to_id == inspector.id


def test_given_every_pair_not_in_the_table_when_taken_then_refused_and_nothing_changes(
    engine: sa.Engine, settings: Settings, staff: dict[str, User],
) -> None:
    head = staff["head"]
    refused = [(status, action) for status in S for action in A if (status, action) not in lifecycle.TRANSITIONS]
    assert len(refused) == len(S) * len(A) - len(lifecycle.TRANSITIONS)
    for status, action in refused:
        complaint = file_complaint(engine, settings, target_unit=WASTE, status=status, assigned_to_id=head.id)
        assert complaint.id is not None
        with pytest.raises(InvalidTransition):
            _step(engine, settings, complaint.id, action, head, status, assignee_id=staff["inspector"].id,
                  **WORDS.get(action, {}))
        assert _complaint(engine, complaint.id).status == status
    with unit_of_work(engine) as session:
        assert session.exec(select(ComplaintTransition)).all() == []


def test_given_an_unassigned_complaint_when_an_inspector_takes_it_then_theirs_and_no_one_else_may_take_it_after(
    engine: sa.Engine, settings: Settings, staff: dict[str, User],
) -> None:
    complaint = file_complaint(engine, settings, target_unit=WASTE)
    assert complaint.id is not None
    with pytest.raises(PermissionDenied):  # not theirs yet: the steps wait for an assignment
        _step(engine, settings, complaint.id, A.START_REVIEW, staff["inspector"], S.RECEIVED)
    _step(engine, settings, complaint.id, A.ASSIGN, staff["inspector"], S.RECEIVED,
          assignee_id=staff["inspector2"].id)  # an inspector's choice of someone else is ignored: they take it
    assert _complaint(engine, complaint.id).assigned_to_id == staff["inspector"].id
    with pytest.raises(PermissionDenied):
        _step(engine, settings, complaint.id, A.ASSIGN, staff["inspector2"], S.RECEIVED)
    with pytest.raises(PermissionDenied):
        _step(engine, settings, complaint.id, A.START_REVIEW, staff["inspector2"], S.RECEIVED)
    _step(engine, settings, complaint.id, A.START_REVIEW, staff["inspector"], S.RECEIVED)
    assert _complaint(engine, complaint.id).status == S.UNDER_REVIEW


def test_given_the_head_when_assigning_then_any_inspector_of_the_desk_and_no_one_outside_it(
    engine: sa.Engine, settings: Settings, staff: dict[str, User],
) -> None:
    complaint = file_complaint(engine, settings, target_unit=WASTE, assigned_to_id=staff["inspector"].id)
    assert complaint.id is not None
    _step(engine, settings, complaint.id, A.ASSIGN, staff["head"], S.RECEIVED, assignee_id=staff["inspector2"].id)
    assert _complaint(engine, complaint.id).assigned_to_id == staff["inspector2"].id
    for outsider in ("waste", "mayor", "operator"):
        with pytest.raises(ValidationFailed):
            _step(engine, settings, complaint.id, A.ASSIGN, staff["head"], S.RECEIVED,
                  assignee_id=staff[outsider].id)
    with pytest.raises(ValidationFailed):
        _step(engine, settings, complaint.id, A.ASSIGN, staff["head"], S.RECEIVED)
    _step(engine, settings, complaint.id, A.START_REVIEW, staff["head"], S.RECEIVED)  # the head works any step


def test_given_roles_outside_the_desk_when_they_act_then_the_complaint_does_not_exist_for_them(
    engine: sa.Engine, settings: Settings, staff: dict[str, User],
) -> None:
    complaint = file_complaint(engine, settings, target_unit=WASTE)
    assert complaint.id is not None
    for role in ("waste", "greenery", "mayor", "operator"):
        with pytest.raises(NotFound):
            _step(engine, settings, complaint.id, A.ASSIGN, staff[role], S.RECEIVED, assignee_id=staff[role].id)
    assert _complaint(engine, complaint.id).assigned_to_id is None


def test_given_a_complaint_about_the_inspection_office_when_worked_then_only_the_mayors_office_may(
    engine: sa.Engine, settings: Settings, staff: dict[str, User],
) -> None:
    complaint = file_complaint(engine, settings, target_unit=INSPECTION_OFFICE)
    assert complaint.id is not None
    for role in ("inspector", "head"):
        with pytest.raises(NotFound):
            _step(engine, settings, complaint.id, A.START_REVIEW, staff[role], S.RECEIVED)
    mayor = staff["mayor"]
    _step(engine, settings, complaint.id, A.ASSIGN, mayor, S.RECEIVED, assignee_id=mayor.id)
    _step(engine, settings, complaint.id, A.START_REVIEW, mayor, S.RECEIVED)
    _step(engine, settings, complaint.id, A.REJECT, mayor, S.UNDER_REVIEW, note="شکایت تکراری است")
    assert _complaint(engine, complaint.id).status == S.REJECTED


def test_given_a_screen_showing_an_old_status_when_acting_on_it_then_someone_else_moved_it(
    engine: sa.Engine, settings: Settings, staff: dict[str, User],
) -> None:
    complaint = file_complaint(engine, settings, target_unit=WASTE, assigned_to_id=staff["inspector"].id)
    assert complaint.id is not None
    _step(engine, settings, complaint.id, A.START_REVIEW, staff["inspector"], S.RECEIVED)
    with pytest.raises(Conflict, match="کس دیگری"):
        _step(engine, settings, complaint.id, A.REJECT, staff["head"], S.RECEIVED, note="تکراری")
    assert _complaint(engine, complaint.id).status == S.UNDER_REVIEW


def test_given_two_people_reading_the_same_status_when_both_step_then_the_update_lets_one_through(
    engine: sa.Engine, settings: Settings, staff: dict[str, User],
) -> None:
    complaint = file_complaint(engine, settings, target_unit=WASTE, assigned_to_id=staff["inspector"].id)
    assert complaint.id is not None
    with Session(engine, expire_on_commit=False) as slow:  # read, then held while someone else acts
        head = slow.get(User, staff["head"].id)
        assert head is not None and slow.get(Complaint, complaint.id) is not None
        slow.commit()
        _step(engine, settings, complaint.id, A.START_REVIEW, staff["inspector"], S.RECEIVED)
        with pytest.raises(Conflict, match="در حال بررسی"):  # its copy still says "received": the UPDATE refuses
            lifecycle.apply(slow, complaint.id, A.REJECT, head, S.RECEIVED, settings=settings, note="تکراری")
        slow.rollback()
    assert _complaint(engine, complaint.id).status == S.UNDER_REVIEW
    with unit_of_work(engine) as session:
        assert len(session.exec(select(ComplaintTransition)).all()) == 1


def test_given_findings_when_closed_with_a_result_then_stored_announced_and_texted_once_to_the_named_complainant(
    engine: sa.Engine, settings: Settings, staff: dict[str, User],
) -> None:
    complaint = file_complaint(engine, settings, target_unit=WASTE, status=S.FINDINGS,
                               assigned_to_id=staff["inspector"].id)
    assert complaint.id is not None
    result = WORDS[A.CLOSE]["note"]
    _step(engine, settings, complaint.id, A.CLOSE, staff["inspector"], S.FINDINGS, note=result)
    closed = _complaint(engine, complaint.id)
    with unit_of_work(engine) as session:
        announced = session.exec(select(ComplaintMessage).where(ComplaintMessage.complaint_id == complaint.id)).all()
        texts = session.exec(select(SmsMessage)).all()
    assert (closed.status, closed.result) == (S.CLOSED, result) and closed.closed_at is not None
    assert [(m.body, m.is_result) for m in announced] == [(result, True)]
    assert [(t.to_number, t.forget_number, t.dedup_key) for t in texts] == [
        (COMPLAINANT.mobile, True, f"complaint-close:{complaint.id}")]
    assert persian_digits(closed.tracking_code) in texts[0].body and FOLLOW_PATH in texts[0].body
    assert result not in texts[0].body  # the text says where to read the result, not what it is


def test_given_an_anonymous_complaint_when_rejected_then_the_reason_is_posted_and_no_text_is_queued(
    engine: sa.Engine, settings: Settings, staff: dict[str, User],
) -> None:
    complaint = file_complaint(engine, settings, target_unit=WASTE, named=False, assigned_to_id=staff["head"].id)
    assert complaint.id is not None
    with pytest.raises(ValidationFailed):
        _step(engine, settings, complaint.id, A.REJECT, staff["head"], S.RECEIVED, note="  ")
    _step(engine, settings, complaint.id, A.REJECT, staff["head"], S.RECEIVED, note="خارج از صلاحیت")
    with unit_of_work(engine) as session:
        announced = session.exec(select(ComplaintMessage)).all()
        assert session.exec(select(SmsMessage)).all() == []
    assert [(m.is_result, "خارج از صلاحیت" in m.body) for m in announced] == [(True, True)]


def test_given_a_named_complainant_when_rejected_then_texted_the_reason_is_on_the_follow_up_page(
    engine: sa.Engine, settings: Settings, staff: dict[str, User],
) -> None:
    complaint = file_complaint(engine, settings, target_unit=WASTE, assigned_to_id=staff["inspector"].id)
    assert complaint.id is not None
    _step(engine, settings, complaint.id, A.REJECT, staff["inspector"], S.RECEIVED, note="خارج از صلاحیت")
    with unit_of_work(engine) as session:
        texts = session.exec(select(SmsMessage)).all()
    assert [(t.to_number, t.dedup_key) for t in texts] == [(COMPLAINANT.mobile, f"complaint-reject:{complaint.id}")]


# --- triage ---


def _queue(engine: sa.Engine, user: User, page_size: int = 2, **filters: object) -> triage.Page:
    with unit_of_work(engine) as session:
        reader = session.get(User, user.id)
        assert reader is not None
        return triage.queue(session, reader, triage.Filters(**filters), now=utcnow(),  # type: ignore[arg-type]
                            page_size=page_size)


def test_given_complaints_of_every_kind_when_triaging_then_views_filters_counts_and_pages_hold(
    engine: sa.Engine, settings: Settings, staff: dict[str, User],
) -> None:
    now = utcnow()
    inspector = staff["inspector"]
    old = file_complaint(engine, settings, target_unit=WASTE, ground=ComplaintGround.DELAY,
                         created_at=now - timedelta(days=30), due_at=now - timedelta(days=5))
    middle = file_complaint(engine, settings, target_unit=GREENERY, ground=ComplaintGround.DELAY,
                            created_at=now - timedelta(days=10), due_at=now + timedelta(days=5))
    mine = file_complaint(engine, settings, target_unit=WASTE, ground=ComplaintGround.WEAK_SERVICE,
                          status=S.UNDER_REVIEW, assigned_to_id=inspector.id, created_at=now - timedelta(days=3))
    new = file_complaint(engine, settings, target_unit=WASTE, ground=ComplaintGround.DELAY,
                         created_at=now - timedelta(days=1))
    file_complaint(engine, settings, target_unit=WASTE, status=S.CLOSED, created_at=now - timedelta(days=40))
    file_complaint(engine, settings, target_unit=INSPECTION_OFFICE, created_at=now - timedelta(days=50))  # mayor's

    first = _queue(engine, inspector)
    assert [c.id for c in first.complaints] == [old.id, middle.id] and first.next_cursor is not None
    second = _queue(engine, inspector, after=first.next_cursor)
    assert [c.id for c in second.complaints] == [mine.id, new.id] and second.next_cursor is None
    assert first.total == 4
    assert first.counts_by_ground == {ComplaintGround.DELAY: 3, ComplaintGround.WEAK_SERVICE: 1}
    assert [c.id for c in _queue(engine, inspector, 10, view=triage.View.NEW).complaints] == [
        old.id, middle.id, new.id]
    assert [c.id for c in _queue(engine, inspector, view=triage.View.MINE).complaints] == [mine.id]
    assert [c.id for c in _queue(engine, inspector, view=triage.View.OVERDUE).complaints] == [old.id]
    delay_in_greenery = _queue(engine, inspector, ground=ComplaintGround.DELAY, target_unit_id=middle.target_unit_id)
    assert [c.id for c in delay_in_greenery.complaints] == [middle.id]
    assert sorted(delay_in_greenery.counts_by_unit.values()) == [1, 2]
    assert [c.id for c in _queue(engine, inspector, 10, older_than_days=7).complaints] == [old.id, middle.id]
    assert _queue(engine, inspector, view=triage.View.FINISHED).total == 1
    assert _queue(engine, staff["mayor"]).total == 1
    for outsider in ("waste", "operator"):
        assert _queue(engine, staff[outsider]).total == 0


def test_given_an_escalated_complaint_when_the_head_triages_then_it_comes_first_for_the_head_only(
    engine: sa.Engine, settings: Settings, staff: dict[str, User],
) -> None:
    now = utcnow()
    older = file_complaint(engine, settings, target_unit=WASTE, created_at=now - timedelta(days=20),
                           due_at=now + timedelta(days=1))
    late = file_complaint(engine, settings, target_unit=WASTE, created_at=now - timedelta(days=2),
                          due_at=now - timedelta(hours=1))
    with unit_of_work(engine) as session:
        assert sla.escalate_overdue(session, now=now) == [late.id]
    assert [c.id for c in _queue(engine, staff["head"]).complaints] == [late.id, older.id]
    assert [c.id for c in _queue(engine, staff["inspector"]).complaints] == [older.id, late.id]
    with unit_of_work(engine) as session:
        head = session.get(User, staff["head"].id)
        inspector = session.get(User, staff["inspector"].id)
        assert head is not None and inspector is not None
        assert (triage.escalated_count(session, head), triage.escalated_count(session, inspector)) == (1, 0)


# --- information requests ---


def test_given_an_information_request_when_the_units_read_it_then_only_the_asked_liaison_sees_only_the_question(
    engine: sa.Engine, settings: Settings, staff: dict[str, User],
) -> None:
    complaint = file_complaint(engine, settings, target_unit=WASTE, status=S.UNDER_REVIEW,
                               assigned_to_id=staff["inspector"].id)
    assert complaint.id is not None
    question = "برنامهٔ جمع‌آوری زباله در خیابان فردوسی در آبان چه بوده است؟"
    with unit_of_work(engine) as session:
        inspector = session.get(User, staff["inspector"].id)
        assert inspector is not None and complaint.target_unit_id
        asked = information_requests.ask(session, complaint_id=complaint.id, by=inspector,
                                         unit_id=complaint.target_unit_id, question=question,
                                         due_on=date.today() + timedelta(days=5))
        number = asked.id
        assert number is not None
    with unit_of_work(engine) as session:
        waste = session.get(User, staff["waste"].id)
        greenery = session.get(User, staff["greenery"].id)
        assert waste is not None and greenery is not None
        seen = information_requests.for_liaison(session, waste)
        assert information_requests.for_liaison(session, greenery) == []
        with pytest.raises(NotFound):
            information_requests.answer(session, request_number=number, by=greenery, text="نمی‌دانیم")
        information_requests.answer(session, request_number=number, by=waste, text="دو نوبت در هفته")
        with pytest.raises(Conflict):
            information_requests.answer(session, request_number=number, by=waste, text="دوباره")
    assert [(r.number, r.question) for r in seen] == [(number, question)]
    shown = repr(seen)
    for secret in (complaint.description, complaint.tracking_code, complaint.ground.value, COMPLAINANT.mobile,
                   COMPLAINANT.name):
        assert secret not in shown
    assert set(vars(seen[0])) == {"number", "question", "asked_at", "due_at", "answer", "answered_at"}
    with unit_of_work(engine) as session:
        on_case = information_requests.for_case(session, complaint.id)
    assert [(r.answer, r.answered_by_id) for r in on_case] == [("دو نوبت در هفته", staff["waste"].id)]


def test_given_someone_not_on_the_case_when_asking_a_unit_then_refused(
    engine: sa.Engine, settings: Settings, staff: dict[str, User],
) -> None:
    complaint = file_complaint(engine, settings, target_unit=WASTE, assigned_to_id=staff["inspector"].id)
    assert complaint.id is not None
    with unit_of_work(engine) as session:
        other = session.get(User, staff["inspector2"].id)
        liaison = session.get(User, staff["waste"].id)
        inspector = session.get(User, staff["inspector"].id)
        assert other is not None and liaison is not None and inspector is not None
        due = date.today() + timedelta(days=3)
        with pytest.raises(PermissionDenied):
            information_requests.ask(session, complaint_id=complaint.id, by=other, unit_id=complaint.target_unit_id,
                                     question="؟", due_on=due)
        with pytest.raises(NotFound):
            information_requests.ask(session, complaint_id=complaint.id, by=liaison,
                                     unit_id=complaint.target_unit_id, question="؟", due_on=due)
        with pytest.raises(ValidationFailed):
            information_requests.ask(session, complaint_id=complaint.id, by=inspector,
                                     unit_id=complaint.target_unit_id, question="؟", due_on=date.today())


# --- SLA ---


def test_given_working_days_then_fridays_and_holidays_are_skipped_and_the_due_moment_is_the_days_end() -> None:
    import jdatetime

    saturday = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # 1405/09/07, a Saturday in Tehran
    assert jdatetime.date.fromgregorian(date=saturday.date()).weekday() == 0
    # Six working days from Saturday: Sun..Thu are five, Friday is skipped, Saturday is the sixth.
    assert sla.after_working_days(saturday, 6) == datetime(2026, 12, 5, 20, 30, tzinfo=UTC)
    holiday = jdatetime.date(1405, 9, 8)  # the Sunday
    assert sla.after_working_days(saturday, 6, {holiday}) == datetime(2026, 12, 6, 20, 30, tzinfo=UTC)


def test_given_overdue_open_complaints_when_the_escalation_job_runs_twice_then_each_is_marked_once(
    engine: sa.Engine, settings: Settings, staff: dict[str, User],
) -> None:
    now = utcnow()
    overdue = file_complaint(engine, settings, target_unit=WASTE, due_at=now - timedelta(minutes=1))
    file_complaint(engine, settings, target_unit=WASTE, due_at=now + timedelta(days=1))
    file_complaint(engine, settings, target_unit=WASTE, status=S.CLOSED, due_at=now - timedelta(days=3))
    undated = file_complaint(engine, settings, target_unit=WASTE, ground=ComplaintGround.DELAY,
                             created_at=now - timedelta(days=40))  # intake left no due moment: computed here
    job = sla.escalation_job(engine, now=lambda: now)
    assert job() == 2
    assert job() == 0
    marked = _complaint(engine, overdue.id or 0)
    computed = _complaint(engine, undated.id or 0)
    assert marked.escalated_at == now and computed.escalated_at == now
    with unit_of_work(engine) as session:
        assert computed.due_at == sla.due_at(session, ComplaintGround.DELAY, computed.created_at)


def test_given_the_head_when_changing_a_grounds_limit_then_saved_and_others_refused(
    engine: sa.Engine, staff: dict[str, User],
) -> None:
    with unit_of_work(engine) as session:
        head, inspector = session.get(User, staff["head"].id), session.get(User, staff["inspector"].id)
        assert head is not None and inspector is not None
        sla.set_working_days(session, by=head, ground=ComplaintGround.DELAY, days=7)
        with pytest.raises(PermissionDenied):
            sla.set_working_days(session, by=inspector, ground=ComplaintGround.DELAY, days=3)
        with pytest.raises(ValidationFailed):
            sla.set_working_days(session, by=head, ground=ComplaintGround.DELAY, days=0)
    with unit_of_work(engine) as session:
        assert sla.limits(session)[ComplaintGround.DELAY] == 7

