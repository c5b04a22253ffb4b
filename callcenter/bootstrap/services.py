"""The composition root: builds every long-lived object once and passes dependencies in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePosixPath

from sqlalchemy.engine import Engine

from callcenter.bootstrap.provisioning import LocalProvisioner
from callcenter.intake.ivr_requests import DatabaseIntake
from callcenter.intake.routing import RoutingPolicy
from callcenter.platform.bus import Bus, InProcessBus, RedisBus
from callcenter.platform.metrics import Metrics
from callcenter.platform.notifier import Notifier
from callcenter.platform.scheduler import Scheduler
from callcenter.platform.service_hours import load_holidays, parse_service_hours
from callcenter.platform.settings import Settings
from callcenter.staff.login_throttle import LockoutPolicy
from callcenter.staff.sessions import SessionPolicy, SessionStore
from callcenter.telephony.agent_states import AgentStateLog
from callcenter.telephony.ami_bridge import AmiBridge
from callcenter.telephony.ami_relay import AmiRelayServer, RelayedAmi, RelayedProvisioner
from callcenter.telephony.asterisk_actions import AsteriskActions
from callcenter.telephony.asterisk_sandbox import runtime_for
from callcenter.telephony.call_records import CallRecords
from callcenter.telephony.call_tracker import CallTracker
from callcenter.telephony.provisioner import AsteriskProvisioner
from callcenter.telephony.recording_retention import RecordingPurger
from callcenter.telephony.recordings import RecordingStore
from callcenter.tickets.attachments import SWEEP_EVERY, PhotoStore, photo_sweep_job
from callcenter.tickets.escalation import Escalator
from callcenter.tickets.sms import KavenegarGateway, OutboxOnlyGateway, SmsDispatcher, SmsGateway
from callcenter.tickets.store import DatabaseTicketDirectory
from callcenter.verification.dialer import VerificationDialer
from callcenter.verification.tasks import CallingPolicy
from db.engine import make_engine, upgrade_database
from ivr.agi_server import AgiServer
from ivr.flows import Flows
from ivr.menu import Menu, Prompts
from ivr.operator_access import AsteriskQueueState, OperatorAccess, VoiceMessageLimits
from ivr.verification_call import VerificationCall

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    metrics: Metrics
    bus: Bus
    notifier: Notifier
    tracker: CallTracker
    agent_log: AgentStateLog
    call_records: CallRecords  # the one writer of call records
    ami: AsteriskActions  # the AMI bridge, or in a web-only worker its relay
    provisioner: AsteriskProvisioner  # the admin pages' changes to Asterisk's files: here, or relayed likewise
    agi: AgiServer
    flows: Flows
    recordings: RecordingStore
    recording_purger: RecordingPurger
    lockout_policy: LockoutPolicy
    sessions: SessionStore
    sms_gateway: SmsGateway
    sms_dispatcher: SmsDispatcher
    # Periodic jobs with their state in the database; started only with telephony. Register more jobs with
    # scheduler.register(...) at any time (decision 28).
    scheduler: Scheduler
    escalator: Escalator
    verification: VerificationDialer
    relay_server: AmiRelayServer | None = None  # with REDIS_URL, the "all" process answers web-only workers
    _sms_task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    @property
    def web_only(self) -> bool:
        return self.settings.role == "web"

    async def start(self, *, telephony: bool = True) -> None:
        """The bus first, then migrations, the SMS dispatcher (when a provider is configured), FastAGI and AMI;
        a web-only worker only connects its AMI relay (the "all" process runs everything else, once)."""
        await self.bus.start()
        upgrade_database(self.settings.database_url)  # a no-op once at head; the "all" process starts first
        if self.web_only:
            await self.ami.start()
            return
        if self.settings.sms_provider == "outbox":
            log.info("No SMS provider configured: tracking-code messages stay queued in sms_outbox")
        elif self._sms_task is None:
            self._sms_task = asyncio.create_task(
                self.sms_dispatcher.run(self.settings.sms_dispatch_interval_seconds), name="sms-dispatcher"
            )
        if telephony:
            await self.agi.start(self.settings.agi_host, self.settings.agi_port)
            await self.ami.start()
            # Only with telephony: the process that drives Asterisk owns its recordings folder, and one
            # process (not every web worker) is enough to run the jobs; the lease guards against more.
            await self.scheduler.start()
            if self.relay_server is not None:
                await self.relay_server.start()
            log.info("FastAGI on %s:%d, AMI to %s:%d", self.settings.agi_host, self.settings.agi_port,
                     self.settings.ami_host, self.settings.ami_port)

    async def stop(self) -> None:
        await self.scheduler.stop()  # first: its jobs use the bus and the database
        if self.relay_server is not None:
            await self.relay_server.stop()
        await self.ami.stop()
        await self.tracker.stop()
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
    bus: Bus = (RedisBus(settings.redis_url, channel=f"{settings.redis_namespace}:events",
                         ca_file=settings.redis_ca_file) if settings.redis_url else InProcessBus())
    notifier = Notifier(bus=bus)
    agent_log = AgentStateLog(engine=engine)
    call_records = CallRecords(engine=engine)
    tracker = CallTracker(records=call_records, agent_log=agent_log,
                          notifier=notifier, metrics=metrics, wrapup_seconds=settings.queue_wrapup_seconds)
    agi = AgiServer(metrics=metrics, secret=settings.agi_secret)
    flows = build_flows(settings, engine=engine, notifier=notifier)
    flows.register(agi)
    gateway = build_sms_gateway(settings)
    ami, provisioner, relay_server = build_asterisk_actions(settings, engine=engine, tracker=tracker,
                                                            metrics=metrics)
    purger = recording_purger(settings, engine=engine)
    escalator = Escalator(engine=engine, notifier=notifier)
    scheduler = Scheduler(engine=engine, tick_seconds=settings.scheduler_tick_seconds)
    scheduler.register(name="recording-purge", every=timedelta(seconds=settings.recording_purge_interval_seconds),
                       run=purger.purge_now)
    scheduler.register(name="photo-sweep", every=SWEEP_EVERY,
                       run=photo_sweep_job(engine=engine, store=PhotoStore.for_settings(settings)))
    scheduler.register(name="ticket-escalation", every=timedelta(seconds=settings.escalation_interval_seconds),
                       run=escalator.run)
    verification = build_verification(settings, engine=engine, ami=ami, notifier=notifier, menu=flows.menu)
    VerificationCall(menu=flows.menu, answers=verification).register(agi)
    if isinstance(ami, AmiBridge):  # the process that hears Asterisk's events (not a web-only worker)
        ami.on("UserEvent", verification.on_user_event)
    scheduler.register(name="verification-dialer", run=verification.dial_due,
                       every=timedelta(seconds=settings.verification_dial_interval_seconds))
    return Services(
        settings=settings, engine=engine, metrics=metrics, bus=bus, notifier=notifier, tracker=tracker,
        agent_log=agent_log, call_records=call_records, ami=ami, provisioner=provisioner, relay_server=relay_server,
        agi=agi, flows=flows,
        recordings=recording_store(settings), sms_gateway=gateway,
        recording_purger=purger, scheduler=scheduler, escalator=escalator, verification=verification,
        lockout_policy=LockoutPolicy(max_failures=settings.login_max_failures,
                                     lockout=timedelta(seconds=settings.login_lockout_seconds),
                                     address_max_failures=settings.login_address_max_failures,
                                     first_delay=timedelta(seconds=settings.login_first_delay_seconds)),
        sessions=SessionStore(engine=engine, policy=SessionPolicy(
            idle=timedelta(seconds=settings.session_idle_seconds),
            lifetime=timedelta(seconds=settings.session_lifetime_seconds))),
        sms_dispatcher=SmsDispatcher(engine=engine, gateway=gateway, max_attempts=settings.sms_max_attempts,
                                     metrics=metrics),
    )


def build_asterisk_actions(
    settings: Settings, *, engine: Engine, tracker: CallTracker, metrics: Metrics
) -> tuple[AsteriskActions, AsteriskProvisioner, AmiRelayServer | None]:
    """The AMI bridge and the provisioner working in this process (and, with Redis, the relay that serves
    web-only workers with both), or a web-only worker's relayed AMI and provisioner."""
    if settings.role == "web":
        assert settings.redis_url  # settings refuse a web-only worker without Redis
        relayed = RelayedAmi(redis_url=settings.redis_url, namespace=settings.redis_namespace,
                             ca_file=settings.redis_ca_file)
        return relayed, RelayedProvisioner(relayed), None
    bridge = AmiBridge(settings=settings, tracker=tracker, metrics=metrics)
    provisioner = LocalProvisioner(settings, engine=engine, ami=bridge)
    relay = (AmiRelayServer(redis_url=settings.redis_url, namespace=settings.redis_namespace, ami=bridge,
                            provisioner=provisioner, ca_file=settings.redis_ca_file) if settings.redis_url else None)
    return bridge, provisioner, relay


