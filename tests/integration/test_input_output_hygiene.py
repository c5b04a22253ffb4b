"""Input and output hygiene over a real socket on both databases: body limits, control characters, idempotency
keys, callbacks closed once, security headers."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import uuid

import httpx
import pytest
import websockets
from fastapi.routing import APIRoute
from sqlmodel import Session, select

from agent_console.body_limit import ROUTE_BODY_LIMITS, body_limit
from agent_console.routes import ROUTERS
from callcenter.intake.callbacks import request_callback
from callcenter.intake.ivr_requests import DatabaseIntake
from callcenter.tickets.store import VoiceMessage
from db.engine import unit_of_work
from db.models import CallbackRequest, CallbackStatus, SmsMessage, Ticket, TicketSource
from tests.support.backend import OPERATOR_1, OPERATOR_2
from tests.support.console import logged_in_client, next_event
from tests.support.fixtures import WebBackend

CLOSERS = 8


async def test_given_a_pending_callback_when_operators_close_it_at_the_same_moment_then_one_wins_and_the_rest_409(
    web_backend: WebBackend,
) -> None:
    with unit_of_work(web_backend.engine) as session:
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
    with unit_of_work(web_backend.engine) as session:
        stored = session.get(CallbackRequest, callback_id)
        assert stored is not None and stored.status.value == winners[0].json()["status"]
        assert stored.status != CallbackStatus.PENDING and stored.handled_by_id is not None


TWENTY_MB = 20 * 1024 * 1024


def _declared_but_unsent(url: str, path: str, length: int, content_type: str) -> tuple[int, dict[str, object]]:
    """An HTTP client that sends the headers of a ``length``-byte body and then waits for the answer without
    sending a byte of it: only a server that refuses by the declared length answers at all."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", content_type)
        connection.putheader("Content-Length", str(length))
        connection.putheader("Accept", "application/json")
        connection.endheaders()  # the headers go out; the body never does
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize(("path", "length", "content_type"), [
    ("/api/tickets", TWENTY_MB, "application/json"),
    ("/login", TWENTY_MB, "application/x-www-form-urlencoded"),
    ("/api/tickets/123456784/actions", 30 * 1024 * 1024, "multipart/form-data; boundary=x"),  # beyond its 25 MB
])
async def test_given_a_huge_declared_body_when_posted_then_413_in_persian_before_a_byte_of_it_is_sent(
    web_backend: WebBackend, path: str, length: int, content_type: str,
) -> None:
    status, body = await asyncio.to_thread(_declared_but_unsent, web_backend.url, path, length, content_type)
    assert status == 413
    assert body["error_id"] == "request-too-large"
    assert "حجم اطلاعات" in str(body["message"])


async def test_given_a_chunked_body_without_a_length_when_it_streams_past_the_limit_then_it_is_cut_off_with_413(
    web_backend: WebBackend,
) -> None:
    # A logged-in operator with the CSRF token: a request the app would read to the end.
    client = await logged_in_client(web_backend.url, OPERATOR_1.username, OPERATOR_1.password)
    cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    token = client.cookies["pasokh_csrf"]
    await client.aclose()
    host, port = web_backend.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"POST /api/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 f"Cookie: {cookies}\r\nX-CSRF-Token: {token}\r\n"
                 "Transfer-Encoding: chunked\r\nAccept: application/json\r\n\r\n".encode())
    chunk = b"4000\r\n" + b" " * 0x4000 + b"\r\n"  # 16 KiB of JSON whitespace, endlessly
    sent, answer = 0, b""
    try:
        while sent < TWENTY_MB and not answer:
            writer.write(chunk)
            await writer.drain()
            sent += 0x4000
            with contextlib.suppress(TimeoutError):
                answer = await asyncio.wait_for(reader.read(65536), 0.05)
        while b"}" not in answer:  # the rest of the JSON answer
            answer += await asyncio.wait_for(reader.read(65536), 5)
    except ConnectionError:
        pass  # the server may close while we still write; what it answered before is in ``answer``
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:200]
    assert json.loads(body)["error_id"] == "request-too-large"
    assert sent < 1024 * 1024, "the server read on long after the limit"


async def test_given_a_body_just_under_the_limit_when_posted_then_it_reaches_the_route(
    web_backend: WebBackend,
) -> None:
    async with httpx.AsyncClient(base_url=web_backend.url) as client:
        response = await client.post("/api/tickets", content=b"{" + b" " * (60 * 1024) + b"}",
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    assert response.status_code == 403  # the CSRF check ran: nothing refused it for its size
    assert response.json()["error_id"] == "csrf-failed"


async def test_given_a_description_with_nul_and_control_characters_when_filing_then_the_ticket_is_stored_clean(
    web_backend: WebBackend,
) -> None:
    client = await logged_in_client(web_backend.url, OPERATOR_1.username, OPERATOR_1.password)
    try:
        reference = (await client.get("/api/reference")).json()
        category = next(c for c in reference["categories"] if c["line"] == "137")
        response = await client.post("/api/tickets", json={
            "category_id": category["id"], "unit_id": category["default_unit_id"],
            "address": "خیابان\x00 امام\x1b[2J", "description": "چراغ\x00 کوچه\x07 خاموش است\x00"})
    finally:
        await client.aclose()
    assert response.status_code == 201, response.text
    with unit_of_work(web_backend.engine) as session:
        stored = session.exec(select(Ticket).where(Ticket.tracking_code == response.json()["tracking_code"])).one()
    assert (stored.description, stored.address) == ("چراغ کوچه خاموش است", "خیابان امام[2J")


def test_every_route_with_a_larger_body_limit_is_a_route_of_the_app() -> None:
    routes = {(method, route.path) for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)
              for method in route.methods}
    assert set(ROUTE_BODY_LIMITS) <= routes
    assert body_limit("POST", "/api/tickets/123456784/actions") == ROUTE_BODY_LIMITS[
        ("POST", "/api/tickets/{tracking_code}/actions")]
    assert body_limit("POST", "/api/tickets/123456784/actions/x") == body_limit("POST", "/api/tickets") == 64 * 1024


