"""The Redis event bus against the real Redis: fan-out between web workers, order, seq, reconnection."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis
from redis.asyncio import Redis

from callcenter.platform.bus import DomainEvent, RedisBus, Subscription
from tests.support.redis_service import REDIS_URL

MakeBus = Callable[..., Awaitable[RedisBus]]


@pytest.fixture
async def admin(redis_server: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server)
    yield client
    await client.aclose()


@pytest.fixture
async def channel(admin: Redis) -> AsyncIterator[str]:
    """A channel of this test's own; its sequence counter is deleted afterwards."""
    name = f"pasokh-test:{uuid.uuid4().hex}"
    yield name
    await admin.delete(f"{name}:seq")


@pytest.fixture
async def make_bus(channel: str) -> AsyncIterator[MakeBus]:
    """Started buses on the test's channel (one per simulated web worker), all stopped at the end."""
    buses: list[RedisBus] = []

    async def make(*, start: bool = True, **options: Any) -> RedisBus:
        bus = RedisBus(REDIS_URL, channel=channel, **options)
        buses.append(bus)
        if start:
            await bus.start()
        return bus

    yield make
    for bus in buses:
        await bus.stop()


async def receive(subscription: Subscription, count: int, timeout: float = 2.0) -> list[DomainEvent]:
    async def take() -> list[DomainEvent]:
        return [await subscription.get() for _ in range(count)]

    return await asyncio.wait_for(take(), timeout)


async def kill_connections(admin: Redis, client_name: str) -> int:
    clients = [c for c in await admin.client_list() if c["name"] == client_name]
    for client in clients:
        await admin.client_kill_filter(_id=client["id"])
    return len(clients)


async def test_given_two_web_workers_when_both_publish_then_each_receives_all_events_in_one_order(
    make_bus: MakeBus,
) -> None:
    first, second = await make_bus(), await make_bus()
    on_first, on_second = first.subscribe(), second.subscribe()
    for i in range(5):
        first.publish("from-first", {"i": i})
        second.publish("from-second", {"i": i})

    seen_by_first, seen_by_second = await receive(on_first, 10), await receive(on_second, 10)

    assert [(e.seq, e.name, e.data) for e in seen_by_first] == [(e.seq, e.name, e.data) for e in seen_by_second]
    seqs = [e.seq for e in seen_by_first]
    assert seqs == sorted(set(seqs)) and seqs[0] >= 1
    for name in ("from-first", "from-second"):
        assert [e.data["i"] for e in seen_by_first if e.name == name] == list(range(5))
    assert first.last_seq == second.last_seq == seqs[-1]


async def test_given_a_burst_of_1000_events_when_published_then_the_other_worker_gets_all_in_order(
    make_bus: MakeBus,
) -> None:
    publisher, other = await make_bus(), await make_bus()
    subscription = other.subscribe()
    for i in range(1000):
        publisher.publish("tick", {"i": i, "text": "درخواست"})

    received = await receive(subscription, 1000)

    assert [e.data["i"] for e in received] == list(range(1000))
    assert [e.seq for e in received] == list(range(received[0].seq, received[0].seq + 1000))
    assert received[-1].data["text"] == "درخواست"
    assert publisher.dropped == 0


async def test_given_a_subscriber_on_the_publishing_worker_when_publishing_then_it_gets_the_event_via_redis(
    make_bus: MakeBus,
) -> None:
    bus = await make_bus()
    subscription = bus.subscribe()

    returned = bus.publish("own", {"x": 1})

    assert returned.seq == 0  # numbered by Redis, not yet
    assert subscription._queue.empty()  # nothing is delivered locally without Redis
    [event] = await receive(subscription, 1)
    assert (event.name, event.data) == ("own", {"x": 1})
    assert event.seq >= 1 and bus.last_seq == event.seq


