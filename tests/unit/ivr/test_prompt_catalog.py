"""A test fails if any key used in code has no audio: every prompt key named in the IVR, the backend or the
dialplan templates is in the catalog, and every catalog prompt renders to a WAV Asterisk can play."""

from __future__ import annotations

import ast
import re
import shutil
import wave
from array import array
from pathlib import Path

import pytest

import ivr.prompts
from ivr.prompt_catalog import FRAGMENTS, PROMPTS
from ivr.prompts import render_prompts
from tests.conftest import require
from tests.support.paths import REPO_ROOT as ROOT

PYTHON_DIRS = (ROOT / "ivr", ROOT / "callcenter")
TEMPLATES_DIR = ROOT / "asterisk_config" / "templates"

# Methods whose positional string literals are prompt keys (``.path`` only on a Prompts object, see below).
PLAYING_METHODS = {"play", "ask_digit", "choose", "read_digits"}
TEMPLATE_SOUND = re.compile(r"\{\{\s*sounds_dir\s*\}\}/fa/([A-Za-z0-9_]+)")


def _is_prompts_object(node: ast.expr) -> bool:
    """``self.prompts``, ``prompts`` or ``Prompts(...)``."""
    if isinstance(node, ast.Attribute):
        return node.attr == "prompts"
    if isinstance(node, ast.Name):
        return node.id == "prompts"
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Prompts"


def _strings_in(node: ast.expr) -> set[str]:
    """A string literal, or the string literals of a list/tuple literal (starred parts are built elsewhere)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.List | ast.Tuple):
        return {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    if isinstance(node, ast.Dict):
        return {v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)}
    return set()


def keys_used_in_python(path: Path) -> set[str]:
    """Literals passed to a playing method, and list literals bound to a name later passed to one."""
    tree = ast.parse(path.read_text(), filename=str(path))
    bound: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            bound.setdefault(node.targets[0].id, set()).update(_strings_in(node.value))
    # A module table of prompts chosen at run time (``REASON_PROMPTS = {...: "closed_now"}``): all of them count.
    keys: set[str] = set().union(*(found for name, found in bound.items() if name.endswith("_PROMPTS")))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method = node.func
        if method.attr in PLAYING_METHODS or (method.attr == "path" and _is_prompts_object(method.value)):
            for arg in node.args:  # keywords (escape=, valid=) are not keys
                keys.update(_strings_in(arg))
                if isinstance(arg, ast.Name):
                    keys.update(bound.get(arg.id, set()))
    return keys


def keys_used_in_templates() -> dict[str, set[str]]:
    return {template.name: set(TEMPLATE_SOUND.findall(template.read_text()))
            for template in sorted(TEMPLATES_DIR.glob("*.j2"))}


def keys_used_in_code() -> dict[str, set[str]]:
    """Where each set of keys was found → the keys."""
    used = {str(path.relative_to(ROOT)): keys_used_in_python(path)
            for directory in PYTHON_DIRS for path in sorted(directory.rglob("*.py"))}
    used.update({f"asterisk_config/templates/{name}": keys for name, keys in keys_used_in_templates().items()})
    return used


def test_the_scan_finds_the_keys_it_is_meant_to_find_in_python_and_in_templates() -> None:
    used = keys_used_in_code()
    assert {"welcome_137", "menu_137", "enter_tracking_code", "status_of_request", "goodbye"} <= used["ivr/flows.py"]
    assert "invalid_choice" in used["ivr/menu.py"]
    assert {"closed_now", "option_callback", "record_after_beep"} <= used["ivr/operator_access.py"]
    assert "all_lines_busy" in used["asterisk_config/templates/extensions.conf.j2"]


def test_the_scan_recognises_each_way_a_key_is_played(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "async def flow(self, channel):\n"
        "    await self.play(channel, 'k_play', escape='')\n"
        "    await self.ask_digit(channel, 'k_ask')\n"
        "    await self.choose(channel, 'k_choose', valid='12')\n"
        "    await self.read_digits(channel, 'k_read', max_digits=3)\n"
        "    NAMED_PROMPTS = {1: 'k_table'}\n"
        "    self.prompts.path('k_self_path')\n"
        "    Prompts(sounds_dir=d).path('k_path')\n"
        "    os.path.join('not_a_key')\n"
        "    Path('x').with_name('not_a_key_either')\n"
    )
    assert keys_used_in_python(source) == {"k_play", "k_ask", "k_choose", "k_read", "k_table", "k_self_path",
                                             "k_path"}


def test_given_every_python_file_and_template_when_scanned_then_each_prompt_key_used_is_in_the_catalog() -> None:
    used = keys_used_in_code()
    missing = {where: sorted(unknown) for where, keys in used.items() if (unknown := keys - PROMPTS.keys())}
    assert missing == {}, f"prompt keys with no audio: {missing}"


def test_given_the_catalog_then_every_key_is_a_plain_file_name_and_every_text_is_non_empty() -> None:
    for key, text in PROMPTS.items():
        assert re.fullmatch(r"[a-z0-9_]+", key), key
        assert text.strip(), key
    assert FRAGMENTS.items() <= PROMPTS.items()


def read_wav(path: Path) -> tuple[wave._wave_params, array[int]]:
    with wave.open(str(path), "rb") as wav:
        params = wav.getparams()
        samples = array("h", wav.readframes(params.nframes))
    return params, samples


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every catalog prompt rendered once for the module (espeak-ng takes a while for the whole catalog)."""
    require(bool(shutil.which("espeak-ng") and shutil.which("sox")), "espeak-ng and sox render the prompts")
    target = tmp_path_factory.mktemp("sounds")
    written = render_prompts(target)
    assert sorted(written) == sorted(PROMPTS)
    return target


