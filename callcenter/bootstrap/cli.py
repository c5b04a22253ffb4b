"""Command line: ``python -m callcenter run|serve|telephony|migrate|seed|asterisk|purge-recordings|complaints|docs|
deploy|backup|restore|add-admin|demo-data|summaries ...``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from prometheus_client import start_http_server
from pydantic import SecretStr

from callcenter.bootstrap.app import WEBSOCKET_SERVER_OPTIONS, create_app
from callcenter.bootstrap.backup import back_up, restore
from callcenter.bootstrap.demo_data import DemoDataOptions, generate_demo_data
from callcenter.bootstrap.deploy import DeployOptions, render_deployment
from callcenter.bootstrap.provisioning import (
    phones_from_database,
    provision_asterisk,
    render_asterisk,
    unit_names_from_database,
)
from callcenter.bootstrap.services import build_services, recording_purger
from callcenter.complaints import identity
from callcenter.platform.errors import BackupError, ConfigurationError
from callcenter.platform.reference_docs import stale_docs, write_docs
from callcenter.platform.settings import PROJECT_ROOT, Settings, load_settings, refuse_built_in_secrets
from callcenter.staff.demo import seed_demo_staff
from callcenter.staff.directory import StaffCreate, create_staff
from callcenter.telephony.ami_relay import RelayedAmi
from callcenter.telephony.asterisk_sandbox import AsteriskProcess, ensure_installed, runtime_for
from callcenter.telephony.asterisk_supervisor import AsteriskSupervisor
from callcenter.tickets.unit_receipts import rebuild_summaries
from db.engine import make_engine, schema_is_current, unit_of_work, upgrade_database
from db.models import Role
from db.seed import DEMO_LOGINS, seed_reference_data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pasokh", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="migrate, seed demo data, start Asterisk and serve the backend and console")
    serve = sub.add_parser("serve", help="serve the backend and console (Asterisk must be running)")
    # The systemd units run `migrate` first, once, then every process with this flag (docs/operations.md).
    serve.add_argument("--migrated", action="store_true", help=argparse.SUPPRESS)
    telephony = sub.add_parser("telephony", help="FastAGI, the AMI bridge and its relay only (beside web-only workers)")
    # `serve` migrated the database before starting this process: once, not again in every process.
    telephony.add_argument("--migrated", action="store_true", help=argparse.SUPPRESS)
    sub.add_parser("migrate", help="apply database migrations")
    seed = sub.add_parser("seed", help="seed reference data (and demo staff with --demo)")
    seed.add_argument("--demo", action="store_true")
    asterisk = sub.add_parser("asterisk", help="manage the Asterisk instance")
    asterisk.add_argument("action", choices=["install", "provision", "render", "start", "stop", "status"],
                          help="render: configuration, prompts and music from the database, without starting it")
    sub.add_parser("purge-recordings", help="delete call recordings older than PASOKH_CALL_RECORDING_RETENTION_DAYS")
    complaints = sub.add_parser("complaints", help="the complainants' identity keys (docs/complaints.md)")
    complaints.add_argument("action", choices=["new-key", "rotate-key"],
                            help="new-key: print a fresh key; rotate-key: re-encrypt every identity under the "
                                 "first key")
    docs = sub.add_parser("docs", help="write README's configuration table and docs/errors.md from the code")
    docs.add_argument("--check", action="store_true", help="only say which are out of date (exit 1 if any)")
    _add_deploy_parser(sub)
    backup = sub.add_parser("backup", help="the database with its files in one archive (docs/operations.md)")
    backup.add_argument("target", type=Path, help="a .tar or .tar.gz to write, or a folder to write one into")
    backup.add_argument("--keep", type=int, default=None, help="in a folder: keep this many archives, the newest")
    restore_parser = sub.add_parser("restore", help="an archive of `backup` into an empty instance, then migrate")
    restore_parser.add_argument("archive", type=Path)
    restore_parser.add_argument("--force", action="store_true",
                                help="replace a database that is not empty, and files that differ")
    add_admin = sub.add_parser("add-admin", help="an administrator's account (the first one, on a new install); "
                                                 "the password is read from standard input")
    add_admin.add_argument("username")
    add_admin.add_argument("--full-name", required=True)
    _add_demo_data_parser(sub)
    summaries = sub.add_parser("summaries", help="the report summaries kept beside the facts (ADR 0082)")
    summaries.add_argument("action", choices=["rebuild"],
                           help="rebuild: recompute them from the tickets' history (after a restore, or facts "
                                "written around the application)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "docs":  # needs no configuration: the table documents it
        return _docs(check=args.check)
    if args.command == "complaints" and args.action == "new-key":  # needs no configuration either
        print(identity.new_key())
        return 0
    if args.command == "deploy":
        return _deploy(args)
    settings = load_settings()
    if args.command == "complaints":
        _rotate_identity_key(settings)
    elif args.command == "migrate":
        upgrade_database(settings.database_url)
    elif args.command == "seed":
        _seed(settings, demo=args.demo)
    elif args.command == "asterisk":
        return _asterisk(settings, args.action)
    elif args.command == "serve":
        refuse_built_in_secrets(settings)
        if not args.migrated:
            upgrade_database(settings.database_url)
        _serve(settings)
    elif args.command == "telephony":
        refuse_built_in_secrets(settings)
        if not args.migrated:
            upgrade_database(settings.database_url)
        asyncio.run(_telephony(settings))
    elif args.command == "run":
        _run(settings)
    elif args.command == "purge-recordings":
        _purge_recordings(settings)
    elif args.command == "backup":
        _backup(settings, args.target, keep=args.keep)
    elif args.command == "restore":
        _restore(settings, args.archive, force=args.force)
    elif args.command == "add-admin":
        _add_admin(settings, args.username, full_name=args.full_name)
    elif args.command == "demo-data":
        _demo_data(settings, args)
    elif args.command == "summaries":
        _rebuild_summaries(settings)
    return 0


def _docs(*, check: bool) -> int:
    paths = stale_docs() if check else write_docs()
    for path in paths:
        print(f"{'out of date' if check else 'written'}: {path.relative_to(PROJECT_ROOT)}")
    return 1 if check and paths else 0


def _seed(settings: Settings, *, demo: bool) -> None:
    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    with unit_of_work(engine) as session:  # the CLI's edge: reference data and demo staff, all or nothing
        seed_reference_data(session)
        if demo:
            if settings.environment != "development":
                raise SystemExit("demo accounts are only for PASOKH_ENVIRONMENT=development")
            seed_demo_staff(session, environment=settings.environment, sip_realm=settings.sip_realm)
    engine.dispose()


def _asterisk(settings: Settings, action: str) -> int:
    runtime = runtime_for(settings)
    if action == "install":
        ensure_installed(runtime)
    elif action == "provision":
        upgrade_database(settings.database_url)
        engine = make_engine(settings.database_url)
        provision_asterisk(settings, phones=phones_from_database(engine), unit_names=unit_names_from_database(engine))
    elif action == "render":  # after `migrate` (its systemd unit is ordered after pasokh-migrate)
        engine = make_engine(settings.database_url)
        try:
            if not schema_is_current(engine):
                raise ConfigurationError("the database is behind this version: run `python -m callcenter migrate`")
            render_asterisk(settings, phones=phones_from_database(engine),
                            unit_names=unit_names_from_database(engine))
        finally:
            engine.dispose()
    elif action == "start":
        AsteriskProcess(runtime).start()
    elif action == "stop":
        AsteriskProcess(runtime).stop()
    else:
        process = AsteriskProcess(runtime)
        print(process.version() if process.is_running() else "Asterisk is not running")
        return 0 if process.is_running() else 3
    return 0


def _add_deploy_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    defaults = DeployOptions(output=Path("var/deploy"))
    deploy = sub.add_parser("deploy", help="render the files a Debian host runs Pasokh with (docs/operations.md)")
    deploy.add_argument("target", choices=["systemd"],
                        help="systemd units, the service user and folders, the environment file, logrotate rules "
                             "and an nginx reverse proxy with TLS")
    deploy.add_argument("--output", type=Path, default=defaults.output, help="where to write them (%(default)s)")
    deploy.add_argument("--web-workers", type=int, default=defaults.web_workers,
                        help="web-only workers, one port each from PASOKH_WEB_PORT up (%(default)s)")
    deploy.add_argument("--state-dir", type=Path, default=None,
                        help=f"the hosts' state dir (PASOKH_STATE_DIR if set, else {defaults.state_dir})")
    deploy.add_argument("--user", default=defaults.user, help="the service user (%(default)s)")
    deploy.add_argument("--group", default=defaults.group, help="its group (%(default)s)")
    deploy.add_argument("--env-file", type=Path, default=defaults.env_file, help="%(default)s")
    deploy.add_argument("--log-dir", type=Path, default=defaults.log_dir, help="%(default)s")
    deploy.add_argument("--backup-dir", type=Path, default=defaults.backup_dir, help="%(default)s")
    deploy.add_argument("--backups-kept", type=int, default=defaults.backups_kept,
                        help="nightly backups kept (%(default)s)")
    deploy.add_argument("--server-name", default=defaults.server_name, help="the public host name (%(default)s)")
    deploy.add_argument("--tls-certificate", type=Path, default=defaults.tls_certificate, help="%(default)s")
    deploy.add_argument("--tls-key", type=Path, default=defaults.tls_key, help="%(default)s")


def _deploy(args: argparse.Namespace) -> int:
    """Rendered with the settings of this environment (ports, instance, database...) and the host's paths."""
    settings = load_settings()
    options = DeployOptions(
        output=args.output, web_workers=args.web_workers,
        state_dir=args.state_dir or (settings.state_dir if "state_dir" in settings.model_fields_set
                                     else DeployOptions.state_dir),
        user=args.user, group=args.group, env_file=args.env_file, log_dir=args.log_dir, backup_dir=args.backup_dir,
        backups_kept=args.backups_kept, server_name=args.server_name, tls_certificate=args.tls_certificate,
        tls_key=args.tls_key)
    rendered = render_deployment(settings, options)
    for path in rendered.written:
        print(f"written: {path}")
    for path in rendered.kept:
        print(f"kept as it was (its secrets are in use): {path}")
    return 0


