"""Table models and the public schemas that leave the API (secrets never do)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


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
    VIEWER = "viewer"


class Line(enum.StrEnum):
    """The municipality's two public numbers."""

    SERVICES = "137"
    FEEDBACK = "1888"


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
    # The SIP digest password of the operator's phone; rendered into pjsip.conf, never into a response.
    sip_password: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserPublic(UserBase):
    id: int


class CallOutcome(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"          # an operator talked to the caller
    ABANDONED = "abandoned"        # hung up while waiting in the queue
    IVR_ONLY = "ivr_only"          # hung up in the voice menu, never queued
    LINES_BUSY = "lines_busy"      # refused because every line was taken


class Call(SQLModel, table=True):
    """One citizen call, keyed by Asterisk's ``linkedid``; durable so KPIs survive restarts."""

    id: int | None = Field(default=None, primary_key=True)
    linkedid: str = Field(unique=True, index=True, max_length=64)
    line: str = Field(max_length=16, index=True)
    caller_number: str = Field(default="", max_length=32, index=True)
    channel: str = Field(default="", max_length=128)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    queue_name: str | None = Field(default=None, max_length=64)
    queued_at: datetime | None = _when()
    answered_at: datetime | None = _when()
    ended_at: datetime | None = _when()
    operator_id: int | None = Field(default=None, foreign_key="staff_user.id")
    operator_extension: str | None = Field(default=None, max_length=16)
    outcome: CallOutcome = Field(default=CallOutcome.IN_PROGRESS, sa_type=EnumAsString(CallOutcome, 16))


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


class TicketStatus(enum.StrEnum):
    REGISTERED = "registered"


class TicketBase(SQLModel):
    category_id: int = Field(foreign_key="category.id")
    unit_id: int = Field(foreign_key="unit.id")
    address: str = Field(default="", max_length=500)
    description: str = Field(max_length=4000)


class Ticket(TicketBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    tracking_code: str = Field(unique=True, index=True, max_length=16)
    line: str = Field(default=Line.SERVICES.value, max_length=8)
    caller_number: str | None = Field(default=None, max_length=32, index=True)
    call_id: int | None = Field(default=None, foreign_key="call.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    status: TicketStatus = Field(default=TicketStatus.REGISTERED, sa_type=EnumAsString(TicketStatus, 24))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # The client's idempotency key: a retried form submission returns the first ticket instead of a twin.
    request_id: str | None = Field(default=None, unique=True, max_length=64)


class TicketCreate(TicketBase):
    call_id: int | None = None
    caller_number: str | None = None
    request_id: str | None = Field(default=None, max_length=64)


class TicketPublic(TicketBase):
    id: int
    tracking_code: str
    line: str
    caller_number: str | None
    call_id: int | None
    status: TicketStatus
    created_at: datetime
    category_name: str = ""
    unit_name: str = ""


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
