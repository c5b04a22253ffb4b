"""The page of similar-complaint clusters, the emerging ones first (/inspection/analytics/clusters)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from agent_console.deps import ComplaintReader, SessionDep
from agent_console.templating import TEMPLATES
from callcenter.complaints.access import INSPECTION_ROLES
from callcenter.complaints.clusters import HISTORY_WINDOWS, similar_complaint_clusters

router = APIRouter()

SNIPPET_LENGTH = 140


def snippet(text: str) -> str:
    """The start of a complaint's text, cut at a word."""
    if len(text) <= SNIPPET_LENGTH:
        return text
    return text[:SNIPPET_LENGTH].rsplit(" ", 1)[0] + "…"


@router.get("/inspection/analytics/clusters", response_class=HTMLResponse, include_in_schema=False)
def clusters_page(request: Request, user: ComplaintReader, session: SessionDep,
                  window: Annotated[int, Query(ge=7, le=60)] = 14) -> Response:
    """Clusters of the complaints the user may see; text snippets only for the inspection office's own roles (the
    mayor's office reads the figures and opens a case by its tracking code)."""
    clusters = similar_complaint_clusters(session, user, now=datetime.now(UTC), window_days=window)
    return TEMPLATES.TemplateResponse(request, "inspection/clusters.html", {
        "user": user, "clusters": clusters, "window": window, "history_windows": HISTORY_WINDOWS,
        "show_snippets": user.role in INSPECTION_ROLES, "snippet": snippet,
    })
