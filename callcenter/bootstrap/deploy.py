"""``python -m callcenter deploy systemd``: the files a Debian host runs Pasokh with, rendered from templates —
systemd units (Asterisk, the telephony process, N web workers, migrations, nightly backups), the service user and
directories, the environment file with fresh secrets, logrotate rules and an nginx reverse proxy with TLS."""

from __future__ import annotations

import math
import os
import re
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from jinja2 import Environment, PackageLoader, StrictUndefined

from agent_console.body_limit import MAX_BODY_BYTES, ROUTE_BODY_LIMITS
from callcenter.complaints import identity
from callcenter.platform.errors import ConfigurationError
from callcenter.platform.settings import PROJECT_ROOT, Settings, is_loopback
from callcenter.telephony.asterisk_sandbox import AsteriskRuntime, runtime_for

# systemd learnt exponential restart back-off (RestartSteps=, RestartMaxDelaySec=) in version 254.
BACKOFF_SINCE = 254
# ProtectHome=yes hides these from every unit: nothing the services run or write may live there.
HIDDEN_BY_PROTECT_HOME = (PurePosixPath("/home"), PurePosixPath("/root"), PurePosixPath("/run/user"))
_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,30}$")  # a system user or group name
_SERVER_NAME = re.compile(r"^[A-Za-z0-9.-]+$")
MIB = 1024 * 1024
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class DeployOptions:
    """Where things go on the host; the settings (ports, instance, database...) come from the environment."""

    output: Path
    web_workers: int = 2
    state_dir: Path = Path("/var/lib/pasokh")
    install_dir: Path = PROJECT_ROOT
    python: Path = field(default_factory=lambda: Path(sys.executable))
    user: str = "pasokh"
    group: str = "pasokh"
    env_file: Path = Path("/etc/pasokh/pasokh.env")
    log_dir: Path = Path("/var/log/pasokh")
    backup_dir: Path = Path("/var/backups/pasokh")
    backups_kept: int = 14
    server_name: str = "pasokh.example"
    tls_certificate: Path = Path("/etc/ssl/pasokh/fullchain.pem")
    tls_key: Path = Path("/etc/ssl/pasokh/privkey.pem")
    systemd_version: int | None = None  # None: the host's, asked of systemctl


@dataclass(frozen=True)
class Rendered:
    written: list[Path]
    kept: list[Path]  # files left as they were (the environment file holds secrets already in use)


def deployment_settings(settings: Settings, options: DeployOptions) -> Settings:
    """The settings as the units will see them: the state dir of the options and, unless the environment names
    one, the Asterisk chroot under it (a home directory, the default, is hidden from the units)."""
    cache_dir = (settings.asterisk_cache_dir if "asterisk_cache_dir" in settings.model_fields_set
                 else options.state_dir / "chroot")
    return settings.model_copy(update={"state_dir": options.state_dir, "asterisk_cache_dir": cache_dir})


def render_deployment(settings: Settings, options: DeployOptions) -> Rendered:
    """Write every file under ``options.output`` (units in ``systemd/``, ``sysusers.d/``, ``tmpfiles.d/``,
    ``logrotate/``, ``nginx/``, and ``pasokh.env`` unless it exists)."""
    settings = deployment_settings(settings, options)
    runtime = runtime_for(settings)
    _check(settings, options, runtime)
    context = _context(settings, options, runtime)
    env = _environment()
    written: list[Path] = []
    for template, target in _targets(options):
        path = options.output / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(env.get_template(template).render(context))
        written.append(path)
    env_file = options.output / "pasokh.env"
    if env_file.exists():
        return Rendered(written=written, kept=[env_file])
    _write_secret_file(env_file, env.get_template("pasokh.env.j2").render(context, **_fresh_secrets()))
    return Rendered(written=[*written, env_file], kept=[])


def web_ports(settings: Settings, workers: int) -> list[int]:
    """One port per web worker, from PASOKH_WEB_PORT up; nginx spreads requests over them."""
    return [settings.web_port + index for index in range(workers)]


def proxy_body_limit_mib(limits: dict[tuple[str, str], int] = ROUTE_BODY_LIMITS) -> int:
    """nginx's client_max_body_size: above the app's largest route limit, so that the app itself refuses an
    oversized upload with its Persian page rather than nginx with its own."""
    return math.ceil(max([MAX_BODY_BYTES, *limits.values()]) / MIB) + 1


def host_systemd_version() -> int | None:
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return None
    result = subprocess.run([systemctl, "--version"], capture_output=True, text=True, check=False, timeout=10)
    match = re.match(r"systemd (\d+)", result.stdout)
    return int(match.group(1)) if match else None


