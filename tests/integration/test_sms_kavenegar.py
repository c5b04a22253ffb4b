"""KavenegarGateway against a real local HTTP server that answers like Kavenegar (never the real one)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from callcenter.platform.errors import SmsSendFailed
from callcenter.tickets.sms import KavenegarGateway
from tests.support.fake_kavenegar import (
    FIRST_MESSAGE_ID,
    GOOD_KEY,
    HTML_KEY,
    INVALID_KEY,
    NO_CREDIT_KEY,
    FakeKavenegar,
    fake_kavenegar,
    silent_server,
)

TEXT = "شهرداری قزوین: درخواست شما در سامانه ۱۳۷ ثبت شد. کد رهگیری: ۱۲۳-۴۵۶-۷۸۹"


@pytest.fixture
def kavenegar() -> Iterator[FakeKavenegar]:
    with fake_kavenegar() as server:
        yield server


@pytest.fixture
async def gateway(kavenegar: FakeKavenegar) -> AsyncIterator[KavenegarGateway]:
    gateway = KavenegarGateway(api_key=GOOD_KEY, sender="10004346", base_url=kavenegar.base_url, timeout=5)
    yield gateway
    await gateway.aclose()


async def test_a_message_is_posted_as_a_form_to_the_path_with_the_api_key_and_its_id_returned(
    gateway: KavenegarGateway, kavenegar: FakeKavenegar
) -> None:
    assert await gateway.send(to="09121234567", body=TEXT) == str(FIRST_MESSAGE_ID)
    [request] = kavenegar.requests
    assert request.method == "POST" and request.path == f"/v1/{GOOD_KEY}/sms/send.json"
    assert request.content_type.startswith("application/x-www-form-urlencoded")
    assert request.form == {"receptor": "09121234567", "message": TEXT, "sender": "10004346"}


async def test_without_a_sender_the_field_is_left_out_so_the_account_default_line_is_used(
    kavenegar: FakeKavenegar,
) -> None:
    gateway = KavenegarGateway(api_key=GOOD_KEY, base_url=kavenegar.base_url + "/", timeout=5)
    try:
        await gateway.send(to="09121234567", body=TEXT)
    finally:
        await gateway.aclose()
    assert kavenegar.requests[0].path == f"/v1/{GOOD_KEY}/sms/send.json"
    assert "sender" not in kavenegar.requests[0].form


@pytest.mark.parametrize(
    ("api_key", "expected"),
    [
        (NO_CREDIT_KEY, "418 اعتبار حساب شما کافی نیست"),
        (INVALID_KEY, "403 کد شناسائی API-Key معتبر نمی‌باشد"),
        (HTML_KEY, "unreadable answer (HTTP 502)"),
    ],
    ids=["no-credit", "invalid-key", "html-page"],
)
async def test_an_error_answer_raises_sms_send_failed_with_the_providers_message(
    kavenegar: FakeKavenegar, api_key: str, expected: str
) -> None:
    gateway = KavenegarGateway(api_key=api_key, base_url=kavenegar.base_url, timeout=5)
    try:
        with pytest.raises(SmsSendFailed) as failure:
            await gateway.send(to="09121234567", body=TEXT)
    finally:
        await gateway.aclose()
    assert expected in failure.value.message
    assert failure.value.error_id == "sms-send-failed"


async def test_a_server_that_never_answers_fails_within_the_timeout() -> None:
    with silent_server() as url:
        gateway = KavenegarGateway(api_key=GOOD_KEY, base_url=url, timeout=0.5)
        started = time.monotonic()
        try:
            with pytest.raises(SmsSendFailed, match=r"did not answer within 0\.5 s"):
                await gateway.send(to="09121234567", body=TEXT)
        finally:
            await gateway.aclose()
        assert time.monotonic() - started < 3


async def test_a_closed_port_fails_without_revealing_the_api_key() -> None:
    with silent_server() as url:
        pass  # closed again: nobody listens there now
    gateway = KavenegarGateway(api_key=GOOD_KEY, base_url=url, timeout=2)
    try:
        with pytest.raises(SmsSendFailed, match="unreachable") as failure:
            await gateway.send(to="09121234567", body=TEXT)
    finally:
        await gateway.aclose()
    assert GOOD_KEY not in str(failure.value)


async def test_the_api_key_in_the_url_never_reaches_the_log(
    gateway: KavenegarGateway, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await gateway.send(to="09121234567", body=TEXT)
    assert "/v1/***/sms/send.json" in caplog.text
    assert GOOD_KEY not in caplog.text
