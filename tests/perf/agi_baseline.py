"""AGI baseline (``--parts agi-baseline``): the 137 menu's first step as a pyst2 script per call and on our FastAGI.

Both sides run in one Asterisk (the bench's instance) in one run, each under a burst of N sipp citizens pressing 1,
then five calls one at a time: Asterisk times each AGI() from its start to its end (dialplan timestamps right
around it, the same for both sides) and reports it over AMI with what the session set on the channel. The step,
the same AGI commands on both sides:
ANSWER; STREAM FILE of welcome_137 and menu_137 (any key interrupts), WAIT FOR DIGIT (5 s) when no key did,
"invalid_choice" and menu_137 again, up to three times; SET VARIABLE of the key taken, of the time spent waiting on
the caller, and PASOKH_NEXT=queue for an operator. Ours is ivr.menu.Menu on ivr.agi_server.AgiServer (the
production classes); the script is tests/perf/pyst2_first_step.py. What the figures mean: docs/adr/0085-*.md.
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import asterisk.agi as pyst2_agi
import six

from asterisk_config.render import AgiBaseline, AgiBaselineSide, render_config
from callcenter.bootstrap.provisioning import provision_asterisk
from callcenter.platform.metrics import LatencyRecorder, Metrics
from callcenter.platform.settings import Settings
from callcenter.telephony.asterisk_sandbox import AsteriskProcess, AsteriskRuntime, runtime_for
from callcenter.telephony.dialplan import NextStep, UserEvent, Variable
from ivr.agi_server import AgiServer, Route
from ivr.menu import ALL_DIGITS, CHOICE_TIMEOUT_MS, MAX_TRIES, Channel, Menu, OperatorRequested, Prompts
from tests.support.ami import AmiObserver
from tests.support.backend import TEST_AMI_USER, telephony_settings
from tests.support.sipp import Sipp, SippResult

HEADING = "## AGI baseline: a pyst2 script per call against our FastAGI"
ROUTE = "agi-baseline"
FASTAGI, PYST2 = "fastagi", "pyst2"
SIDES = (FASTAGI, PYST2)
# The 137 menu's first step, as ivr/flows.py's line_137 offers it to a caller without an open request.
FIRST_PROMPTS = ("welcome_137", "menu_137")
AGAIN_PROMPTS = ("menu_137",)
VALID_KEYS = "12"
INVALID_PROMPT = "invalid_choice"
OPERATOR_CHOICES = ("", "1")  # a new request (1), or 0 or no valid key (""): an operator, as in the 137 flow
SCRIPT = Path(__file__).with_name("pyst2_first_step.py")
# Commands whose answer waits on the caller: a prompt playing, a key awaited, and ANSWER, which Asterisk holds until
# the caller's media flows (up to 500 ms: sipp sends none before its keys). Their time is the caller's.
CALLER_COMMANDS = ("ANSWER", "STREAM FILE", "WAIT FOR DIGIT")
# The interpreter copied into Asterisk's chroot needs its standard library, not these.
STDLIB_LEFT_OUT = ("site-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3")
INTERPRETER_MARKER = ".pasokh-agi-baseline"
BASELINE_TEMPLATES = ("extensions.conf", "modules.conf")
CITIZEN = "09121234567"
ALONE_CALLS = 5


class CallerTimedChannel:
    """The session's channel, summing the time of the commands that wait on the caller (as the script does)."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self.waited_seconds = 0.0

    @property
    def caller_number(self) -> str:
        return self._channel.caller_number

    async def command(self, name: str, *args: str) -> tuple[str, str]:
        started = time.perf_counter()
        try:
            return await self._channel.command(name, *args)
        finally:
            if name in CALLER_COMMANDS:
                self.waited_seconds += time.perf_counter() - started

    async def set_variable(self, name: str, value: str) -> None:
        await self._channel.set_variable(name, value)


