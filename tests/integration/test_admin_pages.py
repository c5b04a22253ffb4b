"""The admin page over HTTP, without Asterisk running: accounts are saved and pjsip.conf is rendered all the same,
the page says when the phone will work; units, categories and (de)activation round-trip through the forms."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from agent_console.routes.admin import PHONE_PENDING, UNIT_PROMPT_PENDING
from asterisk_config.render import render_config
from callcenter.bootstrap.app import create_app
from callcenter.platform.security import hash_password, sip_md5_cred
from callcenter.platform.settings import Settings, load_settings
from callcenter.telephony.asterisk_sandbox import AsteriskRuntime, runtime_for
from db.engine import make_engine
from db.models import Category, Role, Unit, User
from db.seed import seed_reference_data
from ivr.prompts import unit_prompt_key
from tests.conftest import require
from tests.support.backend import TEST_SECRETS
from tests.support.console import log_in_sync

ADMIN, ADMIN_PASSWORD = "site.admin", "admin-test-password"


@dataclass
class AdminSite:
    client: TestClient
    settings: Settings
    runtime: AsteriskRuntime
    database_url: str

    @property
    def pjsip_conf(self) -> str:
        return self.runtime.host_path(self.runtime.instance_dir / "etc" / "pjsip.conf").read_text()

    @property
    def sounds(self) -> Path:
        return self.runtime.host_path(self.runtime.sounds_dir / "fa")

    def user(self, username: str) -> User:
        engine = make_engine(self.database_url)
        try:
            with Session(engine) as session:
                return session.exec(select(User).where(User.username == username)).one()
        finally:
            engine.dispose()

    def add_operator(self, username: str, **fields: str) -> str:
        form = {"username": username, "full_name": "مریم کریمی", "role": "operator", "password": "operator-pass"}
        form.update(fields)
        return self.client.post("/admin/staff", data=form).text


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[AdminSite]:
    """An instance whose config was provisioned (with no phones) but whose Asterisk is not running."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        seed_reference_data(session)
        session.add(User(username=ADMIN, full_name="مدیر آزمایشی", role=Role.ADMIN,
                         password_hash=hash_password(ADMIN_PASSWORD)))
        session.commit()
    engine.dispose()
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                             state_dir=tmp_path / "state", asterisk_cache_dir=tmp_path / "cache",
                             asterisk_instance="admin-pages")
    runtime = runtime_for(settings)
    render_config(settings=settings, runtime=runtime, phones=[])
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as client:
        assert log_in_sync(client, ADMIN, ADMIN_PASSWORD).status_code == 303
        yield AdminSite(client=client, settings=settings, runtime=runtime, database_url=database_url)


