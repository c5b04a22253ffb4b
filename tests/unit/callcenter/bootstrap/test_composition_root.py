"""The composition root: a web-only worker builds no telephony, and no process starts on an unmigrated database."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.bootstrap.services import build_services
from callcenter.platform.errors import ConfigurationError
from callcenter.platform.settings import load_settings
from callcenter.telephony.ami_bridge import AmiBridge
from callcenter.telephony.ami_relay import RelayedAmi
from db.engine import make_engine, schema_is_current

REDIS_URL = "redis://127.0.0.1:6379/0"  # never connected to: nothing here is started


def test_given_a_web_only_worker_when_built_then_it_has_the_relay_and_no_telephony_container(tmp_path: Path) -> None:
    settings = load_settings({}, role="web", redis_url=REDIS_URL, state_dir=tmp_path / "state",
                             database_url=f"sqlite:///{tmp_path / 'web.sqlite3'}")
    services = build_services(settings)
    try:
        assert services.telephony is None  # no FastAGI server, flows, tracker, scheduler or SMS dispatcher
        assert isinstance(services.web.ami, RelayedAmi)
        assert services.web.fastagi is None  # the health check says FastAGI is in the telephony process
    finally:
        services.engine.dispose()


def test_given_the_all_process_when_built_then_routes_drive_its_bridge_and_health_sees_its_fastagi(
    tmp_path: Path,
) -> None:
    settings = load_settings({}, state_dir=tmp_path / "state", database_url=f"sqlite:///{tmp_path / 'all.sqlite3'}")
    services = build_services(settings)
    try:
        assert services.telephony is not None
        assert isinstance(services.web.ami, AmiBridge) and services.web.ami is services.telephony.bridge
        assert services.web.fastagi is services.telephony.agi
    finally:
        services.engine.dispose()


async def test_given_a_database_behind_its_migrations_when_a_process_starts_then_it_refuses(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    services = build_services(load_settings({}, state_dir=tmp_path / "state", database_url=url))
    with pytest.raises(ConfigurationError, match="python -m callcenter migrate"):
        await services.start(telephony=False)
    engine = make_engine(url)
    assert not schema_is_current(engine)  # the refusal did not migrate it either
    engine.dispose()
    services.engine.dispose()


def test_given_a_migrated_database_when_checked_then_it_is_current(database_url: str) -> None:
    engine = make_engine(database_url)
    assert schema_is_current(engine)
    engine.dispose()