async def _ticket_events_until(ws: websockets.ClientConnection, marker_code: str) -> list[str]:
    """The tracking codes of every ticket_created event, up to and including ``marker_code``'s (events arrive in
    order, so whatever the server announced before the marker is in the list)."""
    codes: list[str] = []
    while marker_code not in codes:
        codes.append((await next_event(ws, "ticket_created", timeout=10))["data"]["ticket"]["tracking_code"])
    return codes


def a_ticket_body(reference: dict[str, object], **fields: object) -> dict[str, object]:
    category = next(c for c in reference["categories"] if c["line"] == "137")  # type: ignore[attr-defined]
    return {"category_id": category["id"], "unit_id": category["default_unit_id"], "caller_number": "09121234567",
            "description": "چراغ کوچه خاموش است", "request_id": str(uuid.uuid4()), **fields}


def sms_for(engine: object, ticket_id: int) -> list[SmsMessage]:
    with Session(engine) as session:  # type: ignore[call-overload]
        return list(session.exec(select(SmsMessage).where(SmsMessage.ticket_id == ticket_id)).all())


async def test_given_a_form_submitted_twice_when_filing_then_the_first_ticket_comes_back_announced_once(
    web_backend: WebBackend,
) -> None:
    filer = await logged_in_client(web_backend.url, OPERATOR_1.username, OPERATOR_1.password)
    watcher = await logged_in_client(web_backend.url, OPERATOR_2.username, OPERATOR_2.password)
    cookie = f"pasokh_session={watcher.cookies['pasokh_session']}"
    try:
        async with websockets.connect(web_backend.url.replace("http", "ws") + "/ws",
                                      additional_headers={"Cookie": cookie}) as ws:
            assert json.loads(await ws.recv())["name"] == "hello"
            reference = (await filer.get("/api/reference")).json()
            body = a_ticket_body(reference)
            first, replay = [await filer.post("/api/tickets", json=body) for _ in range(2)]
            marker = await filer.post("/api/tickets", json=a_ticket_body(reference, caller_number=None))
            announced = await _ticket_events_until(ws, marker.json()["tracking_code"])
    finally:
        await filer.aclose()
        await watcher.aclose()
    assert first.status_code == replay.status_code == 201
    assert replay.json()["tracking_code"] == first.json()["tracking_code"]
    assert announced == [first.json()["tracking_code"], marker.json()["tracking_code"]]
    assert len(sms_for(web_backend.engine, first.json()["id"])) == 1


@pytest.mark.parametrize("request_id", ["voice:1700000000.42", "voice:x", "a b", "x" * 65, "کد"])
async def test_given_a_client_request_id_outside_the_clients_namespace_when_filing_then_refused(
    web_backend: WebBackend, request_id: str,
) -> None:
    client = await logged_in_client(web_backend.url, OPERATOR_1.username, OPERATOR_1.password)
    try:
        reference = (await client.get("/api/reference")).json()
        response = await client.post("/api/tickets", json=a_ticket_body(reference, request_id=request_id))
    finally:
        await client.aclose()
    assert response.status_code == 422
    assert response.json()["error_id"] == "invalid-data"
    with unit_of_work(web_backend.engine) as session:
        assert session.exec(select(Ticket)).all() == []


async def test_given_a_client_tried_to_claim_a_calls_voice_key_when_the_caller_leaves_a_message_then_it_is_theirs(
    web_backend: WebBackend,
) -> None:
    linkedid = "1700000000.77"
    client = await logged_in_client(web_backend.url, OPERATOR_1.username, OPERATOR_1.password)
    cookie = f"pasokh_session={client.cookies['pasokh_session']}"
    try:
        reference = (await client.get("/api/reference")).json()
        claim = await client.post("/api/tickets", json=a_ticket_body(reference, request_id=f"voice:{linkedid}"))
        assert claim.status_code == 422
        intake = DatabaseIntake(engine=web_backend.engine, notifier=web_backend.services.web.notifier)
        async with websockets.connect(web_backend.url.replace("http", "ws") + "/ws",
                                      additional_headers={"Cookie": cookie}) as ws:
            assert json.loads(await ws.recv())["name"] == "hello"
            message = VoiceMessage(line="137", linkedid=linkedid, caller_number="09125556666",
                                   recording=f"msg-137-{linkedid}.wav")
            code = await intake.leave_message(message)
            assert await intake.leave_message(message) == code  # the IVR step, retried
            marker = await intake.leave_message(VoiceMessage(line="137", linkedid="1700000000.78",
                                                             caller_number=None, recording="msg-137-78.wav"))
            announced = await _ticket_events_until(ws, marker)
    finally:
        await client.aclose()
    assert announced == [code, marker]
    with unit_of_work(web_backend.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.tracking_code == code)).one()
        assert ticket.source == TicketSource.VOICE_MESSAGE and ticket.caller_number == "09125556666"
        assert ticket.id is not None
    assert len(sms_for(web_backend.engine, ticket.id)) == 1
