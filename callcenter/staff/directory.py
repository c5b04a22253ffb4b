"""Staff accounts, units and categories as the administrator manages them; SIP extensions are allocated here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, SecretStr
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from callcenter.platform.errors import (
    CategoryNameTaken,
    ExtensionTaken,
    NoFreeExtension,
    NotFound,
    UnitNameTaken,
    UsernameTaken,
    ValidationFailed,
    WeakPassword,
)
from callcenter.platform.lines import LINES
from callcenter.platform.persian import ascii_digits, normalize_text, persian_digits
from callcenter.platform.phone_numbers import sms_number
from callcenter.platform.security import hash_password, new_sip_password, sip_md5_cred
from db.models import STAFF_ROLES, Category, Line, Role, RowId, Unit, UnitKind, User, UserPublic

# Only call handlers with a desk phone get an extension; the ranges keep an extension's role readable at a glance.
PHONE_RANGES: dict[Role, range] = {Role.OPERATOR: range(1001, 1900), Role.SUPERVISOR: range(1900, 2000)}
# 1888 lies inside the operators' range; a phone with a public line's number would only confuse people.
RESERVED_EXTENSIONS = frozenset(line.number for line in LINES)
MIN_PASSWORD_LENGTH = 8
MAX_SLA_HOURS = 24 * 365
# Login names are typed on any keyboard and compared lower-cased (see callcenter.staff.accounts.authenticate).
_USERNAME = re.compile(r"^[a-z0-9._-]{3,64}$")
# Two administrators may be handed the same free extension at once; the unique index decides, we try the next.
_ALLOCATION_ATTEMPTS = 3


def _ascii_digits_before(value: Any) -> Any:
    return ascii_digits(value).strip() if isinstance(value, str) else value


class StaffCreate(BaseModel):
    """The add-staff form. The password is a SecretStr: no repr, log line or dump of this object shows it."""

    username: str
    full_name: str
    role: Role
    password: SecretStr
    extension: str | None = None
    unit_id: RowId | None = None  # for a unit liaison: the unit they answer for (required for them, no one else)


class UnitCreate(BaseModel):
    name: str
    kind: UnitKind
    parent_id: RowId | None = None


class CategoryCreate(BaseModel):
    name: str
    line: Line
    default_unit_id: RowId
    # Typed in the form, perhaps with Persian digits.
    sla_hours: Annotated[int, BeforeValidator(_ascii_digits_before), Field(ge=1, le=MAX_SLA_HOURS)]


@dataclass(frozen=True)
class NewStaff:
    """A created account as its creator may see it: the SIP password once, to configure the phone; no hash."""

    account: UserPublic
    sip_password: str | None


def has_phone(role: Role) -> bool:
    return role in PHONE_RANGES


def create_staff(session: Session, *, data: StaffCreate, sip_realm: str) -> NewStaff:
    """Validate and store a staff account; operators and supervisors get an extension and a generated SIP password,
    returned here once and stored only as its md5 credential for ``sip_realm``."""
    if data.role not in STAFF_ROLES:
        raise ValidationFailed("این نقش برای حساب کارکنان نیست.", field="role")
    username = _valid_username(data.username)
    full_name = _required_name(data.full_name, field="full_name", message="نام و نام خانوادگی را بنویسید.")
    password = strong_password(data.password.get_secret_value())
    requested = _requested_extension(data.role, data.extension)
    _check_liaison_unit(session, data.role, data.unit_id)
    if _user_named(session, username) is not None:
        raise UsernameTaken(f"نام کاربری «{username}» از پیش وجود دارد.", field="username")
    if requested is not None and _extension_holder(session, requested) is not None:
        raise ExtensionTaken(f"داخلی {persian_digits(requested)} به کاربر دیگری داده شده است.", field="extension")
    password_hash = hash_password(password)
    for _attempt in range(_ALLOCATION_ATTEMPTS):
        extension = requested or (next_free_extension(session, role=data.role) if has_phone(data.role) else None)
        sip_password = new_sip_password() if extension else None
        user = User(username=username, full_name=full_name, role=data.role, extension=extension,
                    password_hash=password_hash, unit_id=data.unit_id,
                    sip_md5_cred=sip_md5_cred(extension, sip_password, sip_realm) if extension and sip_password
                    else None)
        if _inserted(session, user, username=username, extension=extension, allocated=requested is None):
            return NewStaff(account=UserPublic.model_validate(user), sip_password=sip_password)
    raise NoFreeExtension("داخلی آزادی پیدا نشد؛ دوباره تلاش کنید.", role=data.role.value)


def next_free_extension(session: Session, *, role: Role) -> str:
    """The lowest extension of the role's range that no account (active or not) holds."""
    taken = set(session.exec(select(User.extension).where(col(User.extension).is_not(None))).all())
    for number in PHONE_RANGES[role]:
        candidate = str(number)
        if candidate not in taken and candidate not in RESERVED_EXTENSIONS:
            return candidate
    span = PHONE_RANGES[role]
    raise NoFreeExtension(
        f"همهٔ داخلی‌های {persian_digits(span.start)} تا {persian_digits(span.stop - 1)} گرفته شده‌اند.",
        role=role.value,
    )


