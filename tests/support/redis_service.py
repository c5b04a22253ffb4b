"""The real Redis the tests use (``PASOKH_TEST_REDIS_URL``), and whether it answers."""

from __future__ import annotations

import os

import redis

REDIS_URL = os.environ.get("PASOKH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_reachable() -> bool:
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False
