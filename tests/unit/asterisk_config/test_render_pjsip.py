"""Re-rendering only pjsip.conf at run time, when the administrator changes a phone."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from asterisk_config.render import AmiUser, OperatorPhone, render_config, render_pjsip
from callcenter.platform.errors import ConfigurationError
from callcenter.platform.security import sip_md5_cred
from callcenter.platform.settings import Settings
from callcenter.telephony.asterisk_sandbox import AsteriskRuntime

OBSERVER = AmiUser(username="observer", secret="observer-secret", read="all", write="all")
FIRST = OperatorPhone(extension="1001", md5_cred=sip_md5_cred("1001", "FirstSecret1", "pasokh"), display_name="a")
ADDED = OperatorPhone(extension="1003", md5_cred=sip_md5_cred("1003", "AddedSecret3", "pasokh"), display_name="b")


@pytest.fixture
def runtime(tmp_path: Path) -> AsteriskRuntime:
    return AsteriskRuntime(root=tmp_path, instance_dir=PurePosixPath("/opt/pasokh/x"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state", ami_secret="bridge-secret")


def test_given_a_provisioned_instance_when_a_phone_is_added_then_only_pjsip_conf_changes(
    settings: Settings, runtime: AsteriskRuntime
) -> None:
    etc = render_config(settings=settings, runtime=runtime, phones=[FIRST], extra_ami_users=[OBSERVER])
    others = {path.name: path.read_text() for path in etc.iterdir() if path.name != "pjsip.conf"}

    written = render_pjsip(settings=settings, runtime=runtime, phones=[FIRST, ADDED])

    assert written == etc / "pjsip.conf"
    assert "[1003-auth]" in written.read_text() and f"md5_cred = {ADDED.md5_cred}" in written.read_text()
    assert "[observer]" in (etc / "manager.conf").read_text()  # the provisioning-time AMI user survives
    assert {path.name: path.read_text() for path in etc.iterdir() if path.name != "pjsip.conf"} == others


def test_given_a_phone_removed_when_rendering_pjsip_then_its_endpoint_and_auth_are_gone(
    settings: Settings, runtime: AsteriskRuntime
) -> None:
    render_config(settings=settings, runtime=runtime, phones=[FIRST, ADDED])
    text = render_pjsip(settings=settings, runtime=runtime, phones=[FIRST]).read_text()
    assert "[1001-auth]" in text and "1003" not in text


def test_given_an_unsafe_password_when_rendering_pjsip_then_configuration_error_and_the_file_is_kept(
    settings: Settings, runtime: AsteriskRuntime
) -> None:
    etc = render_config(settings=settings, runtime=runtime, phones=[FIRST])
    before = (etc / "pjsip.conf").read_text()
    with pytest.raises(ConfigurationError):
        render_pjsip(settings=settings, runtime=runtime,
                     phones=[FIRST, OperatorPhone(extension="1003", md5_cred="x\n[evil]", display_name="c")])
    assert (etc / "pjsip.conf").read_text() == before
