"""Which unit gets a ticket of a category in a district: a per-district override, else the category's default."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from callcenter.platform.errors import Conflict, NotFound, ValidationFailed
from db.models import Category, CategoryDistrictUnit, RowId, Unit, UnitKind


class ReferralUnit(BaseModel):
    """The suggestion for the filing form; the operator may still choose another unit."""

    unit_id: int | None
    by_district: bool  # True when a district override decided it, not the category's default


class DistrictUnitCreate(BaseModel):
    """The admin form's override: this category's tickets in this district go to this unit."""

    category_id: RowId
    district_id: RowId
    unit_id: RowId


class DistrictUnitRow(BaseModel):
    """One override as the admin page lists it."""

    id: int
    category_id: int
    category_name: str
    district_id: int
    district_name: str
    unit_id: int
    unit_name: str


def referral_unit(session: Session, *, category_id: int, district_id: int | None) -> ReferralUnit:
    """The override for (category, district) if there is one, else the category's default unit."""
    category = session.get(Category, category_id)
    if category is None:
        raise NotFound("موضوع انتخاب‌شده پیدا نشد.", category_id=category_id)
    if district_id is not None:
        override = session.exec(select(CategoryDistrictUnit).where(
            CategoryDistrictUnit.category_id == category_id, CategoryDistrictUnit.district_id == district_id,
        )).first()
        if override is not None:
            return ReferralUnit(unit_id=override.unit_id, by_district=True)
    return ReferralUnit(unit_id=category.default_unit_id, by_district=False)


def list_district_units(session: Session) -> list[DistrictUnitRow]:
    """Every override, by category then district name."""
    names = {unit.id: unit.name for unit in session.exec(select(Unit)).all()}
    categories = {category.id: category.name for category in session.exec(select(Category)).all()}
    rows = [
        DistrictUnitRow(id=row.id, category_id=row.category_id, category_name=categories.get(row.category_id, ""),
                        district_id=row.district_id, district_name=names.get(row.district_id, ""),
                        unit_id=row.unit_id, unit_name=names.get(row.unit_id, ""))
        for row in session.exec(select(CategoryDistrictUnit).order_by(col(CategoryDistrictUnit.id))).all()
        if row.id is not None
    ]
    return sorted(rows, key=lambda row: (row.category_name, row.district_name, row.id))


def add_district_unit(session: Session, *, category_id: int, district_id: int, unit_id: int) -> CategoryDistrictUnit:
    """A category's tickets in that district go to ``unit_id``; one override per (category, district)."""
    if session.get(Category, category_id) is None:
        raise ValidationFailed("موضوع انتخاب‌شده وجود ندارد.", field="category_id")
    district = session.get(Unit, district_id)
    if district is None or district.kind != UnitKind.DISTRICT:
        raise ValidationFailed("منطقه انتخاب‌شده یک منطقه شهرداری نیست.", field="district_id")
    if session.get(Unit, unit_id) is None:
        raise ValidationFailed("واحد انتخاب‌شده وجود ندارد.", field="unit_id")
    taken = Conflict("برای این موضوع در این منطقه از پیش واحدی تعیین شده است؛ اگر باید عوض شود، نخست آن را بردارید.",
                     category_id=category_id, district_id=district_id)
    same = select(CategoryDistrictUnit).where(CategoryDistrictUnit.category_id == category_id,
                                              CategoryDistrictUnit.district_id == district_id)
    if session.exec(same).first() is not None:
        raise taken
    override = CategoryDistrictUnit(category_id=category_id, district_id=district_id, unit_id=unit_id)
    try:
        with session.begin_nested():  # a savepoint: a refused insert leaves the caller's transaction usable
            session.add(override)
    except IntegrityError as exc:  # another administrator added the same pair a moment ago
        raise taken from exc
    session.refresh(override)
    return override


def remove_district_unit(session: Session, *, override_id: int) -> CategoryDistrictUnit:
    """Back to the category's default unit in that district; returns what was removed."""
    override = session.get(CategoryDistrictUnit, override_id)
    if override is None:
        raise NotFound("این واحد منطقه‌ای پیدا نشد؛ شاید پیش‌تر برداشته شده است.", override_id=override_id)
    session.delete(override)
    session.flush()
    return override
