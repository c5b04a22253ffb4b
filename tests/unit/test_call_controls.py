"""Call controls as Asterisk is asked to carry them out."""

from __future__ import annotations

from callcenter.asterisk_actions import CallLegs
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
