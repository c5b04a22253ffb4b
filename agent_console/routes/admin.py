"""The administrator's pages: staff (with their phones), units, categories and their district units, as HTML forms."""

from __future__ import annotations

import contextlib
import logging
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from agent_console.deps import (
    Admin,
    AsteriskDep,
    NotifierDep,
    ProvisioningDep,
    SessionDep,
    SettingsDep,
    StaffSessionsDep,
)
from agent_console.templating import TEMPLATES
from callcenter.open311.keys import IssuedKey, issue_key, list_keys, revoke_key
from callcenter.platform.calendar import jalali_timestamp
from callcenter.platform.errors import ASTERISK_FAILURES, PasokhError, ValidationFailed
from callcenter.platform.lines import LINES
from callcenter.platform.persian import persian_digits
from callcenter.staff.directory import (
    CategoryCreate,
    NewStaff,
    StaffCreate,
    UnitCreate,
    add_category,
    add_unit,
    create_staff,
    list_staff,
    set_active,
    set_unit_manager_phone,
)
from callcenter.telephony.asterisk_actions import AsteriskActions
from callcenter.tickets.referral_units import (
    DistrictUnitCreate,
    add_district_unit,
    list_district_units,
    remove_district_unit,
)
from db.models import Category, Role, RowId, Unit, UnitKind, User, UserPublic, utcnow

router = APIRouter(prefix="/admin", include_in_schema=False)
log = logging.getLogger(__name__)

FLASH_KEY = "admin_flash"
ROLE_TITLES = {
    Role.OPERATOR: "کارشناس", Role.SUPERVISOR: "ناظر", Role.ADMIN: "مدیر سامانه", Role.UNIT_LIAISON: "رابط واحد",
    Role.FIELD_SUPERVISOR: "ناظر میدانی", Role.INSPECTOR: "بازرس", Role.HEAD_OF_INSPECTION: "مدیر بازرسی",
    Role.VIEWER: "بیننده (دفتر شهردار)", Role.DESK: "میز خدمت حضوری",
}
UNIT_KIND_TITLES = {
    UnitKind.DEPUTY: "معاونت", UnitKind.DISTRICT: "منطقه", UnitKind.ORGANISATION: "سازمان",
    UnitKind.DEPARTMENT: "اداره",
}
FIELD_LABELS = {
    "username": "نام کاربری", "full_name": "نام و نام خانوادگی", "role": "نقش", "password": "گذرواژه",
    "extension": "داخلی", "name": "نام", "kind": "نوع", "parent_id": "واحد بالادست", "line": "خط",
    "default_unit_id": "واحد مسئول", "sla_hours": "مهلت رسیدگی", "unit_id": "واحد رابط",
    "category_id": "موضوع", "district_id": "منطقه",
}
PHONE_PENDING = "Asterisk اکنون در دسترس نیست؛ گوشی پس از بارگذاری دوبارهٔ Asterisk کار خواهد کرد."
UNIT_PROMPT_PENDING = "نام این واحد پس از راه‌اندازی دوبارهٔ Asterisk در پیام‌های صوتی خوانده می‌شود."

Schema = TypeVar("Schema", bound=BaseModel)


@router.get("", response_class=HTMLResponse)
def admin_page(request: Request, admin: Admin, session: SessionDep) -> Response:
    return _page(request, session, admin, flash=request.session.pop(FLASH_KEY, None))


@router.post("/staff", response_class=HTMLResponse)
async def add_staff(
    request: Request, admin: Admin, session: SessionDep, settings: SettingsDep, provisioning: ProvisioningDep,
    username: Annotated[str, Form()], full_name: Annotated[str, Form()], role: Annotated[Role, Form()],
    password: Annotated[str, Form()], extension: Annotated[str, Form()] = "", unit_id: Annotated[str, Form()] = "",
) -> Response:
    """Shown on the answer page itself, not through a redirect: the SIP password must not sit in the session
    cookie (signed, not encrypted), and a reload cannot show it again (the username is taken by then)."""
    values = {"username": username, "full_name": full_name, "role": role.value, "extension": extension,
              "unit_id": unit_id}
    try:
        data = _form(StaffCreate, password=password, **{**values, "unit_id": unit_id or None})
        created = await run_in_threadpool(create_staff, session, data=data,
                                           sip_realm=settings.sip_realm)
    except PasokhError as error:
        return await run_in_threadpool(_page, request, session, admin, errors={"staff": error.message},
                                       values={"staff": values}, status_code=error.status_code)
    await run_in_threadpool(session.commit)  # the phone configuration below is rendered from the stored staff table
    log.info("Admin %s created account %s (%s)", admin.username, created.account.username, created.account.role)
    applied = await provisioning.apply_phone_changes() if created.account.extension else True
    return await run_in_threadpool(_page, request, session, admin, created=created, phone_applied=applied)


