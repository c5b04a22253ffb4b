"""``python -m callcenter deploy systemd`` checked by the tools that will read its files: systemd-analyze verify
on the units, systemd-sysusers and systemd-tmpfiles into a scratch root, logrotate (debug, then a real rotation),
nginx -t, and nginx with the rendered proxy config in front of a web worker started by its unit's command line."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import shlex
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from callcenter.bootstrap.cli import main
from callcenter.bootstrap.deploy import DeployOptions, render_deployment
from callcenter.platform.settings import load_settings
from callcenter.telephony.asterisk_sandbox import AsteriskRuntime, runtime_for
from db.engine import make_engine
from db.models import Role
from tests.conftest import require
from tests.support.backend import free_port
from tests.support.console import log_in
from tests.support.ticket_flow import PASSWORD, add_staff

SERVER_NAME = "pasokh.test"
WEB_WORKERS = 3
SERVICES = ("pasokh-migrate", "pasokh-asterisk-config", "pasokh-asterisk", "pasokh-telephony", "pasokh-web@",
            "pasokh-backup")
LONG_RUNNING = ("pasokh-asterisk", "pasokh-telephony", "pasokh-web@")


def need(command: str) -> str:
    path = shutil.which(command)
    require(path is not None, f"{command} (make debian-packages installs it)")
    assert path is not None
    return path


@dataclass(frozen=True)
class Deployment:
    output: Path
    options: DeployOptions
    root: Path  # a scratch root standing in for the host's / where the host's paths are needed

    def unit(self, name: str) -> dict[str, list[tuple[str, str]]]:
        return parse_unit((self.output / "systemd" / name).read_text())

    def asterisk_runtime(self) -> AsteriskRuntime:
        """Where the units expect Asterisk: its chroot under the state dir, unless the host has one installed."""
        return runtime_for(load_settings(environ={}, state_dir=self.options.state_dir,
                                         asterisk_cache_dir=self.options.state_dir / "chroot"))

    def environment(self) -> dict[str, str]:
        pairs = (line.split("=", 1) for line in (self.output / "pasokh.env").read_text().splitlines()
                 if line and not line.startswith("#"))
        return dict(pairs)


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """Sections of (key, value) in order: a unit repeats keys (Wants=, ReadWritePaths=, ExecStartPre=)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        key, _, value = line.partition("=")
        current.append((key, value))
    return sections


def values(section: list[tuple[str, str]], key: str) -> list[str]:
    return [value for name, value in section if name == key]


@pytest.fixture
def deployment(tmp_path: Path, migrated_sqlite: Path) -> Deployment:
    database = tmp_path / "pasokh.sqlite3"
    shutil.copyfile(migrated_sqlite, database)
    root = tmp_path / "root"
    options = DeployOptions(
        output=tmp_path / "deploy", web_workers=WEB_WORKERS, state_dir=root / "var/lib/pasokh",
        log_dir=root / "var/log/pasokh", backup_dir=root / "var/backups/pasokh", env_file=tmp_path / "pasokh.env",
        server_name=SERVER_NAME, tls_certificate=tmp_path / "tls/cert.pem", tls_key=tmp_path / "tls/key.pem")
    settings = load_settings(environ={"DATABASE_URL": f"sqlite:///{database}", "PASOKH_WEB_PORT": str(free_port()),
                                      "REDIS_URL": "redis://127.0.0.1:6379/0"})
    render_deployment(settings, options)
    return Deployment(output=options.output, options=options, root=root)


def test_given_three_web_workers_when_rendered_then_systemd_analyze_verify_finds_nothing_wrong(
    deployment: Deployment,
) -> None:
    systemd_analyze = need("systemd-analyze")
    ports = [int(value.removeprefix("pasokh-web@").removesuffix(".service"))
             for value in values(deployment.unit("pasokh.target")["Unit"], "Wants") if value.startswith("pasokh-web@")]
    assert len(ports) == WEB_WORKERS == len(set(ports))
    systemd = deployment.output / "systemd"
    units = [path.name for path in sorted(systemd.iterdir())] + [f"pasokh-web@{port}.service" for port in ports]
    result = subprocess.run([systemd_analyze, "verify", *units], cwd=systemd, capture_output=True, text=True,
                            timeout=120, check=False)
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    # verify looks for ExecStart= on the host, not under RootDirectory=: Asterisk in its chroot is the one
    # command it cannot see; that the binary is there, in the chroot, is Asterisk's own tests' business.
    asterisk = deployment.unit("pasokh-asterisk.service")["Service"]
    if values(asterisk, "RootDirectory"):
        binary = values(asterisk, "ExecStart")[0].split()[0]
        expected = f"pasokh-asterisk.service: Command {binary} is not executable: No such file or directory"
        complaints = [line for line in complaints if line != expected]
    assert complaints == [], result.stdout + result.stderr


