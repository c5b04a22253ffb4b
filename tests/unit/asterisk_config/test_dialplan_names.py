"""The dialplan's names are defined once (callcenter/telephony/dialplan.py): the templates render only with names
handed to them, retype none, and every context, variable and user event in the rendered config is one of them."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pytest
from jinja2 import UndefinedError

from asterisk_config.render import TEMPLATES, AgiBaseline, AgiBaselineSide, render_config, template_environment
from callcenter.platform.settings import Settings
from callcenter.telephony.asterisk_sandbox import AsteriskRuntime
from callcenter.telephony.dialplan import (
    GROUP_CATEGORY,
    LINES_LOCK,
    Context,
    Group,
    UserEvent,
    Variable,
    template_names,
)
from tests.support.paths import REPO_ROOT

TEMPLATES_DIR = REPO_ROOT / "asterisk_config" / "templates"
DIALPLAN_TEMPLATES = ("extensions.conf", "pjsip.conf", "manager.conf")
# What a retyped name looks like: a context, a channel variable, a user event.
CONTEXT_NAME = re.compile(r"(?<![\w-])pasokh-[a-z-]+")
VARIABLE_NAME = re.compile(r"(?<!\w)PASOKH_[A-Z_]+")
USER_EVENT_NAME = re.compile(r"(?<!\w)Pasokh[A-Z]\w*")
JINJA_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


@pytest.fixture(scope="module")
def etc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every template rendered, with an AGI secret, queue announcements and the AGI baseline bench's context so that
    no optional branch is skipped."""
    root = tmp_path_factory.mktemp("asterisk")
    settings = Settings(state_dir=root / "state", agi_secret="a" * 32, queue_announce_seconds=30)
    runtime = AsteriskRuntime(root=root, instance_dir=PurePosixPath("/opt/pasokh/names"))
    baseline = AgiBaseline(sides=(AgiBaselineSide(name="fastagi", target="agi://127.0.0.1:4573/agi-baseline"),))
    return render_config(settings=settings, runtime=runtime, phones=[], agi_baseline=baseline)


def dialplan_lines(text: str) -> list[str]:
    """The config without its comments (a comment may name a setting, say PASOKH_ASTERISK_LOG_VERBOSITY)."""
    return [line.split(";", 1)[0] for line in text.splitlines()]


def test_every_template_renders_with_the_names_handed_to_it(etc: Path) -> None:
    assert sorted(path.name for path in etc.iterdir()) >= sorted(TEMPLATES)


def test_given_a_name_not_handed_to_the_templates_when_rendering_then_it_fails() -> None:
    env = template_environment()
    with pytest.raises(UndefinedError):
        env.from_string("[{{ context.NO_SUCH_CONTEXT }}]").render(template_names())
    with pytest.raises(UndefinedError):
        env.from_string("Set({{ variable.NO_SUCH_VARIABLE }}=1)").render(template_names())
    with pytest.raises(UndefinedError):
        env.from_string("{{ no_such_name }}").render(template_names())
    assert env.from_string("[{{ context.INBOUND }}]").render(template_names()) == "[pasokh-inbound]"


@pytest.mark.parametrize("template", DIALPLAN_TEMPLATES)
def test_no_template_retypes_a_context_variable_or_user_event(template: str) -> None:
    source = JINJA_EXPRESSION.sub("", (TEMPLATES_DIR / f"{template}.j2").read_text())
    retyped = {pattern.pattern: found for pattern in (CONTEXT_NAME, VARIABLE_NAME, USER_EVENT_NAME)
               if (found := sorted(set(pattern.findall(source))))}
    assert retyped == {}, f"{template}.j2 retypes names of callcenter/telephony/dialplan.py: {retyped}"


def test_the_scan_finds_retyped_names() -> None:
    sample = "[pasokh-new]\nexten => s,1,Set(PASOKH_NEW=1)\n same => n,UserEvent(PasokhNew)\n [{{ context.STAFF }}]"
    source = JINJA_EXPRESSION.sub("", sample)
    assert CONTEXT_NAME.findall(source) == ["pasokh-new"]
    assert VARIABLE_NAME.findall(source) == ["PASOKH_NEW"]
    assert USER_EVENT_NAME.findall(source) == ["PasokhNew"]


def test_every_context_of_the_rendered_dialplan_is_defined_in_python_and_every_python_context_is_there(
    etc: Path,
) -> None:
    extensions = "\n".join(dialplan_lines((etc / "extensions.conf").read_text()))
    sections = set(re.findall(r"^\[([^\]]+)\]", extensions, re.MULTILINE)) - {"general", "globals"}
    assert sections == set(Context)
    named = set(CONTEXT_NAME.findall(extensions)) - {LINES_LOCK}
    assert named <= set(Context)
    pjsip = "\n".join(dialplan_lines((etc / "pjsip.conf").read_text()))
    assert set(re.findall(r"^context = (\S+)$", pjsip, re.MULTILINE)) <= set(Context)


def test_every_variable_and_user_event_of_the_rendered_config_is_defined_in_python(etc: Path) -> None:
    rendered = "\n".join(line for name in DIALPLAN_TEMPLATES for line in dialplan_lines((etc / name).read_text()))
    variables = set(VARIABLE_NAME.findall(rendered))
    assert variables == set(Variable)  # and none of Python's is unused
    events = set(re.findall(r"UserEvent\((\w+)", rendered))
    assert events == set(UserEvent)
    assert set(re.findall(r"GROUP\((\w+)\)=(\w+)", rendered)) == {(GROUP_CATEGORY, group) for group in Group}