def _targets(options: DeployOptions) -> list[tuple[str, str]]:
    units = ["pasokh.target", "pasokh-migrate.service", "pasokh-asterisk-config.service",
             "pasokh-asterisk.service", "pasokh-telephony.service", "pasokh-web@.service",
             "pasokh-backup.service", "pasokh-backup.timer"]
    return [*((f"{unit}.j2", f"systemd/{unit}") for unit in units),
            ("sysusers.conf.j2", "sysusers.d/pasokh.conf"), ("tmpfiles.conf.j2", "tmpfiles.d/pasokh.conf"),
            ("logrotate.j2", "logrotate/pasokh"), ("nginx.conf.j2", "nginx/pasokh.conf")]


def _context(settings: Settings, options: DeployOptions, runtime: AsteriskRuntime) -> dict[str, object]:
    version = options.systemd_version if options.systemd_version is not None else host_systemd_version()
    instance_host_dir = runtime.host_path(runtime.instance_dir)
    return {
        "settings": settings,
        "options": options,
        "python": str(options.python),
        "install_dir": str(options.install_dir),
        "web_ports": web_ports(settings, options.web_workers),
        "backoff": version is not None and version >= BACKOFF_SINCE,
        "chroot": str(runtime.root) if runtime.is_chroot else None,
        "asterisk_binary": "/usr/sbin/asterisk" if runtime.is_chroot else (shutil.which("asterisk")
                                                                            or "/usr/sbin/asterisk"),
        "asterisk_config_file": str(runtime.config_file),
        # Asterisk's writable tree as its unit names it: inside its root ("+" prefix) when it runs chrooted.
        "asterisk_writable": f"+{runtime.instance_dir}" if runtime.is_chroot else str(instance_host_dir),
        "asterisk_instance_host_dir": str(instance_host_dir),
        "asterisk_log_dir": str(instance_host_dir / "log"),
        "writable_dirs": _writable_dirs(settings, runtime),
        "body_limit_mib": proxy_body_limit_mib(),
        "upstream_host": settings.web_host,
        # The web workers are web-only processes beside the telephony process: they need Redis (ADR 0023).
        "redis_url": settings.redis_url or DEFAULT_REDIS_URL,
        # PostgreSQL over its local socket as the service user (peer authentication: no password to keep).
        "database_url": settings.database_url if "database_url" in settings.model_fields_set
        else f"postgresql://{options.user}@/pasokh",
    }


def _writable_dirs(settings: Settings, runtime: AsteriskRuntime) -> list[str]:
    """What the Python processes write: the state dir (SQLite, photos, attachments, prompts) and Asterisk's
    instance (its config, prompts and recordings, which the telephony process renders and purges)."""
    dirs = [settings.state_dir]
    instance = runtime.host_path(runtime.instance_dir)
    if not instance.is_relative_to(settings.state_dir):
        dirs.append(instance)
    return [str(path) for path in dirs]


def _check(settings: Settings, options: DeployOptions, runtime: AsteriskRuntime) -> None:
    if not 1 <= options.web_workers <= 32:
        raise ConfigurationError("--web-workers must be between 1 and 32", web_workers=options.web_workers)
    if web_ports(settings, options.web_workers)[-1] > 65535:
        raise ConfigurationError("the web workers' ports run past 65535: lower PASOKH_WEB_PORT")
    for name in (options.user, options.group):
        if not _NAME.match(name):
            raise ConfigurationError("not a system user or group name", name=name)
    if not _SERVER_NAME.match(options.server_name):
        raise ConfigurationError("--server-name must be a host name", server_name=options.server_name)
    paths = {"the install dir": options.install_dir, "python": options.python, "the state dir": settings.state_dir,
             "the Asterisk chroot": runtime.root, "the log dir": options.log_dir, "the backup dir": options.backup_dir}
    for what, path in paths.items():
        if not path.is_absolute():
            raise ConfigurationError(f"{what} must be an absolute path", path=str(path))
        if any(PurePosixPath(path).is_relative_to(hidden) for hidden in HIDDEN_BY_PROTECT_HOME):
            raise ConfigurationError(f"{what} is under a home directory, which the units hide (ProtectHome=yes): "
                                     "install under /opt and keep the state under /var/lib", path=str(path))
    if not is_loopback(settings.web_host):
        raise ConfigurationError("the web workers sit behind nginx on this host: PASOKH_WEB_HOST must be loopback "
                                 "(uvicorn trusts X-Forwarded-For only from FORWARDED_ALLOW_IPS, 127.0.0.1)",
                                 web_host=settings.web_host)


def _fresh_secrets() -> dict[str, str]:
    """New secrets for a new environment file (AMI's secret lands in manager.conf: hex only)."""
    return {"secret_key": secrets.token_urlsafe(48), "ami_secret": secrets.token_hex(24),
            "identity_key": identity.new_key()}


def _write_secret_file(path: Path, text: str) -> None:
    """Readable by its owner only, from the first byte."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def _environment() -> Environment:
    return Environment(loader=PackageLoader("callcenter.bootstrap", "deploy_templates"), undefined=StrictUndefined,
                       keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False)
