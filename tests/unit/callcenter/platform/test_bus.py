"""The in-process event bus: order, sequence numbers, slow consumers."""

from __future__ import annotations

from callcenter.platform.bus import InProcessBus


async def test_given_three_published_events_when_reading_then_they_come_in_order_with_seq_1_2_3() -> None:
    bus = InProcessBus()
    subscription = bus.subscribe()
    for name in ("a", "b", "c"):
        bus.publish(name, {"name": name})
    received = [await subscription.get() for _ in range(3)]
    assert [(e.seq, e.name) for e in received] == [(1, "a"), (2, "b"), (3, "c")]
    assert received[1].as_message() == {"seq": 2, "name": "b", "data": {"name": "b"}}
    assert bus.last_seq == 3


async def test_given_a_subscription_when_iterating_it_then_events_arrive_in_publish_order() -> None:
    bus = InProcessBus()
    subscription = bus.subscribe()
    for i in range(50):
        bus.publish("tick", {"i": i})
    seen = []
    async for event in subscription:
        seen.append(event.data["i"])
        if len(seen) == 50:
            break
    assert seen == list(range(50))


async def test_given_a_full_subscription_when_publishing_then_it_overflows_and_others_still_get_all() -> None:
    bus = InProcessBus()
    slow = bus.subscribe(maxsize=2)
    fast = bus.subscribe()
    published = [bus.publish("e", {"i": i}) for i in range(5)]
    assert [e.seq for e in published] == [1, 2, 3, 4, 5]
    assert slow.overflowed
    assert not fast.overflowed
    assert [(await slow.get()).seq for _ in range(2)] == [1, 2]
    assert [(await fast.get()).seq for _ in range(5)] == [1, 2, 3, 4, 5]


async def test_given_a_closed_subscription_when_publishing_then_it_receives_nothing() -> None:
    bus = InProcessBus()
    closed = bus.subscribe()
    still_open = bus.subscribe()
    closed.close()
    bus.publish("after-close", {})
    assert bus.subscriber_count == 1
    assert (await still_open.get()).name == "after-close"
    assert closed._queue.empty()


def test_given_an_origin_when_publishing_then_the_event_keeps_it() -> None:
    bus = InProcessBus()
    assert bus.publish("x", {}, origin=123.5).origin == 123.5