@router.post("/staff/{user_id}/active")
async def change_active(
    request: Request, user_id: RowId, active: Annotated[bool, Form()], admin: Admin, session: SessionDep,
    sessions: StaffSessionsDep, notifier: NotifierDep, ami: AsteriskDep, provisioning: ProvisioningDep,
) -> Response:
    try:
        account = await run_in_threadpool(set_active, session, user_id=user_id, active=active, by=admin)
    except PasokhError as error:
        return await run_in_threadpool(_page, request, session, admin, errors={"staff": error.message},
                                       status_code=error.status_code)
    await run_in_threadpool(session.commit)  # before its sessions end and its phone goes: both read the stored account
    log.info("Admin %s set account %s active=%s", admin.username, account.username, active)
    if not active:  # its sessions end now, and its consoles' websockets with them
        revoked = await run_in_threadpool(sessions.revoke_all, account.id)
        notifier.sessions_revoked(user_id=account.id)
        log.info("Account %s: %d sessions revoked", account.username, revoked)
    message = f"حساب «{account.username}» {'فعال' if active else 'غیرفعال'} شد."
    if account.extension:
        if not active:
            await _leave_queues(ami, account)
        if not await provisioning.apply_phone_changes():
            message += " " + PHONE_PENDING
    return _back(request, message)


@router.post("/units")
async def add_unit_form(
    request: Request, admin: Admin, session: SessionDep, provisioning: ProvisioningDep,
    name: Annotated[str, Form()], kind: Annotated[str, Form()], parent_id: Annotated[str, Form()] = "",
) -> Response:
    values = {"name": name, "kind": kind, "parent_id": parent_id}
    try:
        data = _form(UnitCreate, name=name, kind=kind, parent_id=parent_id or None)
        unit = await run_in_threadpool(add_unit, session, data=data)
    except PasokhError as error:
        return await run_in_threadpool(_page, request, session, admin, errors={"unit": error.message},
                                       values={"unit": values}, status_code=error.status_code)
    message = f"واحد «{unit.name}» افزوده شد."
    if not await provisioning.render_unit_name_prompt(unit.name):
        message += " " + UNIT_PROMPT_PENDING
    return _back(request, message)


@router.post("/categories")
def add_category_form(
    request: Request, admin: Admin, session: SessionDep, name: Annotated[str, Form()],
    line: Annotated[str, Form()], default_unit_id: Annotated[str, Form()], sla_hours: Annotated[str, Form()],
) -> Response:
    values = {"name": name, "line": line, "default_unit_id": default_unit_id, "sla_hours": sla_hours}
    try:
        category = add_category(session, data=_form(CategoryCreate, **values))
    except PasokhError as error:
        return _page(request, session, admin, errors={"category": error.message}, values={"category": values},
                     status_code=error.status_code)
    return _back(request, f"موضوع «{category.name}» افزوده شد.")


@router.post("/units/{unit_id}/manager-phone")
def set_manager_phone_form(
    request: Request, unit_id: RowId, admin: Admin, session: SessionDep, manager_phone: Annotated[str, Form()] = "",
) -> Response:
    try:
        unit = set_unit_manager_phone(session, unit_id=unit_id, phone=manager_phone)
    except PasokhError as error:
        return _page(request, session, admin, errors={"unit": error.message}, status_code=error.status_code)
    if unit.manager_phone:
        return _back(request, f"تأخیرهای «{unit.name}» به شماره {persian_digits(unit.manager_phone)} پیامک می‌شود.")
    return _back(request, f"شماره مدیر «{unit.name}» پاک شد.")


@router.post("/district-units")
def add_district_unit_form(
    request: Request, admin: Admin, session: SessionDep, category_id: Annotated[str, Form()],
    district_id: Annotated[str, Form()], unit_id: Annotated[str, Form()],
) -> Response:
    """A category's tickets in one district go to another unit than the category's default."""
    values = {"category_id": category_id, "district_id": district_id, "unit_id": unit_id}
    try:
        data = _form(DistrictUnitCreate, **values)
        add_district_unit(session, category_id=data.category_id, district_id=data.district_id, unit_id=data.unit_id)
    except PasokhError as error:
        return _page(request, session, admin, errors={"district_unit": error.message},
                     values={"district_unit": values}, status_code=error.status_code)
    log.info("Admin %s: category %s in district %s goes to unit %s", admin.username, data.category_id,
             data.district_id, data.unit_id)
    return _back(request, "واحد این موضوع در این منطقه ثبت شد.")


