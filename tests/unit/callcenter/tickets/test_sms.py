"""Tracking-code SMS: the outbox row and its Persian text, and the dispatcher's sending, backoff and giving up."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from callcenter.platform.errors import ConfigurationError, SmsSendFailed
from callcenter.platform.metrics import Metrics
from callcenter.platform.persian import ascii_digits
from callcenter.platform.phone_numbers import sms_number
from callcenter.platform.settings import load_settings
from callcenter.tickets.sms import (
    BACKOFF,
    OutboxBacklog,
    OutboxOnlyGateway,
    SmsDispatcher,
    outbox_backlog,
    queue_private_sms,
    queue_tracking_code_sms,
    tracking_code_text,
)
from callcenter.tickets.store import create_ticket
from callcenter.tickets.tracking_code import format_for_reading
from db.models import Category, Line, SmsMessage, SmsStatus, Ticket, TicketCreate, utcnow


def a_ticket(session: Session, caller_number: str | None = "09121234567", **fields: object) -> Ticket:
    category = session.exec(select(Category).where(Category.line == Line.SERVICES)).first()
    assert category is not None
    data = TicketCreate.model_validate({"category_id": category.id, "unit_id": category.default_unit_id,
                                        "description": "چاله در خیابان", "caller_number": caller_number, **fields})
    return create_ticket(session, data=data, created_by=None)


def outbox(engine: sa.Engine) -> list[SmsMessage]:
    with Session(engine) as session:
        return list(session.exec(select(SmsMessage).order_by(SmsMessage.id)).all())  # type: ignore[arg-type]


def queue(session: Session, caller_number: str | None = "09121234567") -> SmsMessage:
    message = queue_tracking_code_sms(session, ticket=a_ticket(session, caller_number))
    assert message is not None
    session.commit()  # the test is the edge: the dispatcher reads the outbox in its own transactions
    return message


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class FakeGateway:
    """Answers per number: ``ok`` (default), ``fail`` (SmsSendFailed), ``boom`` (a bug), ``hang`` (never)."""

    def __init__(self, behaviour: dict[str, str] | None = None) -> None:
        self.behaviour = behaviour or {}
        self.sent: list[tuple[str, str]] = []
        self.attempts: list[str] = []

    async def send(self, *, to: str, body: str) -> str:
        self.attempts.append(to)
        match self.behaviour.get(to, "ok"):
            case "fail":
                raise SmsSendFailed("Kavenegar refused the message: 418 اعتبار حساب شما کافی نیست")
            case "boom":
                raise RuntimeError("gateway bug")
            case "hang":
                await asyncio.Event().wait()
        self.sent.append((to, body))
        return f"provider-{len(self.sent)}"

    async def aclose(self) -> None:
        return None


def dispatcher(engine: sa.Engine, gateway: FakeGateway, clock: Clock, **options: object) -> SmsDispatcher:
    return SmsDispatcher(engine=engine, gateway=gateway, now=clock, **options)  # type: ignore[arg-type]


# --- the outbox row -----------------------------------------------------------------------------------------


def test_the_text_is_persian_with_persian_digits_and_the_code_in_groups_of_three(session: Session) -> None:
    message = queue(session)
    ticket = session.get(Ticket, message.ticket_id)
    assert ticket is not None
    grouped = format_for_reading(ticket.tracking_code).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert message.body == f"شهرداری قزوین: درخواست شما در سامانه ۱۳۷ ثبت شد. کد رهگیری: {grouped}"
    assert not any(ch.isascii() and ch.isdigit() for ch in message.body)
    assert ascii_digits(message.body).endswith(format_for_reading(ticket.tracking_code))
    assert message.body == tracking_code_text(ticket)


def test_a_new_message_is_queued_and_due_now_for_the_national_form_of_the_number(session: Session) -> None:
    message = queue(session, caller_number="+98 912 123 4567")
    assert message.to_number == "09121234567"
    assert message.status == SmsStatus.QUEUED and message.attempts == 0
    assert message.next_attempt_at <= utcnow() and message.sent_at is None


@pytest.mark.parametrize("caller", [None, "", "02833334444", "0912123456", "9121234567", "1001"])
def test_given_a_landline_an_extension_or_no_caller_then_no_sms_is_queued(
    session: Session, engine: sa.Engine, caller: str | None
) -> None:
    assert queue_tracking_code_sms(session, ticket=a_ticket(session, caller)) is None
    assert outbox(engine) == []


def test_only_iranian_mobile_numbers_receive_sms() -> None:
    assert sms_number("۰۹۱۲۱۲۳۴۵۶۷") == "09121234567"
    assert sms_number("00989351234567") == "09351234567"
    assert sms_number("02833334444") is None
    assert sms_number(None) is None


def test_queueing_the_same_ticket_twice_keeps_one_message(session: Session, engine: sa.Engine) -> None:
    ticket = a_ticket(session, request_id="form-7")
    first = queue_tracking_code_sms(session, ticket=ticket)
    again = queue_tracking_code_sms(session, ticket=a_ticket(session, request_id="form-7"))
    assert first is not None and again is not None and first.id == again.id
    session.commit()
    assert len(outbox(engine)) == 1


def test_given_a_provider_without_an_api_key_then_settings_refuse_to_load() -> None:
    with pytest.raises(ConfigurationError):
        load_settings({"PASOKH_SMS_PROVIDER": "kavenegar"})
    settings = load_settings({"PASOKH_SMS_PROVIDER": "kavenegar", "PASOKH_KAVENEGAR_API_KEY": "k"})
    assert settings.sms_provider == "kavenegar" and load_settings({}).sms_provider == "outbox"


# --- the dispatcher -----------------------------------------------------------------------------------------


async def test_the_dispatcher_sends_due_messages_and_records_the_provider_id(
    session: Session, engine: sa.Engine
) -> None:
    message = queue(session)
    clock, gateway = Clock(), FakeGateway()
    assert await dispatcher(engine, gateway, clock).dispatch_due() == 1
    assert gateway.sent == [("09121234567", message.body)]
    [stored] = outbox(engine)
    assert stored.status == SmsStatus.SENT and stored.provider_message_id == "provider-1"
    assert stored.attempts == 1 and stored.sent_at == clock.now and stored.last_error is None
    assert await dispatcher(engine, gateway, clock).dispatch_due() == 0  # sent once, never again
    assert len(gateway.sent) == 1


async def test_given_messages_sent_given_up_and_waiting_when_the_backlog_is_read_then_it_counts_those_waiting(
    session: Session, engine: sa.Engine
) -> None:
    assert outbox_backlog(engine) == OutboxBacklog(queued=0, oldest_queued_at=None)
    queue(session, "09121111111")
    queue(session, "09122222222")
    gateway = FakeGateway({"09122222222": "fail"})
    await dispatcher(engine, gateway, Clock(), max_attempts=1).dispatch_due()  # the first sent, the second given up
    waiting = queue(session, "09123333333")

    backlog = outbox_backlog(engine)

    assert [m.status for m in outbox(engine)] == [SmsStatus.SENT, SmsStatus.FAILED, SmsStatus.QUEUED]
    assert backlog == OutboxBacklog(queued=1, oldest_queued_at=waiting.created_at)


async def test_messages_not_yet_due_are_left_for_later(session: Session, engine: sa.Engine) -> None:
    clock, gateway = Clock(), FakeGateway()
    clock.now -= timedelta(seconds=5)
    queue(session)  # due now, which is later than the clock says
    assert await dispatcher(engine, gateway, clock).dispatch_due() == 0
    assert gateway.attempts == []


async def test_a_failing_provider_is_retried_later_and_later_then_the_message_is_marked_failed(
    session: Session, engine: sa.Engine
) -> None:
    queue(session)
    clock, gateway = Clock(), FakeGateway({"09121234567": "fail"})
    metrics = Metrics()
    sms = dispatcher(engine, gateway, clock, max_attempts=5, metrics=metrics)
    waits = []
    for attempt in range(1, 5):
        assert await sms.dispatch_due() == 0
        [stored] = outbox(engine)
        assert stored.status == SmsStatus.QUEUED and stored.attempts == attempt
        assert "418" in (stored.last_error or "")
        waits.append(stored.next_attempt_at - clock.now)
        assert await sms.dispatch_due() == 0 and len(gateway.attempts) == attempt  # not before its time
        clock.advance(waits[-1])
    assert waits == list(BACKOFF)  # 30 s, 2 min, 10 min, 1 h
    assert await sms.dispatch_due() == 0
    [stored] = outbox(engine)
    assert stored.status == SmsStatus.FAILED and stored.attempts == 5
    clock.advance(timedelta(days=1))
    assert await sms.dispatch_due() == 0 and len(gateway.attempts) == 5  # given up for good
    assert metrics.sms_attempts.labels(result="retry")._value.get() == 4
    assert metrics.sms_attempts.labels(result="failed")._value.get() == 1


async def test_a_gateway_that_hangs_or_raises_does_not_stop_the_other_messages(
    session: Session, engine: sa.Engine
) -> None:
    for number in ("09120000001", "09120000002", "09120000003"):
        queue(session, caller_number=number)
    clock, gateway = Clock(), FakeGateway({"09120000001": "hang", "09120000002": "boom"})
    started = asyncio.get_running_loop().time()
    assert await dispatcher(engine, gateway, clock, send_timeout=0.3).dispatch_due() == 1
    assert asyncio.get_running_loop().time() - started < 5
    assert [to for to, _body in gateway.sent] == ["09120000003"]
    by_number = {m.to_number: m for m in outbox(engine)}
    assert by_number["09120000003"].status == SmsStatus.SENT
    for number, error in (("09120000001", "no answer within 0.3 s"), ("09120000002", "RuntimeError: gateway bug")):
        assert by_number[number].status == SmsStatus.QUEUED and by_number[number].last_error == error
        assert by_number[number].next_attempt_at == clock.now + BACKOFF[0]


async def test_two_dispatchers_at_once_send_a_message_only_once(session: Session, engine: sa.Engine) -> None:
    queue(session)
    clock, gateway = Clock(), FakeGateway()
    results = await asyncio.gather(dispatcher(engine, gateway, clock).dispatch_due(),
                                   dispatcher(engine, gateway, clock).dispatch_due())
    assert sorted(results) == [0, 1] and len(gateway.sent) == 1


async def test_a_message_queued_more_than_a_day_ago_is_marked_failed_not_sent(
    session: Session, engine: sa.Engine
) -> None:
    queue(session)
    clock, gateway = Clock(), FakeGateway()
    clock.advance(timedelta(days=1, minutes=1))
    assert await dispatcher(engine, gateway, clock).dispatch_due() == 0
    [stored] = outbox(engine)
    assert gateway.attempts == [] and stored.status == SmsStatus.FAILED
    assert (stored.last_error or "").startswith("expired")


async def test_the_loop_logs_errors_and_keeps_going_until_cancelled(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sms = dispatcher(engine, FakeGateway(), Clock())
    calls = 0

    async def flaky() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise sa.exc.OperationalError("SELECT", {}, Exception("database is away"))
        return 0

    monkeypatch.setattr(sms, "dispatch_due", flaky)
    task = asyncio.create_task(sms.run(interval=0.01))
    while calls < 3:
        await asyncio.sleep(0.01)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# --- a complainant's texts: the outbox forgets the number (callcenter/complaints/identity.py keeps it sealed) ---

COMPLAINANT_BODY = "شهرداری قزوین: شکایت شما با کد ۸۱۲۳-۴۵۶-۷۸۹ ثبت شد."


def queue_private(session: Session, to: str = "09127654321", key: str = "complaint-filed:1") -> SmsMessage:
    message = queue_private_sms(session, to=to, body=COMPLAINANT_BODY, key=key)
    session.commit()
    return message


async def test_given_a_complainants_text_when_it_is_sent_then_its_number_is_blanked_and_the_body_kept(
    engine: sa.Engine, session: Session,
) -> None:
    queue_private(session)
    ticket_text = queue(session)  # a ticket's text beside it keeps its number
    gateway = FakeGateway()
    assert await dispatcher(engine, gateway, Clock()).dispatch_due() == 2
    assert ("09127654321", COMPLAINANT_BODY) in gateway.sent
    by_key = {row.dedup_key: row for row in outbox(engine)}
    private = by_key["complaint-filed:1"]
    assert private.status == SmsStatus.SENT and private.to_number == "" and private.forget_number
    assert private.body == COMPLAINANT_BODY
    assert by_key[ticket_text.dedup_key].to_number == "09121234567"


async def test_given_a_complainants_text_when_the_outbox_gateway_finally_fails_then_its_number_is_blanked(
    engine: sa.Engine, session: Session,
) -> None:
    queue_private(session)
    clock = Clock()
    sms = SmsDispatcher(engine=engine, gateway=OutboxOnlyGateway(), now=clock, max_attempts=2)
    assert await sms.dispatch_due() == 0
    (row,) = outbox(engine)
    assert row.status == SmsStatus.QUEUED and row.to_number == "09127654321"  # still needed for the retry
    clock.advance(BACKOFF[0] + timedelta(seconds=1))
    assert await sms.dispatch_due() == 0
    (row,) = outbox(engine)
    assert row.status == SmsStatus.FAILED and row.to_number == "" and row.body == COMPLAINANT_BODY


async def test_given_a_complainants_text_when_it_expires_unsent_then_its_number_is_blanked(
    engine: sa.Engine, session: Session,
) -> None:
    queue_private(session)
    clock = Clock()
    clock.advance(timedelta(days=2))
    assert await dispatcher(engine, FakeGateway(), clock).dispatch_due() == 0
    (row,) = outbox(engine)
    assert row.status == SmsStatus.FAILED and row.to_number == ""


def test_given_a_complainants_text_when_queued_twice_with_one_key_then_one_row(session: Session) -> None:
    first, second = queue_private(session), queue_private(session)
    assert first.id == second.id and first.forget_number