def test_given_the_whole_catalog_when_rendered_then_each_key_is_a_non_empty_8khz_mono_16bit_wav(
    rendered: Path,
) -> None:
    for key in PROMPTS:
        params, samples = read_wav(rendered / f"{key}.wav")
        assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 8000), key
        assert params.nframes > 0, key
        loudest = max(abs(sample) for sample in samples)
        if key == "pause_short":
            assert loudest <= 4, "the pause between code groups must be silence (sox dither aside), not a spoken comma"
            assert 0.1 < params.nframes / 8000 < 1.0
        else:
            assert loudest > 1000, f"{key} rendered silent"


def test_given_rendered_prompts_when_rendered_again_with_unchanged_texts_then_nothing_is_rewritten(
    rendered: Path, tmp_path: Path
) -> None:
    again = tmp_path / "sounds"
    shutil.copytree(rendered, again)
    assert render_prompts(again) == []


def write_wav(path: Path, samples: list[int]) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(array("h", samples).tobytes())


def test_given_a_recorded_file_when_prompts_are_rendered_then_the_recording_wins_over_the_generated_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ivr.prompts, "synthesize", lambda text, target, **_: write_wav(target, [1, 2, 3]))
    target, recordings = tmp_path / "sounds", tmp_path / "recorded"
    recordings.mkdir()
    render_prompts(target, override_dir=recordings)  # first everything is generated
    generated = (target / "welcome_137.wav").read_bytes()

    write_wav(recordings / "welcome_137.wav", [500, -500] * 400)  # then someone records the greeting
    written = render_prompts(target, override_dir=recordings)

    assert written == ["welcome_137"]
    assert (target / "welcome_137.wav").read_bytes() == (recordings / "welcome_137.wav").read_bytes() != generated
    assert read_wav(target / "invalid_choice.wav")[1].tolist() == [1, 2, 3]


@pytest.mark.parametrize("name", ["--version", "-w {stray}", "-w{stray}", "--help واحد"])
def test_given_a_unit_name_that_looks_like_options_when_its_prompt_is_rendered_then_it_is_spoken_and_no_stray_file(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    require(bool(shutil.which("espeak-ng") and shutil.which("sox")), "espeak-ng and sox render the prompts")
    stray = tmp_path / "stray.wav"
    monkeypatch.chdir(tmp_path)  # a relative path an option might name would land here too
    target = tmp_path / "sounds"
    key = ivr.prompts.render_unit_prompt(target, name.format(stray=stray))
    params, samples = read_wav(target / f"{key}.wav")
    assert (params.framerate, params.nchannels) == (8000, 1) and params.nframes > 0
    assert max(abs(sample) for sample in samples) > 1000, "the name was not spoken"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["sounds"]