def first_menu_step(menu: Menu) -> Route:
    """The FastAGI route of the step, on the production menu."""

    async def route(channel: Channel) -> None:
        timed = CallerTimedChannel(channel)
        await timed.command("ANSWER")
        try:
            choice = await menu.choose(timed, FIRST_PROMPTS, valid=VALID_KEYS, again=AGAIN_PROMPTS)
        except OperatorRequested:
            choice = ""
        await channel.set_variable(Variable.BENCH_CHOICE, choice)
        await channel.set_variable(Variable.BENCH_WAITED_MS, f"{timed.waited_seconds * 1000:.3f}")
        if choice in OPERATOR_CHOICES:
            await channel.set_variable(Variable.NEXT, NextStep.QUEUE)

    return route


# -- the script's side: an interpreter Asterisk can start, pyst2 beside the script ----------------------------------


def interpreter_for(runtime: AsteriskRuntime) -> PurePosixPath:
    """This Python (3.11, the project's) as Asterisk sees it: in a chroot, a copy of its prefix at the same path."""
    prefix = Path(sys.base_prefix)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    executable = prefix / "bin" / version
    if not executable.exists():
        raise RuntimeError(f"expected the interpreter at {executable}")
    if runtime.is_chroot:
        copy_interpreter(runtime, prefix, version)
    return PurePosixPath(executable)


