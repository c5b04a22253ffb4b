"""The demo staff accounts (their passwords are in the README), seeded only in development."""

from __future__ import annotations

from sqlmodel import Session, select

from callcenter.platform.errors import ConfigurationError
from callcenter.platform.security import hash_password, sip_md5_cred
from db.models import Unit, User
from db.seed import DEMO_LOGINS, DemoLogin


def seed_demo_staff(session: Session, *, environment: str | None, sip_realm: str,
                    logins: tuple[DemoLogin, ...] = DEMO_LOGINS) -> None:
    """Demo accounts, whose passwords are in the README: only ever in development."""
    if environment != "development":
        raise ConfigurationError(f"demo accounts are only for PASOKH_ENVIRONMENT=development, not {environment!r}")
    known = {u.username: u for u in session.exec(select(User)).all()}
    unit_ids = {u.name: u.id for u in session.exec(select(Unit)).all()}
    for login in logins:
        if login.username in known:
            _keep_demo_phone_documented(known[login.username], login, sip_realm)
            continue
        session.add(
            User(
                username=login.username,
                full_name=login.full_name,
                role=login.role,
                extension=login.extension,
                password_hash=hash_password(login.password),
                sip_md5_cred=(sip_md5_cred(login.extension, login.sip_password, sip_realm)
                              if login.extension and login.sip_password else None),
                unit_id=unit_ids.get(login.unit) if login.unit else None,
            )
        )
    session.flush()


def _keep_demo_phone_documented(user: User, login: DemoLogin, sip_realm: str) -> None:
    """A demo account seeded before SIP passwords became fixed values (or under another realm) is brought back
    to the documented one, so that what the banner prints registers."""
    if user.extension == login.extension and login.extension and login.sip_password:
        user.sip_md5_cred = sip_md5_cred(login.extension, login.sip_password, sip_realm)
