"""The rendered Asterisk configuration and the phones it is rendered for."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pytest
from sqlmodel import Session

from asterisk_config.render import OperatorPhone, operator_phones, render_config
from callcenter.platform.errors import ConfigurationError
from callcenter.platform.lines import LINES
from callcenter.platform.security import sip_md5_cred
from callcenter.platform.settings import Settings
from callcenter.telephony.asterisk_sandbox import AsteriskRuntime
from callcenter.telephony.recordings import RecordingStore
from db.models import Role, User

CRED_1001 = sip_md5_cred("1001", "Sip1001secret", "pasokh")
CRED_1002 = sip_md5_cred("1002", "Other.pass-2", "pasokh")
PHONES = [
    OperatorPhone(extension="1001", md5_cred=CRED_1001, display_name="زهرا احمدی"),
    OperatorPhone(extension="1002", md5_cred=CRED_1002, display_name="علی رضایی"),
]


def sections(text: str) -> list[tuple[str, dict[str, str]]]:
    """Asterisk config as (section, options) in file order; names may repeat (endpoint and aor share one)."""
    out: list[tuple[str, dict[str, str]]] = []
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        header = re.fullmatch(r"\[([^\]]+)\]", line)
        if header:
            out.append((header.group(1), {}))
        elif "=" in line and out and "=>" not in line:
            key, _, value = line.partition("=")
            out[-1][1][key.strip()] = value.strip()
    return out


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state", max_inbound_calls=7, queue_wrapup_seconds=13, agi_port=4599,
                    ami_username="pasokh-bridge", ami_secret="bridge-secret")


@pytest.fixture
def runtime(tmp_path: Path) -> AsteriskRuntime:
    return AsteriskRuntime(root=tmp_path, instance_dir=PurePosixPath("/opt/pasokh/x"))


@pytest.fixture
def etc(settings: Settings, runtime: AsteriskRuntime, tmp_path: Path) -> Path:
    etc_dir = render_config(settings=settings, runtime=runtime, phones=PHONES)
    assert etc_dir == tmp_path / "opt" / "pasokh" / "x" / "etc"
    return etc_dir


def test_given_two_phones_when_rendering_then_pjsip_has_one_endpoint_each_with_its_password(etc: Path) -> None:
    conf = sections((etc / "pjsip.conf").read_text())
    endpoints = {name: opts for name, opts in conf if opts.get("type") == "endpoint"}
    assert sorted(endpoints) == ["1001", "1002", "citizen-trunk", "outbound-trunk"]
    auths = {name: opts for name, opts in conf if opts.get("type") == "auth"}
    assert {name: (opts["auth_type"], opts["username"], opts["realm"], opts["md5_cred"])
            for name, opts in auths.items()} == {
        "1001-auth": ("md5", "1001", "pasokh", CRED_1001),
        "1002-auth": ("md5", "1002", "pasokh", CRED_1002),
    }
    assert all("password" not in opts for opts in auths.values())  # never the password itself
    assert "Sip1001secret" not in (etc / "pjsip.conf").read_text()
    assert dict(conf)["global"]["default_realm"] == "pasokh"
    assert endpoints["1001"]["auth"] == "1001-auth"
    assert endpoints["1001"]["context"] == "pasokh-staff"
    assert endpoints["citizen-trunk"]["context"] == "pasokh-inbound"
    assert "auth" not in endpoints["citizen-trunk"]
    aors = {name: opts for name, opts in conf if opts.get("type") == "aor"}
    assert aors["outbound-trunk"]["contact"] == "sip:127.0.0.1:5060"  # verification calls to citizens


def test_given_verification_calls_when_rendering_then_outbound_lines_are_capped_and_137_is_shown(
    etc: Path, settings: Settings
) -> None:
    text = (etc / "extensions.conf").read_text()
    assert re.search(rf"^PASOKH_MAX_OUTBOUND = {settings.max_outbound_calls}$", text, re.MULTILINE)
    verify = text[text.index("[pasokh-verify]"):text.index("[pasokh-verify-automatic]")]
    assert ("GotoIf($[${PASOKH_OUTBOUND} > ${PASOKH_MAX_OUTBOUND} | ${PASOKH_WAITING} > 0"
            " | ${PASOKH_ACTIVE} > ${PASOKH_MAX_INBOUND}]?refused)") in verify
    # Never more lines in all than there are: inbound calls count against an outbound one too.
    assert "Set(PASOKH_ACTIVE=$[${GROUP_COUNT(inbound@pasokh)} + ${PASOKH_OUTBOUND}])" in verify
    assert verify.index("LOCK(pasokh-lines)") < verify.index("PASOKH_ACTIVE") < verify.index("UNLOCK(pasokh-lines)")
    assert "QUEUE_WAITING_COUNT(line137)" in verify and "QUEUE_WAITING_COUNT(line1888)" in verify
    assert "Set(CALLERID(all)=137 <137>)" in verify
    dial = "Dial(PJSIP/${EXTEN}@outbound-trunk,40,U(pasokh-verify-answered^${PASOKH_VERIFY_ATTEMPT}))"
    assert verify.index("Set(CALLERID(all)") < verify.index(dial)
    answered = text[text.index("[pasokh-verify-answered]"):text.index("[pasokh-verify-automatic]")]
    assert "UserEvent(PasokhVerificationAnswered,Attempt: ${ARG1})" in answered and "Return()" in answered
    assert "exten => h,1,UserEvent(PasokhVerificationCall," in verify
    # Inbound admission counts the outbound group too.
    assert "Set(PASOKH_ACTIVE=$[${GROUP_COUNT(inbound@pasokh)} + ${GROUP_COUNT(outbound@pasokh)}])" in text


def test_given_the_public_lines_when_rendering_then_each_runs_agi_with_a_queue_fallback_and_a_line_cap(
    etc: Path, settings: Settings
) -> None:
    text = (etc / "extensions.conf").read_text()
    assert re.search(rf"^PASOKH_MAX_INBOUND = {settings.max_inbound_calls}$", text, re.MULTILINE)
    lines = [line.strip() for line in text.splitlines()]
    for public in LINES:
        start = lines.index(f"exten => {public.number},1,NoOp(Pasokh: citizen call to {public.number})")
        block = lines[start : lines.index("", start)]
        agi = block.index(f"same => n,AGI(agi://{settings.agi_host}:{settings.agi_port}/{public.agi_route})")
        assert block[agi + 1] == 'same => n,GotoIf($["${AGISTATUS}" != "SUCCESS"]?queue)'
        assert f"same => n,Queue({public.queue},,,,)" in block[agi + 1 :]
        joined = block.index("same => n,Set(GROUP(pasokh)=inbound)")
        counted = next(i for i, line in enumerate(block) if "${GROUP_COUNT(inbound@pasokh)}" in line)
        capped = next(i for i, line in enumerate(block)
                      if re.fullmatch(r"same => n,GotoIf\(\$\[.+ > \$\{PASOKH_MAX_INBOUND\}\]\?pasokh-lines-busy,s,1\)",
                                      line))
        assert joined < counted <= capped < block.index("same => n,Answer()") < agi


def test_given_the_public_lines_when_rendering_then_every_way_into_the_queue_first_starts_recording_the_call(
    etc: Path,
) -> None:
    lines = [line.strip() for line in (etc / "extensions.conf").read_text().splitlines()]
    for public in LINES:
        start = lines.index(f"exten => {public.number},1,NoOp(Pasokh: citizen call to {public.number})")
        block = lines[start : lines.index("", start)]
        named = block.index(f"same => n(queue),Set(PASOKH_RECORDING=call-{public.number}-${{CHANNEL(linkedid)}}.wav)")
        # The AGI's fallback jumps to the label: a caller our code failed is recorded too.
        assert block[named + 1] == "same => n,MixMonitor(/opt/pasokh/x/recordings/${PASOKH_RECORDING},b)"
        # Then an anonymous caller's ID is withheld (again: the IVR did so when they chose), right before Queue.
        assert block[named + 2] == ('same => n,GosubIf($["${PASOKH_ANONYMOUS}" = "1"]'
                                    '?pasokh-withhold-caller,s,1)')
        assert block[named + 3] == f"same => n,Queue({public.queue},,,,)"
        # The dialplan's name for a call is one the store accepts (and serves) for that line.
        example = block[named].split("=", 2)[2].rstrip(")").replace("${CHANNEL(linkedid)}", "1700000000.42")
        assert example == RecordingStore.call_name(line=public.number, linkedid="1700000000.42")
        assert RecordingStore.is_call_recording(example)


def test_given_the_busy_context_when_rendering_then_it_leaves_the_inbound_group_and_tells_the_bridge(
    etc: Path,
) -> None:
    text = (etc / "extensions.conf").read_text()
    busy = text[text.index("[pasokh-lines-busy]") :]
    assert busy.index("Set(GROUP(pasokh)=refused)") < busy.index("UserEvent(PasokhLinesBusy")
    assert "Playback(/opt/pasokh/x/sounds/fa/all_lines_busy)" in busy


def test_given_the_public_lines_when_rendering_then_each_queue_autofills_with_the_wrapup_time(
    etc: Path, settings: Settings
) -> None:
    queues = dict(sections((etc / "queues.conf").read_text()))
    for public in LINES:
        assert queues[public.queue]["autofill"] == "yes"
        assert queues[public.queue]["wrapuptime"] == str(settings.queue_wrapup_seconds)
        assert queues[public.queue]["timeout"] == str(settings.agent_ring_seconds)


def test_given_callers_waiting_when_rendering_then_the_queue_says_please_hold_between_the_music(etc: Path) -> None:
    queues = dict(sections((etc / "queues.conf").read_text()))
    for public in LINES:
        assert queues[public.queue]["periodic-announce"] == "/opt/pasokh/x/sounds/fa/queue_please_hold"
        assert queues[public.queue]["periodic-announce-frequency"] == "45"


def test_given_no_announcement_wanted_when_rendering_then_the_queue_only_plays_music(
    tmp_path: Path, runtime: AsteriskRuntime,
) -> None:
    quiet = Settings(state_dir=tmp_path / "state", queue_announce_seconds=0)
    queues = dict(sections((render_config(settings=quiet, runtime=runtime, phones=PHONES) / "queues.conf")
                           .read_text()))
    assert all("periodic-announce" not in queues[public.queue] for public in LINES)


def test_given_the_bridge_user_when_rendering_manager_conf_then_it_has_least_privilege(
    etc: Path, settings: Settings
) -> None:
    manager = dict(sections((etc / "manager.conf").read_text()))
    bridge = manager[settings.ami_username]
    assert bridge["secret"] == "bridge-secret"
    for right in ("read", "write"):
        privileges = bridge[right].split(",")
        assert privileges and "all" not in privileges
    assert "agent" in bridge["read"].split(",") and "call" in bridge["read"].split(",")
    # Exactly the write classes the bridge's actions need: no system (Originate of System()), no command.
    assert sorted(bridge["write"].split(",")) == ["agent", "call", "config", "originate", "reporting"]
    assert bridge["permit"] == "127.0.0.1/255.255.255.255"
    assert manager["general"]["channelvars"] == (
        "PASOKH_FEEDBACK_KIND,PASOKH_PERSONNEL_CODE,PASOKH_ANONYMOUS,PASOKH_RECORDING"
    )


def test_given_the_instance_when_rendering_then_asterisk_conf_points_into_the_instance_dir(etc: Path) -> None:
    text = (etc / "asterisk.conf").read_text()
    assert "/opt/pasokh/x/" in text
    for name in ("run", "log", "spool", "lib", "sounds", "recordings"):
        assert (etc.parent / name).is_dir()


@pytest.mark.parametrize("cred", ["abc;def", "abc\ndef", "abc def", "", "pa[ss]", CRED_1001 + "\n[evil]",
                                  "Sip1001secret", CRED_1001.upper()])
def test_given_anything_but_an_md5_credential_when_rendering_then_configuration_error_and_nothing_is_written(
    settings: Settings, runtime: AsteriskRuntime, tmp_path: Path, cred: str
) -> None:
    phones = [OperatorPhone(extension="1001", md5_cred=cred, display_name="x")]
    with pytest.raises(ConfigurationError):
        render_config(settings=settings, runtime=runtime, phones=phones)
    assert not (tmp_path / "opt").exists()


def test_given_an_unsafe_extension_when_rendering_then_configuration_error(
    settings: Settings, runtime: AsteriskRuntime
) -> None:
    with pytest.raises(ConfigurationError):
        render_config(settings=settings, runtime=runtime,
                      phones=[OperatorPhone(extension="1001]\n[x", md5_cred=CRED_1001, display_name="x")])


def test_given_an_unsafe_ami_secret_when_rendering_then_configuration_error(
    settings: Settings, runtime: AsteriskRuntime
) -> None:
    with pytest.raises(ConfigurationError):
        render_config(settings=settings.model_copy(update={"ami_secret": "s;ecret"}), runtime=runtime, phones=PHONES)


def test_given_an_unchanged_config_when_rendering_again_then_files_are_not_rewritten(
    settings: Settings, runtime: AsteriskRuntime, etc: Path
) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in etc.iterdir()}
    (etc / "pjsip.conf").touch()
    touched = (etc / "pjsip.conf").stat().st_mtime_ns
    (etc / "queues.conf").write_text("stale")
    render_config(settings=settings, runtime=runtime, phones=PHONES)
    assert (etc / "pjsip.conf").stat().st_mtime_ns == touched
    assert (etc / "queues.conf").read_text() != "stale"
    assert set(before) == {p.name for p in etc.iterdir()}


def _user(username: str, *, extension: str | None, sip_md5_cred: str | None, active: bool = True) -> User:
    return User(username=username, full_name=username, role=Role.OPERATOR, extension=extension,
                sip_md5_cred=sip_md5_cred, is_active=active, password_hash="unused")


def test_given_staff_in_the_database_when_listing_operator_phones_then_only_active_ones_with_sip_credentials(
    session: Session,
) -> None:
    session.add_all([
        _user("active-b", extension="1003", sip_md5_cred="b" * 32),
        _user("active-a", extension="1001", sip_md5_cred="a" * 32),
        _user("inactive", extension="1002", sip_md5_cred="c" * 32, active=False),
        _user("no-extension", extension=None, sip_md5_cred="d" * 32),
        _user("no-sip-password", extension="1004", sip_md5_cred=None),
        _user("admin", extension=None, sip_md5_cred=None),
    ])
    session.commit()
    phones = operator_phones(session)
    assert phones == [
        OperatorPhone(extension="1001", md5_cred="a" * 32, display_name="active-a"),
        OperatorPhone(extension="1003", md5_cred="b" * 32, display_name="active-b"),
    ]


def test_given_the_instance_when_rendering_then_queue_music_plays_from_the_instances_own_folder(etc: Path) -> None:
    conf = dict(sections((etc / "musiconhold.conf").read_text()))
    assert conf["default"]["mode"] == "files"
    assert conf["default"]["directory"] == "/opt/pasokh/x/sounds/moh"


def test_given_an_anonymous_caller_when_rendering_then_every_transfer_withholds_their_id_before_queue_and_dial(
    etc: Path,
) -> None:
    lines = [line.strip() for line in (etc / "extensions.conf").read_text().splitlines()]
    withhold = 'same => n,GosubIf($["${PASOKH_ANONYMOUS}" = "1"]?pasokh-withhold-caller,s,1)'
    start = lines.index("[pasokh-transfer]")
    transfer = lines[start : lines.index("[pasokh-verify]", start)]
    steps = [i for i, line in enumerate(transfer) if line.startswith(("same => n,Queue(", "same => n,Dial("))]
    assert len(steps) == len(LINES) + 1  # each line's queue and a supervisor's phone
    assert all(transfer[i - 1] == withhold for i in steps), transfer
    sub = lines.index("exten => s,1,NoOp(Pasokh: caller ID withheld)")
    assert lines[sub + 1 : sub + 4] == ["same => n,Set(CALLERID(all)=Anonymous <anonymous>)",
                                        "same => n,Set(CALLERID(pres)=prohib)", "same => n,Return()"]


def test_given_verification_calls_when_rendering_then_no_noop_echoes_the_citizens_number(etc: Path) -> None:
    text = (etc / "extensions.conf").read_text()
    verify = text[text.index("[pasokh-verify]"):text.index("[pasokh-verify-answered]")]
    noops = re.findall(r"NoOp\(([^)]*)\)", verify)
    assert noops == ["Pasokh: verification call, attempt ${PASOKH_VERIFY_ATTEMPT}"]


def test_given_default_settings_when_rendering_then_asterisk_keeps_no_dialplan_steps_cdr_or_cel(etc: Path) -> None:
    # Verbose level 2 and up logs channel names and dialplan steps: the numbers of citizens called for verification.
    assert "messages.log => notice,warning,error,verbose(1)" in (etc / "logger.conf").read_text().splitlines()
    assert "verbose = 1" in (etc / "asterisk.conf").read_text().splitlines()
    assert ("general", {"enable": "no"}) in sections((etc / "cdr.conf").read_text())
    assert ("general", {"enable": "no"}) in sections((etc / "cel.conf").read_text())


def test_given_staff_phones_when_rendering_then_no_identity_header_carries_a_withheld_number(etc: Path) -> None:
    endpoints = {name: opts for name, opts in sections((etc / "pjsip.conf").read_text())
                 if opts.get("type") == "endpoint"}
    for extension in ("1001", "1002"):
        assert {key: endpoints[extension][key] for key in ("send_pai", "send_rpid", "trust_id_outbound")} == {
            "send_pai": "no", "send_rpid": "no", "trust_id_outbound": "no"}
