"""Answering "solved / not solved" online, on both databases: the link offered with report-done (its SMS, the calls
put off), the answer settling the task as a call would (actor: the citizen online), once; expiry hands back to calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from callcenter.citizens.links import answer_path
from callcenter.citizens.online_answers import (
    NOT_RESOLVED_NOTE,
    AnswerState,
    offer_online_answer,
    open_offer,
    record_answer,
)
from callcenter.platform.errors import Conflict, NotFound, ValidationFailed
from callcenter.platform.service_hours import parse_service_hours
from callcenter.platform.settings import Settings, load_settings
from callcenter.tickets.attachments import PhotoStore, Upload
from callcenter.tickets.lifecycle import apply_action, history
from callcenter.verification.tasks import CallingPolicy, ask_automatic, due_automatic, open_tasks, record_outcome
from db.engine import unit_of_work
from db.models import (
    OnlineAnswer,
    Role,
    SmsMessage,
    Ticket,
    TicketAction,
    TicketAttachment,
    TicketSource,
    TicketStatus,
    User,
    VerificationOutcome,
    VerificationTask,
    VerificationTaskStatus,
)
from tests.support.backend import TEST_SECRETS
from tests.support.photos import FAKE_JPEG, image_bytes
from tests.support.ticket_flow import WASTE, Filed, add_staff, referred_ticket, status_of, steps_of

A, S, TS = TicketAction, TicketStatus, VerificationTaskStatus
NOW = datetime.now(UTC) + timedelta(minutes=1)  # just after the steps, which take the real time
ALWAYS = CallingPolicy(hours=parse_service_hours("24/7"), max_attempts=3, retry_after=timedelta(hours=2))


@pytest.fixture
def settings() -> Settings:
    return load_settings(environ={}, environment="test", **TEST_SECRETS, public_base_url="https://137.example",
                         online_answer_hours=48)


def reported_done(engine: sa.Engine, settings: Settings, *, anonymous: bool = False) -> tuple[Filed, User]:
    """Referred, accepted, reported done (the route's step: then the online answer is offered)."""
    operator = add_staff(engine, "oa.operator", Role.OPERATOR)
    liaison = add_staff(engine, "oa.liaison", Role.UNIT_LIAISON, unit=WASTE)
    ticket = referred_ticket(engine, by=operator, unit=WASTE)
    with unit_of_work(engine) as session:
        if anonymous:
            session.exec(sa.update(Ticket).where(col(Ticket.id) == ticket.id).values(anonymous=True))
        apply_action(session, ticket_id=ticket.id, action=A.ACCEPT, actor=liaison)
        apply_action(session, ticket_id=ticket.id, action=A.REPORT_DONE, actor=liaison, note="سطل‌ها تخلیه شد")
        row = session.get(Ticket, ticket.id)
        assert row is not None
        offer_online_answer(session, settings, ticket=row, now=NOW)
    return ticket, operator


def the_answer(engine: sa.Engine, ticket: Filed) -> OnlineAnswer:
    with Session(engine) as session:
        return session.exec(select(OnlineAnswer).where(OnlineAnswer.ticket_id == ticket.id)).one()


def the_task(engine: sa.Engine, ticket: Filed) -> VerificationTask:
    with Session(engine) as session:
        return session.exec(select(VerificationTask).where(VerificationTask.ticket_id == ticket.id)).one()


def answer(engine: sa.Engine, settings: Settings, store: PhotoStore, ticket: Filed, *, resolved: bool,
           words: str = "", photo: Upload | None = None, now: datetime = NOW + timedelta(hours=1)) -> None:
    online = the_answer(engine, ticket)
    sig = answer_path(settings.secret_key, online.id or 0).rsplit("/", 1)[1]
    with unit_of_work(engine) as session:
        offer = open_offer(session, settings.secret_key, answer_id=online.id or 0, sig=sig, now=now)
        record_answer(session, store, offer=offer, resolved=resolved, words=words, photo=photo, now=now)


def test_given_a_ticket_reported_done_when_offered_then_an_sms_with_the_link_and_the_calls_wait_until_expiry(
    engine: sa.Engine, settings: Settings,
) -> None:
    ticket, _ = reported_done(engine, settings)
    online = the_answer(engine, ticket)
    assert online.expires_at == NOW + timedelta(hours=48)
    with Session(engine) as session:
        [sms] = session.exec(select(SmsMessage).where(SmsMessage.dedup_key == f"online-answer:{online.id}")).all()
        assert sms.to_number == "09121234567"
        assert "https://137.example" + answer_path(settings.secret_key, online.id or 0) in sms.body
        assert the_task(engine, ticket).next_attempt_at == online.expires_at
        [listed] = open_tasks(session, policy=ALWAYS).items
        assert listed.online_answer_until == online.expires_at  # the supervisors see the link is open
        assert due_automatic(session, now=NOW + timedelta(hours=47), limit=10) == []


def test_given_an_anonymous_ticket_when_reported_done_then_no_link(engine: sa.Engine, settings: Settings) -> None:
    reported_done(engine, settings, anonymous=True)
    with Session(engine) as session:
        assert session.exec(select(OnlineAnswer)).all() == []


def test_given_an_open_link_when_the_citizen_says_solved_then_the_task_is_done_and_the_ticket_verified_by_them(
    engine: sa.Engine, settings: Settings, tmp_path: Path,
) -> None:
    ticket, _ = reported_done(engine, settings)
    answer(engine, settings, PhotoStore(tmp_path / "photos"), ticket, resolved=True, words="ممنون، تمیز شد")
    task = the_task(engine, ticket)
    assert (task.status, task.outcome) == (TS.DONE, VerificationOutcome.RESOLVED)
    assert status_of(engine, ticket) == S.VERIFIED
    with Session(engine) as session:
        steps = history(session, ticket.id)
    assert [(s.action, s.actor_role, s.actor_id) for s in steps[-2:]] == [
        (A.REQUEST_VERIFICATION, Role.CITIZEN, None), (A.VERIFY_RESOLVED, Role.CITIZEN, None)]
    assert steps[-1].note == "ممنون، تمیز شد" and steps[-1].actor_name == "شهروند"
    assert the_answer(engine, ticket).outcome == VerificationOutcome.RESOLVED


def test_given_an_open_link_when_the_citizen_says_not_solved_with_words_and_a_photo_then_reopened_at_the_unit(
    engine: sa.Engine, settings: Settings, tmp_path: Path,
) -> None:
    ticket, _ = reported_done(engine, settings)
    store = PhotoStore(tmp_path / "photos")
    answer(engine, settings, store, ticket, resolved=False, words="هنوز زباله کنار جوی است",
           photo=Upload(filename="still.jpg", data=image_bytes("JPEG")))
    assert status_of(engine, ticket) == S.REOPENED
    last = steps_of(engine, ticket)[-1]
    assert last[:3] == (A.VERIFY_NOT_RESOLVED, S.AWAITING_VERIFICATION, S.REOPENED)
    assert last[3] == "هنوز زباله کنار جوی است"
    with Session(engine) as session:
        [photo] = session.exec(select(TicketAttachment)).all()
        assert photo.transition_id == the_answer(engine, ticket).transition_id and photo.uploaded_by_id is None
        assert session.get(Ticket, ticket.id).unit_id is not None  # type: ignore[union-attr]
    assert [path.name for path in (tmp_path / "photos").iterdir()] == [photo.stored_name]


def test_given_not_solved_without_words_then_the_unit_is_told_so(engine: sa.Engine, settings: Settings,
                                                                  tmp_path: Path) -> None:
    ticket, _ = reported_done(engine, settings)
    answer(engine, settings, PhotoStore(tmp_path / "photos"), ticket, resolved=False)
    assert steps_of(engine, ticket)[-1][3] == NOT_RESOLVED_NOTE


def test_given_a_wrong_photo_when_answering_then_refused_and_nothing_recorded(
    engine: sa.Engine, settings: Settings, tmp_path: Path,
) -> None:
    ticket, _ = reported_done(engine, settings)
    with pytest.raises(ValidationFailed):
        answer(engine, settings, PhotoStore(tmp_path / "photos"), ticket, resolved=False,
               photo=Upload(filename="x.jpg", data=FAKE_JPEG))
    assert status_of(engine, ticket) == S.DONE and the_answer(engine, ticket).answered_at is None
    assert not (tmp_path / "photos").exists() or list((tmp_path / "photos").iterdir()) == []


def test_given_an_answer_when_answered_again_then_the_second_changes_nothing(
    engine: sa.Engine, settings: Settings, tmp_path: Path,
) -> None:
    ticket, _ = reported_done(engine, settings)
    store = PhotoStore(tmp_path / "photos")
    answer(engine, settings, store, ticket, resolved=True)
    with pytest.raises(Conflict):
        answer(engine, settings, store, ticket, resolved=False, words="نه")
    assert status_of(engine, ticket) == S.VERIFIED
    assert [step[0] for step in steps_of(engine, ticket)].count(A.VERIFY_RESOLVED) == 1
    assert A.VERIFY_NOT_RESOLVED not in [step[0] for step in steps_of(engine, ticket)]


def test_given_two_submits_read_before_either_wrote_when_both_record_then_one_answer(
    engine: sa.Engine, settings: Settings, tmp_path: Path,
) -> None:
    """A double click: both requests opened the offer as open; the answer's compare-and-set lets one through."""
    ticket, _ = reported_done(engine, settings)
    online = the_answer(engine, ticket)
    sig = answer_path(settings.secret_key, online.id or 0).rsplit("/", 1)[1]
    store = PhotoStore(tmp_path / "photos")
    with unit_of_work(engine) as second:
        late = open_offer(second, settings.secret_key, answer_id=online.id or 0, sig=sig, now=NOW)
        second.commit()  # it read the answer as open, and holds no lock meanwhile
        with unit_of_work(engine) as first:
            offer = open_offer(first, settings.secret_key, answer_id=online.id or 0, sig=sig, now=NOW)
            record_answer(first, store, offer=offer, resolved=True, words="", photo=None, now=NOW)
        assert late.state == AnswerState.OPEN
        with pytest.raises(Conflict):
            record_answer(second, store, offer=late, resolved=True, words="", photo=None, now=NOW)
    assert [step[0] for step in steps_of(engine, ticket)].count(A.VERIFY_RESOLVED) == 1


def test_given_an_expired_link_then_it_says_so_and_the_calls_proceed(
    engine: sa.Engine, settings: Settings, tmp_path: Path,
) -> None:
    ticket, operator = reported_done(engine, settings)
    after = NOW + timedelta(hours=48, seconds=1)
    with pytest.raises(Conflict):
        answer(engine, settings, PhotoStore(tmp_path / "photos"), ticket, resolved=True, now=after)
    assert status_of(engine, ticket) == S.DONE
    with unit_of_work(engine) as session:
        ask_automatic(session, task_ids=[the_task(engine, ticket).id or 0], by=operator, now=NOW)
    with unit_of_work(engine) as session:  # the automatic dialer finds the task due once the link expired
        assert [t.ticket_id for t in due_automatic(session, now=after, limit=10)] == [ticket.id]
        online = the_answer(engine, ticket)
        sig = answer_path(settings.secret_key, online.id or 0).rsplit("/", 1)[1]
        assert open_offer(session, settings.secret_key, answer_id=online.id or 0, sig=sig,
                          now=after).state == AnswerState.EXPIRED


def test_given_a_link_when_the_call_recorded_the_answer_first_then_the_link_says_it_is_recorded(
    engine: sa.Engine, settings: Settings, tmp_path: Path,
) -> None:
    ticket, _ = reported_done(engine, settings)
    supervisor = add_staff(engine, "oa.supervisor", Role.SUPERVISOR)
    with unit_of_work(engine) as session:
        record_outcome(session, task_id=the_task(engine, ticket).id or 0, outcome=VerificationOutcome.RESOLVED,
                       by=supervisor, policy=ALWAYS, now=NOW)
    online = the_answer(engine, ticket)
    sig = answer_path(settings.secret_key, online.id or 0).rsplit("/", 1)[1]
    with Session(engine) as session:
        assert open_offer(session, settings.secret_key, answer_id=online.id or 0, sig=sig,
                          now=NOW).state == AnswerState.RECORDED
    with pytest.raises(Conflict):
        answer(engine, settings, PhotoStore(tmp_path / "photos"), ticket, resolved=False)
    assert status_of(engine, ticket) == S.VERIFIED


def test_given_a_wrong_signature_then_no_such_link(engine: sa.Engine, settings: Settings) -> None:
    ticket, _ = reported_done(engine, settings)
    online = the_answer(engine, ticket)
    with Session(engine) as session, pytest.raises(NotFound):
        open_offer(session, settings.secret_key, answer_id=online.id or 0, sig="A" * 16, now=NOW)


def test_given_a_supervisor_asking_for_the_automatic_call_while_the_link_is_open_then_it_is_due_now(
    engine: sa.Engine, settings: Settings,
) -> None:
    ticket, _ = reported_done(engine, settings)
    supervisor = add_staff(engine, "oa.supervisor2", Role.SUPERVISOR)
    with unit_of_work(engine) as session:
        ask_automatic(session, task_ids=[the_task(engine, ticket).id or 0], by=supervisor, now=NOW)
    with Session(engine) as session:
        assert [t.ticket_id for t in due_automatic(session, now=NOW, limit=10)] == [ticket.id]


def test_the_citizen_online_is_recorded_as_a_web_channel_actor() -> None:
    from callcenter.citizens.online_answers import ONLINE
    assert ONLINE.channel == TicketSource.WEB and ONLINE.role == Role.CITIZEN