def _backup(settings: Settings, target: Path, *, keep: int | None) -> None:
    try:
        report = back_up(settings, target, keep=keep)
    except BackupError as exc:
        raise SystemExit(f"backup failed: {exc.message}") from exc
    print(f"written: {report.archive} ({report.files} files; {_counted(report.counts)})")
    if report.missing:
        print(f"{len(report.missing)} files named by rows were gone when copied (purged meanwhile); see the log")
    for path in report.pruned:
        print(f"removed (past --keep): {path}")


def _restore(settings: Settings, archive: Path, *, force: bool) -> None:
    try:
        report = restore(settings, archive, force=force)
    except BackupError as exc:
        raise SystemExit(f"restore refused: {exc.message}") from exc
    print(f"restored {report.files} files and the database (revision {', '.join(report.migrated_from)}, "
          "migrated to this version)")
    print(f"now: {_counted(report.counts)}")
    print(f"in the backup: {_counted(report.counts_in_backup)}")


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{table} {count}" for table, count in counts.items())


def _add_admin(settings: Settings, username: str, *, full_name: str) -> None:
    """A new install has no account to log in with (demo accounts are development only): its first one."""
    password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(engine) as session:
            create_staff(session, data=StaffCreate(username=username, full_name=full_name, role=Role.ADMIN,
                                                   password=SecretStr(password)), sip_realm=settings.sip_realm)
    finally:
        engine.dispose()
    print(f"administrator {username} added: log in at /admin")


