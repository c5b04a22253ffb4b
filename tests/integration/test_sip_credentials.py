"""Phones authenticate against the md5 credential alone (real sipp REGISTER with digest auth, real Asterisk):
pjsip.conf holds no password, the right one registers, a wrong one does not."""

from __future__ import annotations

import pytest

from callcenter.telephony.asterisk_sandbox import AsteriskProcess
from tests.support.backend import OPERATOR_1, PHONES_PORT, TEST_STAFF
from tests.support.fixtures import AsteriskUnderTest
from tests.support.sipp import Sipp

pytestmark = pytest.mark.asterisk


def rendered_pjsip(process: AsteriskProcess) -> str:
    runtime = process.runtime
    return runtime.host_path(runtime.instance_dir / "etc" / "pjsip.conf").read_text()


async def test_given_only_md5_credentials_rendered_when_a_phone_registers_then_the_right_password_is_accepted(
    asterisk: AsteriskUnderTest, sipp: Sipp,
) -> None:
    text = rendered_pjsip(asterisk.process)
    assert all(account.sip_password not in text for account in TEST_STAFF)
    assert f"md5_cred = {OPERATOR_1.md5_cred}" in text

    registered = await sipp.register_phones([(OPERATOR_1.extension, OPERATOR_1.sip_password)],
                                            local_port=PHONES_PORT)  # the same contact as the session's phones

    assert (registered.successful, registered.failed) == (1, 0), registered.output[-3000:]


async def test_given_md5_credentials_when_a_phone_registers_with_a_wrong_password_then_refused(
    asterisk: AsteriskUnderTest, sipp: Sipp,
) -> None:
    refused = await sipp.register_phones([(OPERATOR_1.extension, OPERATOR_1.sip_password + "x")],
                                         local_port=PHONES_PORT)
    assert (refused.successful, refused.failed) == (0, 1), refused.output[-3000:]
