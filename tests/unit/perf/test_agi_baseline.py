"""The AGI baseline's two sides do the same step, command for command; pyst2 fits this Python; production's
configuration has none of it."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from asterisk_config.render import render_config
from callcenter.platform.settings import Settings
from callcenter.telephony.asterisk_sandbox import AsteriskRuntime
from ivr.menu import Menu, Prompts
from tests.perf.agi_baseline import SCRIPT, baseline_dialplan, first_menu_step
from tests.support.scripted_channel import NO_DIGIT, ScriptedChannel, digit

CALLER = "09121111111"
ANSWERED = ("0", "")


def script_arguments(runtime: AsteriskRuntime, settings: Settings) -> list[str]:
    """What the rendered dialplan hands the script (AGI(script,arg,...)), as Asterisk splits it."""
    pyst2 = next(side for side in baseline_dialplan(settings, runtime, PurePosixPath("/s.py")).sides
                 if side.name == "pyst2")
    return pyst2.target.split(",")[1:]


@pytest.fixture
def runtime(tmp_path: Path) -> AsteriskRuntime:
    return AsteriskRuntime(root=tmp_path, instance_dir=PurePosixPath("/opt/pasokh/x"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state", agi_port=4599, agi_secret="a-shared-secret-of-24-chars")


def pyst2_session(answers: list[str], argv: list[str]) -> tuple[list[tuple[str, ...]], str]:
    """The script run as Asterisk runs it, a process of this Python with the real pyst2, given its environment and
    then one scripted answer per command; the commands it sent, and what it wrote to stderr (Asterisk's log)."""
    environment = f"agi_request: first_step.py\nagi_callerid: {CALLER}\nagi_channel: PJSIP/citizen-1\n\n"
    run = subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=30,
                         input=environment + "".join(f"200 {answer}\n" for answer in answers), check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    commands = []
    for line in run.stdout.splitlines():
        name = re.match(r"[A-Z]+(?: [A-Z]+)*", line)
        assert name is not None, line
        commands.append((name.group(0), *shlex.split(line[name.end():])))
    return commands, run.stderr


def without_sample_offset(command: tuple[str, ...]) -> tuple[str, ...]:
    """pyst2 adds STREAM FILE's optional sample offset (0, the default), which our menu leaves out."""
    return command[:-1] if command[0] == "STREAM FILE" and command[-1] == "0" else command


async def fastagi_session(channel: ScriptedChannel, runtime: AsteriskRuntime) -> list[tuple[str, ...]]:
    """Our side's route, on the production menu with the prompts where the bench's Asterisk has them."""
    await first_menu_step(Menu(Prompts(sounds_dir=runtime.sounds_dir / "fa")))(channel)
    return channel.commands


async def test_given_1_pressed_during_the_menu_when_both_sides_run_the_step_then_they_send_the_same_commands(
    runtime: AsteriskRuntime, settings: Settings,
) -> None:
    ours = await fastagi_session(ScriptedChannel(answer=[ANSWERED], stream_file=[NO_DIGIT, digit("1")]), runtime)
    theirs, _ = pyst2_session(["result=0", "result=0 endpos=16000", "result=49 endpos=100", "result=1",
                               "result=1", "result=1"], script_arguments(runtime, settings))

    assert [without_sample_offset(c) for c in theirs if c[0] != "SET VARIABLE" or "WAITED" not in c[1]] == [
        c for c in ours if c[0] != "SET VARIABLE" or "WAITED" not in c[1]]
    assert [c[0] for c in ours] == ["ANSWER", "STREAM FILE", "STREAM FILE", "SET VARIABLE", "SET VARIABLE",
                                    "SET VARIABLE"]
    assert ("SET VARIABLE", "PASOKH_NEXT", "queue") in theirs


async def test_given_a_wrong_key_then_silence_then_2_when_both_sides_run_the_step_then_both_retry_alike(
    runtime: AsteriskRuntime, settings: Settings,
) -> None:
    ours = await fastagi_session(ScriptedChannel(
        answer=[ANSWERED], stream_file=[NO_DIGIT, digit("7"), NO_DIGIT, NO_DIGIT, NO_DIGIT, digit("2")],
        wait_for_digit=[("0", "")]), runtime)
    theirs, _ = pyst2_session(["result=0", "result=0 endpos=1", "result=55 endpos=1", "result=0 endpos=1",
                               "result=0 endpos=1", "result=0", "result=0 endpos=1", "result=50 endpos=1",
                               "result=1", "result=1"], script_arguments(runtime, settings))

    def same_step(commands: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
        return [without_sample_offset(c) for c in commands if c[0] != "SET VARIABLE" or "WAITED" not in c[1]]

    assert same_step(theirs) == same_step(ours)
    assert ("SET VARIABLE", "PASOKH_BENCH_CHOICE", "2") in theirs
    assert not [c for c in theirs if c[1:2] == ("PASOKH_NEXT",)]  # 2 goes on to the status menu, not the queue


def test_given_the_callers_number_in_the_agi_environment_when_the_script_runs_then_none_of_it_reaches_stderr(
    runtime: AsteriskRuntime, settings: Settings,
) -> None:
    commands, stderr = pyst2_session(["result=0", "result=49 endpos=1", "result=1", "result=1", "result=1"],
                                     script_arguments(runtime, settings))

    assert commands[-1] == ("SET VARIABLE", "PASOKH_NEXT", "queue")
    assert CALLER not in stderr


def test_given_no_baseline_when_rendering_then_the_bench_context_and_its_module_are_absent_and_with_one_present(
    tmp_path: Path, runtime: AsteriskRuntime, settings: Settings,
) -> None:
    plain = AsteriskRuntime(root=tmp_path / "plain", instance_dir=PurePosixPath("/opt/pasokh/x"))
    bench = AsteriskRuntime(root=tmp_path / "bench", instance_dir=PurePosixPath("/opt/pasokh/x"))
    plain_etc = render_config(settings=settings, runtime=plain, phones=[])
    bench_etc = render_config(settings=settings, runtime=bench, phones=[],
                              agi_baseline=baseline_dialplan(settings, bench, PurePosixPath("/opt/s.py")))

    assert "agi-baseline" not in (plain_etc / "extensions.conf").read_text()
    assert "func_strings" not in (plain_etc / "modules.conf").read_text()
    dialplan = (bench_etc / "extensions.conf").read_text()
    assert "include => pasokh-agi-baseline" in dialplan
    assert "exten => agi-pyst2,1," in dialplan and "AGI(/opt/s.py,/opt/pasokh/x/sounds/fa," in dialplan
    assert "AGI(agi://127.0.0.1:4599/agi-baseline?secret=a-shared-secret-of-24-chars)" in dialplan
    assert "load => func_strings.so" in (bench_etc / "modules.conf").read_text()
    for name in ("pjsip.conf", "queues.conf", "manager.conf"):
        assert (plain_etc / name).read_text() == (bench_etc / name).read_text()
