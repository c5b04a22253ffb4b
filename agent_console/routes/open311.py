"""Open311 GeoReport v2 at /open311/v2/: services, requests, tokens and discovery, each as ``.json`` or ``.xml``.

Reading needs no key (the spec) and is limited per client address; posting needs an administrator's API key and is
limited per key (decisions 60 and 61). Every answer, errors included, is in the spec's shape: these routes render
their own errors (the spec's ``code`` + ``description`` array) instead of the app's error body, and are outside
the app's OpenAPI schema (their contract is the GeoReport specification). No session, so no CSRF token: the CSRF
middleware leaves /open311/ alone (agent_console/csrf.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from agent_console.deps import EngineDep, MetricsDep, NotifierDep, SettingsDep
from agent_console.routes.auth import client_address
from callcenter.citizens.links import status_links
from callcenter.open311.catalog import discovery, service_definition, services
from callcenter.open311.keys import authenticate_key, key_rule
from callcenter.open311.rendering import CONTENT_TYPES, Format, error_code, errors_body, render
from callcenter.open311.service_requests import (
    Posted,
    find_requests,
    new_token,
    parse_query,
    post_request,
    request_by_id,
    request_by_token,
)
from callcenter.platform.errors import NotFound, PasokhError, RateLimited, ValidationFailed
from callcenter.platform.rate_limits import RateLimiter, RateRule
from callcenter.platform.settings import Settings
from db.engine import unit_of_work
from db.models import utcnow

PREFIX = "/open311/v2"
router = APIRouter(prefix=PREFIX, include_in_schema=False)
READ_SCOPE = "open311-address"
UNKNOWN_FORMAT = "قالب پاسخ جی‌سان یا اکس‌ام‌ال است؛ پسوند نشانی آن را می‌گوید."
UNKNOWN_JURISDICTION = "این سامانه به درخواست‌های این حوزه پاسخ نمی‌دهد."
# Reads are public and never depend on a cookie: a city's map page on another site may fetch them.
READ_HEADERS = {"Access-Control-Allow-Origin": "*"}


@router.get("/discovery.{fmt}")
def get_discovery(request: Request, fmt: str, engine: EngineDep, settings: SettingsDep) -> Response:
    return _read(request, fmt, "discovery", engine, settings, lambda _session: discovery(
        url=settings.public_url(PREFIX), contact=settings.public_url("/citizen/")))


@router.get("/services.{fmt}")
def get_services(request: Request, fmt: str, engine: EngineDep, settings: SettingsDep) -> Response:
    return _read(request, fmt, "services", engine, settings, services)


@router.get("/services/{service_code}.{fmt}")
def get_service_definition(
    request: Request, service_code: str, fmt: str, engine: EngineDep, settings: SettingsDep,
) -> Response:
    return _read(request, fmt, "service_definition", engine, settings,
                 lambda session: service_definition(session, service_code))


@router.get("/requests.{fmt}")
def get_requests(request: Request, fmt: str, engine: EngineDep, settings: SettingsDep) -> Response:
    return _read(request, fmt, "service_requests", engine, settings, lambda session: find_requests(
        session, parse_query(request.query_params, now=utcnow())))


@router.get("/requests/{service_request_id}.{fmt}")
def get_request(
    request: Request, service_request_id: str, fmt: str, engine: EngineDep, settings: SettingsDep,
) -> Response:
    return _read(request, fmt, "service_requests", engine, settings,
                 lambda session: [request_by_id(session, service_request_id)])


@router.get("/tokens/{token}.{fmt}")
def get_token(request: Request, token: str, fmt: str, engine: EngineDep, settings: SettingsDep) -> Response:
    return _read(request, fmt, "service_requests", engine, settings,
                 lambda session: [request_by_token(session, token)])


@router.post("/requests.{fmt}")
async def post_service_request(
    request: Request, fmt: str, engine: EngineDep, settings: SettingsDep, metrics: MetricsDep, notifier: NotifierDep,
) -> Response:
    """The spec's form-encoded POST (``api_key``, ``jurisdiction_id``, ``service_code``, ``lat``/``long`` or
    ``address_string``, ``description``, ``phone``, ``attribute[district]``…). 201 with the new request; a retry
    with the same ``Idempotency-Key`` header answers 200 with the first one."""
    form = await request.form()
    fields = {name: value for name, value in reversed(form.multi_items()) if isinstance(value, str)}
    posted = await run_in_threadpool(_post, request, fmt, fields, engine, settings)
    if isinstance(posted, Posted):
        if posted.new:  # stored (the unit of work ended) before it is counted and announced, once
            metrics.tickets_created.labels(line=posted.ticket.line).inc()
            notifier.ticket_created(posted.ticket)
        return _response([posted.answer], "service_requests", Format(fmt), status_code=201 if posted.new else 200)
    return posted


def _post(request: Request, fmt: str, fields: dict[str, str], engine: Engine, settings: Settings
          ) -> Posted | Response:
    """The post's checks and filing off the event loop; a refusal comes back as the error's answer."""
    answer_format = _format(fmt)
    if answer_format is None:
        return _error(NotFound(UNKNOWN_FORMAT, field="format"), Format.JSON)
    try:
        secret = fields.get("api_key") or request.query_params.get("api_key", "")
        if not secret:
            raise ValidationFailed("کلید دسترسی لازم است.", field="api_key")
        _check_jurisdiction(fields.get("jurisdiction_id") or request.query_params.get("jurisdiction_id"), settings)
        limiter = RateLimiter(secret=settings.secret_key)
        with unit_of_work(engine) as session:  # counted even when the post is then refused
            key = authenticate_key(session, secret)
            verdict = limiter.hit(session, key_rule(key), str(key.id), now=utcnow())
        verdict.raise_if_refused()
        assert key.id is not None
        token = new_token(key.id, request.headers.get("idempotency-key"))
        with unit_of_work(engine) as session:
            posted = post_request(session, fields, token=token, status_link=status_links(settings))
    except PasokhError as error:
        return _error(error, answer_format)
    return posted


def _read(request: Request, fmt: str, root: str, engine: Engine, settings: Settings,
          work: Callable[[Any], Any]) -> Response:
    """A GET: the format, the jurisdiction, the address's limit, then ``work`` in its own unit of work."""
    response = _read_answer(request, fmt, root, engine, settings, work)
    response.headers.update(READ_HEADERS)
    return response