def shown(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert match, f"#{element_id} is not on the page"
    return match.group(1)


def test_given_asterisk_down_when_adding_an_operator_then_saved_rendered_and_the_page_says_when_the_phone_works(
    site: AdminSite,
) -> None:
    page = site.add_operator("maryam.karimi")

    operator = site.user("maryam.karimi")
    sip_password = shown(page, "new-sip-password")
    assert operator.extension == "1001" and len(sip_password) == 20
    assert shown(page, "new-extension") == "۱۰۰۱"
    # Stored and rendered only as md5("1001:realm:password"): the password itself is on this page alone.
    assert operator.sip_md5_cred == sip_md5_cred("1001", sip_password, site.settings.sip_realm)
    assert PHONE_PENDING in page
    assert re.search(rf"^\[1001-auth\]\n(?:.+\n)*md5_cred = {operator.sip_md5_cred}$", site.pjsip_conf, re.MULTILINE)
    assert sip_password not in site.pjsip_conf
    again = site.client.get("/admin").text
    assert "maryam.karimi" in again and sip_password not in again  # shown once


def test_given_a_taken_username_when_adding_then_the_form_comes_back_with_a_persian_error_and_no_password(
    site: AdminSite,
) -> None:
    site.add_operator("reza")
    response = site.client.post("/admin/staff", data={"username": "Reza", "full_name": "رضا دوم",
                                                      "role": "operator", "password": "secret-pass-2"})
    assert response.status_code == 409
    assert "نام کاربری «reza» از پیش وجود دارد." in response.text
    assert 'value="رضا دوم"' in response.text and "secret-pass-2" not in response.text
    assert 'id="new-account"' not in response.text


def test_given_the_admin_when_adding_a_service_desk_account_then_no_phone_and_it_logs_in_to_the_desk_form(
    site: AdminSite,
) -> None:
    page = site.add_operator("counter.sara", role="desk", full_name="سارا محمدی")

    counter = site.user("counter.sara")
    assert (counter.role, counter.extension, counter.sip_md5_cred) == (Role.DESK, None, None)
    assert 'id="no-phone"' in page and 'id="new-sip-password"' not in page and PHONE_PENDING not in page
    assert "counter.sara" not in site.pjsip_conf
    row = re.search(r'<tr data-username="counter.sara">(.+?)</tr>', site.client.get("/admin").text, re.DOTALL)
    assert row is not None and "میز خدمت حضوری" in row.group(1)
    site.client.cookies.clear()
    assert log_in_sync(site.client, "counter.sara", "operator-pass").headers["location"] == "/desk"
    assert site.client.get("/desk").status_code == 200


def test_given_a_desk_account_with_an_extension_typed_when_adding_then_refused_in_persian(site: AdminSite) -> None:
    page = site.add_operator("counter.phone", role="desk", extension="1005")
    assert "فقط کارشناسان و ناظران داخلی تلفن دارند." in page
    assert "counter.phone" not in site.client.get("/admin").text.split('id="staff"')[1].split("</table>")[0]


def test_given_a_weak_password_when_adding_then_refused_and_nothing_saved(site: AdminSite) -> None:
    response = site.client.post("/admin/staff", data={"username": "short.pass", "full_name": "کوتاه",
                                                      "role": "operator", "password": "1234"})
    assert response.status_code == 422 and "گذرواژه باید دست‌کم ۸ نویسه باشد." in response.text
    assert "1001" not in site.pjsip_conf


def test_given_an_operator_when_deactivating_and_reactivating_on_the_page_then_the_phone_leaves_and_returns(
    site: AdminSite,
) -> None:
    site.add_operator("ali.rezaei")
    operator = site.user("ali.rezaei")

    off = site.client.post(f"/admin/staff/{operator.id}/active", data={"active": "false"}, follow_redirects=False)
    assert off.status_code == 303 and off.headers["location"] == "/admin"
    assert not site.user("ali.rezaei").is_active and "[1001]" not in site.pjsip_conf
    assert "حساب «ali.rezaei» غیرفعال شد. " + PHONE_PENDING in site.client.get("/admin").text

    site.client.post(f"/admin/staff/{operator.id}/active", data={"active": "true"})
    assert site.user("ali.rezaei").is_active and "[1001]" in site.pjsip_conf


def test_given_the_admin_when_deactivating_themself_then_a_persian_refusal(site: AdminSite) -> None:
    admin = site.user(ADMIN)
    response = site.client.post(f"/admin/staff/{admin.id}/active", data={"active": "false"})
    assert response.status_code == 422 and "حساب خودتان را نمی‌توانید غیرفعال کنید." in response.text
    assert site.user(ADMIN).is_active


def test_given_rendered_prompts_when_adding_a_unit_then_listed_and_its_spoken_name_rendered(site: AdminSite) -> None:
    require(shutil.which("espeak-ng") is not None and shutil.which("sox") is not None, "espeak-ng and sox")
    site.sounds.mkdir(parents=True)
    response = site.client.post("/admin/units", data={"name": "منطقه چهار", "kind": "district", "parent_id": ""},
                                follow_redirects=False)
    assert response.status_code == 303

    page = site.client.get("/admin").text
    assert "واحد «منطقه چهار» افزوده شد." in page and UNIT_PROMPT_PENDING not in page
    assert (site.sounds / f"{unit_prompt_key('منطقه چهار')}.wav").stat().st_size > 1000


def test_given_no_prompts_folder_when_adding_a_unit_then_the_page_says_its_name_is_spoken_after_a_restart(
    site: AdminSite,
) -> None:
    page = site.client.post("/admin/units", data={"name": "منطقه پنج", "kind": "district"}).text  # redirected
    assert "واحد «منطقه پنج» افزوده شد. " + UNIT_PROMPT_PENDING in page
    assert UNIT_PROMPT_PENDING not in site.client.get("/admin").text  # a flash is shown once
    assert site.client.post("/admin/units", data={"name": "منطقه پنج", "kind": "district"}).status_code == 409


def test_given_a_unit_when_adding_a_category_with_persian_digits_then_stored_and_listed(site: AdminSite) -> None:
    engine = make_engine(site.database_url)
    with Session(engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == "منطقه دو")).one()
    engine.dispose()
    form = {"name": "گودبرداری غیرمجاز", "line": "137", "default_unit_id": str(unit.id), "sla_hours": "۴۸"}
    assert site.client.post("/admin/categories", data=form, follow_redirects=False).status_code == 303

    page = site.client.get("/admin").text
    assert "موضوع «گودبرداری غیرمجاز» افزوده شد." in page
    row = re.search(r"<tr><td>گودبرداری غیرمجاز</td>.*?</tr>", page, re.DOTALL)
    assert row and "منطقه دو" in row.group(0) and "۴۸" in row.group(0)
    engine = make_engine(site.database_url)
    with Session(engine) as session:
        assert session.exec(select(Category).where(Category.name == "گودبرداری غیرمجاز")).one().sla_hours == 48
    engine.dispose()


def test_given_a_bad_sla_when_adding_a_category_then_the_field_is_named_in_persian(site: AdminSite) -> None:
    form = {"name": "موضوع تازه", "line": "1888", "default_unit_id": "1", "sla_hours": "سه"}
    response = site.client.post("/admin/categories", data=form)
    assert response.status_code == 422 and "مهلت رسیدگی" in response.text and 'value="موضوع تازه"' in response.text


def test_given_a_unit_when_the_admin_gives_its_manager_a_mobile_in_persian_digits_then_escalations_will_text_it(
    site: AdminSite,
) -> None:
    engine = make_engine(site.database_url)
    with Session(engine) as session:
        unit_id = session.exec(select(Unit).where(Unit.name == "منطقه دو")).one().id
    url = f"/admin/units/{unit_id}/manager-phone"
    page = site.client.post(url, data={"manager_phone": "۰۹۱۲ ۳۴۵ ۶۷۸۹"}).text  # redirected with the flash
    assert "تأخیرهای «منطقه دو» به شماره ۰۹۱۲۳۴۵۶۷۸۹ پیامک می‌شود." in page
    refused = site.client.post(url, data={"manager_phone": "02833334444"})  # a landline gets no SMS
    assert refused.status_code == 422 and "باید با ۰۹ آغاز شود" in refused.text
    with Session(engine) as session:
        assert session.get(Unit, unit_id).manager_phone == "09123456789"  # type: ignore[union-attr]
    site.client.post(url, data={"manager_phone": ""})
    with Session(engine) as session:
        assert session.get(Unit, unit_id).manager_phone is None  # type: ignore[union-attr]
    engine.dispose()
