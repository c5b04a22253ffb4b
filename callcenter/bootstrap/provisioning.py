"""Bring Asterisk to the state our database and settings describe: install, render, prompts, (re)start; and the
admin pages' changes to its files, in the process that drives it."""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from asterisk_config.render import AmiUser, OperatorPhone, operator_phones, render_config, render_pjsip
from callcenter.platform.errors import ASTERISK_FAILURES, ConfigurationError
from callcenter.platform.settings import Settings
from callcenter.telephony.asterisk_actions import AsteriskActions
from callcenter.telephony.asterisk_sandbox import AsteriskProcess, ensure_installed, runtime_for
from db.models import Unit
from ivr.hold_music import render_hold_music
from ivr.prompts import render_prompts, render_unit_prompt, unit_prompts

log = logging.getLogger(__name__)

# Two administrators saving at once in this process must not interleave their writes of the same file.
_render_lock = threading.Lock()


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
    render_asterisk(settings, phones=phones, unit_names=unit_names, extra_ami_users=extra_ami_users)
    process = AsteriskProcess(runtime)
    if process.is_running():
        process.reload()
    else:
        process.start()
    return process


def render_asterisk(
    settings: Settings,
    *,
    phones: Sequence[OperatorPhone],
    unit_names: Sequence[str] = (),
    extra_ami_users: Sequence[AmiUser] = (),
) -> None:
    """Asterisk's configuration, prompts and queue music written into its instance, without starting it: the
    systemd unit that runs Asterisk starts it after this (``python -m callcenter asterisk render``)."""
    runtime = runtime_for(settings)
    render_config(settings=settings, runtime=runtime, phones=phones, extra_ami_users=extra_ami_users)
    render_prompts(
        runtime.host_path(runtime.sounds_dir / "fa"),
        override_dir=settings.state_dir / "prompts",
        data_prompts=unit_prompts(unit_names),
    )
    render_hold_music(runtime.host_path(runtime.sounds_dir / "moh"), recorded_dir=settings.state_dir / "hold-music")


class LocalProvisioner:
    """The admin pages' provisioning (callcenter/telephony/provisioner.py) done in this process: the one that
    drives Asterisk (the "all" or the telephony process), whose files these are."""

    def __init__(self, settings: Settings, *, engine: Engine, ami: AsteriskActions) -> None:
        self._settings = settings
        self._engine = engine
        self._ami = ami

    async def apply_phone_changes(self) -> bool:
        """Re-render pjsip.conf from the staff table and reload PJSIP over AMI. False when Asterisk was not told:
        the file is still written where the instance exists, so its next reload or restart picks the change up."""
        settings = self._settings
        try:
            written = await run_in_threadpool(_render_phones, settings, self._engine)
        except (ConfigurationError, OSError):  # the account is saved either way; the log says what to fix
            log.exception("could not render pjsip.conf for instance %s", settings.asterisk_instance)
            return False
        if not written:
            log.warning("Asterisk instance %s has no rendered config yet; phones apply when it is provisioned",
                        settings.asterisk_instance)
            return False
        try:
            await self._ami.reload_pjsip()
        except ASTERISK_FAILURES as exc:
            log.warning("PJSIP reload over AMI failed (%s); phone changes apply at Asterisk's next reload", exc)
            return False
        return True

    async def render_unit_name_prompt(self, unit_name: str) -> bool:
        return await run_in_threadpool(_render_unit_name_prompt, self._settings, unit_name)


def _render_phones(settings: Settings, engine: Engine) -> bool:
    """Only into an instance that was provisioned: never scatter config trees where no Asterisk runs."""
    runtime = runtime_for(settings)
    if not runtime.host_path(runtime.instance_dir / "etc" / "pjsip.conf").exists():
        return False
    with _render_lock, Session(engine) as session:
        render_pjsip(settings=settings, runtime=runtime, phones=operator_phones(session))
    return True


def _render_unit_name_prompt(settings: Settings, unit_name: str) -> bool:
    """The spoken name of a unit added at run time, for the IVR's status readback; False when it could not be
    made now (no provisioned instance, or espeak-ng/sox failing): provisioning renders every unit's name anyway."""
    runtime = runtime_for(settings)
    sounds = runtime.host_path(runtime.sounds_dir / "fa")
    if not sounds.is_dir():
        return False
    try:
        render_unit_prompt(sounds, unit_name, override_dir=settings.state_dir / "prompts")
    except (ConfigurationError, subprocess.CalledProcessError, OSError):
        log.exception("could not render the spoken name of unit %r", unit_name)
        return False
    return True
