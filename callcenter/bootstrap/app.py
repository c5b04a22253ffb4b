"""The app factory: FastAPI with the console routes, the websocket hub and the telephony services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent_console.api_errors import document_errors
from agent_console.body_limit import BodyLimitMiddleware
from agent_console.csrf import CsrfMiddleware
from agent_console.database_outage import DatabaseOutageMiddleware
from agent_console.error_pages import error_response
from agent_console.map_tiles import tiles_origin
from agent_console.routes import ROUTERS
from agent_console.security_headers import SecurityHeadersMiddleware
from agent_console.session_cookie import SessionCookieMiddleware
from agent_console.static_assets import ASSETS, HashedStaticFiles
from callcenter.bootstrap.services import Services, build_services
from callcenter.platform.errors import (
    ConfigurationError,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PasokhError,
    ValidationFailed,
)
from callcenter.platform.privacy import hide_citizens_in_access_log
from callcenter.platform.settings import Settings, load_settings, refuse_built_in_secrets

# How uvicorn speaks websocket to the consoles, wherever the app is served (the CLI, the tests, the bench): no
# per-message deflate, whose zlib state per connection (~300 KB) and compression of every console's copy of every
# event cost more than the few hundred bytes of JSON they save (ADR 0088).
WEBSOCKET_SERVER_OPTIONS: dict[str, Any] = {"ws": "websockets-sansio", "ws_per_message_deflate": False}


def web_worker_app() -> FastAPI:
    """For ``uvicorn --factory --workers N``: one web-only worker, configured from the environment (the
    telephony process, started beside them by ``python -m callcenter serve``, owns FastAGI and AMI)."""
    return create_app(load_settings(role="web"))


def create_app(settings: Settings, *, services: Services | None = None, telephony: bool = True) -> FastAPI:
    """``telephony=False`` serves the web only (no FastAGI listener, no AMI), for web-only tests."""
    refuse_built_in_secrets(settings)
    hide_citizens_in_access_log()
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
    app.state.services = services  # the lifespan's; routes read only what the web container holds
    app.state.web = services.web
    app.add_middleware(CsrfMiddleware)  # added first, so it runs inside the session middleware
    app.add_middleware(SessionCookieMiddleware, store=services.web.sessions, secret_key=settings.secret_key,
                       always_secure=settings.production_like)
    app.add_middleware(BodyLimitMiddleware)  # an oversized body is refused before anything runs
    # Around every part that reads the database, sessions included; inside the headers, so a 503 carries them.
    app.add_middleware(DatabaseOutageMiddleware)
    # Outermost: every answer carries them, the 413s too; the public site's map may show the tile server's images.
    app.add_middleware(SecurityHeadersMiddleware, tiles_origin=map_tiles_origin(settings))
    for feature_router in ROUTERS:
        app.include_router(feature_router)
    document_errors(app, ROUTERS)
    app.mount("/static", HashedStaticFiles(ASSETS), name="static")

    _answer_errors_as_pasokh_errors(app)
    return app


def map_tiles_origin(settings: Settings) -> str | None:
    """The tile server's origin for the public site's policy; a tile URL naming none is refused at startup rather
    than left to show a map whose tiles the policy blocks."""
    origin = tiles_origin(settings.map_tiles_url)
    if settings.map_tiles_url and origin is None:
        raise ConfigurationError("PASOKH_MAP_TILES_URL must be an http(s) URL template of a host, such as "
                                 "https://tiles.example/{z}/{x}/{y}.png or https://{s}.tiles.example/{z}/{x}/{y}.png")
    return origin


def _answer_errors_as_pasokh_errors(app: FastAPI) -> None:
    """Every answer that is an error is a PasokhError, as a Persian page or JSON (agent_console/error_pages.py):
    the request parser's, the router's (no such path, wrong method) and a bug's too."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        error = ValidationFailed(errors=jsonable_encoder(_without_input(exc.errors())))
        return error_response(error, request.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """FastAPI answers a body it cannot parse (not JSON, not UTF-8) with a bare 400: ours is invalid-data;
        the router's 404 and 405 are ours too (the 405 keeps its Allow header)."""
        if exc.status_code == 400:
            error: PasokhError = ValidationFailed(errors=[{"loc": ["body"], "msg": str(exc.detail)}])
        elif exc.status_code == 404:
            error = NotFound()
        elif exc.status_code == 405:
            error = MethodNotAllowed()
        else:  # no route raises another; FastAPI's own answer rather than a wrong status
            return await http_exception_handler(request, exc)
        return error_response(error, request.headers, extra_headers=exc.headers)

    @app.exception_handler(PasokhError)
    async def pasokh_error(request: Request, exc: PasokhError) -> Response:
        return error_response(exc, request.headers)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        """Starlette logs the traceback and re-raises after this answer; the client sees no English."""
        return error_response(InternalError(), request.headers)


def _without_input(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Validation errors without the input they refused: it may be a citizen's words, or bytes that are not text
    (which the JSON answer could not carry)."""
    return [{key: value for key, value in error.items() if key not in ("input", "ctx")} for error in errors]