def _add_demo_data_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    defaults = DemoDataOptions(tickets=0)
    demo = sub.add_parser("demo-data", help="years of realistic tickets, steps and calls in PostgreSQL, by COPY "
                                            "(for benchmarks and demos; docs/adr/0083)")
    demo.add_argument("--tickets", type=int, required=True, help="how many tickets (e.g. 10000000)")
    demo.add_argument("--years", type=float, default=defaults.years, help="filed over this many years up to now "
                                                                           "(%(default)s)")
    demo.add_argument("--seed", type=int, default=defaults.seed, help="random seed, for the same data again "
                                                                      "(%(default)s)")
    demo.add_argument("--batch", type=int, default=defaults.batch, help="tickets per transaction (%(default)s)")


def _demo_data(settings: Settings, args: argparse.Namespace) -> None:
    """Migrated and seeded first; refused on SQLite and outside development (demo data is not a city's)."""
    if settings.environment == "production":
        raise SystemExit("demo-data refuses PASOKH_ENVIRONMENT=production: it writes invented citizens' tickets")
    if not settings.database_url.startswith(("postgresql", "postgres")):
        raise SystemExit("demo-data needs PostgreSQL (it writes with COPY); DATABASE_URL is SQLite. For SQLite's "
                         "small demo set use `python -m callcenter seed --demo`")
    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(engine) as session:
            seed_reference_data(session)
        report = generate_demo_data(engine, DemoDataOptions(tickets=args.tickets, years=args.years, seed=args.seed,
                                                            batch=args.batch), progress=print)
    except ConfigurationError as exc:
        raise SystemExit(f"demo-data refused: {exc.message}") from exc
    finally:
        engine.dispose()
    print(f"written: {report.summary()}")


def _rebuild_summaries(settings: Settings) -> None:
    """The unit receipts recomputed from the history in one transaction: readers see the old rows until it commits."""
    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(engine) as session:
            receipts = rebuild_summaries(session)
    finally:
        engine.dispose()
    print(f"{receipts} unit receipts rebuilt from the history")


def _purge_recordings(settings: Settings) -> None:
    """What the backend does every PASOKH_RECORDING_PURGE_INTERVAL_SECONDS, by hand (cron, or the backend is down)."""
    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        purged = recording_purger(settings, engine=engine).purge_now()
    finally:
        engine.dispose()
    print(f"{purged} call recordings purged (retention {settings.call_recording_retention_days} days)")


