"""Call controls as Asterisk is asked to carry them out."""

from __future__ import annotations

import pytest

from callcenter.platform.errors import AsteriskRefused
from callcenter.telephony.asterisk_actions import CallLegs
from tests.support.asterisk_fakes import RecordingAsterisk

LEGS = CallLegs(operator_channel="PJSIP/1001-00000002", citizen_channel="PJSIP/citizen-trunk-00000001",
                linkedid="1796050000.1")


async def test_given_a_citizen_on_hold_when_transferred_then_unmuted_before_leaving_the_operator() -> None:
    asterisk = RecordingAsterisk()
    await asterisk.mute(channel=LEGS.citizen_channel, muted=True)  # the operator put them on hold

    await asterisk.transfer(LEGS, context="pasokh-transfer", exten="1101")

    assert asterisk.actions[1:] == [
        {"Action": "Setvar", "Channel": LEGS.citizen_channel, "Variable": "MUTEAUDIO(all)", "Value": "off"},
        {"Action": "Redirect", "Channel": LEGS.citizen_channel, "Context": "pasokh-transfer", "Exten": "1101",
         "Priority": "1"},
    ]


async def test_given_asterisk_says_already_a_member_when_joining_then_it_is_done() -> None:
    asterisk = RecordingAsterisk(refuse="Unable to add interface: Already there")
    await asterisk.queue_add(queue="line137", extension="1001", member_name="زهرا")
    assert [a["Action"] for a in asterisk.actions] == ["QueueAdd"]


async def test_given_asterisk_says_not_a_member_when_leaving_then_it_is_done() -> None:
    asterisk = RecordingAsterisk(refuse="Unable to remove interface: Not there")
    await asterisk.queue_remove(queue="line137", extension="1001")
    assert [a["Action"] for a in asterisk.actions] == ["QueueRemove"]


async def test_given_asterisk_refuses_for_another_reason_when_joining_then_the_refusal_stands() -> None:
    asterisk = RecordingAsterisk(refuse="Unable to add interface to queue: No such queue")
    with pytest.raises(AsteriskRefused):
        await asterisk.queue_add(queue="line137", extension="1001", member_name="زهرا")
