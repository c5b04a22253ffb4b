"""What the schema fuzzing found, pinned: malformed requests answer the documented invalid-data error, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from callcenter.platform.errors import AsteriskUnavailable, CsrfFailed, MethodNotAllowed, NotFound, ValidationFailed
from callcenter.platform.security import hash_password
from db.models import Role, User
from tests.support.console import log_in_sync

PASSWORD = "api-errors-password"
BEYOND_64_BITS = 2**64 + 1


@pytest.fixture
def supervisor(web_client: TestClient, engine: sa.Engine) -> Iterator[TestClient]:
    with Session(engine) as session:
        session.add(User(username="errors-supervisor", full_name="ناظر", role=Role.SUPERVISOR, extension="1950",
                         password_hash=hash_password(PASSWORD)))
        session.commit()
    assert log_in_sync(web_client, "errors-supervisor", PASSWORD).status_code == 303
    yield web_client


def _invalid_data(response: object) -> None:
    assert getattr(response, "status_code", None) == 422, getattr(response, "text", response)
    assert response.json()["error_id"] == "invalid-data"  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", [
    f"/api/calls/{BEYOND_64_BITS}/recording",
    f"/api/duplicates?call_id={BEYOND_64_BITS}",
    f"/api/referral-unit?category_id={BEYOND_64_BITS}",
    f"/api/tickets/123456784/photos/{BEYOND_64_BITS}",
])
def test_given_an_id_beyond_64_bits_when_read_then_invalid_data_not_a_server_error(
    supervisor: TestClient, path: str
) -> None:
    _invalid_data(supervisor.get(path))


@pytest.mark.parametrize(("path", "body"), [
    (f"/api/callbacks/{BEYOND_64_BITS}/close", {"status": "done"}),
    ("/api/verifications/automatic", {"task_ids": [BEYOND_64_BITS]}),
    ("/api/tickets", {"category_id": BEYOND_64_BITS, "unit_id": 1, "description": "چاله"}),
    ("/api/tickets/123456784/actions", {"action": "refer", "unit_id": BEYOND_64_BITS}),
])
def test_given_an_id_beyond_64_bits_when_posted_then_invalid_data_not_a_server_error(
    supervisor: TestClient, path: str, body: dict[str, object]
) -> None:
    _invalid_data(supervisor.post(path, json=body))


@pytest.mark.parametrize("path", ["/api/tickets", "/api/queue/join", "/api/tickets/123456784/actions"])
def test_given_a_json_body_that_is_not_utf8_when_posted_then_invalid_data_without_the_bytes_echoed(
    supervisor: TestClient, path: str
) -> None:
    response = supervisor.post(path, content=b'\x18l\xff"\xfe', headers={"Content-Type": "application/json"})
    _invalid_data(response)
    assert "input" not in response.text


def test_given_a_refused_field_when_answered_then_the_citizens_words_are_not_echoed_back(
    supervisor: TestClient,
) -> None:
    response = supervisor.post("/api/tickets", json={"category_id": "not a number", "unit_id": 1,
                                                     "description": "شماره من ۰۹۱۲۱۱۱۲۲۳۳ است"})
    _invalid_data(response)
    assert "not a number" not in response.text
    assert response.json()["details"]["errors"][0]["loc"] == ["body", "category_id"]


def test_given_an_unknown_address_or_method_when_called_then_persian_pasokh_errors_not_english(
    supervisor: TestClient,
) -> None:
    missing = supervisor.get("/api/no-such-thing", headers={"Accept": "application/json"})
    assert missing.status_code == 404
    assert missing.json() == {"error_id": "not-found", "message": NotFound.default_message, "details": {}}
    wrong = supervisor.put("/api/me", headers={"Accept": "application/json"})
    assert wrong.status_code == 405 and wrong.json()["error_id"] == "method-not-allowed"
    assert wrong.json()["message"] == MethodNotAllowed.default_message and "GET" in wrong.headers["allow"]
    page = supervisor.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert NotFound.default_message in page.text and "Not Found" not in page.text


def test_given_a_form_post_from_a_stale_page_when_refused_then_a_persian_page_and_an_api_call_gets_json(
    supervisor: TestClient,
) -> None:
    del supervisor.headers["X-CSRF-Token"]
    form = supervisor.post("/account/password", data={"csrf_token": "stale"}, headers={"Accept": "text/html"})
    assert form.status_code == 403 and "text/html" in form.headers["content-type"]
    assert CsrfFailed.default_message in form.text and 'dir="rtl"' in form.text
    api = supervisor.post("/api/tickets", json={}, headers={"Accept": "application/json"})
    assert api.status_code == 403 and api.json()["error_id"] == "csrf-failed"


def test_given_a_form_post_missing_its_fields_when_refused_then_a_persian_page_not_json(
    supervisor: TestClient,
) -> None:
    page = supervisor.post("/account/password", data={}, headers={"Accept": "text/html"})
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert ValidationFailed.default_message in page.text and "Field required" not in page.text


def test_given_asterisk_away_when_an_operator_acts_then_the_persian_unavailable_error(supervisor: TestClient) -> None:
    answer = supervisor.post("/api/queue/join", json={"queue": "line137"}, headers={"Accept": "application/json"})
    assert answer.status_code == 503, answer.text  # the web-only test app has no AMI connection
    assert answer.json() == {"error_id": "asterisk-unavailable", "message": AsteriskUnavailable.default_message,
                             "details": {"action": "QueueAdd"}}
