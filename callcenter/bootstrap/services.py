"""The composition root: builds each process's long-lived objects once, in a web and a telephony container."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import PurePosixPath

from sqlalchemy.engine import Engine

from agent_console.container import WebContainer
from agent_console.hub import WebsocketHub
from callcenter.bootstrap.observability import watch_ami, watch_process, watch_telephony
from callcenter.bootstrap.provisioning import LocalProvisioner
from callcenter.citizens.links import status_links
from callcenter.citizens.phone_codes import purge_old_codes
from callcenter.complaints import drafts as complaint_drafts
from callcenter.complaints import meetings
from callcenter.complaints import sla as complaint_sla
from callcenter.complaints.attachments import AttachmentStore
from callcenter.complaints.events import may_hear
from callcenter.complaints.retention import RETENTION_EVERY, retention_job
from callcenter.intake.ivr_requests import DatabaseIntake
from callcenter.intake.routing import RoutingPolicy
from callcenter.platform import rate_limits
from callcenter.platform.bus import Bus, InProcessBus, RedisBus
from callcenter.platform.errors import ConfigurationError
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
from callcenter.tickets.store import ADDRESS_WORD_PURGE_EVERY, DatabaseTicketDirectory, address_word_purge_job
from callcenter.verification.dialer import VerificationDialer
from callcenter.verification.tasks import CallingPolicy
from db.engine import make_engine, schema_is_current, unit_of_work
from db.models import utcnow
from ivr.agi_server import AgiServer
from ivr.flows import Flows
from ivr.menu import Menu, Prompts
from ivr.operator_access import AsteriskQueueState, OperatorAccess, VoiceMessageLimits
from ivr.verification_call import VerificationCall

log = logging.getLogger(__name__)


@dataclass
class Telephony:
    """What only the process driving Asterisk builds and starts: the AMI bridge and the relay serving web-only
    workers, call tracking, FastAGI with the IVR flows, the periodic jobs (the dialer's among them) and the SMS
    dispatcher. A web-only worker has none of it."""

    settings: Settings
    tracker: CallTracker
    bridge: AmiBridge
    relay_server: AmiRelayServer | None  # with REDIS_URL: answers the web-only workers' AMI actions
    agi: AgiServer
    flows: Flows
    # Periodic jobs with their state in the database. Register more jobs with scheduler.register(...) at any
    # time (decision 28).
    scheduler: Scheduler
    escalator: Escalator
    recording_purger: RecordingPurger
    sms_gateway: SmsGateway
    sms_dispatcher: SmsDispatcher
    _sms_task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def start(self, *, listen: bool) -> None:
        """The SMS dispatcher (when a provider is configured); with ``listen``, FastAGI, AMI, the jobs and the
        relay too (without it, a web-only test app of the "all" role)."""
        if self.settings.sms_provider == "outbox":
            log.info("No SMS provider configured: tracking-code messages stay queued in sms_outbox")
        elif self._sms_task is None:
            self._sms_task = asyncio.create_task(
                self.sms_dispatcher.run(self.settings.sms_dispatch_interval_seconds), name="sms-dispatcher"
            )
        if not listen:
            return
        await self.agi.start(self.settings.agi_host, self.settings.agi_port)
        await self.bridge.start()
        # The process that drives Asterisk owns its recordings folder, and one process (not every web worker) is
        # enough to run the jobs; the lease guards against more.
        await self.scheduler.start()
        if self.relay_server is not None:
            await self.relay_server.start()
        log.info("FastAGI on %s:%d, AMI to %s:%d", self.settings.agi_host, self.settings.agi_port,
                 self.settings.ami_host, self.settings.ami_port)

    async def stop(self) -> None:
        await self.scheduler.stop()  # first: its jobs use the bus and the database
        if self.relay_server is not None:
            await self.relay_server.stop()
        await self.bridge.stop()
        await self.tracker.stop()
        await self.agi.stop()
        if self._sms_task is not None:
            self._sms_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sms_task
            self._sms_task = None
        await self.sms_gateway.aclose()


@dataclass
class Services:
    """One process's objects: what it shares (settings, database, bus), the web container the routes draw on,
    and the telephony container, which a web-only worker does not build."""

    settings: Settings
    engine: Engine
    bus: Bus
    web: WebContainer
    telephony: Telephony | None
    _loop_watched: bool = field(default=False, init=False, repr=False)

    async def start(self, *, telephony: bool = True) -> None:
        """The bus first; then a web-only worker connects its AMI relay, and the "all" process starts its
        telephony container. Migrations are not run here: the CLI runs them once, before any process starts; a
        process started on a database behind them refuses to start."""
        if not await asyncio.to_thread(schema_is_current, self.engine):
            raise ConfigurationError("the database is not at the latest migration: run `python -m callcenter "
                                     "migrate` (or `serve`, which migrates) before starting this process")
        if not self._loop_watched:
            watch_process(self.web.metrics, asyncio.get_running_loop())
            self._loop_watched = True
        await self.bus.start()
        if self.telephony is None:
            await self.web.ami.start()
        else:
            await self.telephony.start(listen=telephony)

    async def stop(self) -> None:
        if self.telephony is None:
            await self.web.ami.stop()
        else:
            await self.telephony.stop()
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
    photos = PhotoStore.for_settings(settings)
    telephony: Telephony | None = None
    if settings.role == "web":
        assert settings.redis_url  # settings refuse a web-only worker without Redis
        relayed = RelayedAmi(redis_url=settings.redis_url, namespace=settings.redis_namespace,
                             ca_file=settings.redis_ca_file)
        ami: AsteriskActions = relayed
        verification = build_verification(settings, engine=engine, ami=ami, notifier=notifier)
        provisioner: AsteriskProvisioner = RelayedProvisioner(relayed)
    else:
        tracker = CallTracker(records=call_records, agent_log=agent_log, notifier=notifier, metrics=metrics,
                              wrapup_seconds=settings.queue_wrapup_seconds)
        ami = bridge = AmiBridge(settings=settings, tracker=tracker, on_resynced=metrics.ami_resync_seconds.observe)
        verification = build_verification(settings, engine=engine, ami=bridge, notifier=notifier)
        provisioner = LocalProvisioner(settings, engine=engine, ami=bridge)
        telephony = build_telephony(settings, engine=engine, metrics=metrics, notifier=notifier, tracker=tracker,
                                    bridge=bridge, verification=verification, photos=photos, provisioner=provisioner)
    web = WebContainer(
        settings=settings, engine=engine, metrics=metrics, notifier=notifier, ami=ami, agent_log=agent_log,
        call_records=call_records, recordings=recording_store(settings), photos=photos, verification=verification,
        lockout_policy=LockoutPolicy(max_failures=settings.login_max_failures,
                                     lockout=timedelta(seconds=settings.login_lockout_seconds),
                                     address_max_failures=settings.login_address_max_failures,
                                     first_delay=timedelta(seconds=settings.login_first_delay_seconds)),
        sessions=SessionStore(engine=engine, policy=SessionPolicy(
            idle=timedelta(seconds=settings.session_idle_seconds),
            lifetime=timedelta(seconds=settings.session_lifetime_seconds))),
        provisioning=provisioner,
        hub=WebsocketHub(bus=bus, metrics=metrics, complaint_access=partial(may_hear, engine)),
        fastagi=telephony.agi if telephony is not None else None,
    )
    watch_ami(metrics, ami)
    return Services(settings=settings, engine=engine, bus=bus, web=web, telephony=telephony)


def build_telephony(
    settings: Settings, *, engine: Engine, metrics: Metrics, notifier: Notifier, tracker: CallTracker,
    bridge: AmiBridge, verification: VerificationDialer, photos: PhotoStore, provisioner: AsteriskProvisioner,
) -> Telephony:
    """FastAGI with its flows, the relay for web-only workers, and the jobs, around the bridge already built."""
    agi = AgiServer(metrics=metrics, secret=settings.agi_secret)
    flows = build_flows(settings, engine=engine, notifier=notifier)
    flows.register(agi)
    VerificationCall(menu=flows.menu, answers=verification).register(agi)
    bridge.on("UserEvent", verification.on_user_event)  # the process that hears Asterisk's events
    relay = (AmiRelayServer(redis_url=settings.redis_url, namespace=settings.redis_namespace, ami=bridge,
                            provisioner=provisioner, ca_file=settings.redis_ca_file) if settings.redis_url else None)
    purger = recording_purger(settings, engine=engine)
    escalator = Escalator(engine=engine, notifier=notifier)
    scheduler = Scheduler(engine=engine, tick_seconds=settings.scheduler_tick_seconds)
    scheduler.register(name="recording-purge", every=timedelta(seconds=settings.recording_purge_interval_seconds),
                       run=purger.purge_now)
    scheduler.register(name="photo-sweep", every=SWEEP_EVERY, run=photo_sweep_job(engine=engine, store=photos))
    scheduler.register(name="ticket-escalation", every=timedelta(seconds=settings.escalation_interval_seconds),
                       run=escalator.run)
    scheduler.register(name="verification-dialer", run=verification.dial_due,
                       every=timedelta(seconds=settings.verification_dial_interval_seconds))
    scheduler.register(name="rate-limit-purge", every=rate_limits.PURGE_EVERY,
                       run=rate_limits.purge_job(engine=engine))
    scheduler.register(name="phone-code-purge", every=rate_limits.PURGE_EVERY, run=phone_code_purge(engine))
    scheduler.register(name="address-word-purge", every=ADDRESS_WORD_PURGE_EVERY,
                       run=address_word_purge_job(engine=engine))
    scheduler.register(name="complaint-retention", every=RETENTION_EVERY, run=retention_job(
        engine=engine, store=AttachmentStore.for_settings(settings), years=settings.complaint_identity_years))
    scheduler.register(name="meeting-reminders", every=meetings.REMINDER_EVERY,
                       run=meetings.reminder_job(settings, engine=engine))
    scheduler.register(name="complaint-draft-purge", every=complaint_drafts.PURGE_EVERY,
                       run=complaint_draft_purge(engine, AttachmentStore.for_settings(settings)))
    scheduler.register(name="complaint-escalation", every=complaint_sla.ESCALATION_EVERY,
                       run=complaint_sla.escalation_job(engine, load_holidays(settings.holidays_file)))
    gateway = build_sms_gateway(settings)
    watch_telephony(metrics, tracker=tracker, bridge=bridge, agi=agi, scheduler=scheduler, engine=engine,
                    recordings=recording_store(settings))
    return Telephony(
        settings=settings, tracker=tracker, bridge=bridge, relay_server=relay, agi=agi, flows=flows,
        scheduler=scheduler, escalator=escalator, recording_purger=purger, sms_gateway=gateway,
        sms_dispatcher=SmsDispatcher(engine=engine, gateway=gateway, max_attempts=settings.sms_max_attempts,
                                     metrics=metrics),
    )


def phone_code_purge(engine: Engine) -> Callable[[], int]:
    """The public forms' used and expired SMS codes, deleted in a unit of work of their own."""
    def purge() -> int:
        with unit_of_work(engine) as session:
            return purge_old_codes(session, now=utcnow())
    return purge


def complaint_draft_purge(engine: Engine, store: AttachmentStore) -> Callable[[], int]:
    """Expired complaint drafts and their attachments' files, deleted in a unit of work of their own."""
    def purge() -> int:
        with unit_of_work(engine) as session:
            return complaint_drafts.purge_expired(session, store, now=utcnow())
    return purge


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
        queue_state=AsteriskQueueState(),
        requests=DatabaseIntake(engine=engine, notifier=notifier, status_link=status_links(settings)),
        recordings=recording_store(settings),
        limits=VoiceMessageLimits(max_seconds=settings.voice_message_max_seconds,
                                  min_seconds=settings.voice_message_min_seconds,
                                  silence_seconds=settings.voice_message_silence_seconds),
    )
    return Flows(menu=menu, tickets=DatabaseTicketDirectory(engine=engine), operators=operators)


def build_verification(settings: Settings, *, engine: Engine, ami: AsteriskActions,
                       notifier: Notifier) -> VerificationDialer:
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