async def test_given_events_published_just_before_stop_when_stopping_then_they_are_sent_first(
    make_bus: MakeBus,
) -> None:
    publisher, other = await make_bus(), await make_bus()
    subscription = other.subscribe()
    for i in range(50):
        publisher.publish("last-words", {"i": i})

    await publisher.stop()

    assert publisher.pending == 0
    assert [e.data["i"] for e in await receive(subscription, 50)] == list(range(50))


async def test_given_an_origin_when_the_event_crosses_redis_then_it_is_a_nearby_local_monotonic_time(
    make_bus: MakeBus,
) -> None:
    publisher, other = await make_bus(), await make_bus()
    subscription = other.subscribe()
    origin = time.monotonic() - 0.5

    publisher.publish("call_connected", {}, origin=origin)
    publisher.publish("ticket_created", {})

    with_origin, without_origin = await receive(subscription, 2)
    assert abs(with_origin.origin - origin) < 0.2
    assert 0 <= time.monotonic() - without_origin.origin < 2.0


async def test_given_the_listener_connection_is_killed_when_redis_is_back_then_resync_and_events_follow(
    make_bus: MakeBus, admin: Redis,
) -> None:
    victim, other = await make_bus(), await make_bus()
    subscription = victim.subscribe()
    other.publish("before", {})
    [before] = await receive(subscription, 1)

    assert await kill_connections(admin, victim.listener_client_name) == 1

    [resync] = await receive(subscription, 1)
    assert (resync.name, resync.data) == ("resync", {})
    assert resync.seq >= before.seq and victim.reconnects == 1
    other.publish("after", {})
    victim.publish("own-after", {})
    after, own_after = await receive(subscription, 2)
    assert (after.name, own_after.name) == ("after", "own-after")
    assert resync.seq < after.seq < own_after.seq


async def test_given_the_publisher_connection_is_killed_when_publishing_then_events_arrive_once_in_order(
    make_bus: MakeBus, admin: Redis,
) -> None:
    publisher, other = await make_bus(), await make_bus()
    subscription = other.subscribe()
    publisher.publish("warm-up", {})
    await receive(subscription, 1)

    assert await kill_connections(admin, publisher.publisher_client_name) >= 1
    for i in range(20):
        publisher.publish("tick", {"i": i})

    assert [e.data["i"] for e in await receive(subscription, 20)] == list(range(20))
    await asyncio.sleep(0.1)
    assert subscription._queue.empty()


async def test_given_a_full_outgoing_queue_when_publishing_then_the_oldest_are_dropped_and_counted(
    make_bus: MakeBus,
) -> None:
    receiver = await make_bus()
    subscription = receiver.subscribe()
    offline = await make_bus(start=False, max_pending=3)  # as if Redis were away: nothing is sent yet
    for i in range(5):
        offline.publish("queued", {"i": i})
    assert (offline.dropped, offline.pending) == (2, 3)

    await offline.start()

    assert [e.data["i"] for e in await receive(subscription, 3)] == [2, 3, 4]


async def test_given_no_redis_at_the_url_when_starting_then_it_raises() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0", channel=f"pasokh-test:{uuid.uuid4().hex}")
    with pytest.raises(redis.ConnectionError):
        await bus.start()
    await bus.stop()


async def test_given_a_repeated_or_malformed_message_when_received_then_it_is_ignored(
    make_bus: MakeBus, admin: Redis, channel: str,
) -> None:
    bus = await make_bus()
    subscription = bus.subscribe()
    envelope = '{"seq":%d,"name":"retried","src":"another-worker","n":1,"wall":%r,"data":{}}'

    await admin.publish(channel, envelope % (1, time.time()))
    await admin.publish(channel, envelope % (2, time.time()))  # the sender repeating a batch after an error
    await admin.publish(channel, "not json")
    bus.publish("next", {})

    first, following = await receive(subscription, 2)
    assert (first.seq, first.name) == (1, "retried")
    assert following.name == "next"
