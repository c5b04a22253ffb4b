"""The citizens' follow-up pages over HTTP, on both databases, as a browser without JavaScript uses them: the lookup
form (CSRF field, Persian digits, the 6th wrong try refused with 429), the signed status link, the SMS links, and
the online answer form (multipart, a photo) reopening the ticket once."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from callcenter.bootstrap.app import create_app
from callcenter.citizens.links import answer_path, status_path
from callcenter.citizens.timeline import NO_MATCH, PUBLIC_STEP_LABELS, TOO_MANY_TRIES
from callcenter.platform.settings import Settings, load_settings
from callcenter.tickets.lifecycle import apply_action
from db.engine import unit_of_work
from db.models import OnlineAnswer, Role, SmsMessage, TicketAction, TicketAttachment, TicketStatus
from tests.support.backend import TEST_SECRETS
from tests.support.console import log_in_sync
from tests.support.photos import image_bytes
from tests.support.ticket_flow import PASSWORD, WASTE, Filed, add_staff, referred_ticket, status_of, steps_of

A, S = TicketAction, TicketStatus
LIAISON_NAME = "track.liaison"


@dataclass
class Site:
    client: TestClient
    engine: sa.Engine
    settings: Settings
    ticket: Filed  # accepted by the waste unit; its citizen's mobile ends in 4567

    def csrf(self) -> str:
        return self.client.cookies["pasokh_csrf"]

    def report_done(self) -> None:
        self.client.cookies.clear()
        assert log_in_sync(self.client, LIAISON_NAME, PASSWORD).status_code == 303
        response = self.client.post(f"/api/tickets/{self.ticket.tracking_code}/actions",
                                    json={"action": "report_done", "note": "کارگر رضایی سطل‌ها را تخلیه کرد"})
        assert response.status_code == 200, response.text
        self.client.cookies.clear()
        self.client.headers.pop("X-CSRF-Token", None)


@pytest.fixture
def site(engine: sa.Engine, database_url: str, tmp_path: Path) -> Iterator[Site]:
    operator = add_staff(engine, "track.operator", Role.OPERATOR)
    liaison = add_staff(engine, LIAISON_NAME, Role.UNIT_LIAISON, unit=WASTE)
    ticket = referred_ticket(engine, by=operator, unit=WASTE)
    with unit_of_work(engine) as session:
        apply_action(session, ticket_id=ticket.id, action=A.ACCEPT, actor=liaison)
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                             state_dir=tmp_path / "state", public_base_url="https://137.example")
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as client:
        yield Site(client=client, engine=engine, settings=settings, ticket=ticket)


def look_up(site: Site, code: str, digits: str) -> object:
    site.client.get("/citizen/track")
    return site.client.post("/citizen/track", data={"csrf_token": site.csrf(), "tracking_code": code,
                                                    "mobile_digits": digits}, follow_redirects=False)


def test_given_the_code_in_persian_digits_and_the_mobile_digits_when_posted_then_the_timeline_page(
    site: Site,
) -> None:
    page = site.client.get("/citizen/track")
    assert page.status_code == 200 and 'dir="rtl"' in page.text and 'name="csrf_token"' in page.text
    persian = site.ticket.tracking_code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    response = look_up(site, persian, "۴۵۶۷")
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == status_path(site.settings.secret_key,  # type: ignore[attr-defined]
                                                       site.ticket.tracking_code)
    timeline = site.client.get(response.headers["location"])  # type: ignore[attr-defined]
    assert timeline.status_code == 200
    assert PUBLIC_STEP_LABELS[A.ACCEPT] in timeline.text and WASTE in timeline.text
    assert "track.operator" not in timeline.text and "09121234567" not in timeline.text


def test_given_a_lookup_without_the_csrf_field_then_refused(site: Site) -> None:
    site.client.get("/citizen/track")
    response = site.client.post("/citizen/track", data={"tracking_code": site.ticket.tracking_code,
                                                        "mobile_digits": "4567"}, follow_redirects=False)
    assert response.status_code == 403


def test_given_five_wrong_tries_in_a_minute_when_the_sixth_has_the_right_digits_then_429_in_persian(
    site: Site,
) -> None:
    if datetime.now(UTC).second > 50:  # the six tries must fall in one fixed one-minute window
        time.sleep(61 - datetime.now(UTC).second)
    for wrong in ("0000", "1111", "2222", "3333", "4444"):
        response = look_up(site, site.ticket.tracking_code, wrong)
        assert response.status_code == 404 and NO_MATCH in response.text  # type: ignore[attr-defined]
    refused = look_up(site, site.ticket.tracking_code, "4567")
    assert refused.status_code == 429  # type: ignore[attr-defined]
    assert TOO_MANY_TRIES in refused.text and int(refused.headers["retry-after"]) >= 1  # type: ignore[attr-defined]


def test_given_a_wrong_signature_when_opening_a_status_link_then_not_found(site: Site) -> None:
    response = site.client.get(f"/citizen/s/{site.ticket.tracking_code}/AAAAAAAAAAAAAAAA")
    assert response.status_code == 404 and PUBLIC_STEP_LABELS[A.ACCEPT] not in response.text


def answer_link(site: Site) -> str:
    with Session(site.engine) as session:
        online = session.exec(select(OnlineAnswer)).one()
        [sms] = session.exec(select(SmsMessage).where(SmsMessage.dedup_key == f"online-answer:{online.id}")).all()
    path = answer_path(site.settings.secret_key, online.id or 0)
    assert sms.body.endswith("https://137.example" + path)
    return path


def post_answer(site: Site, path: str, *, solved: str, words: str = "", photo: bytes | None = None) -> object:
    page = site.client.get(path)
    action = re.search(r'action="([^"]+)"', page.text)
    assert action is not None and page.status_code == 200
    files = {"photo": ("still.png", photo, "image/png")} if photo else {"photo": ("", b"", "application/octet-stream")}
    return site.client.post(action.group(1), data={"csrf_token": site.csrf(), "solved": solved, "words": words},
                            files=files)


def test_given_a_report_done_when_the_citizen_answers_not_solved_with_a_photo_then_reopened_once(site: Site) -> None:
    site.report_done()
    path = answer_link(site)
    first = post_answer(site, path, solved="no", words="هنوز کیسه‌های زباله کنار جوی است",
                        photo=image_bytes("PNG"))
    assert first.status_code == 200 and "دوباره به واحد مسئول" in first.text  # type: ignore[attr-defined]
    assert status_of(site.engine, site.ticket) == S.REOPENED
    assert steps_of(site.engine, site.ticket)[-1][::3] == (A.VERIFY_NOT_RESOLVED, "هنوز کیسه‌های زباله کنار جوی است")
    with Session(site.engine) as session:
        [photo] = session.exec(select(TicketAttachment)).all()
        assert photo.uploaded_by_id is None and photo.content_type == "image/png"
    again = site.client.get(path)
    assert again.status_code == 200 and "پیش‌تر ثبت شده" in again.text and "<form" not in again.text.split("<main")[1]
    token = site.csrf()
    twice = site.client.post(path, data={"csrf_token": token, "solved": "yes"},
                             files={"photo": ("", b"", "application/octet-stream")})
    assert twice.status_code == 409 and "پیش‌تر ثبت شده" in twice.text
    assert [step[0] for step in steps_of(site.engine, site.ticket)].count(A.VERIFY_NOT_RESOLVED) == 1
    assert status_of(site.engine, site.ticket) == S.REOPENED


def test_given_a_multipart_answer_without_the_csrf_field_then_refused(site: Site) -> None:
    site.report_done()
    path = answer_link(site)
    site.client.get(path)
    response = site.client.post(path, data={"solved": "yes"}, files={"photo": ("", b"", "application/octet-stream")})
    assert response.status_code == 403
    assert status_of(site.engine, site.ticket) == S.DONE


def test_given_an_open_link_then_the_supervisors_list_says_until_when(site: Site) -> None:
    site.report_done()
    add_staff(site.engine, "track.supervisor", Role.SUPERVISOR)
    assert log_in_sync(site.client, "track.supervisor", PASSWORD).status_code == 303
    [task] = site.client.get("/api/verifications").json()["items"]
    with Session(site.engine) as session:
        online = session.exec(select(OnlineAnswer)).one()
    assert datetime.fromisoformat(task["online_answer_until"]) == online.expires_at


def test_given_a_file_that_is_not_a_photo_when_answering_then_a_persian_refusal_and_the_form_again(
    site: Site,
) -> None:
    site.report_done()
    path = answer_link(site)
    page = site.client.get(path)
    action = re.search(r'action="([^"]+)"', page.text)
    assert action is not None
    refused = site.client.post(action.group(1), data={"csrf_token": site.csrf(), "solved": "no", "words": "هنوز نه"},
                               files={"photo": ("x.jpg", b"<!doctype html><script>alert(1)</script>", "image/jpeg")})
    assert refused.status_code == 422 and "عکس JPEG، PNG یا WebP نیست" in refused.text
    assert 'value="no" checked' in refused.text and ">هنوز نه</textarea>" in refused.text  # kept as typed
    assert status_of(site.engine, site.ticket) == S.DONE


def test_given_an_online_answer_then_the_supervisors_see_it_came_from_the_citizen_online(site: Site) -> None:
    site.report_done()
    post_answer(site, answer_link(site), solved="no", words="آب هنوز راکد است")
    add_staff(site.engine, "track.supervisor", Role.SUPERVISOR)
    assert log_in_sync(site.client, "track.supervisor", PASSWORD).status_code == 303
    [answered] = site.client.get("/api/verifications/online").json()
    assert (answered["tracking_code"], answered["outcome"], answered["note"], answered["unit_name"]) == (
        site.ticket.tracking_code, "not_resolved", "آب هنوز راکد است", WASTE)
    assert "caller_number" not in answered
    history = site.client.get(f"/api/tickets/{site.ticket.tracking_code}/history").json()
    assert (history[-1]["action"], history[-1]["actor_role"], history[-1]["actor_name"]) == (
        "verify_not_resolved", "citizen", "شهروند")
    assert history[-1]["photos"] == []