def _rotate_identity_key(settings: Settings) -> None:
    """Every sealed identity re-encrypted under the first of PASOKH_COMPLAINT_IDENTITY_KEYS, in one transaction."""
    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(engine) as session:
            rotated = identity.rotate(session, settings)
    finally:
        engine.dispose()
    print(f"{rotated} complainants' identities re-encrypted under the first key; "
          "the old keys may now be removed from PASOKH_COMPLAINT_IDENTITY_KEYS")


def _serve(settings: Settings, *, on_app: Callable[[FastAPI], None] = lambda _app: None) -> None:
    """One process doing everything, or with PASOKH_WEB_WORKERS > 1 (and REDIS_URL) a telephony process and
    that many web-only workers sharing the port; the database is migrated by then (no process migrates it).
    ``on_app`` sees the one process's app before it serves (``run`` hands its metrics to the supervisor)."""
    if settings.web_workers == 1:
        app = create_app(settings)
        on_app(app)
        uvicorn.run(app, host=settings.web_host, port=settings.web_port, log_level="info",
                    **WEBSOCKET_SERVER_OPTIONS)
        return
    telephony = subprocess.Popen([sys.executable, "-m", "callcenter", "telephony", "--migrated"])
    try:
        _wait_for_telephony(settings, telephony)
        uvicorn.run("callcenter.bootstrap.app:web_worker_app", factory=True, workers=settings.web_workers,
                    host=settings.web_host, port=settings.web_port, log_level="info", **WEBSOCKET_SERVER_OPTIONS)
    finally:
        telephony.terminate()
        telephony.wait(timeout=15)


def _wait_for_telephony(settings: Settings, telephony: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Web workers start once the telephony process reports to Redis."""
    relayed = RelayedAmi(redis_url=settings.redis_url or "", namespace=settings.redis_namespace,
                         ca_file=settings.redis_ca_file)

    async def reported() -> bool:
        try:
            return await relayed.wait_connected(timeout)
        finally:
            await relayed.stop()

    if not asyncio.run(reported()) or telephony.poll() is not None:
        raise SystemExit("the telephony process did not come up (see its log above)")


async def _telephony(settings: Settings) -> None:
    services = build_services(settings.model_copy(update={"role": "all"}))
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    await services.start()
    # Prometheus reads this process's calls, queues, FastAGI and jobs here (the web workers have their own /metrics).
    metrics_server, _ = start_http_server(settings.telephony_metrics_port, addr=settings.web_host,
                                          registry=services.web.metrics.registry)
    logging.getLogger(__name__).info("telephony process up: FastAGI, AMI bridge, relay for web workers; metrics on "
                                     "http://%s:%d/metrics", settings.web_host, settings.telephony_metrics_port)
    try:
        await stopped.wait()
    finally:
        await asyncio.to_thread(metrics_server.shutdown)  # waits out its poll (half a second at most)
        metrics_server.server_close()
        await services.stop()


def _run(settings: Settings) -> None:
    refuse_built_in_secrets(settings)  # before Asterisk is provisioned and started, not only when the web starts
    _seed(settings, demo=settings.environment == "development")  # migrates first
    engine = make_engine(settings.database_url)
    phones = phones_from_database(engine)
    process = provision_asterisk(settings, phones=phones, unit_names=unit_names_from_database(engine))
    engine.dispose()
    print(_banner(settings), flush=True)
    # Asterisk is this process's child: it comes back if it dies (ADR 0086), until we stop it ourselves.
    supervisor = AsteriskSupervisor(process)
    supervisor.start()
    # uvicorn re-raises SIGTERM after its graceful shutdown; as SystemExit it lets `finally` stop Asterisk.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)
    try:
        _serve(settings, on_app=lambda app: supervisor.count_restarts(app.state.services.web.metrics))
    finally:
        supervisor.stop()
        process.stop()


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _banner(settings: Settings) -> str:
    lines = [
        "",
        f"Pasokh is up. Console: http://{settings.web_host}:{settings.web_port}/",
        f"Citizens' site: {settings.public_url('/citizen/')}",
        f"Complaints to the inspection office: {settings.public_url('/complaints/')} "
        f"(inspectors: http://{settings.web_host}:{settings.web_port}/inspection)",
        f"Citizens call sip:137@{settings.sip_host}:{settings.sip_port} (and 1888) from {settings.trunk_match}.",
    ]
    if settings.environment != "development":
        return "\n".join(lines)
    lines.append("Demo logins (development only):")
    for login in DEMO_LOGINS:
        phone = f", phone {login.extension} SIP password {login.sip_password}" if login.extension else ""
        lines.append(f"  {login.username} / {login.password}  ({login.role.value}{phone})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
