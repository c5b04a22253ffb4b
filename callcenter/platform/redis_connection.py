"""Redis clients built one way for the event bus and the AMI relay: password and TLS from REDIS_URL."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

TLS_SCHEME = "rediss://"


def redis_client(url: str, *, ca_file: str | None = None, **options: Any) -> Redis:
    """A client for ``url`` (``redis://[:password@]host:port/db`` or ``rediss://…`` for TLS, whose server
    certificate is checked against the system's authorities, or ``ca_file`` when given: a private CA)."""
    if ca_file is not None:
        if not url.startswith(TLS_SCHEME):
            raise ValueError("a Redis CA file only applies to a rediss:// (TLS) URL")
        options["ssl_ca_certs"] = ca_file
    return Redis.from_url(url, **options)