def set_active(session: Session, *, user_id: int, active: bool, by: User) -> UserPublic:
    """Deactivate (no login, no phone) or reactivate an account; it keeps its extension either way."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("این کاربر پیدا نشد.", user_id=user_id)
    if user.id == by.id and not active:
        raise ValidationFailed("حساب خودتان را نمی‌توانید غیرفعال کنید.", field="active")
    user.is_active = active
    session.add(user)
    session.flush()
    session.refresh(user)
    return UserPublic.model_validate(user)


def set_unit_manager_phone(session: Session, *, unit_id: int, phone: str) -> Unit:
    """The mobile escalations of the unit's overdue tickets are texted to (decision 28); empty clears it."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("واحد پیدا نشد.", unit_id=unit_id)
    number = sms_number(phone) if phone.strip() else None
    if phone.strip() and number is None:
        raise ValidationFailed("شماره همراه مدیر واحد باید با ۰۹ آغاز شود و یازده رقم باشد.", field="manager_phone")
    unit.manager_phone = number
    session.add(unit)
    session.flush()
    session.refresh(unit)
    return unit


def add_unit(session: Session, *, data: UnitCreate) -> Unit:
    name = _required_name(data.name, field="name", message="نام واحد را بنویسید.")
    if data.parent_id is not None and session.get(Unit, data.parent_id) is None:
        raise ValidationFailed("واحد بالادست انتخاب‌شده وجود ندارد.", field="parent_id")
    taken = UnitNameTaken(f"واحدی با نام «{name}» از پیش وجود دارد.", field="name")
    if session.exec(select(Unit).where(Unit.name == name)).first() is not None:
        raise taken
    unit = Unit(name=name, kind=data.kind, parent_id=data.parent_id)
    try:
        with session.begin_nested():  # a savepoint: a refused insert leaves the caller's transaction usable
            session.add(unit)
    except IntegrityError as exc:  # the same name added a moment ago by another administrator
        raise taken from exc
    session.refresh(unit)
    return unit


def add_category(session: Session, *, data: CategoryCreate) -> Category:
    name = _required_name(data.name, field="name", message="نام موضوع را بنویسید.")
    if session.get(Unit, data.default_unit_id) is None:
        raise ValidationFailed("واحد مسئول انتخاب‌شده وجود ندارد.", field="default_unit_id")
    same = select(Category).where(Category.name == name, Category.line == data.line)
    if session.exec(same).first() is not None:
        raise CategoryNameTaken(f"موضوع «{name}» برای خط {persian_digits(data.line.value)} از پیش وجود دارد.",
                                field="name")
    category = Category(name=name, line=data.line, default_unit_id=data.default_unit_id, sla_hours=data.sla_hours)
    session.add(category)
    session.flush()
    session.refresh(category)
    return category


def list_staff(session: Session) -> list[UserPublic]:
    """Everyone, by username; public fields only, so a page listing staff cannot leak a password or its hash."""
    users = session.exec(select(User).order_by(col(User.username))).all()
    return [UserPublic.model_validate(user) for user in users]


def _inserted(session: Session, user: User, *, username: str, extension: str | None, allocated: bool) -> bool:
    """Store the new account; False when an extension we allocated was taken meanwhile (try another)."""
    try:
        with session.begin_nested():  # a savepoint: a refused insert undoes only itself
            session.add(user)
    except IntegrityError as exc:
        if _user_named(session, username) is not None:
            raise UsernameTaken(f"نام کاربری «{username}» از پیش وجود دارد.", field="username") from exc
        if extension is None or not allocated:
            raise ExtensionTaken(f"داخلی {persian_digits(extension or '')} به کاربر دیگری داده شده است.",
                                 field="extension") from exc
        return False
    session.refresh(user)
    return True


def _valid_username(raw: str) -> str:
    username = normalize_text(raw).lower()
    if not _USERNAME.fullmatch(username):
        raise ValidationFailed(
            "نام کاربری باید ۳ تا ۶۴ نویسه از حروف انگلیسی، رقم، نقطه، خط تیره یا زیرخط باشد.", field="username"
        )
    return username


def _required_name(raw: str, *, field: str, message: str) -> str:
    name = normalize_text(raw)
    if not name:
        raise ValidationFailed(message, field=field)
    if len(name) > 200:
        raise ValidationFailed("نام حداکثر ۲۰۰ نویسه است.", field=field)
    return name


def strong_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"گذرواژه باید دست‌کم {persian_digits(MIN_PASSWORD_LENGTH)} نویسه باشد.",
                           field="password")
    return password


def _requested_extension(role: Role, raw: str | None) -> str | None:
    """An extension the administrator typed (Persian digits welcome), checked against the role's range."""
    extension = ascii_digits(raw or "").strip()
    if not extension:
        return None
    span = PHONE_RANGES.get(role)
    if span is None:
        raise ValidationFailed("فقط کارشناسان و ناظران داخلی تلفن دارند.", field="extension")
    if not extension.isascii() or not extension.isdigit() or int(extension) not in span \
            or extension in RESERVED_EXTENSIONS or extension != str(int(extension)):
        raise ValidationFailed(
            f"داخلی این نقش باید عددی بین {persian_digits(span.start)} و {persian_digits(span.stop - 1)} باشد"
            " (جز شماره‌های ۱۳۷ و ۱۸۸۸).",
            field="extension",
        )
    return extension


def _check_liaison_unit(session: Session, role: Role, unit_id: int | None) -> None:
    """A liaison without a unit could act for none (or, by mistake, be taken to act for all): refused."""
    if role != Role.UNIT_LIAISON:
        if unit_id is not None:
            raise ValidationFailed("فقط رابط واحد به یک واحد وابسته می‌شود؛ واحد را خالی بگذارید.", field="unit_id")
        return
    if unit_id is None:
        raise ValidationFailed("برای رابط واحد، واحدی را که پاسخ‌گوی آن است انتخاب کنید.", field="unit_id")
    if session.get(Unit, unit_id) is None:
        raise ValidationFailed("واحد انتخاب‌شده وجود ندارد.", field="unit_id")


def _user_named(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def _extension_holder(session: Session, extension: str) -> User | None:
    return session.exec(select(User).where(User.extension == extension)).first()
