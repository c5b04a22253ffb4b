"""The scorecard downloads over HTTP: a report reader gets the month's XLSX and PDF as attachments, an operator not."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from io import BytesIO

import openpyxl
import pypdfium2 as pdfium
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from callcenter.platform.calendar import this_jalali_month
from db.models import Role, TicketSource
from tests.support.channels import filed_through
from tests.support.console import log_in_sync
from tests.support.ticket_flow import PASSWORD, WASTE, add_staff, referred_ticket


def test_given_a_referred_ticket_when_the_mayor_downloads_the_xlsx_then_an_attachment_with_the_unit(
    web_client: TestClient, engine: sa.Engine,
) -> None:
    operator = add_staff(engine, "x-operator", Role.OPERATOR)
    referred_ticket(engine, by=operator, unit=WASTE)
    filed_through(engine, TicketSource.WEB)
    add_staff(engine, "x-mayor", Role.VIEWER)
    log_in_sync(web_client, "x-mayor", PASSWORD)
    year, month = this_jalali_month(datetime.now(UTC))

    response = web_client.get("/api/scorecard.xlsx", params={"year": year, "month": month})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["content-disposition"] == f'attachment; filename="scorecard-{year}-{month:02d}.xlsx"'
    book = openpyxl.load_workbook(BytesIO(response.content))
    sheet = book.active
    assert sheet is not None and sheet.sheet_view.rightToLeft
    assert (sheet["A4"].value, sheet["B4"].value, sheet["D4"].value) == (1, WASTE, 2)
    # Received per channel, after the receipts: the operator's (the phone) and the citizen's online.
    assert [sheet.cell(3, column).value for column in range(5, 7)] == ["دریافتی از تلفن", "دریافتی از سامانه اینترنتی"]
    assert [sheet.cell(4, column).value for column in range(5, 9)] == [1, 1, 0, 0]
    # The trend sheet ends with this month, the last of six: no score yet (nothing judged), two receipts.
    trend = book["روند"]
    assert (trend["A5"].value, trend["G5"].value) == (WASTE, None)
    assert (trend["A19"].value, trend["A21"].value, trend["G21"].value) == ("دریافتی", WASTE, 2)
    assert len(trend._charts) == 1


def test_given_an_inspector_when_downloading_the_pdf_of_a_past_month_then_its_page_and_the_trend_page(
    web_client: TestClient, engine: sa.Engine,
) -> None:
    add_staff(engine, "x-inspector", Role.INSPECTOR)
    log_in_sync(web_client, "x-inspector", PASSWORD)

    response = web_client.get("/api/scorecard.pdf", params={"year": 1404, "month": 9})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="scorecard-1404-09.pdf"'
    document = pdfium.PdfDocument(response.content)
    try:
        assert len(document) == 2  # the month (no units), then its trend (none either)
        text = document[0].get_textpage().get_text_range()
        trend_text = document[1].get_textpage().get_text_range()
    finally:
        document.close()
    # Shaped Persian is extracted in visual-order fragments, so the letters of the month are checked, not the word.
    assert Counter("آذر۱۴۰۴") <= Counter(text)
    assert Counter("روندخرداد۱۴۰۴آذر۱۴۰۴") <= Counter(trend_text)  # six months: Khordad to Azar


@pytest.mark.parametrize("path", ["/api/scorecard.xlsx", "/api/scorecard.pdf"])
def test_given_an_operator_when_downloading_the_scorecard_then_refused(
    web_client: TestClient, engine: sa.Engine, path: str,
) -> None:
    add_staff(engine, "x-op", Role.OPERATOR)
    log_in_sync(web_client, "x-op", PASSWORD)
    assert web_client.get(path).status_code == 403
