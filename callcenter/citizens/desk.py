"""The in-person service desk: staff file a 137 ticket for a citizen at the counter, routed by the routing table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlmodel import Session, col, select

from callcenter.platform.errors import ValidationFailed
from callcenter.platform.persian import ascii_digits, normalize_text
from callcenter.platform.phone_numbers import sms_number
from callcenter.tickets.filing import file_from_channel
from callcenter.tickets.sms import StatusLink
from callcenter.tickets.store import Submission
from db.models import Category, Line, TicketCreate, TicketSource, Unit, UnitKind, User

Row = TypeVar("Row", Category, Unit)

NO_CATEGORY = "موضوع درخواست را انتخاب کنید."
NO_DISTRICT = "منطقه‌ای را که مشکل در آن است انتخاب کنید."
NO_ADDRESS = "نشانی محل مشکل را بنویسید."
NO_DESCRIPTION = "شرح درخواست را بنویسید."
BAD_MOBILE = "شماره همراه شهروند باید با ۰۹ آغاز شود و یازده رقم باشد (یا خالی بماند)."
TOO_LONG = "نشانی یا شرح درخواست بلندتر از اندازهٔ مجاز است."
STALE_FORM = "این فرم کهنه است؛ صفحه را دوباره باز کنید."


class DeskForm(BaseModel):
    """The desk's form as typed: text fields, any of them perhaps empty or with Persian digits."""

    category_id: str = ""
    district_id: str = ""
    address: str = ""
    description: str = ""
    mobile: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class DeskChoices:
    """What the form offers: the 137 line's categories and the city's districts, by name."""

    categories: list[Category]
    districts: list[Unit]


def desk_choices(session: Session) -> DeskChoices:
    categories = session.exec(select(Category).where(Category.line == Line.SERVICES)
                              .order_by(col(Category.name))).all()
    districts = session.exec(select(Unit).where(Unit.kind == UnitKind.DISTRICT).order_by(col(Unit.id))).all()
    return DeskChoices(categories=list(categories), districts=list(districts))


def file_at_desk(session: Session, *, form: DeskForm, by: User, status_link: StatusLink | None = None) -> Submission:
    """Check the form, then file it as an in-person ticket referred in ``by``'s name (filing.file_from_channel):
    the routing table picks the unit, the tracking-code SMS goes out only when a mobile was given. The form's
    ``request_id`` makes a double submit return the first ticket."""
    data = _ticket_data(session, form)
    return file_from_channel(session, data=data, source=TicketSource.IN_PERSON, by=by, status_link=status_link)


def _ticket_data(session: Session, form: DeskForm) -> TicketCreate:
    category = _chosen(session, Category, form.category_id, NO_CATEGORY, field="category_id")
    if category.line != Line.SERVICES:
        raise ValidationFailed(NO_CATEGORY, field="category_id")
    district = _chosen(session, Unit, form.district_id, NO_DISTRICT, field="district_id")
    if district.kind != UnitKind.DISTRICT:
        raise ValidationFailed(NO_DISTRICT, field="district_id")
    address, description = normalize_text(form.address), normalize_text(form.description)
    if not address:
        raise ValidationFailed(NO_ADDRESS, field="address")
    if not description:
        raise ValidationFailed(NO_DESCRIPTION, field="description")
    mobile = sms_number(form.mobile) if form.mobile.strip() else None
    if form.mobile.strip() and mobile is None:
        raise ValidationFailed(BAD_MOBILE, field="mobile")
    try:
        return TicketCreate(category_id=category.id or 0, unit_id=category.default_unit_id or 0,
                            district_id=district.id, address=address, description=description,
                            caller_number=mobile, request_id=form.request_id or None)
    except PydanticValidationError as exc:
        fields = {str(error["loc"][0]) for error in exc.errors()}
        if "request_id" in fields:
            raise ValidationFailed(STALE_FORM, field="request_id") from exc
        raise ValidationFailed(TOO_LONG, field=sorted(fields)[0]) from exc


def _chosen(session: Session, table: type[Row], raw: str, message: str, *, field: str) -> Row:
    """The row a select field names, or the field's Persian error."""
    value = ascii_digits(raw).strip()
    row = session.get(table, int(value)) if value.isdigit() else None
    if row is None:
        raise ValidationFailed(message, field=field)
    return row
