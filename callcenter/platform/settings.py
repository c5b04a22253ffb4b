"""Runtime settings read from the environment, with safe defaults for development only."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from callcenter.platform.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SECRET = "development-only-secret-change-me"
DEFAULT_AMI_SECRET = "development-only-ami-secret"
DEFAULT_SIP_REALM = "pasokh"


class Settings(BaseModel):
    """Everything configurable; built by :func:`load_settings` from ``PASOKH_*`` variables."""

    # Unset (None) is treated as production when serving: the built-in secrets and the demo accounts need an
    # explicit "development" (refuse_built_in_secrets); an explicit "production" is refused at load without them.
    environment: Literal["development", "test", "production"] | None = None
    secret_key: str = DEFAULT_SECRET
    state_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""
    # redis://[:password@]host:port/db, or rediss://… for TLS; a private CA's certificate file for rediss.
    redis_url: str | None = None
    redis_ca_file: str | None = None
    # Keys and channels in Redis start with this, so that two installations (or tests) can share one Redis.
    redis_namespace: str = "pasokh"
    # "all": FastAGI, the AMI bridge and the web in one process. "web": a web-only worker (several may run
    # behind one port) whose Asterisk actions are relayed through Redis to the "all" process (decision 23).
    role: Literal["all", "web"] = "all"
    web_workers: int = Field(default=1, ge=1, le=32)

    web_host: str = "127.0.0.1"
    web_port: int = 8000

    # Asterisk and its interfaces. Ports are settings so that tests and a running demo can coexist.
    asterisk_cache_dir: Path = Path.home() / ".cache" / "pasokh"
    asterisk_instance: str = "default"
    sip_host: str = "127.0.0.1"
    sip_port: int = 5060
    rtp_port_start: int = 10000
    rtp_port_end: int = 10999
    trunk_match: str = "127.0.0.1"
    # The realm Asterisk challenges phones with; stored SIP credentials (md5 of user:realm:password) depend on it.
    sip_realm: str = DEFAULT_SIP_REALM
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_username: str = "pasokh"
    ami_secret: str = DEFAULT_AMI_SECRET
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    # Verbose messages Asterisk writes to messages.log (notices, warnings and errors always). From 2 up it logs
    # channel names and dialplan steps, which name the citizens dialled for verification (Local/<number>@...,
    # "Called PJSIP/<number>@outbound-trunk"): the default keeps citizens' numbers out of Asterisk's log.
    asterisk_log_verbosity: int = Field(default=1, ge=0, le=5)
    # Required when FastAGI listens beyond loopback: Asterisk's AGI() URLs carry it (?secret=…) and the server
    # refuses a session without it. Letters, digits and ._~- only (it lands in the dialplan), 24 or more.
    agi_secret: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._~-]{24,}$")

    # The login throttle (callcenter/staff/login_throttle.py): tries per name and per name+address, and their lockout
    # (also the cap of the progressive delays); tries per address for any names; the first progressive delay.
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=1)
    login_address_max_failures: int = Field(default=20, ge=1)
    login_first_delay_seconds: int = Field(default=30, ge=1)
    # Server-side sessions (callcenter/staff/sessions.py): idle timeout, absolute lifetime, and how often a console's
    # websocket re-checks its session (revocations also close it at once through the bus).
    session_idle_seconds: int = Field(default=3600, ge=60)
    session_lifetime_seconds: int = Field(default=12 * 3600, ge=60)
    session_check_seconds: float = Field(default=5, gt=0)
    # The console's public origin(s), comma-separated (e.g. "https://pasokh.example"): a websocket from a page of
    # any other origin is refused. Default: the web address itself (development).
    public_origins: str = ""

    max_inbound_calls: int = Field(default=30, ge=1)
    queue_wrapup_seconds: int = Field(default=10, ge=0)
    agent_ring_seconds: int = Field(default=15, ge=1)
    # While a caller waits in a queue, every this many seconds the music stops for "please hold" (0: never).
    queue_announce_seconds: int = Field(default=45, ge=0)

    # When to offer a callback or a recorded message instead of the queue (see callcenter/intake/routing.py).
    max_wait_seconds: int = Field(default=120, ge=0)
    # "24/7" (default) or weekly windows in Tehran time, e.g. "sat-wed 07:30-19:00; thu 07:30-13:00";
    # holidays (callcenter/platform/data/holidays.toml, or this file) close the lines all day unless "24/7".
    service_hours: str = "24/7"
    holidays_file: Path | None = None
    voice_message_max_seconds: int = Field(default=120, ge=5)
    voice_message_min_seconds: float = Field(default=1.0, ge=0)
    voice_message_silence_seconds: int = Field(default=5, ge=1)
    # Whole-call recordings (not voice messages, which are ticket evidence) are deleted this long after the call.
    call_recording_retention_days: int = Field(default=90, ge=1)
    recording_purge_interval_seconds: float = Field(default=3600, gt=0)

    # Periodic jobs (callcenter/platform/scheduler.py, decision 28): how often the telephony process looks for due jobs,
    # and how often it looks for tickets past their unit's deadline to escalate.
    scheduler_tick_seconds: float = Field(default=5, gt=0)
    escalation_interval_seconds: float = Field(default=300, gt=0)

    # Tracking-code SMS. "outbox" (no provider): messages are written to sms_outbox and stay queued.
    sms_provider: Literal["outbox", "kavenegar"] = "outbox"
    kavenegar_api_key: str | None = None
    kavenegar_sender: str | None = None
    kavenegar_base_url: str = "https://api.kavenegar.com"
    sms_max_attempts: int = Field(default=5, ge=1)
    sms_dispatch_interval_seconds: float = Field(default=10, gt=0)

    # Verification calls to citizens (decision 31). The outbound trunk is the provider's SIP address; at most
    # max_outbound_calls of the lines are outbound at once, and none while an inbound caller waits.
    outbound_trunk_host: str = "127.0.0.1"
    outbound_trunk_port: int = 5060
    max_outbound_calls: int = Field(default=5, ge=0)
    verification_ring_seconds: int = Field(default=40, ge=5)
    # When citizens may be called (same syntax as service_hours; holidays are skipped).
    verification_calling_hours: str = "sat-thu 09:00-20:00"
    verification_max_attempts: int = Field(default=3, ge=1)
    verification_retry_minutes: int = Field(default=120, ge=1)
    verification_dial_interval_seconds: float = Field(default=30, gt=0)

    @model_validator(mode="after")
    def _fill_defaults_and_refuse_unsafe(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.state_dir / 'pasokh.sqlite3'}"
        if (self.role == "web" or self.web_workers > 1) and not self.redis_url:
            raise ConfigurationError("several web workers (PASOKH_WEB_WORKERS > 1, PASOKH_ROLE=web) need REDIS_URL")
        if not is_loopback(self.agi_host) and not self.agi_secret:
            raise ConfigurationError("PASOKH_AGI_SECRET must be set when FastAGI listens beyond loopback "
                                     f"(PASOKH_AGI_HOST={self.agi_host})")
        if self.redis_ca_file and not (self.redis_url or "").startswith("rediss://"):
            raise ConfigurationError("PASOKH_REDIS_CA_FILE needs a TLS REDIS_URL (rediss://)")
        if self.max_outbound_calls >= self.max_inbound_calls:
            raise ConfigurationError("PASOKH_MAX_OUTBOUND_CALLS must leave lines for inbound calls "
                                     "(fewer than PASOKH_MAX_INBOUND_CALLS)")
        if self.sms_provider == "kavenegar" and not self.kavenegar_api_key:
            raise ConfigurationError("PASOKH_KAVENEGAR_API_KEY must be set when PASOKH_SMS_PROVIDER=kavenegar")
        if self.environment == "production":
            if self.secret_key == DEFAULT_SECRET:
                raise ConfigurationError("PASOKH_SECRET_KEY must be set outside development")
            if self.ami_secret == DEFAULT_AMI_SECRET:
                raise ConfigurationError("PASOKH_AMI_SECRET must be set outside development")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def production_like(self) -> bool:
        """Production, or nobody said: no API explorer, cookies only over HTTPS."""
        return self.environment not in ("development", "test")

    @property
    def allowed_origins(self) -> frozenset[str]:
        if self.public_origins.strip():
            return frozenset(origin.strip().rstrip("/") for origin in self.public_origins.split(",") if origin.strip())
        hosts = {self.web_host} | ({"127.0.0.1", "localhost"} if is_loopback(self.web_host) else set())
        return frozenset(f"http://{host}:{self.web_port}" for host in hosts)



def refuse_built_in_secrets(settings: Settings) -> None:
    """Fail closed before serving: the built-in secrets only in explicit development, listening on loopback."""
    built_in = [name for name, value, default in (
        ("PASOKH_SECRET_KEY", settings.secret_key, DEFAULT_SECRET),
        ("PASOKH_AMI_SECRET", settings.ami_secret, DEFAULT_AMI_SECRET),
    ) if value == default]
    if not built_in:
        return
    if settings.environment != "development":
        raise ConfigurationError(f"{' and '.join(built_in)} must be set unless PASOKH_ENVIRONMENT=development "
                                 f"(it is {settings.environment or 'unset'})")
    if not is_loopback(settings.web_host):
        raise ConfigurationError(f"{' and '.join(built_in)} must be set when the web listens beyond loopback "
                                 f"(PASOKH_WEB_HOST={settings.web_host})")


def is_loopback(host: str) -> bool:
    """Only this machine can reach ``host`` (127.0.0.0/8, ::1, localhost); 0.0.0.0 and names are not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Variables read without the PASOKH_ prefix, as the set-up contract names them.
_UNPREFIXED = {"database_url": "DATABASE_URL", "redis_url": "REDIS_URL"}


def load_settings(environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from ``environ`` (default: the process environment) and explicit overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for name in Settings.model_fields:
        key = _UNPREFIXED.get(name, f"PASOKH_{name.upper()}")
        if env.get(key):
            values[name] = env[key]
    values.update(overrides)
    return Settings.model_validate(values)
