"""The app factory: FastAPI with the console routes, the websocket hub and the telephony services."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent_console.admin import router as admin_router
from agent_console.api_errors import document_errors
from agent_console.body_limit import BodyLimitMiddleware
from agent_console.csrf import CsrfMiddleware
from agent_console.hub import WebsocketHub
from agent_console.reports import router as reports_router
from agent_console.routes import router
from agent_console.security_headers import SecurityHeadersMiddleware
from agent_console.session_cookie import SessionCookieMiddleware
from agent_console.static_assets import ASSETS, HashedStaticFiles
from agent_console.ticket_flow import router as ticket_flow_router
from agent_console.verifications import router as verifications_router
from agent_console.wallboard import router as wallboard_router
from callcenter.bootstrap.services import Services, build_services
from callcenter.platform.errors import NotAuthenticated, PasokhError, ValidationFailed
from callcenter.platform.settings import Settings, load_settings, refuse_built_in_secrets

# Every router of the app, in one place (the route × role test walks these).
ROUTERS = (router, admin_router, wallboard_router, ticket_flow_router, reports_router, verifications_router)


def web_worker_app() -> FastAPI:
    """For ``uvicorn --factory --workers N``: one web-only worker, configured from the environment (the
    telephony process, started beside them by ``python -m callcenter serve``, owns FastAGI and AMI)."""
    return create_app(load_settings(role="web"))


def create_app(settings: Settings, *, services: Services | None = None, telephony: bool = True) -> FastAPI:
    """``telephony=False`` serves the web only (no FastAGI listener, no AMI), for web-only tests."""
    refuse_built_in_secrets(settings)
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await services.start(telephony=telephony)
        try:
            yield
        finally:
            await services.stop()

    # The API explorer lists every route and schema: handy in development, not something to publish.
    explorer = not settings.production_like
    app = FastAPI(title="Pasokh", lifespan=lifespan, docs_url="/docs" if explorer else None, redoc_url=None,
                  openapi_url="/openapi.json" if explorer else None)
    app.state.services = services
    app.state.hub = WebsocketHub(bus=services.bus, metrics=services.metrics)
    app.add_middleware(CsrfMiddleware)  # added first, so it runs inside the session middleware
    app.add_middleware(SessionCookieMiddleware, store=services.sessions, secret_key=settings.secret_key,
                       always_secure=settings.production_like)
    app.add_middleware(BodyLimitMiddleware)  # an oversized body is refused before anything runs
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: every answer carries them, the 413s too
    for feature_router in ROUTERS:
        app.include_router(feature_router)
    document_errors(app, ROUTERS)
    app.mount("/static", HashedStaticFiles(ASSETS), name="static")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> Response:
        error = ValidationFailed(INVALID_REQUEST, errors=jsonable_encoder(_without_input(exc.errors())))
        return JSONResponse(error.as_dict(), status_code=error.status_code)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """FastAPI answers a body it cannot parse (not JSON, not UTF-8) with a bare 400: ours is invalid-data."""
        if exc.status_code == 400:
            error = ValidationFailed(INVALID_REQUEST, errors=[{"loc": ["body"], "msg": str(exc.detail)}])
            return JSONResponse(error.as_dict(), status_code=error.status_code)
        return await http_exception_handler(request, exc)

    @app.exception_handler(PasokhError)
    async def pasokh_error(request: Request, exc: PasokhError) -> Response:
        wants_page = "text/html" in request.headers.get("accept", "")
        if isinstance(exc, NotAuthenticated) and wants_page:
            return RedirectResponse("/login", status_code=303)
        if wants_page:
            return HTMLResponse(_error_page(exc.message), status_code=exc.status_code)
        return JSONResponse(exc.as_dict(), status_code=exc.status_code)

    return app


INVALID_REQUEST = "اطلاعات ارسال‌شده کامل یا درست نیست."


def _without_input(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Validation errors without the input they refused: it may be a citizen's words, or bytes that are not text
    (which the JSON answer could not carry)."""
    return [{key: value for key, value in error.items() if key not in ("input", "ctx")} for error in errors]


def _error_page(message: str) -> str:
    """A plain Persian page for a browser that asked for a page it may not see."""
    return (
        '<!doctype html><html lang="fa" dir="rtl"><head><meta charset="utf-8"><title>پاسخ</title>'
        '<link rel="stylesheet" href="/static/console.css"></head><body><main><section class="card login">'
        f'<p class="error" role="alert">{html.escape(message)}</p><p><a href="/login">ورود با حساب دیگر</a></p>'
        "</section></main></body></html>"
    )
