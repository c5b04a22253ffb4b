"""Units per district over HTTP, on both databases: the filing form's suggestion for a category in a district, and
the administrator's page adding and removing an override (with its refusals in Persian)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from callcenter.bootstrap.app import create_app
from callcenter.platform.settings import load_settings
from db.models import Category, CategoryDistrictUnit, Role, Unit
from tests.support.backend import TEST_SECRETS
from tests.support.console import log_in_sync
from tests.support.ticket_flow import PASSWORD, add_staff

GARBAGE, WASTE = "جمع‌آوری زباله", "سازمان مدیریت پسماند"


@pytest.fixture
def client(engine: sa.Engine, database_url: str) -> Iterator[TestClient]:
    add_staff(engine, "units.operator", Role.OPERATOR)
    add_staff(engine, "units.admin", Role.ADMIN)
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url)
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as test_client:
        yield test_client


def ids(engine: sa.Engine) -> dict[str, int]:
    with Session(engine) as session:
        named = {unit.name: unit.id for unit in session.exec(select(Unit)).all()}
        named |= {category.name: category.id for category in session.exec(select(Category)).all()}
        return {name: value for name, value in named.items() if value is not None}


def as_user(client: TestClient, username: str) -> TestClient:
    client.cookies.clear()
    assert log_in_sync(client, username, PASSWORD).status_code == 303
    return client


def test_given_an_override_added_on_the_admin_page_when_the_console_asks_then_the_district_unit_is_suggested(
    client: TestClient, engine: sa.Engine,
) -> None:
    known = ids(engine)
    garbage, two, three = known[GARBAGE], known["منطقه دو"], known["منطقه سه"]
    operator = as_user(client, "units.operator")
    assert operator.get("/api/referral-unit", params={"category_id": garbage, "district_id": two}).json() == {
        "unit_id": known[WASTE], "by_district": False}

    admin = as_user(client, "units.admin")
    page = admin.get("/admin")
    assert "واحد مسئول در هر منطقه" in page.text and "آب‌گرفتگی معابر و جوی‌ها" in page.text  # the seeded ones
    token = client.cookies["pasokh_csrf"]
    added = admin.post("/admin/district-units", data={"category_id": garbage, "district_id": two, "unit_id": two,
                                                      "csrf_token": token}, follow_redirects=False)
    assert added.status_code == 303
    twice = admin.post("/admin/district-units", data={"category_id": garbage, "district_id": two, "unit_id": three,
                                                      "csrf_token": token})
    assert twice.status_code == 409 and "برای این موضوع در این منطقه از پیش واحدی تعیین شده است" in twice.text
    not_a_district = admin.post("/admin/district-units", data={
        "category_id": garbage, "district_id": known[WASTE], "unit_id": three, "csrf_token": token})
    assert not_a_district.status_code == 422 and "یک منطقه شهرداری نیست" in not_a_district.text

    operator = as_user(client, "units.operator")
    assert operator.get("/api/referral-unit", params={"category_id": garbage, "district_id": two}).json() == {
        "unit_id": two, "by_district": True}
    assert operator.get("/api/referral-unit", params={"category_id": garbage}).json()["unit_id"] == known[WASTE]

    with Session(engine) as session:
        override = session.exec(select(CategoryDistrictUnit).where(
            CategoryDistrictUnit.category_id == garbage, CategoryDistrictUnit.district_id == two)).one()
    admin = as_user(client, "units.admin")
    listed = admin.get("/admin").text
    assert re.search(rf'<tr data-override="{override.id}"><td>{GARBAGE}</td><td>منطقه دو</td><td>منطقه دو</td>', listed)
    removed = admin.post(f"/admin/district-units/{override.id}/delete",
                         data={"csrf_token": client.cookies["pasokh_csrf"]}, follow_redirects=False)
    assert removed.status_code == 303
    operator = as_user(client, "units.operator")
    assert operator.get("/api/referral-unit", params={"category_id": garbage, "district_id": two}).json() == {
        "unit_id": known[WASTE], "by_district": False}
