"""Turn settings + operators from the database into a complete Asterisk config tree for one instance."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlmodel import Session, col, select

from asterisk_config.modules import module_names
from callcenter.platform.errors import ConfigurationError
from callcenter.platform.lines import LINE_137, LINE_1888, LINES
from callcenter.platform.privacy import WITHHELD_CALLER_ID
from callcenter.platform.settings import Settings
from callcenter.telephony.asterisk_sandbox import AsteriskRuntime
from callcenter.telephony.dialplan import template_names
from callcenter.telephony.recordings import RecordingStore
from db.models import User

TEMPLATES = (
    "asterisk.conf", "modules.conf", "logger.conf", "pjsip.conf", "extensions.conf",
    "queues.conf", "manager.conf", "rtp.conf", "cdr.conf", "cel.conf", "musiconhold.conf",
)
# Files we do not template: the packaged defaults are right (tones, feature codes...), copied from the runtime.
STOCK_FILES = ("indications.conf", "features.conf", "ccss.conf", "udptl.conf", "acl.conf", "pjproject.conf")
# Values land inside Asterisk config lines: no separators, comments or line breaks may sneak in.
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9._@+\-]+$")
_MD5_HEX = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class OperatorPhone:
    extension: str
    md5_cred: str  # md5("extension:realm:password"); pjsip.conf never holds the password itself
    display_name: str


@dataclass(frozen=True)
class AgiBaselineSide:
    """One side of the AGI baseline bench: the extension its calls dial and what AGI() runs for them."""

    name: str  # "fastagi" or "pyst2"; the extension is ``agi-<name>``
    target: str  # AGI()'s arguments: a FastAGI URL, or a script path and its arguments


@dataclass(frozen=True)
class AgiBaseline:
    """The bench-only context of tests/perf/agi_baseline.py (ADR 0085): rendered only when a bench passes one."""

    sides: tuple[AgiBaselineSide, ...]
    # STRFTIME, the timestamps around AGI() with microseconds (production's dialplan needs no clock).
    modules: tuple[str, ...] = ("func_strings.so",)


@dataclass(frozen=True)
class AmiUser:
    username: str
    secret: str
    read: str
    write: str


def operator_phones(session: Session) -> list[OperatorPhone]:
    """Every active staff member with a SIP extension gets a PJSIP endpoint."""
    users = session.exec(
        select(User).where(col(User.extension).is_not(None), col(User.is_active).is_(True)).order_by(User.extension)
    ).all()
    return [
        OperatorPhone(extension=u.extension or "", md5_cred=u.sip_md5_cred or "", display_name=u.full_name)
        for u in users
        if u.sip_md5_cred
    ]


# The manager classes the bridge's actions need (Asterisk 22, `manager show command <Action>`): each action runs
# if the user holds any one of its classes. No ``system`` (it would let an Originate run System() or Exec(),
# shut Asterisk down...) and no ``command`` (any CLI command). ``config`` is there only for Reload; it also
# allows UpdateConfig, which the relay's allowlist never lets a web worker send (docs/security.md).
BRIDGE_WRITE_CLASSES = {
    "agent": "QueueAdd, QueueRemove, QueuePause",
    "call": "Redirect, Hangup, Setvar MUTEAUDIO (hold), Getvar",
    "originate": "Originate of ChanSpy and of the verification contexts (System/Exec would need system)",
    "reporting": "CoreShowChannels, CoreSettings",
    "config": "Reload of res_pjsip.so after the admin page changes a phone",
}
# Events the call tracker and the verification dialer read: call and agent (queues), user (our UserEvents),
# system (FullyBooted, Shutdown) and reporting. Reading grants no action.
BRIDGE_READ_CLASSES = ("system", "call", "agent", "user", "reporting")


def bridge_ami_user(settings: Settings) -> AmiUser:
    """Least privilege for the AMI bridge (QueueStatus and Ping need no class)."""
    return AmiUser(
        username=settings.ami_username,
        secret=settings.ami_secret,
        read=",".join(BRIDGE_READ_CLASSES),
        write=",".join(BRIDGE_WRITE_CLASSES),
    )


def template_environment() -> Environment:
    """The templates' Jinja environment: a name not handed to them (a context or variable retyped with a typo)
    fails the rendering instead of leaving a blank in Asterisk's config."""
    return Environment(
        loader=PackageLoader("asterisk_config", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_config(
    *,
    settings: Settings,
    runtime: AsteriskRuntime,
    phones: Sequence[OperatorPhone],
    extra_ami_users: Sequence[AmiUser] = (),
    templates: Sequence[str] = TEMPLATES,
    agi_baseline: AgiBaseline | None = None,
) -> Path:
    """Write the config files (all, or just ``templates``) into the instance's ``etc`` folder; return that folder.
    ``agi_baseline`` adds the AGI baseline bench's context (never in production: nothing else passes one)."""
    ami_users = [bridge_ami_user(settings), *extra_ami_users]
    _check_safe(phones, ami_users)
    env = template_environment()
    context = {
        **template_names(),
        "settings": settings,
        "instance_dir": str(runtime.instance_dir),
        "directories": runtime.stock_directories(),
        "sounds_dir": str(runtime.sounds_dir),
        "recordings_dir": str(runtime.recordings_dir),
        # The store's naming rule, with the call's linkedid left for Asterisk to fill in.
        "call_recording_names": {
            line.number: RecordingStore.call_name(line=line.number, linkedid="${CHANNEL(linkedid)}") for line in LINES
        },
        "lines": LINES,
        "line_137": LINE_137,
        "line_1888": LINE_1888,
        "verification_caller_id": LINE_137.number,
        "withheld_caller_id": WITHHELD_CALLER_ID,
        # Appended to every AGI() URL: FastAGI beyond loopback refuses sessions without the shared secret.
        "agi_secret_query": f"?secret={settings.agi_secret}" if settings.agi_secret else "",
        "phones": phones,
        "modules": [*module_names(), *(agi_baseline.modules if agi_baseline else ())],
        "ami_users": ami_users,
        "agi_baseline": agi_baseline,
    }
    etc_dir = runtime.host_path(runtime.instance_dir / "etc")
    etc_dir.mkdir(parents=True, exist_ok=True)
    for sub in ("run", "log", "spool", "lib", "sounds", "recordings"):
        runtime.host_path(runtime.instance_dir / sub).mkdir(parents=True, exist_ok=True)
    for name in templates:
        text = env.get_template(f"{name}.j2").render(context)
        _write_if_changed(etc_dir / name, text)
    for name in STOCK_FILES:
        stock = runtime.host_path(f"/etc/asterisk/{name}")
        if stock.exists():
            _write_if_changed(etc_dir / name, stock.read_text())
    return etc_dir


def render_pjsip(*, settings: Settings, runtime: AsteriskRuntime, phones: Sequence[OperatorPhone]) -> Path:
    """Only pjsip.conf, for phone changes at run time; returns its host path. manager.conf is left alone: it may
    hold AMI users added at provisioning (the tests' observer) that the running process does not know about."""
    return render_config(settings=settings, runtime=runtime, phones=phones, templates=("pjsip.conf",)) / "pjsip.conf"


def _check_safe(phones: Sequence[OperatorPhone], ami_users: Sequence[AmiUser]) -> None:
    for phone in phones:
        if not (_SAFE_VALUE.match(phone.extension) and _MD5_HEX.match(phone.md5_cred)):
            raise ConfigurationError("unsafe value for the SIP config", extension=phone.extension)
    for user in ami_users:
        if not (_SAFE_VALUE.match(user.username) and _SAFE_VALUE.match(user.secret)):
            raise ConfigurationError("unsafe AMI credentials", username=user.username)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