@router.post("/district-units/{override_id}/delete")
def remove_district_unit_form(request: Request, override_id: RowId, admin: Admin, session: SessionDep) -> Response:
    """Back to the category's default unit in that district."""
    try:
        removed = remove_district_unit(session, override_id=override_id)
    except PasokhError as error:
        return _page(request, session, admin, errors={"district_unit": error.message},
                     status_code=error.status_code)
    log.info("Admin %s: category %s in district %s goes to the default unit again", admin.username,
             removed.category_id, removed.district_id)
    return _back(request, "این موضوع در آن منطقه دوباره به واحد مسئول پیش‌فرض می‌رود.")


@router.post("/open311-keys", response_class=HTMLResponse)
def issue_open311_key_form(
    request: Request, admin: Admin, session: SessionDep, name: Annotated[str, Form()] = "",
    requests_per_minute: Annotated[str, Form()] = "",
) -> Response:
    """Shown on the answer page itself, once, like a new phone's password: only the key's hash is stored."""
    values = {"name": name, "requests_per_minute": requests_per_minute}
    try:
        limit = int(requests_per_minute.strip()) if requests_per_minute.strip().isdigit() else 0
        issued = issue_key(session, name=name, requests_per_minute=limit, by=admin, now=utcnow())
    except PasokhError as error:
        return _page(request, session, admin, errors={"open311_key": error.message},
                     values={"open311_key": values}, status_code=error.status_code)
    log.info("Admin %s issued Open311 key %s (%s, %d/min)", admin.username, issued.row.prefix, issued.row.name,
             issued.row.requests_per_minute)
    return _page(request, session, admin, issued_key=issued)


@router.post("/open311-keys/{key_id}/revoke")
def revoke_open311_key_form(request: Request, key_id: RowId, admin: Admin, session: SessionDep) -> Response:
    try:
        row = revoke_key(session, key_id=key_id, now=utcnow())
    except PasokhError as error:
        return _page(request, session, admin, errors={"open311_key": error.message}, status_code=error.status_code)
    log.info("Admin %s revoked Open311 key %s", admin.username, row.prefix)
    return _back(request, f"کلید «{row.name}» باطل شد؛ درخواست‌هایی که با آن فرستاده شوند پذیرفته نمی‌شوند.")


def _form(schema: type[Schema], **values: Any) -> Schema:
    """A form's fields as the domain's schema; what does not parse is named in Persian."""
    try:
        return schema.model_validate(values)
    except PydanticValidationError as exc:
        names = dict.fromkeys(FIELD_LABELS.get(str(error["loc"][0]), str(error["loc"][0])) for error in exc.errors())
        raise ValidationFailed("این خانه‌ها کامل یا درست نیستند: " + "، ".join(names)) from exc


async def _leave_queues(ami: AsteriskActions, account: UserPublic) -> None:
    """A deactivated operator must not stay a queue member whose phone no longer exists."""
    for line in LINES:
        with contextlib.suppress(*ASTERISK_FAILURES):  # not a member of that queue, or Asterisk away
            await ami.queue_remove(queue=line.queue, extension=account.extension or "")


def _back(request: Request, message: str) -> RedirectResponse:
    request.session[FLASH_KEY] = message
    return RedirectResponse("/admin", status_code=303)


def _page(
    request: Request, session: Session, admin: User, *, flash: str | None = None,
    errors: dict[str, str] | None = None, values: dict[str, dict[str, str]] | None = None,
    created: NewStaff | None = None, phone_applied: bool = True, status_code: int = 200,
    issued_key: IssuedKey | None = None,
) -> HTMLResponse:
    units = session.exec(select(Unit).order_by(col(Unit.name))).all()
    categories = session.exec(select(Category).order_by(col(Category.line), col(Category.name))).all()
    context = {
        "admin": UserPublic.model_validate(admin), "staff": list_staff(session), "units": units,
        "unit_names": {unit.id: unit.name for unit in units}, "categories": categories, "lines": LINES,
        "roles": ROLE_TITLES, "unit_kinds": UNIT_KIND_TITLES, "flash": flash, "errors": errors or {},
        "values": values or {}, "created": created, "phone_pending": None if phone_applied else PHONE_PENDING,
        "districts": [unit for unit in units if unit.kind == UnitKind.DISTRICT],
        "district_units": list_district_units(session),
        "default_units": {category.id: category.default_unit_id for category in categories},
        "open311_keys": list_keys(session), "issued_key": issued_key,
        "jalali": lambda moment: " ".join(jalali_timestamp(moment)),
    }
    return TEMPLATES.TemplateResponse(request, "admin.html", context, status_code=status_code)
