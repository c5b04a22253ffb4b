"""FastAPI dependencies, defined once: the database session, the signed-in user and their role, and each part of
the process a route may use (``AsteriskDep``, ``NotifierDep``...), taken from the app's ``WebContainer``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import HTTPConnection

from agent_console.api_errors import raises
from agent_console.container import Listener, WebContainer
from agent_console.hub import WebsocketHub
from agent_console.session_cookie import current_session
from callcenter.complaints import access
from callcenter.platform.errors import NotAuthenticated, PermissionDenied
from callcenter.platform.metrics import Metrics
from callcenter.platform.notifier import Notifier
from callcenter.platform.settings import Settings
from callcenter.staff.login_throttle import LockoutPolicy
from callcenter.staff.sessions import SessionStore
from callcenter.telephony.agent_states import AgentStateLog
from callcenter.telephony.asterisk_actions import AsteriskActions
from callcenter.telephony.call_records import CallRecords
from callcenter.telephony.provisioner import AsteriskProvisioner
from callcenter.telephony.recordings import RecordingStore
from callcenter.tickets.attachments import PhotoStore
from callcenter.tickets.lifecycle import ACTION_ROLES
from callcenter.verification.dialer import VerificationDialer
from db.engine import unit_of_work
from db.models import Role, User

Part = TypeVar("Part")


def web_container(connection: HTTPConnection) -> WebContainer:
    """The container the app factory put on ``app.state`` (for a request and a websocket alike)."""
    container: WebContainer = connection.app.state.web
    return container


def _part(pick: Callable[[WebContainer], Part]) -> Any:
    """A dependency giving a route one part of the container, so a route names what it uses and nothing more."""

    def provide(connection: HTTPConnection) -> Part:
        return pick(web_container(connection))

    return Depends(provide)


SettingsDep = Annotated[Settings, _part(lambda web: web.settings)]
EngineDep = Annotated[Engine, _part(lambda web: web.engine)]  # for work a route runs off the event loop
MetricsDep = Annotated[Metrics, _part(lambda web: web.metrics)]
NotifierDep = Annotated[Notifier, _part(lambda web: web.notifier)]
AsteriskDep = Annotated[AsteriskActions, _part(lambda web: web.ami)]
AgentLogDep = Annotated[AgentStateLog, _part(lambda web: web.agent_log)]
CallRecordsDep = Annotated[CallRecords, _part(lambda web: web.call_records)]
StaffSessionsDep = Annotated[SessionStore, _part(lambda web: web.sessions)]
LockoutPolicyDep = Annotated[LockoutPolicy, _part(lambda web: web.lockout_policy)]
RecordingsDep = Annotated[RecordingStore, _part(lambda web: web.recordings)]
PhotosDep = Annotated[PhotoStore, _part(lambda web: web.photos)]
VerificationDep = Annotated[VerificationDialer, _part(lambda web: web.verification)]
ProvisioningDep = Annotated[AsteriskProvisioner, _part(lambda web: web.provisioning)]
HubDep = Annotated[WebsocketHub, _part(lambda web: web.hub)]
FastAgiDep = Annotated[Listener | None, _part(lambda web: web.fastagi)]


def get_session(engine: EngineDep) -> Iterator[Session]:
    """The request's unit of work: committed when the route returns, rolled back when it raises (ADR 0043)."""
    with unit_of_work(engine) as session:
        yield session


# scope="function": the commit runs when the route function returns, before the response is sent, so a failed
# commit reaches the client as an error; the default "request" scope would commit after a 2xx was already sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@raises(NotAuthenticated)
def get_current_user(request: Request, session: SessionDep) -> User:
    active = current_session(request)
    user = session.get(User, active.user_id) if active else None
    if user is None or not user.is_active:
        raise NotAuthenticated("ابتدا وارد سامانه شوید.")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def role_guard(roles: frozenset[Role], refusal: str) -> object:
    """A dependency letting in only ``roles``; anyone else gets ``refusal`` (Persian) as a 403."""

    @raises(PermissionDenied)
    def guard(user: CurrentUser) -> User:
        if user.role not in roles:
            raise PermissionDenied(refusal, role=user.role)
        return user

    return Depends(guard)


