"""The channels a ticket comes in by, their Persian names, and counts of tickets per channel (decision 62).

A ticket's ``source`` says how it was filed; reports group the two phone sources (an operator on a call, a recorded
voice message an operator classified) into one channel, the phone, so the wallboard and the scorecard compare the
phone with the public site, the service desk and Open311. Every page, export and script names a source or a channel
from the mappings here (the pages get them through agent_console/vocabulary.py).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from pydantic import BaseModel

from db.models import TicketSource


class Channel(enum.StrEnum):
    """Where a citizen reached the city: the reports' breakdown."""

    PHONE = "phone"
    WEB = "web"
    IN_PERSON = "in_person"
    OPEN311 = "open311"


CHANNEL_OF: dict[TicketSource, Channel] = {
    TicketSource.OPERATOR: Channel.PHONE,
    TicketSource.VOICE_MESSAGE: Channel.PHONE,
    TicketSource.WEB: Channel.WEB,
    TicketSource.IN_PERSON: Channel.IN_PERSON,
    TicketSource.OPEN311: Channel.OPEN311,
}

CHANNEL_NAMES: dict[Channel, str] = {
    Channel.PHONE: "تلفن",
    Channel.WEB: "سامانه اینترنتی",
    Channel.IN_PERSON: "حضوری",
    # Persian digits: the name is printed in the PDF, where every figure is Persian.
    Channel.OPEN311: "برنامه‌های همکار (اپن ۳۱۱)",
}

# A ticket's own source, as its views name it: the phone's two ways are told apart there.
SOURCE_NAMES: dict[TicketSource, str] = {
    TicketSource.OPERATOR: "تلفن",
    TicketSource.VOICE_MESSAGE: "تلفن (پیام صوتی)",
    TicketSource.WEB: CHANNEL_NAMES[Channel.WEB],
    TicketSource.IN_PERSON: CHANNEL_NAMES[Channel.IN_PERSON],
    TicketSource.OPEN311: CHANNEL_NAMES[Channel.OPEN311],
}


class ChannelCounts(BaseModel):
    """Tickets (or referrals of tickets) per channel; the field names are the ``Channel`` values."""

    phone: int = 0
    web: int = 0
    in_person: int = 0
    open311: int = 0

    def of(self, channel: Channel) -> int:
        return int(getattr(self, channel.value))

    @property
    def total(self) -> int:
        return sum(self.of(channel) for channel in Channel)

    @classmethod
    def counted(cls, sources: Iterable[TicketSource]) -> ChannelCounts:
        """Each source counted once, in its channel."""
        return cls.tallied((source, 1) for source in sources)

    @classmethod
    def tallied(cls, rows: Iterable[tuple[TicketSource, int]]) -> ChannelCounts:
        """Counts per source (a ``GROUP BY source``) added up per channel."""
        counts = dict.fromkeys((channel.value for channel in Channel), 0)
        for source, count in rows:
            counts[CHANNEL_OF[source].value] += count
        return cls(**counts)

    @classmethod
    def summed(cls, parts: Iterable[ChannelCounts]) -> ChannelCounts:
        counts = dict.fromkeys((channel.value for channel in Channel), 0)
        for part in parts:
            for channel in Channel:
                counts[channel.value] += part.of(channel)
        return cls(**counts)