def test_given_the_units_when_read_then_each_restarts_with_back_off_and_runs_sandboxed_as_the_service_user(
    deployment: Deployment,
) -> None:
    state_dir = str(deployment.options.state_dir)
    for name in SERVICES:
        unit = deployment.unit(f"{name}.service")
        service = unit["Service"]
        assert values(service, "User") == ["pasokh"] and values(service, "Group") == ["pasokh"], name
        for directive, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                                 ("ProtectHome", "yes"), ("PrivateDevices", "yes"), ("CapabilityBoundingSet", "")):
            assert values(service, directive) == [value], (name, directive)
        if name in LONG_RUNNING:
            assert values(service, "Restart") == ["always"], name
            assert values(service, "RestartSec") == ["3s"], name
            assert values(unit["Unit"], "StartLimitBurst") == ["20"], name
            assert values(unit["Unit"], "PartOf") == ["pasokh.target"], name
        if name != "pasokh-asterisk":
            assert values(service, "EnvironmentFile") == [str(deployment.options.env_file)], name
            assert state_dir in values(service, "ReadWritePaths"), name
    asterisk = deployment.unit("pasokh-asterisk.service")["Service"]
    runtime = deployment.asterisk_runtime()
    if runtime.is_chroot:
        assert values(asterisk, "RootDirectory") == [str(runtime.root)]
        assert values(asterisk, "ReadWritePaths") == [f"+{runtime.instance_dir}"]
    assert values(asterisk, "ExecStart")[0].endswith(f"-f -C {runtime.config_file}")
    web = deployment.unit("pasokh-web@.service")["Service"]
    assert values(web, "ExecStart")[0].startswith("/usr/bin/env PASOKH_ROLE=web PASOKH_WEB_WORKERS=1 "
                                                  "PASOKH_WEB_PORT=%i ")
    assert values(deployment.unit("pasokh-backup.timer")["Install"], "WantedBy") == ["timers.target"]


def test_given_a_host_newer_than_systemd_254_when_rendered_then_restarts_back_off_exponentially(
    tmp_path: Path,
) -> None:
    settings = load_settings(environ={"REDIS_URL": "redis://127.0.0.1:6379/0"})
    for version, expected in ((252, []), (256, ["5"])):
        options = DeployOptions(output=tmp_path / str(version), state_dir=Path("/var/lib/pasokh"),
                                systemd_version=version)
        render_deployment(settings, options)
        service = parse_unit((options.output / "systemd/pasokh-telephony.service").read_text())["Service"]
        assert values(service, "RestartSteps") == expected, version


def test_given_the_user_and_folders_when_systemd_creates_them_in_a_scratch_root_then_the_user_owns_them(
    deployment: Deployment,
) -> None:
    """sysusers and tmpfiles run for real, into a root of their own (the host's /etc is not touched)."""
    root = deployment.root
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "group", "shadow", "gshadow"):
        (root / "etc" / name).touch()
    subprocess.run([need("systemd-sysusers"), f"--root={root}",
                    str(deployment.output / "sysusers.d/pasokh.conf")], check=True, capture_output=True, timeout=60)
    user = next(line.split(":") for line in (root / "etc/passwd").read_text().splitlines()
                if line.startswith("pasokh:"))
    assert user[6] == "/usr/sbin/nologin"
    # tmpfiles takes the folders as the host names them; the fixture put them under the scratch root.
    tmpfiles = (deployment.output / "tmpfiles.d/pasokh.conf").read_text().replace(str(root), "")
    (root / "tmpfiles.conf").write_text(tmpfiles)
    subprocess.run([need("systemd-tmpfiles"), f"--root={root}", "--create", str(root / "tmpfiles.conf")],
                   check=True, capture_output=True, timeout=60)
    for folder in (deployment.options.state_dir, deployment.options.log_dir, deployment.options.backup_dir):
        stat = folder.stat()
        assert (stat.st_uid, oct(stat.st_mode & 0o777)) == (int(user[2]), "0o750"), folder


