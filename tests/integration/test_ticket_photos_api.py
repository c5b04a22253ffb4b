"""Photos on report-done over HTTP, on both databases: a multipart report with photos, the refusals (type by
content, too many, a missing note) leaving nothing behind, who may see a photo, and the history listing them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from callcenter.bootstrap.app import create_app
from callcenter.platform.settings import load_settings
from callcenter.tickets.lifecycle import apply_action
from db.engine import unit_of_work
from db.models import Role, TicketAction, TicketAttachment, TicketStatus
from tests.support.backend import TEST_SECRETS
from tests.support.console import log_in_sync
from tests.support.photos import FAKE_JPEG, image_bytes
from tests.support.ticket_flow import GREENERY, PASSWORD, WASTE, Filed, add_staff, referred_ticket, status_of

S, A = TicketStatus, TicketAction


@dataclass
class Site:
    client: TestClient
    engine: sa.Engine
    photos_dir: Path
    ticket: Filed  # accepted by the waste unit, ready to be reported done

    def as_user(self, username: str | None) -> TestClient:
        """A fresh login on the shared client (None: logged out, with a CSRF token from the login page)."""
        self.client.cookies.clear()
        self.client.headers.pop("X-CSRF-Token", None)
        if username is None:
            self.client.get("/login")
            self.client.headers["X-CSRF-Token"] = self.client.cookies["pasokh_csrf"]
            return self.client
        response = log_in_sync(self.client, username, PASSWORD)
        assert response.status_code == 303, response.text
        return self.client

    def stored(self) -> list[TicketAttachment]:
        with unit_of_work(self.engine) as session:
            return list(session.exec(select(TicketAttachment)).all())

    def files(self) -> list[Path]:
        return sorted(self.photos_dir.iterdir()) if self.photos_dir.exists() else []


@pytest.fixture
def site(engine: sa.Engine, database_url: str, tmp_path: Path) -> Iterator[Site]:
    operator = add_staff(engine, "photo.operator", Role.OPERATOR)
    liaison = add_staff(engine, "waste.liaison", Role.UNIT_LIAISON, unit=WASTE)
    add_staff(engine, "green.liaison", Role.UNIT_LIAISON, unit=GREENERY)
    for role in (Role.SUPERVISOR, Role.FIELD_SUPERVISOR, Role.INSPECTOR, Role.VIEWER, Role.ADMIN):
        add_staff(engine, f"photo.{role.value}", role)
    ticket = referred_ticket(engine, by=operator, unit=WASTE)
    with unit_of_work(engine) as session:
        apply_action(session, ticket_id=ticket.id, action=A.ACCEPT, actor=liaison)
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                             state_dir=tmp_path / "state")
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as client:
        yield Site(client=client, engine=engine, photos_dir=tmp_path / "state" / "photos", ticket=ticket)


def report_done(client: TestClient, ticket: Filed, photos: list[tuple[str, bytes, str]], *,
                note: str = "سطل‌ها تخلیه و محل شسته شد") -> httpx.Response:
    """The inbox's multipart request: the step's fields, and each photo as a ``photos`` file."""
    return client.post(
        f"/api/tickets/{ticket.tracking_code}/actions",
        data={"action": "report_done", "note": note, "expected_status": "accepted"},
        files=[("photos", photo) for photo in photos], headers={"Accept": "application/json"},
    )


def test_given_an_accepted_ticket_when_its_liaison_reports_done_with_two_photos_then_the_history_lists_them(
    site: Site,
) -> None:
    jpeg, png = image_bytes("JPEG"), image_bytes("PNG", colour="orange")
    client = site.as_user("waste.liaison")
    response = report_done(client, site.ticket, [("before.jpg", jpeg, "image/jpeg"),
                                                 ("after.png", png, "application/octet-stream")])
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "done" and status_of(site.engine, site.ticket) == S.DONE

    history = client.get(f"/api/tickets/{site.ticket.tracking_code}/history").json()
    assert [(step["action"], len(step["photos"])) for step in history] == [
        ("refer", 0), ("accept", 0), ("report_done", 2)]
    done = history[-1]
    assert done["note"] == "سطل‌ها تخلیه و محل شسته شد"
    assert [(p["content_type"], p["size"], p["sha256"]) for p in done["photos"]] == [
        ("image/jpeg", len(jpeg), hashlib.sha256(jpeg).hexdigest()),
        ("image/png", len(png), hashlib.sha256(png).hexdigest()),  # the bytes decide, not the declared type
    ]
    assert all(r.transition_id == done["id"] for r in site.stored())
    served = client.get(done["photos"][1]["url"])
    assert served.status_code == 200 and served.content == png
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "stored_name" not in done["photos"][0]  # our file name stays on the server


@pytest.mark.parametrize(("photos", "message"), [
    ([("looks-like.jpg", FAKE_JPEG, "image/jpeg")], "فایل «looks-like.jpg» عکس JPEG، PNG یا WebP نیست."),
    ([(f"{n}.jpg", image_bytes("JPEG"), "image/jpeg") for n in range(6)], "حداکثر ۵ عکس می‌توانید بفرستید."),
    ([("anim.gif", image_bytes("GIF"), "image/gif")], "فایل «anim.gif» عکس JPEG، PNG یا WebP نیست."),
], ids=["html-named-jpg", "six-photos", "gif"])
def test_given_photos_that_are_refused_when_reporting_done_then_a_persian_422_and_nothing_is_kept(
    site: Site, photos: list[tuple[str, bytes, str]], message: str,
) -> None:
    client = site.as_user("waste.liaison")
    response = report_done(client, site.ticket, photos)
    assert response.status_code == 422, response.text
    assert (response.json()["error_id"], response.json()["message"]) == ("invalid-data", message)
    assert status_of(site.engine, site.ticket) == S.ACCEPTED
    assert site.stored() == [] and site.files() == []


def test_given_a_form_streamed_without_a_declared_length_when_reporting_done_then_refused_before_reading_it(
    site: Site,
) -> None:
    client = site.as_user("waste.liaison")
    form = httpx.Request("POST", "http://127.0.0.1/", data={"action": "report_done", "note": "شد"},
                         files=[("photos", ("a.jpg", image_bytes("JPEG"), "image/jpeg"))])
    body = form.read()

    def chunks() -> Iterator[bytes]:  # a generator body goes out chunked, with no Content-Length
        yield body[: len(body) // 2]
        yield body[len(body) // 2 :]

    response = client.post(f"/api/tickets/{site.ticket.tracking_code}/actions", content=chunks(),
                           headers={"Content-Type": form.headers["Content-Type"], "Accept": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["error_id"] == "invalid-data"
    assert status_of(site.engine, site.ticket) == S.ACCEPTED and site.files() == []


def test_given_a_report_done_without_a_note_when_sent_with_a_photo_then_refused_and_the_photo_is_not_kept(
    site: Site,
) -> None:
    client = site.as_user("waste.liaison")
    response = report_done(client, site.ticket, [("a.jpg", image_bytes("JPEG"), "image/jpeg")], note=" ")
    assert response.status_code == 422
    assert response.json()["message"] == "بنویسید چه کاری انجام شد."
    assert site.stored() == [] and site.files() == []
    as_json = client.post(f"/api/tickets/{site.ticket.tracking_code}/actions", json={"action": "report_done"})
    assert (as_json.status_code, as_json.json()["message"]) == (422, "بنویسید چه کاری انجام شد.")
    assert status_of(site.engine, site.ticket) == S.ACCEPTED


def test_given_another_units_liaison_when_reporting_done_with_a_photo_then_403_and_no_file(site: Site) -> None:
    response = report_done(site.as_user("green.liaison"), site.ticket, [("a.jpg", image_bytes("JPEG"), "image/jpeg")])
    assert (response.status_code, response.json()["error_id"]) == (403, "permission-denied")
    assert site.stored() == [] and site.files() == []


def test_given_a_photo_with_an_accept_when_sent_then_refused_because_photos_go_with_report_done(site: Site) -> None:
    operator = add_staff(site.engine, "photo.operator2", Role.OPERATOR)
    fresh = referred_ticket(site.engine, by=operator, unit=WASTE, description="دومی")
    response = site.as_user("waste.liaison").post(
        f"/api/tickets/{fresh.tracking_code}/actions", data={"action": "accept"},
        files=[("photos", ("a.jpg", image_bytes("JPEG"), "image/jpeg"))])
    assert response.status_code == 422
    assert response.json()["message"] == "عکس فقط همراه با «اعلام انجام کار» فرستاده می‌شود."
    assert status_of(site.engine, fresh) == S.REFERRED and site.files() == []


@pytest.mark.parametrize(("username", "expected"), [
    ("waste.liaison", 200), ("photo.supervisor", 200), ("photo.operator", 200), ("photo.admin", 200),
    ("photo.field_supervisor", 403),  # until the ticket is disputed (see the test below)
    ("photo.inspector", 403),  # the inspection office reads the scorecard, not tickets (decision 26)
    ("green.liaison", 403),  # a unit that never held the ticket
    ("photo.viewer", 403),  # the mayor's office reads reports, not ticket histories (decision 26)
    (None, 401),
])
def test_given_a_reported_photo_when_each_role_asks_for_it_then_only_history_readers_get_it(
    site: Site, username: str | None, expected: int,
) -> None:
    response = report_done(site.as_user("waste.liaison"), site.ticket, [("a.webp", image_bytes("WEBP"), "image/webp")])
    assert response.status_code == 200, response.text
    [photo] = site.stored()
    client = site.as_user(username)
    served = client.get(f"/api/tickets/{site.ticket.tracking_code}/photos/{photo.id}",
                        headers={"Accept": "application/json"})
    assert served.status_code == expected, served.text
    if expected == 200:
        assert served.content == image_bytes("WEBP") and served.headers["content-type"] == "image/webp"


def test_given_a_photo_of_one_ticket_when_asked_for_under_another_ticket_then_not_found(site: Site) -> None:
    assert report_done(site.as_user("waste.liaison"), site.ticket,
                       [("a.jpg", image_bytes("JPEG"), "image/jpeg")]).status_code == 200
    [photo] = site.stored()
    assert photo.id is not None
    operator = add_staff(site.engine, "photo.operator2", Role.OPERATOR)
    other = referred_ticket(site.engine, by=operator, unit=WASTE, description="دیگری")
    client = site.as_user("photo.supervisor")
    assert client.get(f"/api/tickets/{other.tracking_code}/photos/{photo.id}").status_code == 404
    assert client.get(f"/api/tickets/{site.ticket.tracking_code}/photos/{photo.id + 1}").status_code == 404


def test_given_a_report_done_without_photos_as_json_then_it_works_as_before(site: Site) -> None:
    response = site.as_user("waste.liaison").post(
        f"/api/tickets/{site.ticket.tracking_code}/actions", json={"action": "report_done", "note": "انجام شد"})
    assert response.status_code == 200 and status_of(site.engine, site.ticket) == S.DONE
    history = site.client.get(f"/api/tickets/{site.ticket.tracking_code}/history").json()
    assert history[-1]["photos"] == []


def test_given_the_api_docs_when_reading_the_actions_endpoint_then_both_bodies_are_described_and_resolve(
    web_client: TestClient,
) -> None:
    doc = web_client.get("/openapi.json").json()
    body = doc["paths"]["/api/tickets/{tracking_code}/actions"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    photos = body["multipart/form-data"]["schema"]["properties"]["photos"]
    assert photos["items"] == {"type": "string", "format": "binary"} and photos["maxItems"] == 5
    assert "photos" not in body["application/json"]["schema"]["properties"]
    refs = {ref.rsplit("/", 1)[1] for ref in _refs(body)}
    assert {"TicketAction", "FieldVerdict", "TicketStatus"} <= refs <= set(doc["components"]["schemas"])


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []
