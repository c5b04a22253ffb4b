"""The event bus between the AMI bridge and the websocket hub: ordered, sequence-numbered domain events.

``InProcessBus`` fans out inside one process. ``RedisBus`` fans out through a Redis pub/sub channel so that
several web workers show the same events (decision 14); it is used when ``REDIS_URL`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from callcenter.platform.redis_connection import redis_client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DomainEvent:
    """One published event. ``seq`` increases by one per event so a consumer can see a gap."""

    seq: int
    name: str
    data: dict[str, Any]
    # monotonic time at which the triggering AMI event reached us (for the screen-pop latency metric)
    origin: float = field(default_factory=time.monotonic)
    # Its JSON for each audience, made once (agent_console/hub.py): every console of that role is sent the same text.
    encoded: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def as_message(self) -> dict[str, Any]:
        return {"seq": self.seq, "name": self.name, "data": self.data}


class Bus(Protocol):
    """What the notifier publishes to and the hub subscribes to; ``InProcessBus`` and ``RedisBus`` satisfy it.

    ``publish`` is synchronous and never awaits, so callers keep their order without being async.
    """

    def publish(self, name: str, data: dict[str, Any], *, origin: float | None = None) -> DomainEvent: ...

    def subscribe(self, *, maxsize: int = 10_000) -> Subscription: ...

    def unsubscribe(self, subscription: Subscription) -> None: ...

    @property
    def subscriber_count(self) -> int: ...

    @property
    def last_seq(self) -> int: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Subscription:
    """A consumer's ordered view of the bus; iterate it, close it when done."""

    def __init__(self, bus: LocalFanOut, maxsize: int) -> None:
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

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    async def __aiter__(self) -> AsyncIterator[DomainEvent]:
        while True:
            yield await self._queue.get()

    def close(self) -> None:
        self._bus.unsubscribe(self)


class LocalFanOut:
    """This process's subscribers: both buses deliver to them the same way, each from its own source."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    def subscribe(self, *, maxsize: int = 10_000) -> Subscription:
        subscription = Subscription(self, maxsize)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    @property
    def deepest_backlog(self) -> int:
        """The most events one subscriber (a console's websocket) has been given and not yet taken."""
        return max((subscriber.backlog for subscriber in list(self._subscribers)), default=0)

    def _offer(self, event: DomainEvent) -> None:
        for subscriber in list(self._subscribers):
            subscriber.offer(event)


class InProcessBus(LocalFanOut):
    """Fan-out inside one process; publish never awaits, so events keep the order they were published in."""

    def __init__(self) -> None:
        super().__init__()
        self._seq = itertools.count(1)
        self.last_seq = 0

    def publish(self, name: str, data: dict[str, Any], *, origin: float | None = None) -> DomainEvent:
        self.last_seq = next(self._seq)
        event = DomainEvent(seq=self.last_seq, name=name, data=data, origin=origin or time.monotonic())
        self._offer(event)
        return event

    async def start(self) -> None:
        """Nothing to connect; present so the composition root treats every bus alike."""

    async def stop(self) -> None:
        """Nothing to release."""


# Numbers and publishes a batch atomically: the counter can never advance without its event going out, and
# since Redis runs one script at a time, every subscriber receives the events of all processes in seq order.
# ARGV[1] is the channel, each further ARGV an envelope missing its opening '{"seq":N,'.
_PUBLISH_BATCH = """
local seq = 0
for i = 2, #ARGV do
  seq = redis.call('INCR', KEYS[1])
  redis.call('PUBLISH', ARGV[1], '{"seq":' .. string.format('%d', seq) .. ',' .. ARGV[i])
end
return seq
"""

# The counter's current value, raised to at least ARGV[1] (a Redis restarted without persistence starts at 0).
_CURRENT_SEQ = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[1])
if current < floor then
  redis.call('SET', KEYS[1], ARGV[1])
  current = floor
