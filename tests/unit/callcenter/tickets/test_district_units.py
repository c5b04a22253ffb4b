"""Which unit a ticket of a category in a district goes to, on both databases: the district's override when the
administrator set one, else the category's default; and the rules for adding and removing overrides."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from callcenter.platform.errors import Conflict, NotFound, ValidationFailed
from callcenter.tickets.referral_units import (
    ReferralUnit,
    add_district_unit,
    list_district_units,
    referral_unit,
    remove_district_unit,
)
from db.models import Category, Unit

GARBAGE, WASTE = "جمع‌آوری زباله", "سازمان مدیریت پسماند"
FLOODING = "آب‌گرفتگی معابر و جوی‌ها"  # district one by default; the seed lets districts two and three keep theirs


def unit(session: Session, name: str) -> int:
    found = session.exec(select(Unit).where(Unit.name == name)).one()
    assert found.id is not None
    return found.id


def category(session: Session, name: str = GARBAGE) -> int:
    found = session.exec(select(Category).where(Category.name == name)).one()
    assert found.id is not None
    return found.id


def test_given_no_override_when_asking_for_any_district_then_the_categorys_default_unit(session: Session) -> None:
    garbage, waste = category(session), unit(session, WASTE)
    for district in (None, unit(session, "منطقه یک"), unit(session, "منطقه دو"), unit(session, "منطقه سه")):
        assert referral_unit(session, category_id=garbage, district_id=district) == ReferralUnit(
            unit_id=waste, by_district=False)


def test_given_an_override_for_one_district_when_asking_then_only_that_district_goes_elsewhere(
    session: Session,
) -> None:
    garbage, waste, two, three = (category(session), unit(session, WASTE), unit(session, "منطقه دو"),
                                  unit(session, "منطقه سه"))
    add_district_unit(session, category_id=garbage, district_id=two, unit_id=two)
    assert referral_unit(session, category_id=garbage, district_id=two) == ReferralUnit(unit_id=two, by_district=True)
    assert referral_unit(session, category_id=garbage, district_id=three).unit_id == waste
    assert referral_unit(session, category_id=garbage, district_id=None).unit_id == waste
    # Another category in the same district keeps its own default.
    lighting = category(session, "روشنایی معابر و پارک‌ها")
    assert referral_unit(session, category_id=lighting, district_id=two) == ReferralUnit(
        unit_id=unit(session, "اداره روشنایی و تأسیسات برقی"), by_district=False)


def test_given_the_seed_when_flooding_is_reported_then_districts_two_and_three_handle_theirs_and_others_go_to_one(
    session: Session,
) -> None:
    flooding, one, two, three = (category(session, FLOODING), unit(session, "منطقه یک"), unit(session, "منطقه دو"),
                                 unit(session, "منطقه سه"))
    assert [referral_unit(session, category_id=flooding, district_id=d) for d in (one, two, three, None)] == [
        ReferralUnit(unit_id=one, by_district=False), ReferralUnit(unit_id=two, by_district=True),
        ReferralUnit(unit_id=three, by_district=True), ReferralUnit(unit_id=one, by_district=False)]


def test_given_an_override_when_removed_then_the_district_falls_back_to_the_default(session: Session) -> None:
    garbage, waste, two = category(session), unit(session, WASTE), unit(session, "منطقه دو")
    override = add_district_unit(session, category_id=garbage, district_id=two, unit_id=two)
    listed = [row for row in list_district_units(session) if row.category_name == GARBAGE]
    assert [(row.district_name, row.unit_name) for row in listed] == [("منطقه دو", "منطقه دو")]
    assert override.id is not None
    remove_district_unit(session, override_id=override.id)
    assert referral_unit(session, category_id=garbage, district_id=two).unit_id == waste
    assert [row for row in list_district_units(session) if row.category_name == GARBAGE] == []
    with pytest.raises(NotFound):
        remove_district_unit(session, override_id=override.id)


def test_given_an_override_for_a_pair_when_a_second_is_added_then_refused_and_the_first_stays(
    session: Session,
) -> None:
    garbage, two = category(session), unit(session, "منطقه دو")
    add_district_unit(session, category_id=garbage, district_id=two, unit_id=two)
    with pytest.raises(Conflict):
        add_district_unit(session, category_id=garbage, district_id=two, unit_id=unit(session, "منطقه سه"))
    assert referral_unit(session, category_id=garbage, district_id=two).unit_id == two


def test_given_a_unit_that_is_not_a_district_when_used_as_the_district_then_refused(session: Session) -> None:
    before = list_district_units(session)
    with pytest.raises(ValidationFailed) as caught:
        add_district_unit(session, category_id=category(session), district_id=unit(session, WASTE),
                          unit_id=unit(session, "منطقه دو"))
    assert caught.value.details == {"field": "district_id"}
    assert list_district_units(session) == before


def test_given_an_unknown_category_when_asking_for_its_unit_then_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        referral_unit(session, category_id=999_999, district_id=None)