def test_given_the_logrotate_rules_when_logrotate_runs_then_our_logs_and_asterisks_are_rotated(
    deployment: Deployment, tmp_path: Path,
) -> None:
    logrotate = need("logrotate")
    rules = deployment.output / "logrotate/pasokh"
    state = tmp_path / "logrotate.state"
    debug = subprocess.run([logrotate, "-d", "-s", str(state), str(rules)], capture_output=True, text=True,
                           timeout=60, check=False)
    assert debug.returncode == 0 and "error" not in debug.stdout + debug.stderr, debug.stdout + debug.stderr
    runtime = deployment.asterisk_runtime()
    logs = [deployment.options.log_dir / "telephony.log", deployment.options.log_dir / "web-8000.log",
            runtime.host_path(runtime.instance_dir / "log" / "messages.log")]
    for log in logs:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"a line of {log.name}\n")
    forced = subprocess.run([logrotate, "-f", "-s", str(state), str(rules)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    for log in logs:
        rotated = [path for path in log.parent.iterdir() if path.name.startswith(log.name + "-")]
        assert [path.read_text() for path in rotated] == [f"a line of {log.name}\n"], log
        assert log.exists() and log.read_text() == "", log  # copytruncate: the writer's file goes on, emptied


@pytest.fixture
def tls(deployment: Deployment) -> Path:
    """A self-signed certificate where the rendered config expects one."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = dt.datetime.now(dt.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME)]), critical=False)
                   .sign(key, hashes.SHA256()))
    deployment.options.tls_certificate.parent.mkdir(parents=True, exist_ok=True)
    deployment.options.tls_certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    deployment.options.tls_key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
    return deployment.options.tls_certificate


@dataclass(frozen=True)
class Proxy:
    http_port: int
    https_port: int
    config: Path


def nginx_config(deployment: Deployment, tmp_path: Path, *, worker_port: int | None = None) -> Proxy:
    """The rendered site inside a minimal main config; only its listen ports moved to free ones (and, when
    given, its upstream to the one worker the test starts)."""
    site = (deployment.output / "nginx/pasokh.conf").read_text()
    http_port, https_port = free_port(), free_port()
    site = re.sub(r"listen \[::\]:\d+[^;]*;\n", "", site)
    site = re.sub(r"listen 80;", f"listen 127.0.0.1:{http_port};", site)
    site = re.sub(r"listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;", site)
    if worker_port is not None:
        site = re.sub(r"(?m)^    server 127\.0\.0\.1:\d+ .*\n", "", site)
        site = site.replace("    least_conn;\n", f"    least_conn;\n    server 127.0.0.1:{worker_port};\n")
    prefix = tmp_path / "nginx"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    (prefix / "site.conf").write_text(site)
    main = prefix / "nginx.conf"
    main.write_text(f"pid {prefix}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
                    f"http {{\n    access_log off;\n    include {prefix}/site.conf;\n}}\n")
    return Proxy(http_port=http_port, https_port=https_port, config=main)


def test_given_the_proxy_config_when_nginx_checks_it_then_it_is_valid_with_every_worker_upstream(
    deployment: Deployment, tls: Path, tmp_path: Path,
) -> None:
    proxy = nginx_config(deployment, tmp_path)
    result = subprocess.run([need("nginx"), "-t", "-c", str(proxy.config), "-p", str(proxy.config.parent),
                             "-e", "stderr"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    upstreams = re.findall(r"server 127\.0\.0\.1:(\d+) ", (deployment.output / "nginx/pasokh.conf").read_text())
    assert len(upstreams) == WEB_WORKERS


@pytest.fixture
def web_worker(deployment: Deployment, redis_server: str, redis_namespace: str, tmp_path: Path) -> Iterator[int]:
    """A web worker started with its unit's command line (%i a free port) and the rendered environment file."""
    exec_start = values(deployment.unit("pasokh-web@.service")["Service"], "ExecStart")[0]
    port = free_port()
    command = shlex.split(exec_start.replace("%i", str(port)))
    environment = {**deployment.environment(), "REDIS_URL": redis_server, "PASOKH_REDIS_NAMESPACE": redis_namespace,
                   "PATH": "/usr/bin:/bin", "FORWARDED_ALLOW_IPS": "127.0.0.1"}
    log = (tmp_path / "web.log").open("w")
    process = subprocess.Popen(command, cwd=str(deployment.options.install_dir), env=environment, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        wait_until_listening(port, process, tmp_path / "web.log")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"the web worker did not listen on {port}: {log.read_text()[-3000:]}")


@pytest.fixture
def nginx(deployment: Deployment, tls: Path, web_worker: int, tmp_path: Path) -> Iterator[Proxy]:
    proxy = nginx_config(deployment, tmp_path, worker_port=web_worker)
    process = subprocess.Popen([need("nginx"), "-c", str(proxy.config), "-p", str(proxy.config.parent),
                                "-e", "stderr", "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                httpx.get(f"http://127.0.0.1:{proxy.http_port}/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield proxy
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_given_nginx_in_front_of_a_web_worker_when_staff_log_in_then_https_and_the_websocket_pass_through(
    deployment: Deployment, nginx: Proxy,
) -> None:
    engine = make_engine(deployment.environment()["DATABASE_URL"])
    add_staff(engine, "proxy.operator", Role.OPERATOR)
    engine.dispose()
    plain = httpx.get(f"http://127.0.0.1:{nginx.http_port}/inbox?page=2", headers={"Host": SERVER_NAME})
    assert plain.status_code == 301 and plain.headers["location"] == f"https://{SERVER_NAME}/inbox?page=2"
    base = f"https://127.0.0.1:{nginx.https_port}"
    async with httpx.AsyncClient(base_url=base, verify=False, headers={"Host": SERVER_NAME}) as client:
        login_page = await client.get("/login", headers={"X-Forwarded-Proto": "http"})
        # The app saw https (X-Forwarded-Proto from nginx, whatever the client sent): its CSRF cookie is Secure.
        assert "secure" in login_page.headers["set-cookie"].lower(), login_page.headers
        assert login_page.headers["strict-transport-security"] == "max-age=63072000"
        response = await log_in(client, "proxy.operator", PASSWORD)
        assert response.status_code == 303, response.text
        cookie = f"pasokh_session={client.cookies['pasokh_session']}"
        health = await client.get("/healthz")
        assert health.status_code in (200, 503) and "database" in health.text  # from this host: allowed
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    async with websockets.connect(f"wss://127.0.0.1:{nginx.https_port}/ws", ssl=insecure,
                                  additional_headers={"Cookie": cookie, "Origin": f"https://{SERVER_NAME}"}) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert hello["name"] == "hello"


def test_given_a_migrated_database_when_asterisk_render_runs_then_the_instance_is_ready_and_asterisk_not_started(
    tmp_path: Path, migrated_sqlite: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What pasokh-asterisk-config.service runs before pasokh-asterisk.service starts Asterisk itself."""
    database = tmp_path / "pasokh.sqlite3"
    shutil.copyfile(migrated_sqlite, database)
    for name, value in (("DATABASE_URL", f"sqlite:///{database}"), ("PASOKH_STATE_DIR", str(tmp_path / "state")),
                        ("PASOKH_ASTERISK_CACHE_DIR", str(tmp_path / "chroot"))):
        monkeypatch.setenv(name, value)

    assert main(["asterisk", "render"]) == 0

    runtime = runtime_for(load_settings())
    instance = runtime.host_path(runtime.instance_dir)
    assert (instance / "etc" / "asterisk.conf").read_text().count(str(runtime.instance_dir)) >= 5
    assert (instance / "sounds" / "fa").is_dir() and any((instance / "sounds" / "fa").iterdir())
    assert not (instance / "run" / "asterisk.pid").exists()
