"""What the web side needs from the process it runs in: the typed container the app factory puts on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.engine import Engine

from agent_console.hub import WebsocketHub
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
from callcenter.verification.dialer import VerificationDialer


class Listener(Protocol):
    """A server this process runs (FastAGI), as the health check sees it."""

    @property
    def listening(self) -> bool: ...


@dataclass(frozen=True)
class WebContainer:
    """Everything a route may be given, built once by the composition root (callcenter/bootstrap/services.py).
    The routes take single fields of it through agent_console/deps.py, never the container itself."""

    settings: Settings
    engine: Engine
    metrics: Metrics
    notifier: Notifier
    ami: AsteriskActions  # the AMI bridge, or in a web-only worker its relay to the telephony process
    agent_log: AgentStateLog
    call_records: CallRecords
    sessions: SessionStore
    lockout_policy: LockoutPolicy
    recordings: RecordingStore
    photos: PhotoStore
    verification: VerificationDialer
    provisioning: AsteriskProvisioner  # in place, or relayed to the telephony process (ADR 0041)
    hub: WebsocketHub
    fastagi: Listener | None  # None in a web-only worker: FastAGI is the telephony process's
