"""Table models and the public schemas that leave the API (secrets never do)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from annotated_types import Interval
from pydantic import StringConstraints
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

# A row id as the API accepts it. Both databases keep 64-bit signed integers: a bigger number would reach the
# database and fail there (a 500) instead of being refused as invalid data.
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Interval(ge=1, le=MAX_ROW_ID)]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same on SQLite (no time zones) and PostgreSQL."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class EnumAsString(sa.types.TypeDecorator[enum.StrEnum]):
    """A plain VARCHAR in the database (no native enum to migrate), the enum member in Python."""

    impl = sa.String
    cache_ok = True

    def __init__(self, enum_class: type[enum.StrEnum], length: int) -> None:
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: enum.StrEnum | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> enum.StrEnum | None:
        return None if value is None else self.enum_class(value)


def _when(*, nullable: bool = True, index: bool = False) -> datetime | None:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class Role(enum.StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    UNIT_LIAISON = "unit_liaison"
    FIELD_SUPERVISOR = "field_supervisor"
    INSPECTOR = "inspector"
    # Leads the inspection office: assigns complaints, receives SLA escalations, reads the identity audit log.
    HEAD_OF_INSPECTION = "head_of_inspection"
    VIEWER = "viewer"
    # Staff at an in-person service desk: they file tickets for citizens who come in, and print the receipt.
    DESK = "desk"
    # The citizen themself, through a public channel (the web site, Open311): the role recorded on the history
    # steps they take (filing, answering "solved / not solved" online). Never the role of an account.
    CITIZEN = "citizen"


# The roles a staff account may have (CITIZEN is only ever recorded on history steps).
STAFF_ROLES = tuple(role for role in Role if role != Role.CITIZEN)


class Line(enum.StrEnum):
    """The municipality's two public numbers."""

    SERVICES = "137"
    FEEDBACK = "1888"


class PauseReason(enum.StrEnum):
    """Why an operator is out of the queue's rotation for a while (shown to supervisors)."""

    BREAK = "break"
    TRAINING = "training"
    AFTER_CALL_WORK = "after_call_work"


class UnitKind(enum.StrEnum):
    DEPUTY = "deputy"
    DISTRICT = "district"
    ORGANISATION = "organisation"
    DEPARTMENT = "department"


class Unit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    kind: UnitKind = Field(sa_type=EnumAsString(UnitKind, 20))
    parent_id: int | None = Field(default=None, foreign_key="unit.id")
    # The unit manager's mobile (ASCII digits, 09…): overdue tickets are escalated to it by SMS.
    manager_phone: str | None = Field(default=None, max_length=16)
    # The inspection office itself: a complaint about it goes to the mayor's office, not to its own inspectors.
    inspection_office: bool = False


class Category(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    line: Line = Field(default=Line.SERVICES, sa_type=EnumAsString(Line, 8))
    default_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    sla_hours: int = Field(default=72, ge=1)


class UserBase(SQLModel):
    username: str = Field(unique=True, index=True, max_length=64)
    full_name: str = Field(max_length=200)
    role: Role = Field(sa_type=EnumAsString(Role, 20))
    extension: str | None = Field(default=None, unique=True, max_length=16)
    is_active: bool = True


class User(UserBase, table=True):
    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=255)
    # The phone's SIP credential, never its password: md5("extension:realm:password"), Asterisk's md5_cred,
    # rendered into pjsip.conf and never into a response (the password is shown once, at creation).
    sip_md5_cred: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # For a unit liaison: the unit whose tickets they accept, report done or dispute (and no other's).
    unit_id: int | None = Field(default=None, foreign_key="unit.id")


class UserPublic(UserBase):
    id: int


