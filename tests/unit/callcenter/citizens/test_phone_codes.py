"""SMS codes that verify a citizen's mobile: six digits through the outbox, five minutes, five tries, stored only
hashed, resends throttled per number and per client address, a verified mobile remembered for the session."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from callcenter.citizens.phone_codes import (
    ADDRESS_LIMIT,
    CODE_LIFETIME,
    MAX_TRIES,
    REMEMBERED_FOR,
    PhoneCodes,
    mobile_number,
    purge_old_codes,
)
from callcenter.platform.errors import RateLimited, ValidationFailed
from callcenter.platform.persian import ascii_digits
from db.engine import unit_of_work
from db.models import PhoneCode, RateLimitWindow, SmsMessage

NOW = datetime(2026, 12, 2, 10, 0, 0, tzinfo=UTC)
CODES = PhoneCodes(secret="test-secret")
MOBILE = "09121234567"
TOKEN = "browser-session-token"
ADDRESS = "192.0.2.10"


def send(session: Session, *, mobile: str = MOBILE, token: str = TOKEN, address: str = ADDRESS,
         now: datetime = NOW) -> str:
    """Send a code and read it back from the outbox, as the citizen reads their SMS."""
    sent = CODES.send(session, mobile=mobile, session_token=token, address=address, now=now)
    digits = re.findall(r"\d{6}", ascii_digits(sent.message.body))
    assert len(digits) == 1, sent.message.body
    return digits[0]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_given_a_mobile_when_a_code_is_sent_then_six_persian_digits_are_queued_in_the_outbox_and_only_a_hash_kept(
    engine: sa.Engine,
) -> None:
    with unit_of_work(engine) as session:
        code = send(session)
    with unit_of_work(engine) as session:
        [message] = session.exec(select(SmsMessage)).all()
        [row] = session.exec(select(PhoneCode)).all()
    assert message.to_number == MOBILE and message.ticket_id is None
    assert re.search(r"[۰-۹]{6}", message.body), message.body  # Persian digits for the citizen
    stored = " ".join(str(value) for value in row.model_dump().values())
    assert code not in stored and MOBILE not in stored and TOKEN not in stored
    assert len(row.code_hash) == 64 and row.expires_at == NOW + CODE_LIFETIME


def test_given_a_sent_code_when_typed_right_then_the_mobile_is_verified_for_this_session_only_for_a_while(
    engine: sa.Engine,
) -> None:
    with unit_of_work(engine) as session:
        code = send(session)
        CODES.verify(session, mobile=MOBILE, session_token=TOKEN, code=code, now=NOW + timedelta(minutes=1))
        assert CODES.is_verified(session, mobile=MOBILE, session_token=TOKEN, now=NOW + timedelta(minutes=2))
        assert not CODES.is_verified(session, mobile=MOBILE, session_token="another-browser",
                                     now=NOW + timedelta(minutes=2))
        assert not CODES.is_verified(session, mobile="09129999999", session_token=TOKEN,
                                     now=NOW + timedelta(minutes=2))
        later = NOW + timedelta(minutes=1) + REMEMBERED_FOR + timedelta(seconds=1)
        assert not CODES.is_verified(session, mobile=MOBILE, session_token=TOKEN, now=later)


def test_given_a_code_typed_in_persian_digits_when_verified_then_accepted(engine: sa.Engine) -> None:
    with unit_of_work(engine) as session:
        code = send(session)
        persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
        CODES.verify(session, mobile=MOBILE, session_token=TOKEN, code=persian, now=NOW)
        assert CODES.is_verified(session, mobile=MOBILE, session_token=TOKEN, now=NOW)


def test_given_a_code_older_than_five_minutes_when_typed_right_then_refused_as_expired(engine: sa.Engine) -> None:
    with unit_of_work(engine) as session:
        code = send(session)
        with pytest.raises(ValidationFailed) as refused:
            CODES.verify(session, mobile=MOBILE, session_token=TOKEN, code=code, now=NOW + CODE_LIFETIME)
    assert "اعتبارش تمام شده" in refused.value.message and refused.value.details["field"] == "code"


def test_given_five_wrong_tries_when_the_right_code_comes_then_it_is_refused_and_a_new_code_is_needed(
    engine: sa.Engine,
) -> None:
    with unit_of_work(engine) as session:
        code = send(session)
    messages = []
    for _ in range(MAX_TRIES):
        with unit_of_work(engine) as session, pytest.raises(ValidationFailed) as refused:
            CODES.verify(session, mobile=MOBILE, session_token=TOKEN, code=wrong(code), now=NOW)
        messages.append(refused.value.message)  # each wrong try counted, committed by the caller
    assert messages[0] == "کد تأیید درست نیست؛ ۴ بار دیگر می‌توانید امتحان کنید."
    assert "دیگر پذیرفته نمی‌شود" in messages[-1]
    with unit_of_work(engine) as session, pytest.raises(ValidationFailed) as refused:
        CODES.verify(session, mobile=MOBILE, session_token=TOKEN, code=code, now=NOW)
    assert "دیگر پذیرفته نمی‌شود" in refused.value.message
    with unit_of_work(engine) as session:
        assert not CODES.is_verified(session, mobile=MOBILE, session_token=TOKEN, now=NOW)
        fresh = send(session, now=NOW + timedelta(minutes=1))
        CODES.verify(session, mobile=MOBILE, session_token=TOKEN, code=fresh, now=NOW + timedelta(minutes=1))


def test_given_a_new_code_when_the_previous_one_is_typed_then_only_the_new_one_works(engine: sa.Engine) -> None:
    with unit_of_work(engine) as session:
        first = send(session)
        second = send(session, now=NOW + timedelta(minutes=1))
        if first != second:
            with pytest.raises(ValidationFailed):
                CODES.verify(session, mobile=MOBILE, session_token=TOKEN, code=first, now=NOW + timedelta(minutes=1))
        CODES.verify(session, mobile=MOBILE, session_token=TOKEN, code=second, now=NOW + timedelta(minutes=1))


def test_given_a_code_just_sent_when_the_same_number_asks_again_within_a_minute_then_refused_in_persian(
    engine: sa.Engine,
) -> None:
    with unit_of_work(engine) as session:
        send(session)
        with pytest.raises(RateLimited) as refused:
            send(session, address="198.51.100.1", token="another-browser", now=NOW + timedelta(seconds=30))
        send(session, now=NOW + timedelta(minutes=1))  # the next minute is allowed
    assert refused.value.message == "برای این شماره به‌تازگی کد فرستاده شده است؛ ۳۰ ثانیه دیگر دوباره بخواهید."
    assert refused.value.details["retry_after"] == 30


def test_given_five_codes_in_an_hour_when_the_number_asks_a_sixth_then_refused_until_the_hour_ends(
    engine: sa.Engine,
) -> None:
    with unit_of_work(engine) as session:
        for minute in range(5):
            send(session, now=NOW + timedelta(minutes=minute))
        with pytest.raises(RateLimited) as refused:
            send(session, now=NOW + timedelta(minutes=5))
    assert "۵۵ دقیقه" in refused.value.message


def test_given_one_address_asking_for_many_numbers_when_past_its_budget_then_refused_whatever_the_number(
    engine: sa.Engine,
) -> None:
    with unit_of_work(engine) as session:
        for n in range(ADDRESS_LIMIT):
            send(session, mobile=f"0912000{n:04d}")
        with pytest.raises(RateLimited) as refused:
            send(session, mobile="09125550000")
        send(session, mobile="09125550001", address="198.51.100.1")  # another address is not held back
    assert refused.value.message.startswith("از این اتصال کدهای زیادی خواسته شده است")


def test_given_throttled_resends_when_the_rate_limit_table_is_read_then_it_holds_neither_number_nor_address(
    engine: sa.Engine,
) -> None:
    with unit_of_work(engine) as session:
        send(session)
    with unit_of_work(engine) as session:
        rows = session.exec(select(RateLimitWindow)).all()
    assert {row.scope for row in rows} == {"otp-number-minute", "otp-number-hour", "otp-address"}
    assert not [row for row in rows if MOBILE in row.key or ADDRESS in row.key]


@pytest.mark.parametrize("raw", ["۰۹۱۲۱۲۳۴۵۶۷", "+989121234567", "0912 123 4567"])
def test_given_a_mobile_typed_in_any_usual_form_when_read_then_stored_in_ascii_national_form(raw: str) -> None:
    assert mobile_number(raw) == MOBILE


@pytest.mark.parametrize("raw", ["", "02112345678", "0912123", "hello"])
def test_given_not_a_mobile_when_read_then_a_persian_refusal_on_the_mobile_field(raw: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        mobile_number(raw)
    assert refused.value.details == {"field": "mobile"} and "تلفن همراه" in refused.value.message


def test_given_codes_from_days_ago_when_purged_then_only_usable_ones_stay(engine: sa.Engine) -> None:
    with unit_of_work(engine) as session:
        send(session, now=NOW - timedelta(days=2))
        send(session, mobile="09120000001", now=NOW)
    with unit_of_work(engine) as session:
        assert purge_old_codes(session, now=NOW) == 1
        assert len(session.exec(select(PhoneCode)).all()) == 1
