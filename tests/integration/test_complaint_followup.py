"""The complainant's follow-up over HTTP as a browser without JavaScript posts it, on both databases: opening an
anonymous complaint with its receipt and a named one with a texted code, one answer for every kind of wrong, the
6th wrong try refused with Retry-After, the case page (no inspector's name, no internal note), an answer with a
file, an answer to a closed case refused, files only through the pass of their own complaint, leaving."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from callcenter.bootstrap.app import create_app
from callcenter.complaints.followup import ANSWER_CLOSED, CODE_MAYBE_SENT, NO_MATCH_MOBILE, NO_MATCH_RECEIPT
from callcenter.complaints.followup import TOO_MANY_TRIES as FOLLOW_TOO_MANY
from callcenter.complaints.names import STATUS_NAMES
from callcenter.complaints.tracking_code import new_complaint_code
from callcenter.platform.settings import Settings, load_settings
from db.engine import unit_of_work
from db.models import ComplaintAttachment, ComplaintMessage, ComplaintNote, ComplaintStatus, MessageDirection
from tests.support.backend import TEST_SECRETS
from tests.support.citizen_forms import hidden_fields, latest_phone_code
from tests.support.complaint_followup import (
    QUESTION,
    RESULT,
    Filed,
    anonymous_complaint,
    ask,
    close_with_result,
    in_one_rate_window,
    inspector,
    named_complaint,
)
from tests.support.photos import image_bytes

JPEG = image_bytes()

MOBILE = "09127654321"


@dataclass
class Site:
    client: TestClient
    engine: sa.Engine
    settings: Settings

    def csrf(self) -> str:
        page = self.client.get("/complaints/follow")
        assert page.status_code == 200, page.text
        return hidden_fields(page.text)["csrf_token"]

    def open_with_receipt(self, filed: Filed, receipt: str | None = None) -> httpx.Response:
        return self.client.post("/complaints/follow", data={
            "csrf_token": self.csrf(), "way": "receipt", "tracking_code": filed.tracking_code,
            "receipt": filed.receipt if receipt is None else receipt}, follow_redirects=False)

    def answer(self, text: str, files: list[tuple[str, bytes, str]] | None = None) -> httpx.Response:
        page = self.client.get("/complaints/case")
        token = hidden_fields(page.text)["csrf_token"]
        uploads = [("attachments", file) for file in files or []] or [
            ("attachments", ("", b"", "application/octet-stream"))]
        return self.client.post("/complaints/case", data={"csrf_token": token, "body": text}, files=uploads,
                                follow_redirects=False)


@pytest.fixture
def site(engine: sa.Engine, database_url: str, tmp_path: Path) -> Iterator[Site]:
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                             state_dir=tmp_path / "state")
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as client:
        yield Site(client=client, engine=engine, settings=settings)


def alert(html: str) -> str:
    found = re.search(r'role="alert"[^>]*>(.*?)</p>', html, re.S)
    return found.group(1).strip() if found else ""


def test_given_an_anonymous_complaint_when_opened_with_code_and_receipt_then_the_case_page_shows_the_question(
    site: Site,
) -> None:
    filed = anonymous_complaint(site.engine)
    ask(site.engine, filed)
    author = inspector(site.engine).id
    assert author is not None
    with unit_of_work(site.engine) as session:  # an internal note the complainant must never read
        session.add(ComplaintNote(complaint_id=filed.id, author_id=author,
                                  body="یادداشت داخلی: احتمالاً همان مأمور شکایت قبلی"))
        session.commit()

    opened = site.open_with_receipt(filed, receipt=filed.receipt.upper().replace("-", " "))

    assert opened.status_code == 303 and opened.headers["location"] == "/complaints/case"
    page = site.client.get("/complaints/case")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert QUESTION in page.text and STATUS_NAMES[ComplaintStatus.RECEIVED] in page.text
    assert "سازمان مدیریت پسماند" in page.text
    assert "یادداشت داخلی" not in page.text and "followup.inspector" not in page.text
    assert "آزمایشی" not in page.text  # the inspector's full name


def test_given_a_wrong_receipt_or_no_such_complaint_when_tried_then_one_answer_and_the_sixth_try_is_refused(
    site: Site,
) -> None:
    filed = anonymous_complaint(site.engine)
    other = Filed(0, new_complaint_code(), filed.receipt)
    in_one_rate_window()

    wrong = site.open_with_receipt(filed, receipt="aaaa-bbbb-cccc-dddd-eeee")
    missing = site.open_with_receipt(other)

    assert wrong.status_code == missing.status_code == 404
    assert alert(wrong.text) == alert(missing.text) == NO_MATCH_RECEIPT
    for _ in range(3):
        assert site.open_with_receipt(filed, receipt="wrong").status_code == 404
    refused = site.open_with_receipt(filed)  # the 6th try, though the right receipt
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert alert(refused.text) == FOLLOW_TOO_MANY
    assert site.client.get("/complaints/case", follow_redirects=False).status_code == 303


def test_given_a_named_complaint_when_opened_with_the_texted_code_then_the_case_page(site: Site) -> None:
    filed = named_complaint(site.engine, site.settings, mobile=MOBILE)
    token = site.csrf()
    fields = {"csrf_token": token, "way": "mobile", "tracking_code": filed.tracking_code}

    other_mobile = site.client.post("/complaints/follow", data={**fields, "mobile": "09350000000",
                                                                "intent": "send_code"})
    sent = site.client.post("/complaints/follow", data={**fields, "mobile": "۰۹۱۲۷۶۵۴۳۲۱", "intent": "send_code"})

    assert other_mobile.status_code == sent.status_code == 200
    assert CODE_MAYBE_SENT in other_mobile.text and CODE_MAYBE_SENT in sent.text  # the same words either way
    wrong = site.client.post("/complaints/follow", data={**fields, "mobile": MOBILE, "intent": "verify",
                                                         "code": "000000"})
    assert wrong.status_code == 404 and alert(wrong.text) == NO_MATCH_MOBILE
    code = latest_phone_code(site.engine, MOBILE)
    opened = site.client.post("/complaints/follow", data={**fields, "mobile": MOBILE, "intent": "verify",
                                                          "code": code}, follow_redirects=False)
    assert opened.status_code == 303
    assert "طولانی شدن رسیدگی" in site.client.get("/complaints/case").text


def test_given_an_open_case_when_the_complainant_answers_with_a_photo_then_it_is_stored_and_downloadable(
    site: Site,
) -> None:
    filed = anonymous_complaint(site.engine)
    ask(site.engine, filed)
    site.open_with_receipt(filed)

    answered = site.answer("سه‌شنبه‌ها ساعت هفت صبح", [("evidence.jpg", JPEG, "image/jpeg")])

    assert answered.status_code == 303
    page = site.client.get(answered.headers["location"])
    assert "پاسخ شما ثبت شد" in page.text and "سه‌شنبه‌ها ساعت هفت صبح" in page.text
    with unit_of_work(site.engine) as session:
        message = session.exec(select(ComplaintMessage).where(
            ComplaintMessage.direction == MessageDirection.FROM_COMPLAINANT)).one()
        file = session.exec(select(ComplaintAttachment)).one()
        assert message.author_id is None and file.message_id == message.id and file.complaint_id == filed.id
    download = site.client.get(f"/complaints/case/files/{file.id}")
    assert download.status_code == 200 and download.headers["content-type"] == "image/jpeg"
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.content[:2] == b"\xff\xd8"


def test_given_the_pass_of_one_complaint_when_asking_for_another_complaints_file_then_not_found(site: Site) -> None:
    mine, theirs = anonymous_complaint(site.engine), anonymous_complaint(site.engine)
    site.open_with_receipt(theirs)
    site.answer("پیوست دیگری", [("theirs.jpg", JPEG, "image/jpeg")])
    with unit_of_work(site.engine) as session:
        their_file = session.exec(select(ComplaintAttachment)).one()
    site.open_with_receipt(mine)

    assert site.client.get(f"/complaints/case/files/{their_file.id}").status_code == 404
    site.client.post("/complaints/case/leave", data={"csrf_token": site.csrf()})
    assert site.client.get(f"/complaints/case/files/{their_file.id}", follow_redirects=False).status_code == 303


def test_given_a_closed_case_when_the_complainant_answers_then_refused_in_persian_and_the_result_shown(
    site: Site,
) -> None:
    filed = anonymous_complaint(site.engine)
    site.open_with_receipt(filed)
    page_before = site.client.get("/complaints/case")
    token = hidden_fields(page_before.text)["csrf_token"]
    close_with_result(site.engine, filed)

    refused = site.client.post("/complaints/case", data={"csrf_token": token, "body": "یک توضیح دیگر"},
                               files=[("attachments", ("", b"", "application/octet-stream"))])

    assert refused.status_code == 409 and alert(refused.text) == ANSWER_CLOSED
    assert RESULT in refused.text and "یک توضیح دیگر" in refused.text  # the words kept
    assert 'id="answer-form"' not in refused.text
    with unit_of_work(site.engine) as session:
        assert session.exec(select(ComplaintMessage).where(
            ComplaintMessage.direction == MessageDirection.FROM_COMPLAINANT)).all() == []


def test_given_a_wrong_file_type_when_answering_then_refused_in_persian_with_the_words_kept(site: Site) -> None:
    filed = anonymous_complaint(site.engine)
    site.open_with_receipt(filed)

    refused = site.answer("این هم مدرک", [("notes.exe", b"MZ\x90\x00not a picture", "image/jpeg")])

    assert refused.status_code == 422
    assert "notes.exe" in alert(refused.text) and "این هم مدرک" in refused.text
