"""The inspection office's analytics page and its XLSX, and the small page where inspectors tag a complaint's root
causes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from agent_console.api_errors import raises
from agent_console.deps import ComplaintReader, InspectionStaff, SessionDep
from agent_console.routes.reports import XLSX_TYPE, attachment
from agent_console.templating import TEMPLATES
from callcenter.complaints import access, root_causes
from callcenter.complaints.analytics import ComplaintAnalytics, compute_analytics, period_months
from callcenter.complaints.analytics_export import analytics_title, analytics_xlsx, export_filename, period_label
from callcenter.complaints.names import GROUND_NAMES
from callcenter.platform.calendar import JALALI_MONTHS, jalali_month_label, previous_jalali_months, this_jalali_month
from callcenter.platform.errors import NotFound, ValidationFailed
from db.models import Complaint, RowId, Unit, User

router = APIRouter()

Year = Annotated[int | None, Query(ge=1390, le=1500)]
Month = Annotated[int | None, Query(ge=1, le=12)]
DEFAULT_MONTHS = 6
HEAT_LEVELS = 5  # shades of the heatmap (analytics.css .heat-1 … .heat-5); 0 stays blank


def chosen_period(from_year: int | None, from_month: int | None, to_year: int | None, to_month: int | None,
                  now: datetime) -> tuple[tuple[int, int], tuple[int, int]]:
    """The Jalali months asked for; what is not given: the six months ending with this one."""
    this_year, this_month = this_jalali_month(now)
    last = (to_year or this_year, to_month or this_month)
    default_first = previous_jalali_months(last[0], last[1], DEFAULT_MONTHS)[0]
    return (from_year or default_first[0], from_month or default_first[1]), last


def heat_level(count: int, highest: int) -> int:
    """0 for no complaints, else 1..HEAT_LEVELS in proportion to the period's highest cell."""
    if count <= 0 or highest <= 0:
        return 0
    return max(1, -(-count * HEAT_LEVELS // highest))


def chart_data(figures: ComplaintAnalytics) -> dict[str, Any]:
    """What complaint_analytics.js draws: Persian labels from the server, numbers as numbers."""
    return {
        "months": [jalali_month_label(m.year, m.month) for m in figures.months],
        "month_totals": figures.month_totals,
        "grounds": [{"name": GROUND_NAMES[g], "counts": figures.ground_trend[g]} for g in figures.grounds],
        "delays": [{"unit": d.unit_name, "complaints": d.delay_complaints,
                    "on_time_rate": None if d.on_time_rate is None else round(d.on_time_rate * 100)}
                   for d in figures.delays],
    }


@router.get("/inspection/analytics", response_class=HTMLResponse, include_in_schema=False)
def analytics_page(request: Request, user: ComplaintReader, session: SessionDep, from_year: Year = None,
                   from_month: Month = None, to_year: Year = None, to_month: Month = None) -> Response:
    now = datetime.now(UTC)
    first, last = chosen_period(from_year, from_month, to_year, to_month, now)
    context: dict[str, Any] = {"user": user, "first": first, "last": last, "month_names": JALALI_MONTHS,
                               "ground_names": GROUND_NAMES, "figures": None, "error": None}
    try:
        months = period_months(first, last)
    except ValidationFailed as error:
        context["error"] = error.message
        return TEMPLATES.TemplateResponse(request, "inspection/analytics.html", context, status_code=422)
    figures = compute_analytics(session, user, months=months, now=now)
    highest = max((count for unit in figures.units for count in unit.by_ground.values()), default=0)
    context.update(figures=figures, title=analytics_title(figures), period=period_label(figures.months),
                   heat=lambda count: heat_level(count, highest), chart=chart_data(figures),
                   query=f"from_year={first[0]}&from_month={first[1]}&to_year={last[0]}&to_month={last[1]}")
    return TEMPLATES.TemplateResponse(request, "inspection/analytics.html", context)


@router.get("/inspection/analytics.xlsx", response_class=Response,
            responses={200: {"description": "The workbook", "content": {XLSX_TYPE: {}}}})
@raises(ValidationFailed)
def analytics_workbook(user: ComplaintReader, session: SessionDep, from_year: Year = None, from_month: Month = None,
                       to_year: Year = None, to_month: Month = None) -> Response:
    """The analytics page's figures as an RTL workbook, one sheet per figure."""
    now = datetime.now(UTC)
    first, last = chosen_period(from_year, from_month, to_year, to_month, now)
    figures = compute_analytics(session, user, months=period_months(first, last), now=now)
    return attachment(analytics_xlsx(figures), XLSX_TYPE, export_filename(figures))


@raises(NotFound)
def _complaint_for(session: SessionDep, user: User, complaint_id: int) -> Complaint:
    """The complaint if ``user`` may see it; otherwise it does not exist for them (404, never 403)."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or not access.can_see(session, user, complaint):
        raise NotFound("این شکایت پیدا نشد.")
    return complaint


def _root_causes_page(request: Request, session: SessionDep, user: User, complaint: Complaint, *,
                      ticked: set[int], new_tag: str = "", error: str | None = None, saved: bool = False,
                      status_code: int = 200) -> Response:
    unit = session.get(Unit, complaint.target_unit_id)
    return TEMPLATES.TemplateResponse(request, "inspection/root_causes.html", {
        "user": user, "complaint": complaint, "unit_name": unit.name if unit else "",
        "ground_name": GROUND_NAMES[complaint.ground], "tags": root_causes.all_tags(session), "ticked": ticked,
        "new_tag": new_tag, "error": error, "saved": saved,
    }, status_code=status_code)


@router.get("/inspection/complaints/{complaint_id}/root-causes", response_class=HTMLResponse,
            include_in_schema=False)
def root_causes_page(request: Request, complaint_id: RowId, user: InspectionStaff, session: SessionDep,
                     saved: bool = False) -> Response:
    complaint = _complaint_for(session, user, complaint_id)
    return _root_causes_page(request, session, user, complaint,
                             ticked=root_causes.tag_ids_of(session, complaint_id), saved=saved)


@router.post("/inspection/complaints/{complaint_id}/root-causes", response_class=HTMLResponse,
             include_in_schema=False)
def set_root_causes(request: Request, complaint_id: RowId, user: InspectionStaff, session: SessionDep,
                    tag: Annotated[list[int] | None, Form()] = None,
                    new_tag: Annotated[str, Form()] = "") -> Response:
    """The ticked tags become the complaint's; a new name typed is created (or picked, if it exists) and ticked."""
    complaint = _complaint_for(session, user, complaint_id)
    ticked = set(tag or [])
    try:
        if new_tag.strip():
            created = root_causes.create_tag(session, new_tag)
            assert created.id is not None  # flushed
            ticked.add(created.id)
        root_causes.set_tags(session, complaint_id, ticked)
    except ValidationFailed as error:
        session.rollback()
        return _root_causes_page(request, session, user, complaint, ticked=ticked, new_tag=new_tag,
                                 error=error.message, status_code=422)
    return RedirectResponse(f"/inspection/complaints/{complaint_id}/root-causes?saved=1", status_code=303)
