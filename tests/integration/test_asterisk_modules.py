"""Asterisk loads only the modules of asterisk_config/modules.py, boots without a configuration error or warning in
its log, and has every application, function and file format our dialplan and our code use (ADR 0081)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from asterisk_config.modules import module_names
from callcenter.platform.settings import PROJECT_ROOT
from callcenter.telephony.asterisk_sandbox import runtime_for
from tests.support.fixtures import AsteriskUnderTest

# Where our code names Asterisk functions and applications at run time: AGI expressions, AMI Setvar/Originate.
RUN_TIME_SOURCES = ("ivr", "callcenter/telephony")
_FUNCTION_CALL = re.compile(r"\$\{\{?([A-Z][A-Z_]+)\(")  # ${NAME(  and, in a Python f-string, ${{NAME(
_FUNCTION_SET = re.compile(r"\bSet\(([A-Z][A-Z_]+)\(")  # Set(NAME(arg)=value)
_FUNCTION_SETVAR = re.compile(r'"([A-Z][A-Z_]+)\([a-z]*\)"')  # an AMI Setvar of a function: "MUTEAUDIO(all)"
_DIALPLAN_APPLICATION = re.compile(r"^\s*(?:exten => [^,]+,[^,]+|same => n(?:\([a-z]+\))?),([A-Za-z]+)\(", re.M)
_AMI_APPLICATION = re.compile(r'"Application": "([A-Za-z]+)"')


def messages_log(asterisk: AsteriskUnderTest) -> Path:
    runtime = runtime_for(asterisk.settings)
    return runtime.host_path(runtime.instance_dir / "log" / "messages.log")


def rendered(asterisk: AsteriskUnderTest, name: str) -> str:
    runtime = runtime_for(asterisk.settings)
    return runtime.host_path(runtime.instance_dir / "etc" / name).read_text()


def our_sources() -> str:
    return "\n".join(path.read_text() for folder in RUN_TIME_SOURCES for path in (PROJECT_ROOT / folder).rglob("*.py"))


async def test_given_the_rendered_modules_when_asterisk_boots_then_it_loads_them_only_and_logs_no_warning_or_error(
    asterisk: AsteriskUnderTest,
) -> None:
    log = messages_log(asterisk)
    await asyncio.to_thread(asterisk.process.stop)
    booted_from = log.stat().st_size if log.exists() else 0
    await asyncio.to_thread(asterisk.process.start)
    await asyncio.sleep(1)  # what the modules log just after FullyBooted (PJSIP's transports, qualify) too
    with log.open(errors="replace") as text:
        text.seek(booted_from)
        boot = text.read()
    loaded = await asyncio.to_thread(asterisk.process.cli, "module show")

    assert "modules will be loaded" in boot  # the loader's first word: this is the boot, read from its start
    problems = [line for line in boot.splitlines() if re.search(r"\b(WARNING|ERROR)\[", line)]
    assert problems == []
    assert "autoload = no" in rendered(asterisk, "modules.conf")
    listed = {line.split()[0] for line in loaded.splitlines() if line.split() and line.split()[0].endswith(".so")}
    assert listed == set(module_names())


async def test_given_asterisk_booted_then_every_application_function_and_format_we_use_is_registered(
    asterisk: AsteriskUnderTest,
) -> None:
    dialplan, code = rendered(asterisk, "extensions.conf"), our_sources()
    applications = set(_DIALPLAN_APPLICATION.findall(dialplan)) | set(_AMI_APPLICATION.findall(code))
    functions = {name for pattern in (_FUNCTION_CALL, _FUNCTION_SET, _FUNCTION_SETVAR)
                 for source in (dialplan, code) for name in pattern.findall(source)}
    registered_applications = await asyncio.to_thread(asterisk.process.cli, "core show applications")
    registered_functions = await asyncio.to_thread(asterisk.process.cli, "core show functions")
    formats = await asyncio.to_thread(asterisk.process.cli, "core show file formats")

    # The patterns found what the dialplan and the IVR are known to use: they are not reading nothing.
    assert {"AGI", "Queue", "MixMonitor", "Dial", "GosubIf", "UserEvent", "ChanSpy"} <= applications
    assert {"QUEUE_MEMBER", "DEVICE_STATE", "GROUP_COUNT", "LOCK", "CALLERID", "MUTEAUDIO"} <= functions
    names_of = {line.strip().split(":", 1)[0].strip() for line in registered_applications.splitlines()}
    assert sorted(applications - names_of) == []
    functions_of = {line.split()[0] for line in registered_functions.splitlines() if line.split()}
    assert sorted(functions - functions_of) == []
    # Prompts, hold music and recordings are WAV; the beep before a voice message is one of Asterisk's GSM sounds.
    assert {"wav", "gsm"} <= {line.split()[1] for line in formats.splitlines() if len(line.split()) >= 3}
