"""The walking skeleton: a sipp citizen calls 137, presses 1, an operator's phone rings, the console pops,
the operator files a ticket linked to the call."""

from __future__ import annotations

import asyncio
import json
import uuid

import websockets
from sqlmodel import Session, select

from callcenter.tickets.tracking_code import is_valid
from db.models import Call, CallOutcome, Ticket
from tests.support.backend import CITIZENS_PORT, OPERATOR_1, RunningBackend, earlier_ticket
from tests.support.console import logged_in_client, next_event
from tests.support.sipp import Sipp

CITIZEN = "09121234567"


async def test_given_operator_in_queue_when_returning_citizen_calls_137_and_presses_0_then_pop_and_linked_ticket(
    backend: RunningBackend, sipp: Sipp, operator_phones: object
) -> None:
    earlier = earlier_ticket(backend.engine, caller=CITIZEN, description="چراغ کوچه خاموش است")
    category_id, unit_id, earlier_code = earlier.category_id, earlier.unit_id, earlier.tracking_code
    client = await logged_in_client(backend.url, OPERATOR_1.username, OPERATOR_1.password)
    cookie = f"pasokh_session={client.cookies['pasokh_session']}"
    async with websockets.connect(backend.ws_url, additional_headers={"Cookie": cookie}) as ws:
        assert json.loads(await ws.recv())["name"] == "hello"
        joined = await client.post("/api/queue/join", json={"queue": "line137"})
        assert joined.status_code == 204, joined.text
        await next_event(ws, "agent_state")

        # A returning caller (open ticket) is offered its status first; 0 asks for an operator from any menu.
        citizen = asyncio.create_task(
            sipp.citizen_calls(caller=CITIZEN, digits="0", hold_ms=12000, local_port=CITIZENS_PORT)
        )
        pop = await next_event(ws, "call_connected", timeout=40)

        assert pop["data"]["call"]["caller_number"] == CITIZEN
        assert pop["data"]["extension"] == OPERATOR_1.extension
        assert [t["tracking_code"] for t in pop["data"]["history"]] == [earlier_code]
        filed = await client.post("/api/tickets", json={
            "category_id": category_id, "unit_id": unit_id, "address": "خیابان پیغمبریه، کوچه ۱۲",
            "description": "زباله‌ها دو روز است جمع نشده", "call_id": pop["data"]["call"]["id"],
            "request_id": str(uuid.uuid4()),
        })
        assert filed.status_code == 201, filed.text
        code = filed.json()["tracking_code"]
        result = await citizen
    await client.aclose()

    assert result.failed == 0 and result.successful == 1, result.output[-3000:]
    assert is_valid(code)
    await asyncio.sleep(0.5)  # the Hangup event lands just after the BYE's 200 OK
    with Session(backend.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.tracking_code == code)).one()
        call = session.get(Call, ticket.call_id)
        assert call is not None
        assert call.caller_number == CITIZEN and call.line == "137"
        assert call.operator_extension == OPERATOR_1.extension and call.answered_at is not None
        assert ticket.caller_number == CITIZEN
        assert ticket.address == "خیابان پیغمبریه، کوچه 12"  # digits stored ASCII
        assert call.outcome == CallOutcome.ANSWERED and call.ended_at is not None
