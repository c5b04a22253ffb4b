"""The complaint form over HTTP as a browser without JavaScript posts it, on both databases: each step saved on the
server and redirected to the next, a refused step keeping what was typed, CSRF on every post, a named complaint
verified by its SMS code and texted its tracking code, an anonymous one shown its receipt once, a double submit
filing one complaint, an expired draft, and staff filing for a caller."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import SQLModel, select

from agent_console import complaint_pass
from callcenter.bootstrap.app import create_app
from callcenter.complaints.identity import unseal
from callcenter.complaints.receipts import receipt_matches
from callcenter.platform.calendar import jalali_date
from callcenter.platform.persian import persian_digits
from callcenter.platform.rate_limits import RateLimiter
from callcenter.platform.settings import Settings, load_settings
from callcenter.tickets.tracking_code import new_tracking_code
from db.engine import unit_of_work
from db.models import (
    ComplaintAttachment,
    ComplaintChannel,
    ComplaintDesk,
    ComplaintDraft,
    ComplaintTicketLink,
    RateLimitWindow,
    Role,
    SmsMessage,
    utcnow,
)
from tests.support.backend import TEST_SECRETS
from tests.support.complaint_form import MOBILE, RECEIPT_SHOWN, WASTE, ComplaintForm, a_ticket, unit_named
from tests.support.photos import image_bytes
from tests.support.ticket_flow import PASSWORD, add_staff

# What the test client reports as the client's address: it must appear nowhere for an anonymous complaint.
CLIENT_ADDRESS = "testclient"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                         state_dir=tmp_path / "state")


@pytest.fixture
def form(engine: sa.Engine, settings: Settings) -> Iterator[ComplaintForm]:
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as client:
        client.get("/complaints/")
        yield ComplaintForm(client=client, engine=engine)


def test_given_a_named_citizen_when_they_walk_every_step_and_file_then_one_sealed_complaint_and_its_sms(
    form: ComplaintForm, settings: Settings,
) -> None:
    ticket_code = a_ticket(form.engine)
    draft = form.start()
    form.fill(draft, unit_id=unit_named(form.engine, WASTE), anonymous=False, ticket_codes=persian_digits(ticket_code),
              meeting=True)
    review = form.page(draft, "review")
    assert "مریم احمدی" in review.text and "سازمان مدیریت پسماند" in review.text

    filed = form.post(draft, "review", {}, intent="file")

    assert filed.status_code == 200, filed.text
    [complaint] = form.complaints()
    assert persian_digits(complaint.tracking_code[:4]) in filed.text and RECEIPT_SHOWN not in filed.text
    assert 'href="/complaints/meeting"' in filed.text and 'href="/complaints/case"' in filed.text
    assert (complaint.channel, complaint.desk, complaint.anonymous, complaint.receipt_hash) == (
        ComplaintChannel.WEB, ComplaintDesk.INSPECTION, False, None)
    assert (complaint.ground, complaint.occurred_on, complaint.target_personnel_code,
            complaint.meeting_requested, complaint.request_id) == ("delay", "2024-04-22", "12345", True, draft)
    assert complaint.identity_sealed and MOBILE not in complaint.identity_sealed
    identity = unseal(settings, complaint.identity_sealed)
    assert (identity.name, identity.mobile) == ("مریم احمدی", MOBILE)
    assert complaint.due_at is not None and complaint.due_at > complaint.created_at + timedelta(days=1)
    with unit_of_work(form.engine) as session:
        [sms] = session.exec(select(SmsMessage).where(SmsMessage.dedup_key == f"complaint-code:{complaint.id}")).all()
        assert (sms.to_number, sms.forget_number) == (MOBILE, True)
        assert len(session.exec(select(ComplaintTicketLink)).all()) == 1
        assert session.exec(select(ComplaintDraft)).all() == []
    assert form.client.cookies.get(complaint_pass.COOKIE)


def test_given_an_anonymous_citizen_when_they_file_then_the_receipt_is_shown_once_and_only_its_hash_kept(
    form: ComplaintForm, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    draft = form.start()
    form.fill(draft, unit_id=unit_named(form.engine, WASTE), anonymous=True)

    filed = form.post(draft, "review", {}, intent="file")
    again = form.post(draft, "review", {}, intent="file")

    receipt = form.receipt(filed)
    [complaint] = form.complaints()
    assert receipt_matches(receipt, complaint.receipt_hash)
    assert (complaint.anonymous, complaint.identity_sealed) == (True, None)
    assert again.status_code == 200 and RECEIPT_SHOWN not in again.text and "پیش‌تر ثبت شده" in again.text
    assert receipt not in caplog.text and receipt.replace("-", "") not in caplog.text
    assert CLIENT_ADDRESS not in caplog.text
    with unit_of_work(form.engine) as session:
        assert session.exec(select(SmsMessage).where(SmsMessage.dedup_key.startswith("complaint-code"))).all() == []
        assert session.exec(select(ComplaintDraft)).all() == []  # the draft and its session key went with the filing
        windows = session.exec(select(RateLimitWindow)).all()
        tables = [table.name for table in SQLModel.metadata.sorted_tables]
        dump = " ".join(str(value) for name in tables
                        for row in session.execute(sa.text(f'SELECT * FROM "{name}"')).all() for value in row)
    assert CLIENT_ADDRESS not in dump and receipt not in dump and receipt.replace("-", "") not in dump
    # Counted under the day's random key, so not even the installation's secret recomputes which address it was.
    assert {w.scope for w in windows} == {"anon-complaint-hour", "anon-complaint-day"}
    master = RateLimiter(secret=TEST_SECRETS["secret_key"])
    assert not {master.key_of(w.scope, CLIENT_ADDRESS) for w in windows} & {w.key for w in windows}


def test_given_a_step_with_wrong_fields_when_next_is_pressed_then_each_has_its_message_and_the_typing_stays(
    form: ComplaintForm,
) -> None:
    draft = form.start()
    form.expect_next(form.post(draft, "target", {"unit_id": str(unit_named(form.engine, WASTE))}))
    form.expect_next(form.post(draft, "ground", {"ground": "weak_service"}))

    refused = form.post(draft, "story", {"description": "", "day": "31", "month": "12", "year": "1402",
                                         "place": "میدان آزادی", "ticket_codes": "123"})

    assert refused.status_code == 422
    assert "بنویسید چه اتفاقی افتاده است." in refused.text
    assert "تاریخ درست نیست" in refused.text and "«۱۲۳»" in refused.text
    assert 'value="میدان آزادی"' in form.page(draft, "story").text  # kept on the server, shown after a refresh


def test_given_a_future_date_or_an_unknown_ticket_when_the_story_is_sent_then_each_is_refused(
    form: ComplaintForm,
) -> None:
    draft = form.start()
    tomorrow = jalali_date(utcnow() + timedelta(days=1))
    unknown = new_tracking_code()
    refused = form.post(draft, "story", {"description": "شرح", "day": str(tomorrow.day),
                                         "month": str(tomorrow.month), "year": str(tomorrow.year),
                                         "ticket_codes": unknown})
    assert refused.status_code == 422
    assert "تاریخ رویداد نمی‌تواند بعد از امروز باشد." in refused.text
    assert f"درخواستی با کد رهگیری {persian_digits(unknown)} در سامانهٔ ۱۳۷ پیدا نشد." in refused.text


def test_given_a_post_without_the_csrf_token_when_a_step_is_saved_then_it_is_refused(form: ComplaintForm) -> None:
    draft = form.start()
    response = form.client.post(f"/complaints/new/{draft}/target", data={"unit_id": "1", "intent": "next"},
                                follow_redirects=False)
    assert response.status_code == 403


def test_given_back_when_a_step_is_left_then_its_fields_are_saved_without_checks(form: ComplaintForm) -> None:
    draft = form.start()
    form.expect_next(form.post(draft, "target", {"unit_id": str(unit_named(form.engine, WASTE))}))
    back = form.post(draft, "ground", {"ground": ""}, intent="back")
    assert back.headers["location"] == f"/complaints/new/{draft}/target"
    assert form.start() == draft  # /complaints/new resumes this browser's draft


def test_given_a_draft_id_when_another_browser_opens_it_then_it_is_not_found(
    form: ComplaintForm, settings: Settings,
) -> None:
    draft = form.start()
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as stranger:
        assert stranger.get(f"/complaints/new/{draft}/target").status_code == 404


def test_given_an_expired_draft_when_it_is_opened_then_the_form_says_so(form: ComplaintForm) -> None:
    draft = form.start()
    with unit_of_work(form.engine) as session:
        row = session.get(ComplaintDraft, draft)
        assert row is not None
        row.expires_at = utcnow() - timedelta(minutes=1)
        session.add(row)
    page = form.client.get(f"/complaints/new/{draft}/target")
    assert page.status_code == 404 and "این فرم پیدا نشد" in page.text


def test_given_files_when_one_is_not_an_accepted_type_then_none_is_kept_and_the_draft_stays(
    form: ComplaintForm,
) -> None:
    draft = form.start()
    form.expect_next(form.post(draft, "target", {"unit_id": str(unit_named(form.engine, WASTE))}))
    png = image_bytes("PNG", size=(40, 30), colour="tomato")
    refused = form.post(draft, "files", {}, intent="upload",
                        files=[("attachments", ("a.png", png, "image/png")),
                               ("attachments", ("notes.txt", b"just text", "text/plain"))])
    assert refused.status_code == 422 and "فایل «notes.txt» پذیرفته نمی‌شود" in refused.text
    accepted = form.post(draft, "files", {}, intent="upload", files=[("attachments", ("a.png", png, "image/png"))])
    assert accepted.status_code == 200 and "پیوست افزوده شد" in accepted.text
    with unit_of_work(form.engine) as session:
        [row] = session.exec(select(ComplaintAttachment)).all()
        assert (row.draft_id, row.complaint_id, row.content_type) == (draft, None, "image/png")
    assert f'value="{unit_named(form.engine, WASTE)}" selected' in form.page(draft, "target").text


def test_given_the_same_draft_submitted_twice_at_once_then_one_complaint(
    form: ComplaintForm,
) -> None:
    draft = form.start()
    form.fill(draft, unit_id=unit_named(form.engine, WASTE), anonymous=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(lambda _: form.post(draft, "review", {}, intent="file"), range(2)))
    assert sorted(response.status_code for response in responses) == [200, 200]
    assert len(form.complaints()) == 1
    assert sum(RECEIPT_SHOWN in response.text for response in responses) == 1
    [other] = [response for response in responses if RECEIPT_SHOWN not in response.text]
    assert "پیش‌تر ثبت شده" in other.text  # whether it raced inside the filing or arrived after the first's commit


def test_given_a_filed_draft_when_a_click_without_the_pass_arrives_then_it_is_told_filed_and_shown_nothing(
    form: ComplaintForm,
) -> None:
    draft = form.start()
    form.fill(draft, unit_id=unit_named(form.engine, WASTE), anonymous=True)
    receipt = form.receipt(form.post(draft, "review", {}, intent="file"))
    form.client.cookies.delete(complaint_pass.COOKIE)  # as a click sent before the first one's answer came back

    late = form.post(draft, "review", {}, intent="file")

    [complaint] = form.complaints()
    assert late.status_code == 200 and "پیش‌تر ثبت شده" in late.text
    for secret in (receipt, complaint.tracking_code, persian_digits(complaint.tracking_code[:4])):
        assert secret not in late.text
    assert complaint_pass.COOKIE not in late.headers.get("set-cookie", "")


def test_given_an_operator_when_they_file_for_a_caller_then_phone_channel_no_code_asked_and_no_pass(
    form: ComplaintForm,
) -> None:
    operator = add_staff(form.engine, "complaint.operator", Role.OPERATOR)
    form.client.get("/login")
    login = form.client.post("/login", data={"username": operator.username, "password": PASSWORD,
                                             "csrf_token": form.csrf()}, follow_redirects=False)
    assert login.status_code == 303
    draft = form.start("?for=phone")
    assert "ثبت از طرف شهروند" in form.page(draft, "target").text
    form.expect_next(form.post(draft, "target", {"unit_id": str(unit_named(form.engine, WASTE))}))
    form.expect_next(form.post(draft, "ground", {"ground": "duty_failure"}))
    form.expect_next(form.post(draft, "story", {"description": "تماس شهروند دربارهٔ برخورد نامناسب"}))
    form.expect_next(form.post(draft, "files", {}))
    form.expect_next(form.post(draft, "identity", {"identity": "named", "name": "علی کریمی", "mobile": MOBILE}))
    form.expect_next(form.post(draft, "meeting", {}))
    filed = form.post(draft, "review", {}, intent="file")
    assert filed.status_code == 200, filed.text
    [complaint] = form.complaints()
    assert (complaint.channel, complaint.filed_by_id) == (ComplaintChannel.PHONE, operator.id)
    assert complaint_pass.COOKIE not in filed.headers.get("set-cookie", "")


def test_given_a_citizen_when_they_ask_for_the_staff_form_then_it_is_refused(form: ComplaintForm) -> None:
    response = form.client.get("/complaints/new?for=phone", follow_redirects=False)
    assert response.status_code == 403


def test_given_the_desk_when_it_opens_the_form_for_a_visitor_then_in_person_only_and_always_a_new_draft(
    form: ComplaintForm,
) -> None:
    desk = add_staff(form.engine, "complaint.desk", Role.DESK)
    form.client.get("/login")
    form.client.post("/login", data={"username": desk.username, "password": PASSWORD, "csrf_token": form.csrf()},
                     follow_redirects=False)
    first = form.start("?for=in_person")
    assert "مراجعهٔ حضوری" in form.page(first, "target").text
    assert form.start("?for=in_person") != first  # the last visitor's form is not the next one's
    assert form.client.get("/complaints/new?for=phone", follow_redirects=False).status_code == 403


def test_given_a_draft_when_it_is_saved_then_no_name_or_mobile_is_in_its_json(form: ComplaintForm) -> None:
    draft = form.start()
    form.post(draft, "identity", {"identity": "named", "name": "مریم احمدی", "mobile": MOBILE}, intent="send_code")
    with unit_of_work(form.engine) as session:
        row = session.get(ComplaintDraft, draft)
        assert row is not None
        assert "مریم" not in row.data and MOBILE not in row.data and "identity_sealed" in json.loads(row.data)
