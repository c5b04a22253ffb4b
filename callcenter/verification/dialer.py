"""Placing verification calls: supervisors' click-to-call, the automatic dialer, and what Asterisk reports back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from callcenter.platform.errors import (
    ASTERISK_FAILURES,
    Conflict,
    LinesNeededForInbound,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from callcenter.platform.notifier import Notifier
from callcenter.platform.persian import persian_digits
from callcenter.telephony.asterisk_actions import AsteriskActions, LineUse
from callcenter.telephony.dialplan import UserEvent
from callcenter.tickets.store import to_public
from callcenter.verification.tasks import (
    CallingPolicy,
    VerificationPage,
    ask_automatic,
    begin_attempt,
    due_automatic,
    get_task,
    hand_back_to_supervisors,
    live_automatic_attempt,
    open_tasks,
    record_answered,
    record_dial_result,
    record_key,
    record_outcome,
    release_lost_calls,
    task_public,
)
from db.engine import unit_of_work
from db.models import (
    Ticket,
    TicketAction,
    TicketPublic,
    TicketTransition,
    User,
    VerificationAttempt,
    VerificationMode,
    VerificationOutcome,
    VerificationTaskPublic,
    utcnow,
)

log = logging.getLogger(__name__)
R = TypeVar("R")
SETTLING = frozenset({VerificationOutcome.RESOLVED, VerificationOutcome.NOT_RESOLVED})


class VerificationDialer:
    """The one place verification calls are placed and their results land; every change is announced."""

    def __init__(self, *, engine: Engine, ami: AsteriskActions, notifier: Notifier, policy: CallingPolicy,
                 max_outbound: int, max_lines: int, ring_seconds: int) -> None:
        self._engine = engine
        self._ami = ami
        self._notifier = notifier
        self.policy = policy
        self._max_outbound = max_outbound
        self._max_lines = max_lines  # all the lines, inbound and outbound together (PASOKH_MAX_INBOUND_CALLS)
        self._ring_seconds = ring_seconds
        self._dialing = asyncio.Lock()

    # -- the supervisors' list --------------------------------------------------------------------------------

    async def open_tasks(self, *, after: str | None = None) -> VerificationPage:
        return await self._in_session(lambda session: open_tasks(session, policy=self.policy, after=after))

    async def call_with_supervisor(self, *, task_id: int, supervisor: User) -> VerificationTaskPublic:
        """Click-to-call: the supervisor's phone rings; once answered, the citizen's phone rings showing 137."""
        extension = supervisor.extension
        if not extension:
            raise PermissionDenied("برای تماس تأیید، باید برای شما داخلی تلفن تعریف شده باشد.",
                                   username=supervisor.username)
        await self._require_free_line()
        attempt, ticket = await self._in_session(lambda session: begin_attempt(
            session, task_id=task_id, by=supervisor, mode=VerificationMode.MANUAL, policy=self.policy,
            now=utcnow()))
        log.info("%s calls the citizen of ticket %s (attempt %s)", supervisor.username, ticket.tracking_code,
                 attempt.id)
        try:
            await self._ami.call_citizen_for_supervisor(
                supervisor_extension=extension, citizen_number=ticket.caller_number or "",
                attempt_id=attempt.id or 0, tracking_code=ticket.tracking_code, ring_seconds=self._ring_seconds)
        except ASTERISK_FAILURES:
            await self._not_placed(attempt)
            raise
        return await self._announce(task_id, ticket_moved=True)

    async def record_outcome(self, *, task_id: int, outcome: VerificationOutcome, by: User,
                             note: str) -> VerificationTaskPublic:
        """The supervisor's result of a call (or of a call made from a desk phone)."""
        await self._in_session(lambda session: record_outcome(
            session, task_id=task_id, outcome=outcome, by=by, note=note, policy=self.policy, now=utcnow()))
        return await self._announce(task_id, ticket_moved=outcome in SETTLING)

    async def ask_automatic(self, *, task_ids: list[int], by: User) -> list[VerificationTaskPublic]:
        """Hand tasks to the automatic dialer (its next round calls them, in calling hours)."""
        tasks = await self._in_session(lambda session: ask_automatic(session, task_ids=task_ids, by=by,
                                                                     now=utcnow()))
        return [await self._announce(task.id or 0) for task in tasks]

    # -- the automatic dialer ---------------------------------------------------------------------------------

    async def dial_due(self, now: datetime | None = None) -> int:
        """One round (the scheduler's job "verification-dialer"): as many due tasks as free outbound lines allow,
        none while inbound callers wait. Tasks live in the database, so a restart picks up where it stopped."""
        async with self._dialing:
            moment = now or utcnow()
            for task in await self._in_session(lambda session: release_lost_calls(session, policy=self.policy,
                                                                                  now=moment)):
                log.warning("verification call of task %s never reported back; counted as unanswered", task.id)
                await self._announce(task.id or 0)
            if not self.policy.may_call(moment):
                return 0
            try:
                use = await self._ami.lines_in_use()
            except ASTERISK_FAILURES:
                return 0
            free = self._free_lines(use)
            if use.inbound_waiting > 0 or free <= 0:
                return 0
            due = await self._in_session(lambda session: due_automatic(session, now=moment, limit=free))
            placed = 0
            for task in due:
                placed += await self._dial_automatically(task.id or 0, task.requested_by_id, moment)
            return placed

    async def _dial_automatically(self, task_id: int, requested_by_id: int | None, now: datetime) -> int:
        def begin(session: Session) -> tuple[VerificationAttempt, Ticket]:
            by = session.get(User, requested_by_id) if requested_by_id else None
            if by is None:
                raise PermissionDenied("ناظری که این تماس خودکار را خواسته بود پیدا نشد.", task_id=task_id)
            return begin_attempt(session, task_id=task_id, by=by, mode=VerificationMode.AUTOMATIC,
                                 policy=self.policy, now=now)

        try:
            attempt, ticket = await self._in_session(begin)
        except Conflict as refused:  # taken by another round, settled meanwhile, or a call still live
            log.info("automatic verification of task %s skipped: %s", task_id, refused.details or refused.message)
            return 0
        except (PermissionDenied, ValidationFailed, NotFound) as never:  # no later round would do better
            log.warning("automatic verification of task %s handed back to the supervisors: %s (%s)", task_id,
                        never.message, never.details)
            await self._in_session(lambda session: hand_back_to_supervisors(session, task_id=task_id))
            await self._announce(task_id)
            return 0
        try:
            await self._ami.call_citizen_automatically(citizen_number=ticket.caller_number or "",
                                                       attempt_id=attempt.id or 0, ring_seconds=self._ring_seconds)
        except ASTERISK_FAILURES:
            await self._not_placed(attempt)
            return 0
        await self._announce(task_id, ticket_moved=True)
        return 1

    # -- what the call reports ----------------------------------------------------------------------------------

    async def on_user_event(self, event: Mapping[str, str]) -> None:
        """The dialplan's word when the citizen answers, and once their leg is over (ANSWER, NOANSWER, BUSY...,
        REFUSED)."""
        if event.get("UserEvent") not in (UserEvent.VERIFICATION_CALL, UserEvent.VERIFICATION_ANSWERED):
            return
        attempt_text = str(event.get("Attempt", "")).strip()
        if not attempt_text.isdigit():
            # Not the whole event: its channel (Local/<number>@...) and caller ID name the citizen.
            log.warning("verification call event %s without an attempt (call %s)", event.get("UserEvent"),
                        event.get("Linkedid", "?"))
            return
        if event.get("UserEvent") == UserEvent.VERIFICATION_ANSWERED:
            await self._in_session(lambda session: record_answered(session, attempt_id=int(attempt_text)))
            return
        status = str(event.get("DialStatus", "")).strip() or "UNKNOWN"
        task = await self._in_session(lambda session: record_dial_result(
            session, attempt_id=int(attempt_text), dial_status=status, policy=self.policy, now=utcnow()))
        if task is not None:
            await self._announce(task.id or 0)

    async def tracking_code_for(self, attempt_id: int) -> str | None:
        """For the automatic call's greeting: the code of the ticket the attempt asks about; None unless the
        attempt is an automatic call still under way."""
        def code(session: Session) -> str | None:
            attempt = live_automatic_attempt(session, attempt_id=attempt_id, now=utcnow())
            task = get_task(session, attempt.task_id) if attempt else None
            ticket = session.get(Ticket, task.ticket_id) if task else None
            return ticket.tracking_code if ticket else None
        return await self._in_session(code)

    async def key_pressed(self, attempt_id: int, key: str) -> None:
        task = await self._in_session(lambda session: record_key(session, attempt_id=attempt_id, key=key,
                                                                 policy=self.policy, now=utcnow()))
        await self._announce(task.id or 0, ticket_moved=True)

    # -- helpers --------------------------------------------------------------------------------------------------

    async def _require_free_line(self) -> None:
        use = await self._ami.lines_in_use()
        if use.inbound_waiting > 0:
            raise LinesNeededForInbound(
                "شهروندانی پشت خط منتظر پاسخ‌اند؛ تماس تأیید پس از پاسخ به آنها ممکن است.",
                inbound_waiting=use.inbound_waiting)
        if use.outbound >= self._max_outbound:
            raise LinesNeededForInbound(
                f"سهم تماس‌های خروجی ({persian_digits(str(self._max_outbound))} خط) پر است؛ کمی بعد دوباره بزنید.",
                outbound=use.outbound)
        if self._free_lines(use) <= 0:
            raise LinesNeededForInbound("همه خطوط سامانه اکنون مشغول است؛ کمی بعد دوباره بزنید.",
                                        inbound=use.inbound, outbound=use.outbound)

    def _free_lines(self, use: LineUse) -> int:
        """Outbound calls that may start now: within the outbound share, and within the lines left over."""
        return min(self._max_outbound - use.outbound, self._max_lines - use.inbound - use.outbound)

    async def _not_placed(self, attempt: VerificationAttempt) -> None:
        task_id = attempt.task_id
        await self._in_session(lambda session: record_dial_result(
            session, attempt_id=attempt.id or 0, dial_status="REFUSED", policy=self.policy, now=utcnow()))
        await self._announce(task_id)

    async def _announce(self, task_id: int, *, ticket_moved: bool = False) -> VerificationTaskPublic:
        """The task to the supervisors' lists; with ``ticket_moved``, the ticket's step to everyone following
        tickets (the unit's inbox sees a reopened ticket come back)."""
        def read(session: Session) -> tuple[VerificationTaskPublic, TicketPublic, TicketAction | None]:
            task = get_task(session, task_id)
            ticket = session.get(Ticket, task.ticket_id)
            assert ticket is not None
            last = session.exec(select(TicketTransition).where(TicketTransition.ticket_id == ticket.id)
                                .order_by(col(TicketTransition.id).desc())).first()
            return task_public(session, task, policy=self.policy), to_public(session, ticket), (
                last.action if last else None)

        public, ticket, action = await self._in_session(read)
        self._notifier.verification_changed(public)
        if ticket_moved and action is not None:
            self._notifier.ticket_changed(ticket, action=action)
        return public

    async def _in_session(self, work: Callable[[Session], R]) -> R:
        """The dialer's edge: each step is one unit of work, committed before anything is dialled or announced."""
        def run() -> R:
            with unit_of_work(self._engine) as session:
                return work(session)
        return await asyncio.to_thread(run)

