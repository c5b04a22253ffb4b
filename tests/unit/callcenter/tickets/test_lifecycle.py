"""The ticket lifecycle: the transition table alone, then applied to tickets on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, func, select

from agent_console.vocabulary import page_vocabulary
from callcenter.platform.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PasokhError,
    PermissionDenied,
    ValidationFailed,
)
from callcenter.tickets.lifecycle import FINAL_STATUSES, STATUS_NAMES, TRANSITIONS, apply_action, history, next_status
from callcenter.tickets.store import OPEN_STATUSES, VoiceMessage, create_ticket, create_voice_message_ticket
from callcenter.tickets.unit_receipts import rebuild_summaries
from db.models import (
    Category,
    FieldVerdict,
    Role,
    Ticket,
    TicketAction,
    TicketCreate,
    TicketStatus,
    TicketTransition,
    Unit,
    UnitReceipt,
    User,
)
from tests.support.hypothesis_profiles import examples

S, A, V = TicketStatus, TicketAction, FieldVerdict
# The graph as issue 6 describes it, written out independently of the module's table.
EXPECTED_EDGES = {
    (S.REGISTERED, A.REFER, None): S.REFERRED,
    (S.REGISTERED, A.CANCEL, None): S.CANCELLED,
    (S.REFERRED, A.ACCEPT, None): S.ACCEPTED,
    (S.REFERRED, A.DECLINE, None): S.REGISTERED,
    (S.REFERRED, A.RE_REFER, None): S.REFERRED,
    (S.REFERRED, A.CANCEL, None): S.CANCELLED,
    (S.ACCEPTED, A.REPORT_DONE, None): S.DONE,
    (S.ACCEPTED, A.RE_REFER, None): S.REFERRED,
    (S.ACCEPTED, A.CANCEL, None): S.CANCELLED,
    (S.DONE, A.REQUEST_VERIFICATION, None): S.AWAITING_VERIFICATION,
    (S.AWAITING_VERIFICATION, A.VERIFY_RESOLVED, None): S.VERIFIED,
    (S.AWAITING_VERIFICATION, A.VERIFY_NOT_RESOLVED, None): S.REOPENED,
    (S.REOPENED, A.ACCEPT, None): S.ACCEPTED,
    (S.REOPENED, A.DISPUTE, None): S.DISPUTED,
    (S.REOPENED, A.RE_REFER, None): S.REFERRED,
    (S.REOPENED, A.CANCEL, None): S.CANCELLED,
    (S.DISPUTED, A.FIELD_VERDICT, V.CITIZEN_RIGHT): S.REOPENED,
    (S.DISPUTED, A.FIELD_VERDICT, V.UNIT_RIGHT): S.CLOSED_ON_VERDICT,
    (S.DISPUTED, A.FIELD_VERDICT, V.PARTLY): S.REOPENED,
}


# --- The pure transition table ---------------------------------------------------------------------------

@pytest.mark.parametrize(("edge", "target"), list(EXPECTED_EDGES.items()), ids=lambda v: str(v))
def test_given_an_edge_of_the_graph_when_its_action_is_taken_then_the_ticket_moves_to_its_target(
    edge: tuple[TicketStatus, TicketAction, FieldVerdict | None], target: TicketStatus,
) -> None:
    status, action, verdict = edge
    assert next_status(status, action, verdict) == target


def test_given_the_table_then_it_has_exactly_the_edges_of_the_issue_and_no_more() -> None:
    assert dict(TRANSITIONS) == EXPECTED_EDGES


@pytest.mark.parametrize(("status", "action"), [
    (S.REGISTERED, A.ACCEPT),
    (S.REGISTERED, A.REPORT_DONE),
    (S.REFERRED, A.REPORT_DONE),
    (S.ACCEPTED, A.DISPUTE),
    (S.DONE, A.VERIFY_RESOLVED),
    (S.AWAITING_VERIFICATION, A.CANCEL),
    (S.VERIFIED, A.VERIFY_NOT_RESOLVED),
    (S.CLOSED_ON_VERDICT, A.RE_REFER),
    (S.CANCELLED, A.REFER),
    (S.DISPUTED, A.ACCEPT),
])
def test_given_an_action_that_is_not_an_edge_when_taken_then_refused_naming_the_current_status_in_persian(
    status: TicketStatus, action: TicketAction,
) -> None:
    with pytest.raises(InvalidTransition) as caught:
        next_status(status, action)
    assert caught.value.error_id == "invalid-transition"
    assert STATUS_NAMES[status] in caught.value.message
    assert caught.value.details == {"status": status.value, "action": action.value}


def test_given_a_dispute_when_the_field_verdict_has_no_finding_then_the_verdict_field_is_asked_for() -> None:
    with pytest.raises(ValidationFailed) as caught:
        next_status(S.DISPUTED, A.FIELD_VERDICT)
    assert caught.value.details == {"field": "verdict"}


def test_given_an_action_other_than_the_verdict_when_a_finding_is_passed_then_it_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        next_status(S.REFERRED, A.ACCEPT, V.UNIT_RIGHT)
    assert caught.value.details == {"field": "verdict"}


def test_given_the_graph_then_final_statuses_have_no_way_out_and_every_other_status_has_one() -> None:
    sources = {status for status, _, _ in TRANSITIONS}
    assert sources == set(TicketStatus) - FINAL_STATUSES
    assert {S.VERIFIED, S.CLOSED_ON_VERDICT, S.CANCELLED} == FINAL_STATUSES


def test_given_the_graph_then_every_status_is_reachable_from_registered() -> None:
    reached, frontier = {S.REGISTERED}, [S.REGISTERED]
    while frontier:
        status = frontier.pop()
        for (source, _, _), target in TRANSITIONS.items():
            if source == status and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(TicketStatus)


def test_given_the_statuses_then_open_ones_are_exactly_those_not_final() -> None:
    assert set(OPEN_STATUSES) == set(TicketStatus) - FINAL_STATUSES
    assert S.REOPENED in OPEN_STATUSES and S.VERIFIED not in OPEN_STATUSES


def test_given_the_console_then_every_status_has_a_persian_name_in_its_history_table() -> None:
    named = {value for value, name in page_vocabulary(Role.OPERATOR)["statuses"].items() if name}  # what pages show
    assert named == {status.value for status in TicketStatus}


def draw_action(data: st.DataObject, status: TicketStatus) -> TicketAction:
    """An action the status has an edge for half of the time (so sequences go deep), any action otherwise.

    Cancelling is left to the "any action" half: it ends every sequence it is drawn in.
    """
    fitting = sorted({action for source, action, _ in EXPECTED_EDGES if source == status} - {A.CANCEL})
    return data.draw(st.sampled_from(fitting or list(TicketAction)) | st.sampled_from(TicketAction), label="action")


@settings(max_examples=examples(300))
@given(data=st.data())
def test_given_any_sequence_of_actions_from_registered_when_applied_to_the_table_then_states_stay_valid(
    data: st.DataObject,
) -> None:
    status, steps = S.REGISTERED, []
    for _ in range(data.draw(st.integers(min_value=1, max_value=60), label="length")):
        action = draw_action(data, status)
        verdict = data.draw(st.none() | st.sampled_from(FieldVerdict), label="verdict")
        steps.append((action, verdict))
        try:
            after = next_status(status, action, verdict)
        except (InvalidTransition, ValidationFailed):
            continue  # refused: the status is untouched, which the next iteration starts from
        assert after in TicketStatus
        assert (status, action, verdict) in EXPECTED_EDGES
        status = after
    event(f"ended {status.value}")
    if status in FINAL_STATUSES:
        for action, verdict in steps:
            with pytest.raises((InvalidTransition, ValidationFailed)):
                next_status(status, action, verdict)


# --- Applied to tickets in the database ------------------------------------------------------------------

@dataclass(frozen=True)
class Staff:
    operator: User
    supervisor: User
    liaison: User          # of the ticket's first unit
    other_liaison: User    # of the unit it may be re-referred to
    field_supervisor: User
    viewer: User
    unit: Unit
    other_unit: Unit


def a_user(session: Session, username: str, role: Role, unit: Unit | None = None) -> User:
    user = User(username=username, full_name=f"کاربر {username}", role=role, password_hash="-",
                unit_id=unit.id if unit else None)
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


@pytest.fixture
def staff(session: Session) -> Staff:
    category = session.exec(select(Category).where(col(Category.default_unit_id).is_not(None))).first()
    assert category is not None
    unit = session.get(Unit, category.default_unit_id)
    other_unit = session.exec(select(Unit).where(Unit.id != category.default_unit_id)).first()
    assert unit is not None and other_unit is not None
    return Staff(
        operator=a_user(session, "op", Role.OPERATOR),
        supervisor=a_user(session, "sup", Role.SUPERVISOR),
        liaison=a_user(session, "liaison", Role.UNIT_LIAISON, unit),
        other_liaison=a_user(session, "liaison2", Role.UNIT_LIAISON, other_unit),
        field_supervisor=a_user(session, "field", Role.FIELD_SUPERVISOR),
        viewer=a_user(session, "viewer", Role.VIEWER),
        unit=unit,
        other_unit=other_unit,
    )


def a_ticket(session: Session, staff: Staff) -> int:
    category = session.exec(select(Category).where(Category.default_unit_id == staff.unit.id)).first()
    assert category is not None
    request = TicketCreate.model_validate(
        {"category_id": category.id, "unit_id": staff.unit.id, "description": "چراغ کوچه خاموش است"})
    ticket = create_ticket(session, data=request, created_by=staff.operator)
    assert ticket.id is not None
    return ticket.id


def transition_count(session: Session, ticket_id: int) -> int:
    return session.exec(
        select(func.count()).select_from(TicketTransition).where(TicketTransition.ticket_id == ticket_id)
    ).one()


def status_of(session: Session, ticket_id: int) -> TicketStatus:
    ticket = session.get(Ticket, ticket_id)
    assert ticket is not None
    session.refresh(ticket)
    return ticket.status


def referred(session: Session, staff: Staff) -> int:
    ticket_id = a_ticket(session, staff)
    apply_action(session, ticket_id=ticket_id, action=A.REFER, actor=staff.operator, unit_id=staff.unit.id)
    return ticket_id


def test_given_a_registered_ticket_when_an_operator_refers_it_then_status_and_one_full_transition_are_stored(
    session: Session, staff: Staff,
) -> None:
    ticket_id = a_ticket(session, staff)
    transition = apply_action(session, ticket_id=ticket_id, action=A.REFER, actor=staff.operator,
                              unit_id=staff.unit.id, note="  فوري  ")
    assert status_of(session, ticket_id) == S.REFERRED
    assert (transition.from_status, transition.to_status, transition.action) == (S.REGISTERED, S.REFERRED, A.REFER)
    assert (transition.actor_id, transition.actor_role) == (staff.operator.id, Role.OPERATOR)
    assert transition.note == "فوری"
    assert transition.to_unit_id == staff.unit.id
    assert transition.at.tzinfo == UTC
    [public] = history(session, ticket_id)
    assert public.actor_name == staff.operator.full_name and public.to_unit_name == staff.unit.name


def test_given_the_whole_road_with_a_reopen_and_a_partial_verdict_when_walked_then_the_history_is_chained(
    session: Session, staff: Staff,
) -> None:
    ticket_id = referred(session, staff)
    steps: list[tuple[TicketAction, User, dict[str, object]]] = [
        (A.ACCEPT, staff.liaison, {}),
        (A.REPORT_DONE, staff.liaison, {"note": "لامپ عوض شد"}),
        (A.REQUEST_VERIFICATION, staff.supervisor, {}),
        (A.VERIFY_NOT_RESOLVED, staff.operator, {"note": "هنوز شب‌ها خاموش است"}),
        (A.DISPUTE, staff.liaison, {"note": "بازدید کردیم، روشن بود"}),
        (A.FIELD_VERDICT, staff.field_supervisor, {"verdict": V.PARTLY, "note": "یکی از دو چراغ خراب است"}),
        (A.ACCEPT, staff.liaison, {}),
        (A.REPORT_DONE, staff.liaison, {"note": "چراغ دوم هم عوض شد"}),
        (A.REQUEST_VERIFICATION, staff.operator, {}),
        (A.VERIFY_RESOLVED, staff.supervisor, {}),
    ]
    for action, actor, extra in steps:
        apply_action(session, ticket_id=ticket_id, action=action, actor=actor, **extra)  # type: ignore[arg-type]
    steps_taken = history(session, ticket_id)
    assert [step.action for step in steps_taken] == [A.REFER, *(action for action, _, _ in steps)]
    assert steps_taken[0].from_status == S.REGISTERED
    assert all(later.from_status == earlier.to_status for earlier, later in pairwise(steps_taken))
    assert steps_taken[-1].to_status == status_of(session, ticket_id) == S.VERIFIED
    assert steps_taken[4].note == "هنوز شب‌ها خاموش است"
    assert steps_taken[6].verdict == V.PARTLY and steps_taken[6].to_status == S.REOPENED


@pytest.mark.parametrize(("action", "who", "extra"), [
    (A.ACCEPT, "operator", {}),
    (A.ACCEPT, "supervisor", {}),
    (A.ACCEPT, "other_liaison", {}),
    (A.RE_REFER, "liaison", {"unit": "other"}),
    (A.RE_REFER, "viewer", {"unit": "other"}),
    (A.CANCEL, "operator", {"note": "تکراری"}),
    (A.DECLINE, "other_liaison", {"note": "مربوط به ما نیست"}),
])
def test_given_a_referred_ticket_when_someone_without_the_right_takes_an_action_then_refused_and_nothing_changes(
    session: Session, staff: Staff, action: TicketAction, who: str, extra: dict[str, str],
) -> None:
    ticket_id = referred(session, staff)
    unit_id = staff.other_unit.id if extra.get("unit") == "other" else None
    with pytest.raises(PermissionDenied) as caught:
        apply_action(session, ticket_id=ticket_id, action=action, actor=getattr(staff, who),
                     note=extra.get("note", ""), unit_id=unit_id)
    assert caught.value.error_id == "permission-denied"
    assert status_of(session, ticket_id) == S.REFERRED
    assert transition_count(session, ticket_id) == 1


def test_given_a_deactivated_supervisor_when_cancelling_then_refused(session: Session, staff: Staff) -> None:
    ticket_id = referred(session, staff)
    staff.supervisor.is_active = False
    with pytest.raises(PermissionDenied):
        apply_action(session, ticket_id=ticket_id, action=A.CANCEL, actor=staff.supervisor, note="تکراری")
    assert status_of(session, ticket_id) == S.REFERRED


def walk_to(session: Session, staff: Staff, target: TicketStatus) -> int:
    """A referred ticket taken along the main road until it is in ``target``."""
    ticket_id = referred(session, staff)
    road = [(A.ACCEPT, staff.liaison, ""), (A.REPORT_DONE, staff.liaison, "لامپ عوض شد"),
            (A.REQUEST_VERIFICATION, staff.operator, ""), (A.VERIFY_NOT_RESOLVED, staff.operator, "درست نشده"),
            (A.DISPUTE, staff.liaison, "انجام شده")]
    for action, actor, note in road:
        if status_of(session, ticket_id) == target:
            break
        apply_action(session, ticket_id=ticket_id, action=action, actor=actor, note=note)
    assert status_of(session, ticket_id) == target
    return ticket_id


@pytest.mark.parametrize(("at", "action", "who", "verdict"), [
    (S.AWAITING_VERIFICATION, A.VERIFY_NOT_RESOLVED, "operator", None),
    (S.REOPENED, A.DISPUTE, "liaison", None),
    (S.DISPUTED, A.FIELD_VERDICT, "field_supervisor", V.PARTLY),
    (S.REFERRED, A.DECLINE, "liaison", None),
    (S.ACCEPTED, A.CANCEL, "supervisor", None),
    (S.ACCEPTED, A.REPORT_DONE, "liaison", None),
])
def test_given_an_action_that_needs_words_when_the_note_is_blank_then_the_note_is_asked_for_and_nothing_changes(
    session: Session, staff: Staff, at: TicketStatus, action: TicketAction, who: str, verdict: FieldVerdict | None,
) -> None:
    ticket_id = walk_to(session, staff, at)
    rows = transition_count(session, ticket_id)
    with pytest.raises(ValidationFailed) as caught:
        apply_action(session, ticket_id=ticket_id, action=action, actor=getattr(staff, who), note=" \n ",
                     verdict=verdict)
    assert caught.value.details == {"field": "note"}
    assert status_of(session, ticket_id) == at and transition_count(session, ticket_id) == rows


@pytest.mark.parametrize(("verdict", "after"), [
    (V.CITIZEN_RIGHT, S.REOPENED), (V.UNIT_RIGHT, S.CLOSED_ON_VERDICT),
])
def test_given_a_dispute_when_the_field_supervisor_rules_then_the_verdict_closes_or_reopens_it(
    session: Session, staff: Staff, verdict: FieldVerdict, after: TicketStatus,
) -> None:
    ticket_id = walk_to(session, staff, S.DISPUTED)
    transition = apply_action(session, ticket_id=ticket_id, action=A.FIELD_VERDICT, actor=staff.field_supervisor,
                              verdict=verdict)
    assert transition.verdict == verdict and status_of(session, ticket_id) == after


def test_given_a_ticket_with_one_unit_when_re_referred_then_the_new_unit_holds_it_and_the_old_history_stays(
    session: Session, staff: Staff,
) -> None:
    ticket_id = walk_to(session, staff, S.ACCEPTED)
    before = history(session, ticket_id)
    apply_action(session, ticket_id=ticket_id, action=A.RE_REFER, actor=staff.supervisor,
                 unit_id=staff.other_unit.id, note="موضوع مربوط به منطقه است")
    with pytest.raises(PermissionDenied):
        apply_action(session, ticket_id=ticket_id, action=A.ACCEPT, actor=staff.liaison)
    apply_action(session, ticket_id=ticket_id, action=A.ACCEPT, actor=staff.other_liaison)
    after = history(session, ticket_id)
    assert after[:len(before)] == before
    re_referral = after[len(before)]
    assert (re_referral.from_unit_id, re_referral.to_unit_id) == (staff.unit.id, staff.other_unit.id)
    assert re_referral.from_unit_name == staff.unit.name and re_referral.to_unit_name == staff.other_unit.name
    ticket = session.get(Ticket, ticket_id)
    assert ticket is not None and ticket.unit_id == staff.other_unit.id and ticket.status == S.ACCEPTED


@pytest.mark.parametrize(("action", "unit", "field"), [
    (A.REFER, None, "unit_id"),
    (A.REFER, 999_999, "unit_id"),
    (A.RE_REFER, "same", "unit_id"),
])
def test_given_a_referral_without_a_real_new_unit_when_taken_then_the_unit_is_asked_for(
    session: Session, staff: Staff, action: TicketAction, unit: object, field: str,
) -> None:
    ticket_id = a_ticket(session, staff) if action == A.REFER else referred(session, staff)
    unit_id = staff.unit.id if unit == "same" else unit
    with pytest.raises(ValidationFailed) as caught:
        apply_action(session, ticket_id=ticket_id, action=action, actor=staff.operator, unit_id=unit_id)  # type: ignore[arg-type]
    assert caught.value.details == {"field": field}


def test_given_an_action_that_is_not_a_referral_when_a_unit_is_passed_then_refused(
    session: Session, staff: Staff,
) -> None:
    ticket_id = referred(session, staff)
    with pytest.raises(ValidationFailed) as caught:
        apply_action(session, ticket_id=ticket_id, action=A.ACCEPT, actor=staff.liaison, unit_id=staff.other_unit.id)
    assert caught.value.details == {"field": "unit_id"}


def test_given_an_unclassified_voice_message_when_referred_then_it_must_be_classified_first(
    session: Session, staff: Staff,
) -> None:
    ticket = create_voice_message_ticket(session, message=VoiceMessage(line="137", linkedid="m-1",
                                                                       caller_number=None, recording="m-1.wav"))
    assert ticket.id is not None
    with pytest.raises(ValidationFailed) as caught:
        apply_action(session, ticket_id=ticket.id, action=A.REFER, actor=staff.operator, unit_id=staff.unit.id)
    assert caught.value.details == {"field": "category_id"}


def test_given_an_unknown_ticket_when_acting_or_reading_history_then_not_found(
    session: Session, staff: Staff,
) -> None:
    with pytest.raises(NotFound):
        apply_action(session, ticket_id=999_999, action=A.REFER, actor=staff.operator, unit_id=staff.unit.id)
    with pytest.raises(NotFound):
        history(session, 999_999)


def test_given_two_supervisors_saw_the_same_status_when_both_act_then_the_second_is_a_conflict(
    session: Session, staff: Staff,
) -> None:
    ticket_id = walk_to(session, staff, S.AWAITING_VERIFICATION)
    apply_action(session, ticket_id=ticket_id, action=A.VERIFY_RESOLVED, actor=staff.supervisor,
                 expected_status=S.AWAITING_VERIFICATION)
    with pytest.raises(Conflict) as caught:
        apply_action(session, ticket_id=ticket_id, action=A.VERIFY_NOT_RESOLVED, actor=staff.operator,
                     note="درست نشده", expected_status=S.AWAITING_VERIFICATION)
    assert caught.value.error_id == "conflict"
    assert STATUS_NAMES[S.VERIFIED] in caught.value.message
    assert status_of(session, ticket_id) == S.VERIFIED
    assert history(session, ticket_id)[-1].action == A.VERIFY_RESOLVED


def test_given_a_session_holding_a_stale_ticket_when_another_moved_it_meanwhile_then_the_step_is_refused(
    session: Session, staff: Staff,
) -> None:
    ticket_id = walk_to(session, staff, S.AWAITING_VERIFICATION)
    session.commit()  # the test is the edge here: what it walked is stored before the other session moves it
    stale = session.get(Ticket, ticket_id)
    assert stale is not None and stale.status == S.AWAITING_VERIFICATION  # loaded, and kept, by this session
    bind = session.get_bind()
    with Session(bind) as other:
        apply_action(other, ticket_id=ticket_id, action=A.VERIFY_RESOLVED, actor=staff.supervisor)
        other.commit()
        rows = transition_count(other, ticket_id)
    with pytest.raises(Conflict):
        apply_action(session, ticket_id=ticket_id, action=A.VERIFY_NOT_RESOLVED, actor=staff.operator,
                     note="درست نشده")
    assert transition_count(session, ticket_id) == rows
    assert status_of(session, ticket_id) == S.VERIFIED


# --- Property: any sequence through the database keeps status and history consistent ----------------------

# Whoever normally takes each action ("the unit": the liaison of the ticket's unit at that moment).
USUAL_ACTOR = {
    A.REFER: "operator", A.RE_REFER: "supervisor", A.ACCEPT: "the unit", A.DECLINE: "the unit",
    A.REPORT_DONE: "the unit", A.DISPUTE: "the unit", A.REQUEST_VERIFICATION: "operator",
    A.VERIFY_RESOLVED: "supervisor", A.VERIFY_NOT_RESOLVED: "operator", A.FIELD_VERDICT: "field_supervisor",
    A.CANCEL: "supervisor",
}
ACTORS = ("operator", "supervisor", "liaison", "other_liaison", "field_supervisor", "viewer")
NOTES = ("", "  ", "شهروند می‌گوید هنوز درست نشده")
UNITS = (None, "unit", "other_unit")


@dataclass(frozen=True)
class Step:
    action: TicketAction
    who: str
    note: str
    verdict: FieldVerdict | None
    unit: str | None


def draw_step(data: st.DataObject, status: TicketStatus, holder: str) -> Step:
    """Half of the steps fit the ticket (so sequences go deep into the graph); the others are anything at all."""
    if not data.draw(st.booleans(), label="fitting"):
        return Step(action=data.draw(st.sampled_from(TicketAction), label="action"),
                    who=data.draw(st.sampled_from(ACTORS), label="actor"),
                    note=data.draw(st.sampled_from(NOTES), label="note"),
                    verdict=data.draw(st.none() | st.sampled_from(FieldVerdict), label="verdict"),
                    unit=data.draw(st.sampled_from(UNITS), label="unit"))
    action = draw_action(data, status)
    verdict = data.draw(st.sampled_from(FieldVerdict), label="verdict") if action == A.FIELD_VERDICT else None
    referral_unit = "other_unit" if holder == "unit" else "unit"
    return Step(action=action, who=USUAL_ACTOR[action], note=NOTES[-1], verdict=verdict,
                unit=referral_unit if action in (A.REFER, A.RE_REFER) else None)


def holder_of(session: Session, staff: Staff, ticket_id: int) -> str:
    ticket = session.get(Ticket, ticket_id)
    assert ticket is not None
    return "unit" if ticket.unit_id == staff.unit.id else "other_unit"


def the_actor(staff: Staff, who: str, holder: str) -> User:
    if who == "the unit":
        return staff.liaison if holder == "unit" else staff.other_liaison
    actor: User = getattr(staff, who)
    return actor


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_given_any_sequence_of_actions_by_anyone_when_applied_then_status_and_history_agree(
    session: Session, staff: Staff, data: st.DataObject,
) -> None:
    ticket_id = a_ticket(session, staff)
    accepted = 0
    for _ in range(data.draw(st.integers(min_value=1, max_value=30), label="length")):
        before, rows = status_of(session, ticket_id), transition_count(session, ticket_id)
        holder = holder_of(session, staff, ticket_id)
        step = draw_step(data, before, holder)
        unit_id = getattr(staff, step.unit).id if step.unit else None
        try:
            transition = apply_action(session, ticket_id=ticket_id, action=step.action,
                                      actor=the_actor(staff, step.who, holder), note=step.note,
                                      unit_id=unit_id, verdict=step.verdict)
        except PasokhError:
            assert status_of(session, ticket_id) == before
            assert transition_count(session, ticket_id) == rows
            continue
        accepted += 1
        assert transition.to_status == EXPECTED_EDGES[(before, step.action, step.verdict)]
    steps_taken = history(session, ticket_id)
    event(f"{accepted} steps accepted")
    event(f"ended {status_of(session, ticket_id).value}")
    assert len(steps_taken) == accepted
    assert all(later.from_status == earlier.to_status for earlier, later in pairwise(steps_taken))
    if steps_taken:
        assert steps_taken[0].from_status == S.REGISTERED
        assert steps_taken[-1].to_status == status_of(session, ticket_id)
    else:
        assert status_of(session, ticket_id) == S.REGISTERED
    kept = unit_receipts(session)
    rebuild_summaries(session)
    assert unit_receipts(session) == kept  # what each step kept is what the history recomputes


def unit_receipts(session: Session) -> list[tuple[object, ...]]:
    """The scorecard's summary rows as plain values, in referral order (the row ids are the store's own)."""
    rows = session.exec(select(UnitReceipt).order_by(col(UnitReceipt.referral_id))).all()
    return [tuple(value for name, value in row.model_dump().items() if name != "id") for row in rows]
