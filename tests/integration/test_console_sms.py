"""Filing a ticket in the console queues the tracking-code SMS; the provider is never in the request's path."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from callcenter.bootstrap.app import create_app
from callcenter.citizens.links import status_link
from callcenter.platform.settings import load_settings
from db.engine import make_engine
from db.models import SmsMessage, SmsStatus
from tests.support.backend import OPERATOR_1, TEST_SECRETS, seed_staff
from tests.support.console import log_in_sync
from tests.support.fake_kavenegar import GOOD_KEY, fake_kavenegar, silent_server


@contextmanager
def console(database_url: str, **settings: object) -> Iterator[TestClient]:
    config = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url, **settings)
    engine = make_engine(database_url)
    seed_staff(engine)
    engine.dispose()
    with TestClient(create_app(config, telephony=False), base_url="http://127.0.0.1") as test_client:
        response = log_in_sync(test_client, OPERATOR_1.username, OPERATOR_1.password)
        assert response.status_code == 303
        yield test_client


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with console(database_url) as test_client:
        yield test_client


def a_ticket(client: TestClient, **fields: object) -> dict[str, object]:
    reference = client.get("/api/reference").json()
    category = next(c for c in reference["categories"] if c["line"] == "137")
    return {"category_id": category["id"], "unit_id": category["default_unit_id"],
            "description": "چراغ کوچه خاموش است", "request_id": str(uuid.uuid4()), **fields}


def outbox(client: TestClient) -> list[SmsMessage]:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        return list(session.exec(select(SmsMessage)).all())


def test_filing_a_ticket_for_a_mobile_caller_queues_one_sms_with_its_tracking_code(client: TestClient) -> None:
    filed = client.post("/api/tickets", json=a_ticket(client, caller_number="۰۹۱۲ ۱۲۳ ۴۵۶۷"))
    assert filed.status_code == 201
    [message] = outbox(client)
    assert message.to_number == "09121234567" and message.ticket_id == filed.json()["id"]
    assert message.status == SmsStatus.QUEUED and message.attempts == 0
    code = filed.json()["tracking_code"]
    grouped = f"{code[:3]}-{code[3:6]}-{code[6:]}".translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    settings = client.app.state.web.settings  # type: ignore[attr-defined]
    assert message.body == f"{tracking_code_text_head(grouped)}\nپیگیری: {status_link(settings, code)}"


def tracking_code_text_head(grouped: str) -> str:
    return f"شهرداری قزوین: درخواست شما در سامانه ۱۳۷ ثبت شد. کد رهگیری: {grouped}"


def test_posting_the_same_request_id_twice_queues_the_sms_once(client: TestClient) -> None:
    body = a_ticket(client, caller_number="09121234567")
    first = client.post("/api/tickets", json=body)
    second = client.post("/api/tickets", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert len(outbox(client)) == 1


def test_a_landline_caller_or_no_caller_gets_no_sms(client: TestClient) -> None:
    assert client.post("/api/tickets", json=a_ticket(client, caller_number="02833334444")).status_code == 201
    assert client.post("/api/tickets", json=a_ticket(client)).status_code == 201
    assert outbox(client) == []


def test_with_kavenegar_configured_the_dispatcher_delivers_the_sms_after_the_request(database_url: str) -> None:
    with fake_kavenegar() as kavenegar, console(
        database_url, sms_provider="kavenegar", kavenegar_api_key=GOOD_KEY, kavenegar_sender="10004346",
        kavenegar_base_url=kavenegar.base_url, sms_dispatch_interval_seconds=0.05,
    ) as client:
        filed = client.post("/api/tickets", json=a_ticket(client, caller_number="09121234567")).json()
        deadline = time.monotonic() + 10
        while outbox(client)[0].status != SmsStatus.SENT and time.monotonic() < deadline:
            time.sleep(0.05)
        [message] = outbox(client)
        assert message.status == SmsStatus.SENT and message.provider_message_id
        [request] = kavenegar.sent_to("09121234567")
        assert request.form["message"] == message.body and message.ticket_id == filed["id"]


def test_given_a_provider_that_never_answers_filing_still_answers_at_once_and_shutdown_does_not_hang(
    database_url: str,
) -> None:
    with silent_server() as url:
        started = time.monotonic()
        with console(database_url, sms_provider="kavenegar", kavenegar_api_key=GOOD_KEY, kavenegar_base_url=url,
                     sms_dispatch_interval_seconds=0.05) as client:
            posted = time.monotonic()
            filed = client.post("/api/tickets", json=a_ticket(client, caller_number="09121234567"))
            assert filed.status_code == 201 and time.monotonic() - posted < 2
            time.sleep(0.3)  # the dispatcher is now waiting on the silent provider
            [message] = outbox(client)
            assert message.status == SmsStatus.QUEUED
        assert time.monotonic() - started < 10