CALL_HANDLING_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
SUPERVISING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
# Supervisors, admins and the mayor's office watch the wallboard; only supervisors act on calls.
WALLBOARD_ROLES = SUPERVISING_ROLES | {Role.VIEWER}
# Whoever some lifecycle action is for; which action, and for a liaison which unit, apply_action decides. A service
# desk refers only the ticket it files (its own form), and a citizen has no account: neither acts on tickets here.
TICKET_ACTOR_ROLES = frozenset().union(*ACTION_ROLES.values()) - {Role.DESK, Role.CITIZEN}
# A liaison or a field supervisor passes here but reads only the tickets in their scope (checked per ticket,
# callcenter/platform/privacy.py); the inspection office reads the scorecard, not single tickets.
HISTORY_READER_ROLES = CALL_HANDLING_ROLES | {Role.FIELD_SUPERVISOR, Role.UNIT_LIAISON}
# Liaisons work their unit's tickets there; field supervisors the disputed ones.
INBOX_ROLES = frozenset({Role.UNIT_LIAISON, Role.FIELD_SUPERVISOR})
# The mayor's office, supervisors, admins and the inspection office read the units' scorecard.
REPORT_ROLES = frozenset({Role.VIEWER, Role.SUPERVISOR, Role.ADMIN, Role.INSPECTOR})
# The in-person service desk: its own staff, and operators and supervisors filling in at the counter (ADR 0059).
DESK_ROLES = frozenset({Role.DESK, Role.OPERATOR, Role.SUPERVISOR})

# The inspection office, and the mayor's office for complaints about the inspection office; which complaint each
# may read, callcenter/complaints/access.py decides per complaint.
COMPLAINT_ROLES = access.COMPLAINT_ROLES
INSPECTION_ROLES = access.INSPECTION_ROLES

CallHandler = Annotated[User, role_guard(CALL_HANDLING_ROLES, "این بخش فقط برای کارشناسان و ناظران مرکز تماس است.")]
Supervisor = Annotated[User, role_guard(SUPERVISING_ROLES, "این بخش فقط برای ناظران مرکز تماس است.")]
WallboardViewer = Annotated[User, role_guard(WALLBOARD_ROLES, "این بخش فقط برای ناظران مرکز تماس و دفتر شهردار است.")]
Admin = Annotated[User, role_guard(frozenset({Role.ADMIN}), "این بخش فقط برای مدیر سامانه است.")]
TicketActor = Annotated[User, role_guard(TICKET_ACTOR_ROLES, "نقش شما فقط اجازه خواندن درخواست‌ها را دارد.")]
HistoryReader = Annotated[User, role_guard(HISTORY_READER_ROLES, "نقش شما اجازه دیدن سابقه درخواست‌ها را ندارد.")]
InboxOwner = Annotated[User, role_guard(INBOX_ROLES, "این بخش فقط برای رابطان واحدها و ناظران میدانی است.")]
ReportReader = Annotated[User, role_guard(REPORT_ROLES, "این گزارش فقط برای دفتر شهردار، ناظران و بازرسی است.")]
DeskStaff = Annotated[User, role_guard(DESK_ROLES, "این بخش فقط برای میز خدمت حضوری، کارشناسان و ناظران است.")]
ComplaintReader = Annotated[User, role_guard(COMPLAINT_ROLES, "این بخش فقط برای بازرسی و دفتر شهردار است.")]
InspectionStaff = Annotated[User, role_guard(INSPECTION_ROLES, "این بخش فقط برای بازرسان است.")]
HeadOfInspection = Annotated[User, role_guard(frozenset({Role.HEAD_OF_INSPECTION}),
                                              "این بخش فقط برای مدیر بازرسی است.")]
# A unit's liaison answers the inspection office's information requests to their unit (and sees nothing else of
# a complaint, callcenter/complaints/information_requests.py).
UnitLiaison = Annotated[User, role_guard(frozenset({Role.UNIT_LIAISON}), "این بخش فقط برای رابطان واحدها است.")]


def phone_of(user: User) -> str:
    """The signed-in user's own phone, for the call controls that ring or act on it."""
    if not user.extension:
        raise PermissionDenied("برای شما داخلی تلفن تعریف نشده است.", username=user.username)
    return user.extension
