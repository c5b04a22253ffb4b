"""The composition root: builds every long-lived object once and passes dependencies in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePosixPath

from sqlalchemy.engine import Engine

from callcenter.accounts import LockoutPolicy
from callcenter.ami_bridge import AmiBridge
from callcenter.asterisk_sandbox import runtime_for
from callcenter.bus import Bus, InProcessBus, RedisBus
from callcenter.call_records import CallRecords
from callcenter.call_tracker import CallTracker
from callcenter.intake import DatabaseIntake
from callcenter.metrics import Metrics
from callcenter.notifier import Notifier
from callcenter.recordings import RecordingStore
from callcenter.routing import RoutingPolicy
from callcenter.service_hours import load_holidays, parse_service_hours
from callcenter.settings import Settings
from callcenter.sms import KavenegarGateway, OutboxOnlyGateway, SmsDispatcher, SmsGateway
from callcenter.tickets import DatabaseTicketDirectory
from db.engine import make_engine, upgrade_database
from ivr.agi_server import AgiServer
from ivr.flows import Flows
from ivr.menu import Menu, Prompts
from ivr.operator_access import AsteriskQueueState, OperatorAccess, VoiceMessageLimits

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    metrics: Metrics
    bus: Bus
    notifier: Notifier
    tracker: CallTracker
    ami: AmiBridge
    agi: AgiServer
    flows: Flows
    recordings: RecordingStore
    lockout_policy: LockoutPolicy
    sms_gateway: SmsGateway
    sms_dispatcher: SmsDispatcher
    _sms_task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def start(self, *, telephony: bool = True) -> None:
        """The bus first, then migrations, the SMS dispatcher (when a provider is configured), FastAGI and AMI."""
        await self.bus.start()
        upgrade_database(self.settings.database_url)
        if self.settings.sms_provider == "outbox":
            log.info("No SMS provider configured: tracking-code messages stay queued in sms_outbox")
        elif self._sms_task is None:
            self._sms_task = asyncio.create_task(
                self.sms_dispatcher.run(self.settings.sms_dispatch_interval_seconds), name="sms-dispatcher"
            )
        if telephony:
            await self.agi.start(self.settings.agi_host, self.settings.agi_port)
            await self.ami.start()
            log.info("FastAGI on %s:%d, AMI to %s:%d", self.settings.agi_host, self.settings.agi_port,
                     self.settings.ami_host, self.settings.ami_port)

    async def stop(self) -> None:
        await self.ami.stop()
        await self.agi.stop()
        if self._sms_task is not None:
            self._sms_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sms_task
            self._sms_task = None
        await self.sms_gateway.aclose()
        await self.bus.stop()
        self.engine.dispose()


def build_services(settings: Settings) -> Services:
    engine = make_engine(settings.database_url)
    metrics = Metrics()
    bus: Bus = RedisBus(settings.redis_url) if settings.redis_url else InProcessBus()
    notifier = Notifier(bus=bus)
    tracker = CallTracker(records=CallRecords(engine=engine), notifier=notifier, metrics=metrics)
    agi = AgiServer(metrics=metrics)
    flows = build_flows(settings, engine=engine, notifier=notifier)
    flows.register(agi)
    gateway = build_sms_gateway(settings)
    return Services(
        settings=settings, engine=engine, metrics=metrics, bus=bus, notifier=notifier, tracker=tracker,
        ami=AmiBridge(settings=settings, tracker=tracker, metrics=metrics), agi=agi, flows=flows,
        recordings=recording_store(settings), sms_gateway=gateway,
        lockout_policy=LockoutPolicy(max_failures=settings.login_max_failures,
                                     lockout=timedelta(seconds=settings.login_lockout_seconds)),
        sms_dispatcher=SmsDispatcher(engine=engine, gateway=gateway, max_attempts=settings.sms_max_attempts,
                                     metrics=metrics),
    )


def recording_store(settings: Settings) -> RecordingStore:
    runtime = runtime_for(settings)
    return RecordingStore(host_dir=runtime.host_path(runtime.recordings_dir),
                          asterisk_dir=PurePosixPath(str(runtime.recordings_dir)))


def build_flows(settings: Settings, *, engine: Engine, notifier: Notifier) -> Flows:
    menu = Menu(Prompts(sounds_dir=PurePosixPath(str(runtime_for(settings).sounds_dir)) / "fa"))
    hours = parse_service_hours(settings.service_hours, load_holidays(settings.holidays_file))
    operators = OperatorAccess(
        menu=menu, routing=RoutingPolicy(hours=hours, max_wait_seconds=settings.max_wait_seconds),
        queue_state=AsteriskQueueState(), requests=DatabaseIntake(engine=engine, notifier=notifier),
        recordings=recording_store(settings),
        limits=VoiceMessageLimits(max_seconds=settings.voice_message_max_seconds,
                                  min_seconds=settings.voice_message_min_seconds,
                                  silence_seconds=settings.voice_message_silence_seconds),
    )
    return Flows(menu=menu, tickets=DatabaseTicketDirectory(engine=engine), operators=operators)


def build_sms_gateway(settings: Settings) -> SmsGateway:
    if settings.sms_provider == "kavenegar":
        assert settings.kavenegar_api_key  # settings refuse kavenegar without a key
        return KavenegarGateway(api_key=settings.kavenegar_api_key, sender=settings.kavenegar_sender,
                                base_url=settings.kavenegar_base_url)
    return OutboxOnlyGateway()
