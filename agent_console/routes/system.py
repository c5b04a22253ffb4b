"""For the machines watching the service: the health check and Prometheus' metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlmodel import Session

from agent_console.deps import AsteriskDep, EngineDep, FastAgiDep, MetricsDep

router = APIRouter()


@router.get("/healthz", responses={503: {"description": "A part the calls need is down (same body)"}})
def healthz(engine: EngineDep, ami: AsteriskDep, fastagi: FastAgiDep) -> JSONResponse:
    """Database, AMI, FastAGI and Asterisk's version; 503 when a part the calls need is down."""
    try:
        with Session(engine) as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        database = "ok"
    except Exception as exc:  # reported, not raised: health must answer
        database = f"error: {type(exc).__name__}"
    # A web-only worker hears about AMI from the telephony process, and FastAGI is that process's job.
    agi_ok = fastagi is None or fastagi.listening
    body = {
        "database": database,
        "ami": "connected" if ami.connected else "disconnected",
        "fastagi": "in the telephony process" if fastagi is None else "listening" if agi_ok else "down",
        "asterisk_version": ami.asterisk_version,
    }
    healthy = database == "ok" and ami.connected and agi_ok
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(registry: MetricsDep) -> Response:
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