class StaffSession(SQLModel, table=True):
    """A logged-in browser (callcenter/staff/sessions.py): its cookie holds a random id, this row only its hash."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)  # SHA-256 of the cookie's value, hex
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    address: str = Field(max_length=64)
    user_agent: str = Field(default="", max_length=256)
    csrf_token: str = Field(max_length=64)
    # What pages keep between two requests of this session (e.g. the admin page's flash message).
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class LoginThrottle(SQLModel, table=True):
    """Failed logins counted per scope (staff/login_throttle.py): a name, a name from one address, an address.
    Names are counted whether or not an account has them, so the counters tell nothing about who exists."""

    __tablename__ = "login_throttle"

    scope: str = Field(primary_key=True, max_length=8)
    key: str = Field(primary_key=True, max_length=160)
    failed_logins: int = 0
    # Lockouts in a row for this key: each one waits twice as long as the one before (up to the maximum).
    strikes: int = 0
    last_failure_at: datetime | None = _when()
    locked_until: datetime | None = _when()


class KnownLoginAddress(SQLModel, table=True):
    """An address an account has logged in from with its password: from there the right password still works
    while strangers' guesses hold the account locked."""

    __tablename__ = "known_login_address"

    user_id: int = Field(foreign_key="staff_user.id", primary_key=True)
    address: str = Field(primary_key=True, max_length=64)
    last_login_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CallOutcome(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"          # an operator talked to the caller
    ABANDONED = "abandoned"        # hung up while waiting in the queue
    IVR_ONLY = "ivr_only"          # hung up in the voice menu, never queued
    LINES_BUSY = "lines_busy"      # refused because every line was taken
    CALLBACK = "callback"          # asked to be called back instead of waiting
    VOICE_MESSAGE = "voice_message"  # left a recorded message instead of waiting
    LOST_TO_FAULT = "lost_to_fault"  # cut by Asterisk going down under it (a crash or restart), not by the caller


class FeedbackKind(enum.StrEnum):
    """What a 1888 caller chose in the voice menu."""

    CRITICISM = "criticism"
    SUGGESTION = "suggestion"
    APPRECIATION = "appreciation"


class Call(SQLModel, table=True):
    """One citizen call, keyed by Asterisk's ``linkedid``; durable so KPIs survive restarts."""

    id: int | None = Field(default=None, primary_key=True)
    linkedid: str = Field(unique=True, index=True, max_length=64)
    line: str = Field(max_length=16, index=True)
    caller_number: str = Field(default="", max_length=32, index=True)
    channel: str = Field(default="", max_length=128)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    queue_name: str | None = Field(default=None, max_length=64)
    queued_at: datetime | None = _when(index=True)  # the wallboard reads the day's range
    answered_at: datetime | None = _when()
    ended_at: datetime | None = _when()
    operator_id: int | None = Field(default=None, foreign_key="staff_user.id")
    operator_extension: str | None = Field(default=None, max_length=16)
    outcome: CallOutcome = Field(default=CallOutcome.IN_PROGRESS, sa_type=EnumAsString(CallOutcome, 16))
    # What the caller chose in the 1888 menu, copied from the channel when the call joins the queue.
    feedback_kind: FeedbackKind | None = Field(default=None, sa_type=EnumAsString(FeedbackKind, 16))
    personnel_code: str | None = Field(default=None, max_length=16)
    anonymous: bool = False
    # File name of the whole conversation (MixMonitor, from answer to hang-up); cleared when purged.
    recording: str | None = Field(default=None, max_length=128)
    # Where the operator sent the caller (a supervisor's extension or the other line's queue), if anywhere.
    transferred_to: str | None = Field(default=None, max_length=32)


class CallPublic(SQLModel):
    id: int
    linkedid: str
    line: str
    caller_number: str
    started_at: datetime
    queued_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    operator_extension: str | None
    outcome: CallOutcome
    feedback_kind: FeedbackKind | None = None
    personnel_code: str | None = None
    anonymous: bool = False
    has_recording: bool = False
    transferred_to: str | None = None

    @classmethod
    def of(cls, call: Call) -> CallPublic:
        """The public view: whether a recording exists, never its file name."""
        return cls.model_validate(call, update={"has_recording": call.recording is not None})


class AgentState(enum.StrEnum):
    """An operator's state in one queue, as supervisors see it."""

    READY = "ready"
    PAUSED = "paused"
    RINGING = "ringing"
    TALKING = "talking"
    WRAP_UP = "wrap_up"
    LOGGED_OUT = "logged_out"


class AgentStateChange(SQLModel, table=True):
    """Every state an operator enters, when and why: time in state and occupancy survive restarts."""

    __tablename__ = "agent_state_change"
    __table_args__ = (sa.Index("ix_agent_state_change_agent_at", "extension", "queue_name", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    extension: str = Field(max_length=16)
    queue_name: str = Field(max_length=64)
    state: AgentState = Field(sa_type=EnumAsString(AgentState, 16))
    reason: str | None = Field(default=None, max_length=64)
    at: datetime = Field(sa_type=UTCDateTime, index=True)


class TicketStatus(enum.StrEnum):
    """Where a ticket is in its lifecycle; the graph and who may move it are in callcenter/tickets/lifecycle.py."""

    REGISTERED = "registered"                # filed, waiting to be referred (or handed back by a unit)
    REFERRED = "referred"                    # sent to a unit, not yet accepted there
    ACCEPTED = "accepted"                    # the unit took it on
    DONE = "done"                            # the unit reports the work finished
    AWAITING_VERIFICATION = "awaiting_verification"  # the citizen is to be asked whether it really is
    VERIFIED = "verified"                    # final: the citizen confirmed it resolved
    REOPENED = "reopened"                    # back with the unit, carrying the citizen's words
    DISPUTED = "disputed"                    # the unit disputes the reopening; a field supervisor decides
    CLOSED_ON_VERDICT = "closed_on_verdict"  # final: the field supervisor found the unit right
    CANCELLED = "cancelled"                  # final: a duplicate or a mistaken ticket, withdrawn by a supervisor


class TicketPriority(enum.StrEnum):
    """How soon the unit must act; urgent ones (a fallen tree on a road, a live wire) are shown first."""

    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketSource(enum.StrEnum):
    """How the ticket came in."""

    OPERATOR = "operator"        # filed by an operator during or after a call
    VOICE_MESSAGE = "voice_message"  # a message the caller recorded in the IVR; an operator classifies it
    WEB = "web"                  # the citizens' public site, filed by the citizen (mobile verified by SMS code)
    IN_PERSON = "in_person"      # a service desk: staff filed it for a citizen who came in, and printed a receipt
    OPEN311 = "open311"          # a city app through the Open311 GeoReport v2 API (callcenter/open311)


ADDRESS_WORD_MAX_LENGTH = 64  # longer words are cut to this: they only select candidates, compared in full after


class TicketBase(SQLModel):
    address: str = Field(default="", max_length=500)
    description: str = Field(max_length=4000)


# A unit has to accept what was referred or reopened, and report done what it accepted: its liaison's inbox. A
# disputed ticket waits on the field supervisors instead.
AT_A_UNIT = (TicketStatus.REFERRED, TicketStatus.REOPENED, TicketStatus.ACCEPTED)


def status_in(*statuses: enum.StrEnum) -> sa.TextClause:
    """``status IN ('a', 'b')`` with the values written out: a partial index's predicate, and the same words in a
    query that should use that index (SQLite matches a partial index only on the very term, never on bound
    parameters; PostgreSQL proves the implication either way)."""
    return sa.text("status IN (" + ", ".join(f"'{status.value}'" for status in statuses) + ")")


# The tickets waiting on a unit and on the field supervisors, as their inboxes page them (priority, then deadline,
# then id: callcenter/tickets/inbox.py), and the overdue ones as the escalation job walks them (ADR 0078). Partial:
# a unit's closed tickets, years of them, are never in these indexes' way.
_AT_A_UNIT = status_in(*AT_A_UNIT)
_DISPUTED = status_in(TicketStatus.DISPUTED)


class Ticket(TicketBase, table=True):
    __table_args__ = (
        sa.Index("ix_ticket_inbox", "unit_id", "priority", "unit_deadline", "id",
                 sqlite_where=_AT_A_UNIT, postgresql_where=_AT_A_UNIT),
        # A tab of one status, and the counts per status (an index-only scan on PostgreSQL).
        sa.Index("ix_ticket_inbox_status", "unit_id", "status", "priority", "unit_deadline", "id",
                 sqlite_where=_AT_A_UNIT, postgresql_where=_AT_A_UNIT),
        sa.Index("ix_ticket_disputed", "priority", "unit_deadline", "id",
                 sqlite_where=_DISPUTED, postgresql_where=_DISPUTED),
        sa.Index("ix_ticket_overdue", "unit_deadline", "id", sqlite_where=_AT_A_UNIT, postgresql_where=_AT_A_UNIT),
        # A caller's tickets newest first (the screen pop's history, the IVR's latest open one, duplicates by
        # caller): one index range of the newest, not every ticket the number ever filed, sorted (ADR 0083).
        sa.Index("ix_ticket_caller_created", "caller_number", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tracking_code: str = Field(unique=True, index=True, max_length=16)
    # Empty only for a recorded message that no operator has classified yet.
    category_id: int | None = Field(default=None, foreign_key="category.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    line: str = Field(default=Line.SERVICES.value, max_length=8)
    source: TicketSource = Field(default=TicketSource.OPERATOR, sa_type=EnumAsString(TicketSource, 16))
    caller_number: str | None = Field(default=None, max_length=32)
    call_id: int | None = Field(default=None, foreign_key="call.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    status: TicketStatus = Field(default=TicketStatus.REGISTERED, sa_type=EnumAsString(TicketStatus, 24))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # The client's idempotency key: a retried form submission returns the first ticket instead of a twin.
    request_id: str | None = Field(default=None, unique=True, max_length=64)
    # 1888: what kind of feedback, about whom; an anonymous ticket keeps neither number nor call.
    feedback_kind: FeedbackKind | None = Field(default=None, sa_type=EnumAsString(FeedbackKind, 16))
    personnel_code: str | None = Field(default=None, max_length=16)
    anonymous: bool = False
    # File name of the caller's recorded message under the recordings folder (see callcenter.telephony.recordings).
    recording: str | None = Field(default=None, max_length=128)
    # The municipal district (a unit of kind "district") where the problem is.
    district_id: int | None = Field(default=None, foreign_key="unit.id")
    priority: TicketPriority = Field(default=TicketPriority.NORMAL, sa_type=EnumAsString(TicketPriority, 16))
    # Where the citizen pointed on a map or their phone located them (WGS 84 degrees); both or neither.
    latitude: float | None = None
    longitude: float | None = None
    # When the ticket reached the unit holding it (its latest referral) and that unit's deadline (that plus the
    # category's sla_hours), set by each referral (callcenter/tickets/lifecycle.py); None until it is first referred.
    # Kept on the row so that inboxes sort and the escalation job searches by an index, not by the history.
    referred_at: datetime | None = _when()
    unit_deadline: datetime | None = _when()


class TicketAddressWord(SQLModel, table=True):
    """One distinctive word of a recent ticket's address (callcenter/tickets/store.py ``address_words``), so the
    duplicate check finds the tickets of a category sharing words with an address through an index instead of
    reading the category's month (ADR 0077). Rows are written with the ticket and purged once it is older than
    the duplicate window; the category and the filing time are the ticket's, copied (neither ever changes)."""

    __tablename__ = "ticket_address_word"
    __table_args__ = (sa.Index("ix_ticket_address_word_lookup", "category_id", "word", "created_at"),)

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    word: str = Field(primary_key=True, max_length=ADDRESS_WORD_MAX_LENGTH)
    category_id: int = Field(foreign_key="category.id")
    created_at: datetime = Field(sa_type=UTCDateTime)


CLIENT_REQUEST_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class TicketCreate(TicketBase):
    category_id: RowId
    unit_id: RowId
    district_id: RowId | None = None
    priority: TicketPriority = TicketPriority.NORMAL
    call_id: RowId | None = None
    caller_number: str | None = None
    # The form's idempotency key (a UUID, say). No colon: keys with one are the server's own namespace
    # (``voice:<call>`` for a recorded message), which a client must not be able to claim in advance.
    request_id: Annotated[str, StringConstraints(pattern=CLIENT_REQUEST_ID_PATTERN)] | None = Field(
        default=None, max_length=64)
    feedback_kind: FeedbackKind | None = None
    personnel_code: str | None = Field(default=None, max_length=16)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class TicketPublic(TicketBase):
    id: int
    tracking_code: str
    category_id: int | None
    unit_id: int | None
    line: str
    source: TicketSource = TicketSource.OPERATOR
    caller_number: str | None
    call_id: int | None
    status: TicketStatus
    created_at: datetime
    feedback_kind: FeedbackKind | None = None
    personnel_code: str | None = None
    anonymous: bool = False
    has_recording: bool = False
    category_name: str = ""
    unit_name: str = ""
    district_id: int | None = None
    district_name: str = ""
    priority: TicketPriority = TicketPriority.NORMAL
    latitude: float | None = None
    longitude: float | None = None


class TicketAction(enum.StrEnum):
    """What someone does to a ticket; each allowed (status, action) pair is one edge of the lifecycle."""

    REFER = "refer"
    ACCEPT = "accept"
    DECLINE = "decline"                            # the unit says it is not theirs: back to the call center
    REPORT_DONE = "report_done"
    REQUEST_VERIFICATION = "request_verification"
    VERIFY_RESOLVED = "verify_resolved"
    VERIFY_NOT_RESOLVED = "verify_not_resolved"    # reopens, with the citizen's words as the note
    DISPUTE = "dispute"
    FIELD_VERDICT = "field_verdict"
    RE_REFER = "re_refer"
    CANCEL = "cancel"


class FieldVerdict(enum.StrEnum):
    """A field supervisor's finding on a disputed ticket, after seeing the place."""

    CITIZEN_RIGHT = "citizen_right"
    UNIT_RIGHT = "unit_right"
    PARTLY = "partly"


class TicketTransitionBase(SQLModel):
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    from_status: TicketStatus = Field(sa_type=EnumAsString(TicketStatus, 24))
    to_status: TicketStatus = Field(sa_type=EnumAsString(TicketStatus, 24))
    action: TicketAction = Field(sa_type=EnumAsString(TicketAction, 24))
    # None for a step the citizen took through a public channel (actor_role is then CITIZEN).
    actor_id: int | None = Field(default=None, foreign_key="staff_user.id")
    # The role at the time: a later change of the account's role does not rewrite who was allowed what.
    actor_role: Role = Field(sa_type=EnumAsString(Role, 20))
    note: str = Field(default="", max_length=4000)
    from_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    to_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    verdict: FieldVerdict | None = Field(default=None, sa_type=EnumAsString(FieldVerdict, 16))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class TicketTransition(TicketTransitionBase, table=True):
    """One step of a ticket's lifecycle; rows are only ever appended, so the history cannot be rewritten."""

    __tablename__ = "ticket_transition"

    id: int | None = Field(default=None, primary_key=True)


class UnitReceipt(SQLModel, table=True):
    """One referral of a ticket to a unit and what came of it while the ticket was there: the scorecard's summary,
    kept by the lifecycle in the step's transaction (callcenter/tickets/unit_receipts.py, ADR 0082)."""

    __tablename__ = "unit_receipt"
    __table_args__ = (sa.Index("ix_unit_receipt_period", "referred_at", "unit_id"),)

    id: int | None = Field(default=None, primary_key=True)
    referral_id: int = Field(foreign_key="ticket_transition.id", unique=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    source: TicketSource = Field(sa_type=EnumAsString(TicketSource, 16))
    referred_at: datetime = Field(sa_type=UTCDateTime)
    # The referral plus the category's sla_hours in force then; None for a ticket without a category.
    deadline: datetime | None = _when()
    done_at: datetime | None = _when()  # the first report_done of the receipt
    done_after_us: int | None = Field(default=None, sa_type=sa.BigInteger)  # done_at - referred_at, microseconds
    left_at: datetime | None = _when()  # declined, cancelled or re-referred; None while the ticket is still here
    resolved: int = 0
    not_resolved: int = 0
    last_answer_resolved: bool | None = None
    verdicts_against: int = 0
    verdicts_for: int = 0
    last_step_at: datetime = Field(sa_type=UTCDateTime)  # the latest step that counted for this receipt


class TicketTransitionPublic(TicketTransitionBase):
    id: int
    actor_name: str = ""
    from_unit_name: str = ""
    to_unit_name: str = ""


class CallbackStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"


class CallbackRequest(SQLModel, table=True):
    """A caller who chose "call me back" instead of waiting; served in the order they first called."""

    __tablename__ = "callback_request"

    id: int | None = Field(default=None, primary_key=True)
    line: str = Field(max_length=8, index=True)
    caller_number: str = Field(max_length=32, index=True)
    # One request per call: a retried IVR step finds the first one instead of queueing a twin.
    linkedid: str = Field(unique=True, max_length=64)
    call_id: int | None = Field(default=None, foreign_key="call.id")
    # The caller's turn: when their call came in, not when they pressed the key.
    waiting_since: datetime = Field(sa_type=UTCDateTime, index=True)
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status: CallbackStatus = Field(default=CallbackStatus.PENDING, sa_type=EnumAsString(CallbackStatus, 16))
    handled_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    handled_at: datetime | None = _when()
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")


class CallbackPublic(SQLModel):
    id: int
    line: str
    caller_number: str
    waiting_since: datetime
    requested_at: datetime
    status: CallbackStatus
    handled_at: datetime | None


class SmsStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class SmsMessage(SQLModel, table=True):
    """One text message in the outbox; the dispatcher sends it, retries with backoff, then gives up."""

    __tablename__ = "sms_outbox"
    __table_args__ = (sa.Index("ix_sms_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    to_number: str = Field(max_length=32)  # ASCII digits, national form (09...)
    body: str = Field(max_length=1000)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    # What the message is about ("tracking-code:<ticket id>"); unique, so a retried request queues no twin.
    dedup_key: str | None = Field(default=None, unique=True, max_length=64)
    status: SmsStatus = Field(default=SmsStatus.QUEUED, sa_type=EnumAsString(SmsStatus, 16))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    provider_message_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = _when()
    # A complainant's mobile is kept encrypted (callcenter/complaints/identity.py): the outbox forgets the number
    # once the message is sent or given up, so it never stays here in the clear.
    forget_number: bool = False


# --- photos and district units ---


class TicketAttachmentBase(SQLModel):
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    # The step the photos were sent with (a unit's report that the work is done, a citizen's online "not solved"):
    # evidence of that step. None for the photos a citizen filed the ticket with (shown on its first step).
    transition_id: int | None = Field(default=None, foreign_key="ticket_transition.id", index=True)
    content_type: str = Field(max_length=32)
    size: int
    sha256: str = Field(max_length=64)
    # None when the citizen sent it (a public channel has no account).
    uploaded_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TicketAttachment(TicketAttachmentBase, table=True):
    """A photo a unit sent with its report that the work is done; the file lives under the state dir."""

    __tablename__ = "ticket_attachment"

    id: int | None = Field(default=None, primary_key=True)
    # Our own name for the file (random hex and the extension of the type its bytes showed), never the uploader's.
    stored_name: str = Field(unique=True, max_length=64)


class TicketAttachmentPublic(SQLModel):
    id: int
    content_type: str
    size: int
    sha256: str
    at: datetime
    url: str


class TicketTransitionWithPhotos(TicketTransitionPublic):
    """A history step with the photos sent with it (only report-done steps have any)."""

    photos: list[TicketAttachmentPublic] = []


class CategoryDistrictUnit(SQLModel, table=True):
    """Where a category's tickets go in one district, instead of the category's default unit."""

    __tablename__ = "category_district_unit"
    __table_args__ = (sa.UniqueConstraint("category_id", "district_id", name="uq_category_district_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    category_id: int = Field(foreign_key="category.id")
    district_id: int = Field(foreign_key="unit.id")  # a unit of kind "district"
    unit_id: int = Field(foreign_key="unit.id")


# --- verification calls ---


class VerificationMode(enum.StrEnum):
    MANUAL = "manual"          # a supervisor's phone rings first, then the citizen (click-to-call)
    AUTOMATIC = "automatic"    # the citizen hears a recorded question and answers with a key


class VerificationTaskStatus(enum.StrEnum):
    PENDING = "pending"        # waiting for its (next) call
    CALLING = "calling"        # a call is being placed or is in progress
    DONE = "done"              # the citizen said resolved or not resolved
    GAVE_UP = "gave_up"        # unreachable after the last allowed attempt: a supervisor decides


# Still waiting on a call or a supervisor's decision: the supervisors' list (callcenter/verification/tasks.py).
OPEN_VERIFICATION = (VerificationTaskStatus.PENDING, VerificationTaskStatus.CALLING, VerificationTaskStatus.GAVE_UP)
_OPEN_VERIFICATION = status_in(*OPEN_VERIFICATION)


class VerificationOutcome(enum.StrEnum):
    RESOLVED = "resolved"
    NOT_RESOLVED = "not_resolved"
    UNREACHABLE = "unreachable"    # no answer, busy, or answered without giving an answer
    NOT_PLACED = "not_placed"      # Asterisk kept the line for inbound calls: not counted as an attempt


class VerificationTask(SQLModel, table=True):
    """Asking the citizen whether a ticket reported done was really done; one open task per ticket."""

    __tablename__ = "verification_task"
    # The supervisors' list, a page at a time by (next call, id) over the open tasks only (ADR 0078).
    __table_args__ = (sa.Index("ix_verification_task_open", "next_attempt_at", "id",
                               sqlite_where=_OPEN_VERIFICATION, postgresql_where=_OPEN_VERIFICATION),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    status: VerificationTaskStatus = Field(default=VerificationTaskStatus.PENDING,
                                           sa_type=EnumAsString(VerificationTaskStatus, 12), index=True)
    mode: VerificationMode = Field(default=VerificationMode.MANUAL, sa_type=EnumAsString(VerificationMode, 12))
    # Who asked for automatic calls: the transitions those calls record are theirs.
    requested_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: VerificationOutcome | None = Field(default=None, sa_type=EnumAsString(VerificationOutcome, 16))


class VerificationAttempt(SQLModel, table=True):
    """One call to the citizen for a verification task, whatever came of it."""

    __tablename__ = "verification_attempt"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="verification_task.id", index=True)
    mode: VerificationMode = Field(sa_type=EnumAsString(VerificationMode, 12))
    placed_by_id: int = Field(foreign_key="staff_user.id")
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: VerificationOutcome | None = Field(default=None, sa_type=EnumAsString(VerificationOutcome, 16))
    dial_status: str | None = Field(default=None, max_length=16)  # Asterisk's DIALSTATUS for the citizen's leg
    key_pressed: str | None = Field(default=None, max_length=1)   # the automatic call's answer
    note: str = Field(default="", max_length=4000)


class VerificationTaskPublic(SQLModel):
    """A row of the supervisors' verification list."""

    id: int
    ticket_id: int
    tracking_code: str
    ticket_status: str
    category_name: str
    unit_name: str
    caller_number: str
    done_note: str
    source: TicketSource = TicketSource.OPERATOR  # the ticket's channel, shown in the list
    status: VerificationTaskStatus
    mode: VerificationMode
    attempts: int
    max_attempts: int
    next_attempt_at: datetime
    outcome: VerificationOutcome | None
    calling: bool
    # While the citizen's SMS link to answer online is open, the calls wait until then (decision 58).
    online_answer_until: datetime | None = None


# --- scheduled jobs and escalation ---


class ScheduledJob(SQLModel, table=True):
    """A job of the backend's scheduler: its state lives here so that a restart neither loses nor repeats a run."""

    __tablename__ = "scheduled_job"

    name: str = Field(primary_key=True, max_length=64)
    interval_seconds: float
    next_run_at: datetime = Field(sa_type=UTCDateTime)
    last_started_at: datetime | None = _when()
    last_finished_at: datetime | None = _when()
    last_error: str | None = Field(default=None, max_length=1000)  # of the last run; None when it succeeded
    # The process running it now and until when its claim holds (renewed while it runs): a compare-and-set on
    # these two is what keeps two backend processes from running the same job at once.
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = _when()


class TicketEscalation(SQLModel, table=True):
    """An overdue ticket reported to its unit's manager and the supervisors, once per round at the unit."""

    __tablename__ = "ticket_escalation"
    __table_args__ = (sa.UniqueConstraint("ticket_id", "round_step_id", name="uq_ticket_escalation_round"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    # The step that handed the ticket to the unit (a referral or a reopening): a new round may escalate again.
    round_step_id: int = Field(foreign_key="ticket_transition.id")
    deadline: datetime = Field(sa_type=UTCDateTime)
    escalated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- public channels ---


class RateLimitWindow(SQLModel, table=True):
    """How many times a key was used in one fixed window of a scope (callcenter/platform/rate_limits.py). The key
    is an HMAC of what is limited (an address, a mobile, a tracking code, an API key), never the thing itself."""

    __tablename__ = "rate_limit_window"

    scope: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=64)
    window_start: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    hits: int = 0


# --- Open311 (callcenter/open311) ---


class Open311ApiKey(SQLModel, table=True):
    """A key an application posts Open311 requests with: issued and revoked by an administrator. Only the key's
    SHA-256 is stored (the key itself is shown once, when issued); ``prefix`` lets the admin page tell keys apart."""

    __tablename__ = "open311_api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)  # whose application it is, as the administrator wrote it
    key_hash: str = Field(unique=True, max_length=64)
    prefix: str = Field(max_length=16)
    requests_per_minute: int = Field(ge=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    revoked_at: datetime | None = _when()
# --- citizens' web forms (callcenter/citizens/phone_codes.py) ---


class PhoneCode(SQLModel, table=True):
    """A one-time SMS code sent to a citizen's mobile from one browser's public session, and, once it was typed
    correctly, the fact that this session verified that mobile (for a while). Neither the code, the mobile nor the
    session is stored as such: only HMACs under the installation's secret key."""

    __tablename__ = "phone_code"
    __table_args__ = (sa.Index("ix_phone_code_session_mobile", "session_key", "mobile_key"),)

    id: int | None = Field(default=None, primary_key=True)
    session_key: str = Field(max_length=64)  # HMAC of the browser session's CSRF token
    mobile_key: str = Field(max_length=64)  # HMAC of the mobile (ASCII digits, 09…)
    code_hash: str = Field(max_length=64)  # HMAC of the six digits, salted with the row's mobile and session
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    attempts: int = 0  # wrong tries so far
    verified_until: datetime | None = _when()  # set when typed correctly: the session needs no new code until then


class AnonymousBudgetKey(SQLModel, table=True):
    """The random key of one UTC day under which anonymous 1888 messages are counted per client address
    (callcenter/citizens/web_filing.py, ADR 0056). Deleted two days later: the counts it keyed become unlinkable
    to any address, even for someone holding the installation's secret key and a copy of the database."""

    __tablename__ = "anonymous_budget_key"

    day: str = Field(primary_key=True, max_length=10)  # YYYY-MM-DD, UTC
    secret: str = Field(max_length=64)
# --- online verification (callcenter/citizens/online_answers.py) ---


class OnlineAnswer(SQLModel, table=True):
    """The SMS link offered to a citizen when a unit reports their ticket done, and their answer through it: one
    per verification task. Until ``expires_at`` the task's calls wait; an answer is recorded once."""

    __tablename__ = "online_answer"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    task_id: int = Field(foreign_key="verification_task.id", unique=True)
    offered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    answered_at: datetime | None = _when()
    outcome: VerificationOutcome | None = Field(default=None, sa_type=EnumAsString(VerificationOutcome, 16))
    # The history step the answer took (its photo hangs on it).
    transition_id: int | None = Field(default=None, foreign_key="ticket_transition.id")


class OnlineAnswerPublic(SQLModel):
    """A row of the supervisors' list of answers citizens gave online (no number: the link was the citizen's)."""

    tracking_code: str
    unit_name: str
    outcome: VerificationOutcome
    answered_at: datetime
    note: str


# --- the inspection office's complaints (callcenter/complaints) ---


class ComplaintGround(enum.StrEnum):
    """What a complaint is about, as the inspection office's form lists it."""

    LAW_VIOLATION = "law_violation"              # violation of laws and regulations
    DUTY_FAILURE = "duty_failure"                # failure to perform a duty
    DELAY = "delay"                              # prolonged handling (links the 137 tickets it is about)
    NON_RESPONSIVENESS = "non_responsiveness"    # no answer at all
    WEAK_SERVICE = "weak_service"
    PUBLIC_PROPERTY_WASTE = "public_property_waste"  # administrative misconduct: waste of public property
    OTHER_MISCONDUCT = "other_misconduct"        # administrative misconduct: other violations
    OTHER = "other"


class ComplaintStatus(enum.StrEnum):
    """A complaint's place in the inspection office's lifecycle (callcenter/complaints/lifecycle.py)."""

    RECEIVED = "received"            # filed, not yet looked at
    UNDER_REVIEW = "under_review"    # an inspector is reading it
    INVESTIGATING = "investigating"  # the inspector is gathering facts (information requests, a meeting)
    FINDINGS = "findings"            # the inspector wrote the findings; the result is to be decided
    CLOSED = "closed"                # final: closed with a result announced to the complainant
    REFERRED = "referred"            # final: handed to the body that must deal with it (court, another office)
    REJECTED = "rejected"            # final: not admissible, with the reason told to the complainant


class ComplaintChannel(enum.StrEnum):
    WEB = "web"                # the complainant filled the form on the public site
    PHONE = "phone"            # staff filled it during a call, on the complainant's behalf
    IN_PERSON = "in_person"    # staff filled it at a visit to the office


class ComplaintDesk(enum.StrEnum):
    """Who handles a complaint: the inspection office, or the mayor's office when it is about the inspection
    office itself (a conflict of interest, callcenter/complaints/access.py)."""

    INSPECTION = "inspection"
    MAYOR_OFFICE = "mayor_office"


class Complaint(SQLModel, table=True):
    """A complaint to the inspection office. Anonymous: no identity, no mobile, no receipt in the clear (only its
    argon2 hash). Named: the name and mobile only as ``identity_sealed`` (encrypted, callcenter/complaints/
    identity.py)."""

    id: int | None = Field(default=None, primary_key=True)
    tracking_code: str = Field(unique=True, index=True, max_length=16)
    desk: ComplaintDesk = Field(default=ComplaintDesk.INSPECTION, sa_type=EnumAsString(ComplaintDesk, 16))
    target_unit_id: int = Field(foreign_key="unit.id", index=True)
    # Optionally the person it is about, as the complainant named them.
    target_person_name: str | None = Field(default=None, max_length=200)
    target_person_role: str | None = Field(default=None, max_length=200)
    target_personnel_code: str | None = Field(default=None, max_length=16)
    ground: ComplaintGround = Field(sa_type=EnumAsString(ComplaintGround, 32), index=True)
    description: str = Field(max_length=8000)
    occurred_on: str | None = Field(default=None, max_length=10)  # YYYY-MM-DD (Gregorian), as picked in Jalali
    occurred_place: str | None = Field(default=None, max_length=500)
    channel: ComplaintChannel = Field(default=ComplaintChannel.WEB, sa_type=EnumAsString(ComplaintChannel, 16))
    anonymous: bool = False
    identity_sealed: str | None = Field(default=None, max_length=2000)  # Fernet token of the name and mobile
    receipt_hash: str | None = Field(default=None, max_length=255)  # argon2 hash of an anonymous receipt
    meeting_requested: bool = False
    status: ComplaintStatus = Field(default=ComplaintStatus.RECEIVED, sa_type=EnumAsString(ComplaintStatus, 16),
                                    index=True)
    assigned_to_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    # Staff who filled the form for the complainant (a call, a visit); None when the complainant filed it.
    filed_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    due_at: datetime | None = _when()          # the ground's SLA from filing (callcenter/complaints/sla.py)
    escalated_at: datetime | None = _when()    # when the overdue complaint went to the head of inspection
    closed_at: datetime | None = _when()       # reaching a final status
    result: str | None = Field(default=None, max_length=4000)   # announced to the complainant
    # The form's idempotency key (the draft's id): a double submit files one complaint.
    request_id: str | None = Field(default=None, unique=True, max_length=64)


class ComplaintTicketLink(SQLModel, table=True):
    """A 137 ticket a complaint is about (a delay complaint links the tickets that were delayed)."""

    __tablename__ = "complaint_ticket_link"

    complaint_id: int = Field(foreign_key="complaint.id", primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True, index=True)


class ComplaintAction(enum.StrEnum):
    ASSIGN = "assign"                    # the head of inspection (or an inspector taking it) names the inspector
    START_REVIEW = "start_review"
    INVESTIGATE = "investigate"
    RECORD_FINDINGS = "record_findings"
    CLOSE = "close"                      # with the result announced to the complainant
    REFER = "refer"                      # with where it went
    REJECT = "reject"                    # with the reason


class ComplaintTransition(SQLModel, table=True):
    """One step of a complaint's history, taken by compare-and-set on the status (as tickets' steps are)."""

    __tablename__ = "complaint_transition"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    action: ComplaintAction = Field(sa_type=EnumAsString(ComplaintAction, 24))
    from_status: ComplaintStatus = Field(sa_type=EnumAsString(ComplaintStatus, 16))
    to_status: ComplaintStatus = Field(sa_type=EnumAsString(ComplaintStatus, 16))
    actor_id: int | None = Field(default=None, foreign_key="staff_user.id")
    note: str = Field(default="", max_length=4000)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ComplaintNote(SQLModel, table=True):
    """An inspector's internal note: never shown to the complainant, nor to the unit the complaint is about."""

    __tablename__ = "complaint_note"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    author_id: int = Field(foreign_key="staff_user.id")
    body: str = Field(max_length=4000)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MessageDirection(enum.StrEnum):
    TO_COMPLAINANT = "to_complainant"      # an inspector's question or the announced result
    FROM_COMPLAINANT = "from_complainant"  # the complainant's answer, through the follow-up page


class ComplaintMessage(SQLModel, table=True):
    """What the inspectors and the complainant say to each other (the follow-up page shows these, and only these)."""

    __tablename__ = "complaint_message"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    direction: MessageDirection = Field(sa_type=EnumAsString(MessageDirection, 20))
    author_id: int | None = Field(default=None, foreign_key="staff_user.id")  # None: the complainant
    body: str = Field(max_length=4000)
    is_result: bool = False  # the result announced when the case closed
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AttachmentKind(enum.StrEnum):
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    PDF = "pdf"


class ComplaintAttachment(SQLModel, table=True):
    """A file sent with a complaint (its draft first, then the filed complaint) or with a complainant's answer;
    the bytes live under the state dir (callcenter/complaints/attachments.py), type told by the bytes, metadata
    stripped. No uploader's file name is kept."""

    __tablename__ = "complaint_attachment"

    id: int | None = Field(default=None, primary_key=True)
    draft_id: str | None = Field(default=None, foreign_key="complaint_draft.id", index=True, max_length=64)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="complaint_message.id")
    kind: AttachmentKind = Field(sa_type=EnumAsString(AttachmentKind, 8))
    content_type: str = Field(max_length=64)
    size: int
    sha256: str = Field(max_length=64)
    stored_name: str = Field(unique=True, max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ComplaintDraft(SQLModel, table=True):
    """A multi-step form in progress, kept on the server so back, forward and a refresh lose nothing; it expires.
    Its id is random and is the form's idempotency key when it is submitted. ``session_key`` is an HMAC of the
    browser's public session (as phone codes keep it), never an address."""

    __tablename__ = "complaint_draft"

    id: str = Field(primary_key=True, max_length=64)
    session_key: str = Field(max_length=64, index=True)
    step: str = Field(default="target", max_length=16)
    data: str = Field(default="{}", max_length=20000)  # the typed fields, JSON
    filed_by_id: int | None = Field(default=None, foreign_key="staff_user.id")  # staff filling it for someone
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class InformationRequest(SQLModel, table=True):
    """An inspector's question to the unit a complaint is about: the unit sees the question only, never the
    complaint, its text or who filed it (callcenter/complaints/information_requests.py)."""

    __tablename__ = "information_request"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    question: str = Field(max_length=4000)
    asked_by_id: int = Field(foreign_key="staff_user.id")
    asked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    answer: str | None = Field(default=None, max_length=4000)
    answered_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    answered_at: datetime | None = _when()


class RootCauseTag(SQLModel, table=True):
    """A root cause inspectors name (lack of staff, unclear procedure...), counted on the analytics page."""

    __tablename__ = "root_cause_tag"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)


class ComplaintRootCause(SQLModel, table=True):
    __tablename__ = "complaint_root_cause"

    complaint_id: int = Field(foreign_key="complaint.id", primary_key=True)
    tag_id: int = Field(foreign_key="root_cause_tag.id", primary_key=True, index=True)


class ComplaintGroundSla(SQLModel, table=True):
    """How many working days the office gives itself per ground before the head of inspection is told."""

    __tablename__ = "complaint_ground_sla"

    ground: ComplaintGround = Field(primary_key=True, sa_type=EnumAsString(ComplaintGround, 32))
    working_days: int = Field(ge=1)


class IdentityAccess(SQLModel, table=True):
    """Every time a named complainant's identity was shown to someone: the head of inspection reads these."""

    __tablename__ = "identity_access"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    purpose: str = Field(max_length=200)  # what the view was for, as the route names it
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class MeetingSlot(SQLModel, table=True):
    """A time the inspection office receives complainants in person; ``booked`` is raised by a conditional UPDATE
    so two people taking the last place cannot both succeed (callcenter/complaints/meetings.py)."""

    __tablename__ = "meeting_slot"

    id: int | None = Field(default=None, primary_key=True)
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    minutes: int = Field(default=30, ge=5)
    capacity: int = Field(default=1, ge=1)
    booked: int = 0
    place: str = Field(default="", max_length=200)
    created_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    withdrawn: bool = False


class MeetingBookingStatus(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    MOVED = "moved"   # rescheduled: a new booking replaced it


_LIVE_BOOKING = sa.text("status = 'booked'")


class MeetingBooking(SQLModel, table=True):
    """A complaint's place in a meeting slot. At most one live (``booked``) row per complaint, kept by a partial
    unique index, so two tabs booking at once cannot both hold a place (callcenter/complaints/meetings.py)."""

    __tablename__ = "meeting_booking"
    __table_args__ = (sa.Index("ux_meeting_booking_live", "complaint_id", unique=True,
                               sqlite_where=_LIVE_BOOKING, postgresql_where=_LIVE_BOOKING),)

    id: int | None = Field(default=None, primary_key=True)
    slot_id: int = Field(foreign_key="meeting_slot.id", index=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    status: MeetingBookingStatus = Field(default=MeetingBookingStatus.BOOKED,
                                         sa_type=EnumAsString(MeetingBookingStatus, 16))
    booked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    cancelled_at: datetime | None = _when()
    reminder_sent_at: datetime | None = _when()
