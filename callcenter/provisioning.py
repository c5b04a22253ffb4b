"""Bring Asterisk to the state our database and settings describe: install, render, prompts, (re)start."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from asterisk_config.render import AmiUser, OperatorPhone, operator_phones, render_config
from callcenter.asterisk_sandbox import AsteriskProcess, ensure_installed, runtime_for
from callcenter.settings import Settings
from db.models import Unit
from ivr.prompts import render_prompts, unit_prompts


def phones_from_database(engine: Engine) -> list[OperatorPhone]:
    with Session(engine) as session:
        return operator_phones(session)


def unit_names_from_database(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [unit.name for unit in session.exec(select(Unit)).all()]


def provision_asterisk(
    settings: Settings,
    *,
    phones: Sequence[OperatorPhone],
    unit_names: Sequence[str] = (),
    extra_ami_users: Sequence[AmiUser] = (),
) -> AsteriskProcess:
    """Used alike by ``make run``, the tests and the benchmark, so all three run the same Asterisk."""
    runtime = runtime_for(settings)
    ensure_installed(runtime)
    render_config(settings=settings, runtime=runtime, phones=phones, extra_ami_users=extra_ami_users)
    render_prompts(
        runtime.host_path(runtime.sounds_dir / "fa"),
        override_dir=settings.state_dir / "prompts",
        data_prompts=unit_prompts(unit_names),
    )
    process = AsteriskProcess(runtime)
    if process.is_running():
        process.reload()
    else:
        process.start()
    return process
