"""The analytics page, its workbook and the root-cause page over HTTP, on the hand-counted fixture."""

from __future__ import annotations

import re
from io import BytesIO

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from callcenter.complaints.names import GROUND_NAMES
from callcenter.complaints.root_causes import tag_ids_of
from callcenter.platform.persian import persian_digits
from db.engine import unit_of_work
from db.models import Complaint, Role, RootCauseTag
from tests.support import complaint_analytics as fixture
from tests.support.complaint_analytics import DELAY, LAW, WEAK
from tests.support.console import log_in_sync
from tests.support.ticket_flow import GREENERY, LIGHTING, PASSWORD, WASTE, add_staff

PERIOD = {"from_year": 1405, "from_month": 6, "to_year": 1405, "to_month": 8}


def cells_of(html: str, table_id: str) -> list[list[str]]:
    """The text of each row's cells (th and td) of one table of the page."""
    table = re.search(rf'<table id="{table_id}".*?</table>', html, re.S)
    assert table is not None, table_id
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(0), re.S)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in rows]


@pytest.fixture
def inspector(web_client: TestClient, engine: sa.Engine) -> TestClient:
    fixture.build(engine)
    add_staff(engine, "p-inspector", Role.INSPECTOR, unit=fixture.INSPECTION)
    log_in_sync(web_client, "p-inspector", PASSWORD)
    return web_client


def test_given_the_fixture_when_an_inspector_opens_the_page_then_the_hand_counted_figures_in_persian(
    inspector: TestClient,
) -> None:
    response = inspector.get("/inspection/analytics", params=PERIOD)

    assert response.status_code == 200
    html = response.text
    assert "شهریور ۱۴۰۵ تا آبان ۱۴۰۵" in html
    assert re.search(r'id="total">[^<]*<strong class="num">۲۶</strong>', html)
    heatmap = cells_of(html, "heatmap")
    assert heatmap[0][0] == "واحد" and heatmap[0][1] == GROUND_NAMES[LAW]
    assert heatmap[1] == [WASTE, "۰", "۱", "۵", "۱", "۳", "۰", "۱", "۰", "۱۱"]
    assert heatmap[2] == [GREENERY, "۳", "۱", "۲", "۱", "۱", "۰", "۰", "۰", "۸"]
    assert heatmap[3] == [LIGHTING, "۲", "۱", "۱", "۰", "۱", "۱", "۰", "۱", "۷"]
    assert 'class="num heat-5" data-ground="delay">۵<' in html  # the period's highest cell, darkest
    assert cells_of(html, "unit-months")[1] == [WASTE, "۳", "۴", "۴", "۱۱"]
    assert cells_of(html, "ground-trend")[-1] == ["همه زمینه‌ها", "۸", "۹", "۹"]
    assert cells_of(html, "repeat-persons")[1:] == [
        [GREENERY, "۲۰۰۲", "حسن نوری", "۳"], [WASTE, "۱۰۰۱", "رضا کاظمی", "۳"], [WASTE, "—", "مینا رحیمی", "۲"]]
    timing = {row[0]: row[1:] for row in cells_of(html, "time-to-result")[1:]}
    assert timing[GROUND_NAMES[LAW]] == ["۳", "۲", "۲۰.۰", "۲۸.۰"]
    assert timing[GROUND_NAMES[DELAY]] == ["۵", "۳", "۴.۰", "۸.۸"]
    assert cells_of(html, "delays")[1] == [WASTE, "۵", "۶۷٪", "۲ / ۵۰٪", "۲ / ۱۰۰٪", "۱ / —"]
    assert cells_of(html, "root-causes")[1:] == [["کمبود نیرو", "۴"], ["روال نامشخص", "۳"], ["نظارت ضعیف", "۳"]]
    assert 'href="/inspection/analytics/clusters"' in html
    assert 'href="/inspection/analytics.xlsx?from_year=1405&amp;from_month=6&amp;to_year=1405&amp;to_month=8"' in html


