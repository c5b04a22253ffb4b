"""The conflict-of-interest rules, each on both databases: ``can_see`` and the SQL of ``visible_to`` agree."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from callcenter.complaints.access import can_see, conflicted, desk_for_target, may_see_id, visible_complaints
from callcenter.complaints.tracking_code import new_complaint_code
from db.models import Complaint, ComplaintDesk, ComplaintGround, Role, Unit, UnitKind, User

INSPECTION = "مدیریت بازرسی"
WASTE = "سازمان مدیریت پسماند"
SERVICES_DEPUTY = "معاونت خدمات شهری"


def unit(session: Session, name: str) -> Unit:
    return session.exec(select(Unit).where(Unit.name == name)).one()


def add_unit(session: Session, name: str, kind: UnitKind, parent: Unit | None, *, office: bool = False) -> Unit:
    row = Unit(name=name, kind=kind, parent_id=parent.id if parent else None, inspection_office=office)
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def person(session: Session, username: str, role: Role, at: Unit | None, *, active: bool = True) -> User:
    user = User(username=username, full_name=username, role=role, password_hash="-",
                unit_id=at.id if at else None, is_active=active)
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def complaint_about(session: Session, target: Unit) -> Complaint:
    assert target.id is not None
    row = Complaint(tracking_code=new_complaint_code(), desk=desk_for_target(session, target.id),
                    target_unit_id=target.id, ground=ComplaintGround.DUTY_FAILURE, description="شرح شکایت")
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def listed_for(session: Session, user: User) -> set[int]:
    return {row.id for row in session.exec(visible_complaints(session, user)).all() if row.id is not None}


def sees(session: Session, user: User, complaint: Complaint) -> bool:
    """``can_see``, after checking that the list query, the id check and the single-row rule say the same."""
    assert complaint.id is not None
    verdict = can_see(session, user, complaint)
    assert (complaint.id in listed_for(session, user)) == verdict
    assert may_see_id(session, user, complaint.id) == verdict
    return verdict


def test_given_a_complaint_about_a_unit_when_an_inspector_of_the_office_asks_then_they_see_it(
    session: Session,
) -> None:
    inspector = person(session, "insp", Role.INSPECTOR, unit(session, INSPECTION))
    head = person(session, "head", Role.HEAD_OF_INSPECTION, unit(session, INSPECTION))
    complaint = complaint_about(session, unit(session, WASTE))
    assert complaint.desk == ComplaintDesk.INSPECTION
    assert sees(session, inspector, complaint) and sees(session, head, complaint)


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN, Role.UNIT_LIAISON,
                                  Role.FIELD_SUPERVISOR, Role.DESK, Role.VIEWER, Role.CITIZEN])
def test_given_any_other_role_when_it_asks_about_an_inspection_desk_complaint_then_refused(
    session: Session, role: Role,
) -> None:
    complaint = complaint_about(session, unit(session, WASTE))
    for where in (None, unit(session, WASTE), unit(session, INSPECTION)):
        user = person(session, f"{role.value}-{where.id if where else 0}", role, where)
        assert not sees(session, user, complaint), (role, where)


def test_given_a_complaint_about_the_inspection_office_when_asked_then_only_the_mayor_s_office_sees_it(
    session: Session,
) -> None:
    office = unit(session, INSPECTION)
    inner = add_unit(session, "دفتر بازرسی منطقه‌ای", UnitKind.DEPARTMENT, office)
    mayor = person(session, "mayor", Role.VIEWER, None)
    inspector = person(session, "insp", Role.INSPECTOR, office)
    head = person(session, "head", Role.HEAD_OF_INSPECTION, office)
    for target in (office, inner):
        complaint = complaint_about(session, target)
        assert complaint.desk == ComplaintDesk.MAYOR_OFFICE
        assert sees(session, mayor, complaint)
        assert not sees(session, inspector, complaint) and not sees(session, head, complaint)


def test_given_an_office_placed_under_a_deputy_when_someone_complains_about_that_deputy_then_the_mayor_s_office(
    session: Session,
) -> None:
    deputy = add_unit(session, "معاونت برنامه‌ریزی", UnitKind.DEPUTY, None)
    office = unit(session, INSPECTION)
    office.parent_id = deputy.id
    session.add(office)
    session.commit()
    complaint = complaint_about(session, deputy)
    assert complaint.desk == ComplaintDesk.MAYOR_OFFICE  # on the inspection desk no one could have seen it
    assert sees(session, person(session, "mayor", Role.VIEWER, None), complaint)
    assert not sees(session, person(session, "insp", Role.INSPECTOR, office), complaint)


def test_given_a_deep_tree_when_a_complaint_is_about_a_deputy_then_no_one_under_it_nor_above_it_sees_it(
    session: Session,
) -> None:
    office = unit(session, INSPECTION)
    deputy = unit(session, SERVICES_DEPUTY)
    organisation = unit(session, WASTE)  # under the deputy
    department = add_unit(session, "اداره پسماند منطقه دو", UnitKind.DEPARTMENT, organisation)
    section = add_unit(session, "واحد جمع‌آوری شبانه", UnitKind.DEPARTMENT, department)
    about_deputy = complaint_about(session, deputy)
    about_section = complaint_about(session, section)
    colleague = person(session, "colleague", Role.INSPECTOR, office)
    assert sees(session, colleague, about_deputy) and sees(session, colleague, about_section)
    # An inspector whose account says they work in the deep section (seconded, or a wrong entry): not of the
    # office, so nothing at all; the conflict rule alone would also refuse both complaints.
    seconded = person(session, "seconded", Role.INSPECTOR, section)
    assert not sees(session, seconded, about_deputy) and not sees(session, seconded, about_section)
    assert conflicted(session, seconded, about_deputy) and conflicted(session, seconded, about_section)
    # The mayor's office staff placed in the deputy (their unit set) are conflicted about the whole branch.
    mayor_at_deputy = person(session, "mayor.deputy", Role.VIEWER, deputy)
    assert conflicted(session, mayor_at_deputy, about_section) and conflicted(session, mayor_at_deputy, about_deputy)
    sibling = unit(session, "سازمان حمل و نقل و ترافیک")
    assert not conflicted(session, mayor_at_deputy, complaint_about(session, sibling))


def test_given_an_inspector_in_a_district_under_a_deputy_when_the_complaint_is_about_the_deputy_then_conflicted(
    session: Session,
) -> None:
    office = unit(session, INSPECTION)
    deputy = unit(session, SERVICES_DEPUTY)
    district_office = add_unit(session, "بازرسی مستقر در پسماند", UnitKind.DEPARTMENT, unit(session, WASTE))
    complaint = complaint_about(session, deputy)
    # Even a unit flagged as part of the inspection office, if it sits under the deputy, is conflicted about it.
    district_office.inspection_office = True
    session.add(district_office)
    session.commit()
    placed = person(session, "placed", Role.INSPECTOR, district_office)
    assert conflicted(session, placed, complaint) and not sees(session, placed, complaint)
    assert sees(session, person(session, "insp", Role.INSPECTOR, office), complaint)


def test_given_an_inspector_without_a_unit_when_they_ask_then_they_see_no_complaint(session: Session) -> None:
    complaint = complaint_about(session, unit(session, WASTE))
    for role in (Role.INSPECTOR, Role.HEAD_OF_INSPECTION):
        assert not sees(session, person(session, f"unplaced-{role.value}", role, None), complaint)
    assert not sees(session, person(session, "elsewhere", Role.INSPECTOR, unit(session, "منطقه یک")), complaint)


def test_given_an_inactive_account_when_it_asks_then_it_sees_nothing(session: Session) -> None:
    office = unit(session, INSPECTION)
    complaint = complaint_about(session, unit(session, WASTE))
    about_office = complaint_about(session, office)
    assert not sees(session, person(session, "gone", Role.INSPECTOR, office, active=False), complaint)
    assert not sees(session, person(session, "gone.mayor", Role.VIEWER, None, active=False), about_office)


def test_given_an_inspector_with_a_conflict_when_listing_then_only_the_others_complaints(session: Session) -> None:
    office = unit(session, INSPECTION)
    inspector = person(session, "insp", Role.INSPECTOR, office)
    waste = complaint_about(session, unit(session, WASTE))
    lighting = complaint_about(session, unit(session, "اداره روشنایی و تأسیسات برقی"))
    assert listed_for(session, inspector) == {waste.id, lighting.id}
    conflicted_inspector = person(session, "insp.waste", Role.INSPECTOR, office)
    # The same inspector moved (on paper) to the waste organisation: outside the office, nothing.
    conflicted_inspector.unit_id = unit(session, WASTE).id
    session.add(conflicted_inspector)
    session.commit()
    assert listed_for(session, conflicted_inspector) == set()
    assert not may_see_id(session, inspector, 999_999)  # an unknown id is refused, not an error


def test_given_a_cycle_in_the_unit_tree_when_asked_then_the_walk_ends(session: Session) -> None:
    first = add_unit(session, "واحد الف", UnitKind.DEPARTMENT, None)
    second = add_unit(session, "واحد ب", UnitKind.DEPARTMENT, first)
    first.parent_id = second.id
    session.add(first)
    session.commit()
    complaint = complaint_about(session, second)
    assert sees(session, person(session, "insp", Role.INSPECTOR, unit(session, INSPECTION)), complaint)
