"""REDIS_URL with a password, and with TLS (rediss://, a private CA): the event bus and the AMI relay work
against a redis-server this test starts and stops itself; a wrong password or an unknown CA gets nowhere."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from callcenter.platform.bus import RedisBus
from callcenter.platform.errors import AsteriskUnavailable, ConfigurationError
from callcenter.platform.settings import load_settings
from callcenter.telephony.ami_relay import AmiRelayServer, RelayedAmi
from tests.support.asterisk_fakes import RecordingAsterisk
from tests.support.private_redis import PASSWORD, PrivateRedis, private_redis


@pytest.fixture(params=[False, True], ids=["password", "password-and-tls"])
def secured_redis(request: pytest.FixtureRequest, tmp_path: Path, redis_server_binary: str) -> Iterator[PrivateRedis]:
    with private_redis(tmp_path, tls=request.param) as server:
        yield server


async def test_given_a_redis_with_a_password_or_tls_when_the_bus_fans_out_then_events_arrive(
    secured_redis: PrivateRedis,
) -> None:
    first = RedisBus(secured_redis.url, channel="pasokh-test:events", ca_file=secured_redis.ca_file)
    second = RedisBus(secured_redis.url, channel="pasokh-test:events", ca_file=secured_redis.ca_file)
    await first.start()
    await second.start()
    try:
        subscription = second.subscribe()
        first.publish("queue-changed", {"waiting": 2})
        event = await asyncio.wait_for(subscription.get(), 5)
    finally:
        await first.stop()
        await second.stop()
    assert (event.name, event.data, event.seq) == ("queue-changed", {"waiting": 2}, 1)


async def test_given_a_redis_with_a_password_or_tls_when_a_web_worker_acts_then_the_relay_runs_it(
    secured_redis: PrivateRedis,
) -> None:
    asterisk = RecordingAsterisk()
    server = AmiRelayServer(redis_url=secured_redis.url, namespace="pasokh", ami=asterisk,
                            ca_file=secured_redis.ca_file)
    await server.start()
    worker = RelayedAmi(redis_url=secured_redis.url, namespace="pasokh", answer_timeout=3,
                        ca_file=secured_redis.ca_file)
    await worker.start()
    try:
        await worker.queue_remove(queue="line137", extension="1001")
        assert await worker.wait_connected(5)
    finally:
        await worker.stop()
        await server.stop()
    assert asterisk.actions == [{"Action": "QueueRemove", "Queue": "line137", "Interface": "PJSIP/1001"}]


async def test_given_a_wrong_password_or_no_trusted_ca_when_a_web_worker_acts_then_nothing_reaches_redis(
    secured_redis: PrivateRedis,
) -> None:
    wrong = secured_redis.url.replace(PASSWORD, "guess")
    attempts = [RelayedAmi(redis_url=wrong, namespace="pasokh", answer_timeout=1, ca_file=secured_redis.ca_file)]
    if secured_redis.ca_file:  # the system's authorities do not know the test's CA: the certificate is refused
        attempts.append(RelayedAmi(redis_url=secured_redis.url, namespace="pasokh", answer_timeout=1))
    for worker in attempts:
        await worker.start()
        try:
            with pytest.raises(AsteriskUnavailable) as refused:
                await worker.queue_remove(queue="line137", extension="1001")
        finally:
            await worker.stop()
        assert refused.value.reason == "Redis is unavailable"
        assert refused.value.message == AsteriskUnavailable.default_message
    options = {"ssl_ca_certs": secured_redis.ca_file} if secured_redis.ca_file else {}
    admin = redis.Redis.from_url(secured_redis.url, **options)
    try:
        assert admin.llen("pasokh:ami:requests") == 0
    finally:
        admin.close()


def test_given_a_ca_file_without_a_tls_url_when_loading_settings_then_refused() -> None:
    with pytest.raises(ConfigurationError):
        load_settings(environ={"REDIS_URL": "redis://127.0.0.1:6379/0", "PASOKH_REDIS_CA_FILE": "/etc/ca.pem"})
    settings = load_settings(environ={"REDIS_URL": "rediss://:pw@redis.internal:6380/0",
                                      "PASOKH_REDIS_CA_FILE": "/etc/ca.pem"})
    assert settings.redis_ca_file == "/etc/ca.pem"
