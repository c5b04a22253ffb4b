"""Start Asterisk (the project's sandbox) and the backend in-process, the way tests and the bench need them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from asterisk_config.render import AmiUser, OperatorPhone
from callcenter.bootstrap.app import WEBSOCKET_SERVER_OPTIONS, create_app
from callcenter.bootstrap.services import Services
from callcenter.platform.lines import LINES
from callcenter.platform.security import hash_password, sip_md5_cred
from callcenter.platform.settings import DEFAULT_SIP_REALM, Settings, load_settings, variable_name
from callcenter.tickets.store import create_ticket
from db.engine import make_engine, unit_of_work, upgrade_database
from db.models import Category, Role, Ticket, TicketCreate, User
from db.seed import seed_reference_data

# Not the built-in development secrets: the backend refuses those outside PASOKH_ENVIRONMENT=development.
TEST_SECRETS: dict[str, str] = {"secret_key": "pasokh-test-session-secret", "ami_secret": "pasokh-test-ami-secret"}
TEST_AMI_USER = AmiUser(username="pasokh-test", secret="pasokh-test-secret", read="all", write="all")
# Parallel runs on one machine (two checkouts, a helper) pick another base port and instance name; so does each
# pytest-xdist worker (gw0, gw1...): its own Asterisk instance and ports, 1000 apart.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_WORKER_INDEX = int(_WORKER[2:]) if _WORKER[2:].isdigit() else 0
TEST_BASE_PORT = int(os.environ.get("PASOKH_TEST_BASE_PORT", "15000")) + 1000 * _WORKER_INDEX
TEST_INSTANCE = os.environ.get("PASOKH_TEST_INSTANCE", "test") + (f"-w{_WORKER_INDEX}" if _WORKER_INDEX else "")
PHONES_PORT = TEST_BASE_PORT + 71
CITIZENS_PORT = TEST_BASE_PORT + 70
CITIZEN_PHONE_PORT = TEST_BASE_PORT + 77  # a citizen's phone that the municipality calls (verification)
OUTBOUND_LINES = 2
TEST_AGI_SECRET = "pasokh-test-agi-secret-0123456789"


@dataclass(frozen=True)
class StaffAccount:
    username: str
    password: str
    role: Role
    extension: str
    sip_password: str

    @property
    def md5_cred(self) -> str:
        """All the database and pjsip.conf keep; the clear sip_password stays here, to register the test phones."""
        return sip_md5_cred(self.extension, self.sip_password, DEFAULT_SIP_REALM)

    @property
    def phone(self) -> OperatorPhone:
        return OperatorPhone(extension=self.extension, md5_cred=self.md5_cred, display_name=self.username)


OPERATOR_1 = StaffAccount("operator1", "op1-test-pass", Role.OPERATOR, "1001", "Sip1001secret")
OPERATOR_2 = StaffAccount("operator2", "op2-test-pass", Role.OPERATOR, "1002", "Sip1002secret")
SUPERVISOR = StaffAccount("supervisor", "sup-test-pass", Role.SUPERVISOR, "1900", "Sip1900secret")
TEST_STAFF = (OPERATOR_1, OPERATOR_2, SUPERVISOR)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def telephony_settings(state_dir: Path, *, instance: str = TEST_INSTANCE, base_port: int = TEST_BASE_PORT) -> Settings:
    """Ports apart from a running demo (5060/5038/4573) so both can live on one machine."""
    return load_settings(
        environ={},
        environment="test",
        **TEST_SECRETS,
        state_dir=state_dir,
        asterisk_instance=instance,
        sip_port=base_port + 60,
        ami_port=base_port + 38,
        agi_port=base_port + 73,
        # Every test call reaches FastAGI the way a deployment beyond loopback does: with the shared secret.
        agi_secret=TEST_AGI_SECRET,
        # Everything an instance uses stays within base_port .. base_port+999, so instances 1000 apart never clash.
        rtp_port_start=base_port + 200,
        rtp_port_end=base_port + 999,
        queue_wrapup_seconds=1,
        queue_announce_seconds=4,  # a caller waiting in a test hears "please hold" soon
        # Every dialplan step in messages.log (production keeps 1): the queue-music test reads the prompts played,
        # and the anonymity test greps a log more talkative than production's for the caller's number.
        asterisk_log_verbosity=3,
        # Verification calls reach the "citizen" sipp at CITIZEN_PHONE_PORT, at any hour, checked every second.
        outbound_trunk_port=CITIZEN_PHONE_PORT,
        max_outbound_calls=OUTBOUND_LINES,
        verification_calling_hours="24/7",
        verification_ring_seconds=15,
        verification_dial_interval_seconds=1,
        scheduler_tick_seconds=0.5,
    )


def seed_staff(engine: Engine, staff: tuple[StaffAccount, ...] = TEST_STAFF) -> None:
    with Session(engine) as session:
        seed_reference_data(session)
        existing = {u.username for u in session.exec(select(User)).all()}
        for account in staff:
            if account.username not in existing:
                session.add(User(username=account.username, full_name=account.username, role=account.role,
                                 extension=account.extension, sip_md5_cred=account.md5_cred,
                                 password_hash=hash_password(account.password)))
        session.commit()


class InProcessServer(uvicorn.Server):
    """uvicorn without its signal capture: in a test or the bench, Ctrl-C belongs to the runner."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class RunningBackend:
    settings: Settings
    services: Services
    engine: Engine
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.web_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.settings.web_port}/ws"


