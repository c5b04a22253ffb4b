"""The citizens' public site's home page (/citizen/): what the site is for, its three forms and the phone lines."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from agent_console.templating import TEMPLATES
from callcenter.platform.lines import LINE_137, LINE_1888, LINES, PublicLine

router = APIRouter()

# What each line is for, as the home page tells a citizen choosing between them.
LINE_PURPOSES = {
    LINE_137.number: "گزارش مشکلات خدمات شهری: پسماند، روشنایی، معابر، فضای سبز و مانند آن",
    LINE_1888.number: "انتقاد، پیشنهاد یا قدردانی از کارکنان و واحدهای شهرداری",
}


def phone_lines() -> list[tuple[PublicLine, str]]:
    return [(line, LINE_PURPOSES.get(line.number, line.title)) for line in LINES]


@router.get("/citizen/", response_class=HTMLResponse, include_in_schema=False)
def citizen_home(request: Request) -> Response:
    """No login: anyone may read it. The staff's own home (/) is unchanged."""
    return TEMPLATES.TemplateResponse(request, "public/home.html", {"lines": phone_lines()})
