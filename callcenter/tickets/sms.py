"""Tracking-code SMS: an outbox row written with the ticket, a gateway (Kavenegar or none), a retrying dispatcher."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from callcenter.platform.errors import SmsSendFailed
from callcenter.platform.metrics import Metrics
from callcenter.platform.persian import persian_digits
from callcenter.platform.phone_numbers import sms_number
from callcenter.tickets.tracking_code import format_for_reading
from db.engine import unit_of_work
from db.models import SmsMessage, SmsStatus, Ticket, utcnow

log = logging.getLogger(__name__)

TRACKING_CODE_TEXT = "شهرداری قزوین: درخواست شما در سامانه {line} ثبت شد. کد رهگیری: {code}"
# The status link (callcenter/citizens/links.py), on its own line so that phones make it a link.
STATUS_LINK_TEXT = "\nپیگیری: {link}"
ANSWER_LINK_TEXT = "شهرداری قزوین: انجام درخواست {code} اعلام شد. مشکل رفع شد؟ پاسخ دهید:\n{link}"
# Builds a tracking code's status link; the tickets package knows no URLs (they are the citizens' channel's).
StatusLink = Callable[[str], str]

# Wait after the 1st, 2nd, 3rd, 4th and later failed attempt.
BACKOFF: Sequence[timedelta] = (
    timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1),
)
# A "your request was registered" text a day late confuses more than it helps (e.g. a backlog queued while
# no provider was configured): such messages are marked failed instead of being sent.
MAX_AGE = timedelta(days=1)
_ERROR_LENGTH = 500


class SmsGateway(Protocol):
    """Sends one text; returns the provider's message id or raises :class:`SmsSendFailed`."""

    async def send(self, *, to: str, body: str) -> str: ...

    async def aclose(self) -> None: ...


class OutboxOnlyGateway:
    """No provider configured: the dispatcher is not started and messages stay ``queued`` in ``sms_outbox``.

    Should it be called anyway, it refuses, so that nothing is ever marked sent that was not.
    """

    async def send(self, *, to: str, body: str) -> str:
        raise SmsSendFailed("no SMS provider is configured (PASOKH_SMS_PROVIDER=outbox)")

    async def aclose(self) -> None:
        return None