def test_given_the_page_then_no_complaints_text_tracking_code_or_complainant_is_on_it(inspector: TestClient) -> None:
    html = inspector.get("/inspection/analytics", params=PERIOD).text
    assert "شرح شکایت" not in html
    assert not re.search(r"8\d{9}|۸[۰-۹]{9}", html)


def test_given_the_mayors_office_when_it_opens_the_page_then_every_desk_is_counted(
    web_client: TestClient, engine: sa.Engine,
) -> None:
    fixture.build(engine)
    add_staff(engine, "p-mayor", Role.VIEWER)
    log_in_sync(web_client, "p-mayor", PASSWORD)
    html = web_client.get("/inspection/analytics", params=PERIOD).text
    assert re.search(r'id="total">[^<]*<strong class="num">۲۷</strong>', html)
    assert fixture.INSPECTION in [row[0] for row in cells_of(html, "heatmap")]


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.UNIT_LIAISON, Role.ADMIN, Role.SUPERVISOR])
def test_given_a_role_outside_the_inspection_and_mayors_offices_then_403(
    web_client: TestClient, engine: sa.Engine, role: Role,
) -> None:
    add_staff(engine, "p-other", role, unit=WASTE if role == Role.UNIT_LIAISON else None)
    log_in_sync(web_client, "p-other", PASSWORD)
    assert web_client.get("/inspection/analytics", headers={"Accept": "text/html"}).status_code == 403
    assert web_client.get("/inspection/analytics.xlsx").status_code == 403
    assert web_client.get("/inspection/complaints/1/root-causes").status_code == 403


def test_given_a_period_ending_before_it_starts_then_a_persian_error_and_the_typed_months_kept(
    inspector: TestClient,
) -> None:
    response = inspector.get("/inspection/analytics", params={**PERIOD, "from_month": 9, "to_month": 2})
    assert response.status_code == 422
    assert "ماه آغاز باید پیش از ماه پایان" in response.text
    assert re.search(r'name="from_month">.*?<option value="9" selected>آذر', response.text, re.S)
    assert re.search(r'name="to_month">.*?<option value="2" selected>اردیبهشت', response.text, re.S)


def test_given_the_fixture_when_downloading_the_workbook_then_the_same_figures_as_numbers_on_rtl_sheets(
    inspector: TestClient,
) -> None:
    response = inspector.get("/inspection/analytics.xlsx", params=PERIOD)

    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="complaint-analytics-1405-06-1405-08.xlsx"')
    book = openpyxl.load_workbook(BytesIO(response.content))
    assert book.sheetnames == ["واحد × زمینه", "واحد × ماه", "روند ماهانه", "واحدهای تکراری", "افراد تکراری",
                               "زمان رسیدگی", "تأخیر و ۱۳۷", "ریشه‌ها", "ریشه‌ها در واحدها"]
    assert all(sheet.sheet_view.rightToLeft for sheet in book.worksheets)

    def rows(name: str) -> list[list[object]]:
        return [list(row) for row in book[name].iter_rows(min_row=3, values_only=True)]

    heat = rows("واحد × زمینه")
    assert heat[0][:2] == ["واحد", GROUND_NAMES[LAW]]
    assert heat[1:] == [[WASTE, 0, 1, 5, 1, 3, 0, 1, 0, 11], [GREENERY, 3, 1, 2, 1, 1, 0, 0, 0, 8],
                        [LIGHTING, 2, 1, 1, 0, 1, 1, 0, 1, 7]]
    assert rows("واحد × ماه")[1:] == [[WASTE, 3, 4, 4, 11], [GREENERY, 3, 2, 3, 8], [LIGHTING, 2, 3, 2, 7]]
    assert rows("روند ماهانه")[-1] == ["همه زمینه‌ها", 8, 9, 9, 26]
    assert rows("واحدهای تکراری")[1:] == [[WASTE, 11], [GREENERY, 8], [LIGHTING, 7]]
    assert rows("افراد تکراری")[1:] == [[GREENERY, "2002", "حسن نوری", 3], [WASTE, "1001", "رضا کاظمی", 3],
                                         [WASTE, None, "مینا رحیمی", 2]]
    timing = {row[0]: row[1:] for row in rows("زمان رسیدگی")[1:]}
    assert timing[GROUND_NAMES[WEAK]] == [5, 0, pytest.approx(4), pytest.approx(5.6)]
    assert timing[GROUND_NAMES[LAW]] == [3, 2, pytest.approx(20), pytest.approx(28)]
    delays = rows("تأخیر و ۱۳۷")
    assert delays[1] == [WASTE, 5, 2, 1, pytest.approx(2 / 3), 2, 0.5, 2, 1.0, 1, None]
    assert delays[2] == [GREENERY, 2, 1, 1, 0.5, 1, 0.0, 0, None, 1, 1.0]
    assert book["تأخیر و ۱۳۷"]["E4"].number_format == "0%"
    assert rows("ریشه‌ها")[1:] == [["کمبود نیرو", 4], ["روال نامشخص", 3], ["نظارت ضعیف", 3]]
    assert rows("ریشه‌ها در واحدها")[1:] == [
        [LIGHTING, "روال نامشخص", 1], [LIGHTING, "نظارت ضعیف", 1], [GREENERY, "نظارت ضعیف", 2],
        [GREENERY, "کمبود نیرو", 1], [WASTE, "کمبود نیرو", 3], [WASTE, "روال نامشخص", 2]]


