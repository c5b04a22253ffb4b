"""Input and output hygiene over a real socket on both databases: body limits, control characters, idempotency
keys, callbacks closed once, security headers."""

from __future__ import annotations

import asyncio

from sqlmodel import Session

from callcenter.callbacks import request_callback
from db.models import CallbackRequest, CallbackStatus
from tests.support.backend import OPERATOR_1, OPERATOR_2
from tests.support.console import logged_in_client
from tests.support.fixtures import WebBackend

CLOSERS = 8


async def test_given_a_pending_callback_when_operators_close_it_at_the_same_moment_then_one_wins_and_the_rest_409(
    web_backend: WebBackend,
) -> None:
    with Session(web_backend.engine) as session:
        callback_id = request_callback(session, line="137", caller_number="09121112233", linkedid="race-1").id
    accounts = [OPERATOR_1, OPERATOR_2] * (CLOSERS // 2)
    clients = [await logged_in_client(web_backend.url, a.username, a.password) for a in accounts]
    try:
        answers = await asyncio.gather(*(
            client.post(f"/api/callbacks/{callback_id}/close", json={"status": status})
            for client, status in zip(clients, ["done", "cancelled"] * (CLOSERS // 2), strict=True)))
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))

    winners = [answer for answer in answers if answer.status_code == 200]
    losers = [answer for answer in answers if answer.status_code != 200]
    assert len(winners) == 1, [answer.text for answer in answers]
    assert {answer.status_code for answer in losers} == {409}
    assert {answer.json()["error_id"] for answer in losers} == {"callback-already-closed"}
    assert all("بسته" in answer.json()["message"] for answer in losers)
    with Session(web_backend.engine) as session:
        stored = session.get(CallbackRequest, callback_id)
        assert stored is not None and stored.status.value == winners[0].json()["status"]
        assert stored.status != CallbackStatus.PENDING and stored.handled_by_id is not None