class _RedactSecret(logging.Filter):
    """httpx logs every request URL at INFO, and Kavenegar's API key is part of the path."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._secret in message:
            record.msg, record.args = message.replace(self._secret, "***"), ()
        return True


class KavenegarGateway:
    """Kavenegar's REST API: ``POST {base_url}/v1/{api_key}/sms/send.json`` with receptor, message, sender."""

    def __init__(self, *, api_key: str, sender: str | None = None, base_url: str = "https://api.kavenegar.com",
                 timeout: float = 10.0) -> None:
        self._api_key = api_key
        self._sender = sender
        self._url = f"{base_url.rstrip('/')}/v1/{api_key}/sms/send.json"
        self._timeout = timeout
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout))
        self._redact = _RedactSecret(api_key)
        logging.getLogger("httpx").addFilter(self._redact)

    async def send(self, *, to: str, body: str) -> str:
        form = {"receptor": to, "message": body}
        if self._sender:
            form["sender"] = self._sender
        try:
            async with asyncio.timeout(self._timeout):  # httpx's timeouts are per read, not for the whole answer
                response = await self._client.post(self._url, data=form)
        except TimeoutError as exc:
            raise SmsSendFailed(f"Kavenegar did not answer within {self._timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise SmsSendFailed(f"Kavenegar unreachable: {self._hide_key(f'{type(exc).__name__}: {exc}')}") from exc
        return self._message_id(response)

    def _message_id(self, response: httpx.Response) -> str:
        try:
            payload: Any = response.json()
            result = payload["return"]
            status, message = result["status"], result.get("message") or ""
        except (ValueError, KeyError, TypeError) as exc:
            raise SmsSendFailed(f"Kavenegar gave an unreadable answer (HTTP {response.status_code})",
                                http_status=response.status_code) from exc
        if status != 200:
            raise SmsSendFailed(f"Kavenegar refused the message: {status} {message}".strip(), status=status)
        try:
            return str(payload["entries"][0]["messageid"])
        except (KeyError, IndexError, TypeError) as exc:
            raise SmsSendFailed("Kavenegar accepted the message but returned no message id") from exc

    def _hide_key(self, text: str) -> str:
        return text.replace(self._api_key, "***")

    async def aclose(self) -> None:
        await self._client.aclose()
        logging.getLogger("httpx").removeFilter(self._redact)


def tracking_code_text(ticket: Ticket, link: str = "") -> str:
    """What the citizen reads: Persian, with Persian digits and the code in groups of three; then the link to
    follow it, when there is one."""
    text = TRACKING_CODE_TEXT.format(line=persian_digits(ticket.line),
                                     code=persian_digits(format_for_reading(ticket.tracking_code)))
    return text + STATUS_LINK_TEXT.format(link=link) if link else text


def answer_link_text(ticket: Ticket, link: str) -> str:
    """The unit reported the work done: is the problem solved? (the link opens the answer form)."""
    return ANSWER_LINK_TEXT.format(code=persian_digits(ticket.tracking_code), link=link)


def queue_tracking_code_sms(
    session: Session, *, ticket: Ticket, status_link: StatusLink | None = None,
) -> SmsMessage | None:
    """Write the tracking-code SMS to the outbox (a DB write, no sending); once per ticket however often called.
    With ``status_link`` the text carries the ticket's status link."""
    link = status_link(ticket.tracking_code) if status_link is not None else ""
    return queue_ticket_sms(session, ticket=ticket, key=f"tracking-code:{ticket.id}",
                            body=tracking_code_text(ticket, link))


def queue_ticket_sms(session: Session, *, ticket: Ticket, key: str, body: str) -> SmsMessage | None:
    """Write a text to the ticket's citizen to the outbox, once per ``key``; None without a mobile to text."""
    to = sms_number(ticket.caller_number)
    if to is None or ticket.id is None:
        return None
    return queue_sms(session, to=to, body=body, key=key, ticket_id=ticket.id)


def queue_sms(session: Session, *, to: str, body: str, key: str, ticket_id: int | None = None,
              forget_number: bool = False) -> SmsMessage | None:
    """Write a text to ``to`` (national form, 09…) to the outbox, once per ``key`` however often called (a twin
    request's row wins); ``forget_number`` for a number kept encrypted elsewhere (a complainant's)."""
    existing = _by_dedup_key(session, key)
    if existing is not None:
        return existing
    message = SmsMessage(to_number=to, body=body, ticket_id=ticket_id, dedup_key=key, forget_number=forget_number)
    try:
        with session.begin_nested():  # a savepoint: a twin's row undoes only this insert, not the caller's work
            session.add(message)
    except IntegrityError:  # a twin request queued it a moment ago
        return _by_dedup_key(session, key)
    session.refresh(message)
    return message


def queue_private_sms(session: Session, *, to: str, body: str, key: str) -> SmsMessage:
    """Write a text to someone whose number is kept encrypted elsewhere (a complainant): once per ``key``, and
    marked ``forget_number`` so the dispatcher blanks the number once the text is sent or given up. ``body`` must
    carry no identity (no name, no mobile): it stays in the outbox."""
    existing = _by_dedup_key(session, key)
    if existing is not None:
        return existing
    message = SmsMessage(to_number=to, body=body, dedup_key=key, forget_number=True)
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        twin = _by_dedup_key(session, key)
        assert twin is not None
        return twin
    session.refresh(message)
    return message


def _by_dedup_key(session: Session, key: str) -> SmsMessage | None:
    return session.exec(select(SmsMessage).where(SmsMessage.dedup_key == key)).first()


@dataclass(frozen=True)
class OutboxBacklog:
    queued: int  # messages not yet sent nor given up
    oldest_queued_at: datetime | None  # when the oldest of them was written


def outbox_backlog(engine: Engine) -> OutboxBacklog:
    """What waits to be sent, for the metrics: one query on the (status, next attempt) index's ``queued`` range,
    which holds the backlog only (sent and failed messages are out of it)."""
    table = SmsMessage.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(sa.func.count(), sa.func.min(table.c.created_at)).where(table.c.status == SmsStatus.QUEUED)
        ).one()
    return OutboxBacklog(queued=int(row[0]), oldest_queued_at=row[1])


