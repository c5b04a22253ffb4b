"""Request body limits: refused by the declared length before anything reads the body, and counted as it streams."""

from __future__ import annotations

import logging
import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_console.error_pages import error_response
from callcenter.complaints.attachments import MAX_REQUEST_BYTES as COMPLAINT_FILES_BYTES
from callcenter.platform.errors import RequestTooLarge
from callcenter.platform.persian import persian_digits
from callcenter.tickets.attachments import MAX_PHOTO_BYTES
from callcenter.tickets.attachments import MAX_REQUEST_BYTES as PHOTO_FORM_BYTES

log = logging.getLogger(__name__)

# Every JSON body and form of the app is a few kilobytes (a ticket's description is at most 4000 characters).
MAX_BODY_BYTES = 64 * 1024
# The routes that need more, in one place: (method, path as the router declares it) → bytes.
ROUTE_BODY_LIMITS: dict[tuple[str, str], int] = {
    ("POST", "/api/tickets/{tracking_code}/actions"): PHOTO_FORM_BYTES,  # a report with up to five photos
    ("POST", "/citizen/report"): PHOTO_FORM_BYTES,  # a citizen's problem with up to five photos
    ("POST", "/citizen/a/{answer_id}/{sig}"): MAX_PHOTO_BYTES + MAX_BODY_BYTES,  # an online answer with a photo
    ("POST", "/complaints/case"): COMPLAINT_FILES_BYTES,  # a complainant's answer with its files
    ("POST", "/complaints/new/{draft_id}/files"): COMPLAINT_FILES_BYTES,  # a complaint's attachments step
}
_LIMITS = [(method, re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"), limit)
           for (method, path), limit in ROUTE_BODY_LIMITS.items()]


def body_limit(method: str, path: str) -> int:
    """The most bytes a request to ``path`` may carry."""
    return next((limit for route_method, pattern, limit in _LIMITS
                 if route_method == method and pattern.match(path)), MAX_BODY_BYTES)


class BodyLimitMiddleware:
    """The outermost middleware: a body declared too large is answered 413 before the app runs (so neither a
    session lookup, a CSRF check nor a route reads a byte of it); a body without a declared length (chunked)
    is counted as it arrives, and the moment it passes the limit the client gets the 413 and the app an end of
    stream (whatever the app answers after that is dropped)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["method"], scope["path"])
        declared = Headers(scope=scope).get("content-length", "")
        if declared.strip().isdigit() and int(declared) > limit:
            log.info("Refused %s %s: declared body of %s bytes, limit %d", scope["method"], scope["path"],
                     declared, limit)
            await _refuse(scope, receive, send, limit)
            return
        received = 0
        started = refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    log.info("Cut off %s %s: streamed body passed %d bytes", scope["method"], scope["path"], limit)
                    refused = True
                    if not started:
                        await _refuse(scope, receive, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is already on its way; the app's reaction to the cut body is not sent
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not refused:
                raise
            log.debug("The app gave up on a cut-off body", exc_info=True)


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    kilobytes = limit // 1024
    size = (f"{persian_digits(kilobytes // 1024)} مگابایت" if kilobytes >= 1024
            else f"{persian_digits(kilobytes)} کیلوبایت")
    error = RequestTooLarge(f"حجم اطلاعات فرستاده‌شده بیش از حد مجاز ({size}) است.", limit=limit)
    # Connection: close, since the rest of the body is never read.
    response = error_response(error, Headers(scope=scope), extra_headers={"Connection": "close"})
    await response(scope, receive, send)
