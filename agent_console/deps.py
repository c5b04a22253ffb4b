"""FastAPI dependencies, defined once: ``SessionDep``, ``ServicesDep``, ``CurrentUser``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from callcenter.errors import NotAuthenticated, PermissionDenied
from callcenter.services import Services
from db.models import Role, User


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with Session(services.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_current_user(request: Request, session: SessionDep) -> User:
    user_id = request.session.get("user_id")
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active:
        raise NotAuthenticated("ابتدا وارد سامانه شوید.")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]

CALL_HANDLING_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})


def require_call_handler(user: CurrentUser) -> User:
    if user.role not in CALL_HANDLING_ROLES:
        raise PermissionDenied("این بخش فقط برای کارشناسان و ناظران مرکز تماس است.", role=user.role)
    return user


CallHandler = Annotated[User, Depends(require_call_handler)]