class SmsDispatcher:
    """Sends due outbox messages one by one; a failure backs off and, after ``max_attempts``, gives up.

    Each message is claimed before sending (its attempt counted, its next attempt pushed past the send
    timeout) so that a second dispatcher or a crash never sends it twice within the lease; the result is
    recorded in a second short transaction. Sending happens outside any transaction.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        gateway: SmsGateway,
        max_attempts: int = 5,
        send_timeout: float = 30.0,
        batch_size: int = 50,
        max_age: timedelta = MAX_AGE,
        now: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
    ) -> None:
        self._engine = engine
        self._gateway = gateway
        self._max_attempts = max_attempts
        self._send_timeout = send_timeout
        self._lease = timedelta(seconds=send_timeout + 60)
        self._batch_size = batch_size
        self._max_age = max_age
        self._now = now
        self._metrics = metrics

    async def run(self, interval: float) -> None:
        """The backend's loop: dispatch, sleep, repeat; errors are logged, never raised (cancel to stop)."""
        while True:
            try:
                await self.dispatch_due()
            except Exception:
                log.exception("SMS dispatch failed; trying again in %g s", interval)
            await asyncio.sleep(interval)

    async def dispatch_due(self) -> int:
        """Try every message due now once; returns how many were sent."""
        sent = 0
        for message_id in await asyncio.to_thread(self._due_ids):
            try:
                sent += await self._dispatch_one(message_id)
            except Exception:
                log.exception("SMS %d: dispatch failed; it stays queued", message_id)
        return sent

    async def _dispatch_one(self, message_id: int) -> int:
        claimed = await asyncio.to_thread(self._claim, message_id)
        if claimed is None:
            return 0
        to, body, attempts = claimed
        try:
            provider_id = await asyncio.wait_for(self._gateway.send(to=to, body=body), self._send_timeout)
        except SmsSendFailed as exc:
            error = exc.message
        except TimeoutError:
            error = f"no answer within {self._send_timeout:g} s"
        except Exception as exc:  # a gateway bug must not lose the message either
            log.exception("SMS %d: gateway raised", message_id)
            error = f"{type(exc).__name__}: {exc}"
        else:
            await asyncio.to_thread(self._mark_sent, message_id, provider_id)
            self._count("sent")
            return 1
        gave_up = await asyncio.to_thread(self._mark_failed_attempt, message_id, attempts, error)
        self._count("failed" if gave_up else "retry")
        log.warning("SMS %d: attempt %d failed (%s)%s", message_id, attempts, error,
                    "; giving up" if gave_up else "")
        return 0

    def _due_ids(self) -> list[int]:
        with unit_of_work(self._engine) as session:
            rows = session.exec(
                select(SmsMessage.id)
                .where(SmsMessage.status == SmsStatus.QUEUED, col(SmsMessage.next_attempt_at) <= self._now())
                .order_by(col(SmsMessage.next_attempt_at), col(SmsMessage.id))
                .limit(self._batch_size)
            ).all()
            return [row for row in rows if row is not None]

    def _claim(self, message_id: int) -> tuple[str, str, int] | None:
        """Take the message if it is still queued and due (another dispatcher may have been quicker)."""
        now = self._now()
        table = SmsMessage.__table__  # type: ignore[attr-defined]
        with unit_of_work(self._engine) as session:
            connection = session.connection()
            claimed = connection.execute(
                sa.update(table)
                .where(table.c.id == message_id, table.c.status == SmsStatus.QUEUED, table.c.next_attempt_at <= now)
                .values(attempts=table.c.attempts + 1, next_attempt_at=now + self._lease)
            )
            if claimed.rowcount != 1:
                return None
            row = connection.execute(
                sa.select(table.c.to_number, table.c.body, table.c.attempts, table.c.created_at)
                .where(table.c.id == message_id)
            ).one()
            if row.created_at < now - self._max_age:
                connection.execute(
                    sa.update(table).where(table.c.id == message_id)
                    .values(status=SmsStatus.FAILED, last_error="expired: queued too long ago to be useful",
                            to_number=sa.case((table.c.forget_number, ""), else_=table.c.to_number))
                )
                self._count("expired")
                return None
            return row.to_number, row.body, row.attempts

    def _mark_sent(self, message_id: int, provider_id: str) -> None:
        with unit_of_work(self._engine) as session:
            message = session.get(SmsMessage, message_id)
            if message is None:
                return
            message.status, message.sent_at = SmsStatus.SENT, self._now()
            message.provider_message_id, message.last_error = provider_id[:64], None
            _forget_number_if_asked(message)
            session.add(message)

    def _mark_failed_attempt(self, message_id: int, attempts: int, error: str) -> bool:
        """Record the error; schedule the next attempt or give up. True when given up."""
        with unit_of_work(self._engine) as session:
            message = session.get(SmsMessage, message_id)
            if message is None:
                return True
            message.last_error = error[:_ERROR_LENGTH]
            gave_up = attempts >= self._max_attempts
            if gave_up:
                message.status = SmsStatus.FAILED
                _forget_number_if_asked(message)
            else:
                message.next_attempt_at = self._now() + backoff(attempts)
            session.add(message)
            return gave_up

    def _count(self, result: str) -> None:
        if self._metrics is not None:
            self._metrics.sms_attempts.labels(result=result).inc()


def _forget_number_if_asked(message: SmsMessage) -> None:
    """A complainant's number is needed only to send: once the message is done with, it is blanked."""
    if message.forget_number:
        message.to_number = ""


def backoff(failed_attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: 30 s, 2 min, 10 min, then every hour."""
    return BACKOFF[min(max(failed_attempts, 1), len(BACKOFF)) - 1]
