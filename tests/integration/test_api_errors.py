"""What the schema fuzzing found, pinned: malformed requests answer the documented invalid-data error, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from callcenter.security import hash_password
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
