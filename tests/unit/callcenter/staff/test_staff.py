"""Staff accounts, units and categories as the administrator creates them, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import string

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from asterisk_config.render import operator_phones
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
from callcenter.platform.security import verify_password
from callcenter.staff import directory as staff
from callcenter.staff.directory import (
    CategoryCreate,
    StaffCreate,
    UnitCreate,
    add_category,
    add_unit,
    create_staff,
    next_free_extension,
    set_active,
)
from db.models import Category, Line, Role, Unit, UnitKind, User

PASSWORD = "long-enough-password"


def new_staff(session: Session, username: str, role: Role = Role.OPERATOR, **fields: object) -> staff.NewStaff:
    values: dict[str, object] = {"username": username, "full_name": "زهرا احمدی", "role": role,
                                 "password": PASSWORD}
    values.update(fields)
    return create_staff(session, data=StaffCreate.model_validate(values), sip_realm="pasokh")


def stored(session: Session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def test_given_no_phones_yet_when_creating_an_operator_then_the_first_extension_and_a_generated_sip_password(
    session: Session,
) -> None:
    created = new_staff(session, "  Zahra.Ahmadi ", full_name="زهرا  احمدي")

    assert created.account.username == "zahra.ahmadi"
    assert created.account.full_name == "زهرا احمدی"
    assert created.account.extension == "1001" and created.account.is_active
    assert created.sip_password is not None and len(created.sip_password) == 20
    assert set(created.sip_password) <= set(string.ascii_letters + string.digits)
    user = stored(session, "zahra.ahmadi")
    # Stored only as Asterisk's md5_cred (the phone's digest is checked against it): the password is shown once.
    assert user.sip_md5_cred == hashlib.md5(f"1001:pasokh:{created.sip_password}".encode()).hexdigest()
    assert created.sip_password not in str(user.model_dump())
    assert verify_password(PASSWORD, user.password_hash)
    assert "password_hash" not in created.account.model_dump() and "sip_md5_cred" not in created.account.model_dump()


def test_given_the_password_when_printing_the_form_data_then_it_is_masked() -> None:
    data = StaffCreate.model_validate({"username": "a.b", "full_name": "x", "role": "operator", "password": PASSWORD})
    assert PASSWORD not in repr(data) and PASSWORD not in str(data.model_dump())


def test_given_extensions_held_when_creating_phones_then_each_role_takes_the_lowest_free_one_in_its_range(
    session: Session,
) -> None:
    new_staff(session, "first", extension="1001")
    new_staff(session, "third", extension="1003")
    set_active(session, user_id=stored(session, "third").id or 0, active=False, by=stored(session, "first"))

    assert new_staff(session, "second").account.extension == "1002"
    assert new_staff(session, "fourth").account.extension == "1004"  # an inactive account keeps its extension
    assert new_staff(session, "boss", Role.SUPERVISOR).account.extension == "1900"


def test_given_the_range_reaches_1888_when_allocating_then_the_public_line_number_is_skipped(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(staff.PHONE_RANGES, Role.OPERATOR, range(1887, 1890))
    new_staff(session, "before", extension="1887")
    assert next_free_extension(session, role=Role.OPERATOR) == "1889"


def test_given_every_extension_of_the_range_held_when_creating_an_operator_then_no_free_extension(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(staff.PHONE_RANGES, Role.OPERATOR, range(1001, 1003))
    new_staff(session, "one")
    new_staff(session, "two")
    with pytest.raises(NoFreeExtension) as refused:
        new_staff(session, "three")
    assert refused.value.error_id == "no-free-extension" and "۱۰۰۱" in refused.value.message


def test_given_another_admin_took_the_allocated_extension_meanwhile_when_saving_then_the_next_one_is_used(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_staff(session, "quick", extension="1001")
    real = staff.next_free_extension
    stale = iter(["1001"])  # what a concurrent request computed before "quick" was saved

    def racing(session: Session, *, role: Role) -> str:
        return next(stale, None) or real(session, role=role)

    monkeypatch.setattr(staff, "next_free_extension", racing)
    assert new_staff(session, "slow").account.extension == "1002"


def test_given_no_phone_role_when_creating_then_no_extension_and_no_sip_password(session: Session) -> None:
    created = new_staff(session, "mayor.office", Role.VIEWER)
    assert created.account.extension is None and created.sip_password is None
    with pytest.raises(ValidationFailed) as refused:
        new_staff(session, "admin2", Role.ADMIN, extension="1005")
    assert refused.value.details["field"] == "extension"


def test_given_persian_digits_when_giving_an_extension_then_it_is_stored_with_ascii_digits(session: Session) -> None:
    assert new_staff(session, "persian.digits", extension="۱۰۵۰").account.extension == "1050"


@pytest.mark.parametrize(("role", "extension"), [
    (Role.OPERATOR, "1950"), (Role.SUPERVISOR, "1001"), (Role.OPERATOR, "1888"), (Role.OPERATOR, "10a1"),
    (Role.OPERATOR, "01001"), (Role.OPERATOR, "999"),
])
def test_given_an_extension_outside_the_roles_range_when_creating_then_a_persian_validation_error(
    session: Session, role: Role, extension: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        new_staff(session, "outside", role, extension=extension)
    assert refused.value.error_id == "invalid-data" and "داخلی" in refused.value.message
    assert session.exec(select(User).where(User.username == "outside")).first() is None


def test_given_a_taken_username_in_other_letters_case_when_creating_then_username_taken(session: Session) -> None:
    new_staff(session, "operator.new")
    with pytest.raises(UsernameTaken) as refused:
        new_staff(session, "Operator.New")
    assert refused.value.error_id == "username-taken" and refused.value.status_code == 409
    assert "operator.new" in refused.value.message


def test_given_a_taken_extension_when_creating_then_extension_taken(session: Session) -> None:
    new_staff(session, "holder", extension="1010")
    with pytest.raises(ExtensionTaken) as refused:
        new_staff(session, "newcomer", extension="1010")
    assert refused.value.error_id == "extension-taken" and "۱۰۱۰" in refused.value.message


@pytest.mark.parametrize("username", ["ab", "زهرا", "has space", "semi;colon", "x" * 65])
def test_given_an_unusable_username_when_creating_then_a_persian_validation_error(
    session: Session, username: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        new_staff(session, username)
    assert refused.value.details["field"] == "username"


def test_given_a_short_password_when_creating_then_weak_password(session: Session) -> None:
    with pytest.raises(WeakPassword) as refused:
        new_staff(session, "weak", password="1234567")
    assert refused.value.error_id == "weak-password" and "۸" in refused.value.message


def test_given_an_empty_name_when_creating_then_a_persian_validation_error(session: Session) -> None:
    with pytest.raises(ValidationFailed) as refused:
        new_staff(session, "nameless", full_name="   ")
    assert refused.value.details["field"] == "full_name"


def test_given_an_operator_when_deactivating_and_reactivating_then_their_phone_leaves_and_returns(
    session: Session,
) -> None:
    admin = new_staff(session, "the.admin", Role.ADMIN)
    operator = new_staff(session, "the.operator")
    admin_user, operator_id = stored(session, "the.admin"), operator.account.id
    assert admin.account.id is not None

    assert not set_active(session, user_id=operator_id, active=False, by=admin_user).is_active
    assert "1001" not in {phone.extension for phone in operator_phones(session)}
    assert set_active(session, user_id=operator_id, active=True, by=admin_user).is_active
    assert "1001" in {phone.extension for phone in operator_phones(session)}


def test_given_the_admin_themself_when_deactivating_then_refused(session: Session) -> None:
    new_staff(session, "only.admin", Role.ADMIN)
    admin = stored(session, "only.admin")
    with pytest.raises(ValidationFailed):
        set_active(session, user_id=admin.id or 0, active=False, by=admin)
    with pytest.raises(NotFound):
        set_active(session, user_id=987654, active=False, by=admin)
    session.refresh(admin)
    assert admin.is_active


def a_unit(session: Session) -> Unit:
    return session.exec(select(Unit)).first()  # type: ignore[return-value]


def test_given_a_parent_when_adding_a_unit_then_it_is_stored_with_normalised_letters(session: Session) -> None:
    parent = a_unit(session)
    unit = add_unit(session, data=UnitCreate(name="  اداره  پاركها ي جديد ", kind=UnitKind.DEPARTMENT,
                                             parent_id=parent.id))
    assert unit.id is not None and unit.name == "اداره پارکها ی جدید" and unit.parent_id == parent.id


def test_given_an_existing_name_in_arabic_letters_when_adding_a_unit_then_unit_name_taken(session: Session) -> None:
    add_unit(session, data=UnitCreate(name="منطقه چهار", kind=UnitKind.DISTRICT))
    with pytest.raises(UnitNameTaken) as refused:
        add_unit(session, data=UnitCreate(name="منطقه چهار", kind=UnitKind.DISTRICT))
    assert refused.value.error_id == "unit-name-taken"
    with pytest.raises(UnitNameTaken):
        add_unit(session, data=UnitCreate(name="منطقه يك", kind=UnitKind.DISTRICT))  # seeded as «منطقه یک»


def test_given_an_unknown_parent_or_empty_name_when_adding_a_unit_then_validation_errors(session: Session) -> None:
    with pytest.raises(ValidationFailed) as unknown:
        add_unit(session, data=UnitCreate(name="واحد بی‌پدر", kind=UnitKind.DEPARTMENT, parent_id=987654))
    assert unknown.value.details["field"] == "parent_id"
    with pytest.raises(ValidationFailed) as empty:
        add_unit(session, data=UnitCreate(name="  ", kind=UnitKind.DEPARTMENT))
    assert empty.value.details["field"] == "name"


def test_given_a_unit_when_adding_a_category_then_it_belongs_to_the_line_with_its_sla(session: Session) -> None:
    unit = a_unit(session)
    data = CategoryCreate.model_validate({"name": "گودبرداری غیرمجاز", "line": "137", "default_unit_id": unit.id,
                                          "sla_hours": "۴۸"})
    category = add_category(session, data=data)
    assert category.id is not None
    assert (category.line, category.default_unit_id, category.sla_hours) == (Line.SERVICES, unit.id, 48)


def test_given_a_category_of_that_name_when_adding_again_then_taken_on_the_same_line_only(session: Session) -> None:
    unit = a_unit(session)
    add_category(session, data=CategoryCreate(name="رفتار ماموران", line=Line.FEEDBACK, default_unit_id=unit.id or 0,
                                              sla_hours=72))
    with pytest.raises(CategoryNameTaken) as refused:
        add_category(session, data=CategoryCreate(name="رفتار  ماموران", line=Line.FEEDBACK,
                                                  default_unit_id=unit.id or 0, sla_hours=72))
    assert refused.value.error_id == "category-name-taken"
    other_line = add_category(session, data=CategoryCreate(name="رفتار ماموران", line=Line.SERVICES,
                                                           default_unit_id=unit.id or 0, sla_hours=72))
    assert other_line.line == Line.SERVICES
    assert len(session.exec(select(Category).where(Category.name == "رفتار ماموران")).all()) == 2


def test_given_an_unknown_unit_or_bad_sla_when_adding_a_category_then_refused(session: Session) -> None:
    with pytest.raises(ValidationFailed) as refused:
        add_category(session, data=CategoryCreate(name="موضوع تازه", line=Line.SERVICES, default_unit_id=987654,
                                                  sla_hours=24))
    assert refused.value.details["field"] == "default_unit_id"
    for hours in ("0", "abc", str(staff.MAX_SLA_HOURS + 1)):
        with pytest.raises(ValidationError):
            CategoryCreate.model_validate({"name": "x", "line": "137", "default_unit_id": 1, "sla_hours": hours})