async def start_serving(app: FastAPI, port: int) -> tuple[InProcessServer, asyncio.Task[None]]:
    """Serve ``app`` on 127.0.0.1:``port`` in this event loop; returns once it listens (stop it with
    ``server.should_exit = True`` and awaiting the task)."""
    server = InProcessServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on", **WEBSOCKET_SERVER_OPTIONS))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    return server, task


@contextlib.asynccontextmanager
async def running_backend(
    settings: Settings, *, ami_timeout: float = 15, leave_queues: bool = True
) -> AsyncIterator[RunningBackend]:
    """Migrate, serve on ``settings.web_port`` in this event loop, wait for AMI; stop on exit (taking the test
    staff out of the queues, unless ``leave_queues=False``: a restart test keeps Asterisk as it is)."""
    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    seed_staff(engine)
    app = create_app(settings)
    server, task = await start_serving(app, settings.web_port)
    services: Services = app.state.services
    if not await services.web.ami.wait_connected(ami_timeout):
        raise RuntimeError("the backend did not connect to Asterisk's AMI")
    try:
        yield RunningBackend(settings=settings, services=services, engine=engine, server=server, task=task)
    finally:
        for account in TEST_STAFF if leave_queues else ():
            for line in LINES:
                with contextlib.suppress(Exception):
                    await services.web.ami.queue_remove(queue=line.queue, extension=account.extension)
        server.should_exit = True
        await task
        engine.dispose()


def earlier_ticket(engine: Engine, *, caller: str, description: str) -> Ticket:
    """A 137 ticket already on file for ``caller`` (its category's default unit), as a returning caller has."""
    with unit_of_work(engine) as session:
        category = session.exec(select(Category).where(Category.line == "137")).first()
        assert category is not None and category.id is not None and category.default_unit_id is not None
        ticket = create_ticket(session, data=TicketCreate(
            category_id=category.id, unit_id=category.default_unit_id, description=description,
            caller_number=caller), created_by=None)
        session.expunge(ticket)
        return ticket


def process_environment(settings: Settings) -> dict[str, str]:
    """The environment a ``python -m callcenter`` process (on a test host, the fan-out bench's workers) reads
    ``settings`` from: each setting that differs from its default, by its variable's name; the rest of this
    process's environment, minus its own Pasokh variables, and this checkout on the import path."""
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("PASOKH_") and name not in ("DATABASE_URL", "REDIS_URL")}
    for field, info in Settings.model_fields.items():
        value = getattr(settings, field)
        if value is None or value == info.default:
            continue
        environment[variable_name(field)] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    environment["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return environment