def complaint_id(engine: sa.Engine, number: int) -> int:
    with unit_of_work(engine) as session:
        found = session.exec(select(Complaint).where(Complaint.tracking_code == f"8{number:09d}")).one()
        assert found.id is not None
        return found.id


def test_given_an_inspector_when_ticking_a_tag_and_adding_one_then_the_complaint_carries_exactly_those(
    inspector: TestClient, engine: sa.Engine,
) -> None:
    target = complaint_id(engine, 2)  # tagged T1 and T2
    page = inspector.get(f"/inspection/complaints/{target}/root-causes")
    assert page.status_code == 200
    assert persian_digits(f"8{2:09d}") in page.text
    with unit_of_work(engine) as session:
        ids = {tag.name: tag.id for tag in session.exec(select(RootCauseTag)).all()}
    assert re.search(rf'value="{ids["کمبود نیرو"]}" checked', page.text)
    assert not re.search(rf'value="{ids["نظارت ضعیف"]}" checked', page.text)

    response = inspector.post(f"/inspection/complaints/{target}/root-causes",
                              data={"tag": [str(ids["نظارت ضعیف"])], "new_tag": "  كمبود   بودجه "},
                              follow_redirects=False)

    assert response.status_code == 303
    assert inspector.get(response.headers["location"]).text.count("ریشه‌ها ثبت شد") == 1
    with unit_of_work(engine) as session:
        names = {tag.id: tag.name for tag in session.exec(select(RootCauseTag)).all()}
        assert {names[tag] for tag in tag_ids_of(session, target)} == {"نظارت ضعیف", "کمبود بودجه"}


def test_given_a_tag_name_too_long_then_a_persian_error_and_the_ticks_and_text_kept(
    inspector: TestClient, engine: sa.Engine,
) -> None:
    target = complaint_id(engine, 1)
    long_name = "ریشه " * 30
    response = inspector.post(f"/inspection/complaints/{target}/root-causes",
                              data={"tag": [], "new_tag": long_name}, follow_redirects=False)
    assert response.status_code == 422
    assert "حداکثر ۱۰۰ نویسه" in response.text
    assert long_name.strip() in response.text
    with unit_of_work(engine) as session:
        assert len(tag_ids_of(session, target)) == 1  # unchanged: T1


def test_given_a_complaint_on_the_mayors_desk_when_an_inspector_asks_for_its_root_causes_then_404(
    inspector: TestClient, engine: sa.Engine,
) -> None:
    about_the_office = complaint_id(engine, 28)
    assert inspector.get(f"/inspection/complaints/{about_the_office}/root-causes").status_code == 404
    assert inspector.post(f"/inspection/complaints/{about_the_office}/root-causes",
                          data={"new_tag": "نفوذ"}, follow_redirects=False).status_code == 404
    assert inspector.get("/inspection/complaints/999999/root-causes").status_code == 404
