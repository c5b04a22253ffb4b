"""The API's documented error answers: the JSON every PasokhError is rendered as, and which each route may give.

A route's errors are the ones its dependencies and its endpoint declare with :func:`raises`, plus what the
middleware and the request parsing add to every route of a kind: a CSRF refusal and a body over its limit on each
state-changing method, ``invalid-data`` on each route that reads parameters or a body, Asterisk's refusal on each
route that may find Asterisk away (docs/adr/0047), and ``database-unavailable`` on every route without a 503
of its own (each one reads the database, if only for the session: agent_console/database_outage.py,
docs/adr/0087). :func:`document_errors` adds them to the app's OpenAPI schema, so /openapi.json lists every
status a client can receive (and the tests hold the app to it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from agent_console.csrf import SAFE_METHODS
from callcenter.platform.errors import (
    AsteriskRefused,
    AsteriskUnavailable,
    CsrfFailed,
    DatabaseUnavailable,
    PasokhError,
    RequestTooLarge,
    ValidationFailed,
)

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
RAISES_ATTRIBUTE = "__pasokh_raises__"


class ErrorBody(BaseModel):
    """What the API answers for every error it raises on purpose (``PasokhError.as_dict``)."""

    error_id: str  # stable, kebab-case
    message: str  # Persian, for the person at the screen
    details: dict[str, Any]


def raises(*errors: type[PasokhError]) -> Callable[[Endpoint], Endpoint]:
    """Declare the errors an endpoint or a dependency may raise; they are documented for every route using it."""

    def declare(function: Endpoint) -> Endpoint:
        setattr(function, RAISES_ATTRIBUTE, (*getattr(function, RAISES_ATTRIBUTE, ()), *errors))
        return function

    return declare


def route_errors(route: APIRoute) -> set[type[PasokhError]]:
    """Every error ``route`` may answer with."""
    errors = {error for call in _calls(route.dependant) for error in getattr(call, RAISES_ATTRIBUTE, ())}
    if DatabaseUnavailable.status_code not in (route.responses or {}):  # /healthz answers its own 503 body
        errors.add(DatabaseUnavailable)  # agent_console/database_outage.py
    if set(route.methods or ()) - SAFE_METHODS:
        errors.update({CsrfFailed, RequestTooLarge})  # agent_console/csrf.py, agent_console/body_limit.py
    if route.dependant.path_params or route.dependant.query_params or route.dependant.body_params:
        errors.add(ValidationFailed)
    if AsteriskUnavailable in errors:  # an action Asterisk may be away for, it may also refuse
        errors.add(AsteriskRefused)
    return errors


def document_errors(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Make ``app.openapi()`` list each published route's error statuses, with the error body and the error ids.
    FastAPI's own 422 answer is replaced: our validation errors have the same shape as every other error."""
    generate = app.openapi
    routes = [route for router in routers for route in router.routes
              if isinstance(route, APIRoute) and route.include_in_schema]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _add_error_responses(generate(), routes)
        return app.openapi_schema  # type: ignore[return-value]  # set by generate()

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema


def _add_error_responses(schema: dict[str, Any], routes: list[APIRoute]) -> None:
    schema.setdefault("components", {}).setdefault("schemas", {})[ErrorBody.__name__] = ErrorBody.model_json_schema()
    body = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ErrorBody.__name__}"}}}
    for route in routes:
        by_status: dict[int, set[str]] = {}
        for error in route_errors(route):
            by_status.setdefault(error.status_code, set()).add(error.error_id)
        for method in route.methods or ():
            responses = schema["paths"][route.path_format][method.lower()]["responses"]
            for status, error_ids in sorted(by_status.items()):
                responses[str(status)] = {"description": "Error: " + ", ".join(sorted(error_ids)), "content": body}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """The endpoint and every dependency below it."""
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)
