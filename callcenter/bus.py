"""The event bus between the AMI bridge and the websocket hub: ordered, sequence-numbered domain events."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DomainEvent:
    """One published event. ``seq`` increases by one per event so a consumer can see a gap."""

    seq: int
    name: str
    data: dict[str, Any]
    # monotonic time at which the triggering AMI event reached us (for the screen-pop latency metric)
    origin: float = field(default_factory=time.monotonic)

    def as_message(self) -> dict[str, Any]:
        return {"seq": self.seq, "name": self.name, "data": self.data}


class Subscription:
    """A consumer's ordered view of the bus; iterate it, close it when done."""

    def __init__(self, bus: InProcessBus, maxsize: int) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[DomainEvent] = asyncio.Queue(maxsize=maxsize)
        self.overflowed = False

    def offer(self, event: DomainEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            # A consumer this far behind gets a gap in seq and must reload its snapshot; the bus never blocks.
            self.overflowed = True

    async def get(self) -> DomainEvent:
        return await self._queue.get()

    async def __aiter__(self) -> AsyncIterator[DomainEvent]:
        while True:
            yield await self._queue.get()

    def close(self) -> None:
        self._bus.unsubscribe(self)


class InProcessBus:
    """Fan-out inside one process; publish never awaits, so events keep the order they were published in."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()
        self._seq = itertools.count(1)
        self.last_seq = 0

    def publish(self, name: str, data: dict[str, Any], *, origin: float | None = None) -> DomainEvent:
        self.last_seq = next(self._seq)
        event = DomainEvent(seq=self.last_seq, name=name, data=data, origin=origin or time.monotonic())
        for subscriber in list(self._subscribers):
            subscriber.offer(event)
        return event

    def subscribe(self, *, maxsize: int = 10_000) -> Subscription:
        subscription = Subscription(self, maxsize)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
