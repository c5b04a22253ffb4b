"""Every route × every role: each page and API answers only the roles it is for (and nobody logged out)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session

from agent_console.routes import ROUTERS
from agent_console.security_headers import security_headers
from callcenter.bootstrap.app import create_app
from callcenter.platform.security import hash_password
from callcenter.platform.settings import load_settings
from db.engine import make_engine, upgrade_database
from db.models import STAFF_ROLES, Role, User
from tests.support.backend import TEST_SECRETS
from tests.support.console import log_in_sync

# Access rules do not depend on the database kind.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

EVERYONE = frozenset(Role)
CALL_HANDLERS = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
WALLBOARD_VIEWERS = SUPERVISORS | {Role.VIEWER}
PUBLIC = None  # no login needed
ADMINS = frozenset({Role.ADMIN})
TICKET_ACTORS = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.UNIT_LIAISON, Role.FIELD_SUPERVISOR})
# The inspection office reads the scorecard, not single tickets (decision 26, least data).
HISTORY_READERS = CALL_HANDLERS | {Role.FIELD_SUPERVISOR, Role.UNIT_LIAISON}
INBOX_OWNERS = frozenset({Role.UNIT_LIAISON, Role.FIELD_SUPERVISOR})
REPORT_READERS = frozenset({Role.VIEWER, Role.SUPERVISOR, Role.ADMIN, Role.INSPECTOR})
# The service desk: its own staff, and operators and supervisors at the counter; nothing else is the desk's.
DESK_STAFF = frozenset({Role.DESK, Role.OPERATOR, Role.SUPERVISOR})
# Complaints: the inspection office and the mayor's office (which complaint each may read,
# callcenter/complaints/access.py decides); the head alone reads the audit log; inspectors alone tag root causes.
COMPLAINT_READERS = frozenset({Role.INSPECTOR, Role.HEAD_OF_INSPECTION, Role.VIEWER})
COMPLAINT_ANALYSTS = COMPLAINT_READERS
INSPECTION = INSPECTION_STAFF = frozenset({Role.INSPECTOR, Role.HEAD_OF_INSPECTION})
HEAD_OF_INSPECTION = HEAD = frozenset({Role.HEAD_OF_INSPECTION})
LIAISONS = frozenset({Role.UNIT_LIAISON})

# (method, path) → the roles that may use it. A new route fails the completeness test until it is listed here.
ACCESS: dict[tuple[str, str], frozenset[Role] | None] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/citizen/"): PUBLIC,
    ("GET", "/console"): CALL_HANDLERS,
    ("GET", "/api/reference"): EVERYONE,
    ("GET", "/api/me"): EVERYONE,
    ("GET", "/account/password"): EVERYONE,
    ("POST", "/account/password"): EVERYONE,
    ("POST", "/api/queue/join"): CALL_HANDLERS,
    ("POST", "/api/queue/leave"): CALL_HANDLERS,
    ("POST", "/api/queue/pause"): CALL_HANDLERS,
    ("POST", "/api/queue/resume"): CALL_HANDLERS,
    ("POST", "/api/call/hold"): CALL_HANDLERS,
    ("POST", "/api/call/hangup"): CALL_HANDLERS,
    ("POST", "/api/call/transfer"): CALL_HANDLERS,
    ("GET", "/wallboard"): WALLBOARD_VIEWERS,
    ("GET", "/scorecard"): REPORT_READERS,
    ("GET", "/api/scorecard"): REPORT_READERS,
    ("GET", "/api/scorecard/trend"): REPORT_READERS,
    ("GET", "/api/scorecard.xlsx"): REPORT_READERS,
    ("GET", "/api/scorecard.pdf"): REPORT_READERS,
    ("GET", "/api/wallboard"): WALLBOARD_VIEWERS,
    ("POST", "/api/supervise"): SUPERVISORS,
    ("POST", "/api/tickets"): CALL_HANDLERS,
    ("GET", "/api/duplicates"): CALL_HANDLERS,
    ("GET", "/api/tickets/{tracking_code}"): HISTORY_READERS,
    ("GET", "/api/tickets/{tracking_code}/recording"): CALL_HANDLERS,
    ("GET", "/api/calls/{call_id}/recording"): SUPERVISORS,
    ("GET", "/api/voice-messages"): CALL_HANDLERS,
    ("GET", "/api/callbacks"): CALL_HANDLERS,
    ("POST", "/api/callbacks/{callback_id}/close"): CALL_HANDLERS,
    ("GET", "/admin"): ADMINS,
    ("POST", "/admin/staff"): ADMINS,
    ("POST", "/admin/staff/{user_id}/active"): ADMINS,
    ("POST", "/admin/units"): ADMINS,
    ("POST", "/admin/units/{unit_id}/manager-phone"): ADMINS,
    ("POST", "/admin/categories"): ADMINS,
    ("POST", "/api/tickets/{tracking_code}/actions"): TICKET_ACTORS,
    ("GET", "/api/tickets/{tracking_code}/history"): HISTORY_READERS,
    ("GET", "/api/tickets/{tracking_code}/photos/{photo_id}"): HISTORY_READERS,
    ("GET", "/api/referral-unit"): CALL_HANDLERS,
    ("POST", "/admin/district-units"): ADMINS,
    ("POST", "/admin/district-units/{override_id}/delete"): ADMINS,
    ("GET", "/api/inbox"): INBOX_OWNERS,
    ("GET", "/inbox"): INBOX_OWNERS,
    ("GET", "/verifications"): SUPERVISORS,
    ("GET", "/api/verifications"): SUPERVISORS,
    ("GET", "/api/verifications/online"): SUPERVISORS,
    ("POST", "/api/verifications/{task_id}/call"): SUPERVISORS,
    ("POST", "/api/verifications/automatic"): SUPERVISORS,
    ("POST", "/api/verifications/{task_id}/outcome"): CALL_HANDLERS,
    ("GET", "/desk"): DESK_STAFF,
    ("POST", "/desk"): DESK_STAFF,
    ("GET", "/desk/receipts/{tracking_code}"): DESK_STAFF,
    ("GET", "/desk/receipts/{tracking_code}.pdf"): DESK_STAFF,
    ("POST", "/admin/open311-keys"): ADMINS,
    ("POST", "/admin/open311-keys/{key_id}/revoke"): ADMINS,
    # Open311 (the spec): reading is public, posting needs an API key, not a staff login.
    ("GET", "/open311/v2/discovery.{fmt}"): PUBLIC,
    ("GET", "/open311/v2/services.{fmt}"): PUBLIC,
    ("GET", "/open311/v2/services/{service_code}.{fmt}"): PUBLIC,
    ("GET", "/open311/v2/requests.{fmt}"): PUBLIC,
    ("POST", "/open311/v2/requests.{fmt}"): PUBLIC,
    ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"): PUBLIC,
    ("GET", "/open311/v2/tokens/{token}.{fmt}"): PUBLIC,
    ("GET", "/citizen/report"): PUBLIC,
    ("POST", "/citizen/report"): PUBLIC,
    ("GET", "/citizen/feedback"): PUBLIC,
    ("POST", "/citizen/feedback"): PUBLIC,
    ("POST", "/citizen/phone-code"): PUBLIC,
    ("GET", "/citizen/track"): PUBLIC,
    ("POST", "/citizen/track"): PUBLIC,
    ("GET", "/citizen/s/{tracking_code}/{sig}"): PUBLIC,
    ("GET", "/citizen/a/{answer_id}/{sig}"): PUBLIC,
    ("POST", "/citizen/a/{answer_id}/{sig}"): PUBLIC,
    ("GET", "/api/complaints/{complaint_id}/summary"): COMPLAINT_READERS,
    # A complainant's follow-up: no login; the case pages need the pass the follow-up form grants.
    ("GET", "/complaints/follow"): PUBLIC,
    ("POST", "/complaints/follow"): PUBLIC,
    ("GET", "/complaints/case"): PUBLIC,
    ("POST", "/complaints/case"): PUBLIC,
    ("GET", "/complaints/case/files/{attachment_id}"): PUBLIC,
    ("POST", "/complaints/case/leave"): PUBLIC,
    ("GET", "/inspection/analytics/clusters"): COMPLAINT_READERS,
    ("GET", "/inspection/complaints/{complaint_id}/identity"): COMPLAINT_READERS,
    ("POST", "/inspection/complaints/{complaint_id}/identity"): COMPLAINT_READERS,
    ("GET", "/inspection/audit"): HEAD_OF_INSPECTION,
    # Meetings: the complainant's page (its pass, not a login, names the complaint) and the inspection office's.
    ("GET", "/complaints/meeting"): PUBLIC,
    ("POST", "/complaints/meeting/book"): PUBLIC,
    ("POST", "/complaints/meeting/reschedule"): PUBLIC,
    ("POST", "/complaints/meeting/cancel"): PUBLIC,
    ("GET", "/inspection/meetings"): INSPECTION,
    ("POST", "/inspection/meetings"): INSPECTION,
    ("POST", "/inspection/meetings/{slot_id}/withdraw"): INSPECTION,
    ("GET", "/inspection/analytics"): COMPLAINT_ANALYSTS,
    ("GET", "/inspection/analytics.xlsx"): COMPLAINT_ANALYSTS,
    ("GET", "/inspection/complaints/{complaint_id}/root-causes"): INSPECTION_STAFF,
    ("POST", "/inspection/complaints/{complaint_id}/root-causes"): INSPECTION_STAFF,
    # The complaint form: public; staff filing for a citizen (?for=) are checked inside (test_complaint_form.py).
    ("GET", "/complaints/"): PUBLIC,
    ("GET", "/complaints/new"): PUBLIC,
    ("GET", "/complaints/new/{draft_id}/{step}"): PUBLIC,
    ("POST", "/complaints/new/{draft_id}/{step}"): PUBLIC,
    ("POST", "/complaints/new/{draft_id}/files"): PUBLIC,
    ("GET", "/inspection"): COMPLAINT_READERS,
    ("GET", "/inspection/complaints/{complaint_id}"): COMPLAINT_READERS,
    ("POST", "/inspection/complaints/{complaint_id}/actions"): COMPLAINT_READERS,
    ("POST", "/inspection/complaints/{complaint_id}/notes"): COMPLAINT_READERS,
    ("POST", "/inspection/complaints/{complaint_id}/messages"): COMPLAINT_READERS,
    ("POST", "/inspection/complaints/{complaint_id}/information-requests"): COMPLAINT_READERS,
    ("GET", "/inspection/complaints/{complaint_id}/attachments/{attachment_id}"): COMPLAINT_READERS,
    ("GET", "/inspection/sla"): HEAD,
    ("POST", "/inspection/sla"): HEAD,
    ("GET", "/inbox/information-requests"): LIAISONS,
    ("GET", "/api/inbox/information-requests"): LIAISONS,
    ("POST", "/inbox/information-requests/{request_number}/answer"): LIAISONS,
}
EXAMPLE_PATHS = {"{tracking_code}": "123456784", "{callback_id}": "1", "{user_id}": "1", "{call_id}": "1"}
EXAMPLE_PATHS.update({"{photo_id}": "1", "{override_id}": "1", "{task_id}": "1", "{unit_id}": "1"})
EXAMPLE_PATHS.update({"{key_id}": "1", "{fmt}": "json", "{service_code}": "1", "{service_request_id}": "123456784",
                      "{token}": "no-such-token"})
EXAMPLE_PATHS.update({"{answer_id}": "1", "{sig}": "AAAAAAAAAAAAAAAA", "{complaint_id}": "1", "{attachment_id}": "1",
                      "{slot_id}": "1", "{draft_id}": "no-such-draft", "{step}": "target", "{request_number}": "1"})
PASSWORD = "role-walk-password"


def concrete(path: str) -> str:
    for placeholder, value in EXAMPLE_PATHS.items():
        path = path.replace(placeholder, value)
    return path


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    upgrade_database(database_url)
    engine = make_engine(database_url)
    with Session(engine) as session:
        for number, role in enumerate(Role):
            session.add(User(username=f"walk-{role.value}", full_name=role.value, role=role, extension=f"19{number}",
                             password_hash=hash_password(PASSWORD)))
        session.commit()
    engine.dispose()
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url)
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as test_client:
        yield test_client


def test_every_route_of_the_app_has_an_access_rule() -> None:
    routes = {(method, route.path) for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)
              for method in route.methods}
    assert routes == set(ACCESS)


@sqlite_only
@pytest.mark.parametrize("role", list(STAFF_ROLES))
def test_given_a_role_when_it_walks_every_route_then_only_its_routes_let_it_in(
    client: TestClient, role: Role
) -> None:
    assert log_in_sync(client, f"walk-{role.value}", PASSWORD).status_code == 303
    refused = []
    for method, path in ACCESS:
        if path in ("/logout", "/login"):
            continue  # would end or replace this session
        response = client.request(method, concrete(path), json={}, headers={"Accept": "application/json"},
                                  follow_redirects=False)
        if response.status_code == 403:
            assert response.json()["error_id"] == "permission-denied", (method, path)
            refused.append((method, path))
        else:
            assert response.status_code != 401, (method, path, response.text)
    expected = [key for key, allowed in ACCESS.items()
                if allowed is not None and role not in allowed and key[1] not in ("/logout", "/login")]
    assert refused == expected


@sqlite_only
def test_given_nobody_logged_in_when_walking_every_route_then_only_public_ones_answer(client: TestClient) -> None:
    client.get("/login")
    token = client.cookies["pasokh_csrf"]
    for (method, path), allowed in ACCESS.items():
        if allowed is PUBLIC:
            continue
        response = client.request(method, concrete(path), json={}, follow_redirects=False,
                                  headers={"Accept": "application/json", "X-CSRF-Token": token})
        assert response.status_code == 401, (method, path, response.status_code)


@sqlite_only
def test_given_a_viewer_when_opening_the_console_page_then_a_persian_refusal_page(client: TestClient) -> None:
    log_in_sync(client, f"walk-{Role.VIEWER.value}", PASSWORD)
    response = client.get("/console", headers={"Accept": "text/html"})
    assert response.status_code == 403 and "text/html" in response.headers["content-type"]
    assert "کارشناسان و ناظران" in response.text


@sqlite_only
@pytest.mark.parametrize("role", [None, *STAFF_ROLES], ids=lambda role: role.value if role else "logged-out")
def test_given_a_role_when_it_walks_every_route_then_every_answer_carries_the_security_headers(
    client: TestClient, role: Role | None
) -> None:
    if role is not None:
        assert log_in_sync(client, f"walk-{role.value}", PASSWORD).status_code == 303
    else:
        client.get("/login")
        client.headers["X-CSRF-Token"] = client.cookies["pasokh_csrf"]
    extra = [("GET", "/static/console.css"), ("GET", "/static/common.js"), ("GET", "/no-such-page"),
             ("GET", "/login")]
    for method, path in [*ACCESS, *extra]:
        if path in ("/logout", "/login") and method == "POST":
            continue  # would end or replace this session
        for accept in ("text/html", "application/json"):
            response = client.request(method, concrete(path), json={}, headers={"Accept": accept},
                                      follow_redirects=False)
            for name, value in security_headers(concrete(path)).items():
                assert response.headers.get(name) == value, (role, method, path, response.status_code, name)
            assert "'unsafe-inline'" not in response.headers["content-security-policy"]
