"""The citizens' web forms over HTTP as a browser without JavaScript posts them, on both databases: the SMS code
asked for with the form's second button, a report filed with a photo (its GPS EXIF gone), a refused form keeping
what was typed, a double submit making one ticket, and an anonymous 1888 message leaving nothing that identifies
its sender in the ticket, the outbox, the rate-limit table or the log."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import col, select

from callcenter.bootstrap.app import create_app
from callcenter.platform.rate_limits import RateLimiter
from callcenter.platform.settings import load_settings
from db.engine import unit_of_work
from db.models import (
    Category,
    Line,
    PhoneCode,
    RateLimitWindow,
    SmsMessage,
    Ticket,
    TicketAttachment,
    TicketSource,
    TicketTransition,
    Unit,
    UnitKind,
)
from tests.support.backend import TEST_SECRETS
from tests.support.citizen_forms import code_as_shown, hidden_fields, latest_phone_code
from tests.support.photos import FAKE_JPEG

MOBILE = "09121234567"
# What uvicorn's test client reports as the client's address: it must appear nowhere for an anonymous message.
CLIENT_ADDRESS = "testclient"


@dataclass
class Site:
    client: TestClient
    engine: sa.Engine
    photos_dir: Path

    def form(self, path: str) -> dict[str, str]:
        """Open the form page; the hidden fields it was rendered with (the CSRF token, the request id)."""
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        return hidden_fields(page.text)

    def last_code(self, mobile: str = MOBILE) -> str:
        return latest_phone_code(self.engine, mobile)

    def tickets(self) -> list[Ticket]:
        with unit_of_work(self.engine) as session:
            return list(session.exec(select(Ticket)).all())


@pytest.fixture
def site(engine: sa.Engine, database_url: str, tmp_path: Path) -> Iterator[Site]:
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                             state_dir=tmp_path / "state")
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as client:
        yield Site(client=client, engine=engine, photos_dir=tmp_path / "state" / "photos")


def first_id(engine: sa.Engine, model: type[Category] | type[Unit], *where: object) -> str:
    with unit_of_work(engine) as session:
        row = session.exec(select(model).where(*where).order_by(col(model.id))).first()  # type: ignore[arg-type]
        assert row is not None and row.id is not None
        return str(row.id)


def report_fields(site: Site, hidden: dict[str, str], **extra: str) -> dict[str, str]:
    return {**hidden, "category_id": first_id(site.engine, Category, Category.line == Line.SERVICES),
            "district_id": first_id(site.engine, Unit, Unit.kind == UnitKind.DISTRICT),
            "address": "خیابان فردوسی، کوچهٔ ۱۲", "description": "چراغ کوچه سه شب است خاموش است",
            "mobile": "۰۹۱۲۱۲۳۴۵۶۷", **extra}


def multipart(fields: dict[str, str], photos: list[tuple[str, bytes, str]]) -> dict[str, object]:
    """As a browser posts the form: the CSRF token its first field, then the rest, then the files."""
    ordered = {"csrf_token": fields["csrf_token"], **fields}
    files = [("photos", photo) for photo in photos] or [("photos", ("", b"", "application/octet-stream"))]
    return {"data": ordered, "files": files}


def gps_jpeg() -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (36.0, 16.0, 12.5), 3: "E", 4: (50.0, 0.0, 7.25)})
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), "orange").save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_given_a_citizen_without_javascript_when_they_ask_for_a_code_then_the_form_returns_filled_with_a_code_field(
    site: Site,
) -> None:
    hidden = site.form("/citizen/report")
    fields = report_fields(site, hidden, intent="send_code")

    page = site.client.post("/citizen/report", **multipart(fields, []))  # type: ignore[arg-type]

    assert page.status_code == 200
    assert "کد تأیید به شمارهٔ ۰۹۱۲۱۲۳۴۵۶۷ پیامک شد" in page.text
    assert 'id="code-field" hidden' not in page.text and 'name="code"' in page.text
    assert "چراغ کوچه سه شب است خاموش است" in page.text and "خیابان فردوسی، کوچهٔ ۱۲" in page.text
    assert f'value="{hidden["request_id"]}"' in page.text
    assert len(site.last_code()) == 6 and site.tickets() == []


def test_given_a_verified_mobile_and_a_photo_with_gps_when_the_report_is_filed_then_one_web_ticket_with_a_clean_photo(
    site: Site,
) -> None:
    hidden = site.form("/citizen/report")
    site.client.post("/citizen/report", **multipart(report_fields(site, hidden, intent="send_code"), []))  # type: ignore[arg-type]
    fields = report_fields(site, hidden, code=site.last_code(), intent="file", latitude="36.27", longitude="50.0")

    page = site.client.post("/citizen/report", **multipart(fields, [("IMG_1.jpg", gps_jpeg(), "image/jpeg")]))  # type: ignore[arg-type]

    assert page.status_code == 200, page.text
    [ticket] = site.tickets()
    assert code_as_shown(ticket.tracking_code) in page.text and "پیامک شد" in page.text
    assert (ticket.source, ticket.caller_number, ticket.line) == (TicketSource.WEB, MOBILE, "137")
    assert (ticket.latitude, ticket.longitude, ticket.request_id) == (36.27, 50.0, hidden["request_id"])
    assert ticket.unit_id is not None and ticket.created_by_id is None
    with unit_of_work(site.engine) as session:
        [photo] = session.exec(select(TicketAttachment)).all()
        steps = session.exec(select(TicketTransition).where(TicketTransition.ticket_id == ticket.id)).all()
        texts = session.exec(select(SmsMessage.body).where(SmsMessage.ticket_id == ticket.id)).all()
    assert (photo.ticket_id, photo.transition_id, photo.uploaded_by_id) == (ticket.id, None, None)
    stored = (site.photos_dir / photo.stored_name).read_bytes()
    assert b"Exif" not in stored and not Image.open(io.BytesIO(stored)).getexif()
    assert [step.actor_id for step in steps] == [None]  # referred at once, in the citizen's name
    assert len(texts) == 1 and "کد رهگیری" in texts[0]  # the tracking-code SMS, queued once


def test_given_the_same_form_posted_twice_when_filed_then_one_ticket_and_the_same_code_both_times(
    site: Site,
) -> None:
    hidden = site.form("/citizen/report")
    site.client.post("/citizen/report", **multipart(report_fields(site, hidden, intent="send_code"), []))  # type: ignore[arg-type]
    fields = report_fields(site, hidden, code=site.last_code(), intent="file")

    first = site.client.post("/citizen/report", **multipart(fields, [("a.png", gps_jpeg(), "image/png")]))  # type: ignore[arg-type]
    second = site.client.post("/citizen/report", **multipart(fields, [("a.png", gps_jpeg(), "image/png")]))  # type: ignore[arg-type]

    [ticket] = site.tickets()
    assert first.status_code == second.status_code == 200
    assert code_as_shown(ticket.tracking_code) in first.text and code_as_shown(ticket.tracking_code) in second.text
    with unit_of_work(site.engine) as session:
        assert len(session.exec(select(TicketAttachment)).all()) == 1
        assert len(session.exec(select(SmsMessage).where(SmsMessage.ticket_id == ticket.id)).all()) == 1


def test_given_a_wrong_photo_and_an_empty_description_when_filed_then_the_form_returns_with_both_errors_and_the_input(
    site: Site,
) -> None:
    hidden = site.form("/citizen/report")
    fields = report_fields(site, hidden, description="", code="123456", intent="file")

    page = site.client.post("/citizen/report", **multipart(fields, [("photo.jpg", FAKE_JPEG, "image/jpeg")]))  # type: ignore[arg-type]

    assert page.status_code == 422
    assert "شرح را بنویسید." in page.text
    assert "فایل «photo.jpg» عکس JPEG، PNG یا WebP نیست." in page.text
    assert "دوباره انتخاب کنید" in page.text  # photos are not kept by a browser: the page says so
    assert "خیابان فردوسی، کوچهٔ ۱۲" in page.text and "۰۹۱۲۱۲۳۴۵۶۷" in page.text
    assert site.tickets() == []
    with unit_of_work(site.engine) as session:
        assert session.exec(select(PhoneCode)).all() == []  # no code was tried: the form was wrong before


def test_given_a_wrong_code_when_filed_then_the_try_is_counted_and_the_form_says_how_many_are_left(
    site: Site,
) -> None:
    hidden = site.form("/citizen/report")
    site.client.post("/citizen/report", **multipart(report_fields(site, hidden, intent="send_code"), []))  # type: ignore[arg-type]
    wrong = f"{(int(site.last_code()) + 1) % 1_000_000:06d}"

    page = site.client.post("/citizen/report", **multipart(report_fields(site, hidden, code=wrong), []))  # type: ignore[arg-type]

    assert page.status_code == 422 and "۴ بار دیگر" in page.text
    with unit_of_work(site.engine) as session:
        assert [row.attempts for row in session.exec(select(PhoneCode)).all()] == [1]
    assert site.tickets() == []


def test_given_a_report_filed_with_a_code_when_the_same_browser_sends_named_feedback_then_no_new_code_is_needed(
    site: Site,
) -> None:
    hidden = site.form("/citizen/report")
    site.client.post("/citizen/report", **multipart(report_fields(site, hidden, intent="send_code"), []))  # type: ignore[arg-type]
    site.client.post("/citizen/report", **multipart(report_fields(site, hidden, code=site.last_code()), []))  # type: ignore[arg-type]
    feedback = site.form("/citizen/feedback")

    page = site.client.post("/citizen/feedback", data={
        **feedback, "feedback_kind": "appreciation", "description": "از رفتگر محله سپاسگزارم",
        "category_id": first_id(site.engine, Category, Category.line == Line.FEEDBACK), "mobile": MOBILE})

    assert page.status_code == 200, page.text
    named = [ticket for ticket in site.tickets() if ticket.line == "1888"]
    assert [(t.caller_number, t.anonymous, t.feedback_kind) for t in named] == [(MOBILE, False, "appreciation")]


def anonymous_message(site: Site, text: str = "کارمند باجهٔ منطقهٔ ۲ با مردم بدرفتاری کرد") -> httpx.Response:
    hidden = site.form("/citizen/feedback")
    return site.client.post("/citizen/feedback", data={
        **hidden, "feedback_kind": "criticism", "description": text, "personnel_code": "۴۵۶۷", "anonymous": "1",
        "category_id": first_id(site.engine, Category, Category.line == Line.FEEDBACK),
        "about_unit_id": first_id(site.engine, Unit, Unit.kind == UnitKind.DISTRICT), "mobile": MOBILE})


def test_given_an_anonymous_1888_message_when_filed_then_nothing_stored_or_logged_leads_to_its_sender(
    site: Site, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    page = anonymous_message(site)

    assert page.status_code == 200, page.text
    [ticket] = site.tickets()
    assert code_as_shown(ticket.tracking_code) in page.text and "یادداشت کنید" in page.text
    assert (ticket.anonymous, ticket.caller_number, ticket.address, ticket.call_id) == (True, None, "", None)
    assert (ticket.feedback_kind, ticket.personnel_code, ticket.source) == ("criticism", "4567", TicketSource.WEB)
    with unit_of_work(site.engine) as session:
        assert session.exec(select(SmsMessage)).all() == []  # the typed mobile was neither used nor kept
        assert session.exec(select(PhoneCode)).all() == []
        windows = session.exec(select(RateLimitWindow)).all()
        dump = " ".join(" ".join(str(v) for v in row) for row in session.execute(sa.text(
            "SELECT * FROM ticket")).all())
    assert MOBILE not in dump and CLIENT_ADDRESS not in dump
    # Counted, but under the day's random key, not the installation's: nobody can recompute which address it was.
    assert {w.scope for w in windows} == {"anon-1888-hour", "anon-1888-day"}
    master = RateLimiter(secret=TEST_SECRETS["secret_key"])
    assert not {master.key_of(w.scope, CLIENT_ADDRESS) for w in windows} & {w.key for w in windows}
    lines = [record.getMessage() for record in caplog.records]
    assert any(ticket.tracking_code in line for line in lines)
    assert not [line for line in lines if CLIENT_ADDRESS in line or MOBILE in line]


def test_given_three_anonymous_messages_in_an_hour_when_a_fourth_comes_from_the_address_then_refused_in_persian(
    site: Site,
) -> None:
    for n in range(3):
        assert anonymous_message(site, f"پیشنهاد شمارهٔ {n}").status_code == 200

    refused = anonymous_message(site, "پیشنهاد چهارم")

    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "پیام‌های بی‌نام زیادی" in refused.text and "پیشنهاد چهارم" in refused.text  # the text is kept
    assert len(site.tickets()) == 3


def test_given_named_feedback_without_a_code_when_filed_then_the_form_asks_for_the_code(site: Site) -> None:
    hidden = site.form("/citizen/feedback")

    page = site.client.post("/citizen/feedback", data={
        **hidden, "feedback_kind": "suggestion", "description": "پارک محله نیمکت بیشتری لازم دارد",
        "category_id": first_id(site.engine, Category, Category.line == Line.FEEDBACK), "mobile": MOBILE})

    assert page.status_code == 422 and "کد تأیید را وارد کنید" in page.text
    assert "پارک محله نیمکت بیشتری لازم دارد" in page.text and site.tickets() == []


def test_given_the_page_script_when_it_asks_for_a_code_then_json_and_the_same_throttle(site: Site) -> None:
    site.form("/citizen/feedback")
    headers = {"X-CSRF-Token": site.client.cookies["pasokh_csrf"], "Accept": "application/json"}

    sent = site.client.post("/citizen/phone-code", data={"mobile": MOBILE}, headers=headers)
    again = site.client.post("/citizen/phone-code", data={"mobile": MOBILE}, headers=headers)
    bad = site.client.post("/citizen/phone-code", data={"mobile": "123"}, headers=headers)

    assert sent.status_code == 200 and "پیامک شد" in sent.json()["message"]
    assert again.status_code == 429 and again.json()["error_id"] == "rate-limited"
    assert int(again.headers["Retry-After"]) > 0
    assert bad.status_code == 422 and bad.json()["details"] == {"field": "mobile"}


def test_given_a_multipart_form_without_the_token_first_when_posted_then_refused_as_csrf(site: Site) -> None:
    hidden = site.form("/citizen/report")
    fields = report_fields(site, hidden)
    del fields["csrf_token"]

    response = site.client.post("/citizen/report", data=fields, files=[("photos", ("a.jpg", gps_jpeg(), "image/jpeg"))])

    assert response.status_code == 403 and site.tickets() == []


def test_given_two_posts_of_one_form_at_the_same_moment_when_filed_then_both_show_the_one_ticket(
    site: Site,
) -> None:
    """A double click: the browser sends the form twice before the first answer; both race for the code."""
    hidden = site.form("/citizen/report")
    site.client.post("/citizen/report", **multipart(report_fields(site, hidden, intent="send_code"), []))  # type: ignore[arg-type]
    fields = report_fields(site, hidden, code=site.last_code(), intent="file")
    cookies = dict(site.client.cookies)
    barrier = threading.Barrier(2, timeout=30)

    def post() -> httpx.Response:
        with TestClient(site.client.app, base_url="http://127.0.0.1", cookies=cookies) as twin:
            barrier.wait()
            return twin.post("/citizen/report", **multipart(fields, [("a.png", gps_jpeg(), "image/png")]))  # type: ignore[arg-type]

    with ThreadPoolExecutor(max_workers=2) as browsers:
        answers = list(browsers.map(lambda _n: post(), range(2)))

    [ticket] = site.tickets()
    assert [answer.status_code for answer in answers] == [200, 200], [a.text[-400:] for a in answers]
    assert all(code_as_shown(ticket.tracking_code) in answer.text for answer in answers)
    with unit_of_work(site.engine) as session:
        assert len(session.exec(select(TicketAttachment)).all()) == 1
