"""Open311 API keys on the admin page (issued, shown once, stored hashed, revoked) and the CSRF exemption of
/open311/ only: an app posts with its key and no session, the console's forms still need the session's token."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col, select

from callcenter.bootstrap.app import create_app
from callcenter.platform.security import hash_password
from callcenter.platform.settings import load_settings
from db.engine import unit_of_work
from db.models import Category, Line, Open311ApiKey, Role, Ticket, TicketSource, User
from tests.support.backend import TEST_SECRETS
from tests.support.console import log_in_sync

ADMIN, PASSWORD = "keys.admin", "keys-admin-password"
SECRET_SHOWN = re.compile(r'id="new-open311-key-secret"[^>]*>([^<]+)<')


@pytest.fixture
def admin_client(engine: sa.Engine, database_url: str) -> Iterator[TestClient]:
    with unit_of_work(engine) as session:
        session.add(User(username=ADMIN, full_name="مدیر کلیدها", role=Role.ADMIN,
                         password_hash=hash_password(PASSWORD)))
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url)
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as client:
        assert log_in_sync(client, ADMIN, PASSWORD).status_code == 303
        yield client


def service_code(engine: sa.Engine) -> str:
    with unit_of_work(engine) as session:
        category = session.exec(select(Category).where(Category.line == Line.SERVICES)
                                .order_by(col(Category.id))).first()
        assert category is not None
        return str(category.id)


def post_request(client: TestClient, key: str, code: str) -> int:
    """As an app does: no session cookie, no CSRF token, only the key."""
    app_client = TestClient(client.app, base_url="http://127.0.0.1")
    response = app_client.post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": code, "address_string": "میدان آزادی", "description": "درخت افتاده"})
    return response.status_code


def test_given_the_admin_page_when_a_key_is_issued_then_it_is_shown_once_stored_hashed_and_posts_until_revoked(
    admin_client: TestClient, engine: sa.Engine,
) -> None:
    issued = admin_client.post("/admin/open311-keys", data={
        "name": "اپلیکیشن شهر من", "requests_per_minute": "30", "csrf_token": admin_client.headers["X-CSRF-Token"]})
    assert issued.status_code == 200
    shown = SECRET_SHOWN.search(issued.text)
    assert shown is not None
    key = shown.group(1)
    page = admin_client.get("/admin").text
    assert key not in page and "اپلیکیشن شهر من" in page and "۳۰" in page
    with unit_of_work(engine) as session:
        row = session.exec(select(Open311ApiKey)).one()
        stored = " ".join(str(value) for value in row.model_dump().values())
    assert key not in stored and row.requests_per_minute == 30 and key.startswith(row.prefix)

    code = service_code(engine)
    assert post_request(admin_client, key, code) == 201
    revoked = admin_client.post(f"/admin/open311-keys/{row.id}/revoke",
                                data={"csrf_token": admin_client.headers["X-CSRF-Token"]}, follow_redirects=True)
    assert revoked.status_code == 200 and "باطل شد" in revoked.text
    assert post_request(admin_client, key, code) == 403
    with unit_of_work(engine) as session:
        assert len(session.exec(select(Ticket).where(Ticket.source == TicketSource.OPEN311)).all()) == 1


@pytest.mark.parametrize("form", [{"name": "", "requests_per_minute": "30"},
                                  {"name": "برنامه", "requests_per_minute": "صد"},
                                  {"name": "برنامه", "requests_per_minute": "0"}])
def test_given_a_bad_key_form_when_it_is_sent_then_a_persian_error_keeps_what_was_typed_and_no_key(
    admin_client: TestClient, engine: sa.Engine, form: dict[str, str],
) -> None:
    answer = admin_client.post("/admin/open311-keys", data={**form,
                                                            "csrf_token": admin_client.headers["X-CSRF-Token"]})
    assert answer.status_code == 422 and 'role="alert"' in answer.text
    assert SECRET_SHOWN.search(answer.text) is None and f'value="{form["requests_per_minute"]}"' in answer.text
    with unit_of_work(engine) as session:
        assert session.exec(select(Open311ApiKey)).all() == []


def test_given_the_open311_exemption_when_console_forms_are_posted_without_the_token_then_still_refused(
    admin_client: TestClient, engine: sa.Engine,
) -> None:
    del admin_client.headers["X-CSRF-Token"]
    form = {"name": "برنامهٔ جعلی", "requests_per_minute": "30"}
    for path in ("/admin/open311-keys", "/open311/../admin/open311-keys", "/admin/open311-keys?x=/open311/"):
        answer = admin_client.post(path, data=form, headers={"Accept": "application/json"})
        assert answer.status_code in (403, 404), (path, answer.status_code)
        if answer.status_code == 403:
            assert answer.json()["error_id"] == "csrf-failed"
    with unit_of_work(engine) as session:
        assert session.exec(select(Open311ApiKey)).all() == []
