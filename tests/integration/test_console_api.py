"""The console's HTTP API on a real database (SQLite and PostgreSQL), without telephony."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from callcenter.bootstrap.app import create_app
from callcenter.platform.settings import load_settings
from db.engine import make_engine
from db.models import Category, LoginThrottle, SmsMessage, Ticket, TicketTransition
from tests.support.backend import OPERATOR_1, TEST_SECRETS, seed_staff
from tests.support.console import log_in_sync
from tests.support.outbox import outbox_refusing


@pytest.fixture
def client(database_url: str, tmp_path: object) -> Iterator[TestClient]:
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url)
    engine = make_engine(database_url)
    seed_staff(engine)
    engine.dispose()
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as test_client:
        yield test_client


def login(client: TestClient, username: str = OPERATOR_1.username, password: str = OPERATOR_1.password) -> None:
    response = log_in_sync(client, username, password)
    assert response.status_code == 303 and response.headers["location"] == "/console"


def a_category(client: TestClient) -> dict[str, int]:
    reference = client.get("/api/reference").json()
    category = next(c for c in reference["categories"] if c["line"] == "137")
    return {"category_id": category["id"], "unit_id": category["default_unit_id"]}


def test_given_no_session_when_api_called_then_401_with_stable_error_id(client: TestClient) -> None:
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.json()["error_id"] == "not-authenticated"


def test_given_no_session_when_console_opened_then_redirected_to_login(client: TestClient) -> None:
    response = client.get("/console", headers={"Accept": "text/html"}, follow_redirects=False)  # as a browser
    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_given_wrong_password_when_logging_in_then_persian_error_and_no_session(client: TestClient) -> None:
    response = log_in_sync(client, OPERATOR_1.username, "wrong")
    assert response.status_code == 401
    assert "نام کاربری یا گذرواژه نادرست است." in response.text
    assert client.get("/api/me").status_code == 401


def test_given_unknown_user_when_logging_in_then_same_answer_as_wrong_password(client: TestClient) -> None:
    response = log_in_sync(client, "nobody", "whatever")
    assert response.status_code == 401
    assert "نام کاربری یا گذرواژه نادرست است." in response.text


def test_when_the_same_form_is_submitted_twice_then_one_ticket_with_one_code(client: TestClient) -> None:
    login(client)
    body = {**a_category(client), "description": "چاله بزرگ در خیابان", "address": "خیابان ۱۷ شهریور",
            "request_id": str(uuid.uuid4())}
    first = client.post("/api/tickets", json=body)
    second = client.post("/api/tickets", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["tracking_code"] == second.json()["tracking_code"]
    assert first.json()["address"] == "خیابان 17 شهریور"
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        assert len(session.exec(select(Ticket)).all()) == 1
        # Filing is the referral to the chosen unit, recorded once even though the form came twice.
        steps = session.exec(select(TicketTransition)).all()
    assert first.json()["status"] == second.json()["status"] == "referred"
    assert [(t.action, t.to_unit_id) for t in steps] == [("refer", body["unit_id"])]


def test_given_the_sms_outbox_failing_when_a_ticket_is_filed_then_an_error_and_nothing_half_written(
    client: TestClient,
) -> None:
    login(client)
    # The same app and login, but a server error comes back as a response instead of raising in the test.
    failing = TestClient(client.app, base_url="http://127.0.0.1", raise_server_exceptions=False,
                         cookies=client.cookies, headers=client.headers)
    body = {**a_category(client), "description": "چاله بزرگ در خیابان", "caller_number": "09121234567"}
    with outbox_refusing():
        response = failing.post("/api/tickets", json=body)
    assert response.status_code == 500
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        assert session.exec(select(Ticket)).all() == []
        assert session.exec(select(TicketTransition)).all() == []
        assert session.exec(select(SmsMessage)).all() == []
    assert client.post("/api/tickets", json=body).status_code == 201  # the outbox back: the same form files


def test_given_missing_description_when_filing_then_persian_validation_error(client: TestClient) -> None:
    login(client)
    response = client.post("/api/tickets", json={**a_category(client), "description": "   "})
    assert response.status_code == 422
    assert response.json()["error_id"] == "invalid-data"
    assert response.json()["message"] == "شرح درخواست را بنویسید."


def test_given_malformed_body_when_filing_then_persian_message_not_a_stack_trace(client: TestClient) -> None:
    login(client)
    response = client.post("/api/tickets", json={"category_id": "abc"})
    assert response.status_code == 422
    assert response.json()["message"] == "اطلاعات ارسال‌شده کامل یا درست نیست."


def test_given_filed_ticket_when_looked_up_by_code_with_persian_digits_then_found(client: TestClient) -> None:
    login(client)
    filed = client.post("/api/tickets", json={**a_category(client), "description": "لامپ سوخته"}).json()
    persian = filed["tracking_code"].translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    found = client.get(f"/api/tickets/{persian}")
    assert found.status_code == 200 and found.json()["id"] == filed["id"]
    wrong_check = filed["tracking_code"][:-1] + str((int(filed["tracking_code"][-1]) + 1) % 10)
    refused = client.get(f"/api/tickets/{wrong_check}")
    assert refused.status_code == 422 and refused.json()["error_id"] == "invalid-tracking-code"


def test_ticket_responses_never_contain_staff_secrets(client: TestClient) -> None:
    login(client)
    me = client.get("/api/me").json()
    assert "password_hash" not in me["user"] and "sip_md5_cred" not in me["user"]
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        assert session.exec(select(Category)).first() is not None


def test_given_a_logged_in_operator_when_a_post_comes_without_the_csrf_token_then_it_is_refused(
    client: TestClient,
) -> None:
    login(client)
    body = {**a_category(client), "description": "لامپ سوخته"}
    del client.headers["X-CSRF-Token"]  # what a cross-site form or script would send: the cookie, no token
    refused = client.post("/api/tickets", json=body)
    forged = client.post("/api/tickets", json=body, headers={"X-CSRF-Token": "guessed"})
    logout = client.post("/logout", data={"csrf_token": "guessed"}, follow_redirects=False)

    assert refused.status_code == forged.status_code == logout.status_code == 403
    assert refused.json()["error_id"] == "csrf-failed" and "صفحه را دوباره بارگذاری کنید" in refused.json()["message"]
    assert client.get("/api/me").status_code == 200  # still logged in: the forged logout did nothing


def test_given_a_login_form_without_its_token_when_posted_then_refused_before_the_password_is_checked(
    client: TestClient,
) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": OPERATOR_1.username, "password": OPERATOR_1.password},
                           follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/api/me").status_code == 401


def test_given_five_wrong_passwords_when_the_right_one_follows_then_the_account_stays_locked_for_a_while(
    client: TestClient, database_url: str
) -> None:
    for _ in range(4):
        assert log_in_sync(client, OPERATOR_1.username, "wrong").status_code == 401
    fifth = log_in_sync(client, OPERATOR_1.username, "wrong")
    right = log_in_sync(client, OPERATOR_1.username, OPERATOR_1.password)

    assert fifth.status_code == 401
    assert right.status_code == 429 and "تلاش‌های ناموفق" in right.text
    assert client.get("/api/me").status_code == 401
    engine = make_engine(database_url)
    with Session(engine) as session:  # the lockout is over (of the name, and of the name from this address)
        locks = session.exec(select(LoginThrottle).where(col(LoginThrottle.locked_until).is_not(None))).all()
        assert {lock.scope for lock in locks} == {"name", "pair"}
        for lock in locks:
            lock.locked_until = datetime.now(UTC) - timedelta(seconds=1)
            session.add(lock)
        session.commit()
    engine.dispose()
    login(client)
    assert client.get("/api/me").status_code == 200


def test_given_open_tickets_when_filing_a_similar_one_then_the_same_caller_and_the_same_problem_nearby_are_shown(
    client: TestClient,
) -> None:
    login(client)
    category = a_category(client)
    def file(address: str, caller: str) -> str:
        body = {**category, "address": address, "description": "چراغ خاموش", "caller_number": caller}
        response = client.post("/api/tickets", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["tracking_code"])

    nearby = file("خیابان پیغمبریه، کوچه ۱۲", "09120000001")
    elsewhere = file("خیابان نادری، کوچه ۷", "09120000002")
    same_caller = file("بلوار جانبازان", "09120000003")

    found = client.get("/api/duplicates", params={"category_id": category["category_id"],
                                                  "address": "خ پیغمبریه کوچه 12 پلاک 5",
                                                  "caller_number": "+989120000003"}).json()
    assert {t["tracking_code"] for t in found} == {nearby, same_caller}
    assert elsewhere not in {t["tracking_code"] for t in found}
    nothing = client.get("/api/duplicates", params={"category_id": category["category_id"], "address": "میدان آزادی"})
    assert nothing.json() == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_given_https_when_the_login_page_is_served_then_the_csrf_cookie_is_secure_and_plain_http_not(
    database_url: str,
) -> None:
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url)
    app = create_app(settings, telephony=False)
    secure_site, plain_site = TestClient(app, base_url="https://pasokh.example"), TestClient(app, base_url="http://x")
    with secure_site as secure, plain_site as plain:
        assert "; Secure" in secure.get("/login").headers["set-cookie"].split("pasokh_csrf=")[1]
        assert "Secure" not in plain.get("/login").headers["set-cookie"].split("pasokh_csrf=")[1]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_given_production_when_asking_for_the_api_explorer_then_it_is_not_published(database_url: str) -> None:
    production = load_settings(environ={}, environment="production", database_url=database_url,
                               secret_key="a-real-secret-for-the-test", ami_secret="a-real-ami-secret",
                               complaint_identity_keys="fdp3Xw3o0h9bKk3ZlG8uS1Yk7w9JrQm2cV4nL6tP8aE=")
    with TestClient(create_app(production, telephony=False), base_url="http://127.0.0.1") as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 404