end
return current
"""


class RedisBus(LocalFanOut):
    """Fan-out across processes through one Redis pub/sub channel (decision 14).

    ``publish`` stays synchronous: it queues the event for a single sender task, which numbers it from the
    shared counter ``<channel>:seq`` and publishes it. Local subscribers receive events only from Redis (their
    own process's too), in the order Redis delivers them, which is seq order for every process. The value
    ``publish`` returns therefore has ``seq`` 0: the numbered event arrives through subscriptions.
    """

    BATCH = 256
    CONNECT_TIMEOUT = 2.0
    COMMAND_TIMEOUT = 5.0
    # Retries while Redis is away come at most this far apart: a Redis back is heard within a second, so the
    # consoles' resync (and the events queued meanwhile) follow within the 2 s of ADR 0087. One connection
    # attempt a second per process is nothing to a Redis that is starting.
    MAX_BACKOFF = 1.0
    IDLE_PING = 5.0  # the listener pings after this much silence...
    IDLE_DEAD = 15.0  # ...and reconnects after this much

    def __init__(
        self,
        url: str,
        *,
        channel: str = "pasokh:events",
        max_pending: int = 10_000,
        drain_timeout: float = 2.0,
        client_name: str | None = None,
        ca_file: str | None = None,
    ) -> None:
        super().__init__()
        self.url = url
        self.ca_file = ca_file
        self.channel = channel
        self.seq_key = f"{channel}:seq"
        self.max_pending = max_pending
        self.drain_timeout = drain_timeout
        name = client_name or f"pasokh-bus-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.publisher_client_name = f"{name}-publish"
        self.listener_client_name = f"{name}-listen"
        self.last_seq = 0
        self.dropped = 0  # events lost because the outgoing queue was full while Redis was away
        self.reconnects = 0  # times the listener resubscribed after losing its connection
        self._source = uuid.uuid4().hex  # this instance, in every envelope it sends, to discard repeats
        self._number = itertools.count(1)
        self._seen: dict[str, int] = {}  # highest envelope number received per source
        self._outgoing: deque[str] = deque()
        self._inflight: list[str] = []
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._dropping = False
        self._publisher: Redis | None = None
        self._listener: Redis | None = None
        self._pubsub: PubSub | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- the Bus protocol --------------------------------------------------------------------------------------

    def publish(self, name: str, data: dict[str, Any], *, origin: float | None = None) -> DomainEvent:
        """Queue an event for Redis. Serialised now, so a payload that is not JSON fails in the caller."""
        origin = origin or time.monotonic()
        # Monotonic clocks mean nothing in another process: send wall-clock time, converted back on receipt.
        sent_wall = time.time() - (time.monotonic() - origin)
        envelope = (
            f'"name":{json.dumps(name)},"src":"{self._source}","n":{next(self._number)},'
            f'"wall":{sent_wall!r},"data":{json.dumps(data, ensure_ascii=False, separators=(",", ":"))}}}'
        )
        if len(self._outgoing) >= self.max_pending:
            self._outgoing.popleft()
            self.dropped += 1
            if not self._dropping:
                self._dropping = True
                log.warning("Redis bus: outgoing queue full (%d events); dropping the oldest", self.max_pending)
        self._outgoing.append(envelope)
        self._drained.clear()
        self._wakeup.set()
        return DomainEvent(seq=0, name=name, data=data, origin=origin)

    @property
    def pending(self) -> int:
        """Events published here and not yet accepted by Redis."""
        return len(self._outgoing) + len(self._inflight)

    async def start(self) -> None:
        """Connect and subscribe; returns once Redis confirmed the subscription, so nothing later is missed.

        An unreachable Redis raises here: a configured ``REDIS_URL`` that does not answer is a startup error.
        """
        if self._tasks:
            return
        self._publisher = self._client(self.publisher_client_name)
        self._listener = self._client(self.listener_client_name)
        try:
            self._pubsub = await self._subscribe()
        except BaseException:
            await self._close_clients()
            raise
        self._tasks = [
            asyncio.create_task(self._listen(), name="redis-bus-listener"),
            asyncio.create_task(self._send(), name="redis-bus-sender"),
        ]
        log.info("Redis bus on channel %s at %s", self.channel, _redacted(self.url))

    async def stop(self) -> None:
        """Send what is still queued (waiting at most ``drain_timeout``), then disconnect."""
        if not self._tasks:
            return
        try:
            await asyncio.wait_for(self._drained.wait(), self.drain_timeout)
        except TimeoutError:
            log.warning("Redis bus stopping with %d events not sent", self.pending)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._close_clients()

    # -- connections -------------------------------------------------------------------------------------------

    def _client(self, name: str) -> Redis:
        # No retries inside redis-py: this class retries itself, and must notice every reconnection.
        return redis_client(
            self.url, ca_file=self.ca_file, client_name=name, retry=Retry(NoBackoff(), 0), socket_keepalive=True,
            socket_connect_timeout=self.CONNECT_TIMEOUT, socket_timeout=self.COMMAND_TIMEOUT,
        )

    async def _subscribe(self) -> PubSub:
        """A fresh subscription, confirmed by Redis before this returns."""
        assert self._listener is not None
        pubsub = self._listener.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            deadline = time.monotonic() + self.COMMAND_TIMEOUT
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"Redis did not confirm the subscription to {self.channel}")
                message = await pubsub.get_message(timeout=remaining)
                if message is not None and message["type"] == "subscribe":
                    return pubsub
        except BaseException:
            await pubsub.aclose()
            raise

    async def _close_clients(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None
        for client in (self._publisher, self._listener):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
        self._publisher = self._listener = None

    # -- the sender --------------------------------------------------------------------------------------------

    async def _send(self) -> None:
        assert self._publisher is not None
        script = self._publisher.register_script(_PUBLISH_BATCH)
        backoff = 0.0
        while True:
            if not self._inflight:
                while not self._outgoing:
                    self._drained.set()
                    self._wakeup.clear()
                    await self._wakeup.wait()
                count = min(len(self._outgoing), self.BATCH)
                self._inflight = [self._outgoing.popleft() for _ in range(count)]
            try:
                await script(keys=[self.seq_key], args=[self.channel, *self._inflight])
            except Exception as exc:
                # The batch stays in flight and is sent again, in order; a batch that did reach Redis before
                # the error is sent twice, and listeners discard the repeat by its source and number.
                if backoff == 0.0:
                    log.warning("Redis bus: publishing failed (%s); retrying, %d events queued", exc, self.pending)
                backoff = min(max(backoff * 2, 0.05), self.MAX_BACKOFF)
                await asyncio.sleep(backoff)
                continue
            self._inflight = []
            if backoff:
                log.info("Redis bus: publishing again, %d events queued", self.pending)
                backoff = 0.0
            if self._dropping:
                log.warning("Redis bus: %d events were dropped in total while Redis was unreachable", self.dropped)
                self._dropping = False

    # -- the listener ------------------------------------------------------------------------------------------

    async def _listen(self) -> None:
        while True:
            try:
                await self._receive()
            except Exception as exc:
                log.warning("Redis bus: lost the subscription (%s); reconnecting", exc)
            await self._resubscribe()

    async def _receive(self) -> None:
        pubsub = self._pubsub
        assert pubsub is not None
        heard = time.monotonic()
        pinged = False
        while True:
            message = await pubsub.get_message(timeout=1.0)
            now = time.monotonic()
            if message is None:
                if now - heard > self.IDLE_DEAD:
                    raise TimeoutError(f"no reply from Redis for {self.IDLE_DEAD:.0f} s")
                if now - heard > self.IDLE_PING and not pinged:
                    await pubsub.ping()
                    pinged = True
                continue
            heard, pinged = now, False
            if message["type"] == "message":
                self._deliver(message["data"])

    async def _resubscribe(self) -> None:
        """Reconnect with backoff, then tell local consumers that they may have missed events."""
        backoff = 0.05
        while True:
            if self._pubsub is not None:
                with contextlib.suppress(Exception):
                    await self._pubsub.aclose()
                self._pubsub = None
            try:
                assert self._publisher is not None
                # Read before subscribing: every event received afterwards has a higher seq than the resync.
                current = int(await self._publisher.register_script(_CURRENT_SEQ)(
                    keys=[self.seq_key], args=[self.last_seq]))
                self._pubsub = await self._subscribe()
                break
            except Exception as exc:
                log.debug("Redis bus: reconnecting failed (%s)", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.MAX_BACKOFF)
        self.reconnects += 1
        self.last_seq = max(self.last_seq, current)
        log.info("Redis bus: subscribed again to %s; consoles are told to resync", self.channel)
        self._offer(DomainEvent(seq=self.last_seq, name="resync", data={}))

    def _deliver(self, raw: bytes | str) -> None:
        try:
            envelope = json.loads(raw)
            seq, name, data = int(envelope["seq"]), str(envelope["name"]), dict(envelope["data"])
            source, number, sent_wall = str(envelope["src"]), int(envelope["n"]), float(envelope["wall"])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("Redis bus: ignoring a malformed message on %s (%s)", self.channel, exc)
            return
        if number <= self._seen.get(source, 0):
            return  # a batch the sender repeated after an error
        self._seen[source] = number
        self.last_seq = max(self.last_seq, seq)
        # The sender's wall-clock time as a local monotonic estimate (off by the clock skew between hosts).
        origin = time.monotonic() - (time.time() - sent_wall)
        self._offer(DomainEvent(seq=seq, name=name, data=data, origin=origin))


def _redacted(url: str) -> str:
    """The URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    return f"{scheme}{sep}***@{rest.rpartition('@')[2]}"
