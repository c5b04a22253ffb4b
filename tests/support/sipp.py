"""Run sipp as citizens and as operator phones, from the scenario templates in tests/sipp/."""

from __future__ import annotations

import asyncio
import csv
import re
import shutil
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.dtmf_pcap import Keys, Step, write_caller_pcap

SCENARIOS = Path(__file__).resolve().parent.parent / "sipp"


@dataclass
class SippResult:
    returncode: int
    successful: int
    failed: int
    output: str


def _render(template: str, target: Path, **values: object) -> Path:
    text = string.Template((SCENARIOS / template).read_text()).substitute({k: str(v) for k, v in values.items()})
    target.write_text(text)
    return target


def media_actions(steps: Sequence[Step], pcap: Path) -> str:
    """The scenario line that plays the caller's keys (RFC 4733), pauses and speech from one generated capture."""
    if not steps:
        return ""
    write_caller_pcap(pcap, steps)
    return f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>'


def describe(steps: Sequence[Step]) -> str:
    return " ".join(type(step).__name__ for step in steps) or "nothing"


class Sipp:
    """One helper per test: knows where Asterisk listens and where to put its files."""

    def __init__(self, *, sip_port: int, workdir: Path, host: str = "127.0.0.1",
                 command_prefix: Sequence[str] = ()) -> None:
        if not shutil.which("sipp"):
            raise RuntimeError("sipp is not installed (Debian package sip-tester; make test installs it)")
        self.command_prefix = list(command_prefix)  # e.g. a test host's `ip netns exec <name>`
        self.sip_port = sip_port
        self.host = host
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self._counter = 0

    def _next(self, name: str) -> Path:
        self._counter += 1
        return self.workdir / f"{name}-{self._counter}"

    async def _run(self, args: list[str], stats: Path, timeout: float) -> SippResult:
        process = await asyncio.create_subprocess_exec(
            *self.command_prefix, "sipp", f"{self.host}:{self.sip_port}", *args, "-nostdin", "-trace_stat",
            "-stf", str(stats), "-fd", "1", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            cwd=self.workdir,
        )
        try:
            out, _ = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError:
            process.kill()
            out, _ = await process.communicate()
        except BaseException:  # cancelled (Ctrl-C, a failing test): never leave sipp running behind us
            process.kill()
            await process.wait()
            raise
        successful, failed = _final_counts(stats)
        return SippResult(process.returncode or 0, successful, failed, out.decode(errors="replace"))

    async def citizen_calls(
        self, *, number: str = "137", caller: str = "09121234567", digits: str = "1", dtmf_delay_ms: int = 2500,
        hold_ms: int = 8000, calls: int = 1, concurrent: int | None = None, rate_per_s: int = 10,
        local_port: int, timeout: float = 120, script: Sequence[Step] | None = None,
    ) -> SippResult:
        """``calls`` citizens (at most ``concurrent`` at once) call ``number``; returns sipp's verdict.

        After ``dtmf_delay_ms`` each presses ``digits``, or plays ``script`` (keys, silences, speech)."""
        base = self._next("citizen")
        steps = list(script) if script is not None else [Keys(digits)] if digits else []
        scenario = _render(
            "citizen.xml", base.with_suffix(".xml"), caller=caller, dtmf_delay_ms=dtmf_delay_ms,
            hold_ms=hold_ms, dtmf_actions=media_actions(steps, base.with_suffix(".media.pcap")),
            digits_label=describe(steps) if script is not None else digits or "nothing",
        )
        args = [
            "-sf", str(scenario), "-s", number, "-i", self.host, "-p", str(local_port), "-mi", self.host,
            "-mp", str(local_port + 50), "-m", str(calls), "-l", str(concurrent or calls),
            "-r", str(rate_per_s), "-rp", "1000",
            "-timeout", f"{int(timeout)}s", "-timeout_error",
        ]
        result = await self._run(args, base.with_suffix(".csv"), timeout + 10)
        if result.successful + result.failed < calls:  # sipp gave up before placing them (a port in use...)
            result.failed = calls - result.successful
        return result

    async def register_phones(self, phones: list[tuple[str, str]], *, local_port: int) -> SippResult:
        """REGISTER each (extension, password) with digest auth, contact at ``local_port``."""
        successful = failed = 0
        outputs = []
        for extension, password in phones:
            base = self._next(f"register-{extension}")
            args = ["-sf", str(SCENARIOS / "register.xml"), "-s", extension, "-au", extension, "-ap", password,
                    "-i", self.host, "-p", str(local_port), "-m", "1", "-l", "1"]
            result = await self._run(args, base.with_suffix(".csv"), 15)
            successful += result.successful
            failed += result.failed
            outputs.append(result.output)
        return SippResult(0 if failed == 0 else 1, successful, failed, "\n".join(outputs))

    async def citizen_answers(
        self, *, local_port: int, ring_ms: int = 500, script: Sequence[Step] = (), timeout: float = 90,
    ) -> SippResult:
        """One citizen's phone at ``local_port`` (the outbound trunk's contact in tests) answers one call, plays
        ``script`` (keys, silences) and waits for the municipality to hang up; the output logs the caller ID
        shown ("caller-id <number>")."""
        base = self._next("citizen-answers")
        scenario = _render("citizen_answers.xml", base.with_suffix(".xml"), ring_ms=ring_ms,
                           media_actions=media_actions(script, base.with_suffix(".media.pcap")))
        log = base.with_suffix(".log")
        args = ["-sf", str(scenario), "-i", self.host, "-p", str(local_port), "-mi", self.host,
                "-mp", str(local_port + 50), "-m", "1", "-timeout", f"{int(timeout)}s", "-timeout_error",
                "-trace_logs", "-log_file", str(log)]
        result = await self._run(args, base.with_suffix(".csv"), timeout + 10)
        result.output += log.read_text(errors="replace") if log.exists() else ""
        return result

    async def start_phones(self, *, local_port: int, ring_ms: int = 300,
                           message_log: Path | None = None) -> asyncio.subprocess.Process:
        """Operator phones answering at ``local_port`` until stopped (kill the returned process); with
        ``message_log``, every SIP message they receive and send is written there (read it with
        :func:`received_requests`)."""
        base = self._next("phones")
        scenario = _render("operator_phone.xml", base.with_suffix(".xml"), ring_ms=ring_ms)
        trace = ["-trace_msg", "-message_file", str(message_log)] if message_log else []
        return await asyncio.create_subprocess_exec(
            *self.command_prefix, "sipp", "-sf", str(scenario), "-i", self.host, "-p", str(local_port),
            "-mi", self.host, "-mp", str(local_port + 30), "-nostdin", "-trace_stat",
            "-stf", str(base.with_suffix(".csv")), "-fd", "1", *trace, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, cwd=self.workdir,
        )


def received_requests(message_log: Path, method: str) -> list[str]:
    """The ``method`` requests (e.g. INVITE) in a sipp ``-trace_msg`` log, each as the text that arrived."""
    if not message_log.exists():
        return []
    text = message_log.read_text(errors="replace")
    parts = re.split(r"^-{10,}.*$", text, flags=re.MULTILINE)
    return [body for part in parts if "message received" in part
            and (body := part.split(":", 1)[-1].lstrip("\n").lstrip()).startswith(f"{method} ")]


def _final_counts(stats: Path) -> tuple[int, int]:
    """Last row of sipp's statistics CSV: cumulative successful and failed calls."""
    if not stats.exists():
        return 0, 0
    rows = list(csv.DictReader(stats.read_text().splitlines(), delimiter=";"))
    if not rows:
        return 0, 0
    last = rows[-1]
    return int(last.get("SuccessfulCall(C)", 0) or 0), int(last.get("FailedCall(C)", 0) or 0)
