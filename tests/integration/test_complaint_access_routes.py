"""Every complaint route × every kind of staff (and the public): no one a complaint is not for ever reads its text,
tracking code or complainant, and each is refused where it must be (issue #15, item 6).

The routes are found at run time (``app.routes`` under the complaint prefixes), so a route another part adds is
walked as soon as it exists; path parameters are filled with a real complaint's ids (its information request's,
its meeting's). Who may see which complaint is written out here (``PERMITTED``), not asked of access.py: the test
is a second opinion on it."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import SimpleCookie

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import select
from starlette.routing import BaseRoute, Route

from agent_console import complaint_pass
from callcenter.bootstrap.app import create_app
from callcenter.complaints.attachments import AttachmentStore, Upload, check_attachment
from callcenter.complaints.tracking_code import format_for_reading
from callcenter.platform.persian import persian_digits
from callcenter.platform.settings import Settings, load_settings
from db.engine import unit_of_work
from db.models import ComplaintAttachment, InformationRequest, MeetingBooking, MeetingSlot, Role, User, utcnow
from tests.support.backend import TEST_SECRETS
from tests.support.complaints import COMPLAINANT, FiledComplaint, file_complaint
from tests.support.console import log_in_sync
from tests.support.ticket_flow import PASSWORD, WASTE, add_staff, unit_id

INSPECTION = "مدیریت بازرسی"
STAFF_PREFIXES = ("/inspection", "/api/complaints")
PUBLIC_PREFIXES = ("/complaints/case", "/complaints/meeting")
LIAISON_PREFIX = "/inbox/information-requests"
PREFIXES = (*STAFF_PREFIXES, *PUBLIC_PREFIXES, LIAISON_PREFIX)
REFUSED = frozenset({401, 403, 404})
# A form posted empty may be answered "fill these in" before the case is looked up: that tells nothing either.
REFUSED_POST = REFUSED | {400, 422}

# The staff pages of the URL map (docs: the preamble of issue #15) that must exist once every part is merged.
URL_MAP = frozenset({
    "/inspection", "/inspection/complaints/{}", "/inspection/complaints/{}/identity", "/inspection/audit",
    "/inspection/meetings", "/inspection/complaints/{}/root-causes", "/inspection/analytics",
    "/inspection/analytics/clusters", "/inbox/information-requests", "/complaints/case", "/complaints/meeting",
})


@dataclass(frozen=True)
class Principal:
    name: str
    username: str | None = None      # a staff login, or None for the public
    holds_pass_for: str | None = None  # the complaint (by key) whose follow-up pass this browser holds


# Every kind of staff the issue names, the public, and the complainants with their passes.
PRINCIPALS = (
    Principal("operator", "ca.operator"), Principal("supervisor", "ca.supervisor"), Principal("admin", "ca.admin"),
    Principal("liaison of the target unit", "ca.liaison"), Principal("field supervisor", "ca.field"),
    Principal("service desk", "ca.desk"), Principal("mayor's office", "ca.mayor"),
    Principal("inspector with a conflict", "ca.conflicted"), Principal("inspector", "ca.inspector"),
    Principal("head of inspection", "ca.head"), Principal("the public"),
    Principal("complainant about the unit", holds_pass_for="unit"),
    Principal("complainant about the office", holds_pass_for="office"),
)
COMPLAINT_READERS = frozenset({"mayor's office", "inspector with a conflict", "inspector", "head of inspection"})
# The unit complaint is on the inspection desk; the office complaint on the mayor's office's.
PERMITTED = {
    "unit": frozenset({"inspector", "head of inspection", "complainant about the unit"}),
    "office": frozenset({"mayor's office", "complainant about the office"}),
}


@dataclass
class Walk:
    settings: Settings
    complaints: dict[str, FiledComplaint]
    # per complaint key: placeholder-name fragment → id (information request, meeting slot, booking)
    related_ids: dict[str, dict[str, int]]
    clients: dict[str, TestClient]
    app: FastAPI


def _seed_staff(engine: sa.Engine) -> None:
    add_staff(engine, "ca.operator", Role.OPERATOR)
    add_staff(engine, "ca.supervisor", Role.SUPERVISOR)
    add_staff(engine, "ca.admin", Role.ADMIN)
    add_staff(engine, "ca.liaison", Role.UNIT_LIAISON, unit=WASTE)
    add_staff(engine, "ca.field", Role.FIELD_SUPERVISOR)
    add_staff(engine, "ca.desk", Role.DESK)
    add_staff(engine, "ca.mayor", Role.VIEWER)
    add_staff(engine, "ca.conflicted", Role.INSPECTOR, unit=WASTE)
    add_staff(engine, "ca.inspector", Role.INSPECTOR, unit=INSPECTION)
    add_staff(engine, "ca.head", Role.HEAD_OF_INSPECTION, unit=INSPECTION)


def _related(engine: sa.Engine, settings: Settings, complaint: FiledComplaint, asker: User,
             unit: str) -> dict[str, int]:
    """An information request to ``unit``, a booked meeting and a stored attachment of the complaint: ids the
    routes may take."""
    now = utcnow()
    with unit_of_work(engine) as session:
        request = InformationRequest(complaint_id=complaint.id, unit_id=unit_id(engine, unit), question="پرسش بازرسی",
                                     asked_by_id=asker.id or 0, due_at=now + timedelta(days=5))
        slot = MeetingSlot(starts_at=now + timedelta(days=3), place="ساختمان مرکزی")
        session.add_all([request, slot])
        session.flush()
        booking = MeetingBooking(slot_id=slot.id or 0, complaint_id=complaint.id)
        checked = check_attachment(Upload(filename="photo.png", data=_small_png()))
        attachment = ComplaintAttachment(complaint_id=complaint.id, kind=checked.kind,
                                         content_type=checked.content_type, size=checked.size,
                                         sha256=checked.sha256,
                                         stored_name=AttachmentStore.for_settings(settings).save(checked))
        session.add_all([booking, attachment])
        session.flush()
        return {"request": request.id or 0, "slot": slot.id or 0, "booking": booking.id or 0,
                "attachment": attachment.id or 0}


def _small_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(out, format="PNG")
    return out.getvalue()


def _pass_cookie(settings: Settings, complaint_id: int) -> str:
    response = Response()
    complaint_pass.grant(response, settings, complaint_id)
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(response.headers["set-cookie"])
    return cookie[complaint_pass.COOKIE].value


@pytest.fixture
def walk(engine: sa.Engine, database_url: str, tmp_path: object) -> Iterator[Walk]:
    _seed_staff(engine)
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                             state_dir=tmp_path)
    complaints = {"unit": file_complaint(engine, settings, target=WASTE),
                  "office": file_complaint(engine, settings, target=INSPECTION,
                                           description="بازرس پرونده را بدون رسیدگی بایگانی کرد")}
    with unit_of_work(engine) as session:
        head = session.exec(select(User).where(User.username == "ca.head")).one()
    related = {"unit": _related(engine, settings, complaints["unit"], head, WASTE),
               "office": _related(engine, settings, complaints["office"], head, INSPECTION)}
    app = create_app(settings, telephony=False)
    with TestClient(app, base_url="http://127.0.0.1") as first:
        clients: dict[str, TestClient] = {}
        for principal in PRINCIPALS:
            client = first if not clients else TestClient(app, base_url="http://127.0.0.1")
            if principal.username is not None:
                assert log_in_sync(client, principal.username, PASSWORD).status_code == 303
            else:
                client.get("/login")  # a CSRF cookie, as a browser would have from any page
                client.headers["X-CSRF-Token"] = client.cookies["pasokh_csrf"]
            if principal.holds_pass_for is not None:
                client.cookies.set(complaint_pass.COOKIE,
                                   _pass_cookie(settings, complaints[principal.holds_pass_for].id))
            clients[principal.name] = client
        yield Walk(settings=settings, complaints=complaints, related_ids=related, clients=clients, app=app)


def http_routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every HTTP route, through included routers (FastAPI keeps those as their own objects)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from http_routes(included.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif isinstance(route, Route):
            yield from ((method, prefix + route.path) for method in sorted(route.methods or ()) if method != "HEAD")


def complaint_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every HTTP route under the complaint prefixes, as the app has them now."""
    return sorted({(method, path) for method, path in http_routes(app.routes) if path.startswith(PREFIXES)})


