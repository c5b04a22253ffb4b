"""Seed data: a realistic Qazvin-like organisation and categories, plus the demo staff logins for development."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from db.models import Category, CategoryDistrictUnit, ComplaintGround, ComplaintGroundSla, Line, Role, Unit, UnitKind

# (name, kind, parent name)
UNITS: tuple[tuple[str, UnitKind, str | None], ...] = (
    ("معاونت خدمات شهری", UnitKind.DEPUTY, None),
    ("معاونت حمل و نقل و ترافیک", UnitKind.DEPUTY, None),
    ("معاونت فنی و عمرانی", UnitKind.DEPUTY, None),
    ("منطقه یک", UnitKind.DISTRICT, None),
    ("منطقه دو", UnitKind.DISTRICT, None),
    ("منطقه سه", UnitKind.DISTRICT, None),
    ("سازمان مدیریت پسماند", UnitKind.ORGANISATION, "معاونت خدمات شهری"),
    ("سازمان سیما، منظر و فضای سبز شهری", UnitKind.ORGANISATION, "معاونت خدمات شهری"),
    ("سازمان حمل و نقل و ترافیک", UnitKind.ORGANISATION, "معاونت حمل و نقل و ترافیک"),
    ("سازمان آتش‌نشانی و خدمات ایمنی", UnitKind.ORGANISATION, "معاونت خدمات شهری"),
    ("اداره روشنایی و تأسیسات برقی", UnitKind.DEPARTMENT, "معاونت فنی و عمرانی"),
    ("اداره آسفالت و ابنیه", UnitKind.DEPARTMENT, "معاونت فنی و عمرانی"),
    ("مدیریت بازرسی", UnitKind.DEPARTMENT, None),
    ("مدیریت منابع انسانی", UnitKind.DEPARTMENT, None),
)

# (name, line, default unit, SLA hours)
CATEGORIES: tuple[tuple[str, Line, str, int], ...] = (
    ("جمع‌آوری زباله", Line.SERVICES, "سازمان مدیریت پسماند", 24),
    ("نظافت و رفت‌وروب معابر", Line.SERVICES, "سازمان مدیریت پسماند", 24),
    ("نخاله و مصالح ساختمانی رهاشده", Line.SERVICES, "سازمان مدیریت پسماند", 72),
    ("فضای سبز و پارک‌ها", Line.SERVICES, "سازمان سیما، منظر و فضای سبز شهری", 72),
    ("قطع و هرس درختان", Line.SERVICES, "سازمان سیما، منظر و فضای سبز شهری", 120),
    ("روشنایی معابر و پارک‌ها", Line.SERVICES, "اداره روشنایی و تأسیسات برقی", 48),
    ("آسفالت، چاله و ترمیم معابر", Line.SERVICES, "اداره آسفالت و ابنیه", 168),
    ("ترافیک، علائم و چراغ راهنمایی", Line.SERVICES, "سازمان حمل و نقل و ترافیک", 72),
    ("آب‌گرفتگی معابر و جوی‌ها", Line.SERVICES, "منطقه یک", 24),
    ("سد معبر و دستفروشی", Line.SERVICES, "معاونت خدمات شهری", 72),
    ("حیوانات بلاصاحب", Line.SERVICES, "معاونت خدمات شهری", 48),
    ("انتقاد از کارکنان", Line.FEEDBACK, "مدیریت بازرسی", 168),
    ("پیشنهاد", Line.FEEDBACK, "مدیریت بازرسی", 336),
    ("قدردانی از کارکنان", Line.FEEDBACK, "مدیریت منابع انسانی", 336),
)

# (category, district, unit): flooding goes to district one by default; districts two and three clear their own
# gutters (decision 29).
DISTRICT_UNITS: tuple[tuple[str, str, str], ...] = (
    ("آب‌گرفتگی معابر و جوی‌ها", "منطقه دو", "منطقه دو"),
    ("آب‌گرفتگی معابر و جوی‌ها", "منطقه سه", "منطقه سه"),
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: Role
    full_name: str
    extension: str | None = None
    unit: str | None = None  # a unit liaison's unit, by name

    @property
    def sip_password(self) -> str | None:
        """A fixed, documented development value (demo accounts exist only in development): the database keeps
        only its md5 credential, so the `make run` banner can still tell a developer what to type."""
        return f"sip{self.extension}-pasokh" if self.extension else None


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("admin", "admin-pasokh", Role.ADMIN, "مدیر سامانه"),
    DemoLogin("supervisor", "supervisor-pasokh", Role.SUPERVISOR, "ناظر مرکز تماس", "1900"),
    DemoLogin("operator1", "operator1-pasokh", Role.OPERATOR, "زهرا احمدی", "1001"),
    DemoLogin("operator2", "operator2-pasokh", Role.OPERATOR, "علی رضایی", "1002"),
    DemoLogin("operator3", "operator3-pasokh", Role.OPERATOR, "مریم کریمی", "1003"),
    DemoLogin("waste", "waste-pasokh", Role.UNIT_LIAISON, "رابط سازمان مدیریت پسماند", unit="سازمان مدیریت پسماند"),
    DemoLogin("field", "field-pasokh", Role.FIELD_SUPERVISOR, "ناظر میدانی"),
    DemoLogin("mayor", "mayor-pasokh", Role.VIEWER, "دفتر شهردار"),
    DemoLogin("desk", "desk-pasokh", Role.DESK, "میز خدمت حضوری ساختمان مرکزی"),
    DemoLogin("inspector", "inspector-pasokh", Role.INSPECTOR, "بازرس: حسین موسوی", unit="مدیریت بازرسی"),
    DemoLogin("inspector2", "inspector2-pasokh", Role.INSPECTOR, "بازرس: نرگس صادقی", unit="مدیریت بازرسی"),
    DemoLogin("head", "head-pasokh", Role.HEAD_OF_INSPECTION, "مدیر بازرسی", unit="مدیریت بازرسی"),
)

# The inspection office (a complaint about it goes to the mayor's office, callcenter/complaints/access.py).
INSPECTION_OFFICE = "مدیریت بازرسی"

# Working days the office gives itself per ground before the head of inspection is told (editable later).
COMPLAINT_SLA_DAYS: dict[ComplaintGround, int] = {
    ComplaintGround.LAW_VIOLATION: 20,
    ComplaintGround.DUTY_FAILURE: 15,
    ComplaintGround.DELAY: 10,
    ComplaintGround.NON_RESPONSIVENESS: 10,
    ComplaintGround.WEAK_SERVICE: 15,
    ComplaintGround.PUBLIC_PROPERTY_WASTE: 30,
    ComplaintGround.OTHER_MISCONDUCT: 20,
    ComplaintGround.OTHER: 15,
}


def seed_reference_data(session: Session) -> None:
    """Units and categories; safe to run again (adds only what is missing). Flushed; the caller commits."""
    units = {u.name: u for u in session.exec(select(Unit)).all()}
    for name, kind, parent in UNITS:
        if name not in units:
            unit = Unit(name=name, kind=kind, parent_id=units[parent].id if parent else None,
                        inspection_office=name == INSPECTION_OFFICE)
            session.add(unit)
            session.flush()
            units[name] = unit
    slas = {row.ground for row in session.exec(select(ComplaintGroundSla)).all()}
    session.add_all(ComplaintGroundSla(ground=ground, working_days=days)
                    for ground, days in COMPLAINT_SLA_DAYS.items() if ground not in slas)
    existing = {(c.name, c.line) for c in session.exec(select(Category)).all()}
    for name, line, unit_name, sla in CATEGORIES:
        if (name, line) not in existing:
            session.add(Category(name=name, line=line, default_unit_id=units[unit_name].id, sla_hours=sla))
    session.flush()
    categories = {c.name: c.id for c in session.exec(select(Category).where(Category.line == Line.SERVICES)).all()}
    overridden = {(o.category_id, o.district_id) for o in session.exec(select(CategoryDistrictUnit)).all()}
    for category_name, district_name, unit_name in DISTRICT_UNITS:
        category_id, district_id, unit_id = categories[category_name], units[district_name].id, units[unit_name].id
        assert category_id is not None and district_id is not None and unit_id is not None  # flushed rows
        if (category_id, district_id) not in overridden:
            session.add(CategoryDistrictUnit(category_id=category_id, district_id=district_id, unit_id=unit_id))
    session.flush()
