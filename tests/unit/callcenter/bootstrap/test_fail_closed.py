"""Fail closed: the built-in secrets only in explicit development on loopback; demo accounts only in development."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from callcenter.bootstrap.app import create_app
from callcenter.platform.errors import ConfigurationError
from callcenter.platform.settings import DEFAULT_AMI_SECRET, DEFAULT_SECRET, load_settings
from callcenter.staff.demo import seed_demo_staff
from db.engine import make_engine
from db.models import User
from tests.support.paths import REPO_ROOT as ROOT


def _command(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m callcenter …`` as an operator runs it, with only the given PASOKH_* variables."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("PASOKH_")}
    clean.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'pasokh.sqlite3'}", "PYTHONPATH": str(ROOT),
                  "PASOKH_STATE_DIR": str(tmp_path / "state"), **env})
    return subprocess.run([sys.executable, "-m", "callcenter", *args], cwd=ROOT, env=clean, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("environment", [None, "test"])
def test_given_the_built_in_secrets_when_the_environment_is_not_explicitly_development_then_the_app_refuses(
    environment: str | None, tmp_path: Path,
) -> None:
    settings = load_settings(environ={}, environment=environment, state_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="PASOKH_SECRET_KEY and PASOKH_AMI_SECRET"):
        create_app(settings, telephony=False)


def test_given_development_listening_beyond_loopback_with_the_built_in_secrets_then_the_app_refuses(
    tmp_path: Path,
) -> None:
    settings = load_settings(environ={}, environment="development", web_host="0.0.0.0", state_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="beyond loopback"):
        create_app(settings, telephony=False)


def test_given_one_real_secret_and_one_built_in_when_serving_then_the_built_in_one_is_named(tmp_path: Path) -> None:
    settings = load_settings(environ={}, environment="test", secret_key="a-real-one", state_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="PASOKH_AMI_SECRET must be set"):
        create_app(settings, telephony=False)


def test_given_explicit_development_on_loopback_or_real_secrets_anywhere_then_the_app_is_built(tmp_path: Path) -> None:
    development = load_settings(environ={}, environment="development", state_dir=tmp_path)
    assert (development.secret_key, development.ami_secret) == (DEFAULT_SECRET, DEFAULT_AMI_SECRET)
    create_app(development, telephony=False)
    create_app(load_settings(environ={}, web_host="0.0.0.0", secret_key="real-key", ami_secret="real-ami",
                             state_dir=tmp_path), telephony=False)


def test_given_no_environment_when_serving_from_the_command_line_then_it_refuses_and_names_the_secrets(
    tmp_path: Path,
) -> None:
    served = _command(tmp_path, "serve", PASOKH_WEB_PORT="1")  # never reaches the port
    assert served.returncode != 0
    assert "PASOKH_SECRET_KEY and PASOKH_AMI_SECRET must be set unless PASOKH_ENVIRONMENT=development" in served.stderr


def test_given_development_on_all_interfaces_when_serving_from_the_command_line_then_it_refuses(
    tmp_path: Path,
) -> None:
    served = _command(tmp_path, "serve", PASOKH_ENVIRONMENT="development", PASOKH_WEB_HOST="0.0.0.0",
                      PASOKH_WEB_PORT="1")
    assert served.returncode != 0 and "beyond loopback" in served.stderr


def test_given_no_environment_when_seeding_demo_accounts_then_refused_and_none_created(tmp_path: Path) -> None:
    seeded = _command(tmp_path, "seed", "--demo")
    assert seeded.returncode != 0 and "only for PASOKH_ENVIRONMENT=development" in seeded.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'pasokh.sqlite3'}")
    with Session(engine) as session:
        assert session.exec(select(User)).all() == []
    engine.dispose()


@pytest.mark.parametrize("environment", [None, "test", "production"])
def test_given_any_environment_but_development_when_seeding_demo_staff_then_refused(
    environment: str | None, session: Session,
) -> None:
    with pytest.raises(ConfigurationError):
        seed_demo_staff(session, environment=environment, sip_realm="pasokh")
    assert session.exec(select(User)).all() == []


def test_given_development_when_seeding_demo_staff_then_the_demo_logins_exist(session: Session) -> None:
    seed_demo_staff(session, environment="development", sip_realm="pasokh")
    assert "operator1" in {user.username for user in session.exec(select(User)).all()}


def test_when_the_password_module_is_imported_then_no_hash_is_computed_until_an_unknown_login() -> None:
    probe = ("import callcenter.platform.security as s; before = s._dummy_hash.cache_info().currsize; "
             "s.verify_password('x', None); print(before, s._dummy_hash.cache_info().currsize)")
    printed = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                             capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert printed == ["0", "1"]
