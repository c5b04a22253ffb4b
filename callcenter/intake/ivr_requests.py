"""What callers leave with the IVR instead of waiting: recorded messages become tickets, callback requests a list."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from callcenter.intake.callbacks import position_in_line, request_callback
from callcenter.platform.notifier import Notifier
from callcenter.tickets.sms import StatusLink, queue_tracking_code_sms
from callcenter.tickets.store import VoiceMessage, submit_voice_message, to_public
from db.engine import unit_of_work
from db.models import Call, CallbackPublic, CallOutcome, TicketPublic


@dataclass(frozen=True)
class CallbackReceipt:
    callback_id: int
    position: int  # 1 = next to be called back


class DatabaseIntake:
    """The IVR's write side (implements ``ivr.flows.CitizenRequests``); database work runs off the event loop."""

    def __init__(self, *, engine: Engine, notifier: Notifier, status_link: StatusLink | None = None) -> None:
        self._engine = engine
        self._notifier = notifier
        self._status_link = status_link  # the tracking-code SMS carries the ticket's status link

    async def leave_message(self, message: VoiceMessage) -> str:
        """Store the ticket, queue its tracking-code SMS, tell the consoles; returns the tracking code."""
        ticket, new = await asyncio.to_thread(self._leave_message, message)
        if new:  # a retried IVR step gets the same code, and the consoles hear of the message once
            self._notifier.ticket_created(ticket)
        return ticket.tracking_code

    async def request_callback(self, *, line: str, caller_number: str, linkedid: str) -> CallbackReceipt:
        callback, position = await asyncio.to_thread(self._request_callback, line, caller_number, linkedid)
        self._notifier.callback_requested(callback)
        return CallbackReceipt(callback_id=callback.id, position=position)

    def _leave_message(self, message: VoiceMessage) -> tuple[TicketPublic, bool]:
        """The AGI step's unit of work: the ticket, its SMS and the call's outcome are stored together or not at
        all (a failure reaches the flow, which tells the caller; nothing half-written stays behind)."""
        with unit_of_work(self._engine) as session:
            submission = submit_voice_message(session, message=message)
            ticket = submission.ticket
            queue_tracking_code_sms(session, ticket=ticket, status_link=self._status_link)
            _settle_call(session, message.linkedid, CallOutcome.VOICE_MESSAGE, forget_caller=message.anonymous)
            return to_public(session, ticket), submission.new

    def _request_callback(self, line: str, caller_number: str, linkedid: str) -> tuple[CallbackPublic, int]:
        with unit_of_work(self._engine) as session:
            callback = request_callback(session, line=line, caller_number=caller_number, linkedid=linkedid)
            _settle_call(session, linkedid, CallOutcome.CALLBACK)
            return CallbackPublic.model_validate(callback), position_in_line(session, callback)


def _settle_call(session: Session, linkedid: str, outcome: CallOutcome, *, forget_caller: bool = False) -> None:
    """The call ends in the IVR on purpose; its record says so instead of "hung up in the menu"."""
    call = session.exec(select(Call).where(Call.linkedid == linkedid)).first()
    if call is None:
        return
    if call.outcome == CallOutcome.IN_PROGRESS:
        call.outcome = outcome
    if forget_caller:  # an anonymous message: not even the call record keeps who left it
        call.anonymous, call.caller_number = True, ""
    session.add(call)