PLACEHOLDER = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


def _fill(path: str, walk: Walk, key: str) -> str:
    """The path with every parameter taken from complaint ``key``: its request's, slot's or booking's id where the
    parameter names one of those, else the complaint's own id."""
    ids = walk.related_ids[key]

    def value(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        for fragment in ("request", "slot", "booking", "attachment"):
            if fragment in name:
                return str(ids[fragment])
        if "code" in name:
            return walk.complaints[key].tracking_code
        return str(walk.complaints[key].id)

    return PLACEHOLDER.sub(value, path)


def _secrets(complaint: FiledComplaint) -> list[str]:
    code = complaint.tracking_code
    shown = [code, format_for_reading(code), complaint.description, COMPLAINANT.name, COMPLAINANT.mobile]
    return [*shown, *(persian_digits(text) for text in (code, format_for_reading(code), COMPLAINANT.mobile))]


def _readable(response: httpx.Response) -> str:
    """The body as text (an XLSX opened: its sheets are zipped XML) and the redirect target."""
    body = response.content
    if body.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            body = b"".join(archive.read(name) for name in archive.namelist())
    return body.decode("utf-8", "replace") + response.headers.get("location", "")


def _expected_refusal(principal: Principal, method: str, path: str, *, about_one: bool, key: str) -> bool:
    """Whether this principal must be turned away (401/403/404) from this URL."""
    if path.startswith(LIAISON_PREFIX):  # the target unit's liaison reads its own question, nobody else's
        return principal.name != "liaison of the target unit" or (about_one and key != "unit")
    if path.startswith(PUBLIC_PREFIXES):
        return False  # without a pass: a page telling how to open a complaint (the leak check still applies)
    if principal.name not in COMPLAINT_READERS:
        return True  # operators, supervisors, admins, liaisons, field supervisors, the desk, the public
    return about_one and principal.name not in PERMITTED[key]


def _walk_route(walk: Walk, method: str, path: str) -> list[str]:
    """Each principal on this route (for each complaint, when it is about one); what went wrong, as sentences."""
    problems: list[str] = []
    # A meeting slot is the office's, not one complaint's: its pages are checked like lists (what they show).
    about_one = any("slot" not in name.lower() for name in PLACEHOLDER.findall(path))
    filled = PLACEHOLDER.search(path) is not None
    someone_let_in = method != "GET"
    # Refusals first: a permitted principal's visit may change the case. Permitted principals never POST here.
    ordered = sorted(PRINCIPALS, key=lambda p: any(p.name in PERMITTED[k] for k in PERMITTED))
    for principal in ordered:
        client = walk.clients[principal.name]
        for key in (PERMITTED if filled else ("unit",)):
            permitted = principal.name in PERMITTED[key] or (
                path.startswith(LIAISON_PREFIX) and not _expected_refusal(principal, method, path,
                                                                           about_one=about_one, key=key))
            if method != "GET" and permitted:
                continue
            url = _fill(path, walk, key)
            response = client.request(method, url, data={}, headers={"Accept": "text/html"}, follow_redirects=False)
            if response.status_code >= 500:
                problems.append(f"{principal.name}: {method} {url} failed with {response.status_code}")
            text = _readable(response)
            for other, complaint in walk.complaints.items():
                if principal.name in PERMITTED[other]:
                    continue
                leaked = [secret for secret in _secrets(complaint) if secret in text]
                if leaked:
                    problems.append(f"{principal.name}: {method} {url} shows complaint «{other}»: {leaked}")
            if _expected_refusal(principal, method, path, about_one=about_one, key=key):
                allowed = REFUSED_POST if method != "GET" else REFUSED
                to_login = principal.username is None and response.headers.get("location", "").startswith("/login")
                if response.status_code not in allowed and not to_login:
                    problems.append(f"{principal.name}: {method} {url} answered {response.status_code}, "
                                    f"not one of {sorted(allowed)}")
            elif permitted and response.status_code < 400:
                someone_let_in = True
    if not someone_let_in:
        problems.append(f"GET {path}: no one it is for got a page (200 or a redirect)")
    return problems


def test_given_two_complaints_when_every_principal_walks_every_complaint_route_then_each_reads_only_its_own(
    walk: Walk,
) -> None:
    routes = complaint_routes(walk.app)
    assert ("GET", "/api/complaints/{complaint_id}/summary") in routes  # the walk finds routes at all
    problems = [problem for method, path in routes for problem in _walk_route(walk, method, path)]
    assert problems == []


def test_given_the_summary_route_when_the_permitted_read_it_then_the_complaint_is_there(walk: Walk) -> None:
    """The other side of the walk: what the permitted get is the complaint (so "nothing leaked" means something)."""
    for principal, key in (("inspector", "unit"), ("head of inspection", "unit"), ("mayor's office", "office")):
        complaint = walk.complaints[key]
        response = walk.clients[principal].get(f"/api/complaints/{complaint.id}/summary")
        assert response.status_code == 200, principal
        assert response.json()["tracking_code"] == complaint.tracking_code
        assert COMPLAINANT.mobile not in response.text and complaint.description not in response.text


def test_the_url_map_s_complaint_pages_are_walked_and_those_merged_exist(walk: Walk) -> None:
    present = {PLACEHOLDER.sub("{}", path) for _method, path in http_routes(walk.app.routes)}
    walked = {PLACEHOLDER.sub("{}", path) for _method, path in complaint_routes(walk.app)}
    assert URL_MAP & present <= walked  # the prefixes cover every page of the map that exists
    assert present >= URL_MAP, "a page of the URL map is missing"
