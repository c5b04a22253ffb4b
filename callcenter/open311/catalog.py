"""Open311 services: the 137 line's categories, each with one attribute, the municipal district."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from callcenter.platform.errors import NotFound, ValidationFailed
from db.models import Category, Line, Unit, UnitKind

DISTRICT_ATTRIBUTE = "district"
SERVICE_NOT_FOUND = "این کد خدمت در فهرست خدمات نیست."


def service_categories(session: Session) -> list[Category]:
    """The categories a city app may file under: the 137 line's (1888's feedback about staff is not a service)."""
    return list(session.exec(select(Category).where(Category.line == Line.SERVICES)
                             .order_by(col(Category.name), col(Category.id))).all())


def service_code(category: Category) -> str:
    """A category's id is its service code: stable, whatever the category is renamed to."""
    return str(category.id)


def service_category(session: Session, code: str) -> Category:
    """The category a service code names, or :class:`NotFound`."""
    category = session.get(Category, int(code)) if code.isascii() and code.isdigit() and len(code) < 18 else None
    if category is None or category.line != Line.SERVICES:
        raise NotFound(SERVICE_NOT_FOUND, field="service_code")
    return category


def services(session: Session) -> list[dict[str, Any]]:
    """GET services: one entry per category; every service has metadata (the district attribute)."""
    units = {unit.id: unit.name for unit in session.exec(select(Unit)).all()}
    return [{
        "service_code": service_code(category), "service_name": category.name, "description": category.name,
        "metadata": True, "type": "realtime", "keywords": "",
        "group": units.get(category.default_unit_id, ""),
    } for category in service_categories(session)]


def service_definition(session: Session, code: str) -> dict[str, Any]:
    """GET services/{code}: the district, a single-value list of the city's districts (optional: without it the
    category's default unit is responsible)."""
    category = service_category(session, code)
    districts = session.exec(select(Unit).where(Unit.kind == UnitKind.DISTRICT).order_by(col(Unit.id))).all()
    return {"service_code": service_code(category), "attributes": [{
        "variable": True, "code": DISTRICT_ATTRIBUTE, "datatype": "singlevaluelist", "required": False,
        "datatype_description": "شناسهٔ منطقه از فهرست مقادیر", "order": 1,
        "description": "منطقهٔ شهرداری که مشکل در آن است",
        "values": [{"key": str(district.id), "name": district.name} for district in districts],
    }]}


def district_id(raw: str) -> int | None:
    """The district attribute's value as a unit id (empty: none); whether it is a district is checked at filing."""
    raw = raw.strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) < 18):
        raise ValidationFailed("منطقه باید یکی از کلیدهای فهرست مناطق باشد.", field=f"attribute[{DISTRICT_ATTRIBUTE}]")
    return int(raw)


SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-02T00:00:00Z"  # when this endpoint's behaviour last changed (the spec's changeset)
FORMATS = ["text/xml", "application/json"]


def discovery(*, url: str, contact: str) -> dict[str, Any]:
    """The service discovery document: one production endpoint, GeoReport v2, in XML and JSON."""
    return {
        "changeset": CHANGESET, "contact": contact,
        "key_service": "کلید API را مدیر سامانه در صفحهٔ مدیریت صادر می‌کند؛ خواندن به کلید نیاز ندارد.",
        "endpoints": [{"specification": SPECIFICATION, "url": url, "changeset": CHANGESET, "type": "production",
                       "formats": FORMATS}],
    }
