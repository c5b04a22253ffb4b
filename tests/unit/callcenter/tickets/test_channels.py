"""Channels: every source has one and a Persian name, and the counts' fields are the channels."""

from __future__ import annotations

from callcenter.tickets.channels import CHANNEL_NAMES, CHANNEL_OF, SOURCE_NAMES, Channel, ChannelCounts
from db.models import TicketSource


def test_every_source_has_a_channel_and_a_persian_name_and_every_channel_a_name() -> None:
    assert set(CHANNEL_OF) == set(TicketSource) == set(SOURCE_NAMES)
    assert set(CHANNEL_NAMES) == set(Channel)
    assert not set("0123456789") & set("".join(CHANNEL_NAMES.values()) + "".join(SOURCE_NAMES.values()))


def test_the_counts_have_a_field_per_channel_and_nothing_else() -> None:
    assert list(ChannelCounts.model_fields) == [channel.value for channel in Channel]


def test_given_sources_when_counted_then_the_phone_s_two_sources_are_one_channel() -> None:
    counts = ChannelCounts.counted([TicketSource.OPERATOR, TicketSource.VOICE_MESSAGE, TicketSource.WEB,
                                    TicketSource.OPEN311, TicketSource.WEB])
    assert counts == ChannelCounts(phone=2, web=2, in_person=0, open311=1)
    assert counts.total == 5
    assert ChannelCounts.summed([counts, ChannelCounts(in_person=3)]) == ChannelCounts(phone=2, web=2, in_person=3,
                                                                                      open311=1)