def recording_store(settings: Settings) -> RecordingStore:
    runtime = runtime_for(settings)
    return RecordingStore(host_dir=runtime.host_path(runtime.recordings_dir),
                          asterisk_dir=PurePosixPath(str(runtime.recordings_dir)))


def recording_purger(settings: Settings, *, engine: Engine) -> RecordingPurger:
    return RecordingPurger(engine=engine, store=recording_store(settings),
                           retention=timedelta(days=settings.call_recording_retention_days))


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


def build_verification(settings: Settings, *, engine: Engine, ami: AsteriskActions, notifier: Notifier,
                       menu: Menu) -> VerificationDialer:
    policy = CallingPolicy(
        hours=parse_service_hours(settings.verification_calling_hours, load_holidays(settings.holidays_file)),
        max_attempts=settings.verification_max_attempts,
        retry_after=timedelta(minutes=settings.verification_retry_minutes),
    )
    return VerificationDialer(engine=engine, ami=ami, notifier=notifier, policy=policy,
                              max_outbound=settings.max_outbound_calls, max_lines=settings.max_inbound_calls,
                              ring_seconds=settings.verification_ring_seconds)


def build_sms_gateway(settings: Settings) -> SmsGateway:
    if settings.sms_provider == "kavenegar":
        assert settings.kavenegar_api_key  # settings refuse kavenegar without a key
        return KavenegarGateway(api_key=settings.kavenegar_api_key, sender=settings.kavenegar_sender,
                                base_url=settings.kavenegar_base_url)
    return OutboxOnlyGateway()
