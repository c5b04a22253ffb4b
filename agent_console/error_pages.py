"""How an error is answered: a Persian page to a browser loading a page or posting a form, JSON to an API call.

The rule (docs/adr/0046): a request whose Accept header names ``text/html`` comes from a person's browser (a page,
a form post, a download link such as the scorecard's export); it is answered with a Persian page, or sent to the
login page when it has no session. Every other request is an API call (our scripts' fetch calls send
``Accept: application/json``; so do programs) and gets the JSON error body. The path does not decide: a download
link under /api/ is still a person at a browser.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from callcenter.platform.errors import NotAuthenticated, PasokhError, RateLimited

log = logging.getLogger(__name__)


def wants_page(headers: Headers) -> bool:
    """A browser's navigation or form post, not an API call."""
    return "text/html" in headers.get("accept", "")


def error_response(error: PasokhError, headers: Headers, *, extra_headers: Mapping[str, str] | None = None
                   ) -> Response:
    """``error`` as the asker can read it. An operator's (English) message is logged here and never sent."""
    retry_after = error.details.get("retry_after") if isinstance(error, RateLimited) else None
    if retry_after is not None:
        extra_headers = {**(extra_headers or {}), "Retry-After": str(retry_after)}
    if not error.for_staff:
        log.warning("%s answered as %s: %s", type(error).__name__, error.error_id, error.message)
    if wants_page(headers):
        if isinstance(error, NotAuthenticated):
            return RedirectResponse("/login", status_code=303, headers=extra_headers)
        return HTMLResponse(error_page(error.staff_message), status_code=error.status_code, headers=extra_headers)
    return JSONResponse(error.as_dict(), status_code=error.status_code, headers=extra_headers)


def error_page(message: str) -> str:
    """A plain Persian page for a browser whose request was refused."""
    return (
        '<!doctype html><html lang="fa" dir="rtl"><head><meta charset="utf-8"><title>پاسخ</title>'
        '<link rel="stylesheet" href="/static/console.css"></head><body><main><section class="card login">'
        f'<p class="error" role="alert">{html.escape(message)}</p><p><a href="/login">ورود با حساب دیگر</a></p>'
        "</section></main></body></html>"
    )
