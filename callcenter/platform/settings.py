"""Runtime settings read from the environment (pydantic-settings), with safe defaults for development only."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from callcenter.platform.errors import ConfigurationError, InvalidSetting

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SECRET = "development-only-secret-change-me"
DEFAULT_AMI_SECRET = "development-only-ami-secret"
DEFAULT_SIP_REALM = "pasokh"
ENV_PREFIX = "PASOKH_"
# The settings table in README.md (callcenter/bootstrap/docs.py) shows this instead of a default that depends on
# the machine or is computed.
SHOWN_DEFAULT = "shown_default"


def _shown(default: str) -> dict[str, Any]:
    return {SHOWN_DEFAULT: default}


class Settings(BaseSettings):
    """Everything configurable. Each field is the variable ``PASOKH_<NAME>``; DATABASE_URL and REDIS_URL are read
    without the prefix, as the set-up contract names them (the prefixed name too, the unprefixed one winning). An
    empty variable counts as unset."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore",
                                      validate_by_name=True, validate_by_alias=True)

    # Unset (None) is treated as production when serving: the built-in secrets and the demo accounts need an
    # explicit "development" (refuse_built_in_secrets); an explicit "production" is refused at load without them.
    environment: Literal["development", "test", "production"] | None = Field(
        default=None, json_schema_extra=_shown("unset (served as production)"),
        description="`development` (set by `make run`) allows the built-in secrets on a loopback web address and "
                    "the demo accounts; anything else, unset included, refuses to start without "
                    "`PASOKH_SECRET_KEY` and `PASOKH_AMI_SECRET`")
    secret_key: str = Field(default=DEFAULT_SECRET, json_schema_extra=_shown("development value"),
                            description="signs the pre-login visitor cookie (sessions themselves are server-side rows)")
    state_dir: Path = Field(
        default=PROJECT_ROOT / "var", json_schema_extra=_shown("`./var`"),
        description="SQLite file, recorded prompt overrides (`var/prompts/<key>.wav`), queue music "
                    "(`var/hold-music/*.wav`, replaces the synthesized loop, decision 32)")
    database_url: str = Field(
        default="", validation_alias=AliasChoices("DATABASE_URL", "PASOKH_DATABASE_URL"),
        json_schema_extra=_shown("`sqlite:///<state dir>/pasokh.sqlite3`"),
        description="e.g. `postgresql://user@host:5432/pasokh`")
    # redis://[:password@]host:port/db, or rediss://… for TLS; a private CA's certificate file for rediss.
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "PASOKH_REDIS_URL"),
        description="events fan out through Redis pub/sub (global sequence numbers) instead of in-process "
                    "(decision 14); `redis://:password@host:port/0`, or `rediss://…` for TLS")
    redis_ca_file: str | None = Field(
        default=None,
        description="CA certificate that signed a `rediss://` server's certificate (else the system's authorities)")
    # Keys and channels in Redis start with this, so that two installations (or tests) can share one Redis.
    redis_namespace: str = Field(default="pasokh", description="prefix of Redis keys and channels")
    # "all": FastAGI, the AMI bridge and the web in one process. "web": a web-only worker (several may run
    # behind one port) whose Asterisk actions are relayed through Redis to the "all" process (decision 23).
    role: Literal["all", "web"] = Field(
        default="all", description="`web` makes a process a web-only worker (set by `serve` for its workers)")
    web_workers: int = Field(
        default=1, ge=1, le=32,
        description="more than 1 (needs `REDIS_URL`): a telephony process plus that many web-only workers on the "
                    "port; their AMI actions are relayed through Redis (decision 23)")

    web_host: str = Field(default="127.0.0.1", description="console address")
    web_port: int = Field(default=8000, ge=1, le=65535, description="console port")
    # With one process its /metrics has everything; a telephony process of its own serves its /metrics here, the
    # web workers theirs on the console port (ADR 0081). Not 8001: the systemd deployment's web workers take
    # PASOKH_WEB_PORT and the ports after it, one each.
    telephony_metrics_port: int = Field(
        default=9120, ge=1, le=65535,
        description="where the telephony process, when apart from the web workers (`PASOKH_WEB_WORKERS` > 1), "
                    "serves Prometheus' `/metrics` (calls, queues, FastAGI, SMS outbox, jobs), on the console address")

    # Asterisk and its interfaces. Ports are settings so that tests and a running demo can coexist.
    asterisk_cache_dir: Path = Field(default=Path.home() / ".cache" / "pasokh",
                                     json_schema_extra=_shown("`~/.cache/pasokh`"),
                                     description="where the Asterisk chroot is built")
    asterisk_instance: str = Field(default="default",
                                   description="name of this Asterisk instance (its directories and sockets)")
    sip_host: str = Field(default="127.0.0.1", description="Asterisk's SIP transport address")
    sip_port: int = Field(default=5060, ge=1, le=65535, description="Asterisk's SIP transport port")
    rtp_port_start: int = Field(default=10000, ge=1, le=65535, description="first port of Asterisk's RTP range")
    rtp_port_end: int = Field(default=10999, ge=1, le=65535, description="last port of Asterisk's RTP range")
    trunk_match: str = Field(default="127.0.0.1", description="address the citizens' trunk is identified by")
    # The realm Asterisk challenges phones with; stored SIP credentials (md5 of user:realm:password) depend on it.
    sip_realm: str = Field(
        default=DEFAULT_SIP_REALM,
        description="the realm phones are challenged with; stored SIP credentials are md5 of "
                    "`extension:realm:password`, so changing it needs new phone passwords")
    ami_host: str = Field(default="127.0.0.1", description="Asterisk's manager interface (AMI) address")
    ami_port: int = Field(default=5038, ge=1, le=65535, description="manager interface port of the bridge")
    ami_username: str = Field(default="pasokh", description="the bridge's AMI user")
    ami_secret: str = Field(default=DEFAULT_AMI_SECRET, json_schema_extra=_shown("development value"),
                            description="the bridge's AMI password")
    agi_host: str = Field(default="127.0.0.1", description="our FastAGI listener's address")
    agi_port: int = Field(default=4573, ge=1, le=65535, description="our FastAGI listener's port")
    # Verbose messages Asterisk writes to messages.log (notices, warnings and errors always). From 2 up it logs
    # channel names and dialplan steps, which name the citizens dialled for verification (Local/<number>@...,
    # "Called PJSIP/<number>@outbound-trunk"): the default keeps citizens' numbers out of Asterisk's log.
    asterisk_log_verbosity: int = Field(
        default=1, ge=0, le=5,
        description="verbose level of Asterisk's `messages.log`; from 2 up it logs channel names and dialplan "
                    "steps, which name the citizens called for verification (anonymous 1888 callers' numbers never "
                    "appear: their caller ID is withheld the moment they choose)")
    # Required when FastAGI listens beyond loopback: Asterisk's AGI() URLs carry it (?secret=…) and the server
    # refuses a session without it. Letters, digits and ._~- only (it lands in the dialplan), 24 or more.
    agi_secret: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9._~-]{24,}$",
        description="shared secret in the dialplan's AGI URLs (`?secret=…`, 24+ of `A-Za-z0-9._~-`); required "
                    "when `PASOKH_AGI_HOST` is not loopback, and sessions without it are refused")

    # The login throttle (callcenter/staff/login_throttle.py): tries per name and per name+address, and their lockout
    # (also the cap of the progressive delays); tries per address for any names; the first progressive delay.
    login_max_failures: int = Field(default=5, ge=1,
                                    description="tries per name and per name+address before a lockout")
    login_lockout_seconds: int = Field(
        default=900, ge=1,
        description="a name's lockout (addresses the account never logged in from) and the cap of the progressive "
                    "waits")
    login_address_max_failures: int = Field(default=20, ge=1, description="tries per client address for any names")
    login_first_delay_seconds: int = Field(
        default=30, ge=1, description="the first progressive wait (doubled at each lockout in a row)")
    # Server-side sessions (callcenter/staff/sessions.py): idle timeout, absolute lifetime, and how often a console's
    # websocket re-checks its session (revocations also close it at once through the bus).
    session_idle_seconds: int = Field(
        default=3600, ge=60, description="a session ends after this long unused (an open console keeps it in use)")
    session_lifetime_seconds: int = Field(default=12 * 3600, ge=60,
                                          description="a session ends this long after login in any case")
    session_check_seconds: float = Field(
        default=5, gt=0,
        description="how often a console's websocket re-checks its session (revocations close it at once "
                    "through the bus)")
    # The console's public origin(s), comma-separated (e.g. "https://pasokh.example"): a websocket from a page of
    # any other origin is refused. Default: the web address itself (development).
    public_origins: str = Field(
        default="", json_schema_extra=_shown("the web address"),
        description="comma-separated origins the console is served from (e.g. `https://pasokh.example`); "
                    "websockets from other origins are refused")

    max_inbound_calls: int = Field(default=30, ge=1,
                                   description="simultaneous citizen calls; the next hears \"all lines busy\"")
    queue_wrapup_seconds: int = Field(default=10, ge=0, description="pause after each call before the next rings")
    agent_ring_seconds: int = Field(default=15, ge=1,
                                    description="how long an operator's phone rings before the queue tries another")
    # While a caller waits in a queue, every this many seconds the music stops for "please hold" (0: never).
    queue_announce_seconds: int = Field(
        default=45, ge=0,
        description="how often a caller waiting in a queue hears «لطفاً پشت خط بمانید» between the music (0: never)")

    # When to offer a callback or a recorded message instead of the queue (see callcenter/intake/routing.py).
    max_wait_seconds: int = Field(
        default=120, ge=0, description="estimated wait above which callers are offered a callback or a message")
    # "24/7" (default) or weekly windows in Tehran time, e.g. "sat-wed 07:30-19:00; thu 07:30-13:00";
    # holidays (callcenter/platform/data/holidays.toml, or this file) close the lines all day unless "24/7".
    service_hours: str = Field(
        default="24/7",
        description="or e.g. `sat-wed 07:30-19:00; thu 07:30-13:00` (Tehran time); holidays close all day")
    holidays_file: Path | None = Field(
        default=None, json_schema_extra=_shown("`callcenter/platform/data/holidays.toml`"),
        description="official holidays, Jalali dates (check lunar ones yearly)")
    voice_message_max_seconds: int = Field(default=120, ge=5, description="longest recorded message")
    voice_message_min_seconds: float = Field(default=1.0, ge=0,
                                             description="shorter recorded messages are dropped")
    voice_message_silence_seconds: int = Field(default=5, ge=1,
                                               description="silence that ends a recorded message")
    # Whole-call recordings (not voice messages, which are ticket evidence) are deleted this long after the call.
    call_recording_retention_days: int = Field(
        default=90, ge=1,
        description="answered calls are recorded; recordings older than this are deleted (also "
                    "`python -m callcenter purge-recordings`; voice messages are kept, decision 18)")
    recording_purge_interval_seconds: float = Field(default=3600, gt=0,
                                                    description="how often old recordings are looked for")

    # Periodic jobs (callcenter/platform/scheduler.py, decision 28): how often the telephony process looks for due
    # jobs, and how often it looks for tickets past their unit's deadline to escalate.
    scheduler_tick_seconds: float = Field(default=5, gt=0, description="how often periodic jobs are checked")
    escalation_interval_seconds: float = Field(default=300, gt=0,
                                               description="how often overdue tickets are escalated")

    # Tracking-code SMS. "outbox" (no provider): messages are written to sms_outbox and stay queued.
    sms_provider: Literal["outbox", "kavenegar"] = Field(
        default="outbox",
        description="`kavenegar` sends the tracking-code SMS; `outbox` only records it (decision 10)")
    kavenegar_api_key: str | None = Field(default=None, description="required with `kavenegar`")
    kavenegar_sender: str | None = Field(default=None, description="Kavenegar sender line (optional)")
    kavenegar_base_url: str = Field(default="https://api.kavenegar.com", description="Kavenegar's API address")
    sms_max_attempts: int = Field(default=5, ge=1, description="retries before an SMS is `failed`")
    sms_dispatch_interval_seconds: float = Field(default=10, gt=0, description="how often the SMS outbox is sent")

    # Verification calls to citizens (decision 31). The outbound trunk is the provider's SIP address; at most
    # max_outbound_calls of the lines are outbound at once, and none while an inbound caller waits.
    outbound_trunk_host: str = Field(default="127.0.0.1",
                                     description="the provider's SIP address for calls to citizens")
    outbound_trunk_port: int = Field(default=5060, ge=1, le=65535,
                                     description="the provider's SIP port for calls to citizens")
    max_outbound_calls: int = Field(
        default=5, ge=0,
        description="lines verification calls may hold at once (fewer than `PASOKH_MAX_INBOUND_CALLS`); none while "
                    "inbound callers wait")
    verification_ring_seconds: int = Field(default=40, ge=5,
                                           description="how long a verification call rings the citizen")
    # When citizens may be called (same syntax as service_hours; holidays are skipped).
    verification_calling_hours: str = Field(
        default="sat-thu 09:00-20:00",
        description="when citizens may be called (service-hours syntax; holidays skipped)")
    verification_max_attempts: int = Field(default=3, ge=1, description="unanswered verification calls: attempts")
    verification_retry_minutes: int = Field(default=120, ge=1,
                                            description="gap between unanswered verification calls")
    verification_dial_interval_seconds: float = Field(
        default=30, gt=0, description="how often the automatic dialer looks for due calls")

    # The citizens' channels (the public site, SMS links, receipts, Open311).
    public_base_url: str = Field(
        default="", json_schema_extra=_shown("the web address"),
        description="the address citizens reach the public site at (e.g. `https://137.qazvin.ir`): the links in "
                    "SMS messages and on receipts' QR codes start with it")
    map_tiles_url: str | None = Field(
        default=None,
        description="tile server URL template (`https://tiles.example/{z}/{x}/{y}.png`) for the report form's map; "
                    "without it the form works by address (and the phone's location) alone")
    map_tiles_attribution: str = Field(default="", description="the tile server's attribution shown on the map")
    online_answer_hours: int = Field(
        default=48, ge=1,
        description="how long the SMS link to answer \"solved / not solved\" online waits before verification "
                    "calls begin")
    open311_jurisdiction_id: str = Field(
        default="qazvin.ir", description="the Open311 jurisdiction_id this server answers for")
    open311_reads_per_minute: int = Field(
        default=300, ge=1,
        description="Open311 GET requests (which need no API key) a client address may make per minute; posting "
                    "is limited per key, as the administrator set when issuing it")
    phone_codes_per_address_hour: int = Field(
        default=20, ge=1,
        description="SMS codes the public forms send per client address per hour (per number: one a minute, five "
                    "an hour; decision 55)")
    anonymous_1888_per_address_hour: int = Field(
        default=3, ge=1,
        description="anonymous 1888 messages from the public site per client address per hour, and four times "
                    "that per day (decision 56)")

    # The inspection office's complaints (callcenter/complaints).
    complaint_identity_keys: str = Field(
        default="", json_schema_extra=_shown("derived from the secret key"),
        description="Fernet keys (comma-separated, newest first) that encrypt named complainants' names and "
                    "mobiles; the first encrypts, all decrypt, `python -m callcenter complaints rotate-key` "
                    "re-encrypts with the first (docs/complaints.md). Empty: derived from PASOKH_SECRET_KEY "
                    "(development only)")
    complaint_draft_hours: int = Field(
        default=48, ge=1, description="how long an unfinished complaint form is kept on the server")
    anonymous_complaints_per_address_hour: int = Field(
        default=3, ge=1,
        description="anonymous complaints a client address may file per hour, counted under a key of the day "
                    "that is then deleted (as anonymous 1888 messages, decision 56)")
    complaint_identity_years: int = Field(
        default=3, ge=1, le=30,
        description="years after a complaint's case closed that the complainant's sealed identity, an anonymous "
                    "complainant's receipt and the complaint's attachments are erased (docs/complaints.md, "
                    "ADR 0073)")

    def public_url(self, path: str) -> str:
        """An absolute link for a citizen (``path`` starts with ``/``): the public base, else the web address."""
        base = self.public_base_url.rstrip("/") or f"http://{self.web_host}:{self.web_port}"
        return base + path

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit values, then the environment (the one :func:`load_settings` was given); no .env or secret
        files: the service manager sets the environment."""
        environ = _ENVIRON.get()
        return init_settings, (env_settings if environ is None else _MappingEnvSource(settings_cls, environ))

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
            if not self.complaint_identity_keys.strip():
                raise ConfigurationError("PASOKH_COMPLAINT_IDENTITY_KEYS must be set outside development")
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


def variable_name(field: str) -> str:
    """The environment variable of a settings field (``web_port`` → ``PASOKH_WEB_PORT``)."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return alias if isinstance(alias, str) else f"{ENV_PREFIX}{field.upper()}"


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


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from ``environ`` (default: the process environment) and explicit overrides (by field name,
    winning over the environment). A value of the wrong type or out of range is an :class:`InvalidSetting` naming
    its variable; an unsafe combination a :class:`ConfigurationError`."""
    with _environment(environ):
        try:
            return Settings(**overrides)  # type: ignore[arg-type]  # field values by name, validated here
        except ValidationError as exc:
            raise InvalidSetting(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """One line per refused variable, without its value (it may be a secret)."""
    names = {key: variable_name(field) for field in Settings.model_fields
             for key in (field, variable_name(field), f"{ENV_PREFIX}{field.upper()}")}
    problems = [f"{names.get(str(error['loc'][0]), error['loc'][0]) if error['loc'] else 'settings'}: "
                f"{error['msg']}" for error in exc.errors()]
    return "invalid setting " + "; ".join(problems)


_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("pasokh_settings_environ", default=None)


@contextmanager
def _environment(environ: Mapping[str, str] | None) -> Iterator[None]:
    token = _ENVIRON.set(environ)
    try:
        yield
    finally:
        _ENVIRON.reset(token)


class _MappingEnvSource(EnvSettingsSource):
    """The environment source reading a given mapping instead of ``os.environ`` (tests, and load_settings's
    callers that pass one)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {(name if self.case_sensitive else name.lower()): value for name, value in self._environ.items()
                if not (self.env_ignore_empty and value == "")}
