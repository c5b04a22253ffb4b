"""Signing in and out: the home redirect, the login form, logout, and changing one's own password."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import HTTPConnection

from agent_console.deps import CurrentUser, EngineDep, LockoutPolicyDep, NotifierDep, SessionDep, StaffSessionsDep
from agent_console.session_cookie import current_session
from agent_console.session_cookie import end as end_session
from agent_console.session_cookie import start as start_session
from agent_console.templating import TEMPLATES
from callcenter.platform.errors import AccountLocked, NotAuthenticated, PasokhError, ValidationFailed
from callcenter.staff.accounts import authenticate, change_password
from callcenter.staff.login_throttle import LockoutPolicy
from db.engine import unit_of_work
from db.models import Role, User

router = APIRouter()
log = logging.getLogger(__name__)


@router.get("/", include_in_schema=False)
def home(request: Request, session: SessionDep) -> RedirectResponse:
    active = current_session(request)
    user = session.get(User, active.user_id) if active else None
    return RedirectResponse(landing_page(user) if user is not None else "/login", status_code=303)


def landing_page(user: User) -> str:
    """Where a user starts: the mayor's office watches the wallboard, liaisons and field supervisors their inbox,
    the service desk its form, the inspection office its complaints queue; everyone else the console (which tells
    roles without a page yet that it is not theirs)."""
    return LANDING_PAGES.get(user.role, "/console")


LANDING_PAGES = {Role.VIEWER: "/wallboard", Role.UNIT_LIAISON: "/inbox", Role.FIELD_SUPERVISOR: "/inbox",
                 Role.DESK: "/desk", Role.INSPECTOR: "/inspection", Role.HEAD_OF_INSPECTION: "/inspection"}


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "login.html", {"error": None})


@router.post("/login", include_in_schema=False)
async def login(
    request: Request,
    engine: EngineDep,
    policy: LockoutPolicyDep,
    sessions: StaffSessionsDep,
    notifier: NotifierDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    address = client_address(request)
    try:
        user = await run_in_threadpool(_authenticate, engine, policy, username=username, password=password,
                                       address=address)
    except (NotAuthenticated, AccountLocked) as refused:
        log.info("Login refused for %r from %s: %s", username[:64], address, refused.error_id)
        return TEMPLATES.TemplateResponse(request, "login.html", {"error": refused.message},
                                          status_code=refused.status_code)
    assert user.id is not None
    previous = current_session(request)
    if previous is not None:  # someone else's session on this browser ends with the new login
        await run_in_threadpool(sessions.revoke, previous.id)
        notifier.sessions_revoked(user_id=previous.user_id)
    token, active = await run_in_threadpool(sessions.open, user_id=user.id, address=address,
                                            user_agent=request.headers.get("user-agent", ""))
    start_session(request, token=token, active=active)
    log.info("Login of %s from %s (session %d)", user.username, address, active.id)
    return RedirectResponse(landing_page(user), status_code=303)


def _authenticate(engine: Engine, policy: LockoutPolicy, *, username: str, password: str, address: str) -> User:
    with Session(engine) as session:
        user = authenticate(session, username=username, password=password, address=address, policy=policy)
        session.expunge(user)
        return user


def client_address(connection: HTTPConnection) -> str:
    """The client's address as uvicorn saw it (behind a proxy: with --forwarded-allow-ips, the proxy's client)."""
    return connection.client.host if connection.client else "unknown"


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, sessions: StaffSessionsDep, notifier: NotifierDep) -> RedirectResponse:
    active = current_session(request)
    if active is not None:
        await run_in_threadpool(sessions.revoke, active.id)
        notifier.sessions_revoked(user_id=active.user_id)
    end_session(request)
    return RedirectResponse("/login", status_code=303)


@router.get("/account/password", response_class=HTMLResponse, include_in_schema=False)
def password_page(request: Request, user: CurrentUser) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "password.html", {"user": user, "error": None, "done": False})


@router.post("/account/password", response_class=HTMLResponse, include_in_schema=False)
async def change_own_password(
    request: Request,
    user: CurrentUser,
    engine: EngineDep,
    sessions: StaffSessionsDep,
    notifier: NotifierDep,
    current_password: Annotated[str, Form()],
    new_password: Annotated[str, Form()],
    repeated_password: Annotated[str, Form()],
) -> HTMLResponse:
    """The account holder's own password: the current one first; every other session of the account ends."""
    active = current_session(request)
    assert active is not None and user.id is not None  # CurrentUser came from this session
    try:
        if new_password != repeated_password:
            raise ValidationFailed("گذرواژهٔ تازه و تکرار آن یکی نیستند.", field="repeated_password")
        await run_in_threadpool(_change_password, engine, user_id=user.id, current=current_password,
                                new=new_password)
    except PasokhError as refused:
        return TEMPLATES.TemplateResponse(request, "password.html", {"user": user, "error": refused.message,
                                                                     "done": False},
                                          status_code=refused.status_code)
    revoked = await run_in_threadpool(sessions.revoke_all, user.id, except_session=active.id)
    notifier.sessions_revoked(user_id=user.id, except_session=active.id)
    log.info("%s changed their password; %d other sessions revoked", user.username, revoked)
    return TEMPLATES.TemplateResponse(request, "password.html", {"user": user, "error": None, "done": True})


def _change_password(engine: Engine, *, user_id: int, current: str, new: str) -> None:
    with unit_of_work(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        change_password(session, user=user, current=current, new=new)
