"""The mayor's reports: the units' evaluation scorecard (کارنامه ارزیابی) for a Jalali month: page, JSON, XLSX, PDF."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import jdatetime
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from agent_console.deps import ReportReader, SessionDep
from agent_console.static_assets import install_page_globals
from callcenter.reports.scorecard import (
    TEHRAN,
    Scorecard,
    ScorecardTrend,
    compute_scorecard,
    compute_trend,
    jalali_month_window,
)
from callcenter.reports.scorecard_export import export_filename, scorecard_pdf, scorecard_title, scorecard_xlsx

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
install_page_globals(TEMPLATES.env)

router = APIRouter()


@router.get("/scorecard", response_class=HTMLResponse, include_in_schema=False)
def scorecard_page(request: Request, user: ReportReader) -> Response:
    return TEMPLATES.TemplateResponse(request, "scorecard.html", {"user": user})


def this_jalali_month(now: datetime) -> tuple[int, int]:
    today = jdatetime.date.fromgregorian(date=now.astimezone(TEHRAN).date())
    return today.year, today.month


Year = Annotated[int | None, Query(ge=1390, le=1500)]
Month = Annotated[int | None, Query(ge=1, le=12)]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(media_type: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": "The file, as an attachment", "content": {media_type: {}}}}


def chosen_month(year: int | None, month: int | None, now: datetime) -> tuple[int, int]:
    """The Jalali month asked for; what is not given is the current month's."""
    current_year, current_month = this_jalali_month(now)
    return year or current_year, month or current_month


def month_scorecard(session: SessionDep, year: int | None, month: int | None) -> tuple[int, int, Scorecard]:
    """The chosen Jalali month (default: the current one) and its scorecard with figures as of now."""
    now = datetime.now(UTC)
    year, month = chosen_month(year, month, now)
    start, end = jalali_month_window(year, month)
    return year, month, compute_scorecard(session, start=start, end=end, now=now)


def month_trend(session: SessionDep, card: Scorecard, year: int, month: int) -> ScorecardTrend:
    """The trend ending with the card's month, with figures as of the same moment as the card."""
    return compute_trend(session, year=year, month=month, now=card.generated_at)


@router.get("/api/scorecard")
def scorecard(_user: ReportReader, session: SessionDep, year: Year = None, month: Month = None) -> Scorecard:
    """The units ranked for a Jalali month (default: the current one, figures as of now)."""
    return month_scorecard(session, year, month)[2]


@router.get("/api/scorecard/trend")
def scorecard_trend(_user: ReportReader, session: SessionDep, year: Year = None, month: Month = None) -> ScorecardTrend:
    """Each unit's score and key rates over the chosen Jalali month and the five before it (figures as of now)."""
    now = datetime.now(UTC)
    year, month = chosen_month(year, month, now)
    return compute_trend(session, year=year, month=month, now=now)


def attachment(content: bytes, media_type: str, filename: str) -> Response:
    disposition = f'attachment; filename="{filename}"'  # ASCII names need no RFC 5987 encoding
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


@router.get("/api/scorecard.xlsx", response_class=Response, responses=_download(XLSX_TYPE))
def scorecard_workbook(_user: ReportReader, session: SessionDep, year: Year = None, month: Month = None) -> Response:
    """The month's scorecard as an RTL Excel sheet with every figure and a chart of the scores, and a second sheet
    with the six months' trend and its line chart."""
    year, month, card = month_scorecard(session, year, month)
    content = scorecard_xlsx(card, title=scorecard_title(year, month), trend=month_trend(session, card, year, month))
    return attachment(content, XLSX_TYPE, export_filename(year, month, "xlsx"))


@router.get("/api/scorecard.pdf", response_class=Response, responses=_download("application/pdf"))
def scorecard_document(_user: ReportReader, session: SessionDep, year: Year = None, month: Month = None) -> Response:
    """The month's scorecard as a Persian A4 PDF: the page's columns and a chart of the scores, then the six months'
    trend as a line chart."""
    year, month, card = month_scorecard(session, year, month)
    content = scorecard_pdf(card, title=scorecard_title(year, month), trend=month_trend(session, card, year, month))
    return attachment(content, "application/pdf", export_filename(year, month, "pdf"))
