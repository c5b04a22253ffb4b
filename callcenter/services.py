"""The composition root: builds every long-lived object once and passes dependencies in."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlalchemy.engine import Engine

from callcenter.ami_bridge import AmiBridge
from callcenter.asterisk_sandbox import runtime_for
from callcenter.bus import InProcessBus
from callcenter.call_records import CallRecords
from callcenter.call_tracker import CallTracker
from callcenter.metrics import Metrics
from callcenter.notifier import Notifier
from callcenter.settings import Settings
from db.engine import make_engine, upgrade_database
from ivr.agi_server import AgiServer
from ivr.flows import Flows, Prompts

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    metrics: Metrics
    bus: InProcessBus
    notifier: Notifier
    tracker: CallTracker
    ami: AmiBridge
    agi: AgiServer

    async def start(self, *, telephony: bool = True) -> None:
        """Migrations first, then the FastAGI listener and the AMI connection."""
        upgrade_database(self.settings.database_url)
        if telephony:
            await self.agi.start(self.settings.agi_host, self.settings.agi_port)
            await self.ami.start()
            log.info("FastAGI on %s:%d, AMI to %s:%d", self.settings.agi_host, self.settings.agi_port,
                     self.settings.ami_host, self.settings.ami_port)

    async def stop(self) -> None:
        await self.ami.stop()
        await self.agi.stop()
        self.engine.dispose()


def build_services(settings: Settings) -> Services:
    engine = make_engine(settings.database_url)
    metrics = Metrics()
    bus = InProcessBus()
    notifier = Notifier(bus=bus)
    tracker = CallTracker(records=CallRecords(engine=engine), notifier=notifier, metrics=metrics)
    agi = AgiServer(metrics=metrics)
    sounds = PurePosixPath(str(runtime_for(settings).sounds_dir)) / "fa"
    Flows(prompts=Prompts(sounds_dir=sounds)).register(agi)
    return Services(
        settings=settings, engine=engine, metrics=metrics, bus=bus, notifier=notifier, tracker=tracker,
        ami=AmiBridge(settings=settings, tracker=tracker, metrics=metrics), agi=agi,
    )