def _read_answer(request: Request, fmt: str, root: str, engine: Engine, settings: Settings,
                 work: Callable[[Any], Any]) -> Response:
    answer_format = _format(fmt)
    if answer_format is None:
        return _error(NotFound(UNKNOWN_FORMAT, field="format"), Format.JSON)
    try:
        _check_jurisdiction(request.query_params.get("jurisdiction_id"), settings)
        rule = RateRule(scope=READ_SCOPE, limit=settings.open311_reads_per_minute, window=timedelta(minutes=1))
        with unit_of_work(engine) as session:
            verdict = RateLimiter(secret=settings.secret_key).hit(session, rule, client_address(request), now=utcnow())
        verdict.raise_if_refused()
        with unit_of_work(engine) as session:
            value = work(session)
    except PasokhError as error:
        return _error(error, answer_format)
    return _response(value, root, answer_format)


def _format(fmt: str) -> Format | None:
    try:
        return Format(fmt)
    except ValueError:
        return None


def _check_jurisdiction(jurisdiction_id: str | None, settings: Settings) -> None:
    """Optional (this server answers for one jurisdiction); another one is the spec's 404."""
    if jurisdiction_id and jurisdiction_id != settings.open311_jurisdiction_id:
        raise NotFound(UNKNOWN_JURISDICTION, field="jurisdiction_id")


def _response(value: Any, root: str, fmt: Format, *, status_code: int = 200) -> Response:
    return Response(render(value, root=root, fmt=fmt), status_code=status_code, media_type=CONTENT_TYPES[fmt])


def _error(error: PasokhError, fmt: Format) -> Response:
    headers = {}
    if isinstance(error, RateLimited) and error.details.get("retry_after") is not None:
        headers["Retry-After"] = str(error.details["retry_after"])
    return Response(render(errors_body(error), root="errors", fmt=fmt), status_code=error_code(error),
                    media_type=CONTENT_TYPES[fmt], headers=headers)