def copy_interpreter(runtime: AsteriskRuntime, prefix: Path, version: str) -> None:
    """Once per chroot: built aside and renamed into place, so a test and a bench starting together never see half
    of it; its libpython is found by an absolute run path, hence the same path inside."""
    if not runtime.is_chroot:
        raise ValueError("the interpreter is copied into a chroot only, never over itself")
    target = runtime.host_path(prefix)
    marker = target / INTERPRETER_MARKER
    if marker.exists():
        return
    staging = target.with_name(f".{target.name}.{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    for folder in ("bin", "lib"):
        (staging / folder).mkdir(parents=True)
    shutil.copy2(prefix / "bin" / version, staging / "bin" / version)
    for library in (prefix / "lib").glob(f"lib{version}*.so*"):
        shutil.copy2(library, staging / "lib" / library.name, follow_symlinks=False)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    shutil.copytree(stdlib, staging / stdlib.relative_to(prefix), symlinks=True,
                    ignore=lambda folder, _names: STDLIB_LEFT_OUT if Path(folder) == stdlib else ())
    if target.exists() and not marker.exists():
        shutil.rmtree(target, ignore_errors=True)  # what a run stopped halfway left
    try:
        staging.rename(target)
    except OSError:  # another process put its copy there first: the same files
        shutil.rmtree(staging, ignore_errors=True)
    check = subprocess.run(["chroot", str(runtime.root), str(prefix / "bin" / version), "-c", "import re, signal"],
                           capture_output=True, text=True, timeout=30, check=False)
    if check.returncode != 0:
        raise RuntimeError(f"the interpreter copied into {runtime.root} does not start: {check.stderr[-1000:]}")
    marker.write_text(f"{sys.version}\n")


def install_script(runtime: AsteriskRuntime) -> PurePosixPath:
    """The script with its interpreter's #! line, and pyst2 (with six, its one dependency) beside it."""
    agi_bin = runtime.instance_dir / "agi-bin"
    folder = runtime.host_path(agi_bin)
    packages = folder / "site-packages"
    packages.mkdir(parents=True, exist_ok=True)
    shutil.copytree(Path(pyst2_agi.__file__).parent, packages / "asterisk", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(six.__file__, packages / "six.py")
    # Byte-compiled once, as an installed library is: no call pays for compiling pyst2 (the script itself, run as
    # __main__, is compiled by every process, as any classic AGI script is).
    compileall.compile_dir(packages, quiet=1)
    script = folder / SCRIPT.name
    script.write_text(f"#!{interpreter_for(runtime)}\n{SCRIPT.read_text()}")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return agi_bin / SCRIPT.name


def baseline_dialplan(settings: Settings, runtime: AsteriskRuntime, script: PurePosixPath) -> AgiBaseline:
    secret = f"?secret={settings.agi_secret}" if settings.agi_secret else ""
    arguments = (str(runtime.sounds_dir / "fa"), ALL_DIGITS, str(CHOICE_TIMEOUT_MS), str(MAX_TRIES), VALID_KEYS,
                 "|".join(FIRST_PROMPTS), "|".join(AGAIN_PROMPTS), INVALID_PROMPT,
                 Variable.BENCH_CHOICE, Variable.BENCH_WAITED_MS, Variable.NEXT, NextStep.QUEUE)
    return AgiBaseline(sides=(
        AgiBaselineSide(name=FASTAGI, target=f"agi://{settings.agi_host}:{settings.agi_port}/{ROUTE}{secret}"),
        AgiBaselineSide(name=PYST2, target=",".join((str(script), *arguments))),
    ))


def enable_baseline(settings: Settings, process: AsteriskProcess) -> None:
    """Install the script and add the bench's context to this instance's dialplan (a reload, no restart)."""
    runtime = runtime_for(settings)
    dialplan = baseline_dialplan(settings, runtime, install_script(runtime))
    render_config(settings=settings, runtime=runtime, phones=[], templates=BASELINE_TEMPLATES,
                  agi_baseline=dialplan)
    for module in dialplan.modules:
        if module not in process.cli(f"module show like {module}"):
            process.cli(f"module load {module}")
    process.cli("dialplan reload")


def disable_baseline(settings: Settings, process: AsteriskProcess) -> None:
    """Back to the instance's own dialplan and modules (a test's shared Asterisk goes on for other tests)."""
    render_config(settings=settings, runtime=runtime_for(settings), phones=[], templates=BASELINE_TEMPLATES)
    process.cli("dialplan reload")
    for module in AgiBaseline(sides=()).modules:
        process.cli(f"module unload {module}")


@contextlib.asynccontextmanager
async def baseline_fastagi(settings: Settings) -> AsyncIterator[AgiServer]:
    """Our FastAGI server with only the step's route, on the instance's AGI port."""
    server = AgiServer(metrics=Metrics(), secret=settings.agi_secret)
    menu = Menu(Prompts(sounds_dir=PurePosixPath(str(runtime_for(settings).sounds_dir)) / "fa"))
    server.add_route(ROUTE, first_menu_step(menu))
    await server.start(settings.agi_host, settings.agi_port)
    try:
        yield server
    finally:
        await server.stop()


# -- sessions as Asterisk told them ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    side: str
    seconds: float  # AGI() from its start to its end
    waited_seconds: float  # of which on the caller (prompts, the key), as the session measured it
    status: str
    choice: str
    next_step: str
    channel: str = ""

    @property
    def own_seconds(self) -> float:
        return self.seconds - self.waited_seconds

    @property
    def completed(self) -> bool:
        return self.status == "SUCCESS" and self.next_step == NextStep.QUEUE


def is_baseline_event(event: dict[str, str]) -> bool:
    return event.get("Event") == "UserEvent" and event.get("UserEvent") == UserEvent.AGI_BASELINE


def session_of(event: dict[str, str]) -> Session:
    waited = event.get("WaitedMs", "")
    return Session(
        side=event.get("Side", ""),
        seconds=float(event.get("Ended") or 0) - float(event.get("Started") or 0),
        waited_seconds=float(waited) / 1000 if waited else 0.0,
        status=event.get("Status", ""),
        choice=event.get("Choice", ""),
        next_step=event.get("Next", ""),
        channel=event.get("Channel", ""),
    )


def sessions(observer: AmiObserver, side: str) -> list[Session]:
    found = [session_of(event) for event in observer.matching(is_baseline_event)]
    return [session for session in found if session.side == side]


async def call_side(sipp: Sipp, side: str, *, calls: int, local_port: int, concurrent: int | None = None,
                    digits: str = "1", timeout: float = 120) -> SippResult:
    """``calls`` citizens (all at once unless ``concurrent``) dial the side's extension and press ``digits`` 2.5 s
    after the answer."""
    at_once = concurrent or calls
    return await sipp.citizen_calls(number=f"agi-{side}", caller=CITIZEN, digits=digits, hold_ms=60_000,
                                    calls=calls, concurrent=at_once, rate_per_s=at_once, local_port=local_port,
                                    timeout=timeout)


@dataclass
class SideOutcome:
    side: str
    sipp: SippResult | None = None
    sessions: list[Session] = field(default_factory=list)

    def recorder(self, own: bool) -> LatencyRecorder:
        """Completed sessions only: one that failed did not do the step (it is counted apart)."""
        recorder = LatencyRecorder()
        for session in self.sessions:
            if not session.completed:
                continue
            recorder.observe(session.own_seconds if own else session.seconds)
        return recorder

    @property
    def completed(self) -> int:
        return sum(session.completed for session in self.sessions)

    @property
    def key_read(self) -> int:
        return sum(session.choice == "1" for session in self.sessions)

    @property
    def failed_calls(self) -> int:
        return self.sipp.failed if self.sipp is not None else 0


@dataclass(frozen=True)
class Phase:
    name: str
    calls: int
    concurrent: int


def phases(calls: int) -> tuple[Phase, ...]:
    """The burst the issue asks for, then a few calls one at a time: the cost of one session on its own."""
    return (Phase(f"burst of {calls} at once", calls, calls), Phase(f"{ALONE_CALLS} one at a time", ALONE_CALLS, 1))


@dataclass
class BaselineOutcome:
    calls: int
    asterisk_version: str = "?"
    load_average: float = field(default_factory=lambda: os.getloadavg()[0])
    # (phase name, side) -> what the side's calls of that phase gave
    results: dict[tuple[str, str], SideOutcome] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every call of every phase and side answered, and its session did the step."""
        expected = {(phase.name, side): phase.calls for phase in phases(self.calls) for side in SIDES}
        return all((result := self.results.get(key)) is not None and result.completed == calls
                   and result.failed_calls == 0 for key, calls in expected.items())


async def measure(settings: Settings, process: AsteriskProcess, workdir: Path, *, calls: int,
                  citizens_port: int) -> BaselineOutcome:
    outcome = BaselineOutcome(calls=calls, asterisk_version=process.version().split(" built ")[0])
    observer = AmiObserver(host=settings.ami_host, port=settings.ami_port, username=TEST_AMI_USER.username,
                           secret=TEST_AMI_USER.secret)
    await observer.start()
    try:
        sipp = Sipp(sip_port=settings.sip_port, workdir=workdir)
        async with baseline_fastagi(settings):
            for phase in phases(calls):
                for side in SIDES:  # one side after the other, in the same Asterisk, the same minute
                    before = len(sessions(observer, side))
                    result = await call_side(sipp, side, calls=phase.calls, concurrent=phase.concurrent,
                                             local_port=citizens_port)
                    with contextlib.suppress(AssertionError):  # a missing session is reported, not raised
                        await observer.wait_for(lambda e, s=side: is_baseline_event(e) and e.get("Side") == s,
                                                count=before + phase.calls, timeout=10)
                    outcome.results[phase.name, side] = SideOutcome(side, sipp=result,
                                                                    sessions=sessions(observer, side)[before:])
    finally:
        observer.close()
    return outcome


# -- the report -----------------------------------------------------------------------------------------------------


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f}"


def ratio(ours: float | None, base: float | None) -> str:
    """Ours over the baseline's, as the other sections give it, and the other way round, easier to read here."""
    if ours is None or not base or not ours:
        return "n/a"
    return f"{ours / base:.3g}× (the script {base / ours:.3g}× ours)"


def phase_rows(phase: Phase, fast: SideOutcome, script: SideOutcome) -> list[tuple[str, str]]:
    rows = []
    for label, own in (("whole AGI session", False), ("AGI session less the caller's time", True)):
        f, p = fast.recorder(own), script.recorder(own)
        rows += [
            (f"{phase.name}: FastAGI (ours), {label}, p50 / p99 ms",
             f"{ms(f.quantile(0.5))} / {ms(f.quantile(0.99))} (n={f.count})"),
            (f"{phase.name}: pyst2 script per call, {label}, p50 / p99 ms",
             f"{ms(p.quantile(0.5))} / {ms(p.quantile(0.99))} (n={p.count})"),
            (f"{phase.name}: FastAGI / pyst2, {label}, p50 / p99",
             f"{ratio(f.quantile(0.5), p.quantile(0.5))} / {ratio(f.quantile(0.99), p.quantile(0.99))}"),
        ]
    rows.append((f"{phase.name}: sessions completed (AGISTATUS SUCCESS, PASOKH_NEXT=queue) / key 1 read / failed "
                 "calls, FastAGI; pyst2",
                 "; ".join(f"{s.completed} / {s.key_read} / {s.failed_calls}" for s in (fast, script))))
    return rows


def section(outcome: BaselineOutcome) -> str:
    rows = [
        ("Date (UTC)", datetime.now(UTC).strftime("%Y-%m-%d %H:%M")),
        ("Machine", f"{os.cpu_count()} CPUs shared with other work (load average {outcome.load_average:.1f} "
                    f"at the start), Python {sys.version.split()[0]}, {outcome.asterisk_version}"),
    ]
    for phase in phases(outcome.calls):
        results = [outcome.results.get((phase.name, side), SideOutcome(side)) for side in SIDES]
        rows += phase_rows(phase, *results)
    rows.append(("Verdict", "ok" if outcome.ok else "FAILED: a session did not complete or a call failed"))
    table = "\n".join(["| Measure | Value |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)])
    return f"{HEADING}\n\n{INTRO}\n{table}\n"


INTRO = """`python -m tests.perf.bench --parts agi-baseline [--calls N]`
(tests/perf/agi_baseline.py, [ADR 0085](adr/0085-agi-baseline-pyst2-script-per-call.md)). The 137 menu's first
step written twice: as a classic AGI script on pyst2's `asterisk.agi` that Asterisk starts once per call
(tests/perf/pyst2_first_step.py), and on our FastAGI server (`ivr.menu.Menu` on `ivr.agi_server.AgiServer`, the
production classes). Both send the same commands: ANSWER; STREAM FILE of welcome_137 and menu_137 (any key
interrupts), WAIT FOR DIGIT when none did, invalid_choice and the menu again, up to three times; SET VARIABLE of
the key taken, of the time spent waiting on the caller and PASOKH_NEXT=queue. sipp citizens dial each side in the
bench's Asterisk and press 1 2.5 s after the answer: a burst of N at once per side, then five calls one at a time,
one side after the other in the same run. Asterisk stamps the time right before and right after `AGI()` (the
same dialplan for both sides) and tells it over AMI. The whole session is mostly the caller's (ANSWER waits for
the caller's media, the prompts play until the key), so the second figure subtracts what the session's ANSWER,
STREAM FILE and WAIT FOR DIGIT took, as each side timed them: what is left is the AGI's own cost, for the script
a fork and exec, Python and pyst2 starting for every call, for FastAGI a TCP connection to a process already
running. Ratios are ours over the baseline's, in the same run; a p99 over N sessions is the slowest one or two.
The runs recorded here were on a two-core machine shared with other work (the load average is in the table): the
script's figures move with that load from run to run, which is what a process per call means.
"""


def run_agi_baseline_part(*, base_port: int, calls: int, instance: str) -> tuple[str, bool]:
    """In its own Asterisk instance state: provision, add the context, measure; the section and its verdict."""
    with tempfile.TemporaryDirectory(prefix="pasokh-agi-baseline-") as tmp:
        workdir = Path(tmp)
        settings = telephony_settings(workdir / "state", instance=instance, base_port=base_port)
        settings = settings.model_copy(update={"database_url": f"sqlite:///{workdir / 'bench.sqlite3'}"})
        process = AsteriskProcess(runtime_for(settings))
        try:
            process = provision_asterisk(settings, phones=[], extra_ami_users=[TEST_AMI_USER])
            enable_baseline(settings, process)
            outcome = asyncio.run(measure(settings, process, workdir / "sipp", calls=calls,
                                          citizens_port=base_port + 70))
        finally:
            process.stop()
    return section(outcome), outcome.ok
